"""What follow and prune share, once per account day: the account's figures (users/me) and
the incremental syncs of your own followers and following (owned reads, newest first).

X gives no since_id on these lists, so a sync reads from the top and stops at the first id
it already knows (the stored frontier). Statuses are updated before the frontier moves, so
a crash re-reads a little, never loses a follow-back. Whichever job runs first in the day
does the work and records it (`SyncDay`); the other reads the record and pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flockpilot.domain.account import AccountProfile, DayCounts, GrowthPoint
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.domain.people import PersonStatus, SourceCredit
from flockpilot.domain.records import SyncDay
from flockpilot.domain.x import Page, XUser
from flockpilot.jobs.skeleton import JobRun
from flockpilot.ports import Ledger

FIRST_PAGE = 20  # the very first sync: one page, then later syncs start from there
NEXT_PAGE = 5  # later syncs: most days bring a few; pages double (5, 10, 20 ... 320)
MAX_PAGES = 7  # a burst beyond these pages waits for the next day's sync
MAX_PAGE = 1000  # X's largest page of followers or following
MAX_MY_FOLLOWER_SOURCES = 30
# People the ledger knows you follow: a following sync that meets one has read everything newer.
FOLLOWING = frozenset({PersonStatus.FOLLOWED, PersonStatus.FOLLOWED_BACK, PersonStatus.PRUNE_SUGGESTED,
                       PersonStatus.UNFOLLOW_PENDING})
VERIFY_DAYS_DEFAULT = 30


@dataclass
class NewIds:
    """What a sync found new at the top of a list."""

    ids: list[str] = field(default_factory=list)
    users: dict[str, XUser] = field(default_factory=dict)
    complete: bool = True


def first_page_size(known: list[str], expected_new: int | None) -> int:
    """How many to ask for first. X bills every id a page returns, and a sync must see one
    id it knows to stop: yesterday's count of new ones plus one is the cheapest guess."""
    if not known:
        return FIRST_PAGE
    if expected_new is None:
        return NEXT_PAGE
    return max(1, min(MAX_PAGE, expected_new + 1))


def read_newest(known: list[str], read_page: Callable[[int, str | None], Page[XUser]], *,
                expected_new: int | None = None, also_known: Callable[[list[str]], set[str]] | None = None) -> NewIds:
    """Read a list from the newest until a known id (or MAX_PAGES), pages doubling. Known:
    the stored frontier, and whatever `also_known` recognises in a page (so unfollowing the
    newest ids of the frontier does not send a sync to the end of the list)."""
    known_set = set(known)
    result = NewIds()
    token: str | None = None
    size = first_page_size(known, expected_new)
    for _ in range(MAX_PAGES):
        page = read_page(size, token)
        size = min(MAX_PAGE, size * 2)
        recognised = also_known([u.id for u in page.items]) if also_known is not None and known else set()
        for user in page.items:
            if user.id in known_set or user.id in recognised:
                return result
            result.ids.append(user.id)
            result.users[user.id] = user
        token = page.next_token
        if not token or not known:
            return result
    result.complete = False
    return result


def account_profile(run: JobRun[Any]) -> AccountProfile:
    """The account's handle and figures: today's stored copy, or one users/me read (stored)."""
    records, settings = run.account.records, run.account.settings
    profile = records.profile()
    if profile is not None and profile.fresh(run.now, settings.zone):
        return profile
    me = run.x.me()
    profile = AccountProfile(user_id=me.id, username=me.username, name=me.name, followers=me.followers,
                             following=me.following, seen_at=run.now)
    records.save_profile(profile)
    records.record_growth(GrowthPoint(run.day, me.followers, me.following), run.now)
    return profile


def daily_sync(run: JobRun[Any], ledger: Ledger, *, verify_days: int = VERIFY_DAYS_DEFAULT,
               force: bool = False) -> SyncDay:
    """The day's sync, done once: suggestions you followed by hand, people who followed back
    (credited to their source), and new followers offered as sources."""
    records, settings, now = run.account.records, run.account.settings, run.now
    record = records.load_day(SyncDay, run.day)
    if record is not None and record.done and not force:
        return record
    record = SyncDay(day=run.day)
    x = run.x
    known = {name: ledger.frontier(name) for name in ("following", "followers")}
    yesterday = records.load_day(SyncDay, run.day - timedelta(days=1))
    done = yesterday is not None and yesterday.done and yesterday.complete
    following = read_newest(known["following"], lambda n, t: x.own_following_page(max_results=n, token=t),
                            expected_new=yesterday.new_following if done and yesterday else None,
                            also_known=lambda ids: {i for i, p in ledger.people_by_id(ids).items() if p.status in FOLLOWING})
    followers = read_newest(known["followers"], lambda n, t: x.followers_page(x.user_id, max_results=n, token=t),
                            expected_new=yesterday.new_followers if done and yesterday else None)

    people = ledger.people_by_id(following.ids)
    for user_id, person in people.items():
        if person.status in (PersonStatus.SUGGESTED, PersonStatus.RESERVE, PersonStatus.QUEUED) and ledger.update_person(
                person.now_followed(now, by_api=False, grace_days=settings.prune_grace_days),
                expected=(PersonStatus.SUGGESTED, PersonStatus.RESERVE, PersonStatus.QUEUED),
                counts=(run.day, DayCounts(follows=1)), credit=SourceCredit(person.source_id, followed=1)):
            record.followed_by_hand.append(user_id)
    people = ledger.people_by_id(followers.ids)
    for user_id, person in people.items():
        if person.status in (PersonStatus.FOLLOWED, PersonStatus.PRUNE_SUGGESTED) and ledger.update_person(
                person.now_followed_back(now, verify_days=verify_days),
                expected=(PersonStatus.FOLLOWED, PersonStatus.PRUNE_SUGGESTED),
                credit=SourceCredit(person.source_id, followed_back=1)):
            record.follow_backs.append(user_id)
    if settings.follow_use_my_followers and followers.ids:
        existing = sum(1 for s in ledger.sources() if s.kind is SourceKind.MY_FOLLOWER)
        for user_id in followers.ids[: max(0, MAX_MY_FOLLOWER_SOURCES - existing)]:
            user = followers.users[user_id]
            ledger.add_source(Source(user_id, SourceKind.MY_FOLLOWER, f"@{user.username or user_id}", now))

    for name, new in (("following", following), ("followers", followers)):
        if new.ids or not known[name]:
            ledger.set_frontier(name, new.ids + known[name], now)
    record.new_following, record.new_followers = len(following.ids), len(followers.ids)
    record.complete = following.complete and followers.complete
    record.done = True
    records.save_day(record, now)
    return record
