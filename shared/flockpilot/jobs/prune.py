"""The prune job: who did not follow back, keeping the band, without follow churn.

Once a day it checks the people whose follow-back check is due (users lookup with
connection_status, 100 per request, oldest due first, as far as the day's money goes) and
decides today's unfollows. suggest mode (default): the list goes to the digest with profile
links; a later check sees whom you unfollowed by hand. api mode: the day is checked, decided
and unfollowed through the API at the first run inside the active hours (none outside them:
a decision acted on hours later could unfollow someone who followed back meanwhile), never 45
in 15 minutes, each recorded as sent before the call and as done after it, so a crash or a 429
never sends one twice; X's 403 switches to suggest; the churn guard pauses it. dry-run: no
writes to X. What X did not say (a missing connection_status) stays unknown, never "no".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flockpilot.domain.account import DayCounts
from flockpilot.domain.errors import (
    CredentialsRevoked,
    NotFound,
    NotPermitted,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    XError,
)
from flockpilot.domain.follow import band_room, runs_left
from flockpilot.domain.hours import window_bounds
from flockpilot.domain.links import profile_url
from flockpilot.domain.people import PENDING_SETTLE, AllowEntry, Person, PersonQueue, PersonStatus
from flockpilot.domain.prune import Followed, churn_check, quick_unfollow, select_unfollows
from flockpilot.domain.records import PruneChecks, PruneDay
from flockpilot.domain.x import XUser
from flockpilot.events import PruneEvent
from flockpilot.jobs.reconcile import reconcile_step
from flockpilot.jobs.skeleton import Account, JobRun, RunSummary, account_profile
from flockpilot.jobs.sync import daily_sync
from flockpilot.pricing import price
from flockpilot.settings import FollowMode, Mode

if TYPE_CHECKING:
    from flockpilot.ports import Ledger, XApi

API_UNFOLLOWS_PER_WINDOW = 45  # X allows 50 per 15 minutes; keep a margin
SUGGESTION_PATIENCE_DAYS = 7  # a prune suggestion ignored this long: you chose to keep them
KEPT_RECHECK_DAYS = 30
LOOKUP_BATCH = 100


@dataclass(kw_only=True)
class PruneSuggestion:
    """A person on today's prune list, with their profile link and why."""

    user_id: str
    username: str
    profile_url: str
    why: str


@dataclass(kw_only=True)
class PruneSummary(RunSummary):
    """What a prune run did."""

    job: str = "prune"
    followers: int | None = None
    following: int | None = None
    band_excess: int = 0
    checked: int = 0
    suggested: list[PruneSuggestion] = field(default_factory=list)
    unfollowed: list[str] = field(default_factory=list)
    unfollowed_by_hand: list[str] = field(default_factory=list)
    follow_backs: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)
    churn: dict[str, object] = field(default_factory=dict)
    reconciliation: dict[str, object] = field(default_factory=dict)


@dataclass
class PruneDeps:
    """What the prune job needs: the account, its ledger and Lambda's time left."""

    account: Account
    ledger: Ledger
    remaining_seconds: Callable[[], float] = lambda: float("inf")


def band_excess(followers: int, following: int, tolerance: float) -> int:
    """How far following is above the band (negative: room left)."""
    return -band_room(followers, following, tolerance)


def look_up(x: XApi, ids: list[str], *, latest_post: bool = False, affordable: int | None = None) -> dict[str, XUser]:
    """connection_status for `ids`, 100 per request; only as many as `affordable` lookups."""
    result: dict[str, XUser] = {}
    limit = len(ids) if affordable is None else min(len(ids), affordable)
    for start in range(0, limit, LOOKUP_BATCH):
        for user in x.lookup_users(ids[start:min(limit, start + LOOKUP_BATCH)], latest_post=latest_post):
            result[user.id] = user
    return result


