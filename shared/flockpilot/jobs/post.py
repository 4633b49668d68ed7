"""The post job: make (or load) the day's plan and publish the slots that are due.

Every slot publishes at most once. It is claimed with a conditional write before X is
called; each item is noted on the slot before it is sent; a slot whose outcome is unknown
(X timed out, the run died) is first looked for on X, among the account's own posts since
the slot was first claimed, for any item it tried. Completion and the item's new state are
one transaction. A rate limit or a budget stop releases the slot without spending an
attempt; it is tried again once X's limit resets.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from flockpilot.domain.budget import RECOVERY_RESERVE
from flockpilot.domain.content import LIGHT_KINDS, ContentItem, ContentKind, repost_target
from flockpilot.domain.errors import (
    BudgetExhausted,
    CredentialsRevoked,
    DuplicateContent,
    NotPermitted,
    NotSent,
    OutcomeUnknown,
    OutOfTime,
    RateLimited,
    XError,
)
from flockpilot.domain.hours import window_bounds
from flockpilot.domain.plan import DayPlan, PlannedSlot, plan_day
from flockpilot.domain.records import MetricsDay, PostRecord
from flockpilot.domain.slots import FINAL, LEASE_SECONDS, MAX_FAILURES, Claim, LeaseLost, Slot, SlotStatus, SlotTaken
from flockpilot.events import PostEvent
from flockpilot.jobs.skeleton import Account, JobRun, RunOutcome, RunSummary
from flockpilot.pricing import price
from flockpilot.settings import AccountSettings, Mode

if TYPE_CHECKING:
    from flockpilot.domain.feed import FeedEntry
    from flockpilot.ports import ContentStore, PlanStore

MAX_SUBSTITUTES = 2
PLUG_SLOT = 99  # the day's one plug has a slot of its own: claimed, recovered and completed like the others
RECOVERY_MARGIN = timedelta(minutes=2)  # clocks differ: look a little before the first claim
# Recovery reads your posts since the slot's first claim: pages of RECOVERY_PAGE_SIZE (a small
# page fits a small day's money: X's price is per post returned, the budget check per page asked).
RECOVERY_PAGES = 5
RECOVERY_PAGE_SIZE = 20


@dataclass(kw_only=True)
class PostedEntry:
    """A post (or repost) this run published, or found already published."""

    slot: int
    at: datetime
    at_local: datetime  # `at` on the account's clock (the summary's time_zone)
    kind: str
    item_id: str
    text: str
    cost_usd: float
    post_id: str | None = None
    recovered: bool = False  # found on X after an earlier run died mid-publish


@dataclass(kw_only=True)
class FailedEntry:
    """A slot X refused this run, and whether a later run retries it."""

    slot: int
    item_id: str | None
    error: str
    retry: bool


@dataclass(kw_only=True)
class SkippedEntry:
    """A slot passed over, and why."""

    slot: int
    reason: str


@dataclass(kw_only=True)
class UpcomingEntry:
    """A slot still to come today."""

    slot: int
    at: datetime
    at_local: datetime  # `at` on the account's clock (the summary's time_zone)
    kind: str
    preview: str
    cost_usd: float


@dataclass(kw_only=True)
class DroppedEntry:
    """An item the day's plan left out to fit the budget."""

    kind: str
    item_id: str
    cost_usd: float
    reason: str


@dataclass(kw_only=True)
class PostSummary(RunSummary):
    """What one post run did; returned by the handler, logged, and stored for the digest."""

    job: str = "post"
    plan_slots: int = 0
    plan_cost_usd: float = 0.0
    plan_budget_usd: float = 0.0
    plan_notes: list[str] = field(default_factory=list)
    dropped: list[DroppedEntry] = field(default_factory=list)
    posted: list[PostedEntry] = field(default_factory=list)
    would_post: list[PostedEntry] = field(default_factory=list)
    failed: list[FailedEntry] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    upcoming: list[UpcomingEntry] = field(default_factory=list)


@dataclass
class PostDeps:
    """What the post job needs: the account, its library and its plans."""

    account: Account
    content: ContentStore
    plans: PlanStore
    read_feed: Callable[[str], list[FeedEntry]] | None = None  # the daily feed check (None: feeds are not read)


