"""What follow and prune share, once per account day: the account's figures (users/me) and
the incremental syncs of your own followers and following (owned reads, newest first).

X gives no since_id on these lists, so a sync reads from the top and stops at the first id
it already knows (the stored frontier). Statuses are updated before the frontier moves, so
a crash re-reads a little, never loses a follow-back. Whichever job runs first in the day
does the work and records it (`SyncDay`); the other reads the record and pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flockpilot.domain.account import AccountProfile, DayCounts
from flockpilot.domain.errors import CredentialsRevoked, NotPermitted, NotSent, XError
from flockpilot.domain.follow import Source, SourceKind, follower_sources
from flockpilot.domain.people import Person, PersonStatus, SourceCredit
from flockpilot.domain.records import FollowDay, SyncDay, SyncProgress
from flockpilot.domain.x import Page, XUser
from flockpilot.jobs.skeleton import JobRun, account_profile

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


FRONTIER_KEEP = 200  # the newest ids a frontier keeps (the stores keep as many)
# The day's moves the day's records keep by id, of each kind (follows by hand, follow-backs): the
# first ones, ~23 KB each; past them only the count grows (each person's move is in their own
# item). With the frontiers, the top and a page pending, SyncProgress stays under ~130 KB, SyncDay
# under ~50 KB, however many a day brings and however many pages a sync may read.
SYNC_KEEP = 1000
PENDING_KEEP = 2 * MAX_PAGE  # a page's people about to be moved, and a crashed run's not yet seen again
MOVABLE = {"following": (PersonStatus.SUGGESTED, PersonStatus.RESERVE, PersonStatus.QUEUED),
           "followers": (PersonStatus.FOLLOWED, PersonStatus.PRUNE_SUGGESTED)}
MOVED = {"following": "followed_by_hand", "followers": "follow_backs"}  # the record's list of each list's moves
# The most ids of your following's top a day's sync keeps for reconciliation (one full page): ~24 KB of the
# SyncProgress item (DynamoDB's limit is 400 KB; tests/contract checks the record at its caps).
TOP_KEEP = MAX_PAGE


@dataclass
class NewIds:
    """What a sync found new at the top of a list (in this run's pages)."""

    ids: list[str] = field(default_factory=list)
    users: dict[str, XUser] = field(default_factory=dict)
    complete: bool = True


@dataclass
class ListTop:
    """The pages of your following list today's sync read from the top of the list, kept with
    the sync's progress (SyncProgress) so a reconciliation pass later in the day, in this run
    or another, starts from them instead of paying X for those ids again: every id they held
    (the known ones too, in list order), X's token for what comes after them, and `since`, when
    the first of them was read (ISO; an api follow or unfollow from then on moved the list, see
    reconcile.py). `from_top` stays False if the sync read none, or its pages do not go on from
    the top (a page read with another token). At most TOP_KEEP ids: past them the top stops
    growing (`capped`) and keeps the token after its last page, so a pass reads the sync's
    later pages again (paid twice, as before the top was kept) and skips nobody."""

    ids: list[str] = field(default_factory=list)
    token: str | None = None
    pages: int = 0
    from_top: bool = False
    since: str | None = None
    capped: bool = False

    @classmethod
    def of(cls, body: dict[str, Any] | None) -> ListTop:
        return cls(**body) if body else cls()

    def add(self, token: str | None, page: Page[XUser], now: datetime) -> None:
        """A page read with `token`: kept if it carries on the pages kept so far from the top."""
        if token is None:
            self.ids, self.token, self.pages, self.from_top, self.since, self.capped = [], None, 0, True, now.isoformat(), False
        elif self.capped:
            return
        elif not self.from_top or token != self.token:
            self.from_top = False
            return
        if len(self.ids) + len(page.items) > TOP_KEEP:
            self.capped = True
            return
        self.ids += [u.id for u in page.items]
        self.token = page.next_token
        self.pages += 1

    @property
    def usable(self) -> bool:
        return self.from_top and self.pages > 0 and self.since is not None


@dataclass
class ListRead:
    """How far today's sync has read one list: the newest new ids (FRONTIER_KEEP of them), how
    many were new, X's token for the next page and that page's size; `done` once it met a
    known id, the list's end or MAX_PAGES (then `complete` is False)."""

    ids: list[str] = field(default_factory=list)
    new: int = 0
    token: str | None = None
    pages: int = 0
    size: int = 0
    done: bool = False
    complete: bool = True

    @classmethod
    def of(cls, body: dict[str, Any] | None) -> ListRead:
        return cls(**body) if body else cls()


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


def moved_by_sync(name: str, person: Person, since: datetime) -> bool:
    """`person` is as a sync that began at `since` leaves those it moves on list `name`:
    followed by hand (not through the API) since then, or followed back since then."""
    if name == "following":
        return (person.status in (PersonStatus.FOLLOWED, PersonStatus.FOLLOWED_BACK) and not person.by_api
                and person.followed_at is not None and person.followed_at >= since)
    return person.status is PersonStatus.FOLLOWED_BACK and person.followed_back_at is not None and person.followed_back_at >= since


def read_newest(known: list[str], read_page: Callable[[int, str | None], Page[XUser]], *,
                plan: PagePlan | None = None, also_known: Callable[[list[str]], set[str]] | None = None,
                state: ListRead | None = None, on_page: Callable[[list[XUser], ListRead], None] | None = None) -> NewIds:
    """Read a list from the newest until a known id (or MAX_PAGES), pages sized by `plan`.
    Known: the stored frontier, and whatever `also_known` recognises in a page (so
    unfollowing the newest ids of the frontier does not send a sync to the end of the list).
    `state`: where an earlier run of the day stopped (read on from its token); `on_page`
    gets each page's new people and the state after it, to apply and keep them."""
    known_set = set(known)
    result = NewIds()
    plan = plan or page_plan(known)
    state = state if state is not None else ListRead()
    if state.pages == 0:
        state.size = plan.first
    while not state.done:
        page = read_page(state.size, state.token)
        state.size = plan.then if state.pages == 0 else min(MAX_PAGE, state.size * 2)
        state.pages += 1
        recognised = also_known([u.id for u in page.items]) if also_known is not None and known else set()
        fresh: list[XUser] = []
        met = False
        for user in page.items:
            if user.id in known_set or user.id in recognised:
                met = True
                break
            fresh.append(user)
        result.ids += [u.id for u in fresh]
        result.users.update((u.id, u) for u in fresh)
        state.ids = (state.ids + [u.id for u in fresh])[:FRONTIER_KEEP]
        state.new += len(fresh)
        state.token = page.next_token
        state.done = met or not page.next_token or not known or state.pages >= MAX_PAGES
        state.complete = not (state.done and not met and page.next_token and known)
        if on_page is not None:
            on_page(fresh, state)
    result.complete = state.complete
    return result


def daily_sync(run: JobRun[Any], ledger: Ledger, *, verify_days: int = VERIFY_DAYS_DEFAULT,
               force: bool = False) -> SyncDay:
    """The day's sync, done once: suggestions you followed by hand, people who followed back
    (credited to their source), and new followers offered as sources. Each page is applied as
    it comes and kept with where its list goes on (SyncProgress), so a run stopped partway
    (the time limit, X failing) leaves the day's next run only the rest to read and pay for.
    With pruning outside follows on, the pages of your following are also kept there (ListTop,
    in the same write as the token after them), for reconciliation's pass of the list today.
    The day's moves are kept as counts and the first SYNC_KEEP ids of each kind, so neither
    record grows with the day (each person's move is in their own item)."""
    records, settings, now = run.account.records, run.account.settings, run.now
    record = records.load_day(SyncDay, run.day)
    if record is not None and record.done and not force:
        return record
    earlier = record if record is not None and record.done else None  # a forced second sync today
    record = SyncDay(day=run.day)
    progress = (records.load_day(SyncProgress, run.day) if earlier is None else None) or SyncProgress(day=run.day)
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
    lists = {name: ListRead.of(progress.lists.get(name)) for name in ("following", "followers")}
    # Only a pass of your whole following uses the top (prune_outside_inactive_days): kept only then.
    top = ListTop.of(progress.following_top) if settings.prune_outside_inactive_days > 0 else None

    if progress.started_at is None:
        progress.started_at = now.isoformat()
    since = datetime.fromisoformat(progress.started_at)
    for key in MOVED.values():  # a progress record from before the counts: its lists are whole
        progress.counts.setdefault(key, len(getattr(progress, key)))
    read_top: list[dict[str, Any]] = []  # the top after the page being applied: saved by its keep()

    def keep(name: str, state: ListRead) -> None:
        progress.lists[name] = asdict(state)
        if name == "following" and read_top:
            progress.following_top = read_top.pop()
        records.save_day(progress, now)  # the last page too: a crash before the day's record re-reads nothing

    def move(name: str, person: Person) -> bool:
        if name == "following":
            return ledger.update_person(
                person.now_followed(now, by_api=False, grace_days=settings.prune_grace_days), expected=MOVABLE[name],
                counts=(run.day, DayCounts(follows=1)), credit=SourceCredit(person.source_id, followed=1))
        return ledger.update_person(person.now_followed_back(now, verify_days=verify_days), expected=MOVABLE[name],
                                    credit=SourceCredit(person.source_id, followed_back=1))

    def apply(name: str, users: list[XUser], state: ListRead) -> None:
        """One page's moves (follows by hand of suggestions on your following, follow-backs on
        your followers), kept with the page (keep). The people about to be moved are written
        first (`pending`): after a crash between the moves and keep(), the next run reads the
        page again and counts those the crashed run moved, now in their new status."""
        ids = [u.id for u in users]
        people = ledger.people_by_id(ids)
        was = set(progress.pending.get(name, {}).get("ids", []))
        intent = [i for i in ids if i in people and people[i].status in MOVABLE[name]]
        if intent:
            left = [i for i in progress.pending.get(name, {}).get("ids", []) if i not in set(ids)]
            progress.pending[name] = {"ids": (intent + left)[:PENDING_KEEP]}
            records.save_day(progress, now)
        moved: list[str] = []
        for user_id in ids:
            person = people.get(user_id)
            if person is None:
                continue
            if person.status in MOVABLE[name]:
                if move(name, person):
                    moved.append(user_id)
                    continue
                person = ledger.people_by_id([user_id]).get(user_id)  # moved since read: by another run of this sync?
                if person is not None and moved_by_sync(name, person, since):
                    moved.append(user_id)
            elif user_id in was and moved_by_sync(name, person, since):
                moved.append(user_id)  # moved by a run of this sync cut short before it kept the page
        key = MOVED[name]
        kept: list[str] = getattr(progress, key)
        kept += [i for i in moved if i not in set(kept)][:max(0, SYNC_KEEP - len(kept))]
        progress.counts[key] += len(moved)
        left = [i for i in was if i not in set(ids)]
        if left and not state.done:
            progress.pending[name] = {"ids": left}
        else:
            progress.pending.pop(name, None)
        if name == "followers":
            progress.names.update((u.id, u.username) for u in users if u.id in state.ids)
        keep(name, state)

    def read_following(size: int, token: str | None) -> Page[XUser]:
        page = x.own_following_page(max_results=size, token=token)
        if top is not None:  # saved by the page's keep(), with the token after it
            top.add(token, page, now)
            read_top[:] = [asdict(top)]
        return page

    def known_following(ids: list[str]) -> set[str]:
        """Those the ledger knows you follow, but for people a run of this sync moved that it
        had not kept (pending): the page is read again past them."""
        was = set(progress.pending.get("following", {}).get("ids", []))
        return {i for i, p in ledger.people_by_id(ids).items()
                if p.status in FOLLOWING and not (i in was and moved_by_sync("following", p, since))}

    read_newest(known["following"], read_following, plan=following_plan, also_known=known_following,
                state=lists["following"], on_page=lambda users, state: apply("following", users, state))
    read_newest(known["followers"], lambda n, t: x.followers_page(x.user_id, max_results=n, token=t), plan=followers_plan,
                state=lists["followers"], on_page=lambda users, state: apply("followers", users, state))
    following, followers = lists["following"], lists["followers"]

    if settings.follow_use_my_followers and followers.ids:
        offered = follower_sources(ledger.sources(), followers.ids)
        for spent in offered.retire:  # removed, so remembered: come back, it is not read from the start
            ledger.remove_source(spent.source_id, now=now)
        for user_id in offered.add:
            ledger.add_source(Source(user_id, SourceKind.MY_FOLLOWER, f"@{progress.names.get(user_id) or user_id}", now))

    for name, state in lists.items():
        if state.new or not known[name]:
            ledger.set_frontier(name, list(dict.fromkeys(state.ids + known[name])), now)
    record.followed_by_hand, record.follow_backs = list(progress.followed_by_hand), list(progress.follow_backs)
    record.followed_by_hand_count, record.follow_backs_count = progress.counts["followed_by_hand"], progress.counts["follow_backs"]
    record.new_following, record.new_followers = following.new, followers.new
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
