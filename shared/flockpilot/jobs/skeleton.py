"""What every job run shares: the clock, the account's day, a meter holding the job to its
share of the day's money, an honest outcome, and the spend and run records at the end.

A run is `ok` only if it did its whole job; `partial` says what it skipped and why (budget,
rate limit, a failed sub-step); `failed` means the person must act (revoked credentials, X
refusing the app) or a retry must (X or DynamoDB unavailable: those re-raise after the run
is recorded, so Lambda retries and the dead-letter queue catches what still fails).
Whatever else a run raises, what it spent on X is still added to the day's tally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from flockpilot.domain.account import AccountProfile, GrowthPoint, account_day
from flockpilot.domain.budget import job_allowance
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import BudgetExhausted, CredentialsRevoked, NotPermitted, OutOfTime, RateLimited, TransientError
from flockpilot.plain import plain
from flockpilot.settings import AccountSettings

if TYPE_CHECKING:
    from flockpilot.ports import AccountRecords, Clock, XApi

XFactory = Callable[[CostMeter], "XApi"]

logger = logging.getLogger(__name__)


# Days a job found finished, per job and store: (day, what the finish depended on, until
# when to trust it). A Lambda container runs many ticks; once a suggest-mode follow or prune
# has done the day's work, a later scheduled tick of that day in the same mode has nothing
# left to do and need not read the day's record again. Only a manual run (another container,
# the CLI) changes a finished day's record, and if it dies half way the next run that reads
# the record finishes its work: so the memo is trusted for DONE_DAY_RECHECK, then read again.
DONE_DAY_RECHECK = timedelta(hours=3)
# (day, depends_on, trusted until, the account day's end in UTC)
_DONE_DAYS: dict[tuple[str, str], tuple[date, str, datetime, datetime]] = {}


def day_done(job: str, scope: str, day: date, depends_on: str, now: datetime) -> bool:
    noted = _DONE_DAYS.get((job, scope))
    return noted is not None and noted[:2] == (day, depends_on) and now < noted[2]


def note_day_done(job: str, scope: str, day: date, depends_on: str, done: bool, now: datetime, day_ends: datetime) -> None:
    """Remember (or forget) that `job` finished `day` (which ends at `day_ends`); a memo
    already held keeps its expiry."""
    noted = _DONE_DAYS.get((job, scope))
    if not done:
        _DONE_DAYS.pop((job, scope), None)
    elif noted is None or noted[:2] != (day, depends_on) or now >= noted[2]:
        _DONE_DAYS[(job, scope)] = (day, depends_on, now + DONE_DAY_RECHECK, day_ends)


def day_done_quiet(job: str) -> Callable[[str, datetime], bool]:
    """A Wiring quiet check (flockpilot.runtime): a scheduled tick of `job` at `now` finds
    the account's day done in this container's memo (still trusted, the day not over), so
    it will do nothing whatever the settings say and need not read them again. The memo was
    noted under the settings this container read (their mode is its `depends_on`), and the
    handlers reuse settings only as long as the memo is trusted (DONE_DAY_RECHECK): a tick
    after that reads them and the day's record."""
    def quiet(scope: str, now: datetime) -> bool:
        noted = _DONE_DAYS.get((job, scope))
        return noted is not None and now < noted[2] and now < noted[3]

    return quiet


def forget_done_days() -> None:
    _DONE_DAYS.clear()