def normalize(text: str, *, from_x: bool = False) -> str:
    """What X cannot change about a post's text: every link (a bare domain too) becomes a t.co
    link, spaces may be trimmed, and X returns the text HTML-escaped (`&amp;`, `&lt;`, `&gt;`),
    which `from_x` undoes."""
    from flockpilot.domain.text import without_links

    return " ".join(without_links(html.unescape(text) if from_x else text).split()).casefold()


# The last plan and slots this process read, per store (a Lambda container runs many ticks).
# A slot's final state never changes and a slot whose time has not come is not due, so when
# every slot is one or the other a tick has nothing to do and need not read the plan again.
_LAST_READ: dict[str, tuple[date, DayPlan, dict[int, Slot]]] = {}


def _quiet(plan: DayPlan, slots: dict[int, Slot], now: datetime) -> bool:
    return all(s.at > now or (slots.get(s.index) is not None and slots[s.index].status in FINAL) for s in plan.slots)


# Until when the last scheduled tick of this process found nothing to do, per store: the
# next open slot's time or the start of the account's next day, whichever comes first.
# Until then a scheduled tick does nothing whatever the settings say, so the composition
# root may let it run on settings this process read a little earlier (runtime.Wiring).
_QUIET_UNTIL: dict[str, datetime] = {}
QUIET_MARGIN = timedelta(minutes=1)  # a tick this close to a slot reads everything afresh


def forget_last_reads() -> None:
    """Forget the plans read and quiet times noted (a new container's state)."""
    _LAST_READ.clear()
    _QUIET_UNTIL.clear()
    _EMPTY_CHECKED.clear()


def nothing_due(scope: str, now: datetime) -> bool:
    """Whether the last scheduled tick this process ran over `scope` left nothing due until
    after `now` (a tick at `now` would find the same quiet plan and do nothing)."""
    until = _QUIET_UNTIL.get(scope)
    return until is not None and now + QUIET_MARGIN < until


def _remember_quiet(scope: str, event: PostEvent, summary: RunSummary, settings: AccountSettings, seen: dict[str, Any],
                    day: date, now: datetime) -> None:
    plan, states = seen.get("plan"), seen.get("states")
    # A plug watch (plug_min_likes) looks at the day's posts every few hours: never quiet.
    # An empty plan that content may still fill is read again every tick: another run may fill it.
    if (not event.plain or summary.outcome is not RunOutcome.OK or settings.plug_min_likes > 0
            or plan is None or states is None or not _quiet(plan, states, now) or _may_fill(plan, settings, now)):
        _QUIET_UNTIL.pop(scope, None)
        return
    next_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=settings.zone)
    opens = [s.at for s in plan.slots if s.at > now and not (s.index in states and states[s.index].status in FINAL)]
    _QUIET_UNTIL[scope] = min([next_day, *opens])


