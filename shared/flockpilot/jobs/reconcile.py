"""Reconciliation: keep the ledger's belief in line with X for the people prune depends on.

Follow-backs arrive through the daily sync, and people past their grace period are checked
by prune every day; what neither sees is someone who followed back and later left, or whom
you unfollowed by hand. So a rolling pass re-verifies everyone who followed back (users
lookup with connection_status, 100 per request, oldest verified first) with a predictable
daily slice of money: by default what one pass every `reconcile_every_days` costs for your
ledger's size, at most 8% of the day's allowance, or the monthly amount you set. The digest
shows the pass's progress. Reading the whole following list (at owned-read prices) only
happens when you opt in to pruning follows made outside Flockpilot.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flockpilot.domain.account import DayCounts
from flockpilot.domain.budget import JOB_SHARES, verify_quota
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import BudgetExhausted, CredentialsRevoked, NotPermitted, OutOfTime, XError
from flockpilot.domain.people import Person, PersonQueue, PersonStatus
from flockpilot.domain.prune import quick_unfollow
from flockpilot.domain.records import FollowDay, PruneDay, ReconState, SyncProgress
from flockpilot.jobs.skeleton import JobRun, day_budget
from flockpilot.jobs.sync import ListTop
from flockpilot.pricing import price

if TYPE_CHECKING:
    from flockpilot.ports import Ledger, XApi

RECON_PAGE = 1000
RECON_TIME_MARGIN_SECONDS = 20.0
RUN_LIMIT = timedelta(minutes=15)  # Lambda's longest run: what a run does happens before its start time + this
LOOKUP_BATCH = 100


def reconcile_step(run: JobRun[Any], ledger: Ledger, *, force: bool = False,
                   remaining_seconds: Callable[[], float] = lambda: float("inf")) -> dict[str, object]:
    """One day's slice of reconciliation, on its own money; the result lands in the summary."""
    account, settings = run.account, run.account.settings
    share = day_budget(account.records, "reconcile", settings.monthly_budget_usd, run.day)
    meter = CostMeter(limit_usd=max(0.0, share.allowance_usd - share.spent_today_usd))
    run.also_paid("reconcile", meter)  # in the run's cost; its spend is recorded below, as reconcile's
    x = account.x_factory(meter)
    report: dict[str, object] = {}
    try:
        report["verify"] = _verify(run, ledger, x, meter, share.spent_today_usd, share.allowance_usd)
        if settings.prune_outside_inactive_days > 0:
            report["following"] = _read_following(run, ledger, x, meter, force=force, remaining_seconds=remaining_seconds)
    except (CredentialsRevoked, NotPermitted):
        raise
    except BudgetExhausted as exc:
        report["stopped"] = f"reconciliation money for today is spent: {exc}"
    except OutOfTime as exc:
        run.summary.mark_partial(f"reconciliation paused before the function's time limit: {exc}")
        report["stopped"] = str(exc)
    except XError as exc:
        run.summary.mark_partial(f"reconciliation paused: {exc}")
        report["stopped"] = str(exc)
    finally:  # whatever stops the slice (revoked tokens, a store error), what it paid X is counted
        try:
            account.records.add_spend(run.day, "reconcile", meter.usd, meter.requests)
        except BaseException:  # tried once more, as JobRun does its own (on the high side if the first was applied)
            account.records.add_spend(run.day, "reconcile", meter.usd, meter.requests)
            raise
    report["cost"] = meter.snapshot()
    run.summary.reconciliation = report
    return report


