"""The safety counters: judged from what X saw (the world's action and request logs, its
follow graph and its meter), never from what Flockpilot recorded or believes.

- limit violations: any request X answered 429 (beyond a published rate limit) or refused
  for its daily follow limit; more follows than X allows in 24 hours (400) or 15 minutes
  (50), more unfollows in 15 minutes (50), more posts in 24 hours (2,400); and more than
  our own caps on an account day: follows or follow suggestions past the daily cap,
  unfollows or prune suggestions past the prune cap (or the band's excess, when that is
  larger: prune restores the band first), posts past posts_per_day.
- double actions: a follow of someone already followed (now or earlier in the run), an
  unfollow of someone not followed, a repost of a post already reposted, the same text
  posted again within its cooldown (a one-off item: ever), a follow suggestion shown twice
  or for someone followed, a prune suggestion for someone not followed or shown again
  within 30 days (someone who let a prune suggestion pass has chosen to keep them; asking
  again a month later is allowed).
- budget overruns: an account day whose metered cost is above that day's allowance: the
  month's budget less what the world metered before that day, spread over the days left,
  never more than twice an even day (README, "Budget").
- band violations: a day that ends with following above floor(followers x 1.1) (with no
  tolerance past 5,000 following, as X ties follows to the ratio there).
"""

from __future__ import annotations

import bisect
import calendar
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from devtools.simulate.person import Suggestion
from devtools.simulate.world import FOLLOW_LIMIT_DETAIL, Action

X_DAILY_FOLLOWS = 400
X_DAILY_POSTS = 2400
X_FOLLOWS_PER_15_MINUTES = 50
X_UNFOLLOWS_PER_15_MINUTES = 50
STRICT_ABOVE = 5000
PRUNE_ASK_AGAIN_DAYS = 30
EPSILON_USD = 1e-6


@dataclass(frozen=True)
class Finding:
    day: date
    kind: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"day": self.day.isoformat(), "kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class Caps:
    """Our own caps, as the simulation configured them (the settings' environment)."""

    follow_daily_cap: int
    prune_daily_cap: int
    posts_per_day: int
    tolerance: float = 0.10


def allowance(monthly_budget_usd: float, spent_before_usd: float, day: date) -> float:
    """A day's allowance: what is left of the month's budget over the days left, at most
    twice an even day (restated from the README so the check does not trust the product)."""
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    days_left = days_in_month - day.day + 1
    even_day = monthly_budget_usd / days_in_month
    return max(0.0, min((monthly_budget_usd - spent_before_usd) / days_left, 2 * even_day))


def allowances(costs: Mapping[date, float], monthly_budget_usd: float) -> dict[date, float]:
    """Each day's allowance, from the world's metered cost of the month's earlier days."""
    out: dict[date, float] = {}
    spent: dict[tuple[int, int], float] = defaultdict(float)
    for day in sorted(costs):
        month = (day.year, day.month)
        out[day] = allowance(monthly_budget_usd, spent[month], day)
        spent[month] += costs[day]
    return out


def budget_overruns(costs: Mapping[date, float], monthly_budget_usd: float) -> list[Finding]:
    limits = allowances(costs, monthly_budget_usd)
    findings = [Finding(day, "budget overrun", f"metered ${costs[day]:.4f} against an allowance of ${limits[day]:.4f}")
                for day in sorted(costs) if costs[day] > limits[day] + EPSILON_USD]
    months: dict[tuple[int, int], float] = defaultdict(float)
    for day, usd in costs.items():
        months[(day.year, day.month)] += usd
    for (year, month), usd in sorted(months.items()):
        if usd > monthly_budget_usd + EPSILON_USD:
            last = date(year, month, calendar.monthrange(year, month)[1])
            findings.append(Finding(min(last, max(costs)), "budget overrun",
                                    f"{year}-{month:02d} metered ${usd:.2f}, over the ${monthly_budget_usd:.2f} budget"))
    return findings


def band_limit(followers: int, following: int, tolerance: float) -> int:
    """The most one may follow: floor(followers x (1 + tolerance)), strict past 5,000."""
    return math.floor(followers * (1 + (0.0 if following >= STRICT_ABOVE else tolerance)) + 1e-9)


def band_excess(followers: int, following: int, tolerance: float) -> int:
    return following - band_limit(followers, following, tolerance)


def band_violations(ends: Mapping[date, tuple[int, int]], tolerance: float) -> list[Finding]:
    """Days that end above the band, from the world's own counts at the day's end."""
    return [Finding(day, "band", f"following {following} > {band_limit(followers, following, tolerance)} "
                                 f"({followers} followers)")
            for day, (followers, following) in sorted(ends.items()) if band_excess(followers, following, tolerance) > 0]


def _over_window(times: Sequence[datetime], window: timedelta, limit: int) -> list[datetime]:
    """The moments an action was the (limit+1)-th or later within `window` before it."""
    ordered = sorted(times)
    return [t for i, t in enumerate(ordered) if i - bisect.bisect_right(ordered, t - window) + 1 > limit]


