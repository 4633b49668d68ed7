"""The post job: make (or load) the day's plan and publish the slots that are due.

Every slot publishes at most once: it is claimed with a conditional write before X is
called, and a claim left behind by a run that died is checked against the account's own
recent posts before anything is sent again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from flockpilot.adapters.clock import Clock
from flockpilot.adapters.store import Claim, SlotState, SlotTaken, Store
from flockpilot.adapters.x import XClient
from flockpilot.domain.budget import RECOVERY_RESERVE
from flockpilot.domain.content import LIGHT_KINDS, ContentItem, ContentKind, repost_target
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import (
    BudgetExhausted,
    CredentialsRevoked,
    DuplicateContent,
    NotPermitted,
    OutcomeUnknown,
    RateLimited,
    XError,
)
from flockpilot.domain.plan import DayPlan, PlannedSlot, plan_day
from flockpilot.events import PostEvent
from flockpilot.jobs.spending import day_budget
from flockpilot.pricing import price
from flockpilot.settings import AccountSettings, Mode

LEASE_SECONDS = 300  # longer than the function's timeout: a claim this old belongs to a dead run
MAX_ATTEMPTS = 3
MAX_SUBSTITUTES = 2
_URL = re.compile(r"https?://\S+")


class PostedEntry(BaseModel):
    slot: int
    at: datetime
    kind: str
    item_id: str
    text: str
    cost_usd: float
    post_id: str | None = None
    recovered: bool = Field(False, description="found on X after an earlier run died mid-publish")


class FailedEntry(BaseModel):
    slot: int
    item_id: str | None
    error: str
    retry: bool


class SkippedEntry(BaseModel):
    slot: int
    reason: str


class UpcomingEntry(BaseModel):
    slot: int
    at: datetime
    kind: str
    preview: str
    cost_usd: float


class DroppedEntry(BaseModel):
    kind: str
    item_id: str
    cost_usd: float
    reason: str


class PostSummary(BaseModel):
    """What one post run did; returned by the handler, logged, and stored for the digest."""

    job: Literal["post"] = "post"
    account: str
    mode: str
    day: date
    started_at: datetime
    plan_slots: int
    plan_cost_usd: float
    plan_budget_usd: float
    plan_notes: list[str]
    dropped: list[DroppedEntry]
    posted: list[PostedEntry] = Field(default_factory=list)
    would_post: list[PostedEntry] = Field(default_factory=list)
    failed: list[FailedEntry] = Field(default_factory=list)
    skipped: list[SkippedEntry] = Field(default_factory=list)
    upcoming: list[UpcomingEntry] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    cost: dict[str, object] = Field(default_factory=dict)


@dataclass
class PostContext:
    account_id: str
    settings: AccountSettings
    store: Store
    clock: Clock
    x_client: Callable[[CostMeter], XClient]


class _StopRun(Exception):
    """Nothing more can be published this run (rate limit, budget, credentials, permission)."""


def _normalize(text: str) -> str:
    # X rewrites links to t.co and may trim spaces: compare what it cannot change.
    return " ".join(_URL.sub("", text).split()).casefold()


class _Publisher:
    def __init__(self, ctx: PostContext, plan: DayPlan, meter: CostMeter, summary: PostSummary) -> None:
        self.ctx = ctx
        self.plan = plan
        self.meter = meter
        self.summary = summary
        self._x: XClient | None = None
        self._library: dict[str, ContentItem] | None = None
        self.used_today = {s.item_id for s in plan.slots}

    @property
    def x(self) -> XClient:
        if self._x is None:
            self._x = self.ctx.x_client(self.meter)
        return self._x

    @property
    def library(self) -> dict[str, ContentItem]:
        if self._library is None:
            self._library = {i.item_id: i for i in self.ctx.store.list_content()}
        return self._library

    def candidates(self, slot: PlannedSlot, now: datetime) -> Iterator[ContentItem]:
        """The planned item, then up to MAX_SUBSTITUTES of the same kind or class, no dearer."""
        planned = self.library.get(slot.item_id)
        if planned is not None and planned.available(now):
            yield planned
        same_class = LIGHT_KINDS if slot.kind in LIGHT_KINDS else {slot.kind, ContentKind.ARTICLE}
        spares = sorted(
            (
                i for i in self.library.values()
                if i.item_id not in self.used_today and i.kind in same_class and i.available(now)
                and price(i.price_kind) <= slot.cost_usd + 1e-9
            ),
            key=lambda i: (i.kind is not slot.kind, i.last_posted_at or i.added_at, i.item_id),
        )
        for spare in spares[:MAX_SUBSTITUTES]:
            self.used_today.add(spare.item_id)
            yield spare

    def entry(self, slot: PlannedSlot, item: ContentItem, post_id: str | None, recovered: bool = False) -> PostedEntry:
        return PostedEntry(
            slot=slot.index, at=slot.at, kind=item.kind.value, item_id=item.item_id,
            text=item.post_text, cost_usd=price(item.price_kind), post_id=post_id, recovered=recovered,
        )

    def dry_publish(self, slot: PlannedSlot, now: datetime) -> None:
        item = next(self.candidates(slot, now), None)
        if item is None:
            self.summary.skipped.append(SkippedEntry(slot=slot.index, reason="no available item"))
            return
        self.summary.would_post.append(self.entry(slot, item, None))

    def recover(self, slot: PlannedSlot, claim: Claim, now: datetime) -> bool:
        """After a run died holding this slot, look on X for the post it may have made."""
        assert claim.previous is not None and claim.previous.claimed_at is not None
        item = self.library.get(claim.previous.item_id or slot.item_id)
        if item is None or item.kind is ContentKind.REPOST:
            return False  # reposting again is harmless: X keeps one repost
        since = claim.previous.claimed_at - timedelta(minutes=2)
        wanted = _normalize(item.post_text)
        for post in self.x.own_posts_since(since, max_results=10):
            if _normalize(post.text) == wanted:
                self.ctx.store.finish_slot(
                    slot.at.date(), slot.index, claim.lease, status="published", now=now,
                    item_id=item.item_id, post_id=post.id,
                )
                self.ctx.store.save_content_state(item.after_posting(now))
                self.summary.posted.append(self.entry(slot, item, post.id, recovered=True))
                return True
        return False

    def publish(self, day: date, slot: PlannedSlot, now: datetime) -> None:
        store = self.ctx.store
        try:
            claim = store.claim_slot(day, slot.index, slot.item_id, now, LEASE_SECONDS, MAX_ATTEMPTS)
        except SlotTaken:
            return  # another invocation has it (double delivery): nothing to do
        if claim.was_abandoned and self.recover(slot, claim, now):
            return
        for item in self.candidates(slot, now):
            try:
                if item.kind is ContentKind.REPOST:
                    self.x.repost(repost_target(item.text))
                    post_id = None
                else:
                    post_id = self.x.create_post(item.post_text, has_url=item.has_url).id
            except DuplicateContent as exc:
                rested = item.rested(now, self.ctx.settings.duplicate_cooldown_days, str(exc))
                store.save_content_state(rested)
                self.library[item.item_id] = rested
                self.summary.warnings.append(
                    f"slot {slot.index}: X refused {item.item_id} as duplicate content; "
                    f"it rests {self.ctx.settings.duplicate_cooldown_days} days"
                )
                continue
            except OutcomeUnknown as exc:
                # Keep the claim: when its lease runs out the next run checks X first.
                self.summary.failed.append(
                    FailedEntry(slot=slot.index, item_id=item.item_id, retry=True,
                                error=f"{exc}; the next run checks X before retrying")
                )
                return
            except (RateLimited, BudgetExhausted, CredentialsRevoked) as exc:
                store.finish_slot(day, slot.index, claim.lease, status="failed", now=now, error=str(exc))
                self.summary.failed.append(FailedEntry(slot=slot.index, item_id=item.item_id, error=str(exc), retry=True))
                raise _StopRun(str(exc)) from None
            except NotPermitted as exc:
                store.finish_slot(day, slot.index, claim.lease, status="failed", now=now, error=str(exc))
                self.summary.failed.append(FailedEntry(slot=slot.index, item_id=item.item_id, error=str(exc), retry=True))
                raise _StopRun(f"X does not permit posting for this app or account: {exc}") from None
            except XError as exc:
                failed = replace(item, last_error=str(exc))
                store.save_content_state(failed)
                store.finish_slot(day, slot.index, claim.lease, status="failed", now=now, error=str(exc))
                self.summary.failed.append(
                    FailedEntry(slot=slot.index, item_id=item.item_id, error=str(exc), retry=_attempts_left(claim))
                )
                return
            store.finish_slot(
                day, slot.index, claim.lease, status="published", now=now,
                item_id=item.item_id, post_id=post_id, cost_usd=price(item.price_kind),
            )
            posted = item.after_posting(now)
            store.save_content_state(posted)
            self.library[item.item_id] = posted
            self.summary.posted.append(self.entry(slot, item, post_id))
            return
        store.finish_slot(day, slot.index, claim.lease, status="skipped", now=now, error="no available item")
        self.summary.skipped.append(SkippedEntry(slot=slot.index, reason="no available item"))


def _attempts_left(claim: Claim) -> bool:
    attempts = (claim.previous.attempts if claim.previous else 0) + 1
    return attempts < MAX_ATTEMPTS


def _open(slot: PlannedSlot, state: SlotState | None) -> bool:
    if state is None:
        return True
    if state.status == "failed":
        return state.attempts < MAX_ATTEMPTS
    return state.status == "claimed"


def run_post(ctx: PostContext, event: PostEvent) -> PostSummary:
    """One post run: plan the day if needed, publish what is due, report everything."""
    settings, store = ctx.settings, ctx.store
    now = ctx.clock.now()
    day = now.astimezone(settings.zone).date()
    utc_day = now.astimezone(UTC).date()
    dry = settings.mode is Mode.DRY_RUN or event.dry_run is True

    budget = day_budget(store, "post", settings.monthly_budget_usd, utc_day)

    plan = store.get_plan(day)
    if plan is None:
        plan = store.put_plan_if_absent(
            plan_day(
                day=day, tz=settings.zone, active=settings.window, rules=settings.mix,
                items=store.list_content(), budget_usd=budget.allowance_usd * (1 - RECOVERY_RESERVE),
                now=now, seed=f"{ctx.account_id}:{day.isoformat()}",
            ),
            now,
        )
    meter = budget.meter()
    summary = PostSummary(
        account=ctx.account_id,
        mode="dry-run" if dry else "live",
        day=day,
        started_at=now,
        plan_slots=len(plan.slots),
        plan_cost_usd=plan.cost_usd,
        plan_budget_usd=plan.budget_usd,
        plan_notes=list(plan.notes),
        dropped=[DroppedEntry(kind=d.kind.value, item_id=d.item_id, cost_usd=d.cost_usd, reason=d.reason) for d in plan.dropped],
    )
    if dry and settings.mode is Mode.DRY_RUN:
        summary.warnings.append("dry-run mode: nothing is sent to X (set Mode=live to publish)")

    states = store.slots(day)
    open_slots = [s for s in plan.slots if _open(s, states.get(s.index))]
    limit = settings.max_posts_per_run if event.max_posts is None else event.max_posts
    if event.publish_next:
        due = open_slots
    else:
        due = [s for s in open_slots if s.at <= now]
    publisher = _Publisher(ctx, plan, meter, summary)
    taken = 0
    for slot in due:
        if taken >= limit:
            break
        late = now - slot.at
        if not event.publish_next and late > timedelta(minutes=settings.catch_up_minutes):
            summary.skipped.append(SkippedEntry(slot=slot.index, reason=f"missed by {int(late.total_seconds() // 60)} min"))
            if not dry:
                try:
                    claim = store.claim_slot(day, slot.index, slot.item_id, now, LEASE_SECONDS, MAX_ATTEMPTS)
                except SlotTaken:
                    continue
                if not (claim.was_abandoned and publisher.recover(slot, claim, now)):
                    store.finish_slot(day, slot.index, claim.lease, status="skipped", now=now, error="missed")
            continue
        taken += 1
        if dry:
            publisher.dry_publish(slot, now)
            continue
        try:
            publisher.publish(day, slot, now)
        except _StopRun as stop:
            summary.warnings.append(f"stopped: {stop}")
            break
        except XError as exc:  # a failed recovery read: the slot stays claimed for next time
            summary.failed.append(FailedEntry(slot=slot.index, item_id=slot.item_id, error=str(exc), retry=True))
            break

    handled = {e.slot for e in summary.posted + summary.would_post + summary.failed + summary.skipped}
    summary.upcoming = [
        UpcomingEntry(slot=s.index, at=s.at, kind=s.kind.value, preview=s.preview, cost_usd=s.cost_usd)
        for s in open_slots
        if s.index not in handled and (s.at > now or event.publish_next)
    ][:5]
    summary.cost = meter.snapshot()
    store.add_spend(utc_day, "post", meter.usd, meter.requests)
    store.save_run("post", now, summary.model_dump(mode="json"))
    return summary
