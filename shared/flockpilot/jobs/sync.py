"""Incremental syncs of your own followers and following (owned reads, newest first).

X gives no since_id on these lists, so each sync reads from the top and stops at the first
id it already knows (the stored frontier). The first sync reads one page and starts there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flockpilot.adapters.store import FollowLedger

if TYPE_CHECKING:
    from flockpilot.adapters.x import XClient

PAGE = 20  # the very first sync: one page, then it starts from there
FIRST_PAGE = 5  # later syncs: most days bring a few; pages double (5, 10, 20 ... 320)
MAX_PAGES = 7  # a burst beyond 635 new ones waits for the next sync


@dataclass
class SyncResult:
    new_ids: list[str] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    reached_frontier: bool = False
    pages: int = 0


def sync_newest(
    ledger: FollowLedger, name: str, read_page: Callable[[int, str | None], tuple[list[dict[str, Any]], str | None]],
    now: datetime,
) -> SyncResult:
    """Read `name` (followers | following) from the newest until a known id."""
    known = ledger.frontier(name)
    known_set = set(known)
    result = SyncResult()
    token: str | None = None
    size = FIRST_PAGE if known else PAGE
    while result.pages < MAX_PAGES:
        users, token = read_page(size, token)
        size *= 2
        result.pages += 1
        for user in users:
            if user["id"] in known_set:
                result.reached_frontier = True
                break
            result.new_ids.append(user["id"])
            result.users[user["id"]] = user
        if result.reached_frontier or not token or not known:
            break
    if result.new_ids or not known:
        ledger.set_frontier(name, result.new_ids + known, now)
    return result


def record_follow_backs(ledger: FollowLedger, new_followers: list[str], now: datetime) -> list[str]:
    """People we followed who now follow us: mark them and credit their source."""
    credited = []
    people = ledger.people_by_id(new_followers)
    for user_id, person in people.items():
        if person.status == "followed" and ledger.set_status(user_id, "followed_back", now, expected=("followed",)):
            ledger.credit_source(person.source_id, followed_back=1)
            credited.append(user_id)
    return credited


def record_hand_follows(ledger: FollowLedger, new_following: list[str], now: datetime) -> list[str]:
    """Suggestions the person followed by hand on x.com: mark them followed, credit the source."""
    done = []
    people = ledger.people_by_id(new_following)
    for user_id, person in people.items():
        if person.status in ("suggested", "queued") and ledger.set_status(
            user_id, "followed", now, by_api=False, expected=("suggested", "queued")
        ):
            ledger.credit_source(person.source_id, followed=1)
            done.append(user_id)
    return done


@dataclass
class DailySync:
    followed_by_hand: list[str]
    follow_backs: list[str]
    new_followers: dict[str, dict[str, Any]]


def sync_own_lists(ledger: FollowLedger, x: XClient, now: datetime) -> DailySync:
    """Both incremental syncs and what they mean for the ledger: suggestions you followed by
    hand, and people who followed back (credited to their source)."""
    following = sync_newest(ledger, "following", lambda n, t: x.own_following_page(max_results=n, token=t), now)
    followers = sync_newest(ledger, "followers", lambda n, t: x.followers_page(x.user_id, max_results=n, token=t), now)
    return DailySync(
        followed_by_hand=record_hand_follows(ledger, following.new_ids, now),
        follow_backs=record_follow_backs(ledger, followers.new_ids, now),
        new_followers=followers.users,
    )
