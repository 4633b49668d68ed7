"""Reconciliation, measured by running it: a full pass over the people who followed back at
1k/10k/100k followers, daily prune runs (reconcile on, as scheduled) until every one of them
has been looked up again; what it cost (the sandbox's bill for the lookups made inside the
reconciliation step) and how many days it took.

The world: N followers, following 95% of them back; 10% of the followers are people
Flockpilot followed who followed back (about three years of 30 suggestions a day with 3 in
10 following back; the ledger holds them, all due: a pass starts); 1% of the followers
have since stopped following you, and you unfollowed another 1% by hand.
Each simulated day runs prune at :35 from 00:35, hour after hour, until a run makes no X
request (the rest of the day's runs find nothing left to do). Budget uncapped (the largest
the settings take), then three days at the template's default budget ($60/month) in the
next month, to see how fast a pass moves there.

The pass is finished when every followed-back person was looked up by reconciliation at
least once (the bench's own record of the sandbox's users-lookup requests, not the product's
report). Its lower bound: one user read per person ($0.01 each).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bench.dynamo_meter import CapacityMeter
from bench.report import Table, check_spec, detail, progress
from bench.sim import BASE_SETTINGS, UNCAPPED, BillWatch, at, run_job, watching
from bench.worlds import account_environ, add_account, bulk_people, store_secrets
from devtools.demo import SimulatedClock

SIZES = (1_000, 10_000, 100_000)
FOLLOWED_BACK_SHARE = 0.1
LEFT_SHARE = UNFOLLOWED_SHARE = 0.01
MAX_DAYS = 60
DEFAULT_BUDGET_DAYS = 3
PRICE_USER_READ = 0.010  # x-api.md


@dataclass
class Pass:
    size: int
    people: int
    days: int | None = None  # days until everyone was looked up; None: not within MAX_DAYS
    covered: int = 0
    usd: float = 0.0
    daily_usd: list[float] = field(default_factory=list)
    daily_lookups: list[int] = field(default_factory=list)
    daily_units: list[float] = field(default_factory=list)
    runs: int = 0
    default_budget_lookups: list[int] = field(default_factory=list)
    default_budget_note: str = ""  # what the product told the person on the last default-budget day
    product_said: str = ""


def day_of_prunes(watch: BillWatch, world: Any, environ: dict[str, str], clock: SimulatedClock, day_start: datetime) -> tuple[int, Any]:
    """Prune at :35 each hour until a run makes no X request; returns runs made and the last
    summary that reported on reconciliation (a day's slice is done by one run; later ones skip it)."""
    runs, summary, reported = 0, None, None
    for hour in range(24):
        clock.current = at(day_start, f"{hour:02d}:35")
        before = world.bill()["requests"]
        summary = watch.run("prune", lambda: run_job("prune", environ, clock))
        if summary is not None and summary.reconciliation:
            reported = summary
        runs += 1
        if world.bill()["requests"] == before:
            break
    return runs, reported or summary


def measure(size: int) -> Pass:
    from devtools.localstack import REGION, running
    from devtools.xsandbox.world import World
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.domain.follow import Source, SourceKind
    from flockpilot.domain.people import Person, PersonStatus

    start = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    clock = SimulatedClock(start)
    world = World(clock=clock.now)
    account = add_account(world, 0, followers=size, candidates_per_source=50, now=start)
    followed_back = account.followers[: int(size * FOLLOWED_BACK_SHARE)]  # all among the people you follow back
    for uid in followed_back[: int(size * LEFT_SHARE)]:
        world.unfollow(uid, account.owner_id)
    for uid in followed_back[-int(size * UNFOLLOWED_SHARE):]:
        world.unfollow(account.owner_id, uid)
    people = [Person(uid, f"f0_{i}", PersonStatus.FOLLOWED_BACK, account.sources[i % 3], 0.5, ("bench",),
                     followed_at=start - timedelta(days=200 - i % 100), followed_back_at=start - timedelta(days=190 - i % 100),
                     due_at=start - timedelta(days=i % 30, hours=1)) for i, uid in enumerate(followed_back)]
    result = Pass(size, len(people))
    with running(world, account.creds, {**BASE_SETTINGS, **UNCAPPED}) as stack:
        store_secrets([account], REGION)
        bulk_people(account.owner_id, people)
        ledger = DynamoLedger(account.owner_id)
        for n, source in enumerate(account.sources):
            share = len(people) // 3 + (1 if n < len(people) % 3 else 0)
            ledger.add_source(Source(source, SourceKind.ACCOUNT, f"@niche0_{n}", start - timedelta(days=400),
                                     followed=2 * share, followed_back=share))
        environ = account_environ(account)
        meter = CapacityMeter()
        meter.install()
        wanted = set(followed_back)
        seen: set[str] = set()
        with watching(world, stack) as watch:
            for d in range(MAX_DAYS):
                usd_before = watch.spend["reconcile"].usd if "reconcile" in watch.spend else 0.0
                lookups_before = len(watch.lookups)
                with meter.measuring(f"day {d}") as usage:
                    runs, summary = day_of_prunes(watch, world, environ, clock, start + timedelta(days=d))
                result.runs += runs
                looked = [i for in_reconcile, ids in watch.lookups[lookups_before:] if in_reconcile for i in ids]
                seen.update(looked)
                result.daily_usd.append(watch.spend["reconcile"].usd - usd_before)
                result.daily_lookups.append(len(looked))
                result.daily_units.append(usage.units)
                if summary is not None:
                    verify = (summary.reconciliation or {}).get("verify") or {}
                    result.product_said = str(verify.get("note") or verify.get("state") or "")
                if (d + 1) % 10 == 0:
                    progress(f"reconcile {size:,}: day {d + 1}, {len(seen & wanted):,} of {len(wanted):,} looked up")
                if wanted <= seen:
                    result.days = d + 1
                    break
            result.covered = len(seen & wanted)
            result.usd = watch.spend["reconcile"].usd if "reconcile" in watch.spend else 0.0
            # The template's default budget, from the first day of a month after everyone is due again.
            month_start = next_month_start(start + timedelta(days=(result.days or MAX_DAYS) + 31))
            default_env = {**environ, "MONTHLY_BUDGET_USD": "60"}
            for d in range(DEFAULT_BUDGET_DAYS):
                lookups_before = len(watch.lookups)
                _, said = day_of_prunes(watch, world, default_env, clock, month_start + timedelta(days=d))
                verify = ((said.reconciliation if said is not None else None) or {}).get("verify") or {}
                result.default_budget_note = str(verify.get("note") or verify.get("state") or "")
                result.default_budget_lookups.append(
                    sum(len(ids) for in_reconcile, ids in watch.lookups[lookups_before:] if in_reconcile))
    check_spec(world)
    return result


def next_month_start(moment: datetime) -> datetime:
    days = calendar.monthrange(moment.year, moment.month)[1]
    return datetime.combine(moment.date().replace(day=1), time(), tzinfo=UTC) + timedelta(days=days)


def run(table: Table) -> None:
    results = []
    for size in SIZES:
        progress(f"reconcile: {size:,} followers ({int(size * FOLLOWED_BACK_SHARE):,} followed back through Flockpilot)")
        results.append(measure(size))
    lines = [f"followed back through Flockpilot: {FOLLOWED_BACK_SHARE:.0%} of the followers, all due; 1% left you, 1% you unfollowed "
             "by hand; prune hourly from 00:35 until a run makes no X request; uncapped budget, then 3 days at $60/month",
             "finished: every one of them looked up by reconciliation (the bench's record of the sandbox's lookups); "
             "bound: one user read each ($0.01)"]
    for r in results:
        bound = r.people * PRICE_USER_READ
        pass_days = len(r.daily_usd)
        spread = (f"per day ${min(r.daily_usd):.2f}-${max(r.daily_usd):.2f}, lookups {min(r.daily_lookups)}-{max(r.daily_lookups)}"
                  if r.daily_usd else "")
        per_day = sum(r.default_budget_lookups) / max(1, len(r.default_budget_lookups))
        lines.append(f"{r.size:>7,} followers, {r.people:,} to re-verify: "
                     + (f"finished in {r.days} days" if r.days else f"NOT finished in {MAX_DAYS} days ({r.covered:,} looked up)")
                     + f", ${r.usd:.2f} (bound ${bound:.2f}: {r.usd / bound:.2f}x), {spread}, {r.runs} prune runs")
        lines.append(f"{'':>7}   DynamoDB for the pass's prune runs: {sum(r.daily_units):,.0f} CU in {pass_days} days "
                     f"({sum(r.daily_units) / max(1, pass_days):,.0f} CU a day); the product's own note at the end: {r.product_said!r}")
        lines.append(f"{'':>7}   at the default budget ($60/month): {r.default_budget_lookups} people re-verified on 3 days "
                     f"-> a pass would take ~{r.people / per_day:,.0f} days" if per_day else
                     f"{'':>7}   at the default budget ($60/month): nobody re-verified in 3 days: a pass never finishes")
    detail("reconciliation: a full pass, by running it (uncapped budget; then the default budget)", lines)
    for r in results:
        bound = r.people * PRICE_USER_READ
        table.add(f"reconciliation pass, {r.size:,} followers",
                  (f"{r.days} days, ${r.usd:.2f} ({r.usd / bound:.2f}x bound)" if r.days
                   else f"unfinished after {MAX_DAYS} days, ${r.usd:.2f}"),
                  "finishes, at a predictable cost", r.days is not None)
        per_day = sum(r.default_budget_lookups) / max(1, len(r.default_budget_lookups))
        days_default = r.people / per_day if per_day else float("inf")
        said = re.search(r"finishes in ~([\d,]+) days", r.default_budget_note)
        predicted = int(said.group(1).replace(",", "")) if said else None
        on_time = days_default <= 30
        honest = predicted is not None and abs(predicted - days_default) <= max(2.0, 0.15 * days_default)
        table.add(f"reconciliation pass at the default $60 budget, {r.size:,}",
                  (f"~{days_default:,.0f} days (extrapolated from 3 measured days); the digest says "
                   f"{'~' + format(predicted, ',') + ' days' if predicted is not None else repr(r.default_budget_note[:60])}")
                  if per_day else "never (0 re-verified in 3 days)",
                  "within 30 days, or the digest says how long (within 15%)", on_time or honest)
