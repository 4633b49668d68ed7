"""A finished run as figures: the audit's counts, per-day rows and the summary that
`--json` prints and sim/simulation.json keeps. The schema is documented in
devtools/simulate/README.md; `version` changes whenever a field changes meaning or goes.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from devtools.simulate.audit import (
    Caps,
    Finding,
    allowances,
    band_excess,
    band_violations,
    budget_overruns,
    double_actions,
    limit_violations,
)
from devtools.simulate.driver import Run
from devtools.simulate.world import DAILY_FOLLOW_LIMIT, DAILY_POST_LIMIT, FOLLOWING_RULE_AT, OWNER_ID

SCHEMA_VERSION = 1
BAND_FROM_DAY = 14
MAX_LISTED = 200  # findings listed per kind (the counts are always complete)
TOLERANCE = 0.10


@dataclasses.dataclass(frozen=True)
class Audit:
    limits: list[Finding]
    doubles: list[Finding]
    overruns: list[Finding]
    band: list[Finding]
    allowance: dict[date, float]

    def band_from(self, start: date, day_number: int) -> list[Finding]:
        return [f for f in self.band if (f.day - start).days + 1 >= day_number]


def audit(run: Run) -> Audit:
    """Judge the run from the world's own logs, graph and meter (devtools/simulate/audit.py)."""
    config, sim = run.config, run.sim
    costs = {date.fromisoformat(d.date): d.cost_usd for d in run.days}
    ends = {date.fromisoformat(d.date): (d.followers, d.following) for d in run.days}
    excess: dict[date, int] = defaultdict(int)
    for at, followers, following in run.hourly:
        excess[at.date()] = max(excess[at.date()], band_excess(followers, following, TOLERANCE))
    caps = Caps(follow_daily_cap=config.follow_daily_cap, prune_daily_cap=config.prune_daily_cap,
                posts_per_day=config.posts_per_day, tolerance=TOLERANCE)
    cooldowns = {i.post_text: (i.cooldown_days if i.evergreen else None) for i in run.library if i.kind != "repost"}
    return Audit(
        limits=limit_violations(sim.actions, sim.requests, caps, suggestions=run.person.shown, excess=excess),
        doubles=double_actions(sim.actions, suggestions=run.person.shown, cooldowns=cooldowns),
        overruns=budget_overruns(costs, config.budget),
        band=band_violations(ends, TOLERANCE),
        allowance=allowances(costs, config.budget),
    )


def _grouped(findings: list[Finding]) -> dict[str, Any]:
    return {"count": len(findings), "by_kind": dict(Counter(f.kind for f in findings)),
            "listed": [f.to_json() for f in findings[:MAX_LISTED]]}


