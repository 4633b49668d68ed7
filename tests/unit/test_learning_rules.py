"""Pure rules of the learning loop that the jobs' tests do not pin down one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from flockpilot.domain.content import ContentItem, Learning, new_item
from flockpilot.domain.learning import MAX_WRITES, result_batches
from flockpilot.domain.records import PostRecord

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)


def results(n: int, items: list[ContentItem]) -> list[tuple[PostRecord, ContentItem | None]]:
    out: list[tuple[PostRecord, ContentItem | None]] = []
    for k in range(n):
        item = items[k % len(items)] if items else None
        post = PostRecord(str(100 + k), item.item_id if item else "gone", "quip", DAY, k % 10, NOW, 0.015, False)
        out.append((post, replace(item, learning=Learning(measured=k)) if item else None))
    return out


def test_a_normal_day_is_one_write() -> None:
    items = [new_item(kind="quip", text=f"q{n}", now=NOW) for n in range(10)]
    batches = result_batches(results(10, items))
    assert len(batches) == 1 and len(batches[0][0]) == 10 and len(batches[0][1]) == 10


def test_batches_stay_within_a_transaction_and_keep_every_post_with_its_items_latest_state() -> None:
    items = [new_item(kind="quip", text=f"q{n}", now=NOW) for n in range(7)]
    given = results(250, items)
    batches = result_batches(given)
    assert [p for posts, _ in batches for p in posts] == [p for p, _ in given]  # every post once, in order
    for posts, batch_items in batches:
        assert len(posts) + len(batch_items) <= MAX_WRITES
        assert len({i.item_id for i in batch_items}) == len(batch_items)  # an item once a batch
        last = {}
        for post, item in given:
            if post in posts and item is not None:
                last[item.item_id] = item
        assert {i.item_id: i for i in batch_items} == last  # as of the batch's last post of it


def test_posts_of_removed_items_and_an_empty_day() -> None:
    assert result_batches([]) == []
    (batch,) = result_batches(results(3, []))
    assert len(batch[0]) == 3 and batch[1] == []
    assert [len(p) for p, _ in result_batches(results(250, []), limit=100)] == [100, 100, 50]


def test_clicks_per_dollar_counts_only_measured_link_posts() -> None:
    from zoneinfo import ZoneInfo

    from flockpilot.domain.insights import week_insights
    from flockpilot.domain.x import PostMetrics

    measured = PostRecord("1", "a", "article", DAY, 0, NOW, 0.2, True,
                          metrics=PostMetrics(impressions=400, likes=10, link_clicks=8), metrics_at=NOW)
    today = PostRecord("2", "b", "article", DAY, 1, NOW, 0.2, True)  # no results yet: nothing to divide by
    week = week_insights(DAY, [measured, today], [], [], ZoneInfo("UTC"))
    assert (week.link_clicks, week.link_spend_usd, week.clicks_per_dollar) == (8, 0.2, 40.0)


@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [5.0, 1.0, 3.0], [0.2, 0.1, 0.4, 0.3], [2.0, 2.0, 7.0, 1.0, 9.0, 4.0]])
def test_the_median_is_the_statistics_modules(values: list[float]) -> None:
    import statistics

    from flockpilot.domain.learning import median

    assert median(values) == statistics.median(values)
