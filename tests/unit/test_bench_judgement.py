"""The bench's follow+prune judgement (bench/xcost.py at_bound): one profile read per source
of the world, once in the window, and nothing that repeats."""

from __future__ import annotations

from bench.xcost import PRICES, at_bound

READ = PRICES["user_read"]
BOUND = 5 * 0.921  # five steady days at 10k followers


def test_at_the_bound_or_under_it_is_met() -> None:
    assert at_bound(BOUND, BOUND, sources=3)
    assert at_bound(BOUND - 4 * READ, BOUND, sources=3)


def test_one_read_per_source_once_is_met() -> None:
    assert at_bound(BOUND + 1.2 * READ, BOUND, sources=3)  # what the bench measures today
    assert at_bound(BOUND + 3 * READ, BOUND, sources=3)


def test_a_read_repeated_every_day_is_not_met() -> None:
    assert not at_bound(BOUND + 5 * READ, BOUND, sources=3)  # one paid read a day, five days
    assert not at_bound(BOUND + 3 * READ + 0.001, BOUND, sources=3)  # a single owned read past the allowance


def test_the_allowance_is_per_source_not_per_dollar_of_bound() -> None:
    assert not at_bound(2 * BOUND + 4 * READ, 2 * BOUND, sources=3)  # a bigger bill gets no more slack
    assert not at_bound(BOUND + 2 * READ, BOUND, sources=1)
