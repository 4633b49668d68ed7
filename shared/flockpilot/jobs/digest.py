"""The DM digest job: fetch new DMs (nothing twice), rank them, draft replies by name, and
send one email a day with the account's whole day in it.

The digest reserves money for its own essentials: the account's handle and figures come
from today's stored profile (or one users/me read, paid for before any DM is read). A
preview (`{"dry_run": true}`) reads nothing X already gave us today.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flockpilot.domain.account import account_day
from flockpilot.domain.digest import (
    DEFAULT_INVITE,
    DEFAULT_TEMPLATE,
    Conversation,
    Correspondent,
    Message,
    fit,
    give_up,
    lost_note,
    rank,
    waiting_count,
    waiting_note,
)
from flockpilot.domain.digest_email import DigestReport, LinkItem, PostLine, render_html, render_text
from flockpilot.domain.errors import (
    CredentialsRevoked,
    MailMaybeSent,
    NotFound,
    NotPermitted,
    NotSent,
    TransientError,
    XError,
)
from flockpilot.domain.follow import band_room
from flockpilot.domain.insights import week_insights
from flockpilot.domain.links import follow_url, profile_url
from flockpilot.domain.people import AllowEntry, Card, PersonStatus
from flockpilot.domain.records import DigestDay, FollowDay, PruneDay
from flockpilot.domain.slots import SlotStatus
from flockpilot.events import DigestEvent
from flockpilot.jobs.skeleton import Account, JobRun, RunSummary, account_profile
from flockpilot.pricing import price
from flockpilot.settings import Mode

if TYPE_CHECKING:
    from collections.abc import Mapping

    from flockpilot.domain.x import DmEvent, XUser
    from flockpilot.ports import ContentStore, Inbox, Ledger, Mailer, PlanStore

MAX_PAGES = 10
ESSENTIALS_USD = price("user_read")  # users/me, when today's profile is not stored yet


@dataclass(kw_only=True)
class DigestSummary(RunSummary):
    """What a digest run did."""

    job: str = "digest"
    status: str = "preview"  # sent | already-sent | preview | failed
    new_messages: int = 0
    conversations: int = 0
    worth_replying: int = 0
    maybe: int = 0
    ignore: int = 0
    messages_shown: int = 0  # new messages the email showed (marked shown once it is sent)
    messages_waiting: int = 0  # new messages past the email's bound, for the next digest
    messages_lost: int = 0  # new messages given up unshown (no digest had room for them in SHOW_WITHIN), counted once
    subject: str = ""
    message_id: str | None = None
    outbox: list[str] = field(default_factory=list)


@dataclass
class DigestDeps:
    """What the digest job needs: the account, its stores and a way to send mail."""

    account: Account
    ledger: Ledger
    inbox: Inbox
    plans: PlanStore
    content: ContentStore
    send: Mailer
    sender: str | None
    outbox_dir: Path | None = None
    template: str = DEFAULT_TEMPLATE
    invite: str = DEFAULT_INVITE


def reconciliation_note(last_prune: dict[str, Any] | None) -> str:
    """The rolling followers check's progress, as the last prune run reported it."""
    recon = (last_prune or {}).get("reconciliation") or {}
    verify = recon.get("verify") if isinstance(recon, dict) else None
    if not isinstance(verify, dict):
        return ""
    note = verify.get("note")
    return str(note) if note else ""


def card_line(card: Card, now: datetime) -> str:
    """What a person decides by at a glance: name, the bio's first line, figures, last post."""
    parts = [p for p in (card.name, card.bio_line) if p]
    parts.append(f"{card.followers:,} followers, {card.following:,} following")
    if card.last_post_at is not None:
        days = max(0, (now - card.last_post_at).days)
        parts.append("posted today" if days == 0 else f"last post {days} day{'s' if days != 1 else ''} ago")
    return " \u00b7 ".join(parts)


