"""Idle ticks and late plans of the post job, on fakes in UTC, Tokyo and Los Angeles.

When the job says a scheduled tick has nothing to do (jobs.post.nothing_due), the composition
root lets the tick run on settings read earlier (tests/e2e/test_settings_reuse.py), so the
claim must never be wrong: every tick it covers does nothing, and it ends at the next slot
and at the account's midnight. A day first planned once its posting window has begun (the
day of deploy), or planned empty before content came, posts over what is left of the window,
never in a burst."""

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
    assert nothing_due(h.store.scope, h.local(23, 58))  # (a tick within a minute of midnight reads afresh)
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


# --- a day planned with nothing to post (deploy day) -------------------------------------

def test_content_added_after_an_empty_plan_is_posted_over_the_rest_of_the_day(h: Harness) -> None:
    h.at_local(14)  # deployed after lunch, before any content
    empty = h.post(trigger="schedule")
    assert empty.plan_slots == 0 and empty.posted == []
    h.clock.advance(minutes=5)
    h.stock()  # `flockpilot content import` a few minutes later
    end, looked_by, window_end = h.local(23, 50), h.local(15, 10), h.local(22)
    runs = []
    while h.clock.now() <= end:
        h.clock.advance(minutes=5)
        runs.append(h.post(trigger="schedule"))
        h.clock.advance(minutes=5)
    posted = sorted((p for r in runs for p in r.posted), key=lambda p: p.at)
    replanned = next(r for r in runs if r.plan_slots)
    assert replanned.started_at <= looked_by  # looked again within the hour
    # The rest of the day, cut to the share of the window left: 7 of 14 hours is 5 of 10 posts.
    assert len(posted) == replanned.plan_slots == 5 == len(h.own_posts())
    assert any("for the rest of the day" in n for n in replanned.plan_notes)
    for p in posted:  # each at its own time after the re-plan, none late, none bursting
        assert replanned.started_at <= p.at < window_end
    for a, b in zip(posted, posted[1:], strict=False):
        assert (b.at - a.at) >= timedelta(minutes=30)
    assert all(not r.skipped and r.outcome is RunOutcome.OK for r in runs)


def test_an_empty_day_with_nothing_to_post_looks_at_most_hourly(h: Harness) -> None:
    h.at_local(7)
    reads_before = h.store.library_reads
    runs, end = [], h.local(23, 50)
    while h.clock.now() <= end:
        runs.append(h.post(trigger="schedule"))
        h.clock.advance(minutes=10)
    assert all(r.plan_slots == 0 and not r.posted for r in runs)
    # 07:00 (the day's plan), then once an hour while the window (08:00-22:00) lasts
    assert h.store.library_reads - reads_before <= 1 + 14


def test_a_first_plan_made_after_the_window_opened_covers_the_rest_of_the_day(h: Harness) -> None:
    h.stock()
    h.at_local(15)  # the first run of the day that works (deployed after lunch; or the secret filled then)
    start, end, runs = h.clock.now(), h.local(23, 50), []
    while h.clock.now() <= end:
        runs.append(h.post(trigger="schedule"))
        h.clock.advance(minutes=10)
    posted = sorted((p for r in runs for p in r.posted), key=lambda p: p.at)
    assert runs[0].plan_slots == len(posted) == 5 == len(h.own_posts())  # 7 of 14 hours left: 5 of 10
    assert all(p.at >= start for p in posted) and not any(r.skipped for r in runs)
    assert all((b.at - a.at) >= timedelta(minutes=30) for a, b in zip(posted, posted[1:], strict=False))
    assert runs[0].posted == []  # nothing falls due the minute it is planned


def test_a_manual_run_fills_an_empty_plan_at_once(h: Harness) -> None:
    h.at_local(14)
    assert h.post(trigger="schedule").plan_slots == 0
    h.clock.advance(minutes=5)
    h.stock()
    console = h.post(dry_run=True)  # the console's test event right after the import
    assert console.plan_slots == 6 and console.mode == "dry-run"  # 475 of 840 minutes left: 5.65 of 10 posts


def test_an_empty_plan_filled_by_another_process_is_seen_by_the_next_tick(h: Harness) -> None:
    from flockpilot.domain.hours import ActiveHours, MixRules
    from flockpilot.domain.plan import plan_day

    h.at_local(14)
    assert h.post(trigger="schedule").plan_slots == 0
    h.clock.advance(minutes=5)
    items = h.stock()
    h.at_local(14, 35)  # `flockpilot run post` on the person's laptop plans the rest of the day
    filled = plan_day(day=h.clock.now().astimezone(h.zone).date(), tz=h.zone, active=ActiveHours.parse("08:00-22:00"),
                      rules=MixRules(posts_per_day=10), items=items, budget_usd=10, now=h.clock.now(), seed="laptop",
                      rest_of_day=True)
    assert h.store.replace_empty_plan(filled, h.clock.now()) == filled
    runs, end = [], h.local(22, 0)
    h.at_local(14, 40)
    while h.clock.now() <= end:  # this container's ticks: its last read was the empty plan
        runs.append(h.post(trigger="schedule"))
        h.clock.advance(minutes=10)
    posted = [p for r in runs for p in r.posted]
    assert len(posted) == len(filled.slots)
    for p in posted:  # each published by the first tick after its time, none late, none together
        assert timedelta(0) <= next(r.started_at for r in runs if p in r.posted) - p.at < timedelta(minutes=10)
    assert all(len(r.posted) <= 1 for r in runs)


@pytest.mark.parametrize("day", ["2026-03-08", "2026-11-01"])  # Los Angeles springs forward, falls back
def test_late_plans_and_quiet_ticks_on_a_dst_day(day: str) -> None:
    from datetime import date

    h = make_harness("America/Los_Angeles")
    h.clock.current = h.local(15, days=(date.fromisoformat(day) - h.clock.now().astimezone(h.zone).date()).days)
    h.stock()
    start, end, runs = h.clock.now(), h.local(1, 0, days=1), []
    midnight = h.local(0, 0, days=1)
    while h.clock.now() <= end:
        now = h.clock.now()
        if now == midnight:
            assert not nothing_due(h.store.scope, now)  # the next account day plans afresh
        runs.append(h.post(trigger="schedule"))
        h.clock.advance(minutes=10)
    posted = sorted((p for r in runs for p in r.posted), key=lambda p: p.at)
    assert runs[0].plan_slots == len(posted) == 5  # 7 of the 14 hours left (the change is at 02:00, outside them)
    assert all(start <= p.at < midnight and p.at.astimezone(h.zone).date().isoformat() == day for p in posted)
    assert all((b.at - a.at) >= timedelta(minutes=30) for a, b in zip(posted, posted[1:], strict=False))
