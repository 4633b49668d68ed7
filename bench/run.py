"""`make bench`: the three figures issue #2 asks for.

1. handler import time in a fresh process, as a ratio to `import boto3` alone (<= 1.3)
2. unzipped size shipped beyond the runtime's boto3/botocore (<= 12 MB)
3. X API requests and dollars for one simulated day of posting vs the lower bound
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7


def _import_seconds(code: str, tracing: bool = False) -> float:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'shared'}",
           "AWS_LAMBDA_FUNCTION_NAME": "bench", "PYTHONDONTWRITEBYTECODE": "0"}
    env["POWERTOOLS_TRACE_DISABLED"] = "false" if tracing else "true"
    script = f"import time;t=time.perf_counter();{code};print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def import_ratio(tracing: bool = False) -> tuple[float, float, float]:
    handler = ("import importlib.util as u;s=u.spec_from_file_location('app','functions/post/app.py');"
               "m=u.module_from_spec(s);s.loader.exec_module(m)")
    _import_seconds("import boto3")  # warm the disk cache and .pyc files first
    _import_seconds(handler, tracing)
    boto = statistics.median(_import_seconds("import boto3") for _ in range(RUNS))
    app = statistics.median(_import_seconds(handler, tracing) for _ in range(RUNS))
    return app / boto, app, boto


def shipped_size() -> tuple[float, float]:
    from devtools.package import build_layer, tree_size

    layer = build_layer(ROOT / "build" / "bench-layer")
    function = tree_size(ROOT / "functions" / "post")
    return (tree_size(layer) + function) / 1e6, tree_size(layer) / 1e6


def day_of_posting() -> dict[str, float]:
    from devtools.demo import SimulatedClock
    from devtools.localstack import running
    from devtools.xsandbox.seed import demo_world
    from flockpilot import cli
    from flockpilot.events import PostEvent
    from flockpilot.jobs.post import run_post
    from flockpilot.runtime import post_context

    world, creds = demo_world()
    quiet = {"MODE": "live", "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
    with running(world, creds, quiet):
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            cli.main(["content", "import", str(ROOT / "examples" / "content.csv")])
        today = datetime.now(UTC).date()
        clock = SimulatedClock(datetime.combine(today, time(0, 0), tzinfo=UTC))
        requests = usd = 0.0
        bound = None
        while clock.current.date() == today:
            summary = run_post(post_context(clock=clock), PostEvent(trigger="schedule"))
            bound = summary.plan_cost_usd
            slots = summary.plan_slots
            requests += float(summary.cost["requests"])  # type: ignore[arg-type]
            usd += float(summary.cost["usd"])  # type: ignore[arg-type]
            clock.current += timedelta(minutes=10)
        bill = world.bill()
    return {"requests": requests, "usd": usd, "bound_requests": float(slots), "bound_usd": float(bound or 0),
            "sandbox_usd": float(bill["usd"]), "sandbox_requests": float(bill["requests"])}


def follow_day(followers: int) -> dict[str, float]:
    """First follow run of a day for an account with `followers` followers (following 95% of
    that), three niche sources of 2,000 followers each."""
    from devtools.localstack import running
    from devtools.xsandbox.seed import OWNER_ID, demo_world
    from devtools.xsandbox.world import User
    from flockpilot.adapters.store import FollowLedger
    from flockpilot.events import FollowEvent
    from flockpilot.jobs.follow import run_follow
    from flockpilot.runtime import follow_context

    world, creds = demo_world()
    for i in range(followers):
        uid = str(2_000_000_000_000_000_000 + i)
        world.users[uid] = User(uid, f"f{i}", "F")
        world.follow(uid, OWNER_ID)
        if i % 20:
            world.follow(OWNER_ID, uid)  # following at 95% of followers: room in the band
    sources = []
    for s in range(3):
        src = world.add_user(User(str(1_900_000_000_000_000_000 + s), f"niche{s}", "Niche", description="bread"))
        sources.append(src)
        for j in range(2000):
            uid = str(1_800_000_000_000_000_000 + s * 10_000 + j)
            world.users[uid] = User(uid, f"n{s}_{j}", "N", description="I bake bread" if j % 4 else "",
                                    profile_image_url="https://pbs.twimg.com/p.jpg")
            world.follow(uid, src.id)
            for k in range(1, 20):
                world.follow(str(1_800_000_000_000_000_000 + s * 10_000 + (j + k) % 2000), uid)
            if j % 3:
                world.add_post(uid, "baking")
    quiet = {"MODE": "live", "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true",
             "FOLLOW_USE_MY_FOLLOWERS": "false", "MONTHLY_BUDGET_USD": "60", "X_TIMEOUT_SECONDS": "60"}
    with running(world, creds, quiet):
        ledger = FollowLedger(OWNER_ID)
        now = datetime.now(UTC)
        for src in sources:
            ledger.add_source(src.id, "account", f"@{src.username}", now)
        summary = run_follow(follow_context(), FollowEvent(trigger="schedule"))
        if os.environ.get("BENCH_DEBUG"):
            print(summary.reasons_out, summary.warnings, summary.budget, summary.budget_reason, summary.sources_used)
    shortlisted = len(summary.shortlisted)
    return {"requests": float(summary.cost["requests"]), "resources": float(summary.cost["resources"]),  # type: ignore[arg-type]
            "usd": float(summary.cost["usd"]), "shortlisted": float(shortlisted),  # type: ignore[arg-type]
            "per_candidate": float(summary.cost["usd"]) / shortlisted if shortlisted else float("nan")}  # type: ignore[arg-type]


def prune_day(following: int) -> dict[str, float]:
    """A day's prune for an account following `following` people (40 of them followed
    through Flockpilot 8-48 days ago, every fourth following back), reconciliation aside."""
    from devtools.localstack import running
    from devtools.xsandbox.seed import OWNER_ID, demo_world
    from devtools.xsandbox.world import User
    from flockpilot.adapters.store import FollowLedger, Person
    from flockpilot.events import PruneEvent
    from flockpilot.jobs.prune import run_prune
    from flockpilot.runtime import prune_context

    world, creds = demo_world()
    for i in range(following):
        uid = str(2_000_000_000_000_000_000 + i)
        world.users[uid] = User(uid, f"f{i}", "F")
        world.following[OWNER_ID].append(uid)
        world.follow(uid, OWNER_ID)
    quiet = {"MODE": "live", "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true",
             "MONTHLY_BUDGET_USD": "60", "X_TIMEOUT_SECONDS": "60"}
    with running(world, creds, quiet):
        ledger = FollowLedger(OWNER_ID)
        now = datetime.now(UTC)
        for i in range(40):
            uid = str(1_600_000_000_000_000_000 + i)
            world.users[uid] = User(uid, f"p{i}", "P")
            world.follow(OWNER_ID, uid)
            if i % 4 == 0:
                world.follow(uid, OWNER_ID)
            ledger.add_person(Person(uid, f"p{i}", "followed", None, 0.5, (), None, followed_at=now - timedelta(days=8 + i)))
        summary = run_prune(prune_context(), PruneEvent(trigger="schedule", reconcile=False))
    return {"requests": float(summary.cost["requests"]), "usd": float(summary.cost["usd"]),  # type: ignore[arg-type]
            "checked": float(summary.checked), "suggested": float(len(summary.suggested))}


def main() -> None:
    ratio, app, boto = import_ratio()
    print(f"import: handler {app * 1000:.0f} ms vs import boto3 {boto * 1000:.0f} ms "
          f"-> ratio {ratio:.2f} (target <= 1.30) {'OK' if ratio <= 1.3 else 'OVER'}")
    traced, traced_app, _ = import_ratio(tracing=True)
    print(f"        with Tracing=on (X-Ray SDK loaded): handler {traced_app * 1000:.0f} ms -> ratio {traced:.2f}")
    total, layer = shipped_size()
    print(f"size: {total:.2f} MB unzipped shipped (layer {layer:.2f} MB + function code) beyond the runtime's "
          f"boto3/botocore and AWS's public Powertools layer (target <= 12 MB) {'OK' if total <= 12 else 'OVER'}")
    day = day_of_posting()
    print(f"cost: one simulated day (144 schedule ticks) made {day['requests']:.0f} X API requests for "
          f"${day['usd']:.3f}; lower bound {day['bound_requests']:.0f} requests for ${day['bound_usd']:.3f} "
          f"(sandbox billed {day['sandbox_requests']:.0f} for ${day['sandbox_usd']:.3f}) "
          f"{'OK' if day['requests'] == day['bound_requests'] and abs(day['usd'] - day['bound_usd']) < 1e-9 else 'ABOVE BOUND'}")
    for size in (1_000, 10_000, 100_000):
        f = follow_day(size)
        print(f"follow: account with {size:>7,} followers: {f['requests']:.0f} requests, {f['resources']:.0f} resources read, "
              f"${f['usd']:.3f} for {f['shortlisted']:.0f} shortlisted = ${f['per_candidate']:.4f} per candidate")
    for size in (1_000, 10_000, 100_000):
        p = prune_day(size)
        print(f"prune: account following {size:>7,}: {p['requests']:.0f} requests, ${p['usd']:.3f} a day "
              f"({p['checked']:.0f} due candidates checked, {p['suggested']:.0f} suggested); full reconciliation "
              f"weekly on its own budget: ${size * 2 * 0.001:.2f} for both lists at owned-read prices")


if __name__ == "__main__":
    main()
