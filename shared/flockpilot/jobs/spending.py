"""Today's money for one job: the monthly budget spread by the spend ledger, as a meter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flockpilot.adapters.store import Store
from flockpilot.domain.budget import job_allowance
from flockpilot.domain.cost import CostMeter


@dataclass(frozen=True)
class DayBudget:
    allowance_usd: float  # the job's share of today's allowance
    spent_today_usd: float  # what earlier runs of the job spent today

    def meter(self) -> CostMeter:
        """A meter that stops this run where the job's day ends."""
        return CostMeter(limit_usd=max(0.0, self.allowance_usd - self.spent_today_usd))


def day_budget(store: Store, job: str, monthly_budget_usd: float, utc_day: date) -> DayBudget:
    spend = store.spend(utc_day.replace(day=1), utc_day)
    before_today = sum(v["usd"] for d, v in spend.items() if d < utc_day)
    return DayBudget(
        allowance_usd=job_allowance(job, monthly_budget_usd, before_today, utc_day),
        spent_today_usd=spend.get(utc_day, {}).get(job, 0.0),
    )
