"""Follow and prune once the day's work is done (suggest mode), on fakes in UTC, Tokyo and Los
Angeles: a later scheduled tick of the same day reads nothing and does nothing (the container
remembers the day finished); a new account day, a switch to api mode, a manual run, or a
partial run always read and act as before."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.xsandbox import Fault
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
def test_after_the_days_work_later_ticks_read_little_until_the_next_day(
    h: Harness, job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (with_sources if job == "follow" else with_ledger)(h)
    run = h.follow if job == "follow" else h.prune
    reads = counting_day_reads(h, monkeypatch)
    h.at_local(0, 5)
    first = run(trigger="schedule")
    assert first.outcome is RunOutcome.OK and (first.shortlisted if job == "follow" else first.suggested)
    bill, writes, day = h.world.bill()["requests"], h.store.writes, first.day
    read_at = []
    for hour in range(1, 24):  # every later hourly tick of the account's day
        h.at_local(hour, 5)
        reads.clear()
        later = run(trigger="schedule")
        assert later.day == day and later.outcome is RunOutcome.OK
        assert h.store.writes == writes and h.world.bill()["requests"] == bill, hour
        assert not (later.shortlisted if job == "follow" else later.suggested)
        if reads:
            read_at.append(hour)
    # the memo is trusted for DONE_DAY_RECHECK (3 h): the day's record is read again at 03:05, 06:05 ...
    assert read_at == list(range(3, 24, 3)), read_at
    h.at_local(0, 5, days=1)
    reads.clear()
    tomorrow = run(trigger="schedule")
    assert tomorrow.day != day and reads  # a new account day reads (and plans) afresh


def test_a_manual_run_that_died_half_way_elsewhere_is_finished_within_the_recheck(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from flockpilot.domain.records import FollowDay

    with_sources(h)
    h.at_local(9, 5)
    h.follow(trigger="schedule")
    day = h.clock.now().astimezone(h.zone).date()
    record = h.store.load_day(FollowDay, day)
    assert record is not None and record.built and record.promoted
    # another container's console run recorded new picks, then died before moving them
    h.store.save_day(replace(record, promoted=False), h.clock.now())
    reads = counting_day_reads(h, monkeypatch)
    for hour in range(10, 13):
        h.at_local(hour, 5)
        repaired = h.follow(trigger="schedule")
        if reads:
            break
    assert reads, "no tick read the day's record again within the recheck"
    assert h.store.load_day(FollowDay, day).promoted  # type: ignore[union-attr]
    assert repaired.outcome is RunOutcome.OK


def test_a_switch_to_api_mode_applies_at_the_next_tick(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    with_sources(h)
    reads = counting_day_reads(h, monkeypatch)
    h.at_local(9, 5)
    h.follow(trigger="schedule")
    h.at_local(10, 5)
    reads.clear()
    h.follow(trigger="schedule")
    assert reads == []
    h.env.update(FOLLOW_MODE="api")  # sam deploy --parameter-overrides FollowMode=api
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
    run(trigger="schedule")
    assert reads == []  # the day is remembered finished
    run(max=1)  # a console run reads...
    assert reads
    h.at_local(11, 5)
    reads.clear()
    run(trigger="schedule")
    assert reads  # ...and the next scheduled tick reads again
    # a day whose work X left partial is looked at again by the next tick
    h.at_local(9, 5, days=1)
    h.world.inject(Fault("503", "getUsersFollowers", times=50))  # the day's sync fails; the rest goes on
    partial = run(trigger="schedule")
    assert partial.outcome is RunOutcome.PARTIAL, partial.reasons
    h.world.faults.clear()
    h.at_local(10, 5)
    reads.clear()
    run(trigger="schedule")
    assert reads
