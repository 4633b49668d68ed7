"""Learning from results: which item, which hour, which post earned a plug, and the week's
figures. Pure rules over post records and item tallies; the jobs feed them what X said.

A post's score is engagements (likes, reposts, replies, quotes, bookmarks, profile clicks)
per impression, a link click counting three engagements for posts that carry a link (clicks are what an article is for). Items and hours are chosen by
Thompson sampling on Beta posteriors around the account's own rate: what works is chosen
more, what is new or unlucky still gets tried, and nothing freezes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flockpilot.domain.content import LINK_KINDS, ContentItem, ContentKind, ItemStatus, Learning
from flockpilot.domain.records import PostRecord
from flockpilot.domain.x import PostMetrics

LINK_CLICK_WEIGHT = 3  # a click on an article's link counts as three engagements
PRIOR_IMPRESSIONS = 200.0  # how much the account's own rate weighs on a new item's guess
DEFAULT_RATE = 0.02  # the account's rate before any result is in
POOR_SHARE = 0.5  # below half the account's median item rate is underperforming
MAX_RESTS = 1  # rested once (a cooldown twice as long), still poor when back: retired
HOUR_FLOOR = 0.15  # every active hour keeps at least this share of the best hour's weight
RESULTS_DAYS = 7  # posts whose results are read each day
HOURS_DAYS = 28  # posts whose results shape the hours
JUDGE_DAYS = 56  # posts whose results judge and rank the items
PLUG_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Score:
    """A post's weighted engagements over its impressions."""

    successes: float  # weighted engagements
    trials: float  # impressions

    @property
    def rate(self) -> float | None:
        return self.successes / self.trials if self.trials else None


def post_score(metrics: PostMetrics, *, has_link: bool) -> Score | None:
    """Weighted engagements over impressions; None when X gave no impressions."""
    if not metrics.impressions:
        return None
    clicks = (metrics.link_clicks or 0) if has_link else 0
    successes = metrics.engagements + (metrics.profile_clicks or 0) + LINK_CLICK_WEIGHT * clicks
    return Score(float(min(successes, metrics.impressions)), float(metrics.impressions))


def add_result(learning: Learning, before: PostMetrics | None, after: PostMetrics, *, has_link: bool, cost_usd: float) -> Learning:
    """The item's tally with one post's newest figures in place of its previous ones."""
    new, old = post_score(after, has_link=has_link), post_score(before, has_link=has_link) if before else None
    if new is None:
        return learning
    first = old is None
    return replace(
        learning,
        measured=learning.measured + (1 if first else 0),
        impressions=learning.impressions + (after.impressions or 0) - ((before.impressions or 0) if before and old else 0),
        engagements=learning.engagements + int(new.successes) - (int(old.successes) if old else 0),
        link_clicks=learning.link_clicks + (after.link_clicks or 0) - ((before.link_clicks or 0) if before and old else 0),
        cost_usd=round(learning.cost_usd + (cost_usd if first else 0.0), 6),
    )


MAX_WRITES = 100  # DynamoDB's limit of writes in one transaction


def result_batches(results: Sequence[tuple[PostRecord, ContentItem | None]], limit: int = MAX_WRITES
                   ) -> list[tuple[list[PostRecord], list[ContentItem]]]:
    """The day's measured posts, in order, as few writes of at most `limit` as they fit in:
    each batch holds its posts and, once each, their items as of the batch's last post, so
    every write keeps each post's figures with its item's tally (an item's state in a batch
    includes every earlier post's result, so a crash between batches loses nothing)."""
    batches: list[tuple[list[PostRecord], list[ContentItem]]] = []
    posts: list[PostRecord] = []
    items: dict[str, ContentItem] = {}
    for post, item in results:
        needed = 1 + (item is not None and item.item_id not in items)
        if posts and len(posts) + len(items) + needed > limit:
            batches.append((posts, list(items.values())))
            posts, items = [], {}
        posts.append(post)
        if item is not None:
            items[item.item_id] = item
    if posts:
        batches.append((posts, list(items.values())))
    return batches


def item_rate(learning: Learning) -> float | None:
    return learning.engagements / learning.impressions if learning.impressions else None


@dataclass(frozen=True)
class Tally:
    """An item's recent results with each post's hour taken out: `successes` are what its
    posts would have earned at a typical hour (so an item is not blamed for a bad hour)."""

    measured: int = 0
    impressions: float = 0.0
    successes: float = 0.0

    @property
    def rate(self) -> float | None:
        return self.successes / self.impressions if self.impressions else None


HOUR_PSEUDO_POSTS = 3.0  # an hour's factor starts at 1 and needs a few posts to move