def fetch_new_messages(deps: DigestDeps, run: JobRun[DigestSummary], reserve_usd: float) -> int:
    """Read DM events newest first until the newest one already stored.

    X has no since_id for DM events, so a page can hold events we already have (and X bills
    them). Pages grow 1, 2, 4, ... from the newest: a day with n new messages re-reads at most
    n + 1 known events, a quiet day one. Nothing is stored twice (the event id is the key),
    and the frontier moves only once the events are stored: a crash re-reads, never loses.

    A read stopped by the day's money (or the run's pages) before it reached the known
    events leaves a gap: where X's pages go on, and the ids that bound it, kept in the same
    frontier row as the known ids. The next run reads what is new on top, then goes on
    through each gap, so older messages wait for tomorrow instead of being skipped."""
    ledger, inbox, summary, x, now = deps.ledger, deps.inbox, run.summary, run.x, run.now
    stored = ledger.frontier("dm")
    known_ids = [i for i in stored if not i.startswith(_GAP)]
    known = set(known_ids)
    gaps = [_parse_gap(g) for g in stored if g.startswith(_GAP)]
    new: list[DmEvent] = []
    senders: dict[str, XUser] = {}
    pages = 0
    newest_known = max((int(i) for i in known_ids), default=None)
    segments: list[tuple[str | None, int | None, int | None, int]] = [(None, None, newest_known, 1 if known else 50)]
    segments += [(token, below, floor, 100) for token, below, floor in gaps]
    left: list[tuple[str, int | None, int | None]] = []
    stopped = False
    interrupted: XError | NotSent | None = None  # X failed (or the time ran out) mid-read: raised once what was read is kept
    for n, (token, below, floor, size) in enumerate(segments):
        done = False
        while not done:
            if interrupted is not None:  # the segments not reached stay gaps, as they were
                break
            affordable = math.floor(max(0.0, (run.meter.remaining_usd() or 0.0) - reserve_usd) / price("dm_event_read") + 1e-9)
            if affordable < 1 or pages >= MAX_PAGES:
                stopped = True
                break
            try:
                page = x.dm_events_page(max_results=min(size, affordable), token=token)
            except XError as exc:
                if n == 0 or type(exc) not in (XError, NotFound):
                    interrupted = exc  # the pages read before it are kept (a gap where they stopped): never paid twice
                    break
                summary.warnings.append(f"X no longer continues an earlier DM read ({exc}): messages older than "
                                        "that read may be missing from the digest; they are still in X")
                done = True
                break
            except NotSent as exc:
                interrupted = exc
                break
            pages += 1
            senders.update(page.senders)
            for event in page.events:
                number = int(event.id)
                if below is not None and number >= below:
                    continue  # read before: this gap lies under it
                below = number
                if floor is not None and number <= floor:
                    done = True
                    break
                if event.id not in known:
                    known.add(event.id)
                    new.append(event)
            token = page.next_token
            done = done or not token
            size = min(100, size * 2)
        if not done and token is not None:
            left.append((token, below, floor))
    if stopped:
        summary.mark_partial("the day's digest money is spent: older messages wait for tomorrow"
                             if pages < MAX_PAGES else
                             f"more new messages than a run reads ({MAX_PAGES} pages): older ones wait for tomorrow")
    by_conversation: dict[str, list[Message]] = {}
    for event in new:
        by_conversation.setdefault(event.conversation_id, []).append(message_of(event, senders, x.user_id))
    for conversation_id, messages in by_conversation.items():  # a group's messages as anyone's: its id has no "-"
        inbox.save_messages(conversation_id, messages, now)
    for other in {m.sender.id: m.sender for ms in by_conversation.values() for m in ms if m.sender is not None}.values():
        ledger.allow(AllowEntry(other.id, other.username, "dm", now))  # they wrote: never pruned
    if new or left != gaps:
        ids = sorted(known_ids + [e.id for e in new], key=int, reverse=True)  # newest first; the store keeps 200
        ledger.set_frontier("dm", [_GAP + f"{b or ''}:{f or ''}:{t}" for t, b, f in left[:MAX_GAPS]] + ids, now)
    if interrupted is not None:
        raise interrupted
    return len(new)


def message_of(event: DmEvent, senders: Mapping[str, XUser], owner_id: str) -> Message:
    """A DM event as the digest keeps it, with its sender as X showed them in the same page
    (None for yours, or if X left the sender out)."""
    user = senders.get(event.sender_id)
    sender = None if user is None or event.sender_id == owner_id else Correspondent(
        id=user.id, username=user.username, name=user.name, followers=user.followers, description=user.description,
        follows_me=bool(user.follows_me), i_follow=bool(user.i_follow))
    return Message(event.id, event.sender_id, event.text, event.created_at, event.sender_id == owner_id, sender)


_GAP = "gap:"
MAX_GAPS = 30  # a gap older than X's 30 days of DMs has nothing left to read


def _parse_gap(entry: str) -> tuple[str, int | None, int | None]:
    """(X's pagination token, the oldest id read above the gap, the newest id known under it)."""
    below, floor, token = entry.removeprefix(_GAP).split(":", 2)
    return token, int(below) if below else None, int(floor) if floor else None


CONTEXT_AFTER = 2  # stored messages (yours, or shown before) kept among a conversation's new ones, besides the one before


