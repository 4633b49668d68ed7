"""Prune rules: whom to unfollow, in what order, and when to stop because it looks like churn."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flockpilot.domain.account import DayCounts
from flockpilot.domain.follow import X_DAILY_FOLLOW_LIMIT

MIN_GRACE_DAYS = 3


@dataclass(frozen=True)
class Followed:
    """Someone you follow, as prune sees them."""

    user_id: str
    username: str
    followed_at: datetime | None
    source_id: str | None
    through_flockpilot: bool
    follows_back: bool | None  # None: not checked
    last_post_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """One unfollow decided today, and why."""

    person: Followed
    reason: str


def select_unfollows(
    people: list[Followed], *, now: datetime, grace_days: int, daily_cap: int, band_excess: int,
    allow: set[str], tolerance: float, prune_outside_inactive_days: int | None = None,
) -> tuple[list[Decision], dict[str, int]]:
    """Today's unfollows, oldest first, with the reason for each; and why others were kept.

    Above the band, as many as restore it (oldest non-followers first); otherwise up to the
    daily cap. Never anyone inside the grace period, on the allowlist, following you back,
    or followed outside Flockpilot (unless the user opted in, and then only inactive ones).
    """
    grace = timedelta(days=max(grace_days, MIN_GRACE_DAYS))
    kept: dict[str, int] = {}
    eligible: list[Decision] = []

    def keep(why: str) -> None:
        kept[why] = kept.get(why, 0) + 1

    for p in people:
        if p.user_id in allow:
            keep("on the allowlist")
        elif p.followed_at is None or now - p.followed_at < grace:
            keep("inside the grace period")
        elif p.follows_back is None:
            keep("follow-back not checked yet")
        elif p.follows_back:
            keep("follows you back")
        elif not p.through_flockpilot:
            limit = prune_outside_inactive_days
            if limit is None:
                keep("followed outside Flockpilot")
            elif p.last_post_at is not None and now - p.last_post_at < timedelta(days=limit):
                keep("followed outside Flockpilot, still active")
            else:
                eligible.append(Decision(p, f"followed outside Flockpilot, no post in {limit} days, not following back"))
        else:
            days = (now - p.followed_at).days
            eligible.append(Decision(p, f"followed {days} days ago, has not followed back"))
    eligible.sort(key=lambda d: (d.person.followed_at or now, d.person.user_id))
    count = band_excess if band_excess > 0 else daily_cap
    count = max(0, min(count, X_DAILY_FOLLOW_LIMIT))
    if band_excess > 0:
        eligible = [Decision(d.person, d.reason + f"; restores the {tolerance:.0%} band") for d in eligible]
    return eligible[:count], kept


@dataclass(frozen=True)
class ChurnVerdict:
    """Whether the churn guard pauses api unfollows, with its figures."""

    paused: bool
    reasons: tuple[str, ...]
    quick_undo_share: float
    unfollow_follow_ratio: float


def churn_check(
    days: Iterable[DayCounts], *, max_quick_share: float = 0.5, max_ratio: float = 1.5, planned: int = 0,
    window_days: int = 30, quick_days: int = 14,
) -> ChurnVerdict:
    """X calls mass follow-then-unfollow "follow churn". Two signs, over the last `window_days`
    (one tally per day, so the check reads 30 small records, never the whole ledger): the
    share of follows undone within `quick_days`, and unfollows against follows (today's
    planned ones included). Past either threshold, api unfollows pause."""
    tallies = list(days)
    follows = sum(d.follows for d in tallies)
    unfollows = sum(d.unfollows for d in tallies)
    quick = sum(d.quick_unfollows for d in tallies)
    share = quick / follows if follows else 0.0
    ratio = (unfollows + planned) / max(follows, 1)
    reasons = []
    if share > max_quick_share:
        reasons.append(f"{share:.0%} of the last {window_days} days' follows were undone within {quick_days} days "
                       f"(limit {max_quick_share:.0%})")
    if ratio > max_ratio and unfollows + planned >= 10:
        reasons.append(f"unfollows would be {ratio:.1f}x follows over {window_days} days (limit {max_ratio:.1f}x)")
    return ChurnVerdict(bool(reasons), tuple(reasons), round(share, 3), round(ratio, 3))


def quick_unfollow(followed_at: datetime | None, unfollowed_at: datetime, quick_days: int = 14) -> bool:
    """Was this follow undone within `quick_days` (a sign of churn)?"""
    return followed_at is not None and unfollowed_at - followed_at <= timedelta(days=quick_days)
