"""Collects the fault matrix's cells and writes them as a table (build/fault-matrix.md)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

MATRIX: list[Any] = []
ROOT = Path(__file__).resolve().parents[2]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MATRIX:
        return
    zones = sorted({c.zone for c in MATRIX})
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for cell in MATRIX:
        rows[(cell.job, cell.fault)][cell.zone] = cell
    lines = ["| job | fault | " + " | ".join(f"{z}: done/planned, doubles, lost" for z in zones) + " |",
             "|---|---|" + "---|" * len(zones)]
    for (job, fault), by_zone in rows.items():
        cells = [f"{c.done}/{c.planned}, {c.doubles}, {c.lost}" + (f" ({'; '.join(c.notes)})" if c.notes else "")
                 if (c := by_zone.get(z)) else "-" for z in zones]
        lines.append(f"| {job} | {fault} | " + " | ".join(cells) + " |")
    out = ROOT / "build" / "fault-matrix.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    terminalreporter.write_line(f"fault matrix: {len(MATRIX)} cells written to {out.relative_to(ROOT)}")