def unshown_conversations(inbox: Inbox) -> list[Conversation]:
    """Each conversation with messages no sent digest has shown: all of them, with the message
    before the oldest (the context, already seen) and, among them, the newest few stored ones
    that are not new (your replies, or ones an earlier digest showed when an old message came
    late through a gap in X's read). Two reads of the inbox per conversation, none of its history."""
    by_conversation: dict[str, list[Message]] = {}
    for conversation_id, message in inbox.unshown():
        by_conversation.setdefault(conversation_id, []).append(message)
    conversations = []
    for conversation_id, new in by_conversation.items():
        new.sort(key=lambda m: int(m.id))
        thread = {m.id: m for m in inbox.thread(conversation_id, new[0].id, limit=len(new) + CONTEXT_AFTER)}
        thread.update({m.id: m for m in new})  # every new one, wherever the thread's read stopped
        last = new[-1]
        other = next((m.sender for m in reversed(new) if m.sender is not None), None) or Correspondent(
            id=last.sender_id, username=last.sender_id, name="", followers=0, description="", follows_me=False, i_follow=False)
        conversations.append(Conversation(id=conversation_id, other=other, new=frozenset(m.id for m in new),
                                          messages=tuple(sorted(thread.values(), key=lambda m: int(m.id)))))
    return conversations


def build_report(deps: DigestDeps, run: JobRun[DigestSummary], *, read_x: bool) -> DigestReport:
    settings, records, ledger, now, day = deps.account.settings, deps.account.records, deps.ledger, run.now, run.day
    report = DigestReport(handle="", day=day, time_zone=settings.time_zone, dry_run=settings.mode is Mode.DRY_RUN)
    profile = records.profile()
    if read_x and (profile is None or not profile.fresh(now, settings.zone)):
        try:
            profile = account_profile(run)
        except (NotSent, XError) as exc:
            if isinstance(exc, CredentialsRevoked | NotPermitted):
                raise
            run.summary.mark_partial(f"account figures not refreshed today: {exc}")
    if profile is not None:
        report.handle = profile.username
        report.followers, report.following = profile.followers, profile.following
        room = band_room(profile.followers, profile.following, settings.ratio_tolerance)
        report.band = f"inside the band ({room} follows of room)" if room >= 0 else f"above the band by {-room}: prune first"
        if not profile.fresh(now, settings.zone):
            report.warnings.append(f"account figures are from {profile.seen_at.astimezone(settings.zone):%d %b %H:%M} "
                                   f"({settings.time_zone})")
    report.checks = reconciliation_note(records.last_run("prune"))
    messages_report(deps, report, now)

    follow_day = records.load_day(FollowDay, day)
    prune_day = records.load_day(PruneDay, day)
    ids = (follow_day.shortlisted if follow_day else []) + (prune_day.ids if prune_day else [])
    people = ledger.people_by_id(ids) if ids else {}
    for user_id in follow_day.shortlisted if follow_day else []:
        p = people.get(user_id)
        if p is not None and p.status in (PersonStatus.SUGGESTED, PersonStatus.RESERVE):
            report.follow.append(LinkItem(p.username, profile_url(p.username), follow_url(p.username), "Follow",
                                          "; ".join(p.reasons[:1]), card_line(p.card, now)))
    for user_id in prune_day.ids if prune_day else []:
        p = people.get(user_id)
        if p is not None and p.status is PersonStatus.PRUNE_SUGGESTED:
            report.prune.append(LinkItem(p.username, profile_url(p.username), profile_url(p.username), "Profile",
                                         p.prune_reason or "", card_line(p.card, now)))
    if not report.prune:
        report.prune_note = "Nobody to unfollow today."

    plan, slots = deps.plans.plan_and_slots(day)
    for s in plan.slots if plan else ():
        state = slots.get(s.index)
        if state is not None and state.status is SlotStatus.PUBLISHED:
            report.published.append(PostLine(state.published_at or s.at, s.kind.value, s.preview, s.cost_usd))
        elif (state is None or state.status in (SlotStatus.OPEN, SlotStatus.UNKNOWN)) and s.at > now:
            report.upcoming.append(PostLine(s.at, s.kind.value, s.preview, s.cost_usd))
    for job in ("post", "follow", "prune"):
        for past in records.runs(job, day):
            report.warnings += [f"{job}: {w}" for w in past.get("warnings", []) if "dry-run mode" not in w]
            report.warnings += [f"{job}: {r}" for r in past.get("reasons", [])]
    report.warnings = list(dict.fromkeys(report.warnings))  # the same warning from several runs, once

    report.growth = records.growth(day - timedelta(days=29), day)
    report.week = week_insights(day, deps.plans.posts(day - timedelta(days=6), day), deps.content.list_content(), report.growth,
                                settings.zone)
    report.sources = [(s.label, s.followed, s.followed_back) for s in ledger.sources() if s.followed > 0]
    spend = records.spend(day.replace(day=1), day)
    today = spend.get(day)
    report.spend_today_usd = (today.usd if today else 0.0) + run.meter.usd
    report.spend_month_usd = sum(s.usd for s in spend.values()) + run.meter.usd
    report.budget_month_usd = settings.monthly_budget_usd
    if report.dry_run:
        report.warnings.append("Dry-run mode: set Mode=live to let Flockpilot post.")
    return report


