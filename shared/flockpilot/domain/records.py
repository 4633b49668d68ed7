"""Small per-day records the jobs keep, and the record of each published post.

A day record holds what a job decided on the account's day, so later ticks of the same day
neither decide again nor pay again for the same reads (a dry run keeps its record too,
marked dry). Every field is plain JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, ClassVar, Self

from flockpilot.domain.x import PostMetrics


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


@dataclass
class DayRecord:
    """Base of the per-day records: `kind` names the record, `day` is the account's day."""

    kind: ClassVar[str] = ""
    day: date
    dry: bool = False

    def to_json(self) -> dict[str, Any]:
        return {f.name: _encode(getattr(self, f.name)) for f in fields(self) if f.name != "day"}

    @classmethod
    def from_json(cls, day: date, body: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)} - {"day"}
        return cls(day=day, **{k: v for k, v in body.items() if k in known})


@dataclass
class SyncDay(DayRecord):
    """The day's one sync of your own followers and following, shared by follow and prune."""

    kind: ClassVar[str] = "SYNC"
    done: bool = False
    # The first SYNC_KEEP (jobs/sync.py) of each: the item stays far under DynamoDB's 400 KB
    # whatever the day brings; the counts say how many there were (the people's items say who).
    followed_by_hand: list[str] = field(default_factory=list)
    follow_backs: list[str] = field(default_factory=list)
    new_followers: int = 0
    new_following: int = 0
    complete: bool = True  # False: a burst larger than a sync reads waits for tomorrow
    # The account's figures (users/me) when the sync read the lists: tomorrow's sync sizes its
    # pages by how much they grew. None: not read (records written before these fields).
    followers_count: int | None = None
    following_count: int | None = None
    # How many the sync moved (None: records from before these fields, whose lists hold them all).
    followed_by_hand_count: int | None = None
    follow_backs_count: int | None = None

    @property
    def followed_by_hand_total(self) -> int:
        return self.followed_by_hand_count if self.followed_by_hand_count is not None else len(self.followed_by_hand)

    @property
    def follow_backs_total(self) -> int:
        return self.follow_backs_count if self.follow_backs_count is not None else len(self.follow_backs)


@dataclass
class SyncProgress(DayRecord):
    """A day's sync stopped partway (the function's time limit, X failing): what the pages it
    paid for said is applied and kept here with where each list goes on (X's page token), so
    the day's next run reads only the rest. Apart from SyncDay, so a run stopped late never
    overwrites the day's finished sync."""

    kind: ClassVar[str] = "SYNCPART"
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)  # list name -> ListRead (jobs/sync.py)
    # The first SYNC_KEEP of each (jobs/sync.py), and how many in all in `counts`
    # ({"followed_by_hand": n, "follow_backs": n}; empty: a record from before it, its lists whole).
    followed_by_hand: list[str] = field(default_factory=list)
    follow_backs: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # list name -> {"ids": [...]}: people a run was about to move on its page, written before
    # it moved them, so the run after a crash counts those the crashed run moved (jobs/sync.py).
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    started_at: str | None = None  # when this sync first read (ISO): its moves are the ones since
    names: dict[str, str] = field(default_factory=dict)  # new followers' usernames, for follower sources
    # The pages of your following read from the top today (ListTop, jobs/sync.py), for
    # reconciliation's pass of the list: saved in the same write as the token after them.
    following_top: dict[str, Any] = field(default_factory=dict)


@dataclass
class FollowDay(DayRecord):
    """The follow job's day: the list it built, and the api follows it made."""

    kind: ClassVar[str] = "FOLLOW"
    built: bool = False
    built_at: str | None = None  # when the day's list was made (ISO; None: records from before this field)
    shortlisted: list[str] = field(default_factory=list)
    promoted: bool = True  # False between recording the picks and moving them out of the reserve
    followed: list[str] = field(default_factory=list)
    action_times: list[str] = field(default_factory=list)  # api follows sent (ISO), for pacing


@dataclass
class PruneDay(DayRecord):
    """The prune job's day: its decisions, settled before anyone's status moves."""

    kind: ClassVar[str] = "PRUNE"
    decided: bool = False
    api: bool = False  # unfollow the list through the API (api mode, churn guard calm)
    decisions: list[list[str]] = field(default_factory=list)  # [user id, username, why], in order
    promoted: bool = True  # suggest mode: False until every decision is on the prune list
    action_times: list[str] = field(default_factory=list)
    churn: dict[str, Any] = field(default_factory=dict)
    reconciled: bool = False  # today's slice of reconciliation is done (later runs skip it)

    @property
    def ids(self) -> list[str]:
        return [d[0] for d in self.decisions]


@dataclass
class PruneChecks(DayRecord):
    """What X said in the day's follow-back checks before the day was decided: a run stopped
    partway (the function's time limit, X failing) keeps the answers it paid for, and the
    day's next run asks X only about the rest. Apart from PruneDay, so a late run never
    overwrites a decided day."""

    kind: ClassVar[str] = "PRUNECHECK"
    # user id -> {"username", "connection" (None: X did not say), "last_post_at"}; None: X did not return them
    answers: dict[str, dict[str, Any] | None] = field(default_factory=dict)


@dataclass
class DigestDay(DayRecord):
    """When the day's DMs were last read, so a preview does not pay for them again."""

    kind: ClassVar[str] = "DIGEST"
    dms_read_at: str | None = None


@dataclass
class MetricsDay(DayRecord):
    """The day's read of your own posts' results (once a day)."""

    kind: ClassVar[str] = "METRICS"
    read: int = 0
    done: bool = False
    verdicts: list[str] = field(default_factory=list)  # items rested or retired today, and why
    feeds_checked: bool = False
    articles_added: int = 0
    plug_checked_hour: int = -1  # the last local hour the plug looked for a post that took off


@dataclass(frozen=True)
class PostRecord:
    """One post Flockpilot published, with what it cost and (later) how it did."""

    post_id: str
    item_id: str
    kind: str
    day: date
    slot: int
    published_at: datetime
    cost_usd: float
    has_url: bool
    metrics: PostMetrics | None = None
    metrics_at: datetime | None = None
    plugged: bool = False  # the plug was posted under it


@dataclass
class ReconState:
    """A resumable full read of one of your lists."""

    name: str
    run_id: str
    started_at: datetime
    cursor: str | None = None
    finished_at: datetime | None = None
    read: int = 0
    usd: float = 0.0  # spent on this list's reads in `month`
    month: str | None = None
