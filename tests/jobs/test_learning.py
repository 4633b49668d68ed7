"""The learning loop on fakes: results read once a day at their price, items and hours chosen
from what they earned, feed articles added once, the plug posted exactly once.

The sandbox's `metrics_model` plays the audience: each post earns from a hidden quality of
its item and of its local hour, the same every time it is read after its first hour.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import Post
from flockpilot.adapters.feeds import fetch_feed
from flockpilot.domain.content import ContentItem, ContentKind, ItemStatus, new_item
from flockpilot.domain.feed import Feed
from flockpilot.domain.records import MetricsDay
from flockpilot.domain.slots import SlotStatus
from flockpilot.events import PostEvent
from flockpilot.jobs.post import PLUG_SLOT, PostDeps, PostSummary, run_post
from flockpilot.jobs.skeleton import RunOutcome
from flockpilot.pricing import price
from tests.jobs.conftest import ZONES, Harness, make_harness

IMPRESSIONS = 1000


def audience(h: Harness, quality: Callable[[str], float], hour_factor: Callable[[int], float] = lambda hour: 1.0,
             likes: Mapping[str, int] | None = None) -> None:
    """Posts earn `quality(text) * hour_factor(local hour)` of 4% engagement per impression,
    with a little noise from the post id; `likes` pins a post's likes by text."""

    def model(post: Post, at: datetime) -> dict[str, int]:
        if post.author_id != OWNER_ID:
            return {}
        age = at - post.created_at
        if age < timedelta(hours=1) and not likes:
            return {"impressions": IMPRESSIONS // 10, "likes": 0}
        hour = post.created_at.astimezone(h.zone).hour
        noise = 0.8 + (zlib.crc32(post.id.encode()) % 41) / 100
        rate = 0.04 * quality(post.text) * hour_factor(hour) * noise
        engaged = round(IMPRESSIONS * rate)
        pinned = next((n for text, n in (likes or {}).items() if post.text.startswith(text)), None)
        clicks = engaged // 2 if "https://" in post.text else 0
        return {"impressions": IMPRESSIONS, "likes": pinned if pinned is not None else engaged,
                "url_link_clicks": clicks, "user_profile_clicks": 1}

    h.world.metrics_model = model


def run_slots(h: Harness, **event: object) -> list[PostSummary]:
    """A day as the schedule runs it, at the minutes that matter: 07:00 (the plan is made),
    then each planned slot's time."""
    h.at_local(7)
    runs = [h.post(trigger="schedule", **event)]
    plan, _ = h.store.plan_and_slots(runs[0].day)
    assert plan is not None
    for slot in sorted(plan.slots, key=lambda s: s.at):
        if slot.at > h.clock.now():
            h.clock.current = slot.at + timedelta(minutes=1)
        runs.append(h.post(trigger="schedule", **event))
    return runs


def results_reads(h: Harness) -> int:
    return sum(1 for method, path, _ in h.world.requests_log if method == "GET" and path == f"/2/users/{OWNER_ID}/tweets")


# --- results ------------------------------------------------------------------------------

def test_results_are_read_once_a_day_at_their_price_and_kept_with_the_item(h: Harness) -> None:
    audience(h, quality=lambda text: 1.0)
    h.stock(pitch=False)
    day1 = run_slots(h)[0].day
    posts = h.store.posts(day1, day1)
    assert len(posts) == 10 and all(p.metrics is None for p in posts)
    reads_before = results_reads(h)
    usd_before = h.world.bill()["by_operation"].get("getUsersPosts", {}).get("usd", 0.0)

    h.clock.advance(days=1)
    runs = run_slots(h)
    assert results_reads(h) - reads_before == 1  # one read of the week's posts, on the first run of the day
    bill = h.world.bill()["by_operation"]["getUsersPosts"]
    assert bill["usd"] - usd_before == pytest.approx(price("owned_read") * 10)  # 10 posts returned, owned reads
    assert runs[0].cost["usd"] >= price("owned_read") * 10  # the run knows what it paid
    measured = {p.post_id: p for p in h.store.posts(day1, day1)}
    assert all(p.metrics is not None and p.metrics.impressions == IMPRESSIONS for p in measured.values())
    items = {i.item_id: i for i in h.store.list_content()}
    for post in measured.values():
        learning = items[post.item_id].learning
        assert learning.measured == 1 and learning.impressions == IMPRESSIONS
        assert learning.cost_usd == pytest.approx(post.cost_usd)
    record = h.store.load_day(MetricsDay, runs[0].day)
    assert record is not None and record.done and record.read == 10

    day2 = runs[0].day
    h.clock.advance(days=1)  # day 3: yesterday's posts are measured; the day before's are read again, unchanged
    run_slots(h)
    items = {i.item_id: i for i in h.store.list_content()}
    posted = [p for p in h.store.posts(day1, day2) if p.post_id]
    assert len(posted) > 10 and all(p.metrics is not None for p in posted)
    assert sum(i.learning.measured for i in items.values()) == len(posted)  # each post counted once, never twice
    assert sum(i.learning.impressions for i in items.values()) == len(posted) * IMPRESSIONS


def test_the_days_first_run_reads_the_library_and_the_posts_once(h: Harness, tmp_path: Path) -> None:
    """The results read leaves the library (as its verdicts left it) and the judging window's
    posts in hand; the plan uses them, unless a feed added to the library in between."""
    audience(h, quality=lambda text: 1.0)
    library(h, quips=12)
    run_slots(h)
    h.clock.advance(days=1)
    h.at_local(7)
    lists, posts = h.store.library_reads, h.store.post_reads
    first = h.post()
    assert first.outcome is RunOutcome.OK
    record = h.store.load_day(MetricsDay, first.day)
    assert record is not None and record.read == 10  # yesterday's posts were measured...
    assert (h.store.library_reads - lists, h.store.post_reads - posts) == (1, 1)  # ...from one read of each
    plan, _ = h.store.plan_and_slots(first.day)
    assert plan is not None and len(plan.slots) == 10

    feed = tmp_path / "blog.xml"
    feed.write_text(atom([("Crumb shots", "https://bakery.com/crumb")]))
    h.store.add_feed(Feed(url=str(feed), added_at=h.clock.now()))
    h.clock.advance(days=1)
    h.at_local(7)
    lists = h.store.library_reads
    second = post_with_feeds(h)
    assert second.outcome is RunOutcome.OK
    assert h.store.library_reads - lists == 2  # the feed added an article: the plan reads the library again
    plan, _ = h.store.plan_and_slots(second.day)
    current = {i.item_id for i in h.store.list_content()}
    assert plan is not None and {s.item_id for s in plan.slots} <= current


@pytest.mark.parametrize("zone", ZONES)
def test_a_crash_at_any_write_of_the_days_first_run_counts_every_result_once(zone: str) -> None:
    """Crash before each write of the run that reads the results (they are saved with their
    items' tallies), then run again: each post is counted once in its item's tally."""
    crashed = 0
    for writes in range(0, 40):
        h = make_harness(zone)
        audience(h, quality=lambda text: 1.0)
        library(h, quips=12)
        run_slots(h)
        h.clock.advance(days=1)
        h.at_local(7)
        h.store.crash_after(writes)
        try:
            h.post()
        except BaseException as exc:  # noqa: BLE001 - the injected crash
            assert "crashed" in str(exc)
            crashed += 1
            h.store.crash_after(None)
            h.clock.advance(minutes=10)
            assert h.post().outcome is RunOutcome.OK
            today = h.clock.now().astimezone(h.zone).date()
            measured = [p for p in h.store.posts(today - timedelta(days=2), today) if p.metrics is not None]
            assert len(measured) == 10, writes
            assert sum(i.learning.measured for i in h.store.list_content()) == 10, writes
            continue
        break
    assert crashed >= 2  # the sweep reached the results write and past it


def test_a_failed_results_read_leaves_the_day_partial_and_the_plan_still_made(h: Harness) -> None:
    audience(h, quality=lambda text: 1.0)
    h.stock(pitch=False)
    run_slots(h)
    h.clock.advance(days=1)
    h.at_local(7)
    h.world.inject(Fault("503", "getUsersPosts", times=10))  # past the client's retries
    summary = h.post()
    assert summary.outcome is RunOutcome.PARTIAL and any("results" in r for r in summary.reasons)
    plan, _ = h.store.plan_and_slots(summary.day)
    assert plan is not None and plan.slots  # made from what was learned before


# --- a month of learning --------------------------------------------------------------------

GOOD_HOURS = {10, 11, 12}
COOLDOWN = 3  # days an evergreen item rests after each post; the sandbox refuses repeats that recent


def library(h: Harness, quips: int, articles: int = 12) -> list[ContentItem]:
    """Evergreen quips and articles; X refuses a repeat within COOLDOWN days."""
    h.world.duplicate_window = timedelta(days=COOLDOWN)
    items = [new_item(kind="quip", text=f"Quip {n}: on sourdough", now=h.clock.now(), evergreen=True, cooldown_days=COOLDOWN)
             for n in range(quips)]
    items += [new_item(kind="article", text=f"Article {n}", url=f"https://example.com/a/{n}", now=h.clock.now(),
                       evergreen=True, cooldown_days=COOLDOWN) for n in range(articles)]
    for item in items:
        h.store.add_content(item)
    return items


def quality(text: str) -> float:
    return 3.0 if text.startswith("Quip 0:") else 0.15 if text.startswith("Quip 1:") else 1.0


def month(h: Harness, days: int = 30) -> list[list[PostSummary]]:
    out = []
    for _ in range(days):
        out.append(run_slots(h))
        h.clock.advance(days=1)
    return out


def test_with_a_rich_library_the_good_item_is_chosen_far_more_and_the_poor_one_rested(h: Harness) -> None:
    h.env.update(MONTHLY_BUDGET_USD="400", REPOSTS_PER_DAY="0", POSTS_PER_DAY="6")  # 3 quips a day from 30
    audience(h, quality=quality)
    items = library(h, quips=30)
    days = month(h)
    counts = Counter(h.own_posts())
    quips = [counts[i.post_text] for i in items if i.kind is ContentKind.QUIP]
    good, poor, typical = quips[0], quips[1], sorted(quips[2:])[len(quips[2:]) // 2]
    assert good >= 2 * typical and good >= 6, quips  # the best is posted about as often as its cooldown allows
    assert poor <= 2, quips  # new items still get tried; a poor one is dropped after a post or two
    warnings = [w for d in days for r in d for w in r.warnings]
    assert any("rested" in w and "Quip 1:" in w for w in warnings)
    assert not any(("rested" in w or "retired" in w) and "Quip 0:" in w for w in warnings)
    assert not h.world.violations


def test_with_a_tight_library_a_poor_item_is_rested_then_retired_with_the_reason(h: Harness) -> None:
    h.env.update(MONTHLY_BUDGET_USD="400", REPOSTS_PER_DAY="0")  # 5 quips a day from 14: every item is needed
    audience(h, quality=quality)
    items = library(h, quips=14)
    days = month(h)
    poor = h.store.get_content(items[1].item_id)
    assert poor is not None and poor.status is ItemStatus.RETIRED and poor.learning.rests == 1
    measured = poor.learning.measured
    assert measured in (2, 3)  # one post is enough only when its figures leave no doubt
    assert poor.learning.retired_reason and f"engagement per impression over {measured} posts" in poor.learning.retired_reason
    verdicts = [w for d in days for r in d for w in r.warnings if "Quip 1:" in w]
    assert [v.split("): ")[1].split(" ")[0] for v in verdicts] == ["rested", "retired:"], verdicts
    assert "rested 6 days" in verdicts[0]  # twice its 3-day cooldown
    retired_on = poor.learning.retired_on
    assert retired_on is not None
    after = [t for t in h.own_posts() if t.startswith("Quip 1:")]
    assert len(after) == measured  # never posted again once retired
    typical = [h.store.get_content(i.item_id) for i in items[2:] if i.kind is ContentKind.QUIP]
    assert all(i is not None and i.status is ItemStatus.QUEUED and i.learning.rests == 0 for i in typical)
    assert not h.world.violations


def good_hour_shares(zone: str, learn: bool, days: int = 28) -> list[float]:
    """Each day's share of posts in GOOD_HOURS (which earn four times the others)."""
    h = make_harness(zone, MONTHLY_BUDGET_USD="400", REPOSTS_PER_DAY="0", LEARN_FROM_RESULTS=str(learn).lower())
    audience(h, quality=lambda text: 1.0, hour_factor=lambda hour: 4.0 if hour in GOOD_HOURS else 1.0)
    library(h, quips=20)
    month(h, days=days)
    start = h.clock.now().astimezone(h.zone).date() - timedelta(days=days)
    shares = []
    for n in range(days):
        posts = h.store.posts(start + timedelta(days=n), start + timedelta(days=n))
        times = sorted(p.published_at for p in posts)
        assert all(b - a >= timedelta(minutes=30) for a, b in zip(times, times[1:], strict=False))  # spacing kept
        assert all(8 <= t.astimezone(h.zone).hour < 22 for t in times)  # inside active hours
        shares.append(sum(t.astimezone(h.zone).hour in GOOD_HOURS for t in times) / len(times))
    assert not h.world.violations
    return shares


def test_hours_shift_toward_the_ones_that_earn(zone: str) -> None:
    learned, plain = good_hour_shares(zone, learn=True), good_hour_shares(zone, learn=False)
    assert learned[0] == plain[0]  # day one knows nothing: the same plan
    late, baseline = sum(learned[7:]) / 21, sum(plain[7:]) / 21
    assert late >= 0.45 and late >= 2 * baseline, (late, baseline)  # 3 of 14 active hours: ~21% by chance
    assert min(learned[7:]) > 0 and max(learned[7:]) < 1  # other hours are still explored


def test_learning_off_keeps_the_plain_rotation() -> None:
    h = make_harness("UTC", MONTHLY_BUDGET_USD="400", REPOSTS_PER_DAY="0", LEARN_FROM_RESULTS="false")
    audience(h, quality=quality)
    items = library(h, quips=30)
    days = month(h, days=20)
    assert not [w for d in days for r in d for w in r.warnings if "rested" in w or "retired" in w]
    counts = Counter(h.own_posts())
    quips = [counts[i.post_text] for i in items if i.kind is ContentKind.QUIP]
    assert max(quips) - min(quips) <= 1, quips  # least recently used first: every quip takes its turn


# --- feeds ----------------------------------------------------------------------------------

def atom(entries: list[tuple[str, str]]) -> str:
    body = "".join(f"<entry><id>urn:e:{n}</id><title>{title}</title><link href=\"{link}\"/>"
                   f"<updated>2026-11-0{1 + n % 9}T10:00:00Z</updated></entry>" for n, (title, link) in enumerate(entries))
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>{body}</feed>'


def post_with_feeds(h: Harness) -> PostSummary:
    return run_post(PostDeps(h.account(), h.store, h.store, read_feed=fetch_feed), PostEvent(trigger="schedule"))


def test_feed_articles_are_added_once_and_a_removed_one_never_comes_back(h: Harness, tmp_path: Path) -> None:
    feed = tmp_path / "blog.xml"
    entries = [("Proofing in winter", "https://bakery.com/proofing"), ("Rye, explained", "https://bakery.com/rye"),
               ("Rye, explained (again)", "https://bakery.com/rye?utm_source=x")]
    feed.write_text(atom(entries))
    h.store.add_feed(Feed(url=str(feed), added_at=h.clock.now()))
    h.at_local(7)
    first = post_with_feeds(h)
    articles = [i for i in h.store.list_content() if i.kind is ContentKind.ARTICLE]
    assert sorted(i.url for i in articles) == ["https://bakery.com/proofing", "https://bakery.com/rye"]
    record = h.store.load_day(MetricsDay, first.day)
    assert record is not None and record.articles_added == 2 and record.feeds_checked
    h.clock.advance(minutes=10)
    post_with_feeds(h)  # later ticks of the day do not read the feed again
    assert len([i for i in h.store.list_content() if i.kind is ContentKind.ARTICLE]) == 2

    h.store.remove_content(next(i.item_id for i in articles if "proofing" in (i.url or "")), h.clock.now())
    feed.write_text(atom([*entries, ("Crumb shots", "https://bakery.com/crumb")]))
    h.clock.advance(days=1)
    h.at_local(7)
    post_with_feeds(h)
    urls = sorted(i.url or "" for i in h.store.list_content() if i.kind is ContentKind.ARTICLE)
    assert urls == ["https://bakery.com/crumb", "https://bakery.com/rye"]  # the removed one stays removed
    (saved,) = h.store.feeds()
    assert saved.added_total == 3 and saved.last_error is None


@pytest.mark.parametrize("body", ["<rss><channel><item><title>x</title>", "<!DOCTYPE x [<!ENTITY a 'b'>]><rss/>",
                                  "\x00\x01 binary"])
def test_a_broken_feed_is_reported_and_changes_nothing(h_utc: Harness, tmp_path: Path, body: str) -> None:
    h = h_utc
    feed = tmp_path / "bad.xml"
    feed.write_text(body)
    h.store.add_feed(Feed(url=str(feed), added_at=h.clock.now()))
    before = h.store.list_content()
    h.at_local(7)
    summary = post_with_feeds(h)
    assert summary.outcome is RunOutcome.PARTIAL and any(str(feed) in r for r in summary.reasons)
    assert h.store.list_content() == before
    (saved,) = h.store.feeds()
    assert saved.last_error and saved.added_total == 0


# --- the plug -------------------------------------------------------------------------------

def plug_world(h: Harness, winner: str = "Quip 2") -> ContentItem:
    h.env.update(PLUG_MIN_LIKES="100", MONTHLY_BUDGET_USD="400", REPOSTS_PER_DAY="0")
    audience(h, quality=lambda text: 1.0, likes={winner: 150, "Buy the kit": 500})  # the others: ~40 likes
    h.stock()
    plug_item = new_item(kind="plug", text="My sourdough course opens Monday", url="https://example.com/course",
                         now=h.clock.now())
    h.store.add_content(plug_item)
    return plug_item


def replies_by_owner(h: Harness) -> list[Post]:
    return [p for p in h.world.posts.values() if p.author_id == OWNER_ID and p.in_reply_to_id]


def run_hourly(h: Harness, hours: int = 17) -> list[PostSummary]:
    """Every 10 minutes from 07:00 for `hours` hours."""
    h.at_local(7)
    runs = []
    for _ in range(hours * 6):
        runs.append(h.post(trigger="schedule"))
        h.clock.advance(minutes=10)
    return runs


def pitches_per_day(h: Harness, days: list[date]) -> dict[date, int]:
    """Pitches and plugs that went out on each account day (the plug counts as the day's pitch)."""
    out = {}
    for day in days:
        _, slots = h.store.plan_and_slots(day)
        plan, _ = h.store.plan_and_slots(day)
        kinds = {s.index: s.kind for s in plan.slots} if plan else {}
        out[day] = sum(1 for i, s in slots.items() if s.status is SlotStatus.PUBLISHED
                       and (i == PLUG_SLOT or kinds.get(i) is ContentKind.PITCH))
    return out


def test_the_plug_goes_once_under_the_post_that_took_off(h: Harness) -> None:
    plug_item = plug_world(h)
    first = run_hourly(h)
    h.clock.advance(days=1)
    second = run_hourly(h)
    (reply,) = replies_by_owner(h)
    target = h.world.posts[reply.in_reply_to_id or ""]
    assert target.text.startswith("Quip 2") and reply.text.startswith("My sourdough course")
    days = [first[0].day, second[0].day]
    plugged = [p for p in h.store.posts(days[0], days[1]) if p.plugged]
    assert [p.post_id for p in plugged] == [target.id]  # recorded: never plugged again
    item = h.store.get_content(plug_item.item_id)
    assert item is not None and item.times_posted == 1
    assert all(n <= 1 for n in pitches_per_day(h, days).values())  # the plug is the day's pitch
    skipped = [s for r in first + second for s in r.skipped if "was today's pitch" in s.reason]
    plug_day = next(d for d in days if h.store.plan_and_slots(d)[1].get(PLUG_SLOT))
    plan, slots = h.store.plan_and_slots(plug_day)
    assert plan is not None
    late_pitches = [s for s in plan.slots if s.kind is ContentKind.PITCH and s.at > slots[PLUG_SLOT].published_at]  # type: ignore[operator]
    assert len(skipped) == len(late_pitches)  # a pitch planned after the plug is skipped, with the reason
    assert not h.world.violations


def test_the_plug_is_never_under_a_pitch_and_off_by_default(zone: str) -> None:
    h = make_harness(zone, MONTHLY_BUDGET_USD="400", REPOSTS_PER_DAY="0")
    audience(h, quality=lambda text: 1.0, likes={"Buy the kit": 500})
    h.stock()
    h.store.add_content(new_item(kind="plug", text="My course", url="https://example.com/course", now=h.clock.now()))
    run_hourly(h)
    assert replies_by_owner(h) == []  # plug_min_likes is 0: off
    h.env["PLUG_MIN_LIKES"] = "100"  # the others earn ~40 likes
    h.clock.advance(hours=1)
    run_hourly(h, hours=3)
    assert replies_by_owner(h) == []  # only the pitch passed the threshold


def test_a_plug_whose_outcome_was_lost_is_found_not_posted_again(h: Harness) -> None:
    plug_world(h)
    h.x_timeout = 0.01
    h.world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=0.05, body_contains="sourdough course"))
    runs = run_hourly(h)
    assert len(replies_by_owner(h)) == 1
    assert sum(1 for r in runs for p in r.posted if p.slot == PLUG_SLOT) == 1


def test_concurrent_runs_plug_once(h: Harness) -> None:
    plug_world(h)
    h.at_local(7)
    h.post()
    errors: list[BaseException] = []

    def go(barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
            h.post(trigger="schedule")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # hour after hour, two runs at once: the winner becomes old enough and liked along the way
    for _ in range(16):
        h.clock.advance(hours=1)
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=go, args=(barrier,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    assert len(replies_by_owner(h)) == 1
