"""The learning loop inside the post job: read the week's results once a day (before the day
is planned), judge items, rank items and hours for the plan, bring in new feed articles,
and post the plug under a post that took off.

Every X read here is an owned read of your own posts, metered like any other; every write
to the store keeps a post's figures and its item's tally together.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flockpilot.domain.content import ContentItem, ContentKind, ItemStatus
from flockpilot.domain.errors import CredentialsRevoked, NotPermitted, NotSent, XError
from flockpilot.domain.learning import (
    HOURS_DAYS,
    JUDGE_DAYS,
    RESULTS_DAYS,
    account_rate,
    add_result,
    benchmark_rate,
    class_rates,
    hour_factors,
    hour_weights,
    judge,
    rank_items,
    tallies,
)
from flockpilot.domain.plan import Ranker
from flockpilot.domain.records import MetricsDay, PostRecord
from flockpilot.domain.x import PostRef
from flockpilot.jobs.skeleton import JobRun

if TYPE_CHECKING:
    from flockpilot.domain.feed import Feed, FeedEntry
    from flockpilot.ports import ContentStore, PlanStore

FeedReader = Callable[[str], "list[FeedEntry]"]
MAX_RESULT_PAGES = 10
RESULT_PAGE_MARGIN = 10  # posts you made by hand in the window, beyond those Flockpilot recorded
PLUG_CHECK_HOURS = 2  # how often the plug looks for a post that took off (about $0.01 a look at 10 posts a day)


@dataclass(frozen=True)
class PlanInputs:
    rank: Ranker | None
    hour_weights: Mapping[int, float] | None


def read_posts(run: JobRun[Any], posts: Sequence[PostRecord], *, metrics: bool) -> dict[str, PostRef]:
    """Your own posts (owned reads) since the first of `posts`, a page sized to them. X bills
    the posts returned; the budget is checked against the page asked for, so a page sized to
    the posts expected fits a small day's money where a page of 100 would not."""
    since = min(p.published_at for p in posts) - timedelta(minutes=1)
    page_size = min(100, len(posts) + RESULT_PAGE_MARGIN)
    found: dict[str, PostRef] = {}
    token: str | None = None
    for _ in range(MAX_RESULT_PAGES):
        page = run.x.own_posts(since=since, max_results=page_size, token=token, metrics=metrics)
        found.update({p.id: p for p in page.items})
        token = page.next_token
        if not token:
            break
    return found


@dataclass
class Learned:
    """What the day's results read leaves in hand, so planning the day does not read it again:
    the library as the verdicts left it (None: not read) and the judging window's posts with
    today's figures."""

    items: dict[str, ContentItem] | None
    window: list[PostRecord]


def daily_results(run: JobRun[Any], content: ContentStore, plans: PlanStore, record: MetricsDay) -> Learned | None:
    """Once a day: the figures of the week's posts, each item's tally, and the verdict on
    items that keep underperforming (rested longer, then retired, with the reason). None
    when the day's results were already read (by an earlier run)."""
    if record.done:
        return None
    learn = run.settings.learn_from_results
    window = plans.posts(run.day - timedelta(days=JUDGE_DAYS if learn else RESULTS_DAYS), run.day)
    since = run.day - timedelta(days=RESULTS_DAYS)
    posts = [p for p in window if p.day >= since]
    items: dict[str, ContentItem] | None = None
    if posts:
        refs = read_posts(run, posts, metrics=True)
        items = {i.item_id: i for i in content.list_content()}
        at = {p.post_id: n for n, p in enumerate(window)}
        results: list[tuple[PostRecord, ContentItem | None]] = []
        for post in posts:
            ref = refs.get(post.post_id)
            if ref is None or ref.metrics is None or ref.metrics == post.metrics:
                continue
            item = items.get(post.item_id)
            if item is not None:
                item = replace(item, learning=add_result(item.learning, post.metrics, ref.metrics, has_link=post.has_url,
                                                         cost_usd=post.cost_usd))
                items[item.item_id] = item
            updated = replace(post, metrics=ref.metrics, metrics_at=run.now)
            results.append((updated, item))
            window[at[post.post_id]] = updated
        plans.save_results(results)  # the day's figures in as few writes as fit (one for 10 posts a day)
        record.read += len(results)
        if learn:
            found = tallies(window, run.settings.zone, hour_factors(window, run.settings.zone))
            benchmarks = {flag: benchmark_rate(found, items.values(), has_url=flag) for flag in (False, True)}
            for item in list(items.values()):
                verdict = judge(item, found.get(item.item_id), benchmarks[item.has_url], run.now, run.day)
                if verdict.action != "keep":
                    content.save_content(verdict.item)
                    items[item.item_id] = verdict.item
                    record.verdicts.append(f"{item.kind.value} {item.item_id} ({item.post_text[:40]}): {verdict.reason}")
    record.done = True
    return Learned(items, window)


def plan_inputs(run: JobRun[Any], items: Sequence[ContentItem], plans: PlanStore,
                window: Sequence[PostRecord] | None = None) -> PlanInputs:
    """What the day's plan learns from: items ranked by a draw of their hour-adjusted
    results, hours weighted by what the last four weeks earned in each. `window`: the
    judging window's posts if this run already read them (else they are read here)."""
    if not run.settings.learn_from_results:
        return PlanInputs(None, None)
    rng = random.Random(f"{run.account.account_id}:{run.day.isoformat()}:learn")
    zone, window_hours = run.settings.zone, run.settings.window
    yesterday = run.day - timedelta(days=1)
    posts = ([p for p in window if p.day <= yesterday] if window is not None
             else plans.posts(run.day - timedelta(days=JUDGE_DAYS), yesterday))
    found = tallies(posts, zone, hour_factors(posts, zone))
    priors = class_rates(found, items)
    hours = list(range(window_hours.start.hour, window_hours.end.hour + (1 if window_hours.end.minute else 0)))
    recent = [p for p in posts if p.day >= run.day - timedelta(days=HOURS_DAYS)]
    weights = hour_weights(recent, zone, hours, account_rate(items), rng) if recent else None
    return PlanInputs(lambda pool: rank_items(pool, found, priors, rng), weights)


