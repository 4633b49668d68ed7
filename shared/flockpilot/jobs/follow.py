"""The follow job: find, rank and deliver the day's follows inside the 10% band.

suggest mode (default): the day's ranked shortlist is stored with profile and follow links
for the digest, and the next day's sync of your own following records whom you followed.
api mode: the shortlist is followed through the API, paced over the active hours; X's 403
switches the account back to suggest. dry-run: the full run, with no write to X.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from flockpilot.adapters.clock import Clock
from flockpilot.adapters.store import FollowLedger, Inbox, Person, PlanRow, Store
from flockpilot.adapters.x import XClient
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import BudgetExhausted, CredentialsRevoked, NotPermitted, RateLimited, XError
from flockpilot.domain.follow import Candidate, SourceStats, choose_sources, follow_budget, score, screen, snowflake_time
from flockpilot.events import FollowEvent
from flockpilot.jobs.spending import day_budget
from flockpilot.jobs.sync import sync_own_lists
from flockpilot.pricing import price
from flockpilot.settings import AccountSettings, FollowMode, Mode

DEFAULT_AVATAR_MARK = "default_profile_images"
PASS_RATE_PRIOR = 0.3
MAX_MY_FOLLOWER_SOURCES = 30
API_FOLLOWS_PER_WINDOW = 50  # X: 50 follows per 15 minutes per user
API_FOLLOW_SHARE = 0.5


class Suggestion(BaseModel):
    user_id: str
    username: str
    score: float
    source: str
    profile_url: str
    follow_url: str
    why: list[str]


class SourceFigure(BaseModel):
    source: str
    kind: str
    read: int
    suggested: int
    followed: int
    followed_back: int
    follow_back_rate: float


class FollowSummary(BaseModel):
    job: Literal["follow"] = "follow"
    account: str
    mode: str
    day: date
    started_at: datetime
    followers: int | None = None
    following: int | None = None
    budget: int = 0
    budget_reason: str = ""
    shortlisted: list[Suggestion] = Field(default_factory=list)
    followed: list[str] = Field(default_factory=list)
    followed_by_hand: list[str] = Field(default_factory=list)
    follow_backs: list[str] = Field(default_factory=list)
    users_read: int = 0
    screened_out: int = 0
    reasons_out: dict[str, int] = Field(default_factory=dict)
    sources_used: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    cost: dict[str, object] = Field(default_factory=dict)
    cost_per_shortlisted_usd: float | None = None


@dataclass
class FollowContext:
    account_id: str
    settings: AccountSettings
    store: Store
    ledger: FollowLedger
    clock: Clock
    x_client: Callable[[CostMeter], XClient]


def profile_url(username: str) -> str:
    return f"https://x.com/{quote(username)}"


def follow_url(username: str) -> str:
    return f"https://x.com/intent/follow?screen_name={quote(username)}"


def candidate_from(user: dict[str, Any], active_at: datetime | None = None) -> Candidate:
    """A person as the filters see them. `active_at` stands in for a last post we know of
    (a mention just now) when X did not send most_recent_post_id."""
    metrics = user.get("public_metrics") or {}
    latest_id = user.get("most_recent_post_id")
    created = user.get("created_at")
    return Candidate(
        id=str(user["id"]),
        username=str(user.get("username", "")),
        name=str(user.get("name", "")),
        description=str(user.get("description", "")),
        protected=bool(user.get("protected", False)),
        default_avatar=DEFAULT_AVATAR_MARK in str(user.get("profile_image_url", DEFAULT_AVATAR_MARK)),
        followers=int(metrics.get("followers_count", 0)),
        following=int(metrics.get("following_count", 0)),
        posts=int(metrics.get("post_count", 0)),
        created_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None,
        last_post_at=snowflake_time(latest_id) if latest_id else active_at,
        connection=tuple(user.get("connection_status") or ()),
        lang_hint=user.get("most_recent_post_lang"),
    )


class _DayRecord:
    """FOLLOWDAY#<day>: who was shortlisted and followed today (one small item, not a scan)."""

    def __init__(self, store: Store, day: date) -> None:
        self.row_key = (store.pk, f"FOLLOWDAY#{day.isoformat()}")
        try:
            self.body: dict[str, Any] = dict(PlanRow.get(*self.row_key, consistent_read=True).body)
        except PlanRow.DoesNotExist:
            self.body = {"shortlisted": [], "followed": [], "synced": False}

    def save(self, now: datetime) -> None:
        PlanRow(*self.row_key, body=self.body, created_at=now, expires_at=now + timedelta(days=40)).save()


