"""The ports the jobs depend on: small Protocols that take and return domain values.

Jobs import these and the domain, never an adapter or PynamoDB. The composition root
(`runtime.py`) picks the implementations: DynamoDB (adapters/dynamo), X over signed HTTPS
(adapters/x.py), SES (adapters/mail.py), the system clock. Tests use in-memory fakes of the
store ports, kept honest by one contract suite that runs on both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # types only: a job imports the domain modules it uses, not all of them
    from collections.abc import Collection, Mapping, Sequence
    from datetime import date, datetime

    from flockpilot.domain.account import AccountProfile, DayCounts, DaySpend, GrowthPoint
    from flockpilot.domain.content import ContentItem
    from flockpilot.domain.cost import CostMeter
    from flockpilot.domain.digest import Message
    from flockpilot.domain.feed import Feed
    from flockpilot.domain.follow import Source
    from flockpilot.domain.people import AllowEntry, Person, PersonQueue, PersonStatus, SourceCredit
    from flockpilot.domain.plan import DayPlan
    from flockpilot.domain.records import DayRecord, PostRecord, ReconState
    from flockpilot.domain.slots import Claim, Slot, Unread
    from flockpilot.domain.x import DmPage, Page, PostRef, RateWindow, XUser

R = TypeVar("R", bound="DayRecord")


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class XApi(Protocol):
    """The calls Flockpilot makes to X, each metered against `meter`, each failure a domain
    error (RateLimited, CredentialsRevoked, NotPermitted, DuplicateContent, NotFound,
    TransientError, OutcomeUnknown, and NotSent: BudgetExhausted or OutOfTime)."""

    @property
    def user_id(self) -> str: ...

    @property
    def meter(self) -> CostMeter: ...

    def me(self) -> XUser: ...

    def own_posts(self, *, since: datetime, max_results: int = 100, token: str | None = None,
                  metrics: bool = False, originals_only: bool = True) -> Page[PostRef]: ...

    def followers_page(self, user_id: str, *, max_results: int, token: str | None = None) -> Page[XUser]: ...

    def own_following_page(self, *, max_results: int, token: str | None = None) -> Page[XUser]: ...

    def mentions(self, *, since_id: str | None, max_results: int) -> tuple[list[XUser], str | None]: ...

    def user_by_username(self, username: str) -> XUser: ...

    def lookup_users(self, ids: Sequence[str], *, latest_post: bool = False) -> list[XUser]: ...

    def dm_events_page(self, *, max_results: int, token: str | None = None) -> DmPage: ...

    def follow(self, user_id: str) -> None: ...

    def unfollow(self, user_id: str) -> None: ...

    def create_post(self, text: str, *, has_url: bool, reply_to: str | None = None) -> PostRef: ...

    def repost(self, post_id: str) -> None: ...

    def rate_window(self, operation: str) -> RateWindow | None: ...


class Mailer(Protocol):
    def __call__(self, subject: str, html: str, text: str) -> str: ...


class AccountRecords(Protocol):
    """Settings overrides, the account's profile, spend, runs, growth figures, rate-limit
    gates and per-day job records."""

    @property
    def scope(self) -> str:
        """Names the data this store reads (as PlanStore.scope does)."""
        ...

    def overrides(self) -> dict[str, Any]: ...

    def settings_sources(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The overrides and the deployment as its Lambda functions last recorded it
        (`{"env": {VARIABLE: value}, "at": ISO time}`, None before any), in one read."""
        ...

    def record_deployment(self, env: Mapping[str, str], at: datetime) -> None:
        """Keep the account settings the deployment's environment sets (flockpilot.settings.
        deployment_env), so the CLI runs with what the functions run with."""
        ...

    def set_override(self, key: str, value: Any) -> None: ...

    def profile(self) -> AccountProfile | None: ...

    def save_profile(self, profile: AccountProfile) -> None: ...

    def add_spend(self, day: date, job: str, usd: float, requests: int) -> None: ...

    def spend(self, first: date, last: date) -> dict[date, DaySpend]: ...

    def save_run(self, job: str, day: date, started_at: datetime, summary: Mapping[str, Any]) -> None: ...

    def finish_run(self, job: str, day: date, started_at: datetime, usd: float, requests: int,
                   summary: Mapping[str, Any]) -> None:
        """add_spend and save_run in one write: both happen or neither."""
        ...

    def runs(self, job: str, day: date) -> list[dict[str, Any]]: ...

    def last_run(self, job: str) -> dict[str, Any] | None: ...

    def record_growth(self, point: GrowthPoint, now: datetime) -> None: ...

    def growth(self, first: date, last: date) -> list[GrowthPoint]: ...

    def gates(self) -> dict[str, datetime]: ...

    def set_gate(self, endpoint: str, until: datetime) -> None: ...

    def load_day(self, kind: type[R], day: date) -> R | None: ...

    def save_day(self, record: DayRecord, now: datetime) -> None: ...

    def settle_day(self, record: DayRecord, now: datetime) -> bool:
        """Save the day's decision unless another run already settled the day (then False:
        load theirs). Concurrent first runs of a day make one decision, not two."""
        ...


