"""The 90-day flight simulator's default run (`make simulate`'s: 500 followers, 450
following, suggest mode, $60 a month, DynamoDB Local), timed end to end by running it, with
its safety counts from the world's own logs (devtools/simulate/audit.py)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.report import Table, detail, progress

GOAL_SECONDS = 120.0


def run(table: Table) -> None:
    from devtools.simulate.driver import SimConfig, Simulation
    from devtools.simulate.results import BAND_FROM_DAY, audit, summary

    config = SimConfig()
    progress(f"simulate: the default {config.days}-day run on DynamoDB Local (about 2-3 minutes)")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        flight = Simulation(config, Path(out), progress=None).run()
        seconds = time.perf_counter() - started
    found = audit(flight)
    s = summary(flight, found)["summary"]
    band = len(found.band_from(config.start, BAND_FROM_DAY))
    detail("simulate: the default run", [
        f"{config.days} days, {s['invocations']:,} handler invocations in {seconds:.1f} s (DynamoDB Local started, "
        "the table created and the library loaded included)",
        f"handler time per invocation (ms): {s['handler_ms_by_function']}",
        f"followers {s['start_followers']} -> {s['final_followers']}, following {s['start_following']} -> {s['final_following']}; "
        f"X ${s['total_cost_usd']:.2f} in all, ${s['cost_per_30_days_usd']:.2f} per 30 days",
        f"limit violations {s['limit_violations']}, double actions {s['double_actions']}, budget overruns "
        f"{s['budget_overruns']}, days outside the band from day {BAND_FROM_DAY} {band}",
    ])
    table.add(f"{config.days}-day simulation, default run (DynamoDB Local)", f"{seconds:.0f} s ({s['invocations']:,} invocations)",
              f"< {GOAL_SECONDS:.0f} s", seconds < GOAL_SECONDS)
    safe = (s["limit_violations"], s["double_actions"], s["budget_overruns"], band) == (0, 0, 0, 0)
    table.add("simulation safety: limits, doubles, overruns, band from day 14",
              f"{s['limit_violations']}/{s['double_actions']}/{s['budget_overruns']}/{band}", "0/0/0/0", safe)
