"""A posting slot's life: claimed before X is called, completed exactly once.

A slot is keyed by the account's day (the plan's day) and its index, never by the date of
its time in some other zone. It remembers when it was first claimed and every item it
tried, so recovery after a crash looks on X for any of them since the first claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum, StrEnum
from typing import Final

MAX_FAILURES = 3  # X refused (not a rate limit, not a budget stop) this many times: the slot fails
LEASE_SECONDS = 300  # longer than the function's timeout: a claim this old belongs to a dead run


class SlotStatus(StrEnum):
    CLAIMED = "claimed"  # a run holds it and may be talking to X right now
    OPEN = "open"  # released without an attempt spent (rate limit, budget): retried from not_before
    UNKNOWN = "unknown"  # X may have published it: the next run looks on X before anything else
    PUBLISHED = "published"
    FAILED = "failed"  # final, with the reason
    SKIPPED = "skipped"  # final: missed by hours, or nothing left to post


FINAL = frozenset({SlotStatus.PUBLISHED, SlotStatus.FAILED, SlotStatus.SKIPPED})


@dataclass(frozen=True)
class Slot:
    """One planned slot's state in the store: claimed, published, skipped, or open again."""

    day: date
    index: int
    status: SlotStatus
    version: int = 0
    lease: str | None = None
    claimed_at: datetime | None = None
    first_claimed_at: datetime | None = None
    tried: tuple[str, ...] = ()  # every item id sent (or about to be sent) to X for this slot
    failures: int = 0
    not_before: datetime | None = None
    item_id: str | None = None  # what was published
    post_id: str | None = None
    published_at: datetime | None = None
    error: str | None = None
    cost_usd: float = 0.0

    def claimable(self, now: datetime, lease_seconds: int = LEASE_SECONDS) -> bool:
        """May a run take this slot now? New, released and due, unknown, or held by a dead run."""
        if self.status is SlotStatus.OPEN:
            return self.not_before is None or self.not_before <= now
        if self.status is SlotStatus.UNKNOWN:
            return True
        if self.status is SlotStatus.CLAIMED:
            return self.claimed_at is not None and self.claimed_at <= now - timedelta(seconds=lease_seconds)
        return False

    @property
    def may_have_posted(self) -> bool:
        """A run tried an item and never recorded the outcome: X may have it."""
        return bool(self.tried) and self.status in (SlotStatus.CLAIMED, SlotStatus.UNKNOWN)


@dataclass(frozen=True)
class Claim:
    """A lease on one slot: only its holder may record the slot's outcome."""

    day: date
    index: int
    lease: str
    slot: Slot  # as written by the claim
    previous: Slot | None  # as it was before

    @property
    def needs_recovery(self) -> bool:
        return self.previous is not None and self.previous.may_have_posted


class Unread(Enum):
    """A claim's `as_read` when the run has not read the slot (None there means: read, absent)."""

    UNREAD = "unread"


UNREAD: Final = Unread.UNREAD


class SlotTaken(Exception):
    """Another invocation holds or has finished the slot."""


class LeaseLost(Exception):
    """The slot was taken over (our lease expired): its outcome is someone else's to record."""


def new_slot(day: date, index: int) -> Slot:
    return Slot(day=day, index=index, status=SlotStatus.OPEN)
