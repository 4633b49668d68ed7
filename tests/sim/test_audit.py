"""The simulator's safety counters: each one fails on an injected fault (a counter that
cannot fail is a defect) and stays quiet on a clean record."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from devtools.simulate.audit import (
    Caps,
    allowance,
    band_violations,
    budget_overruns,
    double_actions,
    limit_violations,
)
from devtools.simulate.person import Suggestion
from devtools.simulate.world import FOLLOW_LIMIT_DETAIL, Action
from flockpilot.domain.budget import daily_allowance

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CAPS = Caps(follow_daily_cap=30, prune_daily_cap=30, posts_per_day=10)


def follow(at: datetime, target: str, *, redundant: bool = False, actor: str = "api") -> Action:
    return Action(at, actor, "follow", target, 200, redundant=redundant)


def test_a_clean_record_has_no_findings() -> None:
    actions = [follow(T0 + timedelta(minutes=20 * i), f"u{i}") for i in range(30)]
    actions += [Action(T0 + timedelta(hours=i), "api", "post", f"text {i}", 201) for i in range(10)]
    assert limit_violations(actions, [(T0, "followUser", 200)], CAPS) == []
    assert double_actions(actions, cooldowns={f"text {i}": 7 for i in range(10)}) == []


def test_an_injected_double_follow_is_counted() -> None:
    actions = [follow(T0, "u1"), follow(T0 + timedelta(hours=3), "u1", redundant=True)]
    found = double_actions(actions)
    assert [f.kind for f in found] == ["double follow"]


def test_the_same_text_within_its_cooldown_is_a_double_post_and_after_it_is_not() -> None:
    posts = [Action(T0, "api", "post", "Knead less", 201), Action(T0 + timedelta(days=3), "api", "post", "Knead less", 201),
             Action(T0 + timedelta(days=30), "api", "post", "Knead less", 201)]
    assert [f.day for f in double_actions(posts, cooldowns={"Knead less": 21})] == [(T0 + timedelta(days=3)).date()]


def test_a_one_off_item_posted_twice_is_a_double_however_late() -> None:
    posts = [Action(T0, "api", "post", "Kit is back", 201), Action(T0 + timedelta(days=80), "api", "post", "Kit is back", 201)]
    assert len(double_actions(posts, cooldowns={"Kit is back": None})) == 1


def test_a_follow_suggestion_shown_twice_is_a_double_and_a_prune_one_only_within_30_days() -> None:
    day = T0.date()
    shown = [Suggestion(day, "follow", "u1", day - timedelta(days=40), False),
             Suggestion(day, "unfollow", "u2", day - timedelta(days=10), False),
             Suggestion(day, "unfollow", "u3", day - timedelta(days=37), False),
             Suggestion(day, "unfollow", "u4", None, True)]
    assert sorted(f.detail.split(":")[0] for f in double_actions([], suggestions=shown)) == ["u1", "u2", "u4"]


def test_follows_past_the_daily_cap_are_counted() -> None:
    actions = [follow(T0 + timedelta(minutes=10 * i), f"u{i}") for i in range(31)]
    assert [f.kind for f in limit_violations(actions, [], CAPS)] == ["cap: follows"]


def test_the_401st_follow_in_24_hours_breaks_x_daily_limit() -> None:
    actions = [follow(T0 + timedelta(minutes=3 * i), f"u{i}", actor="person") for i in range(401)]
    kinds = [f.kind for f in limit_violations(actions, [], Caps(400, 30, 10))]
    assert kinds.count("X daily follow limit") == 1


def test_51_api_follows_in_15_minutes_break_x_rate_limit() -> None:
    actions = [follow(T0 + timedelta(seconds=10 * i), f"u{i}") for i in range(51)]
    assert "X follows per 15 minutes" in {f.kind for f in limit_violations(actions, [], Caps(400, 30, 10))}


def test_a_429_and_a_refused_follow_are_limit_violations() -> None:
    refused = Action(T0, "api", "refused", "followUser", 403, detail=f'{{"detail": "{FOLLOW_LIMIT_DETAIL}"}}')
    kinds = {f.kind for f in limit_violations([refused], [(T0, "getUsersFollowers", 429)], CAPS)}
    assert kinds == {"X rate limit", "X follow limit"}


def test_unfollows_may_pass_the_prune_cap_only_as_far_as_the_band_excess() -> None:
    unfollows = [Action(T0 + timedelta(minutes=i), "person", "unfollow", f"u{i}", 200) for i in range(40)]
    assert limit_violations(unfollows, [], CAPS, excess={T0.date(): 40}) == []
    assert [f.kind for f in limit_violations(unfollows, [], CAPS, excess={T0.date(): 35})] == ["cap: unfollows"]


def test_a_day_above_its_allowance_is_an_overrun() -> None:
    costs = {date(2026, 3, 1): 1.0, date(2026, 3, 2): 5.0, date(2026, 3, 3): 0.5}
    found = budget_overruns(costs, 60.0)
    assert [f.day for f in found] == [date(2026, 3, 2)]


def test_a_month_over_budget_is_an_overrun() -> None:
    costs = {date(2026, 4, d): 2.1 for d in range(1, 31)}  # 63 in a 60 month, each day near its cap
    assert any("over the $60.00 budget" in f.detail for f in budget_overruns(costs, 60.0))


def test_a_day_ending_above_the_band_is_counted_and_one_inside_is_not() -> None:
    ends = {date(2026, 3, 1): (100, 110), date(2026, 3, 2): (100, 111)}
    assert [f.day for f in band_violations(ends, 0.10)] == [date(2026, 3, 2)]


def test_past_5000_following_the_band_has_no_tolerance() -> None:
    assert len(band_violations({date(2026, 3, 1): (5000, 5001)}, 0.10)) == 1


@given(budget=st.floats(0, 5000), spent=st.floats(0, 6000), day=st.dates(date(2026, 1, 1), date(2028, 12, 31)))
def test_the_audit_allowance_is_the_product_rule(budget: float, spent: float, day: date) -> None:
    assert abs(allowance(budget, spent, day) - daily_allowance(budget, spent, day)) < 1e-9


@given(budget=st.floats(1, 5000), month=st.integers(1, 12), thrift=st.floats(0.0, 1.0))
def test_spending_each_day_its_allowance_never_passes_the_month_budget(budget: float, month: int, thrift: float) -> None:
    """Checked against budget / days in month independently of the spreading rule."""
    days = calendar.monthrange(2026, month)[1]
    spent = 0.0
    for d in range(1, days + 1):
        today = allowance(budget, spent, date(2026, month, d))
        assert today <= 2 * budget / days + 1e-9
        spent += today * (thrift if d % 2 else 1.0)
    assert spent <= budget + 1e-6
