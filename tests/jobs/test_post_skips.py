"""A post run that skipped slots says `partial` and why (the RunPartial metric counts it);
the skips that are the person's normal, expected day keep it `ok`."""

from __future__ import annotations

import re
from datetime import timedelta

from devtools.xsandbox import Fault
from flockpilot.jobs.post import PostSummary
from flockpilot.jobs.skeleton import RunOutcome
from tests.jobs.conftest import Harness
from tests.jobs.test_learning import plug_world, run_hourly


def missed_reasons(summary: PostSummary) -> list[str]:
    return [r for r in summary.reasons if " missed (due " in r]


def test_slots_missed_while_no_run_posted_them_make_the_run_partial_with_count_and_times(h: Harness, zone: str) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(16, 0)  # the function did not run from 07:00 to 16:00
    summary = h.post(trigger="schedule")
    missed = [s for s in summary.skipped if s.reason.startswith("missed by")]
    assert missed and summary.outcome is RunOutcome.PARTIAL
    (reason,) = missed_reasons(summary)
    plan, _ = h.store.plan_and_slots(summary.day)
    assert plan is not None
    due = sorted(s.at.astimezone(h.zone).strftime("%H:%M") for s in plan.slots if s.index in {m.slot for m in missed})
    assert reason.startswith(f"{len(missed)} slot{'s' if len(missed) > 1 else ''} missed (due ")
    assert (due[0] in reason and due[-1] in reason) and f"16:00 {zone}" in reason and "120 min" in reason
    assert all(8 <= int(t[:2]) < 14 for t in due)  # on the account's clock: the morning it slept through
    later = h.post(trigger="schedule")  # the skipped slots are settled: the next tick has nothing to say
    assert not missed_reasons(later) and later.outcome is RunOutcome.OK


def scheduled_day(h: Harness, *, every_minutes: int) -> list[PostSummary]:
    """A stocked account's day of scheduled post ticks, 07:00 to 23:00 local."""
    h.stock()
    h.at_local(7, 0)
    runs = []
    while h.clock.now() < h.local(23, 0):
        runs.append(h.post(trigger="schedule"))
        h.clock.advance(minutes=every_minutes)
    return runs


def test_a_day_of_regular_ticks_misses_nothing_and_stays_ok(h: Harness) -> None:
    runs = scheduled_day(h, every_minutes=10)
    assert sum(len(r.posted) for r in runs) == runs[0].plan_slots > 0
    assert all(r.outcome is RunOutcome.OK and not r.skipped for r in runs), [r.reasons for r in runs if r.reasons]


def test_dry_run_ticks_list_what_earlier_ticks_previewed_but_stay_ok(h: Harness) -> None:
    """A dry run records nothing, so every dry tick sees the day's earlier slots as missed:
    that is the dry-run mode working, not work skipped."""
    h.env["MODE"] = "dry-run"
    runs = scheduled_day(h, every_minutes=30)
    assert any(s.reason.startswith("missed by") for r in runs for s in r.skipped)
    assert all(r.outcome is RunOutcome.OK for r in runs), [r.reasons for r in runs if r.reasons]


def test_a_slot_with_no_content_left_makes_the_run_partial_and_says_add_content(h: Harness, zone: str) -> None:
    h.stock(quips=2, articles=0, pitch=False)
    h.store.set_override("link_share", 0.0)
    h.post(trigger="schedule")
    plan, _ = h.store.plan_and_slots(h.clock.now().astimezone(h.zone).date())
    assert plan is not None and plan.slots
    for item in h.store.list_content():
        h.store.remove_content(item.item_id, h.clock.now())
    first = plan.slots[0]
    h.clock.current = first.at
    preview = h.post(dry_run=True)
    summary = h.post(trigger="schedule")
    local = first.at.astimezone(h.zone).strftime("%H:%M")
    for run, verb in ((preview, "would be skipped"), (summary, "skipped")):
        assert [s.reason for s in run.skipped] == ["no available item"] and run.outcome is RunOutcome.PARTIAL
        (reason,) = [r for r in run.reasons if r.startswith("no content left")]
        assert f"slot {first.index} ({local} {zone}): it {verb}," in reason and "add content" in reason


