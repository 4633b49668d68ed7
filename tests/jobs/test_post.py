"""The post job on fakes, in UTC, Tokyo and Los Angeles."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.domain.content import new_item
from flockpilot.domain.slots import LEASE_SECONDS, SlotStatus
from flockpilot.jobs.post import PostSummary
from flockpilot.jobs.skeleton import RunOutcome
from flockpilot.plain import plain
from tests.jobs.conftest import Harness


def run_day(h: Harness, **event: object) -> list[PostSummary]:
    """Every 10 minutes from 07:00 to 23:50 local time."""
    h.at_local(7)
    summaries = []
    end = h.local(23, 50)
    while h.clock.now() <= end:
        summaries.append(h.post(trigger="schedule", **event))
        h.clock.advance(minutes=10)
    return summaries


def test_a_day_of_ticks_publishes_every_slot_once_at_the_lower_bound(h: Harness) -> None:
    h.stock()
    runs = run_day(h)
    posted = [p for r in runs for p in r.posted]
    assert len(posted) == 10 == len(h.own_posts()) == len(set(h.own_posts()))
    assert h.world.bill()["requests"] == 10  # one create per post, no read
    assert sum(float(r.cost["usd"]) for r in runs) == pytest.approx(h.world.bill()["usd"])  # type: ignore[arg-type]
    assert all(r.outcome is RunOutcome.OK for r in runs)
    for p in posted:  # every post inside the local active hours, on the account's day
        local = p.at.astimezone(h.zone)
        assert local.date() == runs[0].day and 8 <= local.hour < 22


def test_each_slot_is_claimed_on_the_state_its_tick_read_without_reading_it_again(h: Harness) -> None:
    h.stock()
    runs = run_day(h)
    assert len([p for r in runs for p in r.posted]) == 10
    assert h.store.slot_reads == 0  # the tick's plan query had the slot: the claim is conditional on that version


def test_nothing_is_published_before_its_time(h: Harness) -> None:
    h.stock()
    summary = h.post(trigger="schedule")  # 07:00 local, active hours start at 08:00
    assert summary.posted == [] and h.own_posts() == []
    assert summary.upcoming and summary.upcoming[0].at > h.clock.now()


def test_double_delivery_of_the_same_tick_publishes_once(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(13)
    first, second = h.post(trigger="schedule"), h.post(trigger="schedule")
    assert first.posted and not second.posted
    assert len(h.own_posts()) == len(first.posted)


def test_concurrent_invocations_publish_each_slot_once(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(13)
    results: list[PostSummary] = []
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            results.append(h.post(trigger="schedule"))
        except BaseException as exc:  # a thread's failure must fail the test, not vanish
            errors.append(exc)

    threads = [threading.Thread(target=invoke) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 4
    posted = [p.slot for r in results for p in r.posted]
    assert posted and len(posted) == len(set(posted)) == len(h.own_posts())


def test_x_timing_out_after_it_posted_is_recovered_not_repeated(h: Harness) -> None:
    h.stock()
    h.x_timeout = 0.02
    h.at_local(11)
    h.world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=0.05))
    first = h.post(publish_next=True, max_posts=1)
    assert first.posted == [] and first.failed[0].retry and first.outcome is RunOutcome.PARTIAL
    assert len(h.own_posts()) == 1  # X has it; the run could not know
    h.clock.advance(minutes=10)
    second = h.post(publish_next=True, max_posts=1)
    assert [p.recovered for p in second.posted] == [True]
    assert len(h.own_posts()) == 1
    assert "own_posts" in second.cost["by_operation"]  # type: ignore[operator]


def test_a_run_that_died_holding_the_slot_is_recovered_after_its_lease(h: Harness) -> None:
    h.stock()
    h.post()  # 07:00: the day's plan is made
    h.store.crash_after(2)  # claim, note the item, (X posts), then die before recording it
    with pytest.raises(BaseException, match="crashed"):
        h.post(publish_next=True, max_posts=1)
    assert len(h.own_posts()) == 1
    h.clock.advance(seconds=60)
    meanwhile = h.post(publish_next=True, max_posts=1)
    assert [p.slot for p in meanwhile.posted] == [1]  # slot 0 is still leased to the dead run
    h.clock.advance(seconds=LEASE_SECONDS)
    recovered = h.post(publish_next=True, max_posts=1)
    assert [(p.slot, p.recovered) for p in recovered.posted] == [(0, True)]
    assert len(h.own_posts()) == len(set(h.own_posts())) == 2


def test_two_abandoned_claims_in_a_row_still_find_the_first_post(h: Harness) -> None:
    h.stock()
    h.post()  # 07:00: the day's plan is made
    h.store.crash_after(2)
    with pytest.raises(BaseException, match="crashed"):
        h.post(publish_next=True, max_posts=1)  # posted, then died
    h.clock.advance(seconds=LEASE_SECONDS + 1)
    h.store.crash_after(0)  # the next run dies on its claim
    with pytest.raises(BaseException, match="crashed"):
        h.post(publish_next=True, max_posts=1)
    h.clock.advance(seconds=LEASE_SECONDS + 1)
    h.store.crash_after(1)  # this one claims, then dies before anything else
    with pytest.raises(BaseException, match="crashed"):
        h.post(publish_next=True, max_posts=1)
    h.clock.advance(seconds=LEASE_SECONDS + 1)
    recovered = h.post(publish_next=True, max_posts=1)
    assert [p.recovered for p in recovered.posted] == [True]
    assert len(h.own_posts()) == 1


def test_a_substitute_whose_outcome_is_unknown_is_not_posted_twice(h: Harness) -> None:
    h.stock()
    h.x_timeout = 0.02
    h.at_local(11)
    h.world.inject(Fault("duplicate", "createPosts"))  # the planned item is refused...
    h.world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=0.05))  # ...the substitute goes out unseen
    first = h.post(publish_next=True, max_posts=1)
    assert first.posted == [] and len(h.own_posts()) == 1
    h.clock.advance(minutes=10)
    second = h.post(publish_next=True, max_posts=1)
    assert [p.recovered for p in second.posted] == [True]
    assert len(h.own_posts()) == 1
    plan, slots = h.store.plan_and_slots(first.day)
    # The refused item never reached X: only the substitute stays among the slot's possible posts.
    assert slots[0].status is SlotStatus.PUBLISHED and slots[0].tried == (second.posted[0].item_id,)


def test_a_crash_between_the_post_and_its_record_keeps_item_and_slot_in_step(h: Harness) -> None:
    h.stock()
    h.post()  # 07:00: the day's plan is made
    h.store.crash_after(2)
    with pytest.raises(BaseException, match="crashed"):
        h.post(publish_next=True, max_posts=1)
    h.clock.advance(seconds=LEASE_SECONDS + 1)
    summary = h.post(publish_next=True, max_posts=1)
    item = h.store.get_content(summary.posted[0].item_id)
    assert item is not None and item.times_posted == 1  # recorded once, with the slot, in one write
    run_day(h)  # the rest of the day and the next never post it again
    h.clock.advance(days=1)
    run_day(h)
    assert h.own_posts().count(summary.posted[0].text) == 1


def test_duplicate_content_rests_the_item_and_posts_another(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(11)
    h.world.inject(Fault("duplicate", "createPosts"))
    summary = h.post(max_posts=1)
    assert len(summary.posted) == 1
    assert any("duplicate content" in w for w in summary.warnings)
    rested = [i for i in h.store.list_content() if i.last_error and "duplicate" in i.last_error]
    assert len(rested) == 1 and rested[0].cooldown_until and rested[0].cooldown_until > h.clock.now()
    assert rested[0].item_id != summary.posted[0].item_id


def test_a_server_error_is_treated_as_unknown_and_checked_before_a_retry(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(11)
    h.world.inject(Fault("500", "createPosts"))
    first = h.post(max_posts=1)
    assert first.failed and first.failed[0].retry and h.own_posts() == []
    h.clock.advance(minutes=10)
    again = h.post(max_posts=1)
    assert len(again.posted) == 1 and len(h.own_posts()) == 1


def test_a_rate_limit_does_not_spend_the_slot_and_the_next_run_waits_for_the_reset(h: Harness) -> None:
    h.stock()
    h.at_local(7)
    while h.clock.now() < h.local(11):  # the morning's ticks
        h.post(trigger="schedule")
        h.clock.advance(minutes=10)
    for _ in range(3):  # three ticks in a row hit the limit
        h.world.inject(Fault("429", "createPosts", reset_in_seconds=300))
    first = h.post(publish_next=True, max_posts=1)
    assert first.posted == [] and first.outcome is RunOutcome.PARTIAL
    requests = h.world.bill()["requests"]
    h.clock.advance(minutes=1)
    waiting = h.post(publish_next=True, max_posts=1)  # before X's reset: no request at all
    assert waiting.posted == [] and h.world.bill()["requests"] == requests
    while h.clock.now() <= h.local(23, 50):  # the rest of the day's ticks
        h.clock.advance(minutes=10)
        h.post(trigger="schedule")
    assert len(h.own_posts()) == 10  # every slot published in the end


def test_revoked_credentials_fail_the_run_and_leave_the_slots_open(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(16)
    h.world.revoked.add(f"{OWNER_ID}-demoAccessToken")
    summary = h.post()
    assert summary.posted == [] and summary.outcome is RunOutcome.FAILED
    assert any("revoked" in r for r in summary.reasons)
    h.world.revoked.clear()
    assert h.post().posted  # the person replaced the tokens: posting resumes


def test_dry_run_plans_and_reports_without_writing_to_x(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(19)
    summary = h.post(dry_run=True)
    assert summary.mode == "dry-run" and summary.would_post and summary.posted == []
    assert h.world.bill()["requests"] == 0 and h.own_posts() == []
    assert h.post().posted  # the live run after it still has every slot


def test_the_plan_is_cut_to_the_budget_and_says_so(h: Harness) -> None:
    h.stock()
    h.env["MONTHLY_BUDGET_USD"] = "20"  # November, 6 days left: capped at $1.33 a day
    summary = h.post()
    assert summary.plan_cost_usd <= summary.plan_budget_usd
    assert summary.dropped and all("over budget" in d.reason for d in summary.dropped)


def test_a_spent_day_budget_stops_the_run_as_partial(h: Harness) -> None:
    h.stock()
    h.store.add_spend(h.clock.now().astimezone(h.zone).date(), "post", 100.0, 1)
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(19)
    summary = h.post()
    assert summary.posted == [] and summary.outcome is RunOutcome.PARTIAL
    assert any("budget" in r for r in summary.reasons)
    assert h.own_posts() == []


def test_slots_missed_by_hours_are_skipped_not_burst(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(22)
    summary = h.post()
    assert all(h.clock.now() - p.at <= timedelta(minutes=120) for p in summary.posted)
    assert len(summary.posted) <= 3
    assert any(s.reason.startswith("missed by") for s in summary.skipped)
    assert len(h.own_posts()) == len(summary.posted)


def test_evergreen_items_come_back_after_their_cooldown(h: Harness) -> None:
    h.store.add_content(new_item(kind="quip", text="The only quip", now=h.clock.now(), evergreen=True, cooldown_days=1))
    for key, value in {"posts_per_day": 1, "link_share": 0.0, "reposts_per_day": 0}.items():
        h.store.set_override(key, value)
    assert len(h.post(publish_next=True).posted) == 1
    h.clock.advance(days=1)
    h.world.posts.clear()  # X's duplicate window is not what this test is about
    assert len(h.post(publish_next=True).posted) == 1


def test_a_run_that_did_something_is_stored_for_the_digest(h: Harness) -> None:
    h.stock()
    h.post(trigger="schedule")  # the day's plan, made at 07:00 before the window opens
    h.at_local(12)
    summary = h.post()
    stored = h.store.runs("post", summary.day)[-1]
    assert stored["posted"] == [plain(p) for p in summary.posted]
    assert stored["cost"]["usd"] == summary.cost["usd"]


def test_reposts_go_through_the_repost_endpoint(h: Harness) -> None:
    target = next(p for p in h.world.posts.values() if p.author_id != OWNER_ID)
    h.store.add_content(new_item(kind="repost", text=f"https://x.com/breadnerd/status/{target.id}", now=h.clock.now()))
    h.store.set_override("link_share", 0.0)
    summary = h.post(publish_next=True, max_posts=1)
    assert summary.posted[0].kind == "repost"
    assert (OWNER_ID, target.id) in h.world.reposts
    assert h.world.bill()["by_operation"]["repostPost"]["usd"] == pytest.approx(0.015)


def a_repost_out_unseen(h: Harness, *, reposts: int, quips: int) -> PostSummary:
    """One repost a day; X makes the first repost and its answer is lost (the run's summary)."""
    targets = [p for p in h.world.posts.values() if p.author_id != OWNER_ID][:reposts]
    for target in targets:
        h.store.add_content(new_item(kind="repost", text=f"https://x.com/breadnerd/status/{target.id}", now=h.clock.now()))
    for n in range(quips):
        h.store.add_content(new_item(kind="quip", text=f"Spare quip {n}", now=h.clock.now()))
    for key, value in {"posts_per_day": 1, "link_share": 0.0, "reposts_per_day": 1}.items():
        h.store.set_override(key, value)
    h.x_timeout = 0.02
    h.at_local(11)
    h.world.inject(Fault("commit_then_timeout", "repostPost", delay_seconds=0.05))
    return h.post(publish_next=True, max_posts=1)


def test_a_repost_whose_outcome_is_unknown_is_sent_again_not_replaced(h: Harness) -> None:
    """Recovery does not look for reposts; a substitute beside a repost that went out unseen
    would be two posts in one slot. The same repost is sent again (X keeps one)."""
    first = a_repost_out_unseen(h, reposts=2, quips=0)
    assert first.posted == [] and first.failed[0].retry and first.outcome is RunOutcome.PARTIAL
    assert len(h.world.reposts) == 1  # X has it; the run could not know
    h.clock.advance(minutes=10)
    second = h.post(publish_next=True, max_posts=1)
    assert [p.item_id for p in second.posted] == [first.failed[0].item_id] and second.outcome is RunOutcome.OK
    assert len(h.world.reposts) == 1  # sent again, still one repost; no substitute
    plan, slots = h.store.plan_and_slots(first.day)
    assert slots[0].status is SlotStatus.PUBLISHED


def test_a_tried_item_removed_since_gets_no_substitute(h: Harness) -> None:
    """A repost went out unseen, then the item was removed from the library: it cannot be
    sent again or looked for, so the slot gets nothing else (never two posts in one slot)."""
    first = a_repost_out_unseen(h, reposts=1, quips=3)
    assert len(h.world.reposts) == 1
    h.store.remove_content(first.failed[0].item_id, h.clock.now())
    h.clock.advance(minutes=10)
    second = h.post(publish_next=True, max_posts=1)
    assert second.posted == [] and [s.reason for s in second.skipped] == ["no available item"]
    assert len(h.own_posts()) == 1  # the repost only


@pytest.mark.parametrize("text", ["Salt & butter: the only rule", "Proof times < 2 hours beat > 3",
                                  "Read more on example.com today", "Plain words, nothing X rewrites"])
def test_recovery_finds_a_post_whose_text_x_rewrote(h: Harness, text: str) -> None:
    """X shows a post's text HTML-escaped and every link it finds, a bare domain too, as a
    t.co link; so does the sandbox (devtools/xsandbox/app.py shown_text)."""
    now = h.clock.now()
    h.store.add_content(new_item(kind="quip", text=text, now=now))
    for n in range(3):
        h.store.add_content(new_item(kind="quip", text=f"Spare quip {n}", now=now))
    for key, value in {"posts_per_day": 1, "link_share": 0.0, "reposts_per_day": 0}.items():
        h.store.set_override(key, value)
    h.x_timeout = 0.02
    h.at_local(11)
    h.world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=0.05))
    first = h.post(publish_next=True, max_posts=1)
    assert first.failed and len(h.own_posts()) == 1
    h.clock.advance(minutes=10)
    second = h.post(publish_next=True, max_posts=1)
    assert [p.recovered for p in second.posted] == [True]
    assert len(h.own_posts()) == 1  # found, not posted twice


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles"])
def test_a_small_budget_still_posts_every_day(zone: str) -> None:
    """$4 a month gives the post job cents a day: the results read asks for a page sized to the
    posts it judges (a page of 100 would be checked as $0.10), and a day whose read the money
    does not cover is still planned, on what earlier days taught, and says so."""
    from datetime import UTC, datetime

    from tests.jobs.conftest import make_harness

    h = make_harness(zone, MONTHLY_BUDGET_USD="4", POSTS_PER_DAY="3", LINK_SHARE="0", REPOSTS_PER_DAY="0")
    h.clock.current = datetime(2026, 12, 1, 7, tzinfo=UTC)
    h.stock(quips=40, articles=0, pitch=False)
    per_day, billed = [], 0.0
    for _ in range(5):
        runs = run_day(h)
        per_day.append(sum(len(r.posted) for r in runs))
        assert all(r.outcome is not RunOutcome.FAILED for r in runs), [r.reasons for r in runs]
    billed = h.world.bill()["usd"]
    assert per_day == [3, 3, 3, 3, 3], per_day
    assert billed <= 5 * 4 / 31 * 2 + 1e-9  # never past twice the month's daily share on any day, in all