def hour_factors(posts: Iterable[PostRecord], zone: ZoneInfo) -> dict[int, float]:
    """How much better or worse each local hour does than the account's typical post, as a
    factor (1.0: typical), each post compared with posts of its own class (with or without
    a link); smoothed towards 1 until an hour has a few posts."""
    scored = [(p, sc) for p in posts if p.metrics and (sc := post_score(p.metrics, has_link=p.has_url)) and sc.rate is not None]
    class_rate: dict[bool, float] = {}
    for flag in (False, True):
        mine = [sc for p, sc in scored if p.has_url == flag]
        trials = sum(sc.trials for sc in mine)
        class_rate[flag] = sum(sc.successes for sc in mine) / trials if trials else 0.0
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for post, sc in scored:
        if not class_rate[post.has_url] or sc.rate is None:
            continue
        hour = post.published_at.astimezone(zone).hour
        sums[hour] = sums.get(hour, 0.0) + sc.rate / class_rate[post.has_url]
        counts[hour] = counts.get(hour, 0) + 1
    return {h: (sums[h] + HOUR_PSEUDO_POSTS) / (counts[h] + HOUR_PSEUDO_POSTS) for h in sums}


def tallies(posts: Iterable[PostRecord], zone: ZoneInfo, factors: dict[int, float]) -> dict[str, Tally]:
    """Each item's hour-adjusted results over `posts` (those with figures)."""
    out: dict[str, Tally] = {}
    for post in posts:
        sc = post_score(post.metrics, has_link=post.has_url) if post.metrics else None
        if sc is None:
            continue
        factor = max(factors.get(post.published_at.astimezone(zone).hour, 1.0), 0.05)
        t = out.get(post.item_id, Tally())
        out[post.item_id] = Tally(t.measured + 1, t.impressions + sc.trials, t.successes + min(sc.successes / factor, sc.trials))
    return out


def class_rates(found: dict[str, Tally], items: Iterable[ContentItem]) -> dict[bool, float]:
    """The account's own rate for posts without and with a link (the default before any result)."""
    successes = {False: 0.0, True: 0.0}
    trials = {False: 0.0, True: 0.0}
    for item in items:
        t = found.get(item.item_id)
        if t is not None:
            successes[item.has_url] += t.successes
            trials[item.has_url] += t.impressions
    return {flag: successes[flag] / trials[flag] if trials[flag] else DEFAULT_RATE for flag in (False, True)}


def account_rate(items: Iterable[ContentItem]) -> float:
    """The account's own rate: all measured engagements over all measured impressions."""
    engagements = impressions = 0
    for item in items:
        engagements += item.learning.engagements
        impressions += item.learning.impressions
    return engagements / impressions if impressions else DEFAULT_RATE


def _beta(tally: Tally, prior_rate: float) -> tuple[float, float]:
    prior_rate = min(max(prior_rate, 1e-4), 0.5)
    return (PRIOR_IMPRESSIONS * prior_rate + tally.successes,
            PRIOR_IMPRESSIONS * (1 - prior_rate) + max(0.0, tally.impressions - tally.successes))


def draw(tally: Tally, prior_rate: float, rng: random.Random) -> float:
    """One Thompson draw of an item's rate: Beta around the account's rate, sharpened by the
    item's own results (an item with none is drawn from the prior: it still gets tried)."""
    return rng.betavariate(*_beta(tally, prior_rate))


def rank_items(items: Sequence[ContentItem], found: dict[str, Tally], priors: dict[bool, float],
               rng: random.Random) -> list[ContentItem]:
    """Evergreen items by a Thompson draw of their hour-adjusted rate, best first; one-offs
    (posted once) keep their turn, oldest first, ahead of evergreen repeats."""
    one_offs = sorted((i for i in items if not i.evergreen), key=lambda i: (i.added_at, i.item_id))
    evergreen = sorted((i for i in items if i.evergreen),
                       key=lambda i: (-draw(found.get(i.item_id, Tally()), priors[i.has_url], rng), i.item_id))
    return one_offs + evergreen


@dataclass(frozen=True)
class Verdict:
    """What judging an item's results decided: keep, rest or retire, and why."""

    item: ContentItem
    action: str  # keep | rest | retire
    reason: str


def upper_rate(tally: Tally, prior_rate: float) -> float | None:
    """An optimistic bound on an item's rate (the Beta posterior's mean plus two standard
    deviations): when even this is poor, the item is poor, not unlucky."""
    if not tally.impressions:
        return None
    alpha, beta = _beta(tally, prior_rate)
    mean = alpha / (alpha + beta)
    return mean + 2 * math.sqrt(mean * (1 - mean) / (alpha + beta + 1))


