"""The DM digest job: fetch new DMs (nothing twice), rank them, draft replies by name, and
send one email a day with the account's whole day in it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from flockpilot.adapters.clock import Clock
from flockpilot.adapters.store import FollowLedger, Inbox, PlanRow, Store
from flockpilot.adapters.x import XClient
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.digest import DEFAULT_INVITE, DEFAULT_TEMPLATE, Conversation, Correspondent, Message, rank
from flockpilot.domain.digest_email import DigestReport, GrowthPoint, LinkItem, PostLine, render_html, render_text
from flockpilot.domain.errors import BudgetExhausted, RateLimited, XError
from flockpilot.domain.follow import band_limit
from flockpilot.events import DigestEvent
from flockpilot.jobs.follow import follow_url, profile_url
from flockpilot.jobs.spending import day_budget
from flockpilot.pricing import price
from flockpilot.settings import AccountSettings, Mode

MAX_PAGES = 10


class DigestSummary(BaseModel):
    job: Literal["digest"] = "digest"
    account: str
    day: date
    status: str  # sent | already-sent | preview | failed
    new_messages: int = 0
    conversations: int = 0
    worth_replying: int = 0
    maybe: int = 0
    ignore: int = 0
    subject: str = ""
    message_id: str | None = None
    outbox: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    cost: dict[str, object] = Field(default_factory=dict)


@dataclass
class DigestContext:
    account_id: str
    settings: AccountSettings
    store: Store
    ledger: FollowLedger
    inbox: Inbox
    clock: Clock
    x_client: Callable[[CostMeter], XClient]
    send: Callable[[str, str, str], str]  # (subject, html, text) -> message id
    sender: str | None
    outbox_dir: Path | None = None
    template: str = DEFAULT_TEMPLATE
    invite: str = DEFAULT_INVITE


def _other_party(conversation_id: str, me: str) -> str:
    ids = conversation_id.split("-")
    return next((i for i in ids if i != me), ids[0])


def fetch_new_messages(ctx: DigestContext, x: XClient, meter: CostMeter, now: datetime) -> tuple[int, list[str]]:
    """Read DM events newest first until the newest one already stored.

    X has no since_id for DM events, so a page can hold events we already have (and X bills
    them). Pages grow 1, 2, 4, ... from the newest: a day with n new messages re-reads at most
    n + 1 known events, a quiet day one. Nothing is stored twice (the event id is the key)."""
    known = set(ctx.ledger.frontier("dm"))
    new: list[dict[str, Any]] = []
    senders: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    token: str | None = None
    size = 1 if known else 50
    done = False
    for _ in range(MAX_PAGES):
        affordable = math.floor((meter.remaining_usd() or 0) / price("dm_event_read") + 1e-9)
        if affordable < 1:
            warnings.append("the day's digest budget is spent: older messages wait for tomorrow")
            break
        try:
            events, users, token = x.dm_events_page(max_results=min(size, affordable), token=token)
        except (RateLimited, BudgetExhausted) as exc:
            warnings.append(f"stopped reading DMs: {exc}")
            break
        senders.update(users)
        for ev in events:
            if ev["id"] in known:
                done = True
                break
            new.append(ev)
        if done or not token:
            break
        size = min(100, size * 2)
    if not new:
        return 0, warnings
    by_conv: dict[str, list[dict[str, Any]]] = {}
    for ev in new:
        conv = ev.get("dm_conversation_id") or "-".join(sorted([ev["sender_id"], x.user_id], key=int))
        by_conv.setdefault(conv, []).append({
            "id": ev["id"], "conversation_id": conv, "sender_id": ev["sender_id"], "text": ev.get("text", ""),
            "created_at": datetime.fromisoformat(ev["created_at"].replace("Z", "+00:00")) if ev.get("created_at") else now,
            "from_me": ev["sender_id"] == x.user_id,
        })
    for conv, messages in by_conv.items():
        ctx.inbox.save_messages(messages, now)
        other = senders.get(_other_party(conv, x.user_id))
        if other is not None:  # they wrote: a conversation for the digest
            ctx.inbox.touch_conversation(conv, other, max(m["created_at"] for m in messages), now)
    # The newest ids become the frontier only once stored: a crash re-reads, never loses.
    ctx.ledger.set_frontier("dm", [ev["id"] for ev in new][:50] + list(known), now)
    return len(new), warnings


def _conversations(ctx: DigestContext) -> list[Conversation]:
    result = []
    for conv, messages in ctx.inbox.pending_conversations():
        other = Correspondent(id=conv.other_id, username=conv.username, name=conv.name, followers=int(conv.followers),
                              description=conv.description, follows_me=bool(conv.follows_me), i_follow=bool(conv.i_follow))
        result.append(Conversation(
            id=conv.sk.removeprefix("CONV#"), other=other,
            messages=tuple(Message(m.sk.rsplit("#", 1)[1], m.sender_id, m.text, m.created_at, bool(m.from_me)) for m in messages),
        ))
    return result


def build_report(ctx: DigestContext, x: XClient | None, meter: CostMeter, day: date, now: datetime,
                 summary: DigestSummary) -> DigestReport:
    settings, store, ledger = ctx.settings, ctx.store, ctx.ledger
    report = DigestReport(handle="", day=day, time_zone=settings.time_zone, dry_run=settings.mode is Mode.DRY_RUN)
    if x is not None:
        try:
            me = x.me()
            report.handle = str(me.get("username", ""))
            m = me.get("public_metrics") or {}
            report.followers, report.following = int(m.get("followers_count", 0)), int(m.get("following_count", 0))
            ctx.inbox.record_stats(day, report.followers, report.following, now)
            room = band_limit(report.followers, report.following, settings.ratio_tolerance) - report.following
            report.band = f"inside the band ({room} follows of room)" if room >= 0 else f"above the band by {-room}: prune first"
        except (BudgetExhausted, RateLimited, XError) as exc:
            summary.warnings.append(f"account figures unavailable: {exc}")
    entries = rank(_conversations(ctx), keywords=settings.keywords, template=ctx.template, invite=ctx.invite, now=now)
    report.entries = entries

    try:
        follow_day = dict(PlanRow.get(store.pk, f"FOLLOWDAY#{day.isoformat()}").body)
    except PlanRow.DoesNotExist:
        follow_day = {}
    people = ledger.people_by_id(list(follow_day.get("shortlisted", [])))
    report.follow = [
        LinkItem(p.username, profile_url(p.username), follow_url(p.username), "Follow", "; ".join(p.reasons[:1]))
        for p in sorted(people.values(), key=lambda p: -p.score) if p.status == "suggested"
    ]
    report.prune = [
        LinkItem(p.username, profile_url(p.username), profile_url(p.username), "Profile", p.prune_reason or "")
        for p in ledger.people("prune_suggested")
    ]
    if not report.prune:
        report.prune_note = "Nobody to unfollow today."
    for run in store.recent_runs("prune", limit=30):
        if run.get("day") == day.isoformat():
            report.warnings += [f"prune: {w}" for w in run.get("warnings", [])]

    for run in reversed(store.recent_runs("post", limit=200)):
        if run.get("day") != day.isoformat():
            continue
        report.published += [PostLine(datetime.fromisoformat(p["at"]), p["kind"], p["text"], float(p["cost_usd"]))
                             for p in run.get("posted", [])]
        report.upcoming = [PostLine(datetime.fromisoformat(u["at"]), u["kind"], u["preview"], float(u["cost_usd"]))
                           for u in run.get("upcoming", [])]
        report.warnings += [f"post: {w}" for w in run.get("warnings", []) if "dry-run mode" not in w]
        report.warnings += [f"post slot {f['slot']} failed: {f['error']}" for f in run.get("failed", [])]
    for run in store.recent_runs("follow", limit=30):
        if run.get("day") == day.isoformat():
            report.warnings += [f"follow: {w}" for w in run.get("warnings", []) if "dry-run mode" not in w]
    report.warnings = list(dict.fromkeys(report.warnings))  # the same warning from several runs, once

    report.growth = [GrowthPoint(d, f, g) for d, f, g in ctx.inbox.stats(day - timedelta(days=29), day)]
    report.sources = [(r.label, int(r.followed or 0), int(r.followed_back or 0))
                      for r in ledger.sources() if int(r.followed or 0) > 0]
    utc_day = now.astimezone(UTC).date()
    spend = store.spend(utc_day.replace(day=1), utc_day)
    report.spend_today_usd = spend.get(utc_day, {}).get("usd", 0.0) + meter.usd
    report.spend_month_usd = sum(v["usd"] for v in spend.values()) + meter.usd
    report.budget_month_usd = settings.monthly_budget_usd
    if report.dry_run:
        report.warnings.append("Dry-run mode: set Mode=live to let Flockpilot post.")
    return report


def run_digest(ctx: DigestContext, event: DigestEvent) -> DigestSummary:
    settings, inbox = ctx.settings, ctx.inbox
    now = ctx.clock.now()
    day = now.astimezone(settings.zone).date()
    utc_day = now.astimezone(UTC).date()
    summary = DigestSummary(account=ctx.account_id, day=day, status="preview")
    state = inbox.digest_state(day)
    preview = bool(event.dry_run)
    if state is not None and state.status in ("sent", "sending") and not event.force and not preview:
        summary.status = "already-sent"
        summary.warnings.append(f"today's digest is {state.status} already; send again with {{\"force\": true}}")
        return summary

    meter = day_budget(ctx.store, "digest", settings.monthly_budget_usd, utc_day).meter()
    x = ctx.x_client(meter)
    try:
        summary.new_messages, warnings = fetch_new_messages(ctx, x, meter, now)
        summary.warnings += warnings
    except XError as exc:
        summary.warnings.append(f"could not read DMs: {exc}")
    report = build_report(ctx, x, meter, day, now, summary)
    report.warnings += summary.warnings
    html, text = render_html(report), render_text(report)
    summary.subject = report.subject
    summary.conversations = len(report.entries)
    summary.worth_replying = sum(1 for e in report.entries if e.bucket == "worth replying")
    summary.maybe = sum(1 for e in report.entries if e.bucket == "maybe")
    summary.ignore = summary.conversations - summary.worth_replying - summary.maybe
    if ctx.outbox_dir is not None:
        ctx.outbox_dir.mkdir(parents=True, exist_ok=True)
        for suffix, body in (("html", html), ("txt", text)):
            path = ctx.outbox_dir / f"digest-{day.isoformat()}.{suffix}"
            path.write_text(body, encoding="utf-8")
            summary.outbox.append(str(path))

    if not preview:
        if not settings.digest_email or not ctx.sender:
            summary.status = "failed"
            summary.warnings.append("no DIGEST_EMAIL / SENDER_EMAIL set: nothing sent")
        elif not inbox.claim_digest(day, now, force=event.force):
            summary.status = "already-sent"
        else:
            try:
                summary.message_id = ctx.send(report.subject, html, text)
            except Exception as exc:
                inbox.finish_digest(day, "failed", error=str(exc))
                summary.status = "failed"
                summary.warnings.append(f"not sent: {exc}; the digest can be run again")
            else:
                inbox.finish_digest(day, "sent", message_id=summary.message_id)
                inbox.mark_shown([e.conversation.id for e in report.entries])
                summary.status = "sent"
    summary.cost = meter.snapshot()
    ctx.store.add_spend(utc_day, "digest", meter.usd, meter.requests)
    ctx.store.save_run("digest", now, summary.model_dump(mode="json"))
    return summary
