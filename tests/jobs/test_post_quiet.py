"""When the post job says a scheduled tick has nothing to do (jobs.post.nothing_due), on fakes
in UTC, Tokyo and Los Angeles. The composition root lets such a tick run on settings read
earlier (tests/e2e/test_settings_reuse.py), so the claim must never be wrong: every tick it
covers does nothing, and it ends at the next slot and at the account's midnight."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devtools.xsandbox import Fault
from flockpilot.jobs.post import nothing_due
from flockpilot.jobs.skeleton import RunOutcome
from tests.fakes.store import Crash
from tests.jobs.conftest import Harness, make_harness


def test_quiet_ticks_do_nothing_and_end_at_each_slot_and_at_midnight(h: Harness) -> None:
    h.stock()
    h.at_local(7)
    end = h.local(1, 0, days=1)
    claimed = busy = 0
    last_day = None
    while h.clock.now() <= end:
        now = h.clock.now()
        quiet = nothing_due(h.store.scope, now)
        writes = h.store.writes
        summary = h.post(trigger="schedule")
        if quiet:
            claimed += 1
            # nothing due, nothing done, nothing written, whatever the settings would have said
            assert summary.posted == [] and summary.skipped == [] and summary.failed == [], now
            assert summary.outcome is RunOutcome.OK and h.store.writes == writes, now
            assert summary.day == last_day, f"{now}: the first tick of a new account day was called quiet"
        elif summary.posted:
            busy += 1
        last_day = summary.day
        h.clock.advance(minutes=10)
    assert busy == 10 == len(h.own_posts())
    # The claim covers most idle ticks (07:00 to 01:00 local is 109 ticks): it is not vacuous.
    assert claimed >= 80, claimed


def test_the_first_tick_after_local_midnight_is_never_quiet(h: Harness) -> None:
    h.stock()
    h.at_local(7)
    h.post(publish_next=True, max_posts=10)  # the whole day published at once
    h.at_local(23, 50)
    h.post(trigger="schedule")
    assert nothing_due(h.store.scope, h.local(23, 59))
    assert not nothing_due(h.store.scope, h.local(0, 0, days=1))


def test_manual_runs_failures_and_the_plug_watch_leave_nothing_claimed(h: Harness) -> None:
    h.stock()
    h.at_local(7)
    h.post(trigger="schedule")
    assert nothing_due(h.store.scope, h.clock.now() + timedelta(minutes=10))
    h.post(dry_run=True)  # a console run with an override
    assert not nothing_due(h.store.scope, h.clock.now() + timedelta(minutes=10))
    h.post(trigger="schedule")
    assert nothing_due(h.store.scope, h.clock.now() + timedelta(minutes=10))
    h.post(trigger="schedule", max_posts=1)  # a scheduled tick with a manual override
    assert not nothing_due(h.store.scope, h.clock.now() + timedelta(minutes=10))

    plug = make_harness(h.env["TIME_ZONE"], PLUG_MIN_LIKES="5")
    plug.stock()
    plug.at_local(7)
    plug.post(trigger="schedule")
    assert not nothing_due(plug.store.scope, plug.clock.now() + timedelta(minutes=10))


def test_a_partial_or_crashed_run_leaves_nothing_claimed(h: Harness) -> None:
    h.stock()
    h.at_local(7)
    h.post(trigger="schedule")
    assert nothing_due(h.store.scope, h.clock.now() + timedelta(minutes=10))
    h.at_local(13)  # slots are due
    h.world.inject(Fault("503", "createPosts", times=10))
    summary = h.post(trigger="schedule")
    assert summary.outcome is RunOutcome.PARTIAL
    assert not nothing_due(h.store.scope, h.clock.now() + timedelta(minutes=1))

    h.at_local(7, days=1)
    h.post(trigger="schedule")
    assert nothing_due(h.store.scope, h.clock.now() + timedelta(minutes=10))
    h.at_local(13, days=0)
    h.store.crash_after(0)  # the run dies at its first write (Lambda retries it)
    with pytest.raises(Crash):
        h.post(trigger="schedule")
    assert not nothing_due(h.store.scope, h.clock.now() + timedelta(minutes=1))