def todays_plan(deps: PostDeps, run: JobRun[PostSummary], *, fresh: bool = False,
                rest_of_day: bool = True, live: bool | None = True) -> tuple[DayPlan, dict[int, Slot]]:
    """The account day's plan and its slots. The first run of the day first learns (the
    week's results, new feed articles), then makes and stores the plan: for what is left of
    the posting window if the day has begun (`rest_of_day`; a manual run plans the whole
    day, as before). A tick with nothing due reuses what this process read before (unless
    `fresh`). A `live` run makes the plan live from now, or, finding one a dry run made (or an
    earlier release, or unmarked), records that it is live from now: slots already past
    catching up then were no run's to publish (DayPlan.before_live). A run of an account in
    dry-run (`live` False) unmarks a plan marked live, so the slots of its dry hours are not
    counted as missed when the account goes live again; `live` None (a dry run asked of a live
    account) changes nothing."""
    settings, records = deps.account.settings, deps.account.records
    last = _LAST_READ.get(deps.plans.scope)
    if (not fresh and last is not None and last[0] == run.day and _quiet(last[1], last[2], run.now)
            and not _may_fill(last[1], settings, run.now)):
        return last[1], last[2]
    plan, slots = deps.plans.plan_and_slots(run.day)
    if plan is None:
        from flockpilot.jobs.learn import check_feeds, daily_results, plan_inputs  # the day's first run only

        record = records.load_day(MetricsDay, run.day) or MetricsDay(day=run.day)
        learned = None
        try:
            learned = daily_results(run, deps.content, deps.plans, record)
        except (CredentialsRevoked, NotPermitted, OutOfTime):
            raise
        except BudgetExhausted as exc:  # the day is still planned (and posted) on what was learned before
            run.summary.mark_partial(f"your posts' results were not read today: the post job's money for the day "
                                     f"does not cover the read ({exc})")
        except XError as exc:  # the plan is made from what was learned before
            run.summary.mark_partial(f"could not read your posts' results: {exc}")
        articles = record.articles_added
        check_feeds(run, deps.content, deps.read_feed, record)
        records.save_day(record, run.now)
        run.summary.warnings += record.verdicts
        # the library and the posts the results read left in hand, unless a feed added to it
        kept = learned.items if learned is not None and record.articles_added == articles else None
        items = list(kept.values()) if kept is not None else deps.content.list_content()
        inputs = plan_inputs(run, items, deps.plans, learned.window if learned is not None else None)
        made = plan_day(day=run.day, tz=settings.zone, active=settings.window, rules=settings.mix, items=items,
                        budget_usd=run.budget.allowance_usd * (1 - RECOVERY_RESERVE), now=run.now,
                        seed=f"{deps.account.account_id}:{run.day.isoformat()}", rank=inputs.rank,
                        hour_weights=inputs.hour_weights, rest_of_day=rest_of_day)
        plan = deps.plans.put_plan_if_absent(replace(made, live_from=run.now) if live else made, run.now)
        if not plan.slots:
            _EMPTY_CHECKED[deps.plans.scope] = run.now
    elif _recheck_empty(deps, run, plan, now_please=not rest_of_day):
        plan = _replan_empty(deps, run, plan, live=live)
    if live and plan.live_from is None and plan.slots:
        plan = deps.plans.mark_plan_live(run.day, run.now) or plan
    elif live is False and plan.live_from is not None:
        plan = deps.plans.unmark_plan_live(run.day) or plan
    _LAST_READ[deps.plans.scope] = (run.day, plan, slots)
    return plan, slots


# A day planned with nothing to post (on the day of deploy, before any content; or every
# item resting) looks again, at most every EMPTY_PLAN_CHECK, while its window lasts.
EMPTY_PLAN_CHECK = timedelta(hours=1)
_EMPTY_CHECKED: dict[str, datetime] = {}  # per store: when an empty plan last looked for content


def _may_fill(plan: DayPlan, settings: AccountSettings, now: datetime) -> bool:
    """An empty plan that content may still fill today (its window has not ended). Such a
    plan is read again on every tick, since another run may replace it."""
    return (not plan.slots and settings.posts_per_day > 0
            and now < window_bounds(plan.day, settings.zone, settings.window)[1])


def _recheck_empty(deps: PostDeps, run: JobRun[PostSummary], plan: DayPlan, *, now_please: bool = False) -> bool:
    """Whether this run looks for content to fill an empty plan: hourly, or whenever a
    manual run asks (`now_please`)."""
    if not _may_fill(plan, run.settings, run.now):
        return False
    checked = _EMPTY_CHECKED.get(deps.plans.scope)
    return now_please or checked is None or not timedelta(0) <= run.now - checked < EMPTY_PLAN_CHECK


def _replan_empty(deps: PostDeps, run: JobRun[PostSummary], plan: DayPlan, *, live: bool | None = True) -> DayPlan:
    """Plan the rest of the day in place of an empty plan, if content is available now."""
    from flockpilot.jobs.learn import plan_inputs

    items = deps.content.list_content()
    if not any(i.available(run.now) for i in items):
        _EMPTY_CHECKED[deps.plans.scope] = run.now
        return plan
    settings = run.settings
    inputs = plan_inputs(run, items, deps.plans)
    later = plan_day(day=run.day, tz=settings.zone, active=settings.window, rules=settings.mix, items=items,
                     budget_usd=run.budget.allowance_usd * (1 - RECOVERY_RESERVE), now=run.now,
                     seed=replan_seed(deps.account.account_id, run.day), rank=inputs.rank,
                     hour_weights=inputs.hour_weights, rest_of_day=True)
    later = replace(later, live_from=run.now if live else None if live is False else plan.live_from)
    stored = deps.plans.replace_empty_plan(later, run.now) if later.slots else plan
    _EMPTY_CHECKED[deps.plans.scope] = run.now  # looked (a failure above looks again on the next run)
    return stored


