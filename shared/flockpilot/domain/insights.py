"""The week in figures: the posts that earned most, what was retired and why, the hours that
work, link clicks per dollar, followers gained. For the digest and `flockpilot insights`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flockpilot.domain.account import GrowthPoint
from flockpilot.domain.content import ContentItem, ItemStatus
from flockpilot.domain.learning import hour_factors, post_score
from flockpilot.domain.records import PostRecord

WEEK = 7
MIN_HOUR_POSTS = 2  # an hour is named among the best only with at least this many posts in the week


@dataclass(frozen=True)
class TopPost:
    """One of the week's best posts with its figures."""

    post_id: str
    kind: str
    text: str
    published_on: date
    impressions: int
    engagements: int
    link_clicks: int
    rate: float
    cost_usd: float


@dataclass(frozen=True)
class HourFigure:
    """How one local hour's posts did."""

    hour: int  # local hour (the account's time zone)
    posts: int
    factor: float  # how this hour's posts did against your typical post of their kind (1.0: typical)


@dataclass(frozen=True)
class WeekInsights:
    """The week in figures."""

    first_day: date
    last_day: date
    posts_measured: int
    top_posts: tuple[TopPost, ...]
    retired: tuple[tuple[str, str], ...]  # (item text, why)
    best_hours: tuple[HourFigure, ...]
    link_clicks: int
    link_spend_usd: float
    followers_gained: int | None

    @property
    def clicks_per_dollar(self) -> float | None:
        return round(self.link_clicks / self.link_spend_usd, 1) if self.link_spend_usd else None


def week_insights(day: date, posts: Sequence[PostRecord], items: Iterable[ContentItem], growth: Sequence[GrowthPoint],
                  zone: ZoneInfo) -> WeekInsights:
    """The figures of the 7 days up to `day` (the account's days)."""
    first = day - timedelta(days=WEEK - 1)
    library = {i.item_id: i for i in items}
    week = [p for p in posts if first <= p.day <= day]
    scored: list[TopPost] = []
    counts: dict[int, int] = {}
    clicks = 0
    link_spend = 0.0
    for post in week:
        if post.metrics is None:  # not measured yet: neither its clicks nor its cost count
            continue
        if post.has_url:
            clicks += post.metrics.link_clicks or 0
            link_spend += post.cost_usd
        score = post_score(post.metrics, has_link=post.has_url)
        if score is None or score.rate is None:
            continue
        item = library.get(post.item_id)
        scored.append(TopPost(post.post_id, post.kind, item.post_text if item else post.item_id, post.day,
                              post.metrics.impressions or 0, post.metrics.engagements, post.metrics.link_clicks or 0,
                              round(score.rate, 4), post.cost_usd))
        hour = post.published_at.astimezone(zone).hour
        counts[hour] = counts.get(hour, 0) + 1
    top = tuple(sorted(scored, key=lambda t: (-t.rate, -t.impressions, t.post_id))[:3])
    factors = hour_factors(week, zone)
    best = tuple(sorted((HourFigure(h, counts[h], round(f, 2)) for h, f in factors.items()
                         if f > 1.0 and counts.get(h, 0) >= MIN_HOUR_POSTS),
                        key=lambda f: (-f.factor, f.hour))[:3])
    retired = tuple((i.post_text[:80], i.learning.retired_reason or "underperformed") for i in library.values()
                    if i.status is ItemStatus.RETIRED and i.learning.retired_on and first.isoformat() <= i.learning.retired_on)
    in_week = [g for g in growth if first - timedelta(days=1) <= g.day <= day]
    gained = in_week[-1].followers - in_week[0].followers if len(in_week) >= 2 else None
    return WeekInsights(first, day, len(scored), top, retired, best, clicks, round(link_spend, 6), gained)
