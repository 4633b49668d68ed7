"""Follow rules: the 10% band, who is worth suggesting, how good a source is.

Pure functions over plain data; the follow job feeds them what X and the store returned.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

TWITTER_EPOCH_MS = 1288834974657
STRICT_BAND_ABOVE = 5000  # X: past 5,000 following, more follows depend on the ratio
X_DAILY_FOLLOW_LIMIT = 400


def snowflake_time(post_id: str) -> datetime:
    """When an X id was created: (id >> 22) + X's epoch, in ms. No read needed."""
    return datetime.fromtimestamp(((int(post_id) >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


def band_limit(followers: int, following: int, tolerance: float) -> int:
    """The most you may follow: floor(followers x (1 + tolerance)); past 5,000 following the
    band is strict (no tolerance), as X ties more follows to the ratio there."""
    tol = 0.0 if following >= STRICT_BAND_ABOVE else tolerance
    return math.floor(followers * (1 + tol))


@dataclass(frozen=True)
class FollowBudget:
    count: int
    band_room: int
    reason: str


def follow_budget(
    *, followers: int, following: int, tolerance: float, daily_cap: int, already_today: int, affordable: int
) -> FollowBudget:
    """Today's follows: min(daily cap, room left in the band, what the dollars allow).

    The band is floor(followers x (1 + tolerance)) - following. Past 5,000 following the
    band is strict (no tolerance), as X ties more follows to the ratio there.
    """
    cap = min(max(daily_cap, 0), X_DAILY_FOLLOW_LIMIT) - already_today
    limit = band_limit(followers, following, tolerance)
    room = limit - following
    count = max(0, min(cap, room, affordable))
    if count == cap and cap <= min(room, affordable):
        reason = f"daily cap {daily_cap} ({already_today} already today)"
    elif count == room or room <= 0:
        reason = f"band: following {following} may reach {limit} ({followers} followers)"
    else:
        reason = f"budget: the day's follow money covers {affordable} more"
    return FollowBudget(count=count, band_room=room, reason=reason)


@dataclass(frozen=True)
class Candidate:
    id: str
    username: str
    name: str
    description: str
    protected: bool
    default_avatar: bool
    followers: int
    following: int
    posts: int
    created_at: datetime | None
    last_post_at: datetime | None
    connection: tuple[str, ...] = ()
    lang_hint: str | None = None


@dataclass(frozen=True)
class FilterRules:
    skip_protected: bool = True
    skip_default_avatar: bool = True
    skip_empty_bio: bool = True
    min_followers: int = 10
    max_followers: int = 50_000
    # The candidate's following/followers ratio: people who follow many back score high,
    # but a huge ratio is a follow-churn account.
    min_ratio: float = 0.2
    max_ratio: float = 10.0
    active_within_days: int = 30
    include_keywords: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[str, ...]


def screen(c: Candidate, rules: FilterRules, *, owner_id: str, known: set[str], blocked: set[str], now: datetime) -> Verdict:
    """Every filter, each with its reason; the first failing reasons are kept for the record."""
    fails: list[str] = []
    if c.id == owner_id:
        fails.append("is you")
    if c.id in known or "following" in c.connection or "follow_request_sent" in c.connection:
        fails.append("already followed, suggested or unfollowed before")
    if c.id in blocked or "blocking" in c.connection or "muting" in c.connection:
        fails.append("blocked or muted")
    if rules.skip_protected and c.protected:
        fails.append("protected account")
    if rules.skip_default_avatar and c.default_avatar:
        fails.append("default avatar")
    bio = c.description.strip().lower()
    if rules.skip_empty_bio and not bio:
        fails.append("empty bio")
    if not rules.min_followers <= c.followers <= rules.max_followers:
        fails.append(f"{c.followers} followers outside {rules.min_followers}-{rules.max_followers}")
    ratio = c.following / max(c.followers, 1)
    if not rules.min_ratio <= ratio <= rules.max_ratio:
        fails.append(f"following/followers {ratio:.2f} outside {rules.min_ratio}-{rules.max_ratio}")
    if c.last_post_at is None or now - c.last_post_at > timedelta(days=rules.active_within_days):
        fails.append(f"no post in {rules.active_within_days} days")
    if rules.include_keywords and not any(k.lower() in bio for k in rules.include_keywords):
        fails.append("bio has none of the keywords")
    hit = [k for k in rules.exclude_keywords if k.lower() in bio]
    if hit:
        fails.append(f"bio has excluded word {hit[0]!r}")
    if rules.languages and c.lang_hint and c.lang_hint not in rules.languages:
        fails.append(f"language {c.lang_hint}")
    if fails:
        return Verdict(False, tuple(fails))
    return Verdict(True, ("passed every filter",))


def follow_back_likelihood(c: Candidate, source_rate: float) -> float:
    """How likely this person follows back: their own habit (ratio) times the source's record."""
    ratio = c.following / max(c.followers, 1)
    habit = min(1.0, ratio / 2)  # following twice as many as follow them: follows back often
    mutual_hint = 1.0 if "followed_by" in c.connection else 0.0
    return max(0.01, min(1.0, 0.5 * habit + 0.5 * source_rate + 0.3 * mutual_hint))


def relevance(c: Candidate, keywords: tuple[str, ...]) -> float:
    if not keywords:
        return 1.0
    bio = c.description.lower()
    hits = sum(1 for k in keywords if k.lower() in bio)
    return 0.5 + 0.5 * min(1.0, hits / 2)


def score(c: Candidate, source_rate: float, keywords: tuple[str, ...]) -> float:
    """Score = likelihood of a follow-back x relevance (both 0..1)."""
    return round(follow_back_likelihood(c, source_rate) * relevance(c, keywords), 4)


@dataclass
class SourceStats:
    source_id: str
    label: str
    kind: str  # account | my_follower | mentions
    suggested: int = 0
    followed: int = 0
    followed_back: int = 0
    exhausted: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Follow-back rate with a prior of 1 in 4 so a new source is neither 0 nor 1."""
        return (self.followed_back + 1) / (self.followed + 4)


def choose_sources(sources: list[SourceStats], k: int, rng: random.Random) -> list[SourceStats]:
    """Pick k sources: draw each source's rate from its Beta posterior and take the best.

    Thompson sampling: sources that convert win most days, new or unlucky ones still get
    tried, so the choice shifts toward what works without freezing.
    """
    live = [s for s in sources if not s.exhausted]
    draws = [(rng.betavariate(s.followed_back + 1, s.followed - s.followed_back + 3), s.source_id, s) for s in live]
    draws.sort(key=lambda d: (-d[0], d[1]))
    return [s for _, _, s in draws[:k]]
