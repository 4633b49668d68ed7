from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flockpilot.domain.follow import (
    MAX_MY_FOLLOWER_SOURCES,
    FilterRules,
    Source,
    SourceKind,
    choose_sources,
    follow_budget,
    follower_sources,
    paced_share,
    runs_left,
    score,
    screen,
)
from flockpilot.domain.hours import ActiveHours, window_bounds
from flockpilot.domain.x import XUser, snowflake_time

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
GOOD = XUser(id="42", username="baker", name="Baker", description="I bake bread", protected=False,
             default_avatar=False, followers=200, following=180, posts=900,
             created_at=NOW - timedelta(days=900), last_post_at=NOW - timedelta(days=2), last_post_lang="en", connection=())


@given(followers=st.integers(0, 200_000), following=st.integers(0, 200_000), tol=st.floats(0, 0.5),
       cap=st.integers(0, 1000), done=st.integers(0, 400), affordable=st.integers(0, 1000))
def test_budget_never_leaves_the_band_nor_passes_any_cap(
    followers: int, following: int, tol: float, cap: int, done: int, affordable: int
) -> None:
    b = follow_budget(followers=followers, following=following, tolerance=tol, daily_cap=cap,
                      already_today=done, affordable=affordable)
    assert b.count >= 0
    assert b.count <= max(0, min(cap, 400) - done)
    assert b.count <= affordable
    effective_tol = 0.0 if following >= 5000 else tol
    assert following + b.count <= max(following, math.floor(followers * (1 + effective_tol)))


def test_budget_examples() -> None:
    assert follow_budget(followers=1000, following=1050, tolerance=0.1, daily_cap=30, already_today=0, affordable=99).count == 30
    near = follow_budget(followers=1000, following=1090, tolerance=0.1, daily_cap=30, already_today=0, affordable=99)
    assert near.count == 7 and "3 kept free" in near.reason  # 10 places left, 3 kept for followers who leave
    band = follow_budget(followers=1000, following=1200, tolerance=0.1, daily_cap=30, already_today=0, affordable=99)
    assert band.count == 0 and "band" in band.reason
    strict = follow_budget(followers=5030, following=5000, tolerance=0.1, daily_cap=30, already_today=0, affordable=99)
    assert strict.count == 14  # past 5,000 following the band has no tolerance: 30 places, 16 kept free
    assert follow_budget(followers=10, following=0, tolerance=0.1, daily_cap=30, already_today=0, affordable=3).count == 3


def verdict(c: XUser, rules: FilterRules = FilterRules(), known: set[str] | None = None) -> tuple[str, ...]:  # noqa: B008
    return screen(c, rules, owner_id="1", known=known or set(), now=NOW).reasons


def test_a_good_candidate_passes() -> None:
    assert screen(GOOD, FilterRules(), owner_id="1", known=set(), now=NOW).passed


@pytest.mark.parametrize(
    ("change", "rules", "reason"),
    [
        ({"id": "1"}, FilterRules(), "is you"),
        ({"connection": ("following",)}, FilterRules(), "already followed"),
        ({"connection": ("blocking",)}, FilterRules(), "blocked or muted"),
        ({"connection": ("muting",)}, FilterRules(), "blocked or muted"),
        ({"protected": True}, FilterRules(), "protected account"),
        ({"default_avatar": True}, FilterRules(), "default avatar"),
        ({"description": "  "}, FilterRules(), "empty bio"),
        ({"followers": 3}, FilterRules(), "3 followers outside"),
        ({"followers": 90_000}, FilterRules(), "90000 followers outside"),
        ({"following": 5000}, FilterRules(), "following/followers 25.00"),
        ({"following": 1}, FilterRules(), "following/followers 0.01"),
        ({"last_post_at": NOW - timedelta(days=60)}, FilterRules(), "no post in 30 days"),
        ({"last_post_at": None}, FilterRules(), "no post in 30 days"),
        ({}, FilterRules(include_keywords=("sourdough",)), "bio has none of the keywords"),
        ({}, FilterRules(exclude_keywords=("BREAD",)), "bio has excluded word 'BREAD'"),
        ({"last_post_lang": "fr"}, FilterRules(languages=("en",)), "language fr"),
    ],
)
def test_each_filter_explains_itself(change: dict[str, object], rules: FilterRules, reason: str) -> None:
    reasons = verdict(replace(GOOD, **change), rules)  # type: ignore[arg-type]
    assert any(r.startswith(reason) for r in reasons), reasons


