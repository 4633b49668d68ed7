"""The prune job: who did not follow back, keeping the band, without follow churn.

suggest mode (default): a list for the digest with profile links and why; the next run
checks (users lookup, connection_status) which of them you unfollowed by hand. api mode:
unfollows through the API, paced, never 50 in 15 minutes; X's 403 switches to suggest; the
churn guard pauses it. dry-run: no writes to X.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from flockpilot.adapters.clock import Clock
from flockpilot.adapters.store import FollowLedger, Inbox, Person, PlanRow, ReconRow, Store
from flockpilot.adapters.x import XClient
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import BudgetExhausted, NotPermitted, RateLimited, XError
from flockpilot.domain.follow import band_limit, snowflake_time
from flockpilot.domain.prune import Decision, Followed, churn_check, due_for_check, select_unfollows
from flockpilot.events import PruneEvent
from flockpilot.jobs.follow import profile_url
from flockpilot.jobs.spending import day_budget
from flockpilot.jobs.sync import sync_own_lists
from flockpilot.pricing import price
from flockpilot.settings import AccountSettings, FollowMode, Mode

API_UNFOLLOWS_PER_WINDOW = 50
RECON_PAGE = 1000
RECON_TIME_MARGIN_SECONDS = 20.0


class PruneSuggestion(BaseModel):
    user_id: str
    username: str
    profile_url: str
    why: str


class PruneSummary(BaseModel):
    job: Literal["prune"] = "prune"
    account: str
    mode: str
    day: date
    started_at: datetime
    followers: int | None = None
    following: int | None = None
    band_excess: int = 0
    checked: int = 0
    suggested: list[PruneSuggestion] = Field(default_factory=list)
    unfollowed: list[str] = Field(default_factory=list)
    unfollowed_by_hand: list[str] = Field(default_factory=list)
    follow_backs: list[str] = Field(default_factory=list)
    kept: dict[str, int] = Field(default_factory=dict)
    churn: dict[str, object] = Field(default_factory=dict)
    reconciliation: dict[str, object] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    cost: dict[str, object] = Field(default_factory=dict)


@dataclass
class PruneContext:
    account_id: str
    settings: AccountSettings
    store: Store
    ledger: FollowLedger
    inbox: Inbox
    clock: Clock
    x_client: Callable[[CostMeter], XClient]
    remaining_seconds: Callable[[], float]


def band_excess(followers: int, following: int, tolerance: float) -> int:
    """How far following is above the band (negative: room left)."""
    return following - band_limit(followers, following, tolerance)


def _automatic_allowlist(ctx: PruneContext, now: datetime) -> None:
    """People you talk with are never pruned: DM correspondents (from the digest's store)."""
    known = {r.sk.removeprefix("ALLOW#") for r in ctx.ledger.allowlist()}
    for user_id, username in ctx.inbox.correspondents():
        if user_id not in known:
            ctx.ledger.allow(user_id, username, "dm", now)
            known.add(user_id)


def _allow_mentioners(ctx: PruneContext, x: XClient, now: datetime) -> None:
    since = next(iter(ctx.ledger.frontier("mentions-allow")), None)
    users, newest = x.mentions_authors(since_id=since, max_results=20)
    for user in users:
        ctx.ledger.allow(str(user["id"]), str(user.get("username", "")), "mention", now)
    if newest:
        ctx.ledger.set_frontier("mentions-allow", [newest], now)


def reconcile(ctx: PruneContext, x: XClient, name: str, now: datetime, budget_usd: float) -> dict[str, object]:
    """One step of a full reconciliation of your `name` list (followers | following):
    pages of 1,000 until the list ends, the Lambda's time or the budget runs short, then
    resumes next run from the stored cursor. At the end, who is gone is known."""
    row = ctx.ledger.recon(name)
    settings = ctx.settings
    fresh = row is None or (row.finished_at is not None and now - row.finished_at >= timedelta(days=settings.reconcile_every_days))
    if row is not None and row.finished_at is not None and not fresh:
        return {"list": name, "state": "up to date", "finished_at": row.finished_at.isoformat()}
    if fresh:
        row = ReconRow(run_id=uuid.uuid4().hex[:12], started_at=now, read=0)
    assert row is not None
    pages = 0
    gone: list[str] = []
    state = "in progress"
    while True:
        if ctx.remaining_seconds() < RECON_TIME_MARGIN_SECONDS:
            state = "paused: Lambda time"
            break
        page = min(RECON_PAGE, math.floor((budget_usd - x.meter.usd) / price("owned_read") + 1e-9))
        if page < 1:
            state = "paused: reconciliation budget"
            break
        read_page = x.followers_page if name == "followers" else None
        if read_page is not None:
            users, token = read_page(x.user_id, max_results=page, token=row.cursor)
        else:
            users, token = x.own_following_page(max_results=page, token=row.cursor)
        pages += 1
        ctx.ledger.mark_members(name, [u["id"] for u in users], row.run_id)
        row.read = int(row.read or 0) + len(users)
        row.cursor = token
        if not token:
            gone = ctx.ledger.sweep_members(name, row.run_id)
            row.finished_at = now
            state = "finished"
            break
        window = x.rate_windows.get("own_followers" if name == "followers" else "own_following")
        if window is not None and window.remaining <= 1:
            state = "paused: rate limit window"
            break
    ctx.ledger.save_recon(name, row)
    if name == "following" and gone:
        for user_id, person in ctx.ledger.people_by_id(gone).items():
            if person.status in ("followed", "followed_back", "prune_suggested"):
                ctx.ledger.set_status(user_id, "unfollowed", now)
    return {"list": name, "state": state, "pages": pages, "read_total": int(row.read or 0), "gone": len(gone)}


def _reconcile_step(ctx: PruneContext, summary: PruneSummary, now: datetime, utc_day: date) -> None:
    """Full reconciliations have their own monthly budget (RECONCILE_MONTHLY_USD): reading a
    100,000 list costs $100 at owned-read prices, far beyond a day's prune money."""
    month = utc_day.strftime("%Y-%m")
    spent = sum(float(r.usd or 0) for r in (ctx.ledger.recon("following"), ctx.ledger.recon("followers"))
                if r is not None and r.month == month)
    meter = CostMeter(limit_usd=max(0.0, ctx.settings.reconcile_monthly_usd - spent))
    x = ctx.x_client(meter)
    for name in ("following", "followers"):
        before = meter.usd
        try:
            summary.reconciliation[name] = reconcile(ctx, x, name, now, meter.limit_usd or 0.0)
        except (BudgetExhausted, RateLimited, XError) as exc:
            summary.reconciliation[name] = {"list": name, "state": f"paused: {exc}"}
        row = ctx.ledger.recon(name)
        if row is not None:
            row.usd = (float(row.usd or 0) if row.month == month else 0.0) + (meter.usd - before)
            row.month = month
            ctx.ledger.save_recon(name, row)
    summary.reconciliation["cost"] = meter.snapshot()
    ctx.store.add_spend(utc_day, "prune", meter.usd, meter.requests)


def run_prune(ctx: PruneContext, event: PruneEvent) -> PruneSummary:
    settings = ctx.settings
    now = ctx.clock.now()
    day = now.astimezone(settings.zone).date()
    utc_day = now.astimezone(UTC).date()
    mode = FollowMode(event.mode) if event.mode in ("suggest", "api") else settings.prune_mode
    dry = settings.mode is Mode.DRY_RUN or event.mode == "dry-run"
    summary = PruneSummary(account=ctx.account_id, mode=f"{mode.value}{' (dry-run)' if dry else ''}", day=day, started_at=now)
    meter = day_budget(ctx.store, "prune", settings.monthly_budget_usd, utc_day).meter()
    x = ctx.x_client(meter)
    try:
        _run(ctx, event, x, summary, mode=mode, dry=dry, now=now)
    except (BudgetExhausted, RateLimited, XError) as exc:
        summary.warnings.append(f"stopped: {exc}")
    summary.cost = meter.snapshot()
    ctx.store.add_spend(utc_day, "prune", meter.usd, meter.requests)
    if event.reconcile is not False:
        _reconcile_step(ctx, summary, now, utc_day)
    ctx.store.save_run("prune", now, summary.model_dump(mode="json"))
    return summary


def _check_follow_backs(ctx: PruneContext, x: XClient, people: list[Person], now: datetime,
                        summary: PruneSummary) -> dict[str, tuple[bool, bool, datetime | None]]:
    """connection_status for these people, 100 per request: (follows you, you follow them, last post)."""
    result: dict[str, tuple[bool, bool, datetime | None]] = {}
    # Oldest follows first, and only as many as today's money covers: the rest wait a day.
    ids = [p.user_id for p in sorted(people, key=lambda p: (p.followed_at or now, p.user_id))]
    start = 0
    while start < len(ids):
        affordable = math.floor((x.meter.remaining_usd() or 0.0) / price("user_read") + 1e-9)
        batch = ids[start:start + min(100, affordable)]
        if not batch:
            summary.warnings.append(f"follow-back checks for {len(ids) - start} people wait for tomorrow's budget")
            break
        start += len(batch)
        for user in x.lookup_users(batch, latest_post=settings_outside(ctx)):
            status = user.get("connection_status") or []
            latest = user.get("most_recent_post_id")
            result[str(user["id"])] = ("followed_by" in status, "following" in status,
                                       snowflake_time(latest) if latest else None)
    summary.checked += len(result)
    return result



def settings_outside(ctx: PruneContext) -> bool:
    return ctx.settings.prune_outside_inactive_days > 0


def _run(ctx: PruneContext, event: PruneEvent, x: XClient, summary: PruneSummary, *, mode: FollowMode,
         dry: bool, now: datetime) -> None:
    day_key = (ctx.store.pk, f"PRUNEDAY#{summary.day.isoformat()}")
    try:
        record = dict(PlanRow.get(*day_key, consistent_read=True).body)
    except PlanRow.DoesNotExist:
        record = {"done": [], "times": [], "queue": None}
    if record.get("queue") is None or event.max is not None or dry:
        decisions = _decide(ctx, event, x, summary, mode=mode, dry=dry, now=now)
        record["queue"] = [[d.person.user_id, d.person.username, d.reason] for d in decisions]
        record["api"] = mode is FollowMode.API and not summary.churn.get("paused")
    if mode is FollowMode.API and record.get("api"):
        _unfollow_paced(ctx, x, summary, record, now, dry=dry)
    if not dry:
        PlanRow(*day_key, body=record, created_at=now, expires_at=now + timedelta(days=40)).save()


def _unfollow_paced(ctx: PruneContext, x: XClient, summary: PruneSummary, record: dict[str, Any], now: datetime,
                    *, dry: bool) -> None:
    """Unfollow today's queue, never 50 in any 15 minutes; X's 403 switches to suggest."""
    done = set(record["done"])
    in_window = sum(1 for t in record["times"] if now - datetime.fromisoformat(t) < timedelta(minutes=15))
    quota = max(0, API_UNFOLLOWS_PER_WINDOW - in_window)
    for user_id, username, _reason in [q for q in record["queue"] if q[0] not in done][:quota]:
        if dry:
            summary.unfollowed.append(username)
            continue
        try:
            x.unfollow(user_id)
        except NotPermitted as exc:
            ctx.store.set_override("prune_mode", FollowMode.SUGGEST.value, now)
            summary.warnings.append(f"X does not let this app unfollow ({exc}); prune is switched to suggest mode")
            for uid, _, reason in record["queue"]:
                if uid not in done and ctx.ledger.set_status(uid, "prune_suggested", now, expected=("followed",)):
                    ctx.ledger.set_prune_reason(uid, reason)
            record["api"] = False
            break
        ctx.ledger.set_status(user_id, "unfollowed", now, by_api=True)
        summary.unfollowed.append(username)
        record["done"].append(user_id)
        record["times"].append(now.isoformat())


def _decide(ctx: PruneContext, event: PruneEvent, x: XClient, summary: PruneSummary, *, mode: FollowMode,
            dry: bool, now: datetime) -> list[Decision]:
    """The day's work: syncs, allowlist, follow-back checks, then today's unfollow list."""
    settings, ledger = ctx.settings, ctx.ledger
    me = x.me()
    m = me.get("public_metrics") or {}
    summary.followers, summary.following = int(m.get("followers_count", 0)), int(m.get("following_count", 0))
    ctx.inbox.record_stats(now.astimezone(settings.zone).date(), summary.followers, summary.following, now)

    summary.follow_backs = sync_own_lists(ledger, x, now).follow_backs
    _automatic_allowlist(ctx, now)
    _allow_mentioners(ctx, x, now)
    allow = {r.sk.removeprefix("ALLOW#") for r in ledger.allowlist()}

    # Suggestions from earlier runs: did the person unfollow them by hand?
    pending = ledger.people("prune_suggested")
    if pending:
        status = _check_follow_backs(ctx, x, pending, now, summary)
        for p in pending:
            follows_you, you_follow, _ = status.get(p.user_id, (False, True, None))
            if not you_follow and ledger.set_status(p.user_id, "unfollowed", now, by_api=False, expected=("prune_suggested",)):
                summary.unfollowed_by_hand.append(p.username)
            elif follows_you and ledger.set_status(p.user_id, "followed_back", now, expected=("prune_suggested",)):
                ledger.credit_source(p.source_id, followed_back=1)

    followed = ledger.people("followed")
    due = due_for_check(
        [Followed(p.user_id, p.username, p.followed_at, p.source_id, True, None) for p in followed],
        now=now, grace_days=settings.prune_grace_days,
    )
    due_people = [p for p in followed if p.user_id in {d.user_id for d in due} and p.user_id not in allow]
    status = _check_follow_backs(ctx, x, due_people, now, summary) if due_people else {}
    candidates: list[Followed] = []
    for p in followed:
        follows_you, you_follow, last_post = status.get(p.user_id, (None, True, None))  # type: ignore[assignment]
        if p.user_id in status and not you_follow:
            ledger.set_status(p.user_id, "unfollowed", now, by_api=False)  # gone by hand already
            continue
        if follows_you:
            if ledger.set_status(p.user_id, "followed_back", now, expected=("followed",)):
                ledger.credit_source(p.source_id, followed_back=1)
                summary.follow_backs.append(p.user_id)
            continue
        candidates.append(Followed(p.user_id, p.username, p.followed_at, p.source_id, True, follows_you, last_post))
    if settings_outside(ctx):
        in_ledger = {p.user_id for p in ledger.people()}
        outside_ids = [i for i in ledger.members("following") if i not in in_ledger and i not in allow][: settings.prune_daily_cap]
        outside_status = _check_follow_backs(
            ctx, x, [Person(i, i, "outside", None, 0, (), None) for i in outside_ids], now, summary) if outside_ids else {}
        for user_id, (follows_you, _, last_post) in outside_status.items():
            candidates.append(Followed(user_id, user_id, now - timedelta(days=3650), None, False, follows_you, last_post))

    summary.band_excess = band_excess(summary.followers, summary.following, settings.ratio_tolerance)
    cap = settings.prune_daily_cap
    decisions, kept = select_unfollows(
        candidates, now=now, grace_days=settings.prune_grace_days, daily_cap=max(0, cap),
        band_excess=summary.band_excess, allow=allow,
        prune_outside_inactive_days=settings.prune_outside_inactive_days or None,
    )
    if event.max is not None:
        decisions = decisions[: event.max]
    summary.kept = kept

    people_all = ledger.people()
    churn = churn_check(
        [p.followed_at for p in people_all if p.followed_at],
        [(p.unfollowed_at, p.followed_at) for p in people_all if p.unfollowed_at],
        now=now, max_quick_share=settings.churn_max_quick_share, max_ratio=settings.churn_max_ratio,
        planned=len(decisions) if mode is FollowMode.API else 0,
    )
    summary.churn = {"paused": churn.paused, "quick_undo_share": churn.quick_undo_share,
                     "unfollow_follow_ratio": churn.unfollow_follow_ratio, "reasons": list(churn.reasons)}

    if mode is FollowMode.API and churn.paused:
        summary.warnings.append("api unfollows paused by the churn guard: " + "; ".join(churn.reasons)
                                + "; today's list is a suggestion instead")
    if mode is FollowMode.SUGGEST or churn.paused:
        for d in decisions:
            if not dry and d.person.through_flockpilot:
                ledger.set_status(d.person.user_id, "prune_suggested", now, expected=("followed",))
                ledger.set_prune_reason(d.person.user_id, d.reason)
            summary.suggested.append(PruneSuggestion(user_id=d.person.user_id, username=d.person.username,
                                                     profile_url=profile_url(d.person.username), why=d.reason))
    return decisions
