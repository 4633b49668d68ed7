"""DynamoDB requests and capacity units per run: the same steady-state day of every job for
an account with 100 people in its ledger and one with 100,000.

Both accounts live in one table (as a deployment's table can), with identical X worlds
(1,000 followers, three niche sources) and the same people due: 20 follow-back checks and
2 people to re-verify (the 100-person ledger's daily re-verification slice; a larger ledger's
slice grows with it by design: the reconciliation section measures that). Everyone else in the ledger is history no job should read today:
40% followed back (re-verification due in 3-29 days), 35% unfollowed, 20% suggested and
ignored, 5% followed (checks due in 3-7 days); the sources' tallies match the ledger.
Day 0 runs every job once (first syncs, plan, list); day 1 is measured, run by run, both
accounts at the same simulated times.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bench.dynamo_meter import CapacityMeter, Usage
from bench.report import Table, check_spec, detail, progress
from bench.sim import BASE_SETTINGS, UNCAPPED, at, run_job
from bench.worlds import FILLER, HISTORY, Account, account_environ, add_account, add_mentions, bulk_people, ident, newcomers, passersby
from devtools.demo import SimulatedClock

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100, 100_000)
# The same work due in both: 20 follow-back checks, 2 re-verifications (the 100-person
# ledger's daily re-verification slice is 2, so both can do all of it).
CHECKS, VERIFY = 20, 2
RUNS = ("post first tick (plans the day)", "follow first run of the day", "prune first run of the day", "follow later tick",
        "prune later tick", "post idle tick", "digest", "post publishing tick")
GOAL = 1.2


def ledger_people(account: Account, size: int, start: datetime) -> tuple[list[Any], dict[str, tuple[int, int]]]:
    """`size` people: the due ones (real users of the world) and history in fixed shares;
    returns them and each source's (followed, followed back) tallies."""
    from flockpilot.domain.people import Person, PersonStatus

    source = account.sources
    people: list[Any] = []
    for i in range(CHECKS + VERIFY):
        uid = ident(account.index, HISTORY, i)
        if i < CHECKS:
            people.append(Person(uid, f"d{i}", PersonStatus.FOLLOWED, source[i % 3], 0.5, ("bench",),
                                 followed_at=start - timedelta(days=8), due_at=start + timedelta(days=1, minutes=20)))
        else:
            people.append(Person(uid, f"d{i}", PersonStatus.FOLLOWED_BACK, source[i % 3], 0.5, ("bench",),
                                 followed_at=start - timedelta(days=40), followed_back_at=start - timedelta(days=39),
                                 due_at=start + timedelta(days=1, minutes=20)))
    tallies = {s: [0, 0] for s in source}
    for i in range(size - len(people)):
        uid = ident(account.index, FILLER, i)
        src = source[i % 3]
        share = i % 20  # 8/20 followed back, 7/20 unfollowed, 4/20 suggested, 1/20 followed
        followed_at = start - timedelta(days=30 + i % 300)
        if share < 8:
            person = Person(uid, f"x{i}", PersonStatus.FOLLOWED_BACK, src, 0.4, ("bench",), followed_at=followed_at,
                            followed_back_at=followed_at + timedelta(days=2), due_at=start + timedelta(days=3 + i % 27))
            tallies[src][1] += 1
        elif share < 15:
            person = Person(uid, f"x{i}", PersonStatus.UNFOLLOWED, src, 0.4, ("bench",), followed_at=followed_at,
                            unfollowed_at=followed_at + timedelta(days=9))
        elif share < 19:
            person = Person(uid, f"x{i}", PersonStatus.SUGGESTED, src, 0.4, ("bench",), suggested_at=start - timedelta(days=1 + i % 80))
        else:
            person = Person(uid, f"x{i}", PersonStatus.FOLLOWED, src, 0.4, ("bench",), followed_at=start - timedelta(days=2),
                            due_at=start + timedelta(days=3 + i % 5))
        if share < 15 or share == 19:
            tallies[src][0] += 1
        people.append(person)
    for p in people[:CHECKS + VERIFY]:
        tallies[p.source_id][0] += 1
        if p.status.value == "followed_back":
            tallies[p.source_id][1] += 1
    return people, {s: (t[0], t[1]) for s, t in tallies.items()}


def iam_actions() -> dict[str, set[str]]:
    """The DynamoDB actions template.yaml grants each function (its TableReadWrite statement)."""
    text = (ROOT / "template.yaml").read_text()
    granted: dict[str, set[str]] = {}
    for match in re.finditer(r"\n  (\w+)Function:\n    Type: AWS::Serverless::Function\n(.*?)(?=\n  \w+:\n    Type:)", text, re.S):
        block = match.group(2)
        statement = re.search(r"Sid: TableReadWrite.*?Action:(.*?)Resource:", block, re.S)
        granted[match.group(1).lower()] = set(re.findall(r"dynamodb:(\w+)", statement.group(1))) if statement else set()
    return granted