def test_known_people_are_never_suggested_again() -> None:
    assert "already followed, suggested or unfollowed before" in verdict(GOOD, known={"42"})


def test_score_grows_with_source_rate_and_relevance() -> None:
    assert score(GOOD, 0.6, ()) > score(GOOD, 0.1, ())
    assert score(GOOD, 0.3, ("bread",)) > score(GOOD, 0.3, ("knitting",))


def test_sources_that_convert_are_chosen_more_but_new_ones_still_tried() -> None:
    good = Source("a", SourceKind.ACCOUNT, "@good", NOW, followed=40, followed_back=24)
    poor = Source("b", SourceKind.ACCOUNT, "@poor", NOW, followed=40, followed_back=2)
    new = Source("c", SourceKind.ACCOUNT, "@new", NOW)
    rng = random.Random(7)
    picks = [choose_sources([good, poor, new], 1, rng)[0].label for _ in range(2000)]
    assert picks.count("@good") > picks.count("@new") > picks.count("@poor")
    assert picks.count("@new") > 50


def test_fresh_follower_sources_do_not_crowd_out_an_account_that_converts() -> None:
    """Thirty fresh follower sources drawn one by one (prior 1 in 4) beat a 42% account in almost
    every run; as one arm on their pooled record they win only their fair share."""
    account = Source("a", SourceKind.ACCOUNT, "@crumbclub", NOW, followed=100, followed_back=42)
    fresh = [Source(f"f{i}", SourceKind.MY_FOLLOWER, f"@f{i}", NOW) for i in range(MAX_MY_FOLLOWER_SOURCES)]
    rng = random.Random(3)
    first = [choose_sources([account, *fresh], 1, rng)[0].label for _ in range(2000)]
    # one fresh arm, Beta(1, 3), beats Beta(43, 59) about 20% of the time; thirty of them, 99.9%
    assert 1500 < first.count("@crumbclub") < 1800
    followers_first = [choose_sources([account, *fresh], 3, rng) for _ in range(200)]
    assert all(len(chosen) == 3 for chosen in followers_first)  # places the other arms leave go to followers
    assert all(chosen[0].label == "@crumbclub" or chosen[1].label == "@crumbclub" for chosen in followers_first)


def test_followers_whose_people_follow_back_win_as_one_arm_and_the_best_of_them_is_read() -> None:
    poor = Source("a", SourceKind.ACCOUNT, "@poor", NOW, followed=100, followed_back=5)
    proven = [Source(f"f{i}", SourceKind.MY_FOLLOWER, f"@f{i}", NOW, followed=10, followed_back=5) for i in range(10)]
    star = Source("s", SourceKind.MY_FOLLOWER, "@star", NOW, followed=20, followed_back=16)
    spent = Source("x", SourceKind.MY_FOLLOWER, "@spent", NOW, followed=30, followed_back=15, exhausted=True)
    rng = random.Random(5)
    picks = [choose_sources([poor, *proven, star, spent], 1, rng)[0].label for _ in range(2000)]
    assert picks.count("@poor") < 40  # the pool (56 of 130 with the spent one's record) against 5 of 100
    assert picks.count("@star") > max(picks.count(f"@f{i}") for i in range(10))
    assert "@spent" not in picks  # its record counts in the pool, it is not read


def test_exhausted_sources_are_skipped() -> None:
    done = Source("a", SourceKind.ACCOUNT, "@done", NOW, exhausted=True)
    assert choose_sources([done], 3, random.Random(1)) == []


@pytest.mark.parametrize("read, suggested, dry", [(199, 0, False), (200, 0, True), (200, 3, True), (200, 4, False),
                                                  (1000, 19, True), (1000, 20, False), (0, 0, False)])
def test_a_source_whose_followers_almost_never_pass_is_dry(read: int, suggested: int, dry: bool) -> None:
    source = Source("a", SourceKind.ACCOUNT, "@a", NOW, read=read, suggested=suggested)
    assert source.dry is dry and (choose_sources([source], 3, random.Random(1)) == []) is dry
    assert not replace(source, kind=SourceKind.MENTIONS).dry  # mentions are read by time, not by the page


