"""In-memory fakes of every store port, for one account: what DynamoDB does, in dicts.

The contract suite (tests/contract) runs the same tests on this fake and on the DynamoDB
store against DynamoDB Local, so the two cannot drift. `crash_after(n)` makes the n-th
write from now raise Crash before it happens: the fault matrix uses it to stop a run at
every write boundary. Every public method runs under the store's lock, as each DynamoDB
call is atomic: the threaded tests (concurrent deliveries) never read a dict another thread
is changing.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from flockpilot.domain.account import AccountProfile, DayCounts, DaySpend, GrowthPoint
from flockpilot.domain.content import ContentItem
from flockpilot.domain.digest import DM_RETENTION, Message
from flockpilot.domain.feed import Feed
from flockpilot.domain.follow import REMOVED_SOURCE_DAYS, Source
from flockpilot.domain.learning import result_batches
from flockpilot.domain.people import AllowEntry, Person, PersonQueue, PersonStatus, SourceCredit, due_key
from flockpilot.domain.plan import DayPlan
from flockpilot.domain.records import DayRecord, PostRecord, ReconState
from flockpilot.domain.slots import UNREAD, Claim, LeaseLost, Slot, SlotStatus, SlotTaken, Unread

R = TypeVar("R", bound=DayRecord)
SPEND_JOBS = ("post", "follow", "prune", "digest", "reconcile", "metrics")
TRANSACTION_ITEMS = 100  # as adapters/dynamo/ledger.py: DynamoDB's most in one transaction


ITEM_LIMIT = 400 * 1024  # DynamoDB's largest item, in bytes
DAY_ITEM_OVERHEAD = 200  # a day row's keys, saved_at, expires_at and attribute names, generously


def _day_item(record: DayRecord) -> dict[str, Any]:
    """A day record as DynamoDB keeps it: a JSON copy, so nothing a job changes after saving
    reaches the store without a write, refused (before anything is written) past DynamoDB's
    item size, as DynamoDB refuses it (tests/contract checks both)."""
    text = json.dumps(record.to_json())
    if len(text.encode()) + DAY_ITEM_OVERHEAD > ITEM_LIMIT:
        raise ValueError(f"Item size to update has exceeded the maximum allowed size ({len(text.encode())} bytes of body)")
    body: dict[str, Any] = json.loads(text)
    return body


class Crash(BaseException):
    """The process died here (a BaseException, so no job code can catch it by accident)."""


C = TypeVar("C", bound=type)


def atomic(cls: C) -> C:
    """Wrap every public method of `cls` in `with self.lock` (a reentrant lock)."""
    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def under_lock(self: Any, *args: Any, **kwargs: Any) -> Any:
            with self.lock:
                return method(self, *args, **kwargs)
        return under_lock

    for name, member in list(vars(cls).items()):
        if inspect.isfunction(member) and not name.startswith("_"):
            setattr(cls, name, locked(member))
    return cls


@atomic
class MemoryStore:
    """AccountRecords, ContentStore, PlanStore, Ledger and Inbox of one account."""

    def __init__(self, account_id: str = "1700000000000000001") -> None:
        self.account_id = account_id
        self.scope = f"memory:{uuid.uuid4().hex}"  # never reused, unlike id()
        self.plan_reads = 0
        self.library_reads = 0  # list_content calls
        self.post_reads = 0  # posts() calls
        self.slot_reads = 0  # claims that read the slot first (as DynamoDB's: no as_read, or a slot changed since)
        self.lock = threading.RLock()
        self._crash_in: int | None = None
        self.writes = 0
        # records
        self._overrides: dict[str, Any] = {}
        self._deployed: dict[str, Any] | None = None
        self._profile: AccountProfile | None = None
        self._spend: dict[date, dict[str, float]] = {}
        self._runs: dict[tuple[str, date], list[tuple[str, dict[str, Any]]]] = {}
        self._growth: dict[date, GrowthPoint] = {}
        self._gates: dict[str, datetime] = {}
        self._days: dict[tuple[str, date], dict[str, Any]] = {}
        self._settled: set[tuple[str, date]] = set()
        # content and plans
        self._content: dict[str, ContentItem] = {}
        self._removed: set[str] = set()
        self._plans: dict[date, DayPlan] = {}
        self._slots: dict[tuple[date, int], Slot] = {}
        self._posts: dict[str, PostRecord] = {}
        self._feeds: dict[str, Feed] = {}
        self._feed_keys: set[str] = set()
        # ledger
        self._people: dict[str, Person] = {}
        self._seen: dict[str, str] = {}
        self._counts: dict[date, DayCounts] = {}
        self._sources: dict[str, Source] = {}
        self._removed_sources: dict[str, tuple[Source, datetime]] = {}  # what a removed source was, until when
        self._source_tallies: dict[str, tuple[int, int]] = {}  # follows, follow-backs credited to no source
        self._allow: dict[str, AllowEntry] = {}
        self._frontiers: dict[str, list[str]] = {}
        self._recon: dict[str, ReconState] = {}
        self._members: dict[str, dict[str, str]] = {}
        # inbox
        self._messages: dict[str, dict[str, Message]] = {}
        self._unshown: set[tuple[str, str]] = set()
        self._shown_on: dict[tuple[str, str], date] = {}
        self._digests: dict[date, str] = {}
        self._expires: dict[tuple[str, str], datetime] = {}  # each message's TTL
        self._lost_until: datetime | None = None

    # --- crash injection ---------------------------------------------------------------
    def crash_after(self, writes: int | None) -> None:
        """The write after the next `writes` writes raises Crash (None: never)."""
        self._crash_in = writes

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self.lock:
            if self._crash_in is not None:
                if self._crash_in == 0:
                    self._crash_in = None
                    raise Crash("crashed before a write")
                self._crash_in -= 1
            self.writes += 1
            yield

    # --- AccountRecords ----------------------------------------------------------------
    def overrides(self) -> dict[str, Any]:
        return dict(self._overrides)

    def settings_sources(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        return dict(self._overrides), json.loads(json.dumps(self._deployed)) if self._deployed is not None else None

    def record_deployment(self, env: Mapping[str, str], at: datetime) -> None:
        with self._write():
            self._deployed = {"env": dict(env), "at": at.astimezone(UTC).isoformat()}

    def set_override(self, key: str, value: Any) -> None:
        with self._write():
            if value is None:
                self._overrides.pop(key, None)
            else:
                self._overrides[key] = value

    def profile(self) -> AccountProfile | None:
        return self._profile

    def save_profile(self, profile: AccountProfile) -> None:
        with self._write():
            self._profile = profile

    def add_spend(self, day: date, job: str, usd: float, requests: int) -> None:
        if not usd and not requests:
            return
        with self._write():
            self._add_spend(day, job, usd, requests)

    def _add_spend(self, day: date, job: str, usd: float, requests: int) -> None:
        tally = self._spend.setdefault(day, {"usd": 0.0, "requests": 0.0})
        tally["usd"] = round(tally["usd"] + usd, 6)
        tally["requests"] += requests
        tally[job] = round(tally.get(job, 0.0) + usd, 6)

    def spend(self, first: date, last: date) -> dict[date, DaySpend]:
        return {d: DaySpend(usd=t["usd"], requests=int(t["requests"]), by_job=tuple((j, t.get(j, 0.0)) for j in SPEND_JOBS))
                for d, t in self._spend.items() if first <= d <= last}

    def finish_run(self, job: str, day: date, started_at: datetime, usd: float, requests: int,
                   summary: Mapping[str, Any]) -> None:
        with self._write():  # one write: both or neither
            self._add_spend(day, job, usd, requests)
            self._save_run(job, day, started_at, summary)

    def save_run(self, job: str, day: date, started_at: datetime, summary: Mapping[str, Any]) -> None:
        with self._write():
            self._save_run(job, day, started_at, summary)

    def _save_run(self, job: str, day: date, started_at: datetime, summary: Mapping[str, Any]) -> None:
        runs = self._runs.setdefault((job, day), [])
        runs[:] = [r for r in runs if r[0] != started_at.isoformat()] + [(started_at.isoformat(), dict(summary))]
        runs.sort(key=lambda r: r[0])

    def runs(self, job: str, day: date) -> list[dict[str, Any]]:
        return [s for _, s in self._runs.get((job, day), [])]

    def last_run(self, job: str) -> dict[str, Any] | None:
        latest = sorted((r for (j, _), runs in self._runs.items() if j == job for r in runs), key=lambda r: r[0])
        return latest[-1][1] if latest else None

    def record_growth(self, point: GrowthPoint, now: datetime) -> None:
        with self._write():
            self._growth[point.day] = point

    def growth(self, first: date, last: date) -> list[GrowthPoint]:
        return [p for d, p in sorted(self._growth.items()) if first <= d <= last]

    def gates(self) -> dict[str, datetime]:
        return dict(self._gates)

    def set_gate(self, endpoint: str, until: datetime) -> None:
        with self._write():
            self._gates[endpoint] = until

    def load_day(self, kind: type[R], day: date) -> R | None:
        body = self._days.get((kind.kind, day))
        return None if body is None else kind.from_json(day, json.loads(json.dumps(body)))

    def save_day(self, record: DayRecord, now: datetime) -> None:
        body = _day_item(record)
        with self._write():
            self._days[(record.kind, record.day)] = body

    def settle_day(self, record: DayRecord, now: datetime) -> bool:
        with self.lock:
            if (record.kind, record.day) in self._settled:
                return False
            body = _day_item(record)
            with self._write():
                self._days[(record.kind, record.day)] = body
                self._settled.add((record.kind, record.day))
            return True

    # --- ContentStore --------------------------------------------------------------------
    def add_content(self, item: ContentItem) -> bool:
        with self.lock:
            if item.item_id in self._content:
                return False
            with self._write():
                self._content[item.item_id] = item
            return True

    def get_content(self, item_id: str) -> ContentItem | None:
        return self._content.get(item_id)

    def list_content(self) -> list[ContentItem]:
        self.library_reads += 1
        return list(self._content.values())

    def save_content(self, item: ContentItem) -> None:
        with self.lock:
            current = self._content.get(item.item_id)
            if current is None:
                return
            with self._write():
                self._content[item.item_id] = _state_of(current, item)

    def remove_content(self, item_id: str, now: datetime) -> bool:
        with self.lock:
            if item_id not in self._content:
                return False
            with self._write():
                del self._content[item_id]
                self._removed.add(item_id)
            return True

    def removed(self, item_ids: Collection[str]) -> set[str]:
        return {i for i in item_ids if i in self._removed}

    # --- PlanStore -----------------------------------------------------------------------
    def plan_and_slots(self, day: date) -> tuple[DayPlan | None, dict[int, Slot]]:
        with self.lock:
            self.plan_reads += 1
            return self._plans.get(day), {i: s for (d, i), s in self._slots.items() if d == day}

    def put_plan_if_absent(self, plan: DayPlan, now: datetime) -> DayPlan:
        with self.lock:
            if plan.day in self._plans:
                return self._plans[plan.day]
            with self._write():
                self._plans[plan.day] = plan
            return plan

    def mark_plan_live(self, day: date, now: datetime) -> DayPlan | None:
        with self.lock:
            stored = self._plans.get(day)
            if stored is not None and stored.live_from is None:
                with self._write():
                    self._plans[day] = stored = replace(stored, live_from=now)
            return stored

    def unmark_plan_live(self, day: date) -> DayPlan | None:
        with self.lock:
            stored = self._plans.get(day)
            if stored is not None and stored.live_from is not None:
                with self._write():
                    self._plans[day] = stored = replace(stored, live_from=None)
            return stored

    def replace_empty_plan(self, plan: DayPlan, now: datetime) -> DayPlan:
        with self.lock:
            stored = self._plans.get(plan.day)
            if stored is not None and stored.slots:
                return stored
            with self._write():
                self._plans[plan.day] = plan
            return plan

    def claim_slot(self, day: date, index: int, *, now: datetime, lease_seconds: int,
                   as_read: Slot | None | Unread = UNREAD) -> Claim:
        self.slot_reads += isinstance(as_read, Unread) or self._slots.get((day, index)) != as_read
        with self.lock:
            current = self._slots.get((day, index))
            if current is not None and not current.claimable(now, lease_seconds):
                raise SlotTaken(f"slot {index} is {current.status}")
            base = current or Slot(day=day, index=index, status=SlotStatus.OPEN)
            lease = uuid.uuid4().hex
            slot = replace(base, status=SlotStatus.CLAIMED, version=base.version + 1, lease=lease, claimed_at=now,
                           first_claimed_at=base.first_claimed_at or now)
            with self._write():
                self._slots[(day, index)] = slot
            return Claim(day=day, index=index, lease=lease, slot=slot, previous=current)

    def _holds(self, claim: Claim) -> Slot:
        current = self._slots.get((claim.day, claim.index))
        if current is None or current.lease != claim.lease:
            raise LeaseLost(f"slot {claim.index}")
        return current

    def note_try(self, claim: Claim, item_id: str, now: datetime) -> Claim:
        with self.lock:
            current = self._holds(claim)
            tried = claim.slot.tried + ((item_id,) if item_id not in claim.slot.tried else ())
            with self._write():
                self._slots[(claim.day, claim.index)] = replace(current, tried=tried)
            return replace(claim, slot=replace(claim.slot, tried=tried))

    def complete_slot(self, claim: Claim, slot: Slot, *, content: ContentItem | None = None,
                      posts: Sequence[PostRecord] = ()) -> None:
        with self.lock:
            self._holds(claim)
            with self._write():  # one transaction: one write boundary
                self._slots[(claim.day, claim.index)] = replace(slot, lease=None)
                if content is not None and content.item_id in self._content:
                    self._content[content.item_id] = _state_of(self._content[content.item_id], content)
                for post in posts:
                    self._posts[post.post_id] = post

    def release_slot(self, claim: Claim, slot: Slot) -> None:
        with self.lock:
            self._holds(claim)
            with self._write():
                self._slots[(claim.day, claim.index)] = replace(slot, lease=None)

    def posts(self, first: date, last: date) -> list[PostRecord]:
        self.post_reads += 1
        return sorted((p for p in self._posts.values() if first <= p.day <= last), key=lambda p: (p.day, p.post_id))

    def save_post(self, post: PostRecord) -> None:
        with self._write():
            self._posts[post.post_id] = post

    def save_results(self, results: Sequence[tuple[PostRecord, ContentItem | None]]) -> None:
        for posts, items in result_batches(results):
            with self._write():  # one transaction: one write boundary
                for post in posts:
                    self._posts[post.post_id] = post
                for item in items:
                    if item.item_id in self._content:
                        self._content[item.item_id] = _state_of(self._content[item.item_id], item)

    def add_feed(self, feed: Feed) -> bool:
        with self.lock:
            if feed.feed_id in self._feeds:
                return False
            with self._write():
                self._feeds[feed.feed_id] = feed
            return True

    def remove_feed(self, feed_id: str) -> bool:
        with self.lock:
            if feed_id not in self._feeds:
                return False
            with self._write():
                del self._feeds[feed_id]
            return True

    def feeds(self) -> list[Feed]:
        return sorted(self._feeds.values(), key=lambda f: f.feed_id)

    def save_feed(self, feed: Feed) -> None:
        with self.lock:
            if feed.feed_id in self._feeds:
                with self._write():
                    self._feeds[feed.feed_id] = feed

    def seen_feed_keys(self, keys: Collection[str]) -> set[str]:
        return {k for k in keys if k in self._feed_keys}

    def remember_feed_keys(self, keys: Collection[str], now: datetime) -> None:
        if keys:
            with self._write():
                self._feed_keys.update(keys)

    # --- PeopleLedger --------------------------------------------------------------------
    def known(self, user_ids: Sequence[str]) -> dict[str, str]:
        result = {i: self._people[i].status.value for i in user_ids if i in self._people}
        for i in user_ids:
            if i in self._seen:
                result.setdefault(i, "seen")
        return result

    def mark_seen(self, entries: Sequence[tuple[str, str]], now: datetime) -> None:
        if not entries:
            return
        with self._write():
            for user_id, reason in entries:
                self._seen[user_id] = reason[:200]

    def add_person(self, person: Person) -> bool:
        with self.lock:
            if person.user_id in self._people:
                return False
            with self._write():
                self._people[person.user_id] = person
            return True

    def add_people(self, people: Sequence[Person]) -> set[str]:
        first: dict[str, Person] = {}
        for person in people:
            first.setdefault(person.user_id, person)
        return self._write_each([(p, lambda current: current is None) for p in first.values()])

    def update_people(self, changes: Sequence[tuple[Person, Collection[PersonStatus]]], *,
                      counts: tuple[date, Mapping[str, DayCounts]] | None = None) -> set[str]:
        ids = [person.user_id for person, _ in changes]
        if len(set(ids)) < len(ids):
            raise ValueError("update_people: a person twice in one call")
        def from_expected(expected: Collection[PersonStatus]) -> Callable[[Person | None], bool]:
            return lambda current: current is not None and current.status in expected

        writes = [(person, from_expected(expected)) for person, expected in changes]
        if counts is None:
            return self._write_each(writes)
        day, tallies = counts
        if set(tallies) - set(ids):
            raise ValueError("update_people: a tally for someone not among the changes")
        return self._write_each(writes, day=day, tallies={i: t for i, t in tallies.items() if t != DayCounts()})

    def _write_each(self, writes: list[tuple[Person, Callable[[Person | None], bool]]], *, day: date | None = None,
                    tallies: Mapping[str, DayCounts] | None = None) -> set[str]:
        """As DynamoDB: TRANSACTION_ITEMS people a write (one less with tallies: the day's row is
        one of the transaction's items), all of its people and their tallies or none (a crash)."""
        tallies = tallies or {}
        size = TRANSACTION_ITEMS - 1 if tallies else TRANSACTION_ITEMS
        written: set[str] = set()
        for start in range(0, len(writes), size):
            chunk = [(p, ok) for p, ok in writes[start:start + size] if ok(self._people.get(p.user_id))]
            if not chunk:
                continue
            with self._write():
                for person, _ in chunk:
                    self._people[person.user_id] = person
                    if day is not None and (tally := tallies.get(person.user_id)) is not None:
                        self._add_counts(day, tally)
            written.update(p.user_id for p, _ in chunk)
        return written

    def _add_counts(self, day: date, tally: DayCounts) -> None:
        before = self._counts.get(day, DayCounts())
        self._counts[day] = DayCounts(before.follows + tally.follows, before.unfollows + tally.unfollows,
                                      before.quick_unfollows + tally.quick_unfollows)

    def people_by_id(self, user_ids: Sequence[str]) -> dict[str, Person]:
        return {i: self._people[i] for i in dict.fromkeys(user_ids) if i in self._people}

    def update_person(self, person: Person, *, expected: Collection[PersonStatus],
                      counts: tuple[date, DayCounts] | None = None, credit: SourceCredit | None = None) -> bool:
        with self.lock:
            current = self._people.get(person.user_id)
            if current is None or current.status not in expected:
                return False
            with self._write():
                self._people[person.user_id] = person
                if counts is not None:
                    self._add_counts(*counts)
                if credit is not None and credit.source_id in self._sources:
                    source = self._sources[credit.source_id]
                    self._sources[source.source_id] = replace(source, followed=source.followed + credit.followed,
                                                              followed_back=source.followed_back + credit.followed_back)
                elif credit is not None and credit.source_id:  # as DynamoDB: a tally, counted if it is added again
                    followed, followed_back = self._source_tallies.get(credit.source_id, (0, 0))
                    self._source_tallies[credit.source_id] = (followed + credit.followed, followed_back + credit.followed_back)
            return True

    def _in_queue(self, queue: PersonQueue, due_by: datetime | None) -> list[tuple[str, Person]]:
        bound = due_key(due_by) if due_by is not None else None
        entries = []
        for person in self._people.values():
            placement = person.placement()
            if placement is None or placement[0] is not queue:
                continue
            if bound is not None and placement[1] > bound:
                continue
            entries.append((placement[1], person))
        return sorted(entries, key=lambda e: e[0])

    def queue(self, queue: PersonQueue, *, due_by: datetime | None = None, limit: int) -> list[Person]:
        with self.lock:
            return [p for _, p in self._in_queue(queue, due_by)[: max(0, limit)]]

    def queue_size(self, queue: PersonQueue, *, due_by: datetime | None = None, limit: int = 10_000) -> int:
        with self.lock:
            return min(limit, len(self._in_queue(queue, due_by)))

    def counts(self, first: date, last: date) -> dict[date, DayCounts]:
        return {d: c for d, c in self._counts.items() if first <= d <= last}

    # --- SourceStore ---------------------------------------------------------------------
    def add_source(self, source: Source) -> bool:
        with self.lock:
            if source.source_id in self._sources:
                return False
            removed, expires = self._removed_sources.get(source.source_id, (None, source.added_at))
            if removed is not None and expires > source.added_at:
                source = replace(source, cursor=removed.cursor, exhausted=removed.exhausted, read=removed.read,
                                 suggested=removed.suggested, followed=removed.followed, followed_back=removed.followed_back)
            followed, followed_back = self._source_tallies.get(source.source_id, (0, 0))
            with self._write():
                self._sources[source.source_id] = replace(source, followed=source.followed + followed,
                                                          followed_back=source.followed_back + followed_back)
                self._removed_sources.pop(source.source_id, None)
                self._source_tallies.pop(source.source_id, None)
            return True

    def remove_source(self, source_id: str, *, now: datetime) -> bool:
        with self.lock:
            if source_id not in self._sources:
                return False
            with self._write():
                self._removed_sources[source_id] = (self._sources.pop(source_id), now + timedelta(days=REMOVED_SOURCE_DAYS))
            return True

    def sources(self) -> list[Source]:
        return sorted(self._sources.values(), key=lambda s: s.source_id)

    def advance_source(self, source_id: str, *, cursor: str | None, exhausted: bool, read: int, suggested: int) -> None:
        with self.lock:
            source = self._sources.get(source_id)
            if source is None:
                return
            with self._write():
                self._sources[source_id] = replace(source, cursor=cursor, exhausted=exhausted, read=source.read + read,
                                                   suggested=source.suggested + suggested)

    def credit_source(self, source_id: str | None, *, followed: int = 0, followed_back: int = 0) -> None:
        with self.lock:
            source = self._sources.get(source_id or "")
            if source is None:
                return
            with self._write():
                self._sources[source.source_id] = replace(source, followed=source.followed + followed,
                                                          followed_back=source.followed_back + followed_back)

    # --- Allowlist -----------------------------------------------------------------------
    def allow(self, entry: AllowEntry) -> bool:
        with self.lock:
            if entry.user_id in self._allow:
                return False
            with self._write():
                self._allow[entry.user_id] = entry
            return True

    def disallow(self, user_id: str) -> bool:
        with self.lock:
            if user_id not in self._allow:
                return False
            with self._write():
                del self._allow[user_id]
            return True

    def allowlist(self) -> list[AllowEntry]:
        return sorted(self._allow.values(), key=lambda e: e.user_id)

    def allowed(self, user_ids: Sequence[str]) -> set[str]:
        return {i for i in user_ids if i in self._allow}

    # --- Frontiers and reconciliation --------------------------------------------------
    def frontier(self, name: str) -> list[str]:
        return list(self._frontiers.get(name, []))

    def set_frontier(self, name: str, ids: Sequence[str], now: datetime) -> None:
        with self._write():
            self._frontiers[name] = list(ids)[:200]

    def recon(self, name: str) -> ReconState | None:
        state = self._recon.get(name)
        return None if state is None else replace(state)

    def save_recon(self, state: ReconState) -> None:
        with self._write():
            self._recon[state.name] = replace(state)

    def mark_members(self, name: str, ids: Sequence[str], run_id: str) -> None:
        with self._write():
            members = self._members.setdefault(name, {})
            for user_id in ids:
                members[user_id] = run_id

    def sweep_members(self, name: str, run_id: str) -> list[str]:
        with self._write():
            members = self._members.setdefault(name, {})
            gone = sorted(i for i, run in members.items() if run != run_id)
            for user_id in gone:
                del members[user_id]
            return gone

    def members(self, name: str, *, after: str | None, limit: int) -> list[str]:
        ids = sorted(self._members.get(name, {}))
        if after is not None:
            ids = [i for i in ids if i > after]
        return ids[:limit]

    # --- Inbox ---------------------------------------------------------------------------
    def save_messages(self, conversation_id: str, messages: Sequence[Message], now: datetime) -> None:
        for m in messages:
            with self._write():
                key = (conversation_id, m.id)
                if key in self._shown_on:
                    continue
                self._messages.setdefault(conversation_id, {})[m.id] = replace(m, read_at=now)
                self._expires[key] = now + DM_RETENTION
                if not m.from_me:
                    self._unshown.add(key)

    def unshown(self) -> list[tuple[str, Message]]:
        return [(cid, self._messages[cid][mid]) for cid, mid in sorted(self._unshown, key=lambda k: (k[0], int(k[1])))]

    def thread(self, conversation_id: str, since_id: str, *, limit: int) -> list[Message]:
        stored = sorted(self._messages.get(conversation_id, {}).values(), key=lambda m: int(m.id))
        before = [m for m in stored if int(m.id) < int(since_id)][-1:]
        after = [m for m in stored if int(m.id) >= int(since_id)][-limit:]
        return before + after

    def shown_on(self, conversation_id: str, message_id: str) -> date | None:
        """Test helper: the day of the sent digest that showed a message."""
        return self._shown_on.get((conversation_id, message_id))

    def expire(self, now: datetime) -> int:
        """Test helper: what DynamoDB's TTL does, at once (the worst case: it may also come
        days late): every message row past its expiry is gone. Returns how many went."""
        gone = [key for key, at in self._expires.items() if at <= now]
        for cid, mid in gone:
            self._messages.get(cid, {}).pop(mid, None)
            self._unshown.discard((cid, mid))
            self._shown_on.pop((cid, mid), None)
            del self._expires[(cid, mid)]
        return len(gone)

    def digest_state(self, day: date) -> str | None:
        return self._digests.get(day)

    def lost_counted_until(self) -> datetime | None:
        return self._lost_until

    def claim_digest(self, day: date, now: datetime, *, force: bool) -> bool:
        with self.lock:
            state = self._digests.get(day)
            if not force and state not in (None, "failed"):
                return False
            with self._write():
                self._digests[day] = "sending"
            return True

    def finish_digest(self, day: date, status: str, *, message_id: str | None = None, error: str | None = None,
                      shown: Sequence[tuple[str, str]] = (), lost_until: datetime | None = None) -> None:
        if len(shown) > 98:
            raise ValueError(f"{len(shown)} messages shown: one transaction records at most 98")
        with self._write():  # one write, as DynamoDB's transaction
            self._digests[day] = status
            if status == "sent":
                expires = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + DM_RETENTION
                for conversation_id, message_id_ in shown:
                    key = (conversation_id, message_id_)
                    self._unshown.discard(key)
                    self._shown_on[key] = day
                    self._expires[key] = max(self._expires.get(key, expires), expires)
                if lost_until is not None:
                    self._lost_until = lost_until


def _state_of(current: ContentItem, new: ContentItem) -> ContentItem:
    """What save_content writes: the item's posting state, never its text or kind."""
    return replace(current, status=new.status, times_posted=new.times_posted, last_posted_at=new.last_posted_at,
                   cooldown_until=new.cooldown_until, last_error=new.last_error, learning=new.learning)


