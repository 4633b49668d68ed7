"""X dollars per steady-state day of follow + prune at 1k/10k/100k followers, uncapped budget,
next to a lower bound computed from the world.

The world: the account has N followers and follows 95% of them back; three niche accounts
have 1,200 followers each, newest first in a fixed pattern (11 of 16 pass the README's
default filters: every 8th has no bio, every 8th+5 a default avatar, every 16th+3 no post
in 30 days). Seven days of history: each day 30 people were followed through Flockpilot and
9 followed back. Every simulated day: follow runs at :05 and prune at :35 every hour (the
template's schedules); at 12:00 you follow the day's suggestions and unfollow the day's
prune suggestions by hand, a third of the people you followed follow back, N/1000 (at
least 1) new people follow you and 3 passers-by mention you. Day 0 is the very first day
(no sync frontier yet); days 2 to 6 are the steady state measured (five days, so that the
reserve of runners-up a day's reading leaves for the next evens out; day 7 would have no
seeded cohort whose grace period ends).

The lower bound of a day, from the world (prices: flockpilot/pricing.py = x-api.md):
  users/me: 1 user read (follow's first run reads it; prune and the digest reuse it)
  + own followers sync: (new followers since the last sync + 1) owned reads
  + own following sync: (new follows since the last sync + 1) owned reads
  + candidates: an ideal reader reads the sources' followers in order (never twice) and
    stops at the k-th who passes the filters, k = people shortlisted that day: user reads
  + follow-back checks: (people whose grace period ends that day and who do not follow back
    + yesterday's prune suggestions, to learn whether you unfollowed them): user reads
  + mentions: each new mention read once: owned reads
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bench.report import Table, check_spec, detail, progress
from bench.sim import BASE_SETTINGS, UNCAPPED, BillWatch, at, run_job, watching
from bench.worlds import HISTORY, Account, account_environ, add_account, add_mentions, bulk_people, ident, newcomers, passes_filters
from devtools.demo import SimulatedClock

SIZES = (1_000, 10_000, 100_000)
DAYS = 7
STEADY = range(2, DAYS)
COHORT, COHORT_BACK, GRACE_DAYS = 30, 9, 7
MENTIONS_PER_DAY = 3
PRICES = {"user_read": 0.010, "owned_read": 0.001}  # x-api.md's table, read here independently of the product


@dataclass
class Day:
    follow_usd: float = 0.0
    prune_usd: float = 0.0
    reconcile_usd: float = 0.0
    requests: dict[str, float] = field(default_factory=dict)
    shortlisted: list[str] = field(default_factory=list)
    suggested_prune: list[str] = field(default_factory=list)
    bound_terms: dict[str, float] = field(default_factory=dict)
    measured_terms: dict[str, float] = field(default_factory=dict)

    @property
    def measured(self) -> float:
        return self.follow_usd + self.prune_usd

    @property
    def bound(self) -> float:
        return sum(self.bound_terms.values())


@dataclass
class IdealReader:
    """Reads the sources' followers in order, never twice, and counts what it read."""

    world: Any
    account: Account
    position: dict[str, int] = field(default_factory=dict)

    def read_until(self, wanted: int, now: datetime) -> int:
        read = found = 0
        for source in self.account.sources:
            people = self.world.followers_of(source)  # newest first, as X serves them
            while found < wanted and self.position.get(source, 0) < len(people):
                uid = people[self.position.get(source, 0)]
                self.position[source] = self.position.get(source, 0) + 1
                read += 1
                if passes_filters(self.world, uid, self.account.owner_id, now):
                    found += 1
        return read


