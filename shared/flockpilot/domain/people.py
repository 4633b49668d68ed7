"""The people ledger: everyone Flockpilot suggested, followed or unfollowed, and where each
person waits next.

A person's status says what happened; their queue says what a job will read them for, and
when. Jobs read queues (best first, or due first), never the whole ledger, so a run costs
the same with 100 people in the ledger as with 100,000. Every transition is a pure function
returning the next Person; the store writes it with a condition on the status it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from flockpilot.domain.x import XUser

RESERVE_DAYS = 14  # a runner-up is worth suggesting for two weeks
SUGGESTION_MEMORY_DAYS = 90  # an ignored suggestion is not made again for this long
REFOLLOW_COOLDOWN_DAYS = 365  # someone unfollowed is not followed again for a year
RECHECK_DAYS = 1  # a non-follower past grace is checked again the next day
# An API action sent this recently may still be in flight in another run: only older pending
# actions are looked up on X (longer than any X call with its retries can take).
PENDING_SETTLE = timedelta(minutes=10)


class PersonStatus(StrEnum):
    RESERVE = "reserve"  # a runner-up: suggested on a later day, at no extra read
    SUGGESTED = "suggested"  # on a day's list: you tap follow
    QUEUED = "queued"  # api mode: to be followed through the API today
    FOLLOW_PENDING = "follow_pending"  # the API follow was sent; its outcome is not recorded yet
    FOLLOWED = "followed"  # you follow them; no follow-back seen yet
    FOLLOWED_BACK = "followed_back"
    PRUNE_SUGGESTED = "prune_suggested"  # on a day's prune list: you tap unfollow
    UNFOLLOW_PENDING = "unfollow_pending"  # the API unfollow was sent; outcome not recorded yet
    UNFOLLOWED = "unfollowed"


class PersonQueue(StrEnum):
    RESERVE = "reserve"  # best score first
    QUEUED = "queued"  # best score first
    PENDING = "pending"  # API actions whose outcome is unknown, oldest first
    CHECK = "check"  # follow-back checks due: followed past grace, prune suggestions
    VERIFY = "verify"  # reconciliation: people who followed back, re-verified oldest first


FOLLOWING_STATUSES = frozenset({PersonStatus.FOLLOWED, PersonStatus.FOLLOWED_BACK, PersonStatus.PRUNE_SUGGESTED})


@dataclass(frozen=True)
class Card:
    """What a person decides by at a glance, as X showed them when we met them."""

    name: str = ""
    bio_line: str = ""
    followers: int = 0
    following: int = 0
    last_post_at: datetime | None = None

    @classmethod
    def of(cls, user: XUser) -> Card:
        return cls(user.name[:80], user.bio_first_line[:160], user.followers, user.following, user.last_post_at)


@dataclass(frozen=True)
class Person:
    """One person in the ledger: how we met them, what we did and what they did."""

    user_id: str
    username: str
    status: PersonStatus
    source_id: str | None = None
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    day: str | None = None  # the account day they were found
    suggested_at: datetime | None = None
    followed_at: datetime | None = None
    followed_back_at: datetime | None = None
    unfollowed_at: datetime | None = None
    acted_at: datetime | None = None  # when an API action was sent (pending statuses)
    due_at: datetime | None = None  # when a job should look at them next (check / verify queues)
    by_api: bool = False
    through_flockpilot: bool = True
    prune_reason: str | None = None
    card: Card = field(default_factory=Card)

    # --- where the person waits --------------------------------------------------------
    def placement(self) -> tuple[PersonQueue, str] | None:
        """(queue, sort key) for the store's sparse index, or None: no job reads them by queue."""
        s = self.status
        if s in (PersonStatus.RESERVE, PersonStatus.QUEUED):
            queue = PersonQueue.RESERVE if s is PersonStatus.RESERVE else PersonQueue.QUEUED
            return queue, f"{1 - max(0.0, min(1.0, self.score)):.6f}#{self.user_id}"
        if s in (PersonStatus.FOLLOW_PENDING, PersonStatus.UNFOLLOW_PENDING):
            return PersonQueue.PENDING, f"{stamp(self.acted_at)}#{self.user_id}"
        if s in (PersonStatus.FOLLOWED, PersonStatus.PRUNE_SUGGESTED):
            return PersonQueue.CHECK, f"{stamp(self.due_at)}#{self.user_id}"
        if s is PersonStatus.FOLLOWED_BACK:
            return PersonQueue.VERIFY, f"{stamp(self.due_at)}#{self.user_id}"
        return None

    def expires_at(self) -> datetime | None:
        """When no rule will read this row again (the store's TTL); None: kept."""
        if self.status is PersonStatus.RESERVE:
            return (self.found_at or EPOCH) + timedelta(days=RESERVE_DAYS)
        if self.status is PersonStatus.SUGGESTED and self.suggested_at is not None:
            return self.suggested_at + timedelta(days=SUGGESTION_MEMORY_DAYS)
        if self.status is PersonStatus.UNFOLLOWED and self.unfollowed_at is not None:
            return self.unfollowed_at + timedelta(days=REFOLLOW_COOLDOWN_DAYS)
        return None

    @property
    def found_at(self) -> datetime | None:
        return datetime.fromisoformat(self.day).replace(tzinfo=UTC) if self.day else None

    # --- transitions -------------------------------------------------------------------
    def suggested(self, now: datetime) -> Person:
        return replace(self, status=PersonStatus.SUGGESTED, suggested_at=now)

    def queued(self, now: datetime) -> Person:
        return replace(self, status=PersonStatus.QUEUED, suggested_at=now)

    def follow_sent(self, now: datetime) -> Person:
        return replace(self, status=PersonStatus.FOLLOW_PENDING, acted_at=now)

    def now_followed(self, now: datetime, *, by_api: bool, grace_days: int) -> Person:
        """You follow them: a follow-back check falls due after the grace period."""
        return replace(self, status=PersonStatus.FOLLOWED, followed_at=now, by_api=by_api, acted_at=None,
                       due_at=now + timedelta(days=grace_days))

    def now_followed_back(self, now: datetime, *, verify_days: int) -> Person:
        return replace(self, status=PersonStatus.FOLLOWED_BACK, followed_back_at=now, prune_reason=None,
                       due_at=now + timedelta(days=verify_days))

    def verified(self, now: datetime, *, verify_days: int) -> Person:
        """Still following each other: verified again after `verify_days`."""
        return replace(self, due_at=now + timedelta(days=verify_days))

    def left(self, now: datetime) -> Person:
        """They stopped following you back: back to followed, a follow-back check due now."""
        return replace(self, status=PersonStatus.FOLLOWED, followed_back_at=None, due_at=now)

    def checked_again_later(self, now: datetime, days: int = RECHECK_DAYS) -> Person:
        return replace(self, due_at=now + timedelta(days=days))

    def prune_suggested(self, now: datetime, reason: str) -> Person:
        return replace(self, status=PersonStatus.PRUNE_SUGGESTED, prune_reason=reason,
                       due_at=now + timedelta(days=RECHECK_DAYS))

    def unfollow_sent(self, now: datetime) -> Person:
        return replace(self, status=PersonStatus.UNFOLLOW_PENDING, acted_at=now)

    def now_unfollowed(self, now: datetime, *, by_api: bool) -> Person:
        return replace(self, status=PersonStatus.UNFOLLOWED, unfollowed_at=now, by_api=by_api, acted_at=None, due_at=None)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stamp(moment: datetime | None) -> str:
    """A sortable UTC timestamp for index keys (seconds; lexical order is time order)."""
    return (moment or EPOCH).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def due_key(moment: datetime) -> str:
    """The highest index key due at `moment`: keys "<stamp>#<id>" sort at or below it."""
    return f"{stamp(moment)}#~"


@dataclass(frozen=True)
class AllowEntry:
    """Someone prune never touches, and why."""

    user_id: str
    username: str
    reason: str  # you | dm | mention
    added_at: datetime


@dataclass(frozen=True)
class SourceCredit:
    """A follow or follow-back to count for the source that found the person."""

    source_id: str | None
    followed: int = 0
    followed_back: int = 0