def run(table: Table) -> None:
    from devtools.localstack import REGION, running
    from devtools.xsandbox.world import User, World
    from flockpilot.adapters.dynamo.content import DynamoContentPlans
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.domain.content_csv import parse_content_csv
    from flockpilot.domain.follow import Source, SourceKind

    start = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    clock = SimulatedClock(start)
    world = World(clock=clock.now)
    accounts = [add_account(world, n, followers=1000, candidates_per_source=600, now=start) for n in range(len(SIZES))]
    for account in accounts:
        ids = [ident(account.index, HISTORY, i) for i in range(CHECKS + VERIFY)]
        world.add_users(User(uid, f"d{account.index}_{i}", "Due", description="bakes") for i, uid in enumerate(ids))
        world.add_following(account.owner_id, ids)
        world.add_followers(account.owner_id, ids[CHECKS:])
    senders = {a.index: passersby(world, a, 500, 4) for a in accounts}
    settings = {**BASE_SETTINGS, **UNCAPPED}
    progress("dynamo: starting the local stack")
    with running(world, accounts[0].creds, settings):
        from bench.worlds import store_secrets

        store_secrets(accounts, REGION)
        parsed = parse_content_csv((ROOT / "examples" / "content.csv").read_bytes(), now=start)
        for account, size in zip(accounts, SIZES, strict=True):
            progress(f"dynamo: writing a ledger of {size:,} people")
            people, tallies = ledger_people(account, size, start)
            bulk_people(account.owner_id, people)
            ledger = DynamoLedger(account.owner_id)
            for n, source in enumerate(account.sources):
                followed, back = tallies[source]
                ledger.add_source(Source(source, SourceKind.ACCOUNT, f"@niche{account.index}_{n}", start - timedelta(days=400),
                                         followed=followed, followed_back=back))
            content = DynamoContentPlans(account.owner_id)
            for item in parsed.items:
                content.add_content(item)
        environs = {a.index: account_environ(a) for a in accounts}
        meter = CapacityMeter()
        meter.install()
        progress("dynamo: day 0 (first syncs, plan, list) for both accounts")
        shortlisted: dict[int, list[str]] = {}
        for job, hhmm in (("post", "00:00"), ("follow", "00:05"), ("prune", "00:35"), ("digest", "07:15")):
            for account in accounts:
                clock.current = at(start, hhmm)
                summary = run_job(job, environs[account.index], clock)
                if job == "follow":
                    shortlisted[account.index] = [s.user_id for s in summary.shortlisted]
        clock.current = at(start, "12:00")
        for account in accounts:  # the owner follows the day's suggestions by hand; a third follow back; a day goes by
            for k, uid in enumerate(shortlisted[account.index]):
                world.follow(account.owner_id, uid)
                if k % 3 == 0:
                    world.follow(uid, account.owner_id)
            newcomers(world, account, 0, 3)
            add_mentions(world, account, 0, 2, clock.current)
            for n, sender in enumerate(senders[account.index][:2]):
                world.add_dm(sender, account.owner_id, f"Hello from a reader #{n}")
        day1 = start + timedelta(days=1)
        progress("dynamo: day 1, measured run by run")
        first_slot: dict[int, datetime] = {}
        for name, job, hhmm in (("post first tick (plans the day)", "post", "00:00"), ("follow first run of the day", "follow", "00:05"),
                                ("prune first run of the day", "prune", "00:35"), ("follow later tick", "follow", "01:05"),
                                ("prune later tick", "prune", "01:35"), ("post idle tick", "post", "03:00"),
                                ("digest", "digest", "07:15"), ("post publishing tick", "post", "")):
            for account in accounts:
                if hhmm:
                    clock.current = at(day1, hhmm)
                else:
                    clock.current = first_slot[account.index]
                with meter.measuring(f"{account.index}:{name}"):
                    run_job(job, environs[account.index], clock)
                if name.startswith("post first"):
                    plan, _ = DynamoContentPlans(account.owner_id).plan_and_slots(day1.date())
                    assert plan is not None and plan.slots, "no plan for day 1"
                    first_slot[account.index] = plan.slots[0].at
    check_spec(world)
    report(table, meter.usage)


def report(table: Table, usage: dict[str, Usage]) -> None:
    lines = []
    worst = 0.0
    totals = [Usage(), Usage()]
    for name in RUNS:
        small, large = usage[f"0:{name}"], usage[f"1:{name}"]
        for total, u in zip(totals, (small, large), strict=True):
            total.requests += u.requests
            total.read_units += u.read_units
            total.write_units += u.write_units
            total.actions |= u.actions
        ratio = large.units / small.units if small.units else float("inf") if large.units else 1.0
        worst = max(worst, ratio)
        lines.append(f"{name:32} {SIZES[0]:>7,} people: {small.describe()}")
        lines.append(f"{'':32} {SIZES[1]:>7,} people: {large.describe()} -> {ratio:.2f}x")
        if small.operations != large.operations:
            lines.append(f"{'':32} operations differ: {dict(small.operations)} vs {dict(large.operations)}")
    ratio = totals[1].units / totals[0].units
    lines.append(f"{'the whole day (these runs)':32} {totals[0].describe()} vs {totals[1].describe()} -> {ratio:.2f}x")
    granted = iam_actions()
    for job in ("post", "follow", "prune", "digest"):
        used = set().union(*(usage[f"{i}:{n}"].actions for i in (0, 1) for n in RUNS if n.startswith(job)))
        plain = {a for a in used if " on index " not in a}
        missing = sorted(plain - granted.get(job, set()))
        lines.append(f"{job} used {sorted(plain)}; its IAM role grants {sorted(granted.get(job, set()))}"
                     + (f"; NOT GRANTED: {missing}" if missing else ""))
    detail("DynamoDB per run (ReturnConsumedCapacity=TOTAL on the product's own client; DynamoDB Local's figures)", lines)
    table.add("DynamoDB CU per run, 100k vs 100 people", f"worst run {worst:.2f}x, whole day {ratio:.2f}x "
              f"({totals[0].units:.0f} vs {totals[1].units:.0f} CU)", f"<= {GOAL}x", worst <= GOAL)