def run_prune(deps: PruneDeps, event: PruneEvent) -> PruneSummary:
    settings = deps.account.settings
    mode = FollowMode(event.mode) if event.mode in ("suggest", "api") else settings.prune_mode
    dry = settings.mode is Mode.DRY_RUN or event.mode == "dry-run"
    run = JobRun("prune", deps.account, lambda now, day: PruneSummary(
        account=deps.account.account_id, day=day, started_at=now, mode=f"{mode.value}{' (dry-run)' if dry else ''}", dry_run=dry))
    job = _PruneRun(deps, run, event, mode, dry)
    # suggest mode: once the day is decided, on the prune list and its reconciliation slice done,
    # later ticks have nothing to do
    return run.execute_unless_done(
        job.body, save=lambda s: bool(s.checked or s.suggested or s.unfollowed or s.unfollowed_by_hand or s.follow_backs
                                      or s.warnings or s.reconciliation),
        depends_on=f"{mode.value}:{dry}", remember=event.plain and mode is FollowMode.SUGGEST,
        finished=lambda: job.record.decided and job.record.promoted and job.record.reconciled)


def slice_done(report: dict[str, object]) -> bool:
    """Today's reconciliation is done unless it stopped early for a reason a later run of the
    day can get past (X failing, Lambda's time, a rate-limit window)."""
    if "stopped" in report and "money" not in str(report["stopped"]):
        return False
    following = report.get("following")
    state = str(following.get("state", "")) if isinstance(following, dict) else ""
    return not state.startswith(("paused: Lambda", "paused: rate", "in progress"))


def _answer(user: XUser) -> dict[str, Any]:
    return {"username": user.username, "connection": list(user.connection) if user.connection is not None else None,
            "last_post_at": user.last_post_at.isoformat() if user.last_post_at else None}


def _unsaid(user: XUser | None) -> bool:
    return user is None or user.i_follow is None or user.follows_me is None


def _answer_user(user_id: str, answer: dict[str, Any]) -> XUser:
    connection, last = answer.get("connection"), answer.get("last_post_at")
    return XUser(id=user_id, username=str(answer.get("username", "")),
                 connection=tuple(connection) if connection is not None else None,
                 last_post_at=datetime.fromisoformat(last) if last else None)