class RunOutcome(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


def failure_text(reasons: list[str]) -> str:
    """A failed run's `error`: its reasons joined (one reason: that reason's text)."""
    return "; ".join(r for r in reasons if r) or "the run failed without saying why (see the function's log)"


@dataclass(kw_only=True)
class RunSummary:
    """The fields every job's summary has; each job adds its own."""

    job: str
    account: str
    day: date
    started_at: datetime
    mode: str = ""
    dry_run: bool = False  # the run only previewed: nothing sent to X (post, follow, prune), no email (digest)
    time_zone: str = ""  # the account's IANA zone: `day` is its day, `*_local` times are on its clock
    outcome: RunOutcome = RunOutcome.OK
    reasons: list[str] = field(default_factory=list)  # why the run is partial or failed
    warnings: list[str] = field(default_factory=list)
    cost: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The summary as plain JSON: what the handler returns and the run record keeps. A
        failed run also carries `error`: its reasons in one line, never empty; every run whose
        account zone is known, `started_at_local` (`started_at` on the account's clock)."""
        body: dict[str, Any] = plain(self)
        if self.time_zone:  # started_at on the account's clock, placed right after it
            from zoneinfo import ZoneInfo

            items = list(body.items())
            items.insert(list(body).index("started_at") + 1,
                         ("started_at_local", self.started_at.astimezone(ZoneInfo(self.time_zone)).isoformat()))
            body = dict(items)
        if self.outcome is RunOutcome.FAILED:
            body["error"] = failure_text(self.reasons)
        return body

    def mark_partial(self, reason: str) -> None:
        """The run skipped some of its work: say what and why."""
        if self.outcome is RunOutcome.OK:
            self.outcome = RunOutcome.PARTIAL
        if reason not in self.reasons:
            self.reasons.append(reason)

    def mark_failed(self, reason: str) -> None:
        self.outcome = RunOutcome.FAILED
        if reason not in self.reasons:
            self.reasons.append(reason)


@dataclass
class Account:
    """One account's settings and the ports every job uses."""

    account_id: str
    settings: AccountSettings
    records: AccountRecords
    clock: Clock
    x_factory: XFactory


@dataclass(frozen=True)
class DayBudget:
    """A job's money for the account's day."""

    allowance_usd: float  # the job's share of today's allowance
    spent_today_usd: float  # what earlier runs of the job spent today

    def meter(self) -> CostMeter:
        """A meter that stops this run where the job's day ends."""
        return CostMeter(limit_usd=max(0.0, self.allowance_usd - self.spent_today_usd))


def day_budget(records: AccountRecords, job: str, monthly_budget_usd: float, day: date) -> DayBudget:
    """The job's money for the account's `day`: the month's budget spread by what was spent."""
    spend = records.spend(day.replace(day=1), day)
    before_today = sum(s.usd for d, s in spend.items() if d < day)
    today = spend.get(day)
    return DayBudget(allowance_usd=job_allowance(job, monthly_budget_usd, before_today, day),
                     spent_today_usd=today.job(job) if today else 0.0)


S = TypeVar("S", bound=RunSummary)


class JobRun(Generic[S]):
    """One run of one job: `now` and `day` fixed at the start, X connected on first use."""

    def __init__(self, job: str, account: Account, make_summary: Callable[[datetime, date], S]) -> None:
        self.job = job
        self.account = account
        self.now = account.clock.now()
        self.day = account_day(self.now, account.settings.zone)
        self.summary = make_summary(self.now, self.day)
        self.summary.time_zone = account.settings.time_zone
        self._x: XApi | None = None
        self._budget: DayBudget | None = None
        self._meter: CostMeter | None = None
        self._also: dict[str, CostMeter] = {}  # parts of the run on money of their own (reconciliation)
        self._spend_recorded = False  # the meter's spend is in the day's tally (once, whatever happens)
        self.skipped = False  # execute_unless_done found the day done: the body did not run

    @property
    def budget(self) -> DayBudget:
        """The job's money for the day, read on first use (a run with nothing to do reads nothing)."""
        if self._budget is None:
            self._budget = day_budget(self.account.records, self.job, self.account.settings.monthly_budget_usd, self.day)
        return self._budget

    @property
    def meter(self) -> CostMeter:
        if self._meter is None:
            self._meter = self.budget.meter()
        return self._meter

    @property
    def x(self) -> XApi:
        if self._x is None:
            self._x = self.account.x_factory(self.meter)
        return self._x

    @property
    def settings(self) -> AccountSettings:
        return self.account.settings

    def _record_spend(self) -> None:
        """Add what the meter spent to the day's tally, once per run."""
        if self._spend_recorded:
            return
        meter = self._meter or CostMeter(limit_usd=0.0)  # never metered: nothing was spent
        self.account.records.add_spend(self.day, self.job, meter.usd, meter.requests)
        self._spend_recorded = True

    def also_paid(self, name: str, meter: CostMeter) -> None:
        """A part of the run paid X on a meter of its own (and records that spend itself):
        the run's `cost` (and the metrics published from it) includes it, as `name.<operation>`."""
        self._also[name] = meter

    def finish(self, *, save: bool = True) -> S:
        """Record what the run spent and, unless it did nothing worth keeping, its summary."""
        meter = self._meter or CostMeter(limit_usd=0.0)  # never metered: nothing was spent
        self.summary.cost = meter.snapshot(self._also)
        if save and not self._spend_recorded and (meter.usd or meter.requests):
            # the spend and the run's record in one write (one request where there were two)
            self.account.records.finish_run(self.job, self.day, self.now, meter.usd, meter.requests, self.summary.to_json())
            self._spend_recorded = True
            return self.summary
        self._record_spend()  # once per run; nothing is written when nothing was spent
        if save:
            self.account.records.save_run(self.job, self.day, self.now, self.summary.to_json())
        return self.summary

    def _record_spend_of_failed_run(self) -> None:
        """A run that raised (a store error, a LeaseLost or a Crash escaping, anything) still
        counts what it paid X, or the next runs' budgets would not know that money is gone.
        Best effort: a failure here is logged and the run's own exception propagates. Nothing
        is recorded twice: finish() marks the spend recorded once finish_run returns (a
        finish_run that raised without saying whether it was applied leaves add_spend tried
        once more, which errs on the high side of the budget)."""
        if self._spend_recorded or self._meter is None:
            return  # recorded already, or never metered: nothing was spent
        try:
            self._record_spend()
        except BaseException:  # the run's own exception matters more than this one
            logger.exception("could not record the spend of a failed run",
                             extra={"job": self.job, "usd": self._meter.usd, "requests": self._meter.requests})

    def execute(self, body: Callable[[JobRun[S]], None], *, save: Callable[[S], bool] = lambda s: True) -> S:
        """Run `body`, turn the stops every job shares into an honest outcome, record the run.
        Whatever escapes, the spend is recorded. A Lambda hard timeout would run nothing
        more, so none is let happen mid-call: the X client starts no call or retry unless X's
        timeout and a margin still fit before the deadline (OutOfTime: the run stops here,
        `partial`, and records what it did), and reconciliation pauses 20 s before it."""
        try:
            return self._execute(body, save)
        except BaseException:
            self._record_spend_of_failed_run()
            raise

    def _execute(self, body: Callable[[JobRun[S]], None], save: Callable[[S], bool]) -> S:
        summary = self.summary
        try:
            body(self)
        except BudgetExhausted as exc:
            summary.mark_partial(f"stopped at the day's {self.job} budget: {exc}")
        except OutOfTime as exc:
            summary.mark_partial(f"stopped before the function's time limit, the rest is for the next run: {exc}")
        except RateLimited as exc:
            summary.mark_partial(f"X rate limit: {exc}")
        except CredentialsRevoked as exc:
            summary.mark_failed(f"{exc}: replace the tokens in the X secret (README, Deploy step 3)")
        except NotPermitted as exc:
            summary.mark_failed(f"X does not permit this for the app or account: {exc}")
        except TransientError as exc:
            summary.mark_failed(f"{exc}; Lambda retries the run")
            self.finish()
            raise
        return self.finish(save=save(summary) or summary.outcome is not RunOutcome.OK)

    def execute_unless_done(self, body: Callable[[JobRun[S]], None], *, save: Callable[[S], bool], depends_on: str,
                            remember: bool, finished: Callable[[], bool]) -> S:
        """`execute`, except on a day this container saw finished (`day_done`) for the
        account's store: then the body is skipped, nothing read. `remember`: this run may note
        or use the memo (a plain scheduled tick whose day, once `finished()` says so, leaves
        later ticks nothing to do)."""
        scope = self.account.records.scope
        skip = remember and day_done(self.job, scope, self.day, depends_on, self.now)
        self.skipped = skip
        day_ends = datetime.combine(self.day + timedelta(days=1), time(), tzinfo=self.account.settings.zone).astimezone(UTC)
        try:
            summary = self.execute((lambda run: None) if skip else body, save=save)
        except BaseException:
            note_day_done(self.job, scope, self.day, depends_on, False, self.now, day_ends)
            raise
        note_day_done(self.job, scope, self.day, depends_on,
                      skip or (remember and summary.outcome is RunOutcome.OK and finished()), self.now, day_ends)
        return summary


def account_profile(run: JobRun[Any]) -> AccountProfile:
    """The account's handle and figures: today's stored copy, or one users/me read (stored)."""
    records, settings = run.account.records, run.account.settings
    profile = records.profile()
    if profile is not None and profile.fresh(run.now, settings.zone):
        return profile
    me = run.x.me()
    profile = AccountProfile(user_id=me.id, username=me.username, name=me.name, followers=me.followers,
                             following=me.following, seen_at=run.now)
    records.save_profile(profile)
    records.record_growth(GrowthPoint(run.day, me.followers, me.following), run.now)
    return profile
