"""How much of your own follower and following lists a daily sync reads (X bills each id)."""

from __future__ import annotations

import pytest

from flockpilot.domain.x import Page, XUser
from flockpilot.jobs.sync import FIRST_PAGE, MAX_PAGE, NEXT_PAGE, first_page_size, read_newest


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
    result = read_newest(known, read_page, expected_new=new)  # yesterday brought as many
    assert result.ids == [f"n{i}" for i in range(new)] and result.complete
    assert sum(asked) == new + 1  # the lower bound: every new id and the first known one


def test_a_busier_day_doubles_until_it_meets_a_known_id() -> None:
    known = [f"k{i}" for i in range(500)]
    asked, read_page = listing([f"n{i}" for i in range(10)] + known)
    result = read_newest(known, read_page, expected_new=2)
    assert len(result.ids) == 10 and asked == [3, 6, 12]


def test_first_page_sizes() -> None:
    assert first_page_size([], None) == FIRST_PAGE  # the very first sync
    assert first_page_size(["k"], None) == NEXT_PAGE  # no record of yesterday
    assert first_page_size(["k"], 0) == 1
    assert first_page_size(["k"], 5000) == MAX_PAGE


def test_a_frontier_you_unfollowed_does_not_send_the_sync_to_the_end_of_the_list() -> None:
    frontier = [f"gone{i}" for i in range(20)]  # the newest you followed, all unfollowed since
    older = [f"k{i}" for i in range(5000)]  # people the ledger knows you follow
    asked, read_page = listing([f"n{i}" for i in range(30)] + older)
    result = read_newest(frontier, read_page, expected_new=30,
                         also_known=lambda ids: {i for i in ids if i.startswith("k")})
    assert len(result.ids) == 30 and result.complete and sum(asked) == 31
    asked_blind, read_blind = listing([f"n{i}" for i in range(30)] + older)
    blind = read_newest(frontier, read_blind, expected_new=30)  # without the ledger: to the page limit
    assert not blind.complete and sum(asked_blind) > 1000
