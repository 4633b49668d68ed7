"""The post job end to end: DynamoDB Local, the X sandbox, moto's Secrets Manager."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from devtools.xsandbox import Fault, World
from flockpilot.adapters.store import Store
from flockpilot.domain.content import ContentItem, new_item
from flockpilot.events import PostEvent
from flockpilot.jobs.post import LEASE_SECONDS, PostSummary, run_post
from flockpilot.runtime import post_context
from tests.conftest import FakeClock

SCHEDULE = PostEvent(trigger="schedule")


def stock(store: Store, now: datetime, *, quips: int = 6, articles: int = 5, pitch: bool = True) -> list[ContentItem]:
    items = [new_item(kind="quip", text=f"Quip {i} about bread", now=now, evergreen=True, cooldown_days=7) for i in range(quips)]
    items += [new_item(kind="article", text=f"Article {i}", url=f"https://example.com/a{i}", now=now) for i in range(articles)]
    if pitch:
        items.append(new_item(kind="pitch", text="Buy the kit", url="https://example.com/kit", now=now))
    for item in items:
        store.add_content(item)
    return items


def run(clock: FakeClock, event: PostEvent = SCHEDULE) -> PostSummary:
    return run_post(post_context(clock=clock), event)


def own_posts(world: World) -> list[str]:
    return [p.text for p in world.posts.values() if p.author_id == "1700000000000000001"]


@pytest.fixture
def stocked(env: dict[str, str], store: Store, clock: FakeClock) -> Store:
    stock(store, clock.now())
    return store


def test_a_day_of_schedule_ticks_publishes_every_slot_once(stocked: Store, clock: FakeClock, world: World) -> None:
    published = []
    while clock.now().hour < 23:
        published += run(clock).posted
        clock.advance(minutes=10)
    assert len(published) == 10
    assert len(own_posts(world)) == 10
    assert len(set(own_posts(world))) == 10
    assert world.bill()["requests"] == 10  # one create per post, no reads


def test_nothing_is_published_before_its_time(stocked: Store, clock: FakeClock, world: World) -> None:
    summary = run(clock)  # 07:00, active hours start at 08:00
    assert summary.posted == [] and own_posts(world) == []
    assert summary.upcoming and summary.upcoming[0].at > clock.now()


def test_double_delivery_of_the_same_tick_publishes_once(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=4)
    first, second = run(clock), run(clock)
    assert first.posted and not second.posted
    assert len(own_posts(world)) == len(first.posted)


def test_concurrent_invocations_publish_each_slot_once(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=6)
    results: list[PostSummary] = []
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            results.append(run(clock))
        except BaseException as exc:  # a thread's failure must fail the test, not vanish
            errors.append(exc)

    threads = [threading.Thread(target=invoke) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 4
    assert [f.error for r in results for f in r.failed] == []
    posted = [p.slot for r in results for p in r.posted]
    assert len(posted) == len(set(posted)) and posted
    assert len(own_posts(world)) == len(posted)


def test_crash_between_x_success_and_our_record_does_not_post_twice(
    stocked: Store, clock: FakeClock, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_TIMEOUT_SECONDS", "0.5")  # X answers after 1.5 s: we time out, X posted
    clock.advance(hours=2)  # 09:00: slot 0 is due
    world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=1.5))
    first = run(clock, PostEvent(max_posts=1))
    assert first.posted == [] and first.failed[0].retry
    assert len(own_posts(world)) == 1  # X has it; we could not know

    clock.advance(seconds=60)
    assert run(clock, PostEvent(max_posts=1)).posted == []  # the claim is still leased

    clock.advance(seconds=LEASE_SECONDS)
    recovered = run(clock, PostEvent(max_posts=1))
    assert [p.recovered for p in recovered.posted] == [True]
    assert recovered.posted[0].post_id in world.posts
    assert len(own_posts(world)) == 1
    assert "own_posts" in recovered.cost["by_operation"]  # type: ignore[operator]


def test_duplicate_content_rests_the_item_and_posts_another(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=2)
    world.inject(Fault("duplicate", "createPosts"))
    summary = run(clock, PostEvent(max_posts=1))
    assert len(summary.posted) == 1
    assert any("duplicate content" in w for w in summary.warnings)
    rested = [i for i in stocked.list_content() if i.last_error and "duplicate" in i.last_error]
    assert len(rested) == 1 and rested[0].cooldown_until and rested[0].cooldown_until > clock.now()
    assert rested[0].item_id != summary.posted[0].item_id


def test_a_failed_item_keeps_its_error_and_stays_queued(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=2)
    world.inject(Fault("500", "createPosts"))
    summary = run(clock, PostEvent(max_posts=1))
    assert summary.failed and summary.failed[0].retry
    clock.advance(seconds=LEASE_SECONDS + 1)
    again = run(clock, PostEvent(max_posts=1))
    assert len(again.posted) == 1 and len(own_posts(world)) == 1


def test_rate_limit_stops_the_run_and_the_slot_is_retried_later(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=8)
    world.inject(Fault("429", "createPosts", reset_in_seconds=900))
    summary = run(clock)
    assert summary.posted == [] and len(summary.failed) == 1
    assert any("stopped" in w for w in summary.warnings)
    assert len(run(clock).posted) >= 1


def test_revoked_credentials_stop_the_run_with_a_clear_warning(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=8)
    world.revoked.add("1700000000000000001-demoAccessToken")
    summary = run(clock)
    assert summary.posted == []
    assert any("revoked" in w for w in summary.warnings)


def test_dry_run_plans_and_reports_without_writing_to_x(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=12)
    summary = run(clock, PostEvent(dry_run=True))
    assert summary.mode == "dry-run" and summary.would_post and summary.posted == []
    assert world.bill()["requests"] == 0 and own_posts(world) == []
    assert run(clock).posted  # the live run after it still has every slot


def test_budget_cut_is_reported_in_the_plan(env: dict[str, str], store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    stock(store, clock.now())
    monkeypatch.setenv("MONTHLY_BUDGET_USD", "20")  # $20 in November, 6 days left: capped at $1.33/day
    summary = run(clock)
    assert summary.plan_cost_usd <= summary.plan_budget_usd
    assert summary.dropped and all("over budget" in d.reason for d in summary.dropped)


def test_run_stops_at_the_day_budget(env: dict[str, str], store: Store, clock: FakeClock, world: World) -> None:
    stock(store, clock.now())
    store.add_spend(clock.now().date(), "post", 100.0, 1)  # today's posting money is gone
    clock.advance(hours=12)
    summary = run(clock)
    assert summary.posted == []
    assert any("budget" in w for w in summary.warnings)
    assert own_posts(world) == []


def test_slots_missed_by_hours_are_skipped_not_burst(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=15)  # 22:00: most slots are hours late
    summary = run(clock)
    assert all(clock.now() - p.at <= timedelta(minutes=120) for p in summary.posted)
    assert len(summary.posted) <= 3  # max_posts_per_run
    assert any(s.reason.startswith("missed by") for s in summary.skipped)
    assert len(own_posts(world)) == len(summary.posted)


def test_evergreen_items_come_back_after_their_cooldown(env: dict[str, str], store: Store, clock: FakeClock, world: World) -> None:
    only = new_item(kind="quip", text="The only quip", now=clock.now(), evergreen=True, cooldown_days=1)
    store.add_content(only)
    settings = {"posts_per_day": 1, "link_share": 0.0, "reposts_per_day": 0}
    for key, value in settings.items():
        store.set_override(key, value, clock.now())
    assert len(run(clock, PostEvent(publish_next=True)).posted) == 1
    clock.advance(days=1)
    world.posts.clear()  # X's duplicate window is not what this test is about
    assert len(run(clock, PostEvent(publish_next=True)).posted) == 1


def test_run_summary_is_stored_for_the_digest(stocked: Store, clock: FakeClock) -> None:
    clock.advance(hours=3)
    summary = run(clock)
    stored = stocked.recent_runs("post", limit=1)[0]
    assert stored["posted"] == [p.model_dump(mode="json") for p in summary.posted]
    assert stored["cost"]["usd"] == summary.cost["usd"]


def test_reposts_are_published_through_the_repost_endpoint(env: dict[str, str], store: Store, clock: FakeClock, world: World) -> None:
    target = next(p for p in world.posts.values() if p.author_id != "1700000000000000001")
    store.add_content(new_item(kind="repost", text=f"https://x.com/breadnerd/status/{target.id}", now=clock.now()))
    store.set_override("link_share", 0.0, clock.now())
    summary = run(clock, PostEvent(publish_next=True, max_posts=1))
    assert summary.posted[0].kind == "repost"
    assert ("1700000000000000001", target.id) in world.reposts
    assert world.bill()["by_operation"]["repostPost"]["usd"] == pytest.approx(0.015)


def test_x_bill_matches_our_meter(stocked: Store, clock: FakeClock, world: World) -> None:
    clock.advance(hours=15, minutes=30)
    summary = run(clock, PostEvent(publish_next=True, max_posts=10))
    assert summary.cost["usd"] == pytest.approx(world.bill()["usd"])


def test_now_is_timezone_aware(clock: FakeClock) -> None:
    assert clock.now().tzinfo is UTC and isinstance(clock.now() + timedelta(0), datetime)
