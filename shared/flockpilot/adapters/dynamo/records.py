"""Settings overrides, the account's profile, spend, runs, growth, rate-limit gates and
per-day job records (AccountRecords)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from pynamodb.attributes import BooleanAttribute, JSONAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from flockpilot.adapters.dynamo.base import Row, attempt, condition_failed, pk_of, scope_of, transaction, utc
from flockpilot.domain.account import AccountProfile, DaySpend, GrowthPoint
from flockpilot.domain.records import DayRecord


class AccountRow(Row):
    overrides = MapAttribute[str, Any](default=dict)  # type: ignore[no-untyped-call]
    profile = JSONAttribute(null=True)
    deployed = JSONAttribute(null=True)  # {"env": {VARIABLE: value}, "at": ISO time}: see AccountRecords.record_deployment

class DayRow(Row):
    body = JSONAttribute()
    saved_at = UTCDateTimeAttribute()
    settled = BooleanAttribute(null=True)  # the day's decision is made: the first run to make it wins

class RunRow(Row):
    job = UnicodeAttribute()
    summary = JSONAttribute()

class SpendRow(Row):
    usd = NumberAttribute(default=0)
    requests = NumberAttribute(default=0)
    post_usd = NumberAttribute(default=0)
    follow_usd = NumberAttribute(default=0)
    prune_usd = NumberAttribute(default=0)
    digest_usd = NumberAttribute(default=0)
    reconcile_usd = NumberAttribute(default=0)
    metrics_usd = NumberAttribute(default=0)

class StatsRow(Row):
    followers = NumberAttribute()
    following = NumberAttribute()

class GateRow(Row):
    until = UTCDateTimeAttribute()

RUN_RETENTION = timedelta(days=35)
DAY_RETENTION = timedelta(days=40)
STATS_RETENTION = timedelta(days=400)
SPEND_JOBS = ("post", "follow", "prune", "digest", "reconcile", "metrics")

R = TypeVar("R", bound=DayRecord)


class DynamoRecords:
    def __init__(self, account_id: str) -> None:
        self.pk = pk_of(account_id)
        # The profile as settings_sources last read it with the settings (one item): a run's
        # first profile() takes it instead of reading the item again. Until then, or after a
        # save, profile() reads.
        self._profile_read: tuple[dict[str, Any] | None] | None = None

    @property
    def scope(self) -> str:
        return scope_of(self.pk)

    # --- account -----------------------------------------------------------------------
    def overrides(self) -> dict[str, Any]:
        try:
            overrides = AccountRow.get(self.pk, "ACCOUNT", attributes_to_get=["overrides"], consistent_read=True).overrides
        except AccountRow.DoesNotExist:
            return {}
        return dict(overrides.as_dict()) if overrides is not None else {}  # type: ignore[no-untyped-call]

    def settings_sources(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        try:
            row = AccountRow.get(self.pk, "ACCOUNT", attributes_to_get=["overrides", "deployed", "profile"], consistent_read=True)
        except AccountRow.DoesNotExist:
            self._profile_read = (None,)
            return {}, None
        self._profile_read = (row.profile,)
        overrides = dict(row.overrides.as_dict()) if row.overrides is not None else {}  # type: ignore[no-untyped-call]
        return overrides, row.deployed if isinstance(row.deployed, dict) else None

    def record_deployment(self, env: Mapping[str, str], at: datetime) -> None:
        AccountRow(self.pk, "ACCOUNT").update(actions=[AccountRow.deployed.set({"env": dict(env), "at": at.astimezone(UTC).isoformat()})])

    def set_override(self, key: str, value: Any) -> None:
        """Change one setting in place (never a read-modify-write of the whole map)."""
        row = AccountRow(self.pk, "ACCOUNT")
        action = AccountRow.overrides[key].set(value) if value is not None else AccountRow.overrides[key].remove()
        try:
            row.update(actions=[action])
        except UpdateError as exc:
            if "document path" not in str(exc.cause).lower() and not condition_failed(exc):
                raise
            if value is None:
                return
            # No map yet: create it, unless a concurrent writer just did (then set the key).
            if not attempt(lambda: row.update(actions=[AccountRow.overrides.set({key: value})],
                                              condition=AccountRow.overrides.does_not_exist())):
                row.update(actions=[action])

    def profile(self) -> AccountProfile | None:
        read, self._profile_read = self._profile_read, None  # once: a later call reads afresh
        if read is not None:
            body = read[0]
        else:
            try:
                body = AccountRow.get(self.pk, "ACCOUNT", attributes_to_get=["profile"]).profile
            except AccountRow.DoesNotExist:
                return None
        if not body:
            return None
        return AccountProfile(**{**body, "seen_at": datetime.fromisoformat(body["seen_at"])})

    def save_profile(self, profile: AccountProfile) -> None:
        body = asdict(profile) | {"seen_at": profile.seen_at.isoformat()}
        self._profile_read = None
        AccountRow(self.pk, "ACCOUNT").update(actions=[AccountRow.profile.set(body)])

    # --- spend -------------------------------------------------------------------------
    def add_spend(self, day: date, job: str, usd: float, requests: int) -> None:
        """Add a run's X spend to the day's tally (atomic, so concurrent runs both count)."""
        if not usd and not requests:
            return
        self._spend_row(day).update(actions=self._spend_actions(day, job, usd, requests))

    def _spend_row(self, day: date) -> SpendRow:
        return SpendRow(self.pk, f"SPEND#{day.isoformat()}")

    def _spend_actions(self, day: date, job: str, usd: float, requests: int) -> list[Action]:
        per_job = getattr(SpendRow, f"{job}_usd")
        return [SpendRow.usd.add(usd), SpendRow.requests.add(requests), per_job.add(usd),
                SpendRow.expires_at.set(datetime.combine(day, time(), tzinfo=UTC) + STATS_RETENTION)]

    def finish_run(self, job: str, day: date, started_at: datetime, usd: float, requests: int,
                   summary: Mapping[str, Any]) -> None:
        with transaction() as tx:  # one request; botocore's own retries of it are idempotent (its token)
            tx.update(self._spend_row(day), actions=self._spend_actions(day, job, usd, requests))
            tx.save(self._run_row(job, day, started_at, summary))

    def spend(self, first: date, last: date) -> dict[date, DaySpend]:
        rows = SpendRow.query(self.pk, SpendRow.sk.between(f"SPEND#{first.isoformat()}", f"SPEND#{last.isoformat()}"))
        return {date.fromisoformat(r.sk.removeprefix("SPEND#")): DaySpend(
            usd=float(r.usd or 0), requests=int(r.requests or 0),
            by_job=tuple((job, float(getattr(r, f"{job}_usd") or 0)) for job in SPEND_JOBS)) for r in rows}

    # --- runs --------------------------------------------------------------------------
    def save_run(self, job: str, day: date, started_at: datetime, summary: Mapping[str, Any]) -> None:
        self._run_row(job, day, started_at, summary).save()

    def _run_row(self, job: str, day: date, started_at: datetime, summary: Mapping[str, Any]) -> RunRow:
        return RunRow(self.pk, f"RUN#{job}#{day.isoformat()}#{started_at.astimezone(UTC).isoformat()}", job=job,
                      summary=dict(summary), expires_at=started_at + RUN_RETENTION)

    def runs(self, job: str, day: date) -> list[dict[str, Any]]:
        return [dict(r.summary) for r in RunRow.query(self.pk, RunRow.sk.startswith(f"RUN#{job}#{day.isoformat()}#"))]

    def last_run(self, job: str) -> dict[str, Any] | None:
        rows = list(RunRow.query(self.pk, RunRow.sk.startswith(f"RUN#{job}#"), scan_index_forward=False, limit=1))
        return dict(rows[0].summary) if rows else None

    # --- growth ------------------------------------------------------------------------
    def record_growth(self, point: GrowthPoint, now: datetime) -> None:
        StatsRow(self.pk, f"STATS#{point.day.isoformat()}", followers=point.followers, following=point.following,
                 expires_at=now + STATS_RETENTION).save()

    def growth(self, first: date, last: date) -> list[GrowthPoint]:
        rows = StatsRow.query(self.pk, StatsRow.sk.between(f"STATS#{first.isoformat()}", f"STATS#{last.isoformat()}"))
        return [GrowthPoint(date.fromisoformat(r.sk.removeprefix("STATS#")), int(r.followers), int(r.following)) for r in rows]

    # --- rate-limit gates --------------------------------------------------------------
    def gates(self) -> dict[str, datetime]:
        return {r.sk.removeprefix("GATE#"): utc(r.until) or r.until for r in GateRow.query(self.pk, GateRow.sk.startswith("GATE#"))}

    def set_gate(self, endpoint: str, until: datetime) -> None:
        GateRow(self.pk, f"GATE#{endpoint}", until=until, expires_at=until + timedelta(days=1)).save()

    # --- per-day job records -----------------------------------------------------------
    def load_day(self, kind: type[R], day: date) -> R | None:
        try:
            row = DayRow.get(self.pk, f"DAY#{kind.kind}#{day.isoformat()}", consistent_read=True)
        except DayRow.DoesNotExist:
            return None
        return kind.from_json(day, dict(row.body))

    def save_day(self, record: DayRecord, now: datetime) -> None:
        DayRow(self.pk, f"DAY#{record.kind}#{record.day.isoformat()}").update(actions=[
            DayRow.body.set(record.to_json()), DayRow.saved_at.set(now), DayRow.expires_at.set(now + DAY_RETENTION)])

    def settle_day(self, record: DayRecord, now: datetime) -> bool:
        row = DayRow(self.pk, f"DAY#{record.kind}#{record.day.isoformat()}")
        return attempt(lambda: row.update(
            actions=[DayRow.body.set(record.to_json()), DayRow.saved_at.set(now), DayRow.expires_at.set(now + DAY_RETENTION),
                     DayRow.settled.set(True)],
            condition=DayRow.settled.does_not_exist() | (DayRow.settled == False)))  # noqa: E712
