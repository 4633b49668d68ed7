"""Dollar budgets: from the user's monthly X API budget to what one job may spend today."""

from __future__ import annotations

import calendar
import math
from datetime import date
from typing import Final

# How a day's allowance is shared between the jobs. Posting with links dominates X's bill.
# "reconcile" is the most the rolling re-verification of the ledger may take (prune's
# reconcile step spends less when the ledger is small or the user set a lower monthly cap).
# prune's share buys the day's follow-back checks ($0.01 each, about as many as the day's
# follows) and its unfollows; the 90-day simulator showed 5% falling behind (issue 12).
JOB_SHARES: Final[dict[str, float]] = {"post": 0.60, "follow": 0.12, "prune": 0.10, "digest": 0.10, "reconcile": 0.08}
# Part of the post share kept out of the plan, for reads that verify an uncertain publish.
RECOVERY_RESERVE: Final[float] = 0.10
# No single day may spend more than this multiple of an even day's share of the month.
MAX_DAY_MULTIPLE: Final[float] = 2.0


def daily_allowance(monthly_budget_usd: float, spent_before_today_usd: float, today: date) -> float:
    """What the whole account may spend today: the month's remainder spread over its days left.

    Spending less today leaves more for later days (up to twice an even day's share);
    overspending shrinks them, so the month never ends above budget.
    """
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    days_left = days_in_month - today.day + 1
    spread = (monthly_budget_usd - spent_before_today_usd) / days_left
    # A late first deploy or a quiet week must not turn into one very expensive day.
    return max(0.0, min(spread, MAX_DAY_MULTIPLE * monthly_budget_usd / days_in_month))


def job_allowance(job: str, monthly_budget_usd: float, spent_before_today_usd: float, today: date) -> float:
    """`job`'s share of today's allowance."""
    return daily_allowance(monthly_budget_usd, spent_before_today_usd, today) * JOB_SHARES[job]


def verify_quota(*, people: int, every_days: int, share_left_usd: float, spent_today_usd: float,
                 chosen_monthly_usd: float | None, today: date, lookup_price: float) -> int:
    """How many more people today's slice of reconciliation re-verifies: by default a pass
    over `people` every `every_days` (rounded up, so a small ledger still moves), or what the
    monthly amount the user chose buys a day; less what today already spent, and never more
    than what is left of the job's share of today."""
    if chosen_monthly_usd is not None:
        days_in_month = calendar.monthrange(today.year, today.month)[1]
        daily_usd = chosen_monthly_usd / days_in_month
    else:
        daily_usd = math.ceil(people / max(1, every_days)) * lookup_price
    usd = min(share_left_usd, daily_usd - spent_today_usd)
    return max(0, math.floor(usd / lookup_price + 1e-9))
