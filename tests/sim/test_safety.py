"""Safety over 90 days: the real jobs, through their Lambda handlers, on a small world, in
api and in suggest mode. The store is the in-memory one (tests/fakes/store.py, kept
honest against DynamoDB Local by the contract suite): on DynamoDB Local a 90-day run
takes minutes (see the bench), on it well under a minute.

The counts come from the world's own logs, graph and meter (devtools/simulate/audit.py);
a failure here is a product finding: report it with the figures, never loosen it."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.simulate.driver import SimConfig, Simulation
from devtools.simulate.results import BAND_FROM_DAY, audit


@pytest.mark.parametrize("mode", ["api", "suggest"])
def test_ninety_days_break_no_limit_act_twice_overspend_or_leave_the_band(mode: str, tmp_path: Path) -> None:
    config = SimConfig(days=90, followers=200, following=180, mode=mode, store="memory", community_size=600, seed=5)
    run = Simulation(config, tmp_path, progress=None).run()
    found = audit(run)
    assert found.limits == [], found.limits[:10]
    assert found.doubles == [], found.doubles[:10]
    assert found.overruns == [], found.overruns[:10]
    assert run.spec_violations == []
    assert sum(d.posts for d in run.days) > 0 and sum(d.follows for d in run.days) > 0  # it did fly
    band = found.band_from(config.start, BAND_FROM_DAY)
    assert band == [], band[:10]
