"""The learning loop end to end: the post job through the composition root Lambda uses, on
DynamoDB Local and the X sandbox over HTTP (every request and response checked against X's
spec, metric fields included), with the test's clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import Post, World
from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.domain.content import new_item
from flockpilot.events import PostEvent
from flockpilot.jobs.post import PostSummary, run_post
from flockpilot.pricing import price
from flockpilot.runtime import post_deps, wire
from tests.conftest import FakeClock


def run(clock: FakeClock, **event: Any) -> PostSummary:
    return run_post(post_deps(wire(clock=clock)), PostEvent(**event))


def test_results_are_read_once_a_day_over_http_and_stored_with_their_items(
    env: dict[str, str], world: World, clock: FakeClock
) -> None:
    def model(post: Post, at: Any) -> dict[str, int]:
        return {"impressions": 800, "likes": 12, "reposts": 2, "replies": 1, "url_link_clicks": 5,
                "user_profile_clicks": 3} if post.author_id == OWNER_ID else {}

    world.metrics_model = model
    plans = DynamoContentPlans(OWNER_ID)
    plans.add_content(new_item(kind="quip", text="Bread is patience", now=clock.now(), evergreen=True, cooldown_days=7))
    plans.add_content(new_item(kind="article", text="Shaping a boule", url="https://bakery.com/boule", now=clock.now()))
    first = run(clock, publish_next=True, max_posts=2)
    assert len(first.posted) == 2
    clock.advance(days=1)
    reads_before = world.bill()["by_operation"].get("getUsersPosts", {"requests": 0, "usd": 0.0})
    second = run(clock)
    third = run(clock)  # a later tick the same day reads nothing again
    bill = world.bill()["by_operation"]["getUsersPosts"]
    assert bill["requests"] - reads_before["requests"] == 1
    assert bill["usd"] - reads_before["usd"] == pytest.approx(2 * price("owned_read"))
    assert second.cost["usd"] >= 2 * price("owned_read") and third.cost["usd"] == 0
    posts = plans.posts(first.day, first.day)
    assert len(posts) == 2 and all(p.metrics is not None and p.metrics.impressions == 800 for p in posts)
    article = next(p for p in posts if p.has_url)
    assert article.metrics is not None and article.metrics.link_clicks == 5 and article.metrics.reposts == 2
    items = {i.item_id: i for i in plans.list_content()}
    assert all(items[p.item_id].learning.measured == 1 for p in posts)
    assert items[article.item_id].learning.link_clicks == 5
    assert not world.violations


def test_the_week_reaches_insights_after_results(env: dict[str, str], world: World, clock: FakeClock,
                                                 capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from flockpilot import cli

    world.metrics_model = lambda post, at: {"impressions": 500, "likes": 20} if post.author_id == OWNER_ID else {}
    plans = DynamoContentPlans(OWNER_ID)
    for n in range(3):
        plans.add_content(new_item(kind="quip", text=f"Quip {n}", now=clock.now()))
    run(clock, publish_next=True, max_posts=3)
    clock.advance(days=1)
    run(clock)
    monkeypatch.setattr(cli, "_now", clock.now)
    assert cli.main(["insights", "--json"]) == 0
    week = json.loads(capsys.readouterr().out)
    assert week["posts_measured"] == 3 and len(week["top_posts"]) == 3
    assert week["top_posts"][0]["rate"] == pytest.approx(0.04)  # 20 likes over 500 impressions
    assert week["first_day"] == (clock.now().date() - timedelta(days=6)).isoformat()
