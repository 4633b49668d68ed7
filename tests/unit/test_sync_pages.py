"""How much of your own follower and following lists a daily sync reads (X bills each id)."""

from __future__ import annotations

import pytest

from flockpilot.domain.x import Page, XUser
from flockpilot.jobs.sync import FIRST_PAGE, MAX_PAGE, NEXT_PAGE, PagePlan, page_plan, read_newest


def listing(ids: list[str]) -> tuple[list[int], object]:
    """A list newest first, paged as X pages it; records each page's size asked for."""
    asked: list[int] = []

    def read_page(size: int, token: str | None) -> Page[XUser]:
        asked.append(size)
        start = int(token or 0)
        chunk = ids[start:start + size]
        more = start + size < len(ids)
        return Page([XUser(id=i, username=f"u{i}") for i in chunk], str(start + size) if more else None)

    return asked, read_page


@pytest.mark.parametrize("new", [0, 1, 3, 40])
def test_a_steady_day_reads_exactly_the_new_ones_and_one_known(new: int) -> None:
    known = [f"k{i}" for i in range(500)]
    asked, read_page = listing([f"n{i}" for i in range(new)] + known)
    result = read_newest(known, read_page, plan=page_plan(known, yesterday_new=new))  # yesterday brought as many
    assert result.ids == [f"n{i}" for i in range(new)] and result.complete
    assert sum(asked) == new + 1  # the lower bound: every new id and the first known one


def test_a_busier_day_doubles_until_it_meets_a_known_id() -> None:
    known = [f"k{i}" for i in range(500)]
    asked, read_page = listing([f"n{i}" for i in range(10)] + known)
    result = read_newest(known, read_page, plan=page_plan(known, yesterday_new=2))
    assert len(result.ids) == 10 and asked == [3, 6, 12]


def test_page_plans() -> None:
    assert page_plan([]) == PagePlan(FIRST_PAGE, 2 * FIRST_PAGE)  # the very first sync
    assert page_plan(["k"]) == PagePlan(NEXT_PAGE, 2 * NEXT_PAGE)  # no record of yesterday
    assert page_plan(["k"], yesterday_new=0) == PagePlan(1, 2)
    assert page_plan(["k"], yesterday_new=5000) == PagePlan(MAX_PAGE, MAX_PAGE)
    assert page_plan(["k"], grown=9, hint=30, yesterday_new=500) == PagePlan(10, 21)  # the count wins over yesterday
    assert page_plan(["k"], grown=-4, hint=3) == PagePlan(1, 3)  # more left than joined
    assert page_plan(["k"], grown=12) == PagePlan(13, 3)  # no hint: a quarter of the first page next
    assert page_plan(["k"], grown=40, hint=30) == PagePlan(41, 10)
    assert page_plan(["k"], grown=0) == PagePlan(1, 2)
    assert page_plan(["k"], grown=5000) == PagePlan(MAX_PAGE, MAX_PAGE)


def known_and_new(new: int, left: int = 0) -> tuple[list[str], list[str]]:
    """A list with `new` ids on top of 500 known ones, `left` of which are gone since."""
    known = [f"k{i}" for i in range(500)]
    return known, [f"n{i}" for i in range(new)] + known[left:]


@pytest.mark.parametrize(("new", "left"), [(0, 0), (1, 0), (11, 0), (100, 0), (0, 3)])
def test_when_only_joins_or_only_leaves_happened_the_grown_count_reads_exactly_the_new_ones_and_one_known(new: int, left: int) -> None:
    known, ids = known_and_new(new, left)
    asked, read_page = listing(ids)
    result = read_newest(known, read_page, plan=page_plan(known, grown=new - left, yesterday_new=40))
    assert result.ids == [f"n{i}" for i in range(new)] and result.complete
    assert sum(asked) == new + 1  # every new id and the first known one


def test_following_after_you_followed_your_picks_and_unfollowed_others_reads_exactly_what_is_new() -> None:
    """30 picks followed, 21 unfollowed from the frontier's top: the count grew by 9; the
    hint (30 picks) sizes the second page to end on the first known id."""
    known = [f"k{i}" for i in range(500)]
    asked, read_page = listing([f"n{i}" for i in range(30)] + known[21:])
    result = read_newest(known, read_page, plan=page_plan(known, grown=9, hint=30))
    assert len(result.ids) == 30 and asked == [10, 21] and sum(asked) == 31


def test_people_leaving_costs_a_small_second_page_not_a_doubled_one() -> None:
    known = [f"k{i}" for i in range(500)]
    asked, read_page = listing([f"n{i}" for i in range(14)] + known[2:])  # 14 joined, 2 left: grown 12
    result = read_newest(known, read_page, plan=page_plan(known, grown=12))
    assert len(result.ids) == 14 and asked == [13, 3] and sum(asked) <= 14 + 1 + 1


def test_a_frontier_you_unfollowed_does_not_send_the_sync_to_the_end_of_the_list() -> None:
    frontier = [f"gone{i}" for i in range(20)]  # the newest you followed, all unfollowed since
    older = [f"k{i}" for i in range(5000)]  # people the ledger knows you follow
    asked, read_page = listing([f"n{i}" for i in range(30)] + older)
    result = read_newest(frontier, read_page, plan=page_plan(frontier, yesterday_new=30),
                         also_known=lambda ids: {i for i in ids if i.startswith("k")})
    assert len(result.ids) == 30 and result.complete and sum(asked) == 31
    asked_blind, read_blind = listing([f"n{i}" for i in range(30)] + older)
    blind = read_newest(frontier, read_blind, plan=page_plan(frontier, yesterday_new=30))  # without the ledger: to the page limit
    assert not blind.complete and sum(asked_blind) > 1000