def check_feeds(run: JobRun[Any], content: ContentStore, read_feed: FeedReader | None, record: MetricsDay) -> None:
    """Once a day: new entries of the registered feeds become article items (nothing twice,
    never an item the person removed). A broken feed is reported and changes nothing; an
    entry that cannot become a post is named in the run's warnings."""
    if record.feeds_checked or read_feed is None:
        return
    for feed in content.feeds():
        if feed.checked_on == run.day.isoformat():
            continue
        added, error, rejected = import_entries(content, feed.url, read_feed, run.now)
        if error:
            run.summary.mark_partial(f"feed {feed.url}: {error}")
        run.summary.warnings += [f"feed {feed.url}: {why}" for why in rejected]
        content.save_feed(replace(feed, checked_on=run.day.isoformat(), added_total=feed.added_total + added,
                                  last_error=error))
        record.articles_added += added
    record.feeds_checked = True


def import_entries(content: ContentStore, source: str, read_feed: FeedReader, now: datetime
                   ) -> tuple[int, str | None, list[str]]:
    """Read one feed and add its new articles: (added, the error that stopped it, why each
    rejected entry was)."""
    from flockpilot.domain.errors import FlockpilotError

    try:
        entries = read_feed(source)
    except FlockpilotError as exc:
        return 0, str(exc), []
    result, rejected = import_feed_entries(content, entries, now)
    return result["added"], None, rejected


def import_feed_entries(content: ContentStore, entries: Sequence[FeedEntry], now: datetime) -> tuple[dict[str, int], list[str]]:
    """Articles from entries, deduplicated against every key ever recorded: ({added, skipped,
    rejected}, why each rejected entry was). Keys are remembered only once their item is stored."""
    from flockpilot.domain.feed import articles_from, entry_key, normalize_link

    keys = {k for e in entries for k in (entry_key(e), normalize_link(e.link) if e.link else None) if k}
    seen = content.seen_feed_keys(keys)
    draft = articles_from(entries, known_entry_ids=seen, known_links=seen, removed_item_ids=(), now=now)
    removed = content.removed([a.item.item_id for a in draft.added])
    result = articles_from(entries, known_entry_ids=seen, known_links=seen, removed_item_ids=removed, now=now)
    added = 0
    for article in result.added:
        if content.add_content(article.item):
            added += 1
        content.remember_feed_keys([article.entry_key, article.link_key], now)
    counts = result.counts()
    counts["skipped"] += counts["added"] - added
    counts["added"] = added
    return counts, [f"entry {r.entry.title or r.entry.link or r.entry.entry_id!r} not added: {r.detail}" for r in result.rejected]


def register_feed(content: ContentStore, url: str, read_feed: FeedReader, now: datetime) -> tuple[Feed, int]:
    """Check the feed can be read (a broken or hostile feed is refused, nothing written),
    then register it; returns the feed and how many entries it holds now."""
    from flockpilot.domain.feed import Feed

    entries = read_feed(url)
    feed = Feed(url=url, added_at=now)
    content.add_feed(feed)
    return feed, len(entries)


def plug(run: JobRun[Any], content: ContentStore, plans: PlanStore, record: MetricsDay,
         publish_plug: Callable[[ContentItem, PostRecord], None]) -> None:
    """Every PLUG_CHECK_HOURS while the plug is on and today's pitch is not out: your posts of
    the last 24 hours and their likes (owned reads); the first past the threshold, not a
    pitch, gets your plug as a reply, once."""
    from flockpilot.domain.learning import PITCH_KINDS, PLUG_WINDOW, plug_target

    settings = run.settings
    hour = run.now.astimezone(settings.zone).hour
    if settings.plug_min_likes <= 0 or (record.plug_checked_hour >= 0 and 0 <= hour - record.plug_checked_hour < PLUG_CHECK_HOURS):
        return  # each look is a paid read of the day's posts: one every PLUG_CHECK_HOURS
    plug_items = [i for i in content.list_content() if i.kind is ContentKind.PLUG and i.status is ItemStatus.QUEUED]
    if not plug_items:
        return
    recent = [p for p in plans.posts(run.day - timedelta(days=1), run.day) if run.now - p.published_at <= PLUG_WINDOW]
    if not recent or all(p.plugged for p in recent):
        record.plug_checked_hour = hour
        return
    try:
        refs = read_posts(run, recent, metrics=True)
    except (CredentialsRevoked, NotPermitted, NotSent):
        raise
    except XError as exc:
        run.summary.mark_partial(f"could not read today's results for the plug: {exc}")
        return
    record.plug_checked_hour = hour
    fresh = [replace(p, metrics=refs[p.post_id].metrics) if p.post_id in refs and refs[p.post_id].metrics else p for p in recent]
    target = plug_target(fresh, min_likes=settings.plug_min_likes, now=run.now, pitch_kinds=PITCH_KINDS)
    if target is not None:
        item = sorted(plug_items, key=lambda i: (i.last_posted_at or i.added_at, i.item_id))[0]
        publish_plug(item, target)
