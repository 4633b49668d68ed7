"""Collects the fault matrix's cells and writes them as a table (build/fault-matrix.md).

Cells may run in several xdist workers: each appends its cells to a file of its own, and
the controlling process joins them into one table at the end of the session. The session
hooks that clear and join them are called from tests/conftest.py: under xdist the
controlling process of `pytest -n 2` (testpaths: tests) never loads this conftest, only
the workers that collect it do."""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CELLS = ROOT / "build" / "fault-matrix"


class Matrix:
    """Where test_matrix records its cells (one JSON line each, per worker)."""

    def append(self, cell: Any) -> None:
        CELLS.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with (CELLS / f"{worker}.jsonl").open("a") as out:
            out.write(json.dumps(asdict(cell)) + "\n")


MATRIX = Matrix()


def start_matrix(session: pytest.Session) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        shutil.rmtree(CELLS, ignore_errors=True)


def write_matrix(terminalreporter: pytest.TerminalReporter) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") or not CELLS.exists():
        return
    cells = [json.loads(line) for path in sorted(CELLS.glob("*.jsonl")) for line in path.read_text().splitlines()]
    if not cells:
        return
    zones = sorted({c["zone"] for c in cells})
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for cell in cells:
        rows[(cell["job"], cell["fault"])][cell["zone"]] = cell
    lines = ["| job | fault | " + " | ".join(f"{z}: done/planned, doubles, lost" for z in zones) + " |",
             "|---|---|" + "---|" * len(zones)]
    for (job, fault), by_zone in sorted(rows.items(), key=lambda r: (["post", "follow", "prune", "digest"].index(r[0][0]), r[0][1])):
        shown = [f"{c['done']}/{c['planned']}, {c['doubles']}, {c['lost']}" + (f" ({'; '.join(c['notes'])})" if c["notes"] else "")
                 if (c := by_zone.get(z)) else "-" for z in zones]
        lines.append(f"| {job} | {fault} | " + " | ".join(shown) + " |")
    out = ROOT / "build" / "fault-matrix.md"
    out.write_text("\n".join(lines) + "\n")
    doubles = sum(c["doubles"] for c in cells)
    lost = sum(c["lost"] for c in cells)
    terminalreporter.write_line(f"fault matrix: {len(cells)} cells, {doubles} doubles, {lost} lost; table in {out.relative_to(ROOT)}")