def warning_groups(run: Run) -> list[dict[str, Any]]:
    """Every warning the jobs raised, grouped by its text with the figures blanked out."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for w in run.warnings:
        key = (w.job, re.sub(r"\d+(\.\d+)?", "#", w.text))
        group = groups.setdefault(key, {"job": w.job, "text": w.text, "count": 0, "first_day": w.day.isoformat(),
                                        "last_day": w.day.isoformat()})
        group["count"] += 1
        group["last_day"] = w.day.isoformat()
    return sorted(groups.values(), key=lambda g: (-int(g["count"]), g["job"], g["text"]))


def source_rows(run: Run) -> list[dict[str, Any]]:
    """Follow-back rate per source: the niche peers and the mentions one by one, your own
    followers (each a small source) together."""
    rows, pooled = [], [s for s in run.sources if s["kind"] == "my_follower"]
    for s in run.sources:
        if s["kind"] != "my_follower" and (s["followed"] or s["followed_in_world"]):
            rows.append(dict(s))
    if pooled:
        followed = sum(s["followed"] for s in pooled)
        back = sum(s["followed_back"] for s in pooled)
        in_world = sum(s["followed_in_world"] for s in pooled)
        weighted = [(s["true_rate"], s["followed_in_world"]) for s in pooled if s["true_rate"] is not None]
        world = [(s["world_rate"], s["followed_in_world"]) for s in pooled if s["world_rate"] is not None]
        rows.append({"label": f"your followers ({len(pooled)} sources)", "kind": "my_follower",
                     "hidden_rate": run.sim.communities["general"].rate,
                     "true_rate": round(sum(r * n for r, n in weighted) / max(1, sum(n for _, n in weighted)), 3) if weighted else None,
                     "world_rate": round(sum(r * n for r, n in world) / max(1, sum(n for _, n in world)), 3) if world else None,
                     "estimated_rate": round(back / followed, 3) if followed else None, "followed": followed, "followed_back": back,
                     "followed_in_world": in_world})
    return rows


def post_results(run: Run) -> dict[str, Any]:
    """What the posts earned (the world's final figures): by kind and by local hour."""
    by_kind: dict[str, list[tuple[int, int]]] = defaultdict(list)
    by_hour: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for figures in run.sim.figures.values():
        by_kind[figures.kind].append((figures.impressions, figures.engagements))
        by_hour[figures.hour].append((figures.impressions, figures.engagements))

    def row(items: list[tuple[int, int]]) -> dict[str, Any]:
        impressions = sum(i for i, _ in items)
        return {"posts": len(items), "mean_impressions": round(impressions / len(items), 1),
                "engagement_rate": round(sum(e for _, e in items) / impressions, 4) if impressions else 0.0}

    return {"by_kind": {k: row(v) for k, v in sorted(by_kind.items())},
            "by_hour": {str(h): row(v) for h, v in sorted(by_hour.items())}}


def summary(run: Run, found: Audit | None = None) -> dict[str, Any]:
    """The run as JSON (schema version SCHEMA_VERSION)."""
    found = found or audit(run)
    config, sim, days = run.config, run.sim, run.days
    for d in days:
        d.allowance_usd = round(found.allowance[date.fromisoformat(d.date)], 4)
    total = sum(d.cost_usd for d in days)
    months: dict[str, float] = defaultdict(float)
    for d in days:
        months[d.date[:7]] += d.cost_usd
    followed = sim.ever_followed
    first, last = days[0], days[-1]
    start_followers = config.followers
    return {
        "version": SCHEMA_VERSION,
        "params": {"days": config.days, "followers": config.followers, "following": config.following, "mode": config.mode,
                   "budget": config.budget, "seed": config.seed, "store": config.store, "start": config.start.isoformat(),
                   "act_share": config.act_share, "posts_per_day": config.posts_per_day,
                   "follow_daily_cap": config.follow_daily_cap, "prune_daily_cap": config.prune_daily_cap},
        "summary": {
            "final_followers": last.followers, "final_following": last.following,
            "start_followers": start_followers, "start_following": config.following,
            "followers_gained": last.followers - start_followers,
            "total_cost_usd": round(total, 4), "cost_per_day_usd": round(total / len(days), 4),
            "cost_per_30_days_usd": round(total / len(days) * 30, 2),
            "max_day_cost_usd": round(max(d.cost_usd for d in days), 4),
            "cost_by_month_usd": {m: round(v, 2) for m, v in sorted(months.items())},
            "band_violations": len(found.band), f"band_violations_from_day_{BAND_FROM_DAY}": len(found.band_from(config.start, BAND_FROM_DAY)),
            "limit_violations": len(found.limits), "double_actions": len(found.doubles), "budget_overruns": len(found.overruns),
            "spec_violations": len(run.spec_violations), "warnings": len(run.warnings),
            "posts": sum(d.posts for d in days), "follows": sum(d.follows for d in days), "unfollows": sum(d.unfollows for d in days),
            "follow_backs": sum(d.follow_backs for d in days),
            "follow_back_rate": round(len(sim.followed_back & followed) / len(followed), 3) if followed else None,
            "organic_followers": sum(d.organic_followers for d in days), "churned": sum(d.churned for d in days),
            "follow_suggestions": sum(d.follow_suggestions for d in days), "prune_suggestions": sum(d.prune_suggestions for d in days),
            "dms_genuine": sum(d.dms_genuine for d in days), "dms_spam": sum(d.dms_spam for d in days),
            "digest_worth_replying": sum(d.digest_worth_replying for d in days),
            "product_metered_usd": run.product_spend_usd, "world_metered_usd": round(sum(line.usd for line in sim.world.meter.values()), 4),
            "invocations": run.invocations, "wall_seconds": round(run.wall_seconds, 1),
            "handler_ms_by_function": {job: round(seconds / max(1, n) * 1000, 2) for job, (n, seconds) in run.timing.items()},
            "first_day": first.date, "last_day": last.date,
        },
        "violations": {"limit": _grouped(found.limits), "double": _grouped(found.doubles), "budget": _grouped(found.overruns),
                       "band": _grouped(found.band), "spec": run.spec_violations[:MAX_LISTED]},
        "sources": source_rows(run),
        "post_results": post_results(run),
        "warnings": warning_groups(run),
        "model": {**{k: (str(v) if not isinstance(v, int | float) else v) for k, v in dataclasses.asdict(sim.model).items()},
                  "x_daily_follow_limit": DAILY_FOLLOW_LIMIT, "x_daily_post_limit": DAILY_POST_LIMIT,
                  "x_following_rule_at": FOLLOWING_RULE_AT, "owner_id": OWNER_ID,
                  "hidden_source_rates": sim.source_truth()},
        "days": [dataclasses.asdict(d) for d in days],
    }