def seed_history(world: Any, account: Account, start: datetime) -> tuple[list[Any], dict[int, list[str]]]:
    """Seven days of Flockpilot follows; returns the people and, by the day their grace
    period ends (0 = the first simulated day), those who do not follow back."""
    from devtools.xsandbox.world import User
    from flockpilot.domain.people import Person, PersonStatus

    people, due_on = [], {}
    for d in range(1, GRACE_DAYS + 1):
        followed_at = start - timedelta(days=d) + timedelta(minutes=10)
        ids = [ident(account.index, HISTORY, d * 100 + k) for k in range(COHORT)]
        world.add_users(User(uid, f"h{d}_{k}", "History", description="bakes", profile_image_url="https://pbs.twimg.com/h.jpg")
                        for k, uid in enumerate(ids))
        world.add_following(account.owner_id, ids)
        world.add_followers(account.owner_id, ids[:COHORT_BACK])
        for k, uid in enumerate(ids):
            source = account.sources[k % 3]
            if k < COHORT_BACK:
                back = followed_at + timedelta(hours=12)
                people.append(Person(uid, f"h{d}_{k}", PersonStatus.FOLLOWED_BACK, source, 0.5, ("bench",), followed_at=followed_at,
                                     followed_back_at=back, due_at=back + timedelta(days=30)))
            else:
                people.append(Person(uid, f"h{d}_{k}", PersonStatus.FOLLOWED, source, 0.5, ("bench",), followed_at=followed_at,
                                     due_at=followed_at + timedelta(days=GRACE_DAYS)))
        due_on[GRACE_DAYS - d] = ids[COHORT_BACK:]
    return people, due_on


@dataclass
class Reserve:
    """Candidates read and passing but not shortlisted yet (the product's reserve, seen from
    the world: the ids the sandbox served from the sources, the filters on the world's data,
    the shortlists): what the window inherited from earlier reading and what it left behind."""

    entering: int = 0
    leaving: int = 0
    usd_per_passing: float = 0.0  # what an ideal reader pays per passing candidate in this world
    sources: int = 0  # the world's candidate sources

    @property
    def carried_usd(self) -> float:
        """Reading the window used from before it, less what it leaves after it."""
        return (self.entering - self.leaving) * self.usd_per_passing


