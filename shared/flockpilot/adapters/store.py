"""The DynamoDB store: one table, every record keyed by account (pk) and record (sk).

pk is ``ACCT#<x user id>`` so several X accounts can share a deployment; sk prefixes name
the record: ACCOUNT, CONTENT#<item>, PLAN#<day>, SLOT#<day>#<nn>, RUN#<job>#<time>,
SPEND#<day>. Short-lived records carry a TTL.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from flockpilot.domain.content import ContentItem, ContentKind, ItemStatus
from flockpilot.domain.plan import DayPlan, DroppedItem, PlannedSlot

RUN_RETENTION = timedelta(days=35)
PLAN_RETENTION = timedelta(days=40)


class _Row(Model):
    class Meta:
        table_name = "flockpilot-unbound"
        region = "us-east-1"
        host: str | None = None
        connect_timeout_seconds = 3
        read_timeout_seconds = 5
        max_retry_attempts = 3

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)


class AccountRow(_Row):
    username = UnicodeAttribute(null=True)
    overrides = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()


class ContentRow(_Row):
    item_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    text = UnicodeAttribute()
    url = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    evergreen = BooleanAttribute(default=False)
    cooldown_days = NumberAttribute(default=30)
    weighted_length = NumberAttribute(default=0)
    has_url = BooleanAttribute(default=False)
    added_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(default=ItemStatus.QUEUED.value)
    times_posted = NumberAttribute(default=0)
    last_posted_at = UTCDateTimeAttribute(null=True)
    cooldown_until = UTCDateTimeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)


class PlanRow(_Row):
    body = JSONAttribute()
    created_at = UTCDateTimeAttribute()


class SlotRow(_Row):
    status = UnicodeAttribute()  # claimed | published | failed | skipped
    version = NumberAttribute(default=0)
    lease = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    item_id = UnicodeAttribute(null=True)
    claimed_at = UTCDateTimeAttribute(null=True)
    post_id = UnicodeAttribute(null=True)
    published_at = UTCDateTimeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    cost_usd = NumberAttribute(default=0)


class RunRow(_Row):
    job = UnicodeAttribute()
    summary = JSONAttribute()


class SpendRow(_Row):
    usd = NumberAttribute(default=0)
    requests = NumberAttribute(default=0)
    post_usd = NumberAttribute(default=0)
    follow_usd = NumberAttribute(default=0)
    prune_usd = NumberAttribute(default=0)
    digest_usd = NumberAttribute(default=0)


class SourceRow(_Row):
    """Where candidates come from: an account whose followers we page through, one of your
    own followers (the routine's preset), or your mentions. Keeps its cursor."""

    source_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # account | my_follower | mentions
    label = UnicodeAttribute()
    cursor = UnicodeAttribute(null=True)
    exhausted = BooleanAttribute(default=False)
    read_users = NumberAttribute(default=0)
    suggested = NumberAttribute(default=0)
    followed = NumberAttribute(default=0)
    followed_back = NumberAttribute(default=0)
    added_at = UTCDateTimeAttribute()


class PersonRow(_Row):
    """The follow ledger: one row per person Flockpilot suggested or followed, for good."""

    user_id = UnicodeAttribute()
    username = UnicodeAttribute()
    status = UnicodeAttribute()  # reserve | suggested | followed | followed_back | unfollowed
    source_id = UnicodeAttribute(null=True)
    score = NumberAttribute(default=0)
    reasons = ListAttribute(of=UnicodeAttribute, default=list)
    day = UnicodeAttribute(null=True)
    suggested_at = UTCDateTimeAttribute(null=True)
    followed_at = UTCDateTimeAttribute(null=True)
    followed_back_at = UTCDateTimeAttribute(null=True)
    unfollowed_at = UTCDateTimeAttribute(null=True)
    by_api = BooleanAttribute(default=False)
    prune_reason = UnicodeAttribute(null=True)


class SeenRow(_Row):
    """Someone screened out, kept (with the reason) so they are not screened again soon."""

    reason = UnicodeAttribute()


class FrontierRow(_Row):
    """The newest ids of your own followers/following seen so far: incremental syncs stop there."""

    ids = ListAttribute(of=UnicodeAttribute, default=list)
    updated_at = UTCDateTimeAttribute()


class AllowRow(_Row):
    """Never unfollowed: your own list plus people you talk with (DMs, mentions)."""

    username = UnicodeAttribute(default="")
    reason = UnicodeAttribute()  # you | dm | mention
    added_at = UTCDateTimeAttribute()


class MemberRow(_Row):
    """Someone on your followers or following list, as of the last full reconciliation."""

    seen_run = UnicodeAttribute()


class ReconRow(_Row):
    """A full reconciliation of one list, resumable across invocations."""

    run_id = UnicodeAttribute()
    cursor = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    read = NumberAttribute(default=0)
    usd = NumberAttribute(default=0)  # spent on reconciliations in `month`
    month = UnicodeAttribute(null=True)


class MessageRow(_Row):
    """One DM event, kept for X's own 30-day window (storing DMs is the digest's purpose)."""

    conversation_id = UnicodeAttribute()
    sender_id = UnicodeAttribute()
    text = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    from_me = BooleanAttribute(default=False)


class ConversationRow(_Row):
    other_id = UnicodeAttribute()
    username = UnicodeAttribute(default="")
    name = UnicodeAttribute(default="")
    followers = NumberAttribute(default=0)
    description = UnicodeAttribute(default="")
    follows_me = BooleanAttribute(default=False)
    i_follow = BooleanAttribute(default=False)
    last_at = UTCDateTimeAttribute()
    pending = BooleanAttribute(default=True)  # has messages no digest has shown yet


class StatsRow(_Row):
    followers = NumberAttribute()
    following = NumberAttribute()


class DigestRow(_Row):
    status = UnicodeAttribute()  # sending | sent | failed
    claimed_at = UTCDateTimeAttribute()
    message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)