def replan_seed(account_id: str, day: date) -> str:
    """The seed of a plan made in place of an empty one (`flockpilot plan` previews it)."""
    return f"{account_id}:{day.isoformat()}:rest"


class _Publisher:
    def __init__(self, deps: PostDeps, run: JobRun[PostSummary], plan: DayPlan) -> None:
        self.deps = deps
        self.run = run
        self.plan = plan
        self._library: dict[str, ContentItem] | None = None
        self.known: dict[str, ContentItem] = {}  # items read or written by this run
        self.used_today = {s.item_id for s in plan.slots}
        self.settled: dict[int, Slot] = {}  # slots this run brought to a final state (stored)

    def settle(self, claim: Claim, slot: Slot, *, content: ContentItem | None = None, posts: Sequence[PostRecord] = ()) -> None:
        """Store the slot's final state (with the item and post changes that go with it)."""
        self.deps.plans.complete_slot(claim, slot, content=content, posts=posts)
        self.settled[slot.index] = slot

    @property
    def library(self) -> dict[str, ContentItem]:
        """The whole library: read only when a substitute is needed (most runs never do)."""
        if self._library is None:
            self._library = {i.item_id: i for i in self.deps.content.list_content()} | self.known
        return self._library

    def item(self, item_id: str) -> ContentItem | None:
        if item_id in self.known:
            return self.known[item_id]
        if self._library is not None:
            return self._library.get(item_id)
        found = self.deps.content.get_content(item_id)
        if found is not None:
            self.known[item_id] = found
        return found

    def remember(self, item: ContentItem) -> None:
        self.known[item.item_id] = item
        if self._library is not None:
            self._library[item.item_id] = item

    def candidates(self, slot: PlannedSlot, tried: tuple[str, ...]) -> Iterator[ContentItem]:
        """A repost this slot tried whose outcome X did not confirm, again; else the planned
        item, then up to MAX_SUBSTITUTES of the same kind or class, no dearer, none already used
        today or tried for this slot. Recovery does not look for reposts (X keeps one repost of
        a post and answers a repeated one as done), so a tried repost is sent again rather than
        given up for a substitute that would make two posts in one slot; a tried item removed
        from the library since cannot be looked for, so the slot gets nothing else."""
        now = self.run.now
        for item_id in tried:
            again = self.item(item_id)
            if again is None:
                return  # removed since it was tried: it may be out and cannot be looked for, so no substitute
            if again.kind is ContentKind.REPOST:
                if again.available(now):
                    yield again
                return  # never a substitute beside a repost that may be out
        planned = self.item(slot.item_id)
        if planned is not None and planned.available(now) and planned.item_id not in tried:
            yield planned
        same_class = (LIGHT_KINDS if slot.kind in LIGHT_KINDS else {slot.kind} if slot.kind is ContentKind.PLUG
                      else {slot.kind, ContentKind.ARTICLE})
        spares = sorted(
            (i for i in self.library.values()
             if i.item_id not in self.used_today and i.item_id not in tried and i.kind in same_class and i.available(now)
             and price(i.price_kind) <= slot.cost_usd + 1e-9),
            key=lambda i: (i.kind is not slot.kind, i.last_posted_at or i.added_at, i.item_id),
        )
        for spare in spares[:MAX_SUBSTITUTES]:
            self.used_today.add(spare.item_id)
            yield spare

    def entry(self, slot: PlannedSlot, item: ContentItem, post_id: str | None, recovered: bool = False) -> PostedEntry:
        return PostedEntry(slot=slot.index, at=slot.at, at_local=slot.at.astimezone(self.run.settings.zone), kind=item.kind.value,
                           item_id=item.item_id, text=item.post_text, cost_usd=price(item.price_kind), post_id=post_id,
                           recovered=recovered)

    def dry_publish(self, slot: PlannedSlot, state: Slot | None) -> None:
        item = next(self.candidates(slot, state.tried if state else ()), None)
        if item is None:
            self.run.summary.skipped.append(SkippedEntry(slot=slot.index, reason="no available item"))
            self.run.summary.mark_partial(no_content_reason(slot, self.run.settings, dry=True))
            return
        self.run.summary.would_post.append(self.entry(slot, item, None))

    def _complete(self, claim: Claim, slot: PlannedSlot, item: ContentItem, post_id: str | None, *,
                  recovered: bool = False, reply_to: str | None = None) -> None:
        now = self.run.now
        cost = 0.0 if recovered else price(item.price_kind)
        done = replace(claim.slot, status=SlotStatus.PUBLISHED, item_id=item.item_id, post_id=post_id, published_at=now,
                       error=None, cost_usd=claim.slot.cost_usd + cost, lease=None)
        posted = item.after_posting(now)
        records = [PostRecord(post_id=post_id, item_id=item.item_id, kind=item.kind.value, day=claim.day, slot=slot.index,
                              published_at=now, cost_usd=price(item.price_kind), has_url=item.has_url)] if post_id else []
        if reply_to is not None:  # the post the plug went under: never plugged twice
            target = next((p for p in self.deps.plans.posts(claim.day - timedelta(days=1), claim.day) if p.post_id == reply_to), None)
            if target is not None:
                records.append(replace(target, plugged=True))
        self.settle(claim, done, content=posted, posts=records)
        self.remember(posted)
        self.run.summary.posted.append(self.entry(slot, item, post_id, recovered=recovered))

    def recover(self, claim: Claim, slot: PlannedSlot, reply_to: str | None = None) -> bool:
        """After an unknown outcome, look on X for any item this slot tried since its first claim."""
        previous = claim.previous
        assert previous is not None
        since = (previous.first_claimed_at or previous.claimed_at or self.run.now) - RECOVERY_MARGIN
        wanted: dict[str, ContentItem] = {}
        for item_id in previous.tried:
            item = self.item(item_id)
            if item is not None and item.kind is not ContentKind.REPOST:  # a repost repeated is harmless
                wanted[normalize(item.post_text)] = item
        if not wanted:
            return False
        token: str | None = None
        for _ in range(RECOVERY_PAGES):
            page = self.run.x.own_posts(since=since, max_results=RECOVERY_PAGE_SIZE, token=token,
                                        originals_only=reply_to is None)
            for post in page.items:
                item = wanted.get(normalize(post.text, from_x=True))
                if item is not None:
                    self._complete(claim, slot, item, post.id, recovered=True, reply_to=reply_to)
                    return True
            token = page.next_token
            if not token:
                break
        return False

    def release(self, claim: Claim, status: SlotStatus, *, error: str | None = None, not_before: datetime | None = None,
                failed: bool = False, not_sent: str | None = None) -> None:
        """Give the slot up for a later run; `not_sent`: an item X certainly did not act on
        (refused or never sent), so it is no longer among the slot's possible posts."""
        tried = tuple(t for t in claim.slot.tried if t != not_sent)
        slot = replace(claim.slot, status=status, error=error, not_before=not_before, lease=None, tried=tried,
                       failures=claim.slot.failures + (1 if failed else 0))
        self.deps.plans.release_slot(claim, slot)

    def publish(self, slot: PlannedSlot, state: Slot | None, reply_to: str | None = None) -> None:
        run, plans, summary = self.run, self.deps.plans, self.run.summary
        try:  # claimed as this run read it (no second read), or as it is if it has changed since
            claim = plans.claim_slot(run.day, slot.index, now=run.now, lease_seconds=LEASE_SECONDS, as_read=state)
        except SlotTaken:
            return  # another invocation has it (double delivery): nothing to do
        try:
            if claim.needs_recovery and self.recover(claim, slot, reply_to):
                return
        except Exception:
            self.release(claim, SlotStatus.UNKNOWN, error="could not check X for an earlier attempt")
            raise
        for item in self.candidates(slot, claim.slot.tried):
            claim = plans.note_try(claim, item.item_id, run.now)
            try:
                if item.kind is ContentKind.REPOST:
                    run.x.repost(repost_target(item.text))
                    post_id = None
                else:
                    post_id = run.x.create_post(item.post_text, has_url=item.has_url, reply_to=reply_to).id
            except DuplicateContent as exc:
                claim = replace(claim, slot=replace(claim.slot, tried=tuple(t for t in claim.slot.tried if t != item.item_id)))
                days = run.settings.duplicate_cooldown_days
                rested = item.rested(run.now, days, str(exc))
                self.deps.content.save_content(rested)
                self.remember(rested)
                summary.warnings.append(f"slot {slot.index}: X refused {item.item_id} as duplicate content; it rests {days} days")
                continue
            except OutcomeUnknown as exc:
                self.release(claim, SlotStatus.UNKNOWN, error=str(exc))
                summary.failed.append(FailedEntry(slot=slot.index, item_id=item.item_id, retry=True,
                                                  error=f"{exc}; the next run looks on X before trying again"))
                summary.mark_partial(f"slot {slot.index}: X did not confirm the post; the next run checks X first")
                return
            except RateLimited as exc:
                self.release(claim, SlotStatus.OPEN, error=str(exc), not_before=exc.reset_at, not_sent=item.item_id)
                summary.failed.append(FailedEntry(slot=slot.index, item_id=item.item_id, error=str(exc), retry=True))
                raise
            except (NotSent, CredentialsRevoked, NotPermitted) as exc:
                self.release(claim, SlotStatus.OPEN, error=str(exc), not_sent=item.item_id)
                summary.failed.append(FailedEntry(slot=slot.index, item_id=item.item_id, error=str(exc), retry=True))
                raise
            except XError as exc:
                self.deps.content.save_content(replace(item, last_error=str(exc)))
                retry = claim.slot.failures + 1 < MAX_FAILURES
                if retry:
                    self.release(claim, SlotStatus.OPEN, error=str(exc), failed=True, not_sent=item.item_id)
                else:
                    self.settle(claim, replace(claim.slot, status=SlotStatus.FAILED, error=str(exc), lease=None,
                                                       failures=claim.slot.failures + 1))
                summary.failed.append(FailedEntry(slot=slot.index, item_id=item.item_id, error=str(exc), retry=retry))
                summary.mark_partial(f"slot {slot.index}: X refused the post: {exc}")
                return
            self._complete(claim, slot, item, post_id, reply_to=reply_to)
            return
        self.settle(claim, replace(claim.slot, status=SlotStatus.SKIPPED, error="no available item", lease=None))
        summary.skipped.append(SkippedEntry(slot=slot.index, reason="no available item"))
        summary.mark_partial(no_content_reason(slot, run.settings))

    def skip_missed(self, slot: PlannedSlot, state: Slot | None, late: timedelta, reason: str | None = None) -> bool:
        """A slot hours late is skipped, not burst; one that may have gone out is looked for
        first. Whether this run skipped it (not: another run has it, or it had gone out)."""
        reason = reason or f"missed by {int(late.total_seconds() // 60)} min"
        try:
            claim = self.deps.plans.claim_slot(self.run.day, slot.index, now=self.run.now, lease_seconds=LEASE_SECONDS,
                                               as_read=state)
        except SlotTaken:
            return False
        if claim.needs_recovery:
            try:
                if self.recover(claim, slot):
                    return False
            except Exception:
                self.release(claim, SlotStatus.UNKNOWN, error="could not check X for an earlier attempt")
                raise
        self.settle(claim, replace(claim.slot, status=SlotStatus.SKIPPED, error=reason, lease=None))
        self.run.summary.skipped.append(SkippedEntry(slot=slot.index, reason=reason))
        return True