class ContentStore(Protocol):
    def add_content(self, item: ContentItem) -> bool: ...

    def get_content(self, item_id: str) -> ContentItem | None: ...

    def list_content(self) -> list[ContentItem]: ...

    def save_content(self, item: ContentItem) -> None: ...

    def remove_content(self, item_id: str, now: datetime) -> bool: ...

    def removed(self, item_ids: Collection[str]) -> set[str]: ...

    def add_feed(self, feed: Feed) -> bool: ...

    def remove_feed(self, feed_id: str) -> bool: ...

    def feeds(self) -> list[Feed]: ...

    def save_feed(self, feed: Feed) -> None: ...

    def seen_feed_keys(self, keys: Collection[str]) -> set[str]:
        """Which of these entry or link keys were recorded before (by any feed, ever)."""
        ...

    def remember_feed_keys(self, keys: Collection[str], now: datetime) -> None: ...


class PlanStore(Protocol):
    """The day's plan and its slots; a slot's outcome and its item's state change together."""

    @property
    def scope(self) -> str:
        """Names the data this store reads (the same for every instance over the same
        account and table), so a process may remember what it read across invocations."""
        ...

    def plan_and_slots(self, day: date) -> tuple[DayPlan | None, dict[int, Slot]]: ...

    def put_plan_if_absent(self, plan: DayPlan, now: datetime) -> DayPlan: ...

    def mark_plan_live(self, day: date, now: datetime) -> DayPlan | None:
        """Record `now` as the day's plan's `live_from` unless it has one: returns the stored
        plan (its `live_from` the first one recorded), None if the day has no plan."""
        ...

    def unmark_plan_live(self, day: date) -> DayPlan | None:
        """Remove the day's plan's `live_from`, if it has one (the account went to dry-run: no
        run answers for its slots until a live run marks it again); returns the stored plan,
        None if the day has no plan."""
        ...

    def replace_empty_plan(self, plan: DayPlan, now: datetime) -> DayPlan:
        """Store `plan` in place of its day's stored plan if that one has no slots (content
        came after the day was planned); returns the plan stored afterwards. Of two runs
        replacing the same empty plan, one wins and the other gets the winner's plan."""
        ...

    def claim_slot(self, day: date, index: int, *, now: datetime, lease_seconds: int,
                   as_read: Slot | None | Unread = ...) -> Claim:
        """Take the slot (SlotTaken if another run holds or finished it). `as_read`: the slot as
        this run read it (None: absent), so the claim need not read it again if it is unchanged."""
        ...

    def note_try(self, claim: Claim, item_id: str, now: datetime) -> Claim: ...

    def complete_slot(self, claim: Claim, slot: Slot, *, content: ContentItem | None = None,
                      posts: Sequence[PostRecord] = ()) -> None: ...

    def release_slot(self, claim: Claim, slot: Slot) -> None: ...

    def posts(self, first: date, last: date) -> list[PostRecord]: ...

    def save_post(self, post: PostRecord) -> None: ...

    def save_results(self, results: Sequence[tuple[PostRecord, ContentItem | None]]) -> None:
        """Posts' newest figures and their items' tallies, in `domain.learning.result_batches`
        writes: each post's figures with its item's tally (never one without the other)."""
        ...