def test_a_day_whose_results_read_the_money_does_not_cover_is_still_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    import flockpilot.jobs.learn as learn
    from tests.jobs.conftest import make_harness

    monkeypatch.setattr(learn, "RESULT_PAGE_MARGIN", 100)  # pages of 100 again: checked as $0.10, over the day's cents
    h = make_harness("Asia/Tokyo", MONTHLY_BUDGET_USD="4", POSTS_PER_DAY="3", LINK_SHARE="0", REPOSTS_PER_DAY="0")
    h.clock.current = datetime(2026, 12, 1, 7, tzinfo=UTC)
    h.stock(quips=40, articles=0, pitch=False)
    run_day(h)
    second = run_day(h)
    assert sum(len(r.posted) for r in second) == 3
    planning = second[0]
    assert planning.plan_slots == 3 and planning.outcome is RunOutcome.PARTIAL
    assert any("results were not read today" in r for r in planning.reasons), planning.reasons


def test_a_tick_with_nothing_due_reads_nothing_but_its_settings(h: Harness) -> None:
    h.stock()
    h.at_local(7)
    h.post()  # the day's plan is made
    plan, _ = h.store.plan_and_slots(h.clock.now().astimezone(h.zone).date())
    assert plan is not None
    first = min(s.at for s in plan.slots)
    reads = h.store.plan_reads
    h.clock.current = first - timedelta(minutes=20)
    h.post(trigger="schedule")  # nothing due yet: the plan this process read is enough
    assert h.store.plan_reads == reads
    h.clock.current = first + timedelta(minutes=1)
    summary = h.post(trigger="schedule")  # a slot is due: read afresh, published once
    assert h.store.plan_reads == reads + 1 and len(summary.posted) == 1
    h.post(trigger="schedule")  # the cached read still shows the slot open: read again, nothing twice
    assert len(h.own_posts()) == 1
    h.clock.advance(minutes=10)
    before = h.store.plan_reads
    h.post(trigger="schedule")  # published and future slots only: quiet again
    assert h.store.plan_reads == before

