"""Fields every job's summary shares, so a script can read any job's run the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flockpilot.jobs.skeleton import RunSummary
from tests.jobs.conftest import Harness

JOBS: dict[str, Callable[[Harness], RunSummary]] = {
    "post": lambda h: h.post(),
    "follow": lambda h: h.follow(),
    "prune": lambda h: h.prune(),
    "digest": lambda h: h.digest(dry_run=True),
}


@pytest.mark.parametrize("job", sorted(JOBS))
def test_cost_usd_is_a_float_even_when_nothing_was_spent(h: Harness, job: str) -> None:
    h.at_local(7, 0)  # before the window: the post run has nothing to do and meters nothing
    body: dict[str, Any] = JOBS[job](h).to_json()
    assert type(body["cost"]["usd"]) is float, body["cost"]
    h.stock()
    h.at_local(12, 0)
    again: dict[str, Any] = JOBS[job](h).to_json()
    assert type(again["cost"]["usd"]) is float, again["cost"]
    assert all(type(op["usd"]) is float for op in again["cost"]["by_operation"].values())
