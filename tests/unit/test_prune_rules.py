from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from flockpilot.domain.account import DayCounts
from flockpilot.domain.prune import Followed, churn_check, select_unfollows

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def person(i: int, days: float, back: bool | None = False, mine: bool = True, last_post_days: float | None = 1) -> Followed:
    return Followed(str(i), f"u{i}", NOW - timedelta(days=days), "src", mine, back,
                    NOW - timedelta(days=last_post_days) if last_post_days is not None else None)


def pick(people: list[Followed], **kw: object) -> tuple[list[str], dict[str, int]]:
    args: dict[str, object] = {"now": NOW, "grace_days": 7, "daily_cap": 30, "band_excess": 0, "allow": set(), "tolerance": 0.1}
    args.update(kw)
    decisions, kept = select_unfollows(people, **args)  # type: ignore[arg-type]
    return [d.person.user_id for d in decisions], kept


def test_only_non_followers_past_the_grace_period() -> None:
    ids, kept = pick([person(1, 10), person(2, 5), person(3, 10, back=True), person(4, 10, back=None)])
    assert ids == ["1"]
    assert kept == {"inside the grace period": 1, "follows you back": 1, "follow-back not checked yet": 1}


def test_grace_is_never_under_three_days() -> None:
    assert pick([person(1, 2.5)], grace_days=1)[0] == []
    assert pick([person(1, 3.1)], grace_days=1)[0] == ["1"]


def test_allowlist_protects() -> None:
    ids, kept = pick([person(1, 30)], allow={"1"})
    assert ids == [] and kept == {"on the allowlist": 1}


def test_outside_follows_are_untouched_unless_opted_in_and_inactive() -> None:
    outside = [person(1, 400, mine=False, last_post_days=100), person(2, 400, mine=False, last_post_days=3)]
    assert pick(outside)[0] == []
    ids, kept = pick(outside, prune_outside_inactive_days=60)
    assert ids == ["1"] and kept == {"followed outside Flockpilot, still active": 1}


def test_above_the_band_the_oldest_go_first_as_many_as_restore_it() -> None:
    people = [person(i, 10 + i) for i in range(50)]
    ids, _ = pick(people, band_excess=40, daily_cap=5)
    assert len(ids) == 40 and ids[0] == "49" and ids[-1] == "10"


@given(n=st.integers(0, 60), cap=st.integers(0, 500), excess=st.integers(-100, 600))
def test_never_more_than_the_cap_or_the_excess_or_x_daily_limit(n: int, cap: int, excess: int) -> None:
    ids, _ = pick([person(i, 10 + i) for i in range(n)], daily_cap=cap, band_excess=excess)
    limit = excess if excess > 0 else cap
    assert len(ids) <= min(limit, 400, n) and len(ids) == len(set(ids))


def days(follows: int, unfollows: int = 0, quick: int = 0) -> list[DayCounts]:
    """Tallies spread over the 30-day window (the guard only ever sees daily tallies)."""
    return [DayCounts(follows, unfollows, quick)] + [DayCounts() for _ in range(29)]


def test_churn_guard_flags_quick_undos() -> None:
    verdict = churn_check(days(follows=20, unfollows=12, quick=12))
    assert verdict.paused and "undone within 14 days" in verdict.reasons[0]


def test_churn_guard_flags_unfollow_volume() -> None:
    verdict = churn_check(days(follows=10, unfollows=5), planned=20)
    assert verdict.paused and "2.5x follows" in verdict.reasons[-1]


def test_a_calm_ledger_passes() -> None:
    assert not churn_check(days(follows=20, unfollows=3), planned=3).paused


@given(follows=st.integers(0, 500), unfollows=st.integers(0, 500), quick=st.integers(0, 500), planned=st.integers(0, 400))
def test_the_guard_pauses_exactly_past_its_thresholds(follows: int, unfollows: int, quick: int, planned: int) -> None:
    quick = min(quick, unfollows)
    verdict = churn_check(days(follows, unfollows, quick), planned=planned, max_quick_share=0.5, max_ratio=1.5)
    share = quick / follows if follows else 0.0
    ratio = (unfollows + planned) / max(follows, 1)
    assert verdict.paused == (share > 0.5 or (ratio > 1.5 and unfollows + planned >= 10))


def test_the_band_reason_names_the_tolerance_in_use() -> None:
    people = [person(i, 10 + i) for i in range(3)]
    decisions, _ = select_unfollows(people, now=NOW, grace_days=7, daily_cap=5, band_excess=2, allow=set(), tolerance=0.05)
    assert all(d.reason.endswith("restores the 5% band") for d in decisions)