class PeopleLedger(Protocol):
    def known(self, user_ids: Sequence[str]) -> dict[str, str]: ...

    def mark_seen(self, entries: Sequence[tuple[str, str]], now: datetime) -> None: ...

    def add_person(self, person: Person) -> bool: ...

    def add_people(self, people: Sequence[Person]) -> set[str]:
        """add_person for many, in as few writes as it takes (each adds all of its people or
        none, so a crash leaves each person added or not, never half): the ids added. Anyone in
        the ledger already is left as they are; an id given twice is added once, as the first."""
        ...

    def people_by_id(self, user_ids: Sequence[str]) -> dict[str, Person]: ...

    def update_person(self, person: Person, *, expected: Collection[PersonStatus],
                      counts: tuple[date, DayCounts] | None = None, credit: SourceCredit | None = None) -> bool:
        """Write `person` if their stored status is one of `expected`; with it, in the same
        transaction, add `counts` to the day's tallies and `credit` to the source."""
        ...

    def update_people(self, changes: Sequence[tuple[Person, Collection[PersonStatus]]], *,
                      counts: tuple[date, Mapping[str, DayCounts]] | None = None) -> set[str]:
        """update_person without credit for many, in as few writes as it takes (each writes all
        of its people or none): each person is written if their stored status is one of theirs;
        the ids written. A person may appear once a call. `counts`: a day and the tallies of
        some of the people (by id): a person's tally is added to the day's in the same write as
        the person, so it counts once, exactly when their change is written."""
        ...

    def queue(self, queue: PersonQueue, *, due_by: datetime | None = None, limit: int) -> list[Person]: ...

    def queue_size(self, queue: PersonQueue, *, due_by: datetime | None = None, limit: int = 10_000) -> int: ...

    def counts(self, first: date, last: date) -> dict[date, DayCounts]: ...


class SourceStore(Protocol):
    def add_source(self, source: Source) -> bool:
        """Add a source (False, nothing written, if it is one already). One removed in the last
        REMOVED_SOURCE_DAYS comes back as it was: its cursor, its figures (a dry one is dry
        again) and any follow-back credited to it meanwhile."""
        ...

    def remove_source(self, source_id: str, *, now: datetime) -> bool:
        """Remove a source (False if it is none); what it was (cursor, figures) is kept for
        REMOVED_SOURCE_DAYS, so adding it again never reads its followers from the start."""
        ...

    def sources(self) -> list[Source]: ...

    def advance_source(self, source_id: str, *, cursor: str | None, exhausted: bool, read: int, suggested: int) -> None: ...

    def credit_source(self, source_id: str | None, *, followed: int = 0, followed_back: int = 0) -> None: ...


class Allowlist(Protocol):
    def allow(self, entry: AllowEntry) -> bool: ...

    def disallow(self, user_id: str) -> bool: ...

    def allowlist(self) -> list[AllowEntry]: ...

    def allowed(self, user_ids: Sequence[str]) -> set[str]: ...


class Frontiers(Protocol):
    """The newest ids seen on a list (followers, following, DMs, mentions): syncs stop there."""

    def frontier(self, name: str) -> list[str]: ...

    def set_frontier(self, name: str, ids: Sequence[str], now: datetime) -> None: ...


class Reconciliations(Protocol):
    """A full read of your following list (for follows made outside Flockpilot), resumable."""

    def recon(self, name: str) -> ReconState | None: ...

    def save_recon(self, state: ReconState) -> None: ...

    def mark_members(self, name: str, ids: Sequence[str], run_id: str) -> None: ...

    def sweep_members(self, name: str, run_id: str) -> list[str]: ...

    def members(self, name: str, *, after: str | None, limit: int) -> list[str]: ...


class Inbox(Protocol):
    """DMs and the day's digest. A message from someone else waits, unshown, from when it is
    stored until a digest that showed it is recorded as sent; nothing a digest reads grows
    with the history kept."""

    def save_messages(self, conversation_id: str, messages: Sequence[Message], now: datetime) -> None:
        """Store DM events; each one from someone else not stored before joins the unshown. A
        message already shown never waits again, however often it is saved."""
        ...

    def unshown(self) -> list[tuple[str, Message]]:
        """Every message no sent digest has shown, as (conversation id, message), by
        conversation, oldest first; each with its `read_at` (when it was last saved)."""
        ...

    def thread(self, conversation_id: str, since_id: str, *, limit: int) -> list[Message]:
        """The stored message just before `since_id` and the newest `limit` from it on, oldest first."""
        ...

    def digest_state(self, day: date) -> str | None: ...

    def claim_digest(self, day: date, now: datetime, *, force: bool) -> bool: ...

    def finish_digest(self, day: date, status: str, *, message_id: str | None = None, error: str | None = None,
                      shown: Sequence[tuple[str, str]] = (), lost_until: datetime | None = None) -> None:
        """Record how the day's digest ended; a "sent" one also records, in the same write,
        that the `shown` messages ((conversation id, message id), at most 98) were shown and
        that the messages given up unshown until `lost_until` were counted."""
        ...

    def lost_counted_until(self) -> datetime | None:
        """The `lost_until` of the last sent digest that gave one (None: none did)."""
        ...


class Ledger(PeopleLedger, SourceStore, Allowlist, Frontiers, Reconciliations, Protocol):
    """Everything follow and prune keep about people, in one aggregate."""