def judge(item: ContentItem, tally: Tally | None, benchmark: float, now: datetime, day: date) -> Verdict:
    """An evergreen item whose optimistic hour-adjusted rate is under half the benchmark is
    rested (twice its cooldown); back from the rest, a still-poor result retires it, with
    the reason. One unlucky post with few impressions is not enough: the bound stays near
    the account's rate; a post at a bad hour is not held against the item."""
    rate = tally.rate if tally is not None else None
    upper = upper_rate(tally, benchmark) if tally is not None else None
    if (not item.evergreen or item.status is not ItemStatus.QUEUED or rate is None or upper is None
            or item.learning.measured <= item.learning.judged_measured):
        return Verdict(item, "keep", "")  # no results, or none new since its last rest
    if upper >= POOR_SHARE * benchmark:
        return Verdict(item, "keep", "")
    assert tally is not None
    posts = "1 post" if tally.measured == 1 else f"{tally.measured} posts"
    figures = f"{rate:.2%} engagement per impression over {posts} (hour-adjusted), against {benchmark:.2%} for your typical item"
    if item.learning.rests >= MAX_RESTS:
        reason = f"retired: {figures}"
        learning = replace(item.learning, retired_reason=reason, retired_on=day.isoformat())
        return Verdict(replace(item, status=ItemStatus.RETIRED, learning=learning, last_error=None), "retire", reason)
    rests = item.learning.rests + 1
    days = item.cooldown_days * 2 ** rests
    reason = f"rested {days} days: {figures}"
    until = max(now, item.cooldown_until or now) + timedelta(days=days)
    learning = replace(item.learning, rests=rests, judged_measured=item.learning.measured)
    return Verdict(replace(item, cooldown_until=until, learning=learning), "rest", reason)


def median(values: Sequence[float]) -> float:
    """statistics.median, without importing statistics (and fractions) in a cold start."""
    data = sorted(values)
    n = len(data)
    return data[n // 2] if n % 2 else (data[n // 2 - 1] + data[n // 2]) / 2


def benchmark_rate(found: dict[str, Tally], items: Iterable[ContentItem], *, has_url: bool) -> float:
    """The typical item's hour-adjusted rate: the median over measured items with a link or
    without one (a link's clicks weigh on its score, so posts with links are only compared
    with each other); the account's default before any result."""
    rates = [r for i in items if i.has_url == has_url and (t := found.get(i.item_id)) and (r := t.rate) is not None]
    return median(rates) if rates else DEFAULT_RATE


def hour_weights(posts: Iterable[PostRecord], zone: ZoneInfo, hours: Sequence[int], prior_rate: float,
                 rng: random.Random) -> dict[int, float]:
    """A Thompson draw of each local hour's rate from the posts published in it; an hour
    with no posts is drawn from the account's rate (it gets explored), and no hour falls
    below HOUR_FLOOR of the best, so the plan keeps trying the whole window."""
    successes: dict[int, float] = dict.fromkeys(hours, 0.0)
    trials: dict[int, float] = dict.fromkeys(hours, 0.0)
    for post in posts:
        score = post_score(post.metrics, has_link=post.has_url) if post.metrics else None
        hour = post.published_at.astimezone(zone).hour
        if score is not None and hour in trials:
            successes[hour] += score.successes
            trials[hour] += score.trials
    prior_rate = min(max(prior_rate, 1e-4), 0.5)
    weights = {h: rng.betavariate(PRIOR_IMPRESSIONS * prior_rate + successes[h],
                                  PRIOR_IMPRESSIONS * (1 - prior_rate) + max(0.0, trials[h] - successes[h])) for h in hours}
    best = max(weights.values(), default=1.0) or 1.0
    return {h: max(w, HOUR_FLOOR * best) for h, w in weights.items()}


def plug_target(posts: Sequence[PostRecord], *, min_likes: int, now: datetime, pitch_kinds: frozenset[str]) -> PostRecord | None:
    """The post that earned the plug: published within 24 hours, past `min_likes`, not a
    pitch itself, not plugged yet; the most liked first."""
    eligible = [p for p in posts if not p.plugged and p.kind not in pitch_kinds and p.metrics is not None
                and p.metrics.likes >= min_likes and now - p.published_at <= PLUG_WINDOW]
    return max(eligible, key=lambda p: (p.metrics.likes if p.metrics else 0, p.post_id), default=None)


PITCH_KINDS = frozenset({ContentKind.PITCH.value, ContentKind.PLUG.value})
LINK_KIND_NAMES = frozenset(k.value for k in LINK_KINDS)
