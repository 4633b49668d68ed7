"""A post run that skipped slots says `partial` and why (the RunPartial metric counts it);
the skips that are the person's normal, expected day keep it `ok`."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

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


def ticks(h: Harness, until_hour: int, until_minute: int = 0, *, every_minutes: int = 10) -> list[PostSummary]:
    """Scheduled post ticks from now until (not at) the account's `until` time."""
    runs = []
    while h.clock.now() < h.local(until_hour, until_minute):
        runs.append(h.post(trigger="schedule"))
        h.clock.advance(minutes=every_minutes)
    return runs


def published(h: Harness) -> dict[int, str | None]:
    """The day's published slots and their post ids."""
    _, states = h.store.plan_and_slots(h.clock.now().astimezone(h.zone).date())
    return {i: s.post_id for i, s in states.items() if s.status.value == "published"}


def test_going_live_again_after_dry_hours_reports_no_missed_slots_from_them(h: Harness, zone: str) -> None:
    """Live in the morning, in dry-run from 10:00, live again at 14:10. The slots due in the
    dry hours were only previewed, as the person asked: the first live tick skips those too late
    to catch up without calling them missed; a slot missed after 14:10 is still a miss."""
    h.stock()
    h.at_local(7, 0)
    morning = ticks(h, 10, 0)  # the day's plan made live at 07:00
    assert sum(len(r.posted) for r in morning) > 0 and all(r.outcome is RunOutcome.OK for r in morning)
    h.env["MODE"] = "dry-run"
    dry = ticks(h, 14, 10)
    assert any(r.would_post for r in dry) and all(r.outcome is RunOutcome.OK for r in dry)
    plan, _ = h.store.plan_and_slots(morning[0].day)
    assert plan is not None and plan.live_from is None  # the dry hours: no run answers for a slot
    h.env["MODE"] = "live"
    back = h.post(trigger="schedule")
    assert not missed_reasons(back) and back.outcome is RunOutcome.OK, back.reasons
    before = [s for s in back.skipped if f"before the day's plan went live at 14:10 {zone}" in s.reason]
    plan, states = h.store.plan_and_slots(back.day)
    assert plan is not None and plan.live_from == h.local(14, 10)
    due = {s.index: s.at for s in plan.slots}
    assert before and all(h.local(9, 50) < due[s.slot] < h.local(12, 10) for s in before)  # after the last live tick
    assert len(h.own_posts()) == len(published(h)) == sum(len(r.posted) for r in [*morning, back])  # no double, no loss
    later = [s for s in plan.slots if s.at > h.local(14, 10) and s.index not in states]
    assert later, "the test needs a slot after 14:10"
    h.clock.current = later[0].at + timedelta(minutes=121)  # the function stopped after 14:10: a real miss
    summary = h.post(trigger="schedule")
    assert missed_reasons(summary) and summary.outcome is RunOutcome.PARTIAL


def test_a_slot_a_live_run_could_still_catch_up_when_the_plan_went_live_is_missed_if_none_does(h: Harness, zone: str) -> None:
    """The day planned by a manual run at 14:00: a slot due at 13:xx could still be caught up
    (catch_up_minutes is 120) by the scheduled runs from then on. If none runs until it is 121
    minutes late, that is a real miss, reported and partial; the slots already too late at
    14:00 are still no miss."""
    h.stock()
    h.at_local(14, 0)
    manual = h.post(publish_next=True, max_posts=1)
    assert len(manual.posted) == 1, manual.reasons
    plan, states = h.store.plan_and_slots(manual.day)
    assert plan is not None and plan.live_from == h.local(14, 0)
    catchable = [s for s in plan.slots if h.local(12, 0) < s.at < h.local(14, 0) and s.index not in states]
    assert catchable, "the test needs a slot due less than 120 min before 14:00"
    h.clock.current = catchable[-1].at + timedelta(minutes=121)  # no run since the manual one
    tick = h.post(trigger="schedule")
    (reason,) = missed_reasons(tick)
    assert tick.outcome is RunOutcome.PARTIAL
    assert reason.startswith(f"{len(catchable)} slot") and catchable[-1].at.astimezone(h.zone).strftime("%H:%M") in reason
    before = {s.slot for s in tick.skipped if "before the day's plan went live at" in s.reason}
    assert before == {s.index for s in plan.slots if s.at < h.local(12, 0) and s.index not in states}


def test_a_dry_run_asked_of_a_live_account_leaves_its_missed_slots_missed(h: Harness) -> None:
    """A console preview (dry_run true) while the account is live does not unmark the plan:
    the scheduled runs still answer for its slots, and a morning they slept through is missed."""
    h.stock()
    h.post(trigger="schedule")  # the day's plan, live from 07:00
    h.at_local(11, 0)
    preview = h.post(dry_run=True)
    assert preview.dry_run and any(s.reason.startswith("missed by") for s in preview.skipped)
    h.at_local(16, 0)  # no scheduled run from 07:00 to 16:00
    summary = h.post(trigger="schedule")
    assert missed_reasons(summary) and summary.outcome is RunOutcome.PARTIAL
    assert not [s for s in summary.skipped if "went live" in s.reason]


def test_going_live_again_survives_a_crash_at_each_mark_a_429_and_a_duplicate_tick(h: Harness, zone: str) -> None:
    """The dry hours' tick dies before it unmarks the plan, the first live tick before it marks
    it again: the next ones do it, no false miss comes of either; a 429 on the first live tick
    and the same tick delivered twice neither post twice nor lose a slot."""
    from devtools.xsandbox import Fault
    from tests.fakes.store import Crash

    h.stock()
    h.at_local(7, 0)
    morning = ticks(h, 10, 0)
    h.env["MODE"] = "dry-run"
    h.store.crash_after(0)  # the first dry tick's first write: the unmark
    with pytest.raises(Crash):
        h.post(trigger="schedule")
    plan, _ = h.store.plan_and_slots(morning[0].day)
    assert plan is not None and plan.live_from == h.local(7, 0)  # still marked: nothing written
    h.clock.advance(minutes=10)
    ticks(h, 14, 10)
    h.env["MODE"] = "live"
    h.store.crash_after(0)  # the first live tick's first write: the mark
    with pytest.raises(Crash):
        h.post(trigger="schedule")
    plan, _ = h.store.plan_and_slots(morning[0].day)
    assert plan is not None and plan.live_from is None
    h.clock.advance(minutes=5)  # 14:15
    h.world.inject(Fault("429", "*", times=1))
    limited = h.post(trigger="schedule")
    assert any(r.startswith("X rate limit") for r in limited.reasons) and not missed_reasons(limited), limited.reasons
    h.clock.advance(minutes=5)  # 14:20: X's limit reset, the tick comes twice
    first, again = h.post(trigger="schedule"), h.post(trigger="schedule")
    for run in (limited, first, again):
        assert not missed_reasons(run), run.reasons
    assert first.outcome is RunOutcome.OK and again.outcome is RunOutcome.OK and not again.posted
    plan, states = h.store.plan_and_slots(first.day)
    assert plan is not None and plan.live_from == h.local(14, 15)
    posted = [p for r in [*morning, limited, first, again] for p in r.posted]
    assert len(h.own_posts()) == len(published(h)) == len(posted) == len({p.slot for p in posted})  # no double, no loss
    catchable = [s.index for s in plan.slots if h.local(12, 15) <= s.at <= h.local(14, 15)]
    assert catchable and all(states[i].status.value == "published" for i in catchable)