def _my_follower_sources(ctx: FollowContext, new_followers: dict[str, dict[str, Any]], now: datetime) -> None:
    existing = [s for s in ctx.ledger.sources() if s.kind == "my_follower"]
    room = MAX_MY_FOLLOWER_SOURCES - len(existing)
    for user_id, user in list(new_followers.items())[: max(0, room)]:
        ctx.ledger.add_source(user_id, "my_follower", f"@{user.get('username', user_id)}", now)


def _source_stats(ctx: FollowContext) -> list[SourceStats]:
    allowed = {"account"} | ({"my_follower"} if ctx.settings.follow_use_my_followers else set()) | (
        {"mentions"} if ctx.settings.follow_use_mentions else set())
    return [
        SourceStats(source_id=r.source_id, label=r.label, kind=r.kind, suggested=int(r.suggested or 0),
                    followed=int(r.followed or 0), followed_back=int(r.followed_back or 0),
                    exhausted=bool(r.exhausted), extra={"cursor": r.cursor or "", "read": str(int(r.read_users or 0))})
        for r in ctx.ledger.sources() if r.kind in allowed
    ]


def run_follow(ctx: FollowContext, event: FollowEvent) -> FollowSummary:
    settings = ctx.settings
    now = ctx.clock.now()
    day = now.astimezone(settings.zone).date()
    utc_day = now.astimezone(UTC).date()
    mode = FollowMode(event.mode) if event.mode in ("suggest", "api") else settings.follow_mode
    dry = settings.mode is Mode.DRY_RUN or event.mode == "dry-run"
    summary = FollowSummary(account=ctx.account_id, mode=f"{mode.value}{' (dry-run)' if dry else ''}", day=day, started_at=now)
    if dry and settings.mode is Mode.DRY_RUN:
        summary.warnings.append("dry-run mode: nothing is written to X (set Mode=live)")

    meter = day_budget(ctx.store, "follow", settings.monthly_budget_usd, utc_day).meter()
    record = _DayRecord(ctx.store, day)
    x = ctx.x_client(meter)
    try:
        _run(ctx, event, x, meter, record, summary, mode=mode, dry=dry, now=now)
    except BudgetExhausted as exc:
        summary.warnings.append(f"stopped at the day's follow budget (${meter.limit_usd:.2f}): {exc}")
    except RateLimited as exc:
        summary.warnings.append(f"stopped: X rate limit, resets {exc.reset_at:%H:%M} UTC" if exc.reset_at else f"stopped: {exc}")
    except (CredentialsRevoked, XError) as exc:
        summary.warnings.append(f"stopped: {exc}")
    record.save(now)
    summary.cost = meter.snapshot()
    if summary.shortlisted:
        summary.cost_per_shortlisted_usd = round(meter.usd / len(summary.shortlisted), 4)
    ctx.store.add_spend(utc_day, "follow", meter.usd, meter.requests)
    ctx.store.save_run("follow", now, summary.model_dump(mode="json"))
    return summary