def simulate(size: int) -> tuple[list[Day], Reserve]:
    from devtools.localstack import REGION, running
    from devtools.xsandbox.world import World
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.domain.follow import Source, SourceKind

    start = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    clock = SimulatedClock(start)
    world = World(clock=clock.now)
    account = add_account(world, 0, followers=size, candidates_per_source=1200, now=start)
    people, due_on = seed_history(world, account, start)
    ideal = IdealReader(world, account)
    passing = {uid for source in account.sources for uid in account.candidates[source] if passes_filters(world, uid, account.owner_id, start)}
    everyone = sum(len(account.candidates[source]) for source in account.sources)
    reserve = Reserve(usd_per_passing=everyone / len(passing) * PRICES["user_read"], sources=len(account.sources))
    shortlisted: set[str] = set()

    def in_reserve() -> int:
        served = {uid for source in account.sources for uid in world.served_users.get(f"followers:{source}", [])}
        return len((served & passing) - shortlisted)
    days: list[Day] = []
    with running(world, account.creds, {**BASE_SETTINGS, **UNCAPPED}) as stack:
        from bench.worlds import store_secrets

        store_secrets([account], REGION)
        bulk_people(account.owner_id, people)
        ledger = DynamoLedger(account.owner_id)
        for n, source in enumerate(account.sources):
            ledger.add_source(Source(source, SourceKind.ACCOUNT, f"@niche0_{n}", start - timedelta(days=30),
                                     followed=COHORT * GRACE_DAYS // 3, followed_back=COHORT_BACK * GRACE_DAYS // 3))
        environ = account_environ(account)
        since_sync = {"followers": 0, "following": 0, "mentions": 0}  # what happened since the last sync (day 0: nothing known)
        with watching(world, stack) as watch:
            for d in range(DAYS):
                if d == STEADY.start:
                    reserve.entering = in_reserve()
                day_start = start + timedelta(days=d)
                day = Day()
                before = {job: spent(watch, job) for job in ("follow", "prune", "reconcile")}
                bill_before = world.bill()["by_operation"]
                served_before = {k: len(v) for k, v in world.served_users.items()}
                happened = dict(since_sync)
                for hour in range(24):
                    clock.current = at(day_start, f"{hour:02d}:05")
                    summary = watch.run("follow", lambda: run_job("follow", environ, clock))
                    day.shortlisted += [s.user_id for s in summary.shortlisted]
                    clock.current = at(day_start, f"{hour:02d}:35")
                    summary = watch.run("prune", lambda: run_job("prune", environ, clock))
                    day.suggested_prune += [s.user_id for s in summary.suggested]
                    if hour == 11:
                        clock.current = at(day_start, "12:00")
                        since_sync = act_by_hand(world, account, day, d, size, clock.current)
                after = world.bill()["by_operation"]
                day.requests = {op: after[op]["requests"] - bill_before.get(op, {"requests": 0})["requests"] for op in after
                                if after[op]["requests"] != bill_before.get(op, {"requests": 0})["requests"]}
                day.follow_usd = spent(watch, "follow") - before["follow"]
                day.prune_usd = spent(watch, "prune") - before["prune"]
                day.reconcile_usd = spent(watch, "reconcile") - before["reconcile"]
                day.measured_terms = split_bill(world, account, bill_before, after, served_before, day)
                yesterday = days[-1] if days else Day()
                day.bound_terms = {k: round(v, 6) for k, v in {
                    "users/me": PRICES["user_read"],
                    "followers sync": (happened["followers"] + 1) * PRICES["owned_read"],
                    "following sync": (happened["following"] + 1) * PRICES["owned_read"],
                    "candidates": ideal.read_until(len(day.shortlisted), day_start) * PRICES["user_read"],
                    "follow-back checks": (len(due_on.get(d, [])) + len(yesterday.suggested_prune)) * PRICES["user_read"],
                    "mentions": happened["mentions"] * PRICES["owned_read"],
                }.items()}
                days.append(day)
                shortlisted.update(day.shortlisted)
                if d == STEADY.stop - 1:
                    reserve.leaving = in_reserve()
                progress(f"xcost {size:,}: day {d}: follow ${day.follow_usd:.3f} + prune ${day.prune_usd:.3f} "
                         f"(reconciliation ${day.reconcile_usd:.3f}); bound ${day.bound:.3f}")
    check_spec(world)
    return days, reserve


def split_bill(world: Any, account: Account, before: dict[str, Any], after: dict[str, Any], served_before: dict[str, int],
               day: Day) -> dict[str, float]:
    """The day's bill by the lower bound's terms: by operation, and own followers apart from
    the sources' followers by the ids the sandbox served for each list."""
    def usd(op: str) -> float:
        return float(after.get(op, {"usd": 0.0})["usd"] - before.get(op, {"usd": 0.0})["usd"])

    def served(user_id: str) -> int:
        return len(world.served_users.get(f"followers:{user_id}", [])) - served_before.get(f"followers:{user_id}", 0)

    terms = {
        "users/me": usd("getUsersMe"),
        "followers sync": served(account.owner_id) * PRICES["owned_read"],
        "following sync": usd("getUsersFollowing"),
        "candidates": sum(served(s) for s in account.sources) * PRICES["user_read"],
        "follow-back checks": usd("getUsersByIds") - day.reconcile_usd,
        "mentions": usd("getUsersMentions"),
    }
    terms["other"] = day.follow_usd + day.prune_usd - sum(terms.values())
    return {k: round(v, 6) for k, v in terms.items()}


def at_bound(measured: float, bound: float, sources: int) -> bool:
    """The goal, 1.0x the lower bound, for the whole measured window, with one allowance: one
    profile read per source of the world, once (not per day). The ideal reader drains one
    source after another; Flockpilot reads from each source it opens (the learning loop needs
    each one's follow-back record), and where a source's reading starts and stops in its
    pass/fail pattern costs at most one read more than the ideal reader's, once per source.
    The reserve entering and leaving the window is valued at the ideal reader's average cost
    per passing candidate, which is off by a fraction of a read either way. Anything that
    repeats (a paid read every day, a page read twice) exceeds the allowance within the window."""
    return measured - bound <= sources * PRICES["user_read"] + 1e-9


def spent(watch: BillWatch, job: str) -> float:
    return watch.spend[job].usd if job in watch.spend else 0.0


def act_by_hand(world: Any, account: Account, day: Day, d: int, size: int, now: datetime) -> dict[str, int]:
    """12:00: you follow the day's suggestions and unfollow its prune suggestions; a third of
    those you followed follow back; new followers arrive; passers-by mention you. Returns
    what the next sync has to find."""
    for k, uid in enumerate(day.shortlisted):
        world.follow(account.owner_id, uid)
        if k % 3 == 0:
            world.follow(uid, account.owner_id)
    for uid in day.suggested_prune:
        world.unfollow(account.owner_id, uid)
    arrivals = newcomers(world, account, d * 10_000, max(1, size // 1000))
    add_mentions(world, account, d * 100, MENTIONS_PER_DAY, now)
    return {"following": len(day.shortlisted), "followers": len(arrivals) + len(day.shortlisted[::3]), "mentions": MENTIONS_PER_DAY}


def run(table: Table) -> None:
    results: dict[int, list[Day]] = {}
    reserves: dict[int, Reserve] = {}
    for size in SIZES:
        progress(f"xcost: {size:,} followers, {DAYS} simulated days")
        results[size], reserves[size] = simulate(size)
    lines = [line.strip() for line in (__doc__ or "").split("The lower bound of a day")[1].splitlines()[1:] if line.strip()]
    lines.append("the sandbox bills every read; X bills a resource read twice in one UTC day once (x-api.md): "
                 "the bill here is what the sandbox says")
    for size, days in results.items():
        for d, day in enumerate(days):
            tag = "steady" if d in STEADY else "warm-up"
            lines.append(f"{size:>7,} day {d} ({tag}): measured follow ${day.follow_usd:.3f} + prune ${day.prune_usd:.3f} = "
                         f"${day.measured:.3f} (reconciliation ${day.reconcile_usd:.3f} apart) vs bound ${day.bound:.3f}; "
                         f"shortlisted {len(day.shortlisted)}, prune suggestions {len(day.suggested_prune)}")
            lines.append(f"{'':>7}   by term, measured/bound: " + ", ".join(
                f"{k} {day.measured_terms.get(k, 0.0):.3f}/{day.bound_terms.get(k, 0.0):.3f}"
                for k in [*day.bound_terms, "other"] if day.measured_terms.get(k, 0.0) or day.bound_terms.get(k, 0.0)))
            lines.append(f"{'':>7}   X requests: {day.requests}")
        steady = [days[d] for d in STEADY]
        lines.append(f"{size:>7,} steady days, summed by term, measured/bound: " + ", ".join(
            f"{k} {sum(x.measured_terms.get(k, 0.0) for x in steady):.3f}/{sum(x.bound_terms.get(k, 0.0) for x in steady):.3f}"
            for k in [*steady[0].bound_terms, "other"]))
    for size, r in reserves.items():
        lines.append(f"{size:>7,} reserve (read, passing, not shortlisted yet): {r.entering} entering the steady days, {r.leaving} "
                     f"leaving them; at ${r.usd_per_passing:.4f} a passing candidate (an ideal reader's cost in this world) the "
                     f"steady days used ${r.carried_usd:+.3f} of earlier reading: counted into their candidates below")
    detail("follow + prune X dollars per day (the sandbox's bill) vs the lower bound (from the world)", lines)
    for size, days in results.items():
        steady = [days[d] for d in STEADY]
        raw, bound = sum(d.measured for d in steady), sum(d.bound for d in steady)
        carried = reserves[size].carried_usd
        measured = raw + carried
        excess = {term: sum(x.measured_terms.get(term, 0.0) - x.bound_terms.get(term, 0.0) for x in steady) / len(steady)
                  for term in [*steady[0].bound_terms, "other"]}
        excess["candidates"] += carried / len(steady)
        above = [f"{term} +${usd:.3f}" for term, usd in excess.items() if usd > 0.0005]
        over_reads = (measured - bound) / PRICES["user_read"]
        sources = reserves[size].sources
        table.add(f"X $ per steady day, follow+prune, {size:,} followers",
                  f"{measured / bound:.3f}x: ${measured / len(steady):.3f} vs ${bound / len(steady):.3f}/day (bill ${raw / len(steady):.3f} "
                  f"{carried / len(steady):+.3f} reserve); {over_reads:+.1f} profile reads in {len(steady)} days"
                  + (f"; over: {', '.join(above)}" if above else ""),
                  f"1.0x the lower bound, +1 read per source ({sources}) in the window", at_bound(measured, bound, sources))