def _verify(run: JobRun[Any], ledger: Ledger, x: XApi, meter: CostMeter, spent_today_usd: float,
            share_usd: float) -> dict[str, object]:
    settings, now = run.account.settings, run.now
    state = ledger.recon("verify")
    cap = min(1000, math.floor((meter.remaining_usd() or 0.0) / price("user_read") + 1e-9))
    due = ledger.queue(PersonQueue.VERIFY, due_by=now, limit=cap + 1)
    # The ledger's size is estimated from the sources' follow-back tallies (and what is due):
    # counting the queue would read every entry, and a run must cost the same at any size.
    people = max(sum(s.followed_back for s in ledger.sources()), len(due))
    if not due:
        if state is None:
            return {"state": "nothing to verify yet", "people": people}
        return {"state": "up to date", "people": people,
                "finished_at": state.finished_at.isoformat() if state.finished_at else None}
    if state is None or state.finished_at is not None:
        state = ReconState("verify", run_id=uuid.uuid4().hex[:12], started_at=now, read=0)
    quota = verify_quota(people=people, every_days=settings.reconcile_every_days, share_left_usd=meter.remaining_usd() or 0.0,
                         spent_today_usd=spent_today_usd, chosen_monthly_usd=settings.reconcile_monthly_usd, today=run.day,
                         lookup_price=price("user_read"))
    more = len(due) > quota  # someone is still due after today's slice
    due = due[:quota]
    checked = 0
    for start in range(0, len(due), LOOKUP_BATCH):
        batch = due[start:start + LOOKUP_BATCH]
        seen = {u.id: u for u in x.lookup_users([p.user_id for p in batch])}
        # The batch's answers are written together (no call to X between them), each person
        # only from followed back (a concurrent run or a duplicate delivery that moved them
        # first leaves them as they are), an unfollow by hand with its tally in the same write.
        moves: list[tuple[Person, tuple[PersonStatus, ...]]] = []
        tallies: dict[str, DayCounts] = {}
        for person in batch:
            user = seen.get(person.user_id)
            if user is None or user.i_follow is None or user.follows_me is None:
                moves.append((person.checked_again_later(now), (PersonStatus.FOLLOWED_BACK,)))
            elif not user.i_follow:
                quick = quick_unfollow(person.followed_at, now)
                moves.append((person.now_unfollowed(now, by_api=False), (PersonStatus.FOLLOWED_BACK,)))
                tallies[person.user_id] = DayCounts(unfollows=1, quick_unfollows=int(quick))
            elif not user.follows_me:
                moves.append((person.left(now), (PersonStatus.FOLLOWED_BACK,)))
            else:
                moves.append((person.verified(now, verify_days=settings.reconcile_every_days), (PersonStatus.FOLLOWED_BACK,)))
            checked += 1
        ledger.update_people(moves, counts=(run.day, tallies) if tallies else None)
        state.read += len(batch)
        if start + LOOKUP_BATCH < len(due):  # more to ask: a run stopped before them keeps this one's count
            ledger.save_recon(state)
    remaining = max(1, people - state.read) if more else 0
    if not more:
        state.finished_at = now
    ledger.save_recon(state)
    per_day = max(1, verify_quota(people=people, every_days=settings.reconcile_every_days, share_left_usd=share_usd,
                                  spent_today_usd=0.0, chosen_monthly_usd=settings.reconcile_monthly_usd, today=run.day,
                                  lookup_price=price("user_read")))  # a day's slice, as the cadence and the day's share allow
    done_share = state.read / max(1, state.read + remaining)
    return {
        "state": "finished" if remaining == 0 else "in progress",
        "verified_today": checked, "verified_this_pass": state.read, "left": remaining, "people": people,
        "progress": round(done_share, 3),
        "days_to_finish": 0 if remaining == 0 else math.ceil(remaining / per_day),
        "note": _note(done_share, remaining, per_day, people, settings.reconcile_every_days),
    }


def _note(done_share: float, remaining: int, per_day: int, people: int, every_days: int) -> str:
    """The pass's progress for the digest; when the day's share makes a pass slower than the
    chosen cadence, what a pass on time needs."""
    if not remaining:
        return f"followers check done; next pass in {every_days} days"
    days = math.ceil(remaining / per_day)
    note = f"followers check {done_share:.0%} done, pass finishes in ~{days} days"
    if days > every_days:
        monthly = math.ceil(people / every_days) * price("user_read") * 30
        share = JOB_SHARES["reconcile"]
        note += (f"; a pass every {every_days} days needs about ${monthly:.0f} a month, {share:.0%} of a "
                 f"${monthly / share:.0f} monthly budget")
    return note