def _run(ctx: FollowContext, event: FollowEvent, x: XClient, meter: CostMeter, record: _DayRecord,
         summary: FollowSummary, *, mode: FollowMode, dry: bool, now: datetime) -> None:
    settings, ledger = ctx.settings, ctx.ledger
    if record.body.get("built") and event.max is None and not event.sync:
        # Today's list is made: later ticks only pace api follows, and read nothing.
        if mode is FollowMode.API:
            _follow_paced(ctx, x, summary, record, list(record.body.get("followed", [])), event, now, dry=dry)
        return
    me = x.me()
    metrics = me.get("public_metrics") or {}
    summary.followers, summary.following = int(metrics.get("followers_count", 0)), int(metrics.get("following_count", 0))
    Inbox(ctx.account_id).record_stats(now.astimezone(settings.zone).date(), summary.followers, summary.following, now)

    # Daily syncs: whom you followed by hand (suggest mode) and who followed back.
    if event.sync or (event.sync is None and not record.body.get("synced")):
        synced = sync_own_lists(ledger, x, now)
        summary.followed_by_hand, summary.follow_backs = synced.followed_by_hand, synced.follow_backs
        _my_follower_sources(ctx, synced.new_followers, now)
        record.body["synced"] = True

    if settings.follow_use_mentions:
        ledger.add_source("mentions", "mentions", "your mentions", now)  # no-op once it exists
    shortlisted_today: list[str] = list(record.body.get("shortlisted", []))
    followed_today: list[str] = list(record.body.get("followed", []))
    per_follow = price("interaction_create") if mode is FollowMode.API and not dry else 0.0
    # In api mode half of what is left pays for the follows, half for finding people.
    affordable = math.floor((meter.remaining_usd() or 0) * API_FOLLOW_SHARE / per_follow) if per_follow else settings.follow_daily_cap
    budget = follow_budget(
        followers=summary.followers, following=summary.following, tolerance=settings.ratio_tolerance,
        daily_cap=settings.follow_daily_cap, already_today=len(shortlisted_today), affordable=affordable,
    )
    wanted = budget.count if event.max is None else min(budget.count, event.max)
    summary.budget, summary.budget_reason = wanted, budget.reason
    if wanted > 0:
        _shortlist(ctx, x, meter, summary, wanted, now, dry=dry, mode=mode)
        record.body["shortlisted"] = shortlisted_today + [s.user_id for s in summary.shortlisted]
    elif budget.band_room <= 0:
        summary.warnings.append(f"no follows today: {budget.reason}")
    record.body["built"] = True

    if mode is FollowMode.API:
        _follow_paced(ctx, x, summary, record, followed_today, event, now, dry=dry)


def _shortlist(ctx: FollowContext, x: XClient, meter: CostMeter, summary: FollowSummary, wanted: int,
               now: datetime, *, dry: bool, mode: FollowMode) -> None:
    settings, ledger = ctx.settings, ctx.ledger
    rng = random.Random(f"{ctx.account_id}:{now.date().isoformat()}")
    passed: list[tuple[float, Candidate, SourceStats]] = []
    day = now.astimezone(settings.zone).date().isoformat()

    # Yesterday's runners-up first: they cost nothing to suggest.
    for person in sorted(ledger.people("reserve"), key=lambda p: -p.score)[:wanted]:
        if ledger.set_status(person.user_id, "queued" if mode is FollowMode.API else "suggested", now, expected=("reserve",)):
            summary.shortlisted.append(_suggestion(person.user_id, person.username, person.score,
                                                   person.source_id or "", list(person.reasons)))
    sources = choose_sources(_source_stats(ctx), settings.follow_sources_per_run, rng)
    for source in sources:
        need = wanted - len(summary.shortlisted) - len(passed)
        if need <= 0:
            break
        summary.sources_used.append(source.label)
        if source.kind == "mentions":
            users, newest = x.mentions_authors(since_id=source.extra.get("cursor") or None, max_results=min(100, need * 3))
            batch, cursor, exhausted = users, newest or source.extra.get("cursor") or None, False
            active_at: datetime | None = now  # they just mentioned you
        else:
            read = int(source.extra.get("read", "0"))
            pass_rate = (source.suggested + 1) / (read + 1 / PASS_RATE_PRIOR) if read else PASS_RATE_PRIOR
            size = max(10, min(1000, math.ceil(need / max(pass_rate, 0.05))))
            remaining = meter.remaining_usd()
            if remaining is not None:
                size = min(size, math.floor(remaining / price("user_read")) - 1)
            if size < 1:
                summary.warnings.append("the day's follow budget is spent: no more candidates read today")
                break
            try:
                batch, next_token = x.followers_page(source.source_id, max_results=size, token=source.extra.get("cursor") or None)
            except (BudgetExhausted, RateLimited) as exc:
                summary.warnings.append(f"stopped reading candidates: {exc}")
                break
            cursor, exhausted = next_token, next_token is None
            active_at = None
        summary.users_read += len(batch)
        candidates = [candidate_from(u, active_at) for u in batch]
        known = ledger.known([c.id for c in candidates])
        rejected: list[tuple[str, str]] = []
        found = 0
        for c in candidates:
            verdict = screen(c, settings.follow_filters, owner_id=ctx.account_id, known=set(known), blocked=set(), now=now)
            if verdict.passed:
                passed.append((score(c, source.rate, settings.keywords), c, source))
                found += 1
            else:
                if c.id not in known:
                    rejected.append((c.id, verdict.reasons[0]))
                for reason in verdict.reasons[:1]:
                    key = reason.split(" ")[0] if reason[0].isdigit() else reason
                    summary.reasons_out[key] = summary.reasons_out.get(key, 0) + 1
        summary.screened_out += len(candidates) - found
        if rejected:
            ledger.mark_seen(rejected, now)
        ledger.advance_source(source.source_id, cursor=cursor, exhausted=exhausted, read=len(batch), suggested=found)

    passed.sort(key=lambda t: (-t[0], t[1].id))
    room = wanted - len(summary.shortlisted)
    status = "queued" if mode is FollowMode.API else "suggested"
    for rank, (value, c, source) in enumerate(passed):
        keep = rank < room
        reasons = [f"score {value:.2f}: follow-back {source.rate:.0%} at {source.label}",
                   f"{c.followers} followers, follows {c.following}"]
        person = Person(user_id=c.id, username=c.username, status=status if keep else "reserve",
                        source_id=source.source_id, score=value, reasons=tuple(reasons), day=day,
                        suggested_at=now if keep else None)
        if ledger.add_person(person) and keep:
            summary.shortlisted.append(_suggestion(c.id, c.username, value, source.label, reasons))


