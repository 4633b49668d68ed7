from __future__ import annotations

import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flockpilot.domain.budget import MAX_DAY_MULTIPLE, daily_allowance
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import BudgetExhausted


@given(monthly=st.floats(0, 1000), day=st.integers(1, 30), spent_share=st.floats(0, 1.5))
def test_spending_every_allowance_never_passes_the_month(monthly: float, day: int, spent_share: float) -> None:
    today = date(2026, 11, day)
    spent = monthly * spent_share * (day - 1) / 30
    total = spent
    for d in range(day, 31):
        total += daily_allowance(monthly, total, date(2026, 11, d))
    assert total <= max(monthly, spent) + 1e-6
    assert daily_allowance(monthly, spent, today) <= MAX_DAY_MULTIPLE * monthly / 30 + 1e-9


def test_even_month_gives_even_days() -> None:
    days = calendar.monthrange(2026, 11)[1]
    assert daily_allowance(60, 0, date(2026, 11, 1)) == pytest.approx(60 / days)


def test_meter_counts_requests_resources_and_dollars() -> None:
    meter = CostMeter()
    meter.record("create_post", "post_create_url", 1)
    meter.record("create_post", "post_create", 1)
    meter.record("own_posts", "owned_read", 7)
    meter.record("create_post", None, 0)  # a failed call: a request, no charge
    assert (meter.requests, meter.resources, meter.usd) == (4, 9, pytest.approx(0.222))


def test_meter_refuses_a_call_past_the_limit() -> None:
    meter = CostMeter(limit_usd=0.25)
    meter.record("create_post", "post_create_url", 1)
    meter.authorize("create_post", "post_create", 1)
    with pytest.raises(BudgetExhausted, match=r"\$0.200.*\$0.050 of this run's \$0.25"):
        meter.authorize("create_post", "post_create_url", 1)


def test_an_unknown_outcome_is_charged_at_its_price_and_said_so() -> None:
    meter = CostMeter(limit_usd=0.5)
    meter.authorize("create_post", "post_create_url", 1)
    meter.record_unknown("create_post", "post_create_url", 1)  # X may have acted, and billed
    meter.record("own_posts", "owned_read", 3)
    assert (meter.requests, meter.resources, meter.usd) == (2, 4, pytest.approx(0.2 + 3 * 0.001))
    snapshot = meter.snapshot()
    assert snapshot["unconfirmed"] == 1
    assert snapshot["by_operation"]["create_post"] == {  # type: ignore[index]
        "requests": 1, "resources": 1, "usd": pytest.approx(0.2), "unconfirmed": 1}
    assert "unconfirmed" not in CostMeter().snapshot()  # a run with none keeps its usual shape
    with pytest.raises(BudgetExhausted):  # the charge counts against the run's limit
        meter.authorize("create_post", "post_create_url", 2)
