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


# The first vs warm call judgement (bench/coldstart.py comparable): a warm call that did more X
# work than the first would take longer and flatter the first call's ratio.
def test_a_warm_call_doing_the_same_or_less_work_is_comparable() -> None:
    from bench.coldstart import comparable

    first = {"cost.requests": 4, "cost.resources": 141, "dynamodb.requests": 70}
    assert comparable(first, dict(first)) == (True, "4 / 4 X requests, 141 / 141 X resources, 70 / 70 DynamoDB requests")
    # stop 22's follow: a lighter warm call (3 requests, 46 resources) only made the ratio look worse
    assert comparable({"cost.requests": 5, "cost.resources": 144}, {"cost.requests": 3, "cost.resources": 46})[0]


def test_a_warm_call_doing_more_work_is_not_comparable() -> None:
    from bench.coldstart import comparable

    # stop 22's post: the warm call also read the results of the first call's post
    assert not comparable({"cost.requests": 1, "cost.resources": 1}, {"cost.requests": 2, "cost.resources": 2})[0]
    assert not comparable({"cost.requests": 14, "cost.resources": 1151}, {"cost.requests": 14, "cost.resources": 1154})[0]
    assert not comparable({}, {"cost.requests": 1})[0]  # a first call that reported no cost
    # the same X work, but the warm call made more DynamoDB requests
    assert not comparable({"cost.requests": 1, "dynamodb.requests": 8}, {"cost.requests": 1, "dynamodb.requests": 9})[0]
