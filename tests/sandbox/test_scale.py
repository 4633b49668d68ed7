"""A world the size of a grown account: 100,000 followers and 100,000 follows, served in pages of 1,000."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devtools.xsandbox import SandboxServer, User, World, serve
from devtools.xsandbox.seed import DEMO_CREDENTIALS, OWNER_ID
from tests.conftest import FakeClock

SIZE = 100_000
FANS = [str(3_000_000_000_000_000_000 + i) for i in range(SIZE)]  # in the order they followed
FRIENDS = [str(4_000_000_000_000_000_000 + i) for i in range(SIZE)]  # in the order they were followed
MUTUALS = FRIENDS[:1000]  # the oldest thousand follows followed back, before any fan


@pytest.fixture
def big(clock: FakeClock) -> Iterator[tuple[World, SandboxServer]]:
    world = World(clock=clock.now)
    world.add_user(User(OWNER_ID, "owner", "Owner"))
    world.grant(OWNER_ID, DEMO_CREDENTIALS["consumer_key"], DEMO_CREDENTIALS["access_token"])
    world.add_users(User(u, f"fan{i}", f"Fan {i}") for i, u in enumerate(FANS))
    world.add_users(User(u, f"friend{i}", f"Friend {i}") for i, u in enumerate(FRIENDS))
    world.add_following(OWNER_ID, FRIENDS)
    world.add_followers(OWNER_ID, MUTUALS + FANS)
    for fan in FANS[-3:]:
        world.add_post(fan, f"hello from {fan}")
    server = serve(world)
    yield world, server
    server.stop()
    assert world.violations == []


def read_all(signed: requests.Session, url: str) -> list[str]:
    ids: list[str] = []
    token = None
    while True:
        params: dict[str, str | int] = {"max_results": 1000, **({"pagination_token": token} if token else {})}
        body = signed.get(url, params=params, timeout=30).json()
        assert body["meta"]["result_count"] == len(body["data"]) <= 1000
        ids += [u["id"] for u in body["data"]]
        token = body["meta"].get("next_token")
        if token is None:
            return ids


def test_a_100k_follower_world_pages_newest_first_without_gaps_or_repeats(
    big: tuple[World, SandboxServer], signed: requests.Session
) -> None:
    world, _ = big
    # Every page's shape is the one checked in the next test; here 201 pages are read for
    # order, gaps and repeats, without checking each against the spec (9 s of the suite).
    server = serve(world, validate=False)
    try:
        followers = read_all(signed, f"{server.base_url}/2/users/{OWNER_ID}/followers")
        assert len(followers) == len(set(followers)) == SIZE + len(MUTUALS)
        assert followers == (MUTUALS + FANS)[::-1]
        following = read_all(signed, f"{server.base_url}/2/users/{OWNER_ID}/following")
        assert following == FRIENDS[::-1]
        assert world.bill()["by_operation"]["getUsersFollowers"]["resources"] == SIZE + len(MUTUALS)
    finally:
        server.stop()


def test_a_full_page_of_the_big_world_carries_counts_and_latest_posts(
    big: tuple[World, SandboxServer], signed: requests.Session
) -> None:
    _, server = big
    body = signed.get(f"{server.base_url}/2/users/{OWNER_ID}/followers", timeout=30, params={
        "max_results": 1000, "user.fields": "public_metrics,connection_status,description,created_at",
        "expansions": "most_recent_post_id", "post.fields": "lang,created_at"}).json()
    newest = body["data"][0]
    assert newest["id"] == FANS[-1] and newest["connection_status"] == ["followed_by"]
    assert newest["public_metrics"] == {"followers_count": 0, "following_count": 1, "post_count": 1, "listed_count": 0}
    assert [p["id"] for p in body["includes"]["posts"]] == [u["most_recent_post_id"] for u in body["data"][:3]]
    me = signed.get(f"{server.base_url}/2/users/me", params={"user.fields": "public_metrics"}, timeout=30).json()
    assert me["data"]["public_metrics"]["followers_count"] == SIZE + len(MUTUALS)
    assert me["data"]["public_metrics"]["following_count"] == SIZE