def _clock(at: datetime, settings: AccountSettings) -> str:
    return at.astimezone(settings.zone).strftime("%H:%M")


def no_content_reason(slot: PlannedSlot, settings: AccountSettings, *, dry: bool = False) -> str:
    """Why a slot went (or, in a dry run, would go) out with nothing: the partial reason."""
    verb = "would be skipped" if dry else "skipped"
    return (f"no content left for slot {slot.index} ({_clock(slot.at, settings)} {settings.time_zone}): it {verb}, its "
            f"item and up to {MAX_SUBSTITUTES} substitutes being used today, resting or removed; add content "
            f"(flockpilot content add)")


def missed_reason(missed: Sequence[PlannedSlot], now: datetime, settings: AccountSettings) -> str:
    """Why slots due long ago were skipped: how many, when they were due, and what it means."""
    first, last = min(s.at for s in missed), max(s.at for s in missed)
    due = _clock(first, settings) if first == last else f"between {_clock(first, settings)} and {_clock(last, settings)}"
    count = f"{len(missed)} slot{'s' if len(missed) > 1 else ''}"
    return (f"{count} missed (due {due}, still not posted at {_clock(now, settings)} {settings.time_zone}): a slot more "
            f"than {settings.catch_up_minutes} min late is skipped, not posted in a burst; no run posted them in time "
            f"(was the post function stopped or failing?)")


