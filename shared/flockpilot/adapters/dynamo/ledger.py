"""The people ledger, sources, allowlist, sync frontiers and reconciliation state (Ledger).

Each person is one item; the ones some job reads by queue also carry q_pk/q_sk for the
sparse queue index (PersonQueue plus a due date or rank), so jobs read only what is due.
A person's status change, the day's follow/unfollow tallies and the source's credit are one
transaction, conditional on the status the change comes from.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from flockpilot.adapters.dynamo.base import QUEUE_INDEX, Row, attempt, pk_of, raw_query, transaction, utc
from flockpilot.domain.account import DayCounts
from flockpilot.domain.follow import REMOVED_SOURCE_DAYS, Source, SourceKind
from flockpilot.domain.people import AllowEntry, Card, Person, PersonQueue, PersonStatus, SourceCredit, due_key
from flockpilot.domain.records import ReconState


class PersonRow(Row):
    body = JSONAttribute()
    status = UnicodeAttribute()

class SeenRow(Row):
    reason = UnicodeAttribute()

class CountsRow(Row):
    follows = NumberAttribute(default=0)
    unfollows = NumberAttribute(default=0)
    quick_unfollows = NumberAttribute(default=0)

class SourceRow(Row):
    source_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    label = UnicodeAttribute()
    cursor = UnicodeAttribute(null=True)
    exhausted = BooleanAttribute(default=False)
    read_users = NumberAttribute(default=0)
    suggested = NumberAttribute(default=0)
    followed = NumberAttribute(default=0)
    followed_back = NumberAttribute(default=0)
    added_at = UTCDateTimeAttribute()

class RemovedSourceRow(Row):
    """What a removed source was (its cursor and figures), until it expires."""

    body = JSONAttribute()

class AllowRow(Row):
    username = UnicodeAttribute(default="")
    reason = UnicodeAttribute()
    added_at = UTCDateTimeAttribute()

class FrontierRow(Row):
    ids = ListAttribute(of=UnicodeAttribute, default=list)
    updated_at = UTCDateTimeAttribute()

class ReconRow(Row):
    body = JSONAttribute()

class MemberRow(Row):
    seen_run = UnicodeAttribute()

SEEN_RETENTION = timedelta(days=180)
COUNTS_RETENTION = timedelta(days=60)
MEMBER_RETENTION = timedelta(days=120)
TRANSACTION_ITEMS = 100  # DynamoDB's most in one TransactWriteItems


class DynamoLedger:
    def __init__(self, account_id: str) -> None:
        self.pk = pk_of(account_id)

    # --- people ------------------------------------------------------------------------
    def _queue_pk(self, queue: PersonQueue | str) -> str:
        return f"{self.pk}#Q#{queue}"

    def _person_row(self, person: Person) -> PersonRow:
        placement = person.placement()
        return PersonRow(self.pk, f"PERSON#{person.user_id}", body=_person_to_json(person), status=person.status.value,
                         q_pk=self._queue_pk(placement[0]) if placement else None, q_sk=placement[1] if placement else None,
                         expires_at=person.expires_at())

    def known(self, user_ids: Sequence[str]) -> dict[str, str]:
        """For each id in the ledger or screened out lately: its status, or 'seen'."""
        unique = list(dict.fromkeys(user_ids))
        result: dict[str, str] = {}
        if not unique:
            return result
        for row in PersonRow.batch_get([(self.pk, f"PERSON#{i}") for i in unique], attributes_to_get=["sk", "status"]):
            result[row.sk.removeprefix("PERSON#")] = row.status
        for seen in SeenRow.batch_get([(self.pk, f"SEEN#{i}") for i in unique], attributes_to_get=["sk"]):
            result.setdefault(seen.sk.removeprefix("SEEN#"), "seen")
        return result

    def mark_seen(self, entries: Sequence[tuple[str, str]], now: datetime) -> None:
        with SeenRow.batch_write() as batch:
            for user_id, reason in entries:
                batch.save(SeenRow(self.pk, f"SEEN#{user_id}", reason=reason[:200], expires_at=now + SEEN_RETENTION))

    def add_person(self, person: Person) -> bool:
        """Record someone new; False (nothing written) if they are in the ledger already."""
        return _put(self._person_row(person), PersonRow.sk.does_not_exist())

    def add_people(self, people: Sequence[Person]) -> set[str]:
        """add_person for many, up to TRANSACTION_ITEMS a write: the ids added (an id given twice:
        the first)."""
        first: dict[str, Person] = {}
        for person in people:
            first.setdefault(person.user_id, person)
        return self._write_each([(p.user_id, self._person_row(p), PersonRow.sk.does_not_exist()) for p in first.values()])

    def update_people(self, changes: Sequence[tuple[Person, Collection[PersonStatus]]], *,
                      counts: tuple[date, Mapping[str, DayCounts]] | None = None) -> set[str]:
        """update_person (no credit) for many, up to TRANSACTION_ITEMS a write: the ids written
        (each person once a call). `counts`: the day and some people's tallies, each added in the
        transaction that writes its person (the day's row is one of its items)."""
        seen: set[str] = set()
        writes = []
        for person, expected in changes:
            if person.user_id in seen:
                raise ValueError(f"update_people: {person.user_id} twice in one call")
            seen.add(person.user_id)
            writes.append((person.user_id, self._person_row(person),
                           PersonRow.sk.exists() & PersonRow.status.is_in(*[s.value for s in expected])))
        if counts is None:
            return self._write_each(writes)
        day, tallies = counts
        if unknown := set(tallies) - seen:
            raise ValueError(f"update_people: a tally for {sorted(unknown)[0]}, who is not among the changes")
        return self._write_each(writes, day=day, tallies={i: t for i, t in tallies.items() if t != DayCounts()})

    def _write_each(self, writes: Sequence[tuple[str, PersonRow, Condition]], *, day: date | None = None,
                    tallies: Mapping[str, DayCounts] | None = None) -> set[str]:
        """Conditional puts, up to TRANSACTION_ITEMS in one transaction: it writes all of its rows
        or none, and is sent again without the rows whose condition failed (so each row is written
        exactly when a put of its own would have been). With `tallies`, each transaction also adds
        the tallies of the people it carries to the day's row (one item of the transaction, so
        a tally is added exactly when its person is written). A row left alone without a tally
        goes as a plain put. Returns the ids written."""
        tallies = tallies or {}
        size = TRANSACTION_ITEMS - 1 if tallies else TRANSACTION_ITEMS  # room for the day's row
        written: set[str] = set()
        for start in range(0, len(writes), size):
            chunk = list(writes[start:start + size])
            while len(chunk) > 1 or (chunk and chunk[0][0] in tallies):
                tally = _sum_counts([t for user_id, _, _ in chunk if (t := tallies.get(user_id)) is not None])
                failed = _failed_conditions(chunk, None if tally is None or day is None
                                            else functools.partial(self._add_counts, day=day, tally=tally))
                if not failed:
                    written.update(user_id for user_id, _, _ in chunk)
                    chunk = []
                chunk = [w for i, w in enumerate(chunk) if i not in failed]
            for user_id, row, condition in chunk:
                if _put(row, condition):
                    written.add(user_id)
        return written

    def _add_counts(self, tx: TransactWrite, day: date, tally: DayCounts) -> None:
        """In `tx`: add `tally` to the day's follow/unfollow tallies."""
        tx.update(CountsRow(self.pk, f"COUNTS#{day.isoformat()}"), actions=[
            CountsRow.follows.add(tally.follows), CountsRow.unfollows.add(tally.unfollows),
            CountsRow.quick_unfollows.add(tally.quick_unfollows),
            CountsRow.expires_at.set(datetime.combine(day, time(), tzinfo=UTC) + COUNTS_RETENTION)])

    def people_by_id(self, user_ids: Sequence[str]) -> dict[str, Person]:
        unique = list(dict.fromkeys(user_ids))
        if not unique:
            return {}
        return {p.user_id: p for p in (_person(r) for r in PersonRow.batch_get([(self.pk, f"PERSON#{i}") for i in unique]))}

    def update_person(self, person: Person, *, expected: Collection[PersonStatus],
                      counts: tuple[date, DayCounts] | None = None, credit: SourceCredit | None = None) -> bool:
        row = self._person_row(person)
        condition = PersonRow.sk.exists() & PersonRow.status.is_in(*[s.value for s in expected])
        if counts is None and (credit is None or not credit.source_id):
            return attempt(lambda: row.save(condition=condition))

        def together() -> None:
            with transaction() as tx:
                tx.save(row, condition=condition)
                if counts is not None:
                    self._add_counts(tx, *counts)
                if credit is not None and credit.source_id:
                    # No condition: a source removed since only leaves a tally, which sources() skips.
                    tx.update(SourceRow(self.pk, f"SOURCE#{credit.source_id}"),
                              actions=[SourceRow.followed.add(credit.followed), SourceRow.followed_back.add(credit.followed_back)])

        return attempt(together)

    def queue(self, queue: PersonQueue, *, due_by: datetime | None = None, limit: int) -> list[Person]:
        """The first `limit` people of a queue (best first, or due first), up to `due_by`."""
        if limit <= 0:
            return []
        condition = Row.q_sk <= due_key(due_by) if due_by is not None else None
        items = raw_query(self._queue_pk(queue), condition, index=QUEUE_INDEX, limit=limit)
        return [_person(PersonRow.from_raw_data(item)) for item in items]

    def queue_size(self, queue: PersonQueue, *, due_by: datetime | None = None, limit: int = 10_000) -> int:
        condition = Row.q_sk <= due_key(due_by) if due_by is not None else None
        return int(Row.queue.count(self._queue_pk(queue), range_key_condition=condition, limit=limit))

    def counts(self, first: date, last: date) -> dict[date, DayCounts]:
        rows = CountsRow.query(self.pk, CountsRow.sk.between(f"COUNTS#{first.isoformat()}", f"COUNTS#{last.isoformat()}"))
        return {date.fromisoformat(r.sk.removeprefix("COUNTS#")): DayCounts(int(r.follows or 0), int(r.unfollows or 0),
                                                                            int(r.quick_unfollows or 0)) for r in rows}

    # --- sources -----------------------------------------------------------------------
    def add_source(self, source: Source) -> bool:
        """One update, so a follow-back credited to it while it was removed (a tally row, see
        update_person) adds to its figures; a removed one comes back as it was, and what was
        kept of it goes in the same transaction."""
        removed = self._removed_source(source.source_id, source.added_at)
        if removed is not None:
            source = replace(source, cursor=removed.get("cursor"), exhausted=bool(removed.get("exhausted", False)),
                             read=int(removed.get("read", 0)), suggested=int(removed.get("suggested", 0)),
                             followed=int(removed.get("followed", 0)), followed_back=int(removed.get("followed_back", 0)))
        row = SourceRow(self.pk, f"SOURCE#{source.source_id}")
        actions: list[Action] = [
            SourceRow.source_id.set(source.source_id), SourceRow.kind.set(source.kind.value), SourceRow.label.set(source.label),
            SourceRow.cursor.set(source.cursor) if source.cursor else SourceRow.cursor.remove(),
            SourceRow.exhausted.set(source.exhausted), SourceRow.read_users.set(source.read),
            SourceRow.suggested.set(source.suggested), SourceRow.followed.add(source.followed),
            SourceRow.followed_back.add(source.followed_back), SourceRow.added_at.set(source.added_at)]
        condition = SourceRow.kind.does_not_exist()
        if removed is None:
            return attempt(lambda: row.update(actions=actions, condition=condition))

        def together() -> None:
            with transaction() as tx:
                tx.update(row, actions=actions, condition=condition)
                tx.delete(RemovedSourceRow(self.pk, f"REMOVEDSOURCE#{source.source_id}"))

        return attempt(together)

    def _removed_source(self, source_id: str, now: datetime) -> dict[str, Any] | None:
        try:
            row = RemovedSourceRow.get(self.pk, f"REMOVEDSOURCE#{source_id}", consistent_read=True)
        except RemovedSourceRow.DoesNotExist:
            return None
        expires = utc(row.expires_at)
        return dict(row.body) if expires is None or expires > now else None  # DynamoDB deletes expired items late

    def remove_source(self, source_id: str, *, now: datetime) -> bool:
        for _ in range(3):  # a run reading the source meanwhile moved its cursor: keep the new one
            try:
                row = SourceRow.get(self.pk, f"SOURCE#{source_id}", consistent_read=True)
            except SourceRow.DoesNotExist:
                return False
            if not row.kind:  # only a tally (see update_person): not a source
                return False
            if self._remove_keeping(row, now):
                return True
        return False

    def _remove_keeping(self, row: SourceRow, now: datetime) -> bool:
        source_id = row.source_id
        kept = RemovedSourceRow(self.pk, f"REMOVEDSOURCE#{source_id}", expires_at=now + timedelta(days=REMOVED_SOURCE_DAYS),
                                body={"kind": row.kind, "label": row.label, "cursor": row.cursor, "exhausted": bool(row.exhausted),
                                      "read": int(row.read_users or 0), "suggested": int(row.suggested or 0),
                                      "followed": int(row.followed or 0), "followed_back": int(row.followed_back or 0),
                                      "removed_at": now.isoformat()})

        def together() -> None:
            with transaction() as tx:  # what it was is kept with its removal, or neither happens
                # Unchanged since read: a run reading it, or a follow-back credited to it meanwhile,
                # makes this fail (then it is read again), never lost with the row.
                condition = SourceRow.kind.exists()
                for attribute, value in ((SourceRow.read_users, row.read_users), (SourceRow.followed, row.followed),
                                         (SourceRow.followed_back, row.followed_back), (SourceRow.suggested, row.suggested)):
                    # a figure never written reads as its default, 0
                    condition &= attribute.does_not_exist() | (attribute == value) if not value else attribute == value
                tx.delete(SourceRow(self.pk, f"SOURCE#{source_id}"), condition=condition)
                tx.save(kept)

        return attempt(together)

    def sources(self) -> list[Source]:
        return [Source(source_id=r.source_id, kind=SourceKind(r.kind), label=r.label, added_at=utc(r.added_at) or r.added_at,
                       cursor=r.cursor, exhausted=bool(r.exhausted), read=int(r.read_users or 0), suggested=int(r.suggested or 0),
                       followed=int(r.followed or 0), followed_back=int(r.followed_back or 0))
                for r in SourceRow.query(self.pk, SourceRow.sk.startswith("SOURCE#")) if r.kind]

    def advance_source(self, source_id: str, *, cursor: str | None, exhausted: bool, read: int, suggested: int) -> None:
        actions: list[Action] = [SourceRow.cursor.set(cursor) if cursor else SourceRow.cursor.remove(),
                                 SourceRow.exhausted.set(exhausted), SourceRow.read_users.add(read), SourceRow.suggested.add(suggested)]
        attempt(lambda: SourceRow(self.pk, f"SOURCE#{source_id}").update(actions=actions, condition=SourceRow.sk.exists()))

    def credit_source(self, source_id: str | None, *, followed: int = 0, followed_back: int = 0) -> None:
        if not source_id:
            return
        attempt(lambda: SourceRow(self.pk, f"SOURCE#{source_id}").update(
            actions=[SourceRow.followed.add(followed), SourceRow.followed_back.add(followed_back)],
            condition=SourceRow.sk.exists()))

    # --- allowlist ---------------------------------------------------------------------
    def allow(self, entry: AllowEntry) -> bool:
        row = AllowRow(self.pk, f"ALLOW#{entry.user_id}", username=entry.username, reason=entry.reason, added_at=entry.added_at)
        return attempt(lambda: row.save(condition=AllowRow.sk.does_not_exist()))

    def disallow(self, user_id: str) -> bool:
        return attempt(lambda: AllowRow(self.pk, f"ALLOW#{user_id}").delete(condition=AllowRow.sk.exists()))

    def allowlist(self) -> list[AllowEntry]:
        return [AllowEntry(r.sk.removeprefix("ALLOW#"), r.username, r.reason, utc(r.added_at) or r.added_at)
                for r in AllowRow.query(self.pk, AllowRow.sk.startswith("ALLOW#"))]

    def allowed(self, user_ids: Sequence[str]) -> set[str]:
        unique = list(dict.fromkeys(user_ids))
        if not unique:
            return set()
        rows = AllowRow.batch_get([(self.pk, f"ALLOW#{i}") for i in unique], attributes_to_get=["sk"])
        return {r.sk.removeprefix("ALLOW#") for r in rows}

    # --- frontiers ---------------------------------------------------------------------
    def frontier(self, name: str) -> list[str]:
        try:
            return [str(i) for i in FrontierRow.get(self.pk, f"FRONTIER#{name}", consistent_read=True).ids or []]
        except FrontierRow.DoesNotExist:
            return []

    def set_frontier(self, name: str, ids: Sequence[str], now: datetime) -> None:
        FrontierRow(self.pk, f"FRONTIER#{name}", ids=list(ids)[:200], updated_at=now).save()

    # --- reconciliation ----------------------------------------------------------------
    def recon(self, name: str) -> ReconState | None:
        try:
            body = ReconRow.get(self.pk, f"RECON#{name}", consistent_read=True).body
        except ReconRow.DoesNotExist:
            return None
        return ReconState(name=body["name"], run_id=body["run_id"], started_at=datetime.fromisoformat(body["started_at"]),
                          cursor=body.get("cursor"), read=int(body.get("read", 0)), usd=float(body.get("usd", 0.0)),
                          month=body.get("month"),
                          finished_at=datetime.fromisoformat(body["finished_at"]) if body.get("finished_at") else None)

    def save_recon(self, state: ReconState) -> None:
        body = asdict(state)
        body["started_at"] = state.started_at.isoformat()
        body["finished_at"] = state.finished_at.isoformat() if state.finished_at else None
        ReconRow(self.pk, f"RECON#{state.name}", body=body).save()

    def mark_members(self, name: str, ids: Sequence[str], run_id: str) -> None:
        with MemberRow.batch_write() as batch:
            for user_id in ids:
                batch.save(MemberRow(self.pk, f"MEMBER#{name}#{user_id}", seen_run=run_id))

    def sweep_members(self, name: str, run_id: str) -> list[str]:
        """Members not seen by run `run_id`: they left the list. Removes and returns them."""
        gone = [r for r in MemberRow.query(self.pk, MemberRow.sk.startswith(f"MEMBER#{name}#"), attributes_to_get=["sk", "seen_run"])
                if r.seen_run != run_id]
        with MemberRow.batch_write() as batch:
            for row in gone:
                batch.delete(MemberRow(self.pk, row.sk))
        return [r.sk.rsplit("#", 1)[1] for r in gone]

    def members(self, name: str, *, after: str | None, limit: int) -> list[str]:
        condition = MemberRow.sk > f"MEMBER#{name}#{after}" if after else MemberRow.sk.startswith(f"MEMBER#{name}#")
        rows = MemberRow.query(self.pk, condition, limit=limit, attributes_to_get=["sk"])
        prefix = f"MEMBER#{name}#"
        return [r.sk.removeprefix(prefix) for r in rows if r.sk.startswith(prefix)]


def _put(row: PersonRow, condition: Condition) -> bool:
    return attempt(lambda: row.save(condition=condition))


def _sum_counts(tallies: Sequence[DayCounts]) -> DayCounts | None:
    if not tallies:
        return None
    return DayCounts(sum(t.follows for t in tallies), sum(t.unfollows for t in tallies),
                     sum(t.quick_unfollows for t in tallies))


def _failed_conditions(writes: Sequence[tuple[str, PersonRow, Condition]],
                       also: Callable[[TransactWrite], None] | None = None) -> set[int]:
    """Put `writes` in one transaction (with what `also` adds to it, after them, unconditionally):
    the positions of `writes` whose condition failed (none: all written)."""
    try:
        with transaction() as tx:
            for _, row, condition in writes:
                tx.save(row, condition=condition)
            if also is not None:
                also(tx)
    except TransactWriteError as exc:
        failed = {i for i, r in enumerate(exc.cancellation_reasons) if r is not None and r.code == "ConditionalCheckFailed"}
        if not failed:  # not a condition: conflicts and throttling were sent again (base.transaction) and kept on; the run fails
            raise
        return failed
    return set()


def _person_to_json(person: Person) -> dict[str, Any]:
    body = asdict(person)
    body["status"] = person.status.value
    body["reasons"] = list(person.reasons)
    for key in ("suggested_at", "followed_at", "followed_back_at", "unfollowed_at", "acted_at", "due_at"):
        value = getattr(person, key)
        body[key] = value.isoformat() if value else None
    card = person.card
    body["card"] = {**asdict(card), "last_post_at": card.last_post_at.isoformat() if card.last_post_at else None}
    return body


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _person(row: PersonRow) -> Person:
    b = row.body
    card = b.get("card") or {}
    return Person(
        user_id=b["user_id"], username=b.get("username", ""), status=PersonStatus(b["status"]), source_id=b.get("source_id"),
        score=float(b.get("score", 0)), reasons=tuple(b.get("reasons", ())), day=b.get("day"),
        suggested_at=_when(b.get("suggested_at")), followed_at=_when(b.get("followed_at")),
        followed_back_at=_when(b.get("followed_back_at")), unfollowed_at=_when(b.get("unfollowed_at")),
        acted_at=_when(b.get("acted_at")), due_at=_when(b.get("due_at")), by_api=bool(b.get("by_api", False)),
        through_flockpilot=bool(b.get("through_flockpilot", True)), prune_reason=b.get("prune_reason"),
        card=Card(name=card.get("name", ""), bio_line=card.get("bio_line", ""), followers=int(card.get("followers", 0)),
                  following=int(card.get("following", 0)), last_post_at=_when(card.get("last_post_at"))),
    )
