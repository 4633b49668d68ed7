"""`make bench`: the honest bench. Every figure prints its goal and whether it is met.

Sections (each can be run alone: `python -m bench.run coldstart dynamo`):
  coldstart  shipped size; cold start per function vs `import boto3` (layer as shipped,
             fresh processes, interleaved); first vs warm call; peak RSS and MemorySize
  posting    a day of posting: X dollars (the sandbox's bill) vs its lower bound
  dynamo     DynamoDB requests and capacity units per run, 100 vs 100,000 people
  xcost      follow+prune X dollars per steady-state day at 1k/10k/100k followers vs the
             lower bound computed from the world
  reconcile  a full reconciliation pass at 1k/10k/100k followers: cost and days, by running it
  simulate   the 90-day simulator's default run on DynamoDB Local: wall time and safety counts

X dollars are always the sandbox's bill (world.bill()), never Flockpilot's own meter.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from bench.report import VIOLATIONS, Table, detail, progress

ROOT = Path(__file__).resolve().parents[1]
# The parent's own in-process runs log only errors; the recorders log as deployed (INFO).
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


SECTIONS = ("coldstart", "posting", "dynamo", "xcost", "reconcile", "simulate")


def main(argv: list[str]) -> int:
    known = SECTIONS
    chosen = argv or list(known)
    unknown = [name for name in chosen if name not in known]
    if unknown:
        print(f"unknown section(s) {unknown}; choose from {list(known)}", file=sys.stderr)
        return 2
    table = Table()
    for name in chosen:
        progress(f"section {name}")
        importlib.import_module(f"bench.{name}").run(table)
    if VIOLATIONS:
        detail("X sandbox: requests or responses off X's OpenAPI spec", VIOLATIONS[:20])
    table.add("X sandbox: exchanges off X's spec (all sections)", str(len(VIOLATIONS)), "0", not VIOLATIONS)
    print("\n== Flockpilot bench\n")
    print(table.render())
    missed = [f.name for f in table.figures if f.met is False]
    print(f"\n{len(table.figures) - len(missed)} of {len(table.figures)} figures meet their goal"
          + (f"; not met: {', '.join(missed)}" if missed else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
