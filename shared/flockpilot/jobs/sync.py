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
from typing import TYPE_CHECKING, Any

from flockpilot.domain.account import AccountProfile, DayCounts, GrowthPoint
from flockpilot.domain.errors import CredentialsRevoked, NotPermitted, NotSent, XError
from flockpilot.domain.follow import Source, SourceKind, follower_sources
from flockpilot.domain.people import PersonStatus, SourceCredit
from flockpilot.domain.records import FollowDay, SyncDay
from flockpilot.domain.x import Page, XUser
from flockpilot.jobs.skeleton import JobRun

if TYPE_CHECKING:
    from flockpilot.ports import Ledger

FIRST_PAGE = 20  # the very first sync: one page, then later syncs start from there
NEXT_PAGE = 5  # later syncs: most days bring a few; pages double (5, 10, 20 ... 320)
MAX_PAGES = 7  # a burst beyond these pages waits for the next day's sync
MAX_PAGE = 1000  # X's largest page of followers or following
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


@dataclass(frozen=True)
class PagePlan:
    """The page sizes a sync asks for: `first`, then `then`, doubling after that."""

    first: int
    then: int


def _page(size: int) -> int:
    return max(1, min(MAX_PAGE, size))


def page_plan(known: list[str], *, grown: int | None = None, hint: int | None = None,
              yesterday_new: int | None = None) -> PagePlan:
    """How much of a list to ask for. X bills every id a page returns, and a sync must see
    one id it knows to stop.

    grown: how much the list's count (users/me) grew since the last sync. Nobody can have
    joined the top of the list fewer times than that, so `grown + 1` is never too many
    unless people left it meanwhile; a first page of only new ids means some did.
    hint: how many Flockpilot expects new when that happens (your following: the picks it
    gave you since the last sync, of which you may have unfollowed as many as you followed):
    the next page asks for the rest of the hint, else for a quarter of the first.
    Without the count (the first sync with figures, or yesterday's sync incomplete):
    yesterday's count of new ones plus one, doubling."""
    if not known:
        return PagePlan(FIRST_PAGE, 2 * FIRST_PAGE)
    if grown is None:
        first = NEXT_PAGE if yesterday_new is None else yesterday_new + 1
        return PagePlan(_page(first), _page(2 * first))
    joined = max(0, grown)
    rest = hint - joined if hint is not None and hint > joined else max(2, (joined + 1) // 4)
    return PagePlan(_page(joined + 1), _page(rest))


def read_newest(known: list[str], read_page: Callable[[int, str | None], Page[XUser]], *,
                plan: PagePlan | None = None, also_known: Callable[[list[str]], set[str]] | None = None) -> NewIds:
    """Read a list from the newest until a known id (or MAX_PAGES), pages sized by `plan`.
    Known: the stored frontier, and whatever `also_known` recognises in a page (so
    unfollowing the newest ids of the frontier does not send a sync to the end of the list)."""
    known_set = set(known)
    result = NewIds()
    token: str | None = None
    plan = plan or page_plan(known)
    size = plan.first
    for n in range(MAX_PAGES):
        page = read_page(size, token)
        size = plan.then if n == 0 else min(MAX_PAGE, size * 2)
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
    earlier = record if record is not None and record.done else None  # a forced second sync today
    record = SyncDay(day=run.day)
    x = run.x
    known = {name: ledger.frontier(name) for name in ("following", "followers")}
    # A forced second sync keeps the morning's figures for tomorrow (today's stored profile is
    # from the morning too: sizing pages by it would be stale) and guesses its own pages.
    profile = None if earlier is not None else _profile_or_none(run)
    if profile is not None:
        record.followers_count, record.following_count = profile.followers, profile.following
    elif earlier is not None:
        record.followers_count, record.following_count = earlier.followers_count, earlier.following_count
    following_plan, followers_plan = _page_plans(run, known, profile)
    following = read_newest(known["following"], lambda n, t: x.own_following_page(max_results=n, token=t),
                            plan=following_plan,
                            also_known=lambda ids: {i for i, p in ledger.people_by_id(ids).items() if p.status in FOLLOWING})
    followers = read_newest(known["followers"], lambda n, t: x.followers_page(x.user_id, max_results=n, token=t),
                            plan=followers_plan)

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
        offered = follower_sources(ledger.sources(), followers.ids)
        for spent in offered.retire:  # removed, so remembered: come back, it is not read from the start
            ledger.remove_source(spent.source_id, now=now)
        for user_id in offered.add:
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


def _profile_or_none(run: JobRun[Any]) -> AccountProfile | None:
    """The day's figures (read once a day anyway) to size the sync's pages; without them the
    sync guesses from yesterday's counts."""
    try:
        return account_profile(run)
    except (CredentialsRevoked, NotPermitted, NotSent):
        raise
    except XError:
        return None


def _page_plans(run: JobRun[Any], known: dict[str, list[str]], profile: AccountProfile | None) -> tuple[PagePlan, PagePlan]:
    """Page sizes for the following and the followers sync, from how much each count grew
    since yesterday's (complete) sync, and the picks Flockpilot gave you yesterday."""
    records = run.account.records
    yesterday = records.load_day(SyncDay, run.day - timedelta(days=1))
    if yesterday is None or not yesterday.done or not yesterday.complete:
        return page_plan(known["following"]), page_plan(known["followers"])
    if profile is None or yesterday.following_count is None or yesterday.followers_count is None:
        return (page_plan(known["following"], yesterday_new=yesterday.new_following),
                page_plan(known["followers"], yesterday_new=yesterday.new_followers))
    picks = records.load_day(FollowDay, run.day - timedelta(days=1))
    # Follows Flockpilot made through the API are in the ledger: the sync stops at the first of
    # them (also_known), so neither the count's growth nor the hint should make it pay for them.
    by_api = len(set(picks.followed)) if picks is not None else 0
    hint = len(set(picks.shortlisted) - set(picks.followed)) if picks is not None else None
    return (page_plan(known["following"], grown=max(0, profile.following - yesterday.following_count - by_api), hint=hint),
            page_plan(known["followers"], grown=profile.followers - yesterday.followers_count))