def _open(state: Slot | None, now: datetime) -> bool:
    return state is None or state.claimable(now)


def run_post(deps: PostDeps, event: PostEvent) -> PostSummary:
    """One post run: plan the day if needed, publish what is due, report everything."""
    settings = deps.account.settings
    dry = settings.mode is Mode.DRY_RUN or event.dry_run is True
    run = JobRun("post", deps.account, lambda now, day: PostSummary(
        account=deps.account.account_id, day=day, started_at=now, mode="dry-run" if dry else "live", dry_run=dry))

    seen: dict[str, Any] = {}

    def body(run: JobRun[PostSummary]) -> None:
        summary = run.summary
        # True: this run answers for the plan's slots; False: the account is in dry-run, no run does;
        # None: a dry run asked of a live account, whose scheduled runs still answer for them
        live = True if not dry else False if settings.mode is Mode.DRY_RUN else None
        plan, states = todays_plan(deps, run, fresh=event.publish_next, rest_of_day=event.plain, live=live)
        seen.update(plan=plan, states=states)
        summary.plan_slots, summary.plan_cost_usd, summary.plan_budget_usd = len(plan.slots), plan.cost_usd, plan.budget_usd
        summary.plan_notes = list(plan.notes)
        summary.dropped = [DroppedEntry(kind=d.kind.value, item_id=d.item_id, cost_usd=d.cost_usd, reason=d.reason)
                           for d in plan.dropped]
        if dry and settings.mode is Mode.DRY_RUN:
            summary.warnings.append("dry-run mode: nothing is sent to X (set Mode=live to publish)")
        now = run.now
        open_slots = [s for s in plan.slots if _open(states.get(s.index), now)]
        summary.upcoming = [UpcomingEntry(slot=s.index, at=s.at, at_local=s.at.astimezone(settings.zone), kind=s.kind.value,
                                          preview=s.preview, cost_usd=s.cost_usd)
                            for s in open_slots if s.at > now and not event.publish_next][:5]
        due = open_slots if event.publish_next else [s for s in open_slots if s.at <= now]
        limit = settings.max_posts_per_run if event.max_posts is None else event.max_posts
        publisher = _Publisher(deps, run, plan)
        try:
            publish_due(publisher, due, states, limit)
        finally:  # what this process remembers of today's slots (the plan cache) includes what it settled
            states.update(publisher.settled)

    def publish_due(publisher: _Publisher, due: list[PlannedSlot], states: dict[int, Slot], limit: int) -> None:
        missed: list[PlannedSlot] = []
        try:
            publish_or_skip(publisher, due, states, limit, missed)
        finally:  # slots skipped before a stop (a rate limit, the budget, the time limit) still count
            if missed:
                run.summary.mark_partial(missed_reason(missed, run.now, settings))

    def publish_or_skip(publisher: _Publisher, due: list[PlannedSlot], states: dict[int, Slot], limit: int,
                        missed: list[PlannedSlot]) -> None:
        summary, now = run.summary, run.now
        taken = 0
        for slot in due:
            state = states.get(slot.index)
            late = now - slot.at
            catch_up = timedelta(minutes=settings.catch_up_minutes)
            if not event.publish_next and late > catch_up:
                live_from = publisher.plan.live_from
                if dry:  # listed, not partial: a dry run records nothing, so every dry tick lists what earlier ones previewed
                    summary.skipped.append(SkippedEntry(slot=slot.index, reason=f"missed by {int(late.total_seconds() // 60)} min"))
                elif live_from is not None and publisher.plan.before_live(slot.at, catch_up):  # no run's: no miss
                    publisher.skip_missed(slot, state, late, reason=(
                        f"due at {_clock(slot.at, settings)}, before the day's plan went live at {_clock(live_from, settings)} "
                        f"{settings.time_zone} (planned by a manual run, or in dry-run until then): not a missed slot"))
                elif publisher.skip_missed(slot, state, late):
                    missed.append(slot)
                continue
            if slot.kind is ContentKind.PITCH and (plug_state := states.get(PLUG_SLOT)) is not None \
                    and plug_state.status is SlotStatus.PUBLISHED:
                if not dry:
                    publisher.skip_missed(slot, state, late, reason="the plug under a post that took off was today's pitch")
                continue
            if taken >= limit:
                if not event.publish_next:
                    summary.mark_partial(f"{len(due) - taken} due slot(s) left for the next run (at most {limit} a run)")
                break
            taken += 1
            if dry:
                publisher.dry_publish(slot, state)
            else:
                try:
                    publisher.publish(slot, state)
                except LeaseLost:
                    summary.warnings.append(f"slot {slot.index}: taken over by another run; it records the outcome")

    def plug_blocked(plan: DayPlan | None, states: dict[int, Slot], now: datetime) -> bool:
        """Today's plug is done or in flight, or today's pitch already went out (the plug counts as one)."""
        if states.get(PLUG_SLOT) is not None and not states[PLUG_SLOT].claimable(now):
            return True
        return any(s.kind is ContentKind.PITCH and states.get(s.index) is not None
                   and states[s.index].status is SlotStatus.PUBLISHED for s in (plan.slots if plan else ()))

    def plug_under(run: JobRun[PostSummary], item: ContentItem, target: PostRecord) -> None:
        """Reply under `target` with the plug item, on the day's plug slot: exactly once."""
        plan, states = deps.plans.plan_and_slots(run.day)
        if plug_blocked(plan, states, run.now):
            return
        slot = PlannedSlot(index=PLUG_SLOT, at=run.now, kind=ContentKind.PLUG, item_id=item.item_id, price_kind=item.price_kind,
                           cost_usd=price(item.price_kind), preview=item.post_text[:80])
        _Publisher(deps, run, plan or DayPlan(run.day, (), (), (), 0.0)).publish(slot, states.get(PLUG_SLOT), reply_to=target.post_id)

    def worth_keeping(s: PostSummary) -> bool:
        return bool(s.posted or s.failed or s.skipped or s.would_post or [w for w in s.warnings if "dry-run mode" not in w])

    def body_with_plug(run: JobRun[PostSummary]) -> None:
        body(run)
        if (not dry and settings.plug_min_likes > 0 and "plan" in seen and not plug_blocked(seen["plan"], seen["states"], run.now)
                and not any(p.kind == ContentKind.PITCH.value for p in run.summary.posted)):
            from flockpilot.jobs.learn import plug

            record = deps.account.records.load_day(MetricsDay, run.day) or MetricsDay(day=run.day)
            checked = record.plug_checked_hour
            plug(run, deps.content, deps.plans, record, lambda item, target: plug_under(run, item, target))
            if record.plug_checked_hour != checked:
                deps.account.records.save_day(record, run.now)

    try:
        summary = run.execute(body_with_plug, save=worth_keeping)
    except BaseException:
        _QUIET_UNTIL.pop(deps.plans.scope, None)
        raise
    _remember_quiet(deps.plans.scope, event, summary, settings, seen, run.day, run.now)
    return summary
