"""Follow and prune once the day's work is done (suggest mode), on fakes in UTC, Tokyo and Los
Angeles: a later scheduled tick of the same day reads nothing and does nothing (the container
remembers the day finished); a new account day, a switch to api mode, a manual run, or a
partial run always read and act as before."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.xsandbox import Fault
from flockpilot.domain.errors import TransientError
from flockpilot.jobs.skeleton import RunOutcome
from tests.jobs.conftest import Harness
from tests.jobs.test_follow import with_sources
from tests.jobs.test_prune import with_ledger


def counting_day_reads(h: Harness, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    reads: list[Any] = []
    real = h.store.load_day

    def counted(kind: Any, day: Any) -> Any:
        reads.append((kind.kind, day))
        return real(kind, day)

    monkeypatch.setattr(h.store, "load_day", counted)
    return reads


@pytest.mark.parametrize("job", ["follow", "prune"])
def test_after_the_days_work_later_ticks_read_nothing_until_the_next_day(
    h: Harness, job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (with_sources if job == "follow" else with_ledger)(h)
    run = h.follow if job == "follow" else h.prune
    reads = counting_day_reads(h, monkeypatch)
    h.at_local(0, 5)
    first = run(trigger="schedule")
    assert first.outcome is RunOutcome.OK and (first.shortlisted if job == "follow" else first.suggested)
    bill, writes, day = h.world.bill()["requests"], h.store.writes, first.day
    for hour in range(1, 24):  # every later hourly tick of the account's day
        h.at_local(hour, 5)
        reads.clear()
        later = run(trigger="schedule")
        assert later.day == day and later.outcome is RunOutcome.OK
        assert reads == [] and h.store.writes == writes and h.world.bill()["requests"] == bill, hour
        assert not (later.shortlisted if job == "follow" else later.suggested)
    h.at_local(0, 5, days=1)
    reads.clear()
    tomorrow = run(trigger="schedule")
    assert tomorrow.day != day and reads  # a new account day reads (and plans) afresh


def test_a_switch_to_api_mode_applies_at_the_next_tick(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    with_sources(h)
    reads = counting_day_reads(h, monkeypatch)
    h.at_local(9, 5)
    h.follow(trigger="schedule")
    h.at_local(10, 5)
    reads.clear()
    h.follow(trigger="schedule")
    assert reads == []
    h.store.set_override("follow_mode", "api")
    h.at_local(11, 5)
    switched = h.follow(trigger="schedule")
    assert reads and switched.mode.startswith("api")


@pytest.mark.parametrize("job", ["follow", "prune"])
def test_manual_runs_and_partial_days_are_never_skipped(h: Harness, job: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (with_sources if job == "follow" else with_ledger)(h)
    run = h.follow if job == "follow" else h.prune
    reads = counting_day_reads(h, monkeypatch)
    h.at_local(9, 5)
    run(trigger="schedule")
    h.at_local(10, 5)
    reads.clear()
    run(max=1)  # a console run
    assert reads
    # a day whose run X failed (partial, or raised for Lambda's retry) is looked at again by the next tick
    h.at_local(9, 5, days=1)
    h.world.inject(Fault("503", "*", times=50))
    try:
        assert run(trigger="schedule").outcome is not RunOutcome.OK
    except TransientError:
        pass
    h.world.faults.clear()
    h.at_local(10, 5)
    reads.clear()
    run(trigger="schedule")
    assert reads
