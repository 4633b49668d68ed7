"""The flight simulator: Flockpilot's real jobs, through their Lambda handlers, on a
simulated clock, day after day, against a synthetic X world (`python -m devtools.simulate`,
`make simulate`). See devtools/simulate/README.md."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def bench_figure() -> float:
    """Wall-clock seconds of the default run (90 days, 500 followers, 450 following, suggest
    mode, $60 a month, DynamoDB Local), setup included, report writing not; for `make bench`."""
    from devtools.simulate.driver import SimConfig, Simulation

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        Simulation(SimConfig(), Path(out), progress=None).run()
        return time.perf_counter() - started
