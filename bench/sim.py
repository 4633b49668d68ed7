"""Running jobs in this process on a simulated clock, as the handlers do (wire + the job),
and measuring them from the outside: the sandbox's bill, and which ids reconciliation
looked up. Nothing here reads Flockpilot's own meter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devtools.demo import SimulatedClock
from devtools.xsandbox.world import World

JOBS = ("post", "follow", "prune", "digest")
# The deployment's settings every in-process run shares (template defaults otherwise).
# Own followers as sources are off: the bench worlds' followers have no followers of their
# own, so those sources would only be tried and found empty instead of the niche accounts.
BASE_SETTINGS = {"MODE": "live", "TIME_ZONE": "UTC", "FOLLOW_USE_MY_FOLLOWERS": "false", "X_TIMEOUT_SECONDS": "60"}
UNCAPPED = {"MONTHLY_BUDGET_USD": "10000"}  # the largest budget the settings accept


def run_job(job: str, environ: dict[str, str], clock: SimulatedClock, event: dict[str, Any] | None = None) -> Any:
    """One run of `job` exactly as its handler runs it (minus event validation and metrics)."""
    from flockpilot.events import DigestEvent, FollowEvent, PostEvent, PruneEvent
    from flockpilot.runtime import digest_deps, follow_deps, post_deps, prune_deps, wire

    tick = {"trigger": "schedule", **(event or {})}
    wiring = wire(environ, clock=clock)
    if job == "post":
        from flockpilot.jobs.post import run_post

        return run_post(post_deps(wiring), PostEvent(**tick))
    if job == "follow":
        from flockpilot.jobs.follow import run_follow

        return run_follow(follow_deps(wiring), FollowEvent(**tick))
    if job == "prune":
        from flockpilot.jobs.prune import run_prune

        return run_prune(prune_deps(wiring), PruneEvent(**tick))
    from flockpilot.jobs.digest import run_digest

    return run_digest(digest_deps(wiring), DigestEvent(**tick))


@dataclass
class Spend:
    usd: float = 0.0
    requests: int = 0
    by_operation: dict[str, float] = field(default_factory=dict)

    def add(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        self.usd += after["usd"] - before["usd"]
        self.requests += after["requests"] - before["requests"]
        for op, line in after["by_operation"].items():
            was = before["by_operation"].get(op, {"usd": 0.0})
            if line["usd"] != was["usd"]:
                self.by_operation[op] = self.by_operation.get(op, 0.0) + line["usd"] - was["usd"]


@dataclass
class BillWatch:
    """The sandbox's bill split by job, with prune's reconciliation step on its own line, and
    every id a users lookup asked about (with whether reconciliation asked)."""

    world: World
    spend: dict[str, Spend] = field(default_factory=dict)
    lookups: list[tuple[bool, list[str]]] = field(default_factory=list)
    in_reconcile: bool = False

    def run(self, job: str, call: Callable[[], Any]) -> Any:
        before = self.world.bill()
        reconcile_before = self.spend.get("reconcile", Spend()).usd
        try:
            return call()
        finally:
            line = self.spend.setdefault(job, Spend())
            line.add(before, self.world.bill())
            if job == "prune":  # what the reconciliation step spent inside this run is not prune's
                line.usd -= self.spend.get("reconcile", Spend()).usd - reconcile_before

    def total(self, *jobs: str) -> float:
        return sum(self.spend[j].usd for j in jobs if j in self.spend)


@contextmanager
def watching(world: World, stack: Any) -> Iterator[BillWatch]:
    """Split the bill by job and see reconciliation's lookups, from outside Flockpilot:
    prune's module-level `reconcile_step` is wrapped for the duration (bill before and after),
    and the sandbox's users-lookup operation records the ids asked for."""
    import flockpilot.jobs.prune as prune_module

    watch = BillWatch(world)
    namespace: dict[str, Any] = vars(prune_module)
    original = namespace.get("reconcile_step")
    if original is None:
        raise RuntimeError("flockpilot.jobs.prune.reconcile_step is gone: the bench can no longer tell reconciliation's X dollars "
                           "from prune's (bench/sim.py wraps it)")
    app = stack.sandbox.app
    lookup = app.op_getUsersByIds

    def reconcile_step(*args: Any, **kwargs: Any) -> Any:
        before = world.bill()
        watch.in_reconcile = True
        try:
            return original(*args, **kwargs)
        finally:
            watch.in_reconcile = False
            watch.spend.setdefault("reconcile", Spend()).add(before, world.bill())

    def users_lookup(request: Any, user_id: str) -> Any:
        watch.lookups.append((watch.in_reconcile, [i for i in request.args.get("ids", "").split(",") if i]))
        return lookup(request, user_id)

    namespace["reconcile_step"] = reconcile_step
    app.op_getUsersByIds = users_lookup
    try:
        yield watch
    finally:
        namespace["reconcile_step"] = original
        del app.op_getUsersByIds


def at(day_start: datetime, hhmm: str) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return day_start + timedelta(hours=hours, minutes=minutes)