class _PruneRun:
    def __init__(self, deps: PruneDeps, run: JobRun[PruneSummary], event: PruneEvent, mode: FollowMode, dry: bool) -> None:
        self.deps, self.run, self.event, self.mode, self.dry = deps, run, event, mode, dry
        self.ledger = deps.ledger
        self.settings = deps.account.settings
        self.records = deps.account.records
        self.record = PruneDay(day=run.day, dry=dry)
        self.candidates_checked: list[Person] = []
        # A console dry run of a live account is a preview: it shows the day's decision and
        # stores none of it (the day's decision, who was checked when, the prune list), so the
        # live runs of the day decide as if it had not happened. Dry-run mode stores its day,
        # so its hourly ticks neither decide nor pay again.
        self.preview = dry and self.settings.mode is not Mode.DRY_RUN

    def body(self, run: JobRun[PruneSummary]) -> None:
        self.record = self.records.load_day(PruneDay, run.day) or PruneDay(day=run.day, dry=self.dry)
        if not self.dry and (self.mode is FollowMode.API or not self.record.decided):
            self.resolve_pending()  # unfollows in flight exist only in api mode (looked for daily after a switch)
        if not self.record.decided or self.event.max is not None:
            if self.may_decide():
                self.decide()
            elif self.event.trigger != "schedule":  # a console run asked for a check now
                run.summary.mark_partial(
                    f"api mode checks and unfollows only inside the active hours ({self.settings.window}): nothing was "
                    "checked; run it then, or as mode suggest for a list now")
        if not self.preview:
            self.promote()
        if self.mode is FollowMode.API and self.record.api:
            self.unfollow_paced()
        if self.event.reconcile is not False and (not self.record.reconciled or self.event.reconcile):
            report = reconcile_step(run, self.ledger, force=bool(self.event.reconcile),
                                    remaining_seconds=self.deps.remaining_seconds)
            if slice_done(report):
                self.record.reconciled = True
                self.records.save_day(self.record, run.now)

    # --- the day's decision ------------------------------------------------------------
    def may_decide(self) -> bool:
        """api mode decides inside the active hours only, where it also acts: the checks
        (connection_status) are then minutes old when the unfollows go out, not a night old."""
        return self.mode is not FollowMode.API or self.runs_left() > 0

    def runs_left(self) -> int:
        """The scheduled runs left in today's active hours, this one included (0 outside them)."""
        run, settings = self.run, self.settings
        return runs_left(run.now, window_bounds(run.day, settings.zone, settings.window))

    def decide(self) -> None:
        run, summary, settings, ledger = self.run, self.run.summary, self.settings, self.ledger
        try:
            summary.follow_backs = list(daily_sync(run, ledger).follow_backs)
        except (CredentialsRevoked, NotPermitted, NotSent):
            raise
        except XError as exc:  # follow-backs wait for the next sync; the checks below still run
            summary.mark_partial(f"could not sync your followers and following: {exc}")
        profile = account_profile(run)
        summary.followers, summary.following = profile.followers, profile.following
        summary.band_excess = band_excess(profile.followers, profile.following, settings.ratio_tolerance)
        try:
            self.allow_mentioners()
        except (CredentialsRevoked, NotPermitted, NotSent):
            raise
        except XError as exc:
            summary.mark_partial(f"could not read your mentions for the allowlist: {exc}")

        candidates = self.check_due()
        if settings.prune_outside_inactive_days > 0:
            candidates += self.outside_candidates()
        decisions, kept = select_unfollows(
            candidates, now=run.now, grace_days=settings.prune_grace_days, daily_cap=max(0, settings.prune_daily_cap),
            band_excess=summary.band_excess, allow=set(), tolerance=settings.ratio_tolerance,
            prune_outside_inactive_days=settings.prune_outside_inactive_days or None)
        if self.event.max is not None:
            decisions = decisions[: self.event.max]
        for reason, count in kept.items():
            summary.kept[reason] = summary.kept.get(reason, 0) + count

        counts = ledger.counts(run.day - timedelta(days=29), run.day)
        churn = churn_check(counts.values(), max_quick_share=settings.churn_max_quick_share, max_ratio=settings.churn_max_ratio,
                            planned=len(decisions) if self.mode is FollowMode.API else 0)
        summary.churn = {"paused": churn.paused, "quick_undo_share": churn.quick_undo_share,
                         "unfollow_follow_ratio": churn.unfollow_follow_ratio, "reasons": list(churn.reasons)}
        self.record.churn = summary.churn
        if self.mode is FollowMode.API and churn.paused:
            summary.warnings.append("api unfollows paused by the churn guard: " + "; ".join(churn.reasons)
                                    + "; today's list is a suggestion instead")
        api = self.mode is FollowMode.API and not churn.paused
        self.record.api = api
        self.record.decisions = [[d.person.user_id, d.person.username, d.reason] for d in decisions]
        self.record.promoted = api or not any(d.person.through_flockpilot for d in decisions)
        first = not self.record.decided
        self.record.decided = True
        if self.preview:
            pass  # shown, not stored: the live day decides on its own
        elif not first:
            self.records.save_day(self.record, run.now)
        elif not self.records.settle_day(self.record, run.now):  # decided before anyone's status moves
            self.record = self.records.load_day(PruneDay, run.day) or self.record  # a concurrent run decided first
            decisions = []
        chosen = set(self.record.ids)
        if not self.preview:
            later = {p.user_id: p.checked_again_later(run.now) for p in self.candidates_checked
                     if p.user_id not in chosen or self.record.api}
            if later:
                ledger.update_people([(p, (PersonStatus.FOLLOWED,)) for p in later.values()])
        for d in decisions:
            summary.suggested.append(PruneSuggestion(user_id=d.person.user_id, username=d.person.username,
                                                     profile_url=profile_url(d.person.username), why=d.reason))

    def promote(self) -> None:
        """Put today's decisions on the prune list (suggest mode), again after a crash."""
        if self.record.promoted:
            return
        run = self.run
        people = self.ledger.people_by_id(self.record.ids)
        moves = {user_id: person.prune_suggested(run.now, reason) for user_id, _, reason in self.record.decisions
                 if (person := people.get(user_id)) is not None and person.status is PersonStatus.FOLLOWED}
        if moves:
            self.ledger.update_people([(p, (PersonStatus.FOLLOWED,)) for p in moves.values()])
        self.record.promoted = True
        self.records.save_day(self.record, run.now)

    def allow_mentioners(self) -> None:
        """People who mention you are never pruned (an owned read of your new mentions)."""
        run, ledger = self.run, self.ledger
        since = next(iter(ledger.frontier("mentions-allow")), None)
        users, newest = run.x.mentions(since_id=since, max_results=20)
        for user in users:
            ledger.allow(AllowEntry(user.id, user.username, "mention", run.now))
        if newest:
            ledger.set_frontier("mentions-allow", [newest], run.now)

    def check_due(self) -> list[Followed]:
        """Follow-back checks for everyone due, oldest first, as far as today's money goes.
        Returns the people still followed who do not follow back (prune candidates)."""
        run, summary, ledger = self.run, self.run.summary, self.ledger
        # In api mode, money for the unfollows that bring you back inside the band is set aside first.
        restore = price("interaction_delete") * max(0, summary.band_excess) if self.mode is FollowMode.API and not self.dry else 0.0
        affordable = math.floor(max(0.0, (run.meter.remaining_usd() or 0.0) - restore) / price("user_read") + 1e-9)
        # Asked 100 at a time, each answer applied as it comes: a run stopped partway (the time
        # limit, X failing) leaves the next one only the people it did not ask about. Those
        # who do not follow back wait for the day's decision: their answers are kept (PruneChecks),
        # and used again in suggest mode (in api mode an unfollow rests on a check minutes old).
        # They cost nothing more, so the day's money limits only those still to ask: the answers
        # already paid for are all taken, never pushed to tomorrow (and bought again) by it.
        checks = self.records.load_day(PruneChecks, run.day) or PruneChecks(day=run.day)
        kept = {} if self.mode is FollowMode.API else checks.answers
        answered = sum(1 for answer in kept.values() if answer is not None)
        limit = min(affordable + answered, 1000)
        due = ledger.queue(PersonQueue.CHECK, due_by=run.now, limit=limit + 1)
        beyond = len(due) > limit
        due = due[:limit]
        if not due:
            return []
        allowed = ledger.allowed([p.user_id for p in due])
        on_list = [p for p in due if p.user_id in allowed]
        if on_list:
            ledger.update_people([(p.checked_again_later(run.now, KEPT_RECHECK_DAYS), (p.status,)) for p in on_list])
            summary.kept["on the allowlist"] = summary.kept.get("on the allowlist", 0) + len(on_list)
        to_check = [p for p in due if p.user_id not in allowed]
        known = [p for p in to_check if kept.get(p.user_id) is not None]
        ask = [p for p in to_check if kept.get(p.user_id) is None]
        if beyond or len(ask) > affordable:
            summary.mark_partial("follow-back checks beyond today's prune money wait for tomorrow")
            ask = ask[:affordable]
        candidates: list[Followed] = []
        unknown = 0
        for start in range(0, len(ask), LOOKUP_BATCH):
            batch = ask[start:start + LOOKUP_BATCH]
            seen = {u.id: u for u in run.x.lookup_users([p.user_id for p in batch])}
            summary.checked += len(seen)
            unknown += sum(1 for p in batch if _unsaid(seen.get(p.user_id)))
            candidates += self.apply_checks(batch, seen, checks)
            if not self.preview and (start + LOOKUP_BATCH < len(ask) or self.settings.prune_outside_inactive_days > 0):
                self.records.save_day(checks, run.now)  # more to ask: what was said so far is kept
        if known:
            candidates += self.apply_checks(known, {p.user_id: _answer_user(p.user_id, kept[p.user_id] or {}) for p in known},
                                            checks)
        if unknown:
            summary.mark_partial(f"X did not say whether {unknown} people follow you back; they are checked again tomorrow")
        return candidates

    def apply_checks(self, people: list[Person], seen: dict[str, XUser], checks: PruneChecks) -> list[Followed]:
        """What X said about `people`: moves applied now, the prune candidates returned (their
        answers kept in `checks` until the day is decided)."""
        run, summary, ledger = self.run, self.run.summary, self.ledger
        candidates: list[Followed] = []
        # Written together after the loop (no call to X between them): each move conditional on
        # the status it was read in, an unfollow by hand with its tally in the same write.
        moves: list[tuple[Person, tuple[PersonStatus, ...]]] = []
        tallies: dict[str, DayCounts] = {}
        backs: list[str] = []
        for person in people:
            user = seen.get(person.user_id)
            if user is None or _unsaid(user):
                # X did not say: unknown stays unknown; asked again tomorrow
                moves.append((person.checked_again_later(run.now), (person.status,)))
            elif not user.i_follow:
                unfollowed, tallies[person.user_id] = self.unfollowed(person, by_api=False)
                moves.append((unfollowed, (person.status,)))
                summary.unfollowed_by_hand.append(person.username)
            elif user.follows_me:
                moves.append((person.now_followed_back(run.now, verify_days=self.settings.reconcile_every_days), (person.status,)))
                backs.append(person.user_id)
            elif person.status is PersonStatus.PRUNE_SUGGESTED:
                ignored = person.due_at is not None and run.now - person.due_at >= timedelta(days=SUGGESTION_PATIENCE_DAYS)
                if ignored:  # you kept them: not suggested again for a month
                    moves.append((replace(person, status=PersonStatus.FOLLOWED, prune_reason=None,
                                          due_at=run.now + timedelta(days=KEPT_RECHECK_DAYS)), (PersonStatus.PRUNE_SUGGESTED,)))
                    summary.kept["kept after a week on the prune list"] = summary.kept.get("kept after a week on the prune list", 0) + 1
                else:
                    moves.append((person.checked_again_later(run.now), (PersonStatus.PRUNE_SUGGESTED,)))
            else:  # a candidate: their next check is set once today's decision is recorded
                checks.answers[person.user_id] = _answer(user)
                self.candidates_checked.append(person)
                candidates.append(Followed(person.user_id, person.username, person.followed_at, person.source_id, True, False,
                                           user.last_post_at))
        written = ledger.update_people(moves, counts=(run.day, tallies) if tallies else None) if moves else set()
        summary.follow_backs += [user_id for user_id in backs if user_id in written]
        return candidates

    def outside_candidates(self) -> list[Followed]:
        """Follows made outside Flockpilot (opt-in): from the reconciled following list, a
        rolling window of people not in the ledger, checked for follow-back and activity."""
        run, ledger, settings = self.run, self.ledger, self.settings
        state = next(iter(ledger.frontier("outside-cursor")), None)
        members = ledger.members("following", after=state, limit=settings.prune_daily_cap * 3)
        ledger.set_frontier("outside-cursor", members[-1:] if members else [], run.now)
        known = ledger.known(members)
        allowed = ledger.allowed(members)
        outsiders = [m for m in members if m not in known and m not in allowed][: settings.prune_daily_cap]
        if not outsiders:
            return []
        affordable = math.floor((run.meter.remaining_usd() or 0.0) / price("user_read") + 1e-9)
        seen = look_up(run.x, outsiders, latest_post=True, affordable=affordable)
        run.summary.checked += len(seen)
        long_ago = run.now - timedelta(days=3650)
        return [Followed(u.id, u.username, long_ago, None, False, u.follows_me, u.last_post_at)
                for u in seen.values() if u.i_follow and u.follows_me is not None]

    # --- api mode ----------------------------------------------------------------------
    def unfollowed(self, person: Person, *, by_api: bool) -> tuple[Person, DayCounts]:
        """`person` unfollowed now, and what that adds to the day's tallies."""
        now = self.run.now
        quick = quick_unfollow(person.followed_at, now)
        return person.now_unfollowed(now, by_api=by_api), DayCounts(unfollows=1, quick_unfollows=int(quick))

    def record_unfollowed(self, person: Person, *, by_api: bool, expected: tuple[PersonStatus, ...]) -> bool:
        unfollowed, tally = self.unfollowed(person, by_api=by_api)
        return self.ledger.update_person(unfollowed, expected=expected, counts=(self.run.day, tally))

    def resolve_pending(self) -> None:
        """Unfollows sent by a run that never learned the outcome: ask X."""
        pending = [p for p in self.ledger.queue(PersonQueue.PENDING, due_by=self.run.now - PENDING_SETTLE, limit=100)
                   if p.status is PersonStatus.UNFOLLOW_PENDING]
        if not pending:
            return
        run = self.run
        seen = look_up(run.x, [p.user_id for p in pending])
        for person in pending:
            user = seen.get(person.user_id)
            if user is None or user.i_follow is None:
                run.summary.mark_partial(f"X did not say whether the unfollow of @{person.username} went through; asked again next run")
            elif not user.i_follow:
                if self.record_unfollowed(person, by_api=True, expected=(PersonStatus.UNFOLLOW_PENDING,)):
                    run.summary.unfollowed.append(person.username)
            else:
                self.ledger.update_person(replace(person, status=PersonStatus.FOLLOWED, acted_at=None),
                                          expected=(PersonStatus.UNFOLLOW_PENDING,))

    def unfollow_paced(self) -> None:
        """Unfollow today's decisions as soon as they are made, never 45 in any 15 minutes;
        X's 403 switches to suggest. Outside the active hours nobody is unfollowed; what the
        window's last run leaves is checked and decided again in tomorrow's first run inside
        the active hours, and that run says so."""
        run, summary, ledger, record = self.run, self.run.summary, self.ledger, self.record
        runs = self.runs_left()
        if runs == 0:
            return  # outside the active hours: nothing is decided or unfollowed
        people = ledger.people_by_id(record.ids)
        waiting = [people[i] for i in record.ids if i in people and people[i].status is PersonStatus.FOLLOWED]
        recent = sum(1 for t in record.action_times if run.now - datetime.fromisoformat(t) < timedelta(minutes=15))
        quota = max(0, API_UNFOLLOWS_PER_WINDOW - recent)
        if self.event.max is not None:
            quota = min(quota, self.event.max)
        if len(waiting) > quota and runs <= 1 and self.event.max is None and not self.dry:
            self.leave_for_tomorrow(waiting[quota:])
        elif len(waiting) > quota and self.event.max is None:
            summary.warnings.append(f"{len(waiting) - quota} unfollows wait for the next run "
                                    f"(at most {API_UNFOLLOWS_PER_WINDOW} in 15 minutes)")
        for person in waiting[:quota]:
            if self.dry:
                summary.unfollowed.append(person.username)
                continue
            sent = person.unfollow_sent(run.now)
            if not ledger.update_person(sent, expected=(PersonStatus.FOLLOWED,)):
                continue
            record.action_times.append(run.now.isoformat())
            self.records.save_day(record, run.now)
            try:
                run.x.unfollow(person.user_id)
            except NotPermitted as exc:
                self.back_to_followed(sent)
                self.switch_to_suggest(exc)
                return
            except OutcomeUnknown as exc:
                summary.mark_partial(f"X did not confirm the unfollow of @{person.username} ({exc}); the next run asks X first")
                return
            except (RateLimited, NotSent) as exc:
                self.back_to_followed(sent)
                summary.mark_partial(f"unfollows stopped: {exc}")
                return
            except CredentialsRevoked:
                self.back_to_followed(sent)
                raise
            except NotFound:
                self.record_unfollowed(sent, by_api=True, expected=(PersonStatus.UNFOLLOW_PENDING,))
                continue
            except XError as exc:
                self.back_to_followed(sent)
                summary.warnings.append(f"X refused to unfollow @{person.username}: {exc}")
                continue
            if self.record_unfollowed(sent, by_api=True, expected=(PersonStatus.UNFOLLOW_PENDING,)):
                summary.unfollowed.append(person.username)

    def leave_for_tomorrow(self, left: list[Person]) -> None:
        """Today's active hours cannot hold these unfollows: they are due again now, so
        tomorrow's first run checks them (they may follow back by then) and decides again."""
        run = self.run
        for person in left:
            self.ledger.update_person(replace(person, due_at=run.now), expected=(PersonStatus.FOLLOWED,))
        run.summary.mark_partial(f"{len(left)} unfollows did not fit in today's active hours ({self.settings.window}, at most "
                                 f"{API_UNFOLLOWS_PER_WINDOW} in 15 minutes): checked and decided again in tomorrow's first "
                                 "run inside them")

    def back_to_followed(self, person: Person) -> None:
        self.ledger.update_person(replace(person, status=PersonStatus.FOLLOWED, acted_at=None), expected=(PersonStatus.UNFOLLOW_PENDING,))
        if self.record.action_times:
            self.record.action_times.pop()
        self.records.save_day(self.record, self.run.now)

    def switch_to_suggest(self, exc: Exception) -> None:
        run = self.run
        self.records.set_override("prune_mode", FollowMode.SUGGEST.value)
        run.summary.warnings.append(f"X does not let this app unfollow ({exc}); prune is switched to suggest mode")
        run.summary.mark_partial("api unfollows are not permitted for this app: switched to suggest mode")
        self.record.api = False
        self.record.promoted = False
        self.records.save_day(self.record, run.now)
        self.promote()