def messages_report(deps: DigestDeps, report: DigestReport, now: datetime) -> None:
    """The email's messages: those given up since the last sent digest counted, then the rest
    ranked and cut to the email's bound (what waited longest first, see `fit`)."""
    settings = deps.account.settings
    conversations, lost = give_up(unshown_conversations(deps.inbox), now, deps.inbox.lost_counted_until())
    report.lost, report.messages_lost = lost_note(lost), len(lost)
    entries = rank(conversations, keywords=settings.keywords, template=deps.template, invite=deps.invite, now=now)
    report.entries, left_out = fit(entries, now=now)
    report.waiting = waiting_note(report.entries, left_out)
    report.messages_waiting = waiting_count(report.entries, left_out)


def run_digest(deps: DigestDeps, event: DigestEvent) -> DigestSummary:
    settings, inbox, records = deps.account.settings, deps.inbox, deps.account.records
    preview = bool(event.dry_run)
    run = JobRun("digest", deps.account, lambda now, day: DigestSummary(
        account=deps.account.account_id, day=day, started_at=now, mode="preview" if preview else "send", dry_run=preview))

    def body(run: JobRun[DigestSummary]) -> None:
        summary, day = run.summary, run.day
        state = inbox.digest_state(day)
        if state in ("sent", "sending") and not event.force and not preview:
            summary.status = "already-sent"
            summary.warnings.append(
                f"today's digest is {state} already; {{\"force\": true}} sends another now, with what is new since "
                "(messages the first one showed are not shown again)" if state == "sent" else
                f"today's digest is {state} already; {{\"force\": true}} sends it again if that run died")
            return
        record = records.load_day(DigestDay, day) or DigestDay(day=day)
        already_read = record.dms_read_at is not None and account_day(datetime.fromisoformat(record.dms_read_at),
                                                                      settings.zone) == day
        if not (preview and already_read):
            profile = records.profile()
            reserve = 0.0 if profile is not None and profile.fresh(run.now, settings.zone) else ESSENTIALS_USD
            try:
                summary.new_messages = fetch_new_messages(deps, run, reserve)
                record.dms_read_at = run.now.isoformat()
                records.save_day(record, run.now)
            except (CredentialsRevoked, NotPermitted):
                raise
            except (NotSent, XError) as exc:
                summary.mark_partial(f"stopped reading DMs: {exc}")
        report = build_report(deps, run, read_x=not (preview and already_read))
        report.warnings += summary.warnings + summary.reasons
        html, text = render_html(report), render_text(report)
        summary.subject = report.subject
        summary.conversations = len(report.entries)
        summary.worth_replying = sum(1 for e in report.entries if e.bucket == "worth replying")
        summary.maybe = sum(1 for e in report.entries if e.bucket == "maybe")
        summary.ignore = summary.conversations - summary.worth_replying - summary.maybe
        shown = [(e.conversation.id, m.id) for e in report.entries for m in e.conversation.new_messages]
        summary.messages_shown = len(shown)
        summary.messages_waiting = report.messages_waiting
        summary.messages_lost = report.messages_lost
        if report.lost:
            summary.mark_partial(report.lost)
        if report.waiting:
            summary.mark_partial(report.waiting)
        if deps.outbox_dir is not None:
            deps.outbox_dir.mkdir(parents=True, exist_ok=True)
            for suffix, content in (("html", html), ("txt", text)):
                path = deps.outbox_dir / f"digest-{day.isoformat()}.{suffix}"
                path.write_text(content, encoding="utf-8")
                summary.outbox.append(str(path))
        if preview:
            return
        if not settings.digest_email or not deps.sender:
            summary.status = "failed"
            summary.mark_failed("no DIGEST_EMAIL / SENDER_EMAIL set: nothing sent")
        elif not inbox.claim_digest(day, run.now, force=event.force):
            summary.status = "already-sent"
        else:
            try:
                summary.message_id = deps.send(report.subject, html, text)
            except MailMaybeSent as exc:  # the day stays claimed ("sending"): no retry mails it again
                summary.status = "unknown"
                summary.mark_partial(f"{exc}; not sent again today (if it did not arrive, run the digest with "
                                     "{\"force\": true}); its new messages are shown again in the next digest")
            except TransientError:
                inbox.finish_digest(day, "failed", error="SES was unavailable; Lambda retries the run")
                raise
            except Exception as exc:
                inbox.finish_digest(day, "failed", error=str(exc))
                summary.status = "failed"
                summary.mark_failed(f"not sent: {exc}; the digest can be run again")
            else:
                inbox.finish_digest(day, "sent", message_id=summary.message_id, shown=shown, lost_until=run.now)
                summary.status = "sent"

    return run.execute(body)