def _read_following(run: JobRun[Any], ledger: Ledger, x: XApi, meter: CostMeter, *, force: bool,
                    remaining_seconds: Callable[[], float]) -> dict[str, object]:
    """Opt-in: the whole following list (owned reads), resumable, so follows made outside
    Flockpilot can be considered for pruning. A new pass takes the list's top from what
    today's sync read of it (in this run or an earlier one, see _sync_top) and reads on from
    X's token after it: those ids are not paid for twice, and a list the sync read to its end
    costs the pass nothing."""
    settings, now = run.account.settings, run.now
    name = "following"
    state = ledger.recon(name)
    fresh = state is None or (state.finished_at is not None
                              and (force or now - state.finished_at >= timedelta(days=settings.reconcile_every_days)))
    if state is not None and state.finished_at is not None and not fresh:
        return {"state": "up to date", "finished_at": state.finished_at.isoformat(), "read": state.read}
    pages, gone, status, reused = 0, [], "in progress", 0
    if fresh:
        state = ReconState(name, run_id=uuid.uuid4().hex[:12], started_at=now)
        top = _sync_top(run)
        if top is not None:
            # The sync's pages, in order from the top: as if this pass had read them (the same writes).
            ledger.mark_members(name, top.ids, state.run_id)
            state.read, state.cursor, reused = len(top.ids), top.token, len(top.ids)
            ledger.save_recon(state)
    assert state is not None
    if state.read and not state.cursor:  # the list's end is recorded (the sync's pages held it, or a run stopped before the sweep)
        gone = _finish(ledger, state, now)
        return {"state": "finished", "pages": 0, "read": state.read, "gone": len(gone)} | ({"from_sync": reused} if reused else {})
    left = remaining_seconds
    while True:
        if left() < RECON_TIME_MARGIN_SECONDS:
            status = "paused: Lambda time"
            break
        page_size = min(RECON_PAGE, math.floor((meter.remaining_usd() or 0.0) / price("owned_read") + 1e-9))
        if page_size < 1:
            status = "paused: reconciliation money for today is spent"
            break
        page = x.own_following_page(max_results=page_size, token=state.cursor)
        pages += 1
        ledger.mark_members(name, [u.id for u in page.items], state.run_id)
        state.read += len(page.items)
        state.cursor = page.next_token
        ledger.save_recon(state)
        if not page.next_token:
            gone = _finish(ledger, state, now)
            status = "finished"
            break
        window = x.rate_window("own_following")
        if window is not None and window.remaining <= 1:
            status = "paused: rate limit window"
            break
    return {"state": status, "pages": pages, "read": state.read, "gone": len(gone)} | ({"from_sync": reused} if reused else {})


def _finish(ledger: Ledger, state: ReconState, now: datetime) -> list[str]:
    """The pass has read the list to its end: whoever it did not see has left it."""
    gone = ledger.sweep_members(state.name, state.run_id)
    state.finished_at = now
    ledger.save_recon(state)
    return gone


def _sync_top(run: JobRun[Any]) -> ListTop | None:
    """The top of your following list as today's sync read it (kept with its progress), if the
    list has not moved through the API since: an api follow or unfollow sent after its first
    page was read (a run records one, at its start time, before X is asked) may have shifted
    the list under X's token, which is an offset: reading on from it would skip or repeat
    people, so the pass reads from the top. A run's actions can come up to RUN_LIMIT after
    the time it records, hence the margin (and the day before, when it reaches back into it).
    Another day's pages are not taken: the sync's record is the account day's."""
    records = run.account.records
    progress = records.load_day(SyncProgress, run.day)
    top = ListTop.of(progress.following_top) if progress is not None else None
    if top is None or not top.usable or top.since is None:
        return None
    since = datetime.fromisoformat(top.since)
    days = {run.day, (since - RUN_LIMIT).astimezone(run.account.settings.zone).date()}
    for day in days:
        follow, prune = records.load_day(FollowDay, day), records.load_day(PruneDay, day)
        sent = (follow.action_times if follow is not None else []) + (prune.action_times if prune is not None else [])
        if any(datetime.fromisoformat(t) > since - RUN_LIMIT for t in sent):
            return None
    return top
