"""A day of posting: the post job every 10 minutes from 00:00 to 23:50 (the template's
schedule) on examples/content.csv with the template's default budget ($60/month); X dollars
are the sandbox's bill, the lower bound is what X charges for the posts it received, each
once (x-api.md: $0.200 with a URL in the text, $0.015 without)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from bench.report import Table, check_spec, detail, progress
from bench.sim import BASE_SETTINGS, run_job
from bench.worlds import account_environ, add_account, store_secrets
from devtools.demo import SimulatedClock

ROOT = Path(__file__).resolve().parents[1]
URL = re.compile(r"https?://")


def run(table: Table) -> None:
    from devtools.localstack import REGION, running
    from devtools.xsandbox.world import World
    from flockpilot.adapters.dynamo.content import DynamoContentPlans
    from flockpilot.domain.content_csv import parse_content_csv

    start = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    clock = SimulatedClock(start)
    world = World(clock=clock.now)
    account = add_account(world, 0, followers=1000, candidates_per_source=10, now=start)
    progress("posting: 144 post ticks of a simulated day")
    with running(world, account.creds, dict(BASE_SETTINGS)):
        store_secrets([account], REGION)
        content = DynamoContentPlans(account.owner_id)
        for item in parse_content_csv((ROOT / "examples" / "content.csv").read_bytes(), now=start - timedelta(days=1)).items:
            content.add_content(item)
        environ = account_environ(account)
        before = world.bill()
        planned, published, failed = 0, 0, 0
        for n in range(144):
            clock.current = start + timedelta(minutes=10 * n)
            summary = run_job("post", environ, clock)
            planned = summary.plan_slots
            published += len(summary.posted)
            failed += len(summary.failed)
        after = world.bill()
    check_spec(world)
    usd = after["usd"] - before["usd"]
    requests = after["requests"] - before["requests"]
    posts = [p for p in world.posts_by(account.owner_id) if p.created_at.date() == start.date()]
    bound = sum(0.200 if URL.search(p.text) and p.reposted_id is None else 0.015 for p in posts)
    with_url = sum(1 for p in posts if URL.search(p.text))
    detail("a day of posting", [
        f"{len(posts)} posts reached X ({with_url} with a URL); the plan had {planned} slots; the job reported {published} "
        f"published, {failed} failed",
        f"the sandbox billed ${usd:.3f} for {requests} requests; the posts themselves cost ${bound:.3f} ({len(posts)} requests)",
        f"by operation: { {k: v['requests'] for k, v in after['by_operation'].items()} }",
    ])
    table.add("X $ for a day of posting", f"${usd:.3f} in {requests} requests vs bound ${bound:.3f} in {len(posts)} "
              f"({usd / bound:.2f}x)" if bound else f"${usd:.3f}, nothing posted", "1.0x the lower bound",
              bool(posts) and usd <= bound + 1e-6 and len(posts) == planned)