def test_the_pitch_the_plug_stood_in_for_is_skipped_without_making_the_run_partial(h: Harness) -> None:
    plug_world(h)
    runs = run_hourly(h)
    h.clock.advance(days=1)
    runs += run_hourly(h)
    pitched = [r for r in runs if any("was today's pitch" in s.reason for s in r.skipped)]
    assert pitched
    for r in pitched:
        assert r.outcome is RunOutcome.OK and not [x for x in r.reasons if re.search(r"missed|no content", x)], r.reasons


def test_slots_missed_before_a_stop_are_still_counted(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")
    plan, _ = h.store.plan_and_slots(h.clock.now().astimezone(h.zone).date())
    assert plan is not None and len(plan.slots) > 3
    h.clock.current = plan.slots[3].at  # slots 0..2 long missed (or nearly), slot 3 due now
    h.clock.current = max(h.clock.current, plan.slots[0].at + timedelta(minutes=121))
    h.world.inject(Fault("429", "*", times=10))
    summary = h.post(trigger="schedule")
    assert any(r.startswith("X rate limit") for r in summary.reasons), summary.reasons
    assert missed_reasons(summary) and summary.outcome is RunOutcome.PARTIAL


def test_a_day_planned_by_a_manual_run_reports_no_missed_slots_from_before_it(h: Harness, zone: str) -> None:
    """A console run at 14:00 that publishes the next post plans the whole day: the morning's
    slots came due before any plan existed, so no scheduled run missed them. The next tick skips
    them and says when they were due, without making the run partial (which 3 days running
    would fire the job's alarm)."""
    h.stock()
    h.at_local(14, 0)
    manual = h.post(publish_next=True, max_posts=1)
    assert len(manual.posted) == 1 and manual.outcome is RunOutcome.OK, manual.reasons
    h.at_local(14, 10)
    tick = h.post(trigger="schedule")
    before = [s for s in tick.skipped if "before the day's plan went live at" in s.reason]
    assert before and not missed_reasons(tick), tick.reasons
    assert tick.outcome is RunOutcome.OK, tick.reasons
    plan, _ = h.store.plan_and_slots(tick.day)
    assert plan is not None and plan.live_from == h.local(14, 0)
    assert all(p.at < h.local(14, 0) for p in plan.slots if p.index in {s.slot for s in before})
    assert f"14:00 {zone}" in before[0].reason


def test_switching_from_dry_run_to_live_mid_day_reports_no_missed_slots_from_the_dry_hours(h: Harness, zone: str) -> None:
    """The day was planned and previewed in dry-run; at 14:00 the account goes live. The slots
    due while it was dry were never to be published: the first live tick skips them without
    calling them missed, and a slot missed after that still is."""
    h.env["MODE"] = "dry-run"
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 in dry-run
    h.at_local(13, 0)
    h.post(trigger="schedule")
    h.env["MODE"] = "live"
    h.at_local(14, 10)
    first_live = h.post(trigger="schedule")
    assert not missed_reasons(first_live), first_live.reasons
    assert any(f"before the day's plan went live at 14:10 {zone}" in s.reason for s in first_live.skipped), [s.reason for s in first_live.skipped]
    plan, states = h.store.plan_and_slots(first_live.day)
    assert plan is not None and plan.live_from == h.local(14, 10)
    later = [s for s in plan.slots if s.at > h.local(14, 10) and s.index not in states]
    assert later, "the test needs a slot after 14:10"
    h.clock.current = later[-1].at + timedelta(minutes=121)  # the function stopped after 14:10: a real miss
    summary = h.post(trigger="schedule")
    assert missed_reasons(summary) and summary.outcome is RunOutcome.PARTIAL