def test_pages_grow_at_most_to_what_was_read_so_far() -> None:
    new = Source("a", SourceKind.ACCOUNT, "@a", NOW)
    assert new.page_size(30) == 100  # 30 / 0.3
    assert new.page_size(10) == 34
    assert replace(new, read=100).page_size(30) == 100  # 0 of 100 passed: not 600 at once
    assert replace(new, read=400, suggested=8).page_size(30) == 400
    assert replace(new, read=5000, suggested=50).page_size(30) == 600  # the 5% floor
    assert replace(new, read=5000, suggested=50).page_size(100) == 1000  # X's page
    assert replace(new, read=5000, suggested=4000).page_size(1) == 2


def test_snowflake_time_needs_no_read() -> None:
    ms = 1_700_000_000_000
    post_id = str((ms - 1288834974657) << 22)
    assert snowflake_time(post_id) == datetime.fromtimestamp(ms / 1000, UTC)


def test_every_failed_filter_is_counted_under_a_stable_key() -> None:
    v = screen(replace(GOOD, followers=3, description=""), FilterRules(), owner_id="1", known=set(), now=NOW)
    assert v.keys == ("empty bio", "followers", "ratio")


LA = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(("local", "expected"), [("06:59", 0), ("07:00", 15), ("07:05", 15), ("21:05", 1), ("21:59", 1),
                                                 ("22:00", 0), ("23:05", 0), ("00:05", 0)])
def test_runs_left_counts_this_run_and_none_outside_the_window(local: str, expected: int) -> None:
    day = date(2026, 11, 25)
    window = window_bounds(day, LA, ActiveHours.parse("07:00-22:00"))
    now = datetime.combine(day, time.fromisoformat(local), tzinfo=LA).astimezone(UTC)
    assert runs_left(now, window) == expected


@pytest.mark.parametrize(("day", "real_hours"), [(date(2026, 3, 8), 21), (date(2026, 11, 1), 23)])
def test_runs_left_on_a_dst_day_counts_real_hours_not_the_wall_clock(day: date, real_hours: int) -> None:
    """01:00-23:00 in Los Angeles: 22 hours on the wall clock, 21 real ones the day clocks
    spring forward and 23 the day they fall back; hourly runs from 01:05 follow the real."""
    window = window_bounds(day, LA, ActiveHours.parse("01:00-23:00"))
    first = datetime.combine(day, time(1, 5), tzinfo=LA).astimezone(UTC)
    assert runs_left(first, window) == real_hours
    ticks = [first + timedelta(hours=n) for n in range(30)]
    assert sum(1 for t in ticks if runs_left(t, window)) == real_hours


@given(waiting=st.integers(0, 400), runs=st.integers(1, 24))
def test_paced_shares_empty_the_queue_by_the_last_run_evenly(waiting: int, runs: int) -> None:
    left, taken = waiting, []
    for remaining_runs in range(runs, 0, -1):
        share = paced_share(left, remaining_runs)
        taken.append(share)
        left -= share
    assert left == 0 and sum(taken) == waiting
    assert max(taken) == math.ceil(waiting / runs)
    assert paced_share(waiting, 0) == 0


def test_the_limit_on_your_followers_as_sources_counts_those_that_can_still_be_read() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def mine(i: int, read: int = 0, exhausted: bool = False) -> Source:
        return Source(f"f{i:02d}", SourceKind.MY_FOLLOWER, f"@f{i}", t0 + timedelta(days=i), read=read, suggested=1,
                      exhausted=exhausted)

    dry = [mine(i, read=200) for i in range(27)]
    done = [mine(27, exhausted=True)]
    live = [mine(28), mine(29)]
    chosen = Source("acct", SourceKind.ACCOUNT, "@acct", t0)  # your own choices have no limit and never give way
    offered = follower_sources([*dry, *done, *live, chosen], ["n1", "f28", "n2", "acct", "n1"])
    assert offered.add == ["n1", "n2"]  # sources already (f28, acct) are not offered again
    assert offered.retire == dry[:2]  # the oldest spent ones give their place: never more than 30 rows
    full = follower_sources(live * 15, ["n1"], limit=MAX_MY_FOLLOWER_SOURCES)
    assert full.add == [] and full.retire == []  # 30 that can still be read: no place for a new one
    assert follower_sources([*done, *live], ["n1", "n2"]).retire == []  # room without retiring anyone