def _suggestion(user_id: str, username: str, value: float, source: str, why: list[str]) -> Suggestion:
    return Suggestion(user_id=user_id, username=username, score=value, source=source,
                      profile_url=profile_url(username), follow_url=follow_url(username), why=why)


def _follow_paced(ctx: FollowContext, x: XClient, summary: FollowSummary, record: _DayRecord,
                  followed_today: list[str], event: FollowEvent, now: datetime, *, dry: bool) -> None:
    """Follow today's queue spread over the active hours, never 50 in 15 minutes."""
    settings, ledger = ctx.settings, ctx.ledger
    queue = [p for p in ledger.people_by_id(list(record.body.get("shortlisted", []))).values() if p.status == "queued"]
    if not queue:
        return
    local = now.astimezone(settings.zone)
    end = datetime.combine(local.date(), settings.window.end, tzinfo=settings.zone)
    runs_left = max(1, math.ceil((end - local).total_seconds() / 3600))
    rng = random.Random(f"{ctx.account_id}:{now.isoformat()}")
    quota = math.ceil(len(queue) / runs_left) + rng.randint(0, 1)
    recent = record.body.get("follow_times", [])
    in_window = sum(1 for t in recent if now - datetime.fromisoformat(t) < timedelta(minutes=15))
    quota = min(quota, API_FOLLOWS_PER_WINDOW - in_window, len(queue))
    if event.max is not None:
        quota = min(quota, event.max)
    for person in sorted(queue, key=lambda p: -p.score)[: max(0, quota)]:
        if dry:
            summary.followed.append(person.username)
            continue
        try:
            x.follow(person.user_id)
        except NotPermitted as exc:
            ctx.store.set_override("follow_mode", FollowMode.SUGGEST.value, now)
            summary.warnings.append(
                f"X does not let this app follow ({exc}); the account is switched to suggest mode: "
                "today's list is in the digest with one-tap follow links")
            for p in queue:
                ledger.set_status(p.user_id, "suggested", now, expected=("queued",))
            return
        except XError as exc:
            summary.warnings.append(f"follow @{person.username} failed: {exc}")
            continue
        ledger.set_status(person.user_id, "followed", now, by_api=True, expected=("queued",))
        ledger.credit_source(person.source_id, followed=1)
        summary.followed.append(person.username)
        followed_today.append(person.user_id)
        recent.append(now.isoformat())
    record.body["followed"] = followed_today
    record.body["follow_times"] = recent[-100:]
