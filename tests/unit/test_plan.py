from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flockpilot.domain.content import LINK_KINDS, ContentItem, ContentKind, new_item
from flockpilot.domain.errors import InvalidSetting
from flockpilot.domain.hours import ActiveHours, MixRules
from flockpilot.domain.plan import fit_budget, plan_day, spread_times
from flockpilot.pricing import price

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)


def library(quips: int = 6, quotes: int = 4, articles: int = 6, pitches: int = 3, reposts: int = 3) -> list[ContentItem]:
    items = [new_item(kind="quip", text=f"quip {i}", now=NOW) for i in range(quips)]
    items += [new_item(kind="quote", text=f"quote {i}", now=NOW) for i in range(quotes)]
    items += [new_item(kind="article", text=f"article {i}", url=f"https://example.com/{i}", now=NOW) for i in range(articles)]
    items += [new_item(kind="pitch", text=f"pitch {i}", url=f"https://example.com/p{i}", now=NOW) for i in range(pitches)]
    items += [new_item(kind="repost", text=str(1000 + i), now=NOW) for i in range(reposts)]
    return items


def make_plan(rules: MixRules | None = None, budget: float = 100.0, items: list[ContentItem] | None = None,
              tz: str = "UTC", hours: str = "08:00-22:00", seed: str = "acct:day"):  # type: ignore[no-untyped-def]
    return plan_day(day=DAY, tz=ZoneInfo(tz), active=ActiveHours.parse(hours), rules=rules or MixRules(),
                    items=library() if items is None else items, budget_usd=budget, now=NOW, seed=seed)


@settings(max_examples=200, deadline=None)
@given(count=st.integers(0, 28), gap=st.integers(5, 30), seed=st.integers(), tz=st.sampled_from(
    ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]))
def test_slot_times_stay_inside_active_hours_and_apart(count: int, gap: int, seed: int, tz: str) -> None:
    zone, window = ZoneInfo(tz), ActiveHours(time(8), time(22))
    times = spread_times(DAY, zone, window, count, gap, random.Random(seed))
    assert len(times) == count
    for at in times:
        local = at.astimezone(zone)
        assert local.date() == DAY and time(8) <= local.time() < time(22)
    for a, b in zip(times, times[1:], strict=False):
        assert b - a >= timedelta(minutes=gap)


def test_too_many_posts_for_the_window_is_refused() -> None:
    with pytest.raises(InvalidSetting, match="do not fit"):
        spread_times(DAY, ZoneInfo("UTC"), ActiveHours(time(8), time(9)), 5, 30, random.Random(1))


def test_default_day_is_half_links_with_one_pitch() -> None:
    plan = make_plan()
    kinds = [s.kind for s in plan.slots]
    assert len(kinds) == 10
    assert sum(k in LINK_KINDS for k in kinds) == 5
    assert kinds.count(ContentKind.PITCH) == 1
    assert kinds.count(ContentKind.REPOST) == 2


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 20), share=st.floats(0, 1), cap=st.integers(0, 3), reposts=st.integers(0, 5),
       q=st.integers(0, 8), a=st.integers(0, 8), p=st.integers(0, 4), r=st.integers(0, 4))
def test_mix_rules_hold_for_any_library(n: int, share: float, cap: int, reposts: int, q: int, a: int, p: int, r: int) -> None:
    rules = MixRules(posts_per_day=n, link_share=share, pitch_cap=cap, reposts_per_day=reposts, min_gap_minutes=5)
    plan = make_plan(rules, items=library(quips=q, quotes=0, articles=a, pitches=p, reposts=r))
    kinds = [s.kind for s in plan.slots]
    assert len(kinds) <= n
    assert kinds.count(ContentKind.PITCH) <= cap
    assert kinds.count(ContentKind.REPOST) <= reposts
    assert all(not (x is ContentKind.PITCH and y is ContentKind.PITCH) for x, y in zip(kinds, kinds[1:], strict=False))
    assert len({s.item_id for s in plan.slots}) == len(plan.slots)  # no item twice a day
    if len(kinds) < n:
        assert plan.notes  # a short day says why


@settings(max_examples=150, deadline=None)
@given(budget=st.floats(0, 3))
def test_plan_never_costs_more_than_its_budget(budget: float) -> None:
    plan = make_plan(budget=budget)
    assert plan.cost_usd <= budget + 1e-9
    full = make_plan(budget=100)
    assert len(plan.slots) + len(plan.dropped) == len(full.slots)
    assert all("over budget" in d.reason for d in plan.dropped)


def test_budget_cut_drops_the_pitch_and_links_first() -> None:
    plan = make_plan(budget=0.9)  # the full day is $1.075
    assert [d.kind for d in plan.dropped] == [ContentKind.PITCH]
    assert plan.cost_usd == pytest.approx(1.075 - 0.2)


def test_fit_budget_keeps_cheap_posts_when_links_cannot_fit() -> None:
    kept, dropped = fit_budget(library(quips=3, quotes=0, articles=2, pitches=0, reposts=0), 0.05)
    assert all(i.kind is ContentKind.QUIP for i in kept)
    assert sum(price(i.price_kind) for i in kept) <= 0.05


def test_same_seed_same_plan_other_day_other_times() -> None:
    assert make_plan(seed="a:1") == make_plan(seed="a:1")
    assert [s.at for s in make_plan(seed="a:1").slots] != [s.at for s in make_plan(seed="a:2").slots]


def test_items_used_least_recently_come_first() -> None:
    items = [new_item(kind="quip", text=f"q{i}", now=NOW, evergreen=True, cooldown_days=1) for i in range(3)]
    used = [items[0].after_posting(NOW - timedelta(days=3)), items[1].after_posting(NOW - timedelta(days=9)), items[2]]
    plan = make_plan(MixRules(posts_per_day=3, link_share=0, reposts_per_day=0, min_gap_minutes=5), items=used)
    assert [s.item_id for s in plan.slots] == [items[2].item_id, items[1].item_id, items[0].item_id]


@settings(max_examples=100, deadline=None)
@given(count=st.integers(1, 8), gap=st.integers(5, 40), seed=st.integers(),
       day=st.sampled_from([date(2026, 3, 8), date(2026, 11, 1), date(2026, 3, 29), date(2026, 10, 25)]),
       tz=st.sampled_from(["America/Los_Angeles", "Europe/London"]))
def test_a_clock_change_inside_active_hours_never_squeezes_posts(count: int, gap: int, seed: int, day: date, tz: str) -> None:
    zone, window = ZoneInfo(tz), ActiveHours(time(0, 30), time(4, 0))  # the change happens inside the window
    assume(count * gap <= window.minutes)  # what the settings accept (checked on the wall clock)
    times = spread_times(day, zone, window, count, gap, random.Random(seed))
    start = datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day, window.end, tzinfo=zone).astimezone(UTC)
    assert all(start <= t < end for t in times)
    assert all(b - a >= timedelta(minutes=gap) for a, b in zip(times, times[1:], strict=False))
    assert len(times) == min(count, int((end - start).total_seconds() // 60 // gap))