_MODELS: tuple[type[_Row], ...] = (
    _Row, AccountRow, ContentRow, PlanRow, SlotRow, RunRow, SpendRow, SourceRow, PersonRow, SeenRow, FrontierRow,
    MessageRow, ConversationRow, StatsRow, DigestRow, AllowRow, MemberRow, ReconRow,
)
DM_RETENTION = timedelta(days=35)
SEEN_RETENTION = timedelta(days=180)


def bind(table_name: str, region: str, host: str | None) -> None:
    """Point every model at the deployment's table (and endpoint, for DynamoDB Local).
    Binding again to the same place keeps the open connections (warm invocations)."""
    meta = _Row.Meta
    if (meta.table_name, meta.region, meta.host) == (table_name, region, host):
        return
    _Row.Meta.table_name = table_name
    _Row.Meta.region = region
    _Row.Meta.host = host
    for model in _MODELS:
        model._connection = None


def create_table() -> None:
    """Create the bound table as template.yaml declares it (dev and tests only)."""
    if not _Row.exists():
        _Row.create_table(billing_mode="PAY_PER_REQUEST", wait=True)


def _conditional_failed(exc: PutError | UpdateError | DeleteError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class SlotState:
    day: date
    index: int
    status: str
    version: int
    attempts: int
    lease: str | None
    item_id: str | None
    claimed_at: datetime | None
    post_id: str | None
    published_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class Claim:
    """A lease on one slot: only its holder may record the slot's outcome."""

    lease: str
    previous: SlotState | None

    @property
    def was_abandoned(self) -> bool:
        """A previous run claimed the slot and never recorded an outcome: it may have posted."""
        return self.previous is not None and self.previous.status == "claimed"


class SlotTaken(Exception):
    """Another invocation holds or has finished the slot."""


def _account_pk(account_id: str) -> str:
    return f"ACCT#{account_id}"


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


class Store:
    """Every read and write Flockpilot makes to DynamoDB, for one account."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.pk = _account_pk(account_id)

    # --- account -----------------------------------------------------------------------
    def overrides(self) -> dict[str, Any]:
        try:
            row = AccountRow.get(self.pk, "ACCOUNT")
        except AccountRow.DoesNotExist:
            return {}
        return dict(row.overrides or {})

    def set_override(self, key: str, value: Any, now: datetime) -> None:
        try:
            row = AccountRow.get(self.pk, "ACCOUNT", consistent_read=True)
        except AccountRow.DoesNotExist:
            row = AccountRow(self.pk, "ACCOUNT", created_at=now, overrides={})
        overrides = dict(row.overrides or {})
        if value is None:
            overrides.pop(key, None)
        else:
            overrides[key] = value
        row.overrides = overrides
        row.save()

    # --- content -----------------------------------------------------------------------
    def add_content(self, item: ContentItem) -> bool:
        """Store a new item; False (and nothing written) if the same item is already there."""
        row = ContentRow(
            self.pk,
            f"CONTENT#{item.item_id}",
            item_id=item.item_id,
            kind=item.kind.value,
            text=item.text,
            url=item.url,
            tags=list(item.tags),
            evergreen=item.evergreen,
            cooldown_days=item.cooldown_days,
            weighted_length=item.weighted_length,
            has_url=item.has_url,
            added_at=item.added_at,
            status=item.status.value,
        )
        try:
            row.save(condition=ContentRow.sk.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def save_content_state(self, item: ContentItem) -> None:
        """Record what posting did to an item (status, cooldown, counts, last error)."""
        ContentRow(self.pk, f"CONTENT#{item.item_id}").update(
            actions=[
                ContentRow.status.set(item.status.value),
                ContentRow.times_posted.set(item.times_posted),
                ContentRow.last_posted_at.set(item.last_posted_at)
                if item.last_posted_at
                else ContentRow.last_posted_at.remove(),
                ContentRow.cooldown_until.set(item.cooldown_until)
                if item.cooldown_until
                else ContentRow.cooldown_until.remove(),
                ContentRow.last_error.set(item.last_error)
                if item.last_error
                else ContentRow.last_error.remove(),
            ],
            condition=ContentRow.sk.exists(),
        )

    def remove_content(self, item_id: str) -> bool:
        try:
            ContentRow(self.pk, f"CONTENT#{item_id}").delete(condition=ContentRow.sk.exists())
        except DeleteError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def get_content(self, item_id: str) -> ContentItem | None:
        try:
            return _item_from_row(ContentRow.get(self.pk, f"CONTENT#{item_id}"))
        except ContentRow.DoesNotExist:
            return None

    def list_content(self) -> list[ContentItem]:
        rows = ContentRow.query(self.pk, ContentRow.sk.startswith("CONTENT#"))
        return [_item_from_row(r) for r in rows]

    # --- plan --------------------------------------------------------------------------
    def get_plan(self, day: date) -> DayPlan | None:
        try:
            row = PlanRow.get(self.pk, f"PLAN#{day.isoformat()}", consistent_read=True)
        except PlanRow.DoesNotExist:
            return None
        return _plan_from_json(row.body)

    def put_plan_if_absent(self, plan: DayPlan, now: datetime) -> DayPlan:
        """Store the day's plan unless one exists; return whichever plan is the day's."""
        row = PlanRow(
            self.pk,
            f"PLAN#{plan.day.isoformat()}",
            body=_plan_to_json(plan),
            created_at=now,
            expires_at=now + PLAN_RETENTION,
        )
        try:
            row.save(condition=PlanRow.sk.does_not_exist())
        except PutError as exc:
            if not _conditional_failed(exc):
                raise
            existing = self.get_plan(plan.day)
            assert existing is not None
            return existing
        return plan

    # --- slots -------------------------------------------------------------------------
    def _slot_key(self, day: date, index: int) -> str:
        return f"SLOT#{day.isoformat()}#{index:02d}"

    def slots(self, day: date) -> dict[int, SlotState]:
        rows = SlotRow.query(
            self.pk, SlotRow.sk.startswith(f"SLOT#{day.isoformat()}#"), consistent_read=True
        )
        states = [_slot_from_row(day, r) for r in rows]
        return {s.index: s for s in states}

    def claim_slot(
        self, day: date, index: int, item_id: str, now: datetime, lease_seconds: int, max_attempts: int
    ) -> Claim:
        """Take the slot before calling X, so that no two runs publish it.

        A slot can be claimed when it is new, when an earlier attempt failed (up to
        `max_attempts`), or when an earlier claim is older than its lease (that run died;
        the caller must check X before publishing again). Raises SlotTaken otherwise.
        """
        key = self._slot_key(day, index)
        try:
            current: SlotState | None = _slot_from_row(
                day, SlotRow.get(self.pk, key, consistent_read=True)
            )
        except SlotRow.DoesNotExist:
            current = None
        if current is not None:
            stale = current.claimed_at is not None and current.claimed_at <= now - timedelta(
                seconds=lease_seconds
            )
            retry_failed = current.status == "failed" and current.attempts < max_attempts
            if not (retry_failed or (current.status == "claimed" and stale)):
                raise SlotTaken(f"slot {index} is {current.status}")
        lease = uuid.uuid4().hex
        row = SlotRow(
            self.pk,
            key,
            status="claimed",
            version=(current.version + 1) if current else 1,
            lease=lease,
            attempts=(current.attempts if current else 0) + 1,
            item_id=item_id,
            claimed_at=now,
            error=current.error if current else None,
            expires_at=now + PLAN_RETENTION,
        )
        condition = (
            SlotRow.sk.does_not_exist() if current is None else SlotRow.version == current.version
        )
        try:
            row.save(condition=condition)
        except PutError as exc:
            if _conditional_failed(exc):
                raise SlotTaken(f"slot {index} was claimed by another run") from None
            raise
        return Claim(lease=lease, previous=current)

    def finish_slot(
        self,
        day: date,
        index: int,
        lease: str,
        *,
        status: str,
        now: datetime,
        item_id: str | None = None,
        post_id: str | None = None,
        cost_usd: float = 0.0,
        error: str | None = None,
    ) -> bool:
        """Record the outcome of a claimed slot; False if our lease was taken meanwhile."""
        actions: list[Action] = [
            SlotRow.status.set(status),
            SlotRow.version.add(1),
            SlotRow.cost_usd.add(cost_usd),
        ]
        if item_id:
            actions.append(SlotRow.item_id.set(item_id))
        if post_id:
            actions += [SlotRow.post_id.set(post_id), SlotRow.published_at.set(now)]
        actions.append(SlotRow.error.set(error) if error else SlotRow.error.remove())
        try:
            SlotRow(self.pk, self._slot_key(day, index)).update(
                actions=actions, condition=SlotRow.lease == lease
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    # --- runs and spend ----------------------------------------------------------------
    def save_run(self, job: str, started_at: datetime, summary: dict[str, Any]) -> None:
        RunRow(
            self.pk,
            f"RUN#{job}#{started_at.astimezone(UTC).isoformat()}",
            job=job,
            summary=summary,
            expires_at=started_at + RUN_RETENTION,
        ).save()

    def recent_runs(self, job: str, limit: int = 10) -> list[dict[str, Any]]:
        rows = RunRow.query(
            self.pk, RunRow.sk.startswith(f"RUN#{job}#"), scan_index_forward=False, limit=limit
        )
        return [dict(r.summary) for r in rows]

    def add_spend(self, day: date, job: str, usd: float, requests: int) -> None:
        """Add a run's X spend to the day's tally (atomic, so concurrent runs both count)."""
        if not usd and not requests:
            return
        per_job = getattr(SpendRow, f"{job}_usd")
        SpendRow(self.pk, f"SPEND#{day.isoformat()}").update(
            actions=[SpendRow.usd.add(usd), SpendRow.requests.add(requests), per_job.add(usd)]
        )

    def spend(self, first: date, last: date) -> dict[date, dict[str, float]]:
        """Spend per UTC day between `first` and `last` inclusive."""
        rows = SpendRow.query(
            self.pk, SpendRow.sk.between(f"SPEND#{first.isoformat()}", f"SPEND#{last.isoformat()}")
        )
        result: dict[date, dict[str, float]] = {}
        for r in rows:
            day = date.fromisoformat(r.sk.removeprefix("SPEND#"))
            result[day] = {
                "usd": float(r.usd or 0),
                "requests": float(r.requests or 0),
                **{job: float(getattr(r, f"{job}_usd") or 0) for job in ("post", "follow", "prune", "digest")},
            }
        return result


@dataclass(frozen=True)
class Person:
    user_id: str
    username: str
    status: str
    source_id: str | None
    score: float
    reasons: tuple[str, ...]
    day: str | None
    suggested_at: datetime | None = None
    followed_at: datetime | None = None
    followed_back_at: datetime | None = None
    unfollowed_at: datetime | None = None
    by_api: bool = False
    prune_reason: str | None = None


def _person(row: PersonRow) -> Person:
    return Person(
        user_id=row.user_id, username=row.username, status=row.status, source_id=row.source_id,
        score=float(row.score or 0), reasons=tuple(str(r) for r in (row.reasons or [])), day=row.day,
        suggested_at=_utc(row.suggested_at), followed_at=_utc(row.followed_at),
        followed_back_at=_utc(row.followed_back_at), unfollowed_at=_utc(row.unfollowed_at), by_api=bool(row.by_api),
        prune_reason=row.prune_reason,
    )


class FollowLedger:
    """Sources, the people ledger, screened-out people and sync frontiers of one account."""

    def __init__(self, account_id: str) -> None:
        self.pk = _account_pk(account_id)

    # --- sources -----------------------------------------------------------------------
    def add_source(self, source_id: str, kind: str, label: str, now: datetime) -> bool:
        row = SourceRow(self.pk, f"SOURCE#{source_id}", source_id=source_id, kind=kind, label=label, added_at=now)
        try:
            row.save(condition=SourceRow.sk.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def remove_source(self, source_id: str) -> bool:
        try:
            SourceRow(self.pk, f"SOURCE#{source_id}").delete(condition=SourceRow.sk.exists())
        except DeleteError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def sources(self) -> list[SourceRow]:
        return list(SourceRow.query(self.pk, SourceRow.sk.startswith("SOURCE#")))

    def advance_source(self, source_id: str, *, cursor: str | None, exhausted: bool, read: int, suggested: int) -> None:
        SourceRow(self.pk, f"SOURCE#{source_id}").update(
            actions=[
                SourceRow.cursor.set(cursor) if cursor else SourceRow.cursor.remove(),
                SourceRow.exhausted.set(exhausted),
                SourceRow.read_users.add(read),
                SourceRow.suggested.add(suggested),
            ],
            condition=SourceRow.sk.exists(),
        )

    def credit_source(self, source_id: str | None, *, followed: int = 0, followed_back: int = 0) -> None:
        """Count a follow or a follow-back for the source that found the person."""
        if not source_id:
            return
        try:
            SourceRow(self.pk, f"SOURCE#{source_id}").update(
                actions=[SourceRow.followed.add(followed), SourceRow.followed_back.add(followed_back)],
                condition=SourceRow.sk.exists(),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):  # a source removed since: nothing to credit
                raise

    # --- people ------------------------------------------------------------------------
    def known(self, user_ids: list[str]) -> dict[str, str]:
        """For each id already in the ledger or screened out: its status or 'seen'."""
        result: dict[str, str] = {}
        unique = list(dict.fromkeys(user_ids))
        for chunk in range(0, len(unique), 50):
            ids = unique[chunk:chunk + 50]
            for person in PersonRow.batch_get([(self.pk, f"PERSON#{i}") for i in ids]):
                result[person.user_id] = person.status
            for seen in SeenRow.batch_get([(self.pk, f"SEEN#{i}") for i in ids]):
                result.setdefault(seen.sk.removeprefix("SEEN#"), "seen")
        return result

    def mark_seen(self, entries: list[tuple[str, str]], now: datetime) -> None:
        with SeenRow.batch_write() as batch:
            for user_id, reason in entries:
                batch.save(SeenRow(self.pk, f"SEEN#{user_id}", reason=reason[:200], expires_at=now + SEEN_RETENTION))

    def add_person(self, person: Person) -> bool:
        """Record a new person; False if they are in the ledger already (never twice)."""
        row = PersonRow(
            self.pk, f"PERSON#{person.user_id}", user_id=person.user_id, username=person.username,
            status=person.status, source_id=person.source_id, score=person.score, reasons=list(person.reasons),
            day=person.day, suggested_at=person.suggested_at, followed_at=person.followed_at, by_api=person.by_api,
        )
        try:
            row.save(condition=PersonRow.sk.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def set_status(self, user_id: str, status: str, now: datetime, *, by_api: bool | None = None,
                   expected: tuple[str, ...] = ()) -> bool:
        """Move a person to `status` (only from one of `expected`, when given)."""
        stamp = {"suggested": PersonRow.suggested_at, "followed": PersonRow.followed_at,  # prune_suggested: none
                 "followed_back": PersonRow.followed_back_at, "unfollowed": PersonRow.unfollowed_at}.get(status)
        actions: list[Action] = [PersonRow.status.set(status)]
        if stamp is not None:
            actions.append(stamp.set(now))
        if by_api is not None:
            actions.append(PersonRow.by_api.set(by_api))
        condition = PersonRow.sk.exists()
        if expected:
            condition = condition & PersonRow.status.is_in(*expected)
        try:
            PersonRow(self.pk, f"PERSON#{user_id}").update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def people(self, status: str | None = None) -> list[Person]:
        rows = PersonRow.query(
            self.pk, PersonRow.sk.startswith("PERSON#"),
            filter_condition=(PersonRow.status == status) if status else None,
        )
        return [_person(r) for r in rows]

    def people_by_id(self, user_ids: list[str]) -> dict[str, Person]:
        found: dict[str, Person] = {}
        unique = list(dict.fromkeys(user_ids))
        for chunk in range(0, len(unique), 100):
            for row in PersonRow.batch_get([(self.pk, f"PERSON#{i}") for i in unique[chunk:chunk + 100]]):
                found[row.user_id] = _person(row)
        return found

    def set_prune_reason(self, user_id: str, reason: str | None) -> None:
        PersonRow(self.pk, f"PERSON#{user_id}").update(
            actions=[PersonRow.prune_reason.set(reason) if reason else PersonRow.prune_reason.remove()])

    # --- allowlist -----------------------------------------------------------------------
    def allow(self, user_id: str, username: str, reason: str, now: datetime) -> bool:
        try:
            AllowRow(self.pk, f"ALLOW#{user_id}", username=username, reason=reason, added_at=now).save(
                condition=AllowRow.sk.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def disallow(self, user_id: str) -> bool:
        try:
            AllowRow(self.pk, f"ALLOW#{user_id}").delete(condition=AllowRow.sk.exists())
        except DeleteError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def allowlist(self) -> list[AllowRow]:
        return list(AllowRow.query(self.pk, AllowRow.sk.startswith("ALLOW#")))

    # --- full reconciliation -------------------------------------------------------------
    def recon(self, name: str) -> ReconRow | None:
        try:
            return ReconRow.get(self.pk, f"RECON#{name}", consistent_read=True)
        except ReconRow.DoesNotExist:
            return None

    def save_recon(self, name: str, row: ReconRow) -> None:
        row.pk, row.sk = self.pk, f"RECON#{name}"
        row.save()

    def mark_members(self, name: str, ids: list[str], run_id: str) -> None:
        with MemberRow.batch_write() as batch:
            for user_id in ids:
                batch.save(MemberRow(self.pk, f"MEMBER#{name}#{user_id}", seen_run=run_id))

    def sweep_members(self, name: str, run_id: str) -> list[str]:
        """Members not seen by run `run_id`: they left the list. Removes and returns them."""
        gone = [r for r in MemberRow.query(self.pk, MemberRow.sk.startswith(f"MEMBER#{name}#")) if r.seen_run != run_id]
        with MemberRow.batch_write() as batch:
            for row in gone:
                batch.delete(row)
        return [r.sk.rsplit("#", 1)[1] for r in gone]

    def members(self, name: str) -> list[str]:
        return [r.sk.rsplit("#", 1)[1] for r in MemberRow.query(self.pk, MemberRow.sk.startswith(f"MEMBER#{name}#"))]

    # --- frontiers ---------------------------------------------------------------------
    def frontier(self, name: str) -> list[str]:
        try:
            return [str(i) for i in FrontierRow.get(self.pk, f"FRONTIER#{name}", consistent_read=True).ids or []]
        except FrontierRow.DoesNotExist:
            return []

    def set_frontier(self, name: str, ids: list[str], now: datetime) -> None:
        FrontierRow(self.pk, f"FRONTIER#{name}", ids=ids[:200], updated_at=now).save()


class Inbox:
    """DMs, conversations, daily account figures and the once-a-day digest claim."""

    def __init__(self, account_id: str) -> None:
        self.pk = _account_pk(account_id)

    def save_messages(self, messages: list[dict[str, Any]], now: datetime) -> None:
        """Store DM events (idempotent: an event id is its key)."""
        with MessageRow.batch_write() as batch:
            for m in messages:
                batch.save(MessageRow(
                    self.pk, f"DM#{m['conversation_id']}#{m['id']}", conversation_id=m["conversation_id"],
                    sender_id=m["sender_id"], text=m.get("text", ""), created_at=m["created_at"],
                    from_me=m["from_me"], expires_at=now + DM_RETENTION,
                ))

    def touch_conversation(self, conversation_id: str, other: dict[str, Any], last_at: datetime, now: datetime) -> None:
        ConversationRow(
            self.pk, f"CONV#{conversation_id}", other_id=other["id"], username=other.get("username", ""),
            name=other.get("name", ""), followers=int((other.get("public_metrics") or {}).get("followers_count", 0)),
            description=other.get("description", ""), follows_me="followed_by" in (other.get("connection_status") or []),
            i_follow="following" in (other.get("connection_status") or []), last_at=last_at, pending=True,
            expires_at=now + DM_RETENTION,
        ).save()

    def pending_conversations(self) -> list[tuple[ConversationRow, list[MessageRow]]]:
        convs = ConversationRow.query(self.pk, ConversationRow.sk.startswith("CONV#"),
                                      filter_condition=ConversationRow.pending == True)  # noqa: E712
        result = []
        for conv in convs:
            cid = conv.sk.removeprefix("CONV#")
            messages = sorted(MessageRow.query(self.pk, MessageRow.sk.startswith(f"DM#{cid}#")), key=lambda m: m.created_at)
            result.append((conv, messages))
        return result

    def correspondents(self) -> list[tuple[str, str]]:
        """(user id, username) of everyone in a stored DM conversation; reads no messages."""
        rows = ConversationRow.query(self.pk, ConversationRow.sk.startswith("CONV#"),
                                     attributes_to_get=["other_id", "username"])
        return [(r.other_id, r.username) for r in rows]

    def mark_shown(self, conversation_ids: list[str]) -> None:
        for cid in conversation_ids:
            ConversationRow(self.pk, f"CONV#{cid}").update(actions=[ConversationRow.pending.set(False)])

    def record_stats(self, day: date, followers: int, following: int, now: datetime) -> None:
        StatsRow(self.pk, f"STATS#{day.isoformat()}", followers=followers, following=following,
                 expires_at=now + timedelta(days=400)).save()

    def stats(self, first: date, last: date) -> list[tuple[date, int, int]]:
        rows = StatsRow.query(self.pk, StatsRow.sk.between(f"STATS#{first.isoformat()}", f"STATS#{last.isoformat()}"))
        return [(date.fromisoformat(r.sk.removeprefix("STATS#")), int(r.followers), int(r.following)) for r in rows]

    def digest_state(self, day: date) -> DigestRow | None:
        try:
            return DigestRow.get(self.pk, f"DIGEST#{day.isoformat()}", consistent_read=True)
        except DigestRow.DoesNotExist:
            return None

    def claim_digest(self, day: date, now: datetime, *, force: bool) -> bool:
        """Take the day's one digest. A failed attempt may be taken again; a sent one (or one
        whose sending was interrupted, which may have gone out) only with force."""
        condition = DigestRow.sk.does_not_exist() | (DigestRow.status == "failed")
        row = DigestRow(self.pk, f"DIGEST#{day.isoformat()}", status="sending", claimed_at=now,
                        expires_at=now + timedelta(days=40))
        try:
            row.save(condition=None if force else condition)
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def finish_digest(self, day: date, status: str, *, message_id: str | None = None, error: str | None = None) -> None:
        DigestRow(self.pk, f"DIGEST#{day.isoformat()}").update(actions=[
            DigestRow.status.set(status),
            DigestRow.message_id.set(message_id) if message_id else DigestRow.message_id.remove(),
            DigestRow.error.set(error[:500]) if error else DigestRow.error.remove(),
        ])


def _item_from_row(row: ContentRow) -> ContentItem:
    return ContentItem(
        item_id=row.item_id,
        kind=ContentKind(row.kind),
        text=row.text,
        url=row.url,
        tags=tuple(str(t) for t in (row.tags or [])),
        evergreen=bool(row.evergreen),
        cooldown_days=int(row.cooldown_days),
        weighted_length=int(row.weighted_length or 0),
        has_url=bool(row.has_url),
        added_at=row.added_at,
        status=ItemStatus(row.status),
        times_posted=int(row.times_posted or 0),
        last_posted_at=_utc(row.last_posted_at),
        cooldown_until=_utc(row.cooldown_until),
        last_error=row.last_error,
    )


def _slot_from_row(day: date, row: SlotRow) -> SlotState:
    return SlotState(
        day=day,
        index=int(row.sk.rsplit("#", 1)[1]),
        status=row.status,
        version=int(row.version or 0),
        attempts=int(row.attempts or 0),
        lease=row.lease,
        item_id=row.item_id,
        claimed_at=_utc(row.claimed_at),
        post_id=row.post_id,
        published_at=_utc(row.published_at),
        error=row.error,
    )


def _plan_to_json(plan: DayPlan) -> dict[str, Any]:
    encoded: dict[str, Any] = json.loads(
        json.dumps(
            {
                "day": plan.day.isoformat(),
                "budget_usd": plan.budget_usd,
                "notes": list(plan.notes),
                "slots": [asdict(s) for s in plan.slots],
                "dropped": [asdict(d) for d in plan.dropped],
            },
            default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
        )
    )
    return encoded


def _plan_from_json(body: dict[str, Any]) -> DayPlan:
    return DayPlan(
        day=date.fromisoformat(body["day"]),
        budget_usd=float(body["budget_usd"]),
        notes=tuple(body.get("notes", ())),
        slots=tuple(
            PlannedSlot(
                index=int(s["index"]),
                at=datetime.fromisoformat(s["at"]),
                kind=ContentKind(s["kind"]),
                item_id=s["item_id"],
                price_kind=s["price_kind"],
                cost_usd=float(s["cost_usd"]),
                preview=s["preview"],
            )
            for s in body["slots"]
        ),
        dropped=tuple(
            DroppedItem(ContentKind(d["kind"]), d["item_id"], float(d["cost_usd"]), d["reason"])
            for d in body.get("dropped", ())
        ),
    )
