"""Own posts with their metrics, timelines with X's bounds and rules, and replies."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import requests

from devtools.xsandbox import Post, SandboxServer, World
from devtools.xsandbox.seed import OWNER_ID
from tests.conftest import FakeClock

PEER = "1700000000000000100"  # @breadnerd: one post in the seed
ALL_METRICS = "public_metrics,non_public_metrics,organic_metrics,created_at"


def own_post(world: World, clock: FakeClock, text: str, *, days_ago: float = 0, **figures: int) -> Post:
    post = world.add_post(OWNER_ID, text, at=clock.current - timedelta(days=days_ago))
    if figures:
        world.set_metrics(post.id, **figures)
    return post


def timeline(signed: requests.Session, sandbox: SandboxServer, user_id: str = OWNER_ID, **params: Any) -> dict[str, Any]:
    response = signed.get(f"{sandbox.base_url}/2/users/{user_id}/tweets", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def peer_post(world: World) -> Post:
    return world.posts_by(PEER)[0]


def test_own_recent_post_shows_public_non_public_and_organic_metrics_in_x_shapes(
    world: World, clock: FakeClock, sandbox: SandboxServer, signed: requests.Session
) -> None:
    post = own_post(world, clock, "Fresh loaf today https://bakery.example.com/loaf", days_ago=2, likes=7, reposts=2, replies=3,
                    quotes=1, bookmarks=4, impressions=900, url_link_clicks=12, user_profile_clicks=5)
    [shown] = timeline(signed, sandbox, **{"post.fields": ALL_METRICS})["data"]
    assert shown["id"] == post.id and shown["created_at"] == "2026-11-23T07:00:00.000Z"
    assert shown["public_metrics"] == {"repost_count": 2, "reply_count": 3, "like_count": 7, "quote_count": 1,
                                       "bookmark_count": 4, "impression_count": 900}
    assert shown["non_public_metrics"] == {"impression_count": 900, "user_profile_clicks": 5, "url_link_clicks": 12, "engagements": 34}
    assert shown["organic_metrics"] == {"impression_count": 900, "like_count": 7, "reply_count": 3, "retweet_count": 2,
                                        "user_profile_clicks": 5, "url_link_clicks": 12}


def test_link_clicks_appear_only_on_posts_with_a_link(world: World, clock: FakeClock, sandbox: SandboxServer, signed: requests.Session) -> None:
    own_post(world, clock, "No link here", impressions=10, engagements=2)
    [shown] = timeline(signed, sandbox, **{"post.fields": ALL_METRICS})["data"]
    assert shown["non_public_metrics"] == {"impression_count": 10, "user_profile_clicks": 0, "engagements": 2}
    assert "url_link_clicks" not in shown["organic_metrics"]


def test_metrics_model_figures_are_computed_when_read(world: World, clock: FakeClock, sandbox: SandboxServer, signed: requests.Session) -> None:
    own_post(world, clock, "Crumb shot", likes=1)
    world.metrics_model = lambda post, at: {"impressions": int((at - post.created_at) / timedelta(hours=1)) * 10}
    clock.advance(hours=3)
    [shown] = timeline(signed, sandbox, **{"post.fields": "public_metrics"})["data"]
    assert shown["public_metrics"]["impression_count"] == 30 and shown["public_metrics"]["like_count"] == 1


def test_private_metrics_keep_the_own_timeline_to_the_last_30_days(
    world: World, clock: FakeClock, sandbox: SandboxServer, signed: requests.Session
) -> None:
    old = own_post(world, clock, "Old post", days_ago=31)
    recent = own_post(world, clock, "Recent post", days_ago=29)
    assert [p["id"] for p in timeline(signed, sandbox, **{"post.fields": "public_metrics"})["data"]] == [recent.id, old.id]
    body = timeline(signed, sandbox, **{"post.fields": "organic_metrics"})
    assert [p["id"] for p in body["data"]] == [recent.id] and "errors" not in body
    assert world.bill()["by_operation"]["getUsersPosts"]["resources"] == 3


def test_private_metrics_of_someone_elses_posts_are_refused_per_post_and_not_billed(
    world: World, sandbox: SandboxServer, signed: requests.Session
) -> None:
    target = peer_post(world)
    body = timeline(signed, sandbox, PEER, **{"post.fields": "non_public_metrics,public_metrics"})
    assert "data" not in body and body["meta"]["result_count"] == 0
    [error] = body["errors"]
    assert error["type"] == "https://api.x.com/2/problems/not-authorized-for-field"
    assert (error["field"], error["resource_id"], error["section"]) == ("non_public_metrics.impression_count", target.id, "data")
    assert world.bill()["by_operation"]["getUsersPosts"]["resources"] == 0
    public = timeline(signed, sandbox, PEER, **{"post.fields": "public_metrics"})
    assert public["data"][0]["public_metrics"]["like_count"] == 0
    assert world.bill()["by_operation"]["getUsersPosts"]["usd"] == 0.005  # someone else's post: a post read


def test_timeline_keeps_to_time_and_id_bounds(world: World, clock: FakeClock, sandbox: SandboxServer, signed: requests.Session) -> None:
    five, three, one = (own_post(world, clock, f"{d} days ago", days_ago=d) for d in (5, 3, 1))
    iso = {d: (clock.current - timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ") for d in (5, 4, 3, 2)}
    assert [p["id"] for p in timeline(signed, sandbox, start_time=iso[4], end_time=iso[2])["data"]] == [three.id]
    assert [p["id"] for p in timeline(signed, sandbox, start_time=iso[5], end_time=iso[3])["data"]] == [three.id, five.id]  # both inclusive
    assert [p["id"] for p in timeline(signed, sandbox, since_id=five.id)["data"]] == [one.id, three.id]
    assert [p["id"] for p in timeline(signed, sandbox, until_id=one.id)["data"]] == [three.id, five.id]
    refused = signed.get(f"{sandbox.base_url}/2/users/{OWNER_ID}/tweets", params={"start_time": iso[2], "end_time": iso[4]}, timeout=10)
    assert refused.status_code == 400 and refused.json()["title"] == "Invalid Request"
    assert "start_time" in refused.json()["errors"][0]["message"]


def test_exclude_leaves_out_replies_and_reposts(world: World, clock: FakeClock, sandbox: SandboxServer, signed: requests.Session) -> None:
    root = own_post(world, clock, "Thread start")
    reply = signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "and more", "reply": {"in_reply_to_tweet_id": root.id}}, timeout=10)
    repost = signed.post(f"{sandbox.base_url}/2/users/{OWNER_ID}/retweets", json={"tweet_id": peer_post(world).id}, timeout=10)
    assert reply.status_code == 201 and repost.status_code == 200
    assert len(timeline(signed, sandbox)["data"]) == 3
    assert [p["id"] for p in timeline(signed, sandbox, exclude="replies,retweets")["data"]] == [root.id]
    assert len(timeline(signed, sandbox, exclude="retweets")["data"]) == 2


def test_max_results_is_held_to_5_through_100(sandbox: SandboxServer, signed: requests.Session) -> None:
    for size in (4, 101):
        response = signed.get(f"{sandbox.base_url}/2/users/{OWNER_ID}/tweets", params={"max_results": size}, timeout=10)
        assert response.status_code == 400 and response.headers["content-type"].startswith("application/problem+json")


def test_pages_walk_the_timeline_newest_first_and_bill_each_post_as_an_owned_read(
    world: World, clock: FakeClock, sandbox: SandboxServer, signed: requests.Session
) -> None:
    posts = [own_post(world, clock, f"post {i}", days_ago=12 - i) for i in range(12)]
    seen: list[str] = []
    token = None
    while True:
        body = timeline(signed, sandbox, max_results=5, **({"pagination_token": token} if token else {}))
        seen += [p["id"] for p in body["data"]]
        assert body["meta"]["newest_id"] == body["data"][0]["id"] and body["meta"]["oldest_id"] == body["data"][-1]["id"]
        token = body["meta"].get("next_token")
        if token is None:
            break
    assert seen == [p.id for p in reversed(posts)]
    line = world.bill()["by_operation"]["getUsersPosts"]
    assert (line["requests"], line["resources"], line["usd"]) == (3, 12, 0.012)


def test_a_reply_records_the_post_it_answers(world: World, sandbox: SandboxServer, signed: requests.Session) -> None:
    target = peer_post(world)
    created = signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "Rye, mostly!", "reply": {"in_reply_to_tweet_id": target.id}}, timeout=10)
    assert created.status_code == 201
    post_id = created.json()["data"]["id"]
    assert world.posts[post_id].in_reply_to_id == target.id
    state = requests.get(f"{sandbox.base_url}/__sandbox__/state", timeout=10).json()
    assert {"id": post_id, "author_id": OWNER_ID, "text": "Rye, mostly!", "in_reply_to_id": target.id} in state["posts"]
    body = timeline(signed, sandbox, **{"post.fields": "conversation_id", "expansions": "referenced_posts,in_reply_to_user_id"})
    [shown] = body["data"]
    assert shown["referenced_posts"] == [{"type": "replied_to", "id": target.id}]
    assert shown["in_reply_to_user_id"] == PEER and shown["conversation_id"] == target.id
    assert [p["id"] for p in body["includes"]["posts"]] == [target.id]
    assert [u["id"] for u in body["includes"]["users"]] == [PEER]


def test_private_metrics_are_refused_on_someone_elses_referenced_post(world: World, sandbox: SandboxServer, signed: requests.Session) -> None:
    target = peer_post(world)
    signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "Agreed", "reply": {"in_reply_to_tweet_id": target.id}}, timeout=10)
    body = timeline(signed, sandbox, **{"post.fields": "organic_metrics", "expansions": "referenced_posts"})
    assert "organic_metrics" in body["data"][0] and "includes" not in body
    assert [(e["resource_id"], e["section"]) for e in body["errors"]] == [(target.id, "includes")]


def test_a_reply_to_a_missing_post_is_refused_as_x_does(world: World, sandbox: SandboxServer, signed: requests.Session) -> None:
    before = len(world.posts)
    refused = signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "Hello?", "reply": {"in_reply_to_tweet_id": "1234567890"}}, timeout=10)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "You attempted to reply to a Tweet that is deleted or not visible to you."
    assert len(world.posts) == before and world.bill()["usd"] == 0


def test_a_reply_repeating_an_earlier_post_is_duplicate_content(world: World, clock: FakeClock, sandbox: SandboxServer,
                                                                signed: requests.Session) -> None:
    own_post(world, clock, "Same words")
    refused = signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "Same words", "reply": {"in_reply_to_tweet_id": peer_post(world).id}},
                          timeout=10)
    assert refused.status_code == 403 and "duplicate content" in refused.json()["detail"]


def test_text_is_shown_as_x_shows_it_escaped_with_t_co_links(world: World, clock: FakeClock, sandbox: SandboxServer,
                                                             signed: requests.Session) -> None:
    """X answers a post's creation and every read with its text HTML-escaped (&, <, >) and each
    link it finds, a bare domain too, as a t.co link; the world keeps the text as sent."""
    sent = "Salt & <butter> at example.com, recipe: https://bakery.example.com/loaf?a=1&b=2."
    created = signed.post(f"{sandbox.base_url}/2/tweets", json={"text": sent}, timeout=10)
    assert created.status_code == 201, created.text
    shown = created.json()["data"]["text"]
    assert re.fullmatch(r"Salt &amp; &lt;butter&gt; at https://t\.co/\w{10}, recipe: https://t\.co/\w{10}\.", shown), shown
    [read] = timeline(signed, sandbox)["data"]
    assert read["text"] == shown
    assert world.posts[created.json()["data"]["id"]].text == sent