def limit_violations(actions: Iterable[Action], requests: Iterable[tuple[datetime, str, int]], caps: Caps, *,
                     suggestions: Iterable[Suggestion] = (), excess: Mapping[date, int] | None = None) -> list[Finding]:
    """Every action beyond X's published limits or our caps (see the module docstring).
    `excess`: each account day's largest band excess the world measured (prune may go past
    its daily cap up to it)."""
    findings: list[Finding] = []
    for at, operation, status in requests:
        if status == 429:
            findings.append(Finding(at.date(), "X rate limit", f"{operation} answered 429 at {at:%H:%M}"))
    done = [a for a in actions if 200 <= a.status < 300]
    for a in actions:
        if a.kind == "refused" and FOLLOW_LIMIT_DETAIL in a.detail:
            findings.append(Finding(a.at.date(), "X follow limit", f"a follow refused at {a.at:%H:%M}: {FOLLOW_LIMIT_DETAIL}"))
    follows = [a.at for a in done if a.kind == "follow"]
    api_follows = [a.at for a in done if a.kind == "follow" and a.actor == "api"]
    api_unfollows = [a.at for a in done if a.kind == "unfollow" and a.actor == "api"]
    posts = [a.at for a in done if a.kind in ("post", "repost")]
    for label, times, window, limit in (
        ("X daily follow limit", follows, timedelta(hours=24), X_DAILY_FOLLOWS),
        ("X follows per 15 minutes", api_follows, timedelta(minutes=15), X_FOLLOWS_PER_15_MINUTES),
        ("X unfollows per 15 minutes", api_unfollows, timedelta(minutes=15), X_UNFOLLOWS_PER_15_MINUTES),
        ("X daily post limit", posts, timedelta(hours=24), X_DAILY_POSTS),
    ):
        findings += [Finding(t.date(), label, f"{label}: {limit} exceeded at {t:%H:%M}") for t in _over_window(times, window, limit)]

    per_day: dict[str, Counter[date]] = defaultdict(Counter)
    for a in done:
        if a.kind == "follow" and a.actor == "api":
            per_day["follows"][a.at.date()] += 1
        elif a.kind == "unfollow":
            per_day["unfollows"][a.at.date()] += 1
        elif a.kind in ("post", "repost"):
            per_day["posts"][a.at.date()] += 1
    for s in suggestions:
        per_day["follow suggestions" if s.kind == "follow" else "prune suggestions"][s.day] += 1
    room = excess or {}
    for label, cap in (("follows", caps.follow_daily_cap), ("follow suggestions", caps.follow_daily_cap),
                       ("posts", caps.posts_per_day)):
        findings += [Finding(day, f"cap: {label}", f"{n} {label} on {day} (cap {cap})")
                     for day, n in sorted(per_day[label].items()) if n > cap]
    for label in ("unfollows", "prune suggestions"):
        for day, n in sorted(per_day[label].items()):
            cap = max(caps.prune_daily_cap, room.get(day, 0))
            if n > cap:
                findings.append(Finding(day, f"cap: {label}", f"{n} {label} on {day} (cap {caps.prune_daily_cap}, band excess "
                                                              f"{room.get(day, 0)})"))
    return sorted(findings, key=lambda f: (f.day, f.kind))


def double_actions(actions: Iterable[Action], *, suggestions: Iterable[Suggestion] = (),
                   cooldowns: Mapping[str, int | None] | None = None) -> list[Finding]:
    """The same follow, unfollow, repost, post or suggestion twice (see the module docstring).
    `cooldowns`: post text -> the item's cooldown in days, None for a one-off item; a text
    not in it counts as a double when posted twice within a day."""
    findings: list[Finding] = []
    last_posted: dict[str, datetime] = {}
    known = cooldowns or {}
    for a in sorted(actions, key=lambda a: a.at):
        if not 200 <= a.status < 300:
            continue
        if a.kind in ("follow", "unfollow", "repost") and a.redundant:
            what = {"follow": "a follow of someone already followed (now or earlier)",
                    "unfollow": "an unfollow of someone not followed", "repost": "a repost of a post already reposted"}[a.kind]
            findings.append(Finding(a.at.date(), f"double {a.kind}", f"{what}: {a.target} at {a.at:%H:%M} ({a.actor})"))
        elif a.kind == "post":
            before = last_posted.get(a.target)
            if before is not None:
                days = known.get(a.target, 1) if a.target in known else 1
                if days is None or a.at - before < timedelta(days=days):
                    findings.append(Finding(a.at.date(), "double post",
                                            f"posted again {a.at - before} after {before:%Y-%m-%d %H:%M}: {a.target[:60]!r}"))
            last_posted[a.target] = a.at
    for s in suggestions:
        again = s.last_shown is not None and (s.kind == "follow" or (s.day - s.last_shown).days < PRUNE_ASK_AGAIN_DAYS)
        if again or s.redundant:
            why = f"shown in the digest of {s.last_shown}" if again else ("already followed" if s.kind == "follow" else "not followed")
            findings.append(Finding(s.day, f"double {s.kind} suggestion", f"{s.user_id}: {why}"))
    return sorted(findings, key=lambda f: (f.day, f.kind))
