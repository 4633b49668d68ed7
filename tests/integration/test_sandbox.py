"""The sandbox itself holds callers to X's spec.

Requests here are plain `requests` signed with OAuth 1.0a (what tweepy sends), so these
tests hold the sandbox to X whatever shape the project's own X adapter takes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devtools.xsandbox import SandboxServer, World
from devtools.xsandbox.seed import OWNER_ID
from tests.sandbox.signing import signed_session


@pytest.fixture
def signed() -> Iterator[requests.Session]:
    session = signed_session()
    yield session
    session.close()


def test_unknown_query_parameter_is_refused_like_x_does(sandbox: SandboxServer, signed: requests.Session) -> None:
    response = signed.get(f"{sandbox.base_url}/2/users/{OWNER_ID}/tweets", params={"tweet.fields": "created_at"}, timeout=10)
    assert response.status_code == 400 and response.json()["title"] == "Invalid Request"
    assert "[tweet.fields]" in response.json()["errors"][0]["message"]


def test_out_of_range_parameter_is_refused(sandbox: SandboxServer, signed: requests.Session) -> None:
    response = signed.get(f"{sandbox.base_url}/2/users/{OWNER_ID}/followers", params={"max_results": 5000}, timeout=10)
    assert response.status_code == 400 and response.json()["title"] == "Invalid Request"


def test_requests_without_oauth_are_unauthorized(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.base_url}/2/tweets", json={"text": "hi"}, timeout=5)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Unauthorized"


def test_following_is_not_permitted_on_self_serve(sandbox: SandboxServer, signed: requests.Session, world: World) -> None:
    response = signed.post(f"{sandbox.base_url}/2/users/{OWNER_ID}/following", json={"target_user_id": "1700000000000000200"}, timeout=10)
    assert response.status_code == 403 and "not permitted" in response.json()["detail"]
    assert world.bill()["usd"] == 0


def test_connection_status_relates_users_to_the_caller(sandbox: SandboxServer, signed: requests.Session) -> None:
    follower = "1700000000000000200"  # follows the owner in the seed
    body = signed.get(f"{sandbox.base_url}/2/users", params={"ids": follower, "user.fields": "connection_status"}, timeout=10).json()
    assert body["data"][0]["connection_status"] == ["followed_by"]


def test_every_served_endpoint_answers_within_the_spec(signed: requests.Session) -> None:
    """Walk each endpoint the jobs use; the fixture-free server checks its own answers."""
    from devtools.xsandbox import serve
    from devtools.xsandbox.seed import demo_world

    world, _ = demo_world(follow_permitted=True)
    peer, fan = "1700000000000000100", "1700000000000000201"
    world.add_dm(fan, OWNER_ID, "Hi! Loved your post about crumb, @flockpilot_demo")
    world.add_post(fan, "hey @flockpilot_demo what flour do you use?")
    server = serve(world)
    try:
        def r(method: str, path: str, **kwargs: object) -> requests.Response:
            response = signed.request(method, server.base_url + path, timeout=10, **kwargs)  # type: ignore[arg-type]
            assert response.status_code < 300, response.text
            return response

        me = r("GET", "/2/users/me", params={"user.fields": "public_metrics,created_at,description,profile_image_url,protected,verified"}).json()
        assert me["data"]["public_metrics"]["following_count"] == 3
        followers = r("GET", f"/2/users/{peer}/followers", params={"max_results": 10, "user.fields": "public_metrics,description"}).json()
        assert len(followers["data"]) == 10 and "next_token" in followers["meta"]
        page2 = r("GET", f"/2/users/{peer}/followers", params={"max_results": 10, "pagination_token": followers["meta"]["next_token"]}).json()
        assert {u["id"] for u in page2["data"]}.isdisjoint({u["id"] for u in followers["data"]})
        r("GET", f"/2/users/{OWNER_ID}/following", params={"max_results": 100})
        r("GET", "/2/users", params={"ids": f"{fan},{peer},1", "user.fields": "connection_status,public_metrics"})
        assert r("POST", f"/2/users/{OWNER_ID}/following", json={"target_user_id": fan}).json()["data"]["following"]
        r("DELETE", f"/2/users/{OWNER_ID}/following/{fan}")
        mentions = r("GET", f"/2/users/{OWNER_ID}/mentions", params={"max_results": 5, "post.fields": "created_at", "expansions": "author_id"}).json()
        assert mentions["data"][0]["author_id"] == fan
        post_id = r("POST", "/2/tweets", json={"text": "to delete"}).json()["data"]["id"]
        r("DELETE", f"/2/tweets/{post_id}")
        target = mentions["data"][0]["id"]
        r("POST", f"/2/users/{OWNER_ID}/retweets", json={"tweet_id": target})
        r("DELETE", f"/2/users/{OWNER_ID}/retweets/{target}")
        reply = r("POST", "/2/tweets", json={"text": "Stone-ground, thanks!", "reply": {"in_reply_to_tweet_id": target}}).json()["data"]["id"]
        own = r("GET", f"/2/users/{OWNER_ID}/tweets", params={"max_results": 5, "exclude": "retweets", "start_time": "2026-11-01T00:00:00Z", "post.fields": "created_at,conversation_id,public_metrics,non_public_metrics,organic_metrics", "expansions": "referenced_posts,in_reply_to_user_id,author_id", "user.fields": "public_metrics"}).json()
        assert own["data"][0]["id"] == reply and own["data"][0]["in_reply_to_user_id"] == fan
        assert set(own["data"][0]) >= {"public_metrics", "non_public_metrics", "organic_metrics"}
        refused = r("GET", f"/2/users/{fan}/tweets", params={"post.fields": "non_public_metrics"}).json()
        assert refused["errors"][0]["type"].endswith("/not-authorized-for-field")
        dms = r("GET", "/2/dm_events", params={"max_results": 10, "expansions": "sender_id", "dm_event.fields": "created_at,dm_conversation_id", "user.fields": "public_metrics"}).json()
        assert dms["data"][0]["sender_id"] == fan and dms["includes"]["users"][0]["id"] == fan
        assert dms["data"][0]["dm_conversation_id"] == f"{OWNER_ID}-{fan}" if int(OWNER_ID) < int(fan) else True
    finally:
        server.stop()
    assert world.violations == []
    assert world.bill()["by_operation"]["getDirectMessagesEvents"]["usd"] == 0.01


def test_a_response_that_breaks_the_spec_is_recorded() -> None:
    import json

    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request, Response

    from devtools.xsandbox.app import SandboxApp

    world = World()
    app = SandboxApp(world)
    request = Request(EnvironBuilder(path="/2/tweets", method="POST").get_environ())
    app.check_response(request, Response(json.dumps({"data": {"id": "12"}}), status=201, mimetype="application/json"))
    app.check_response(request, Response("{}", status=201, mimetype="text/html"))
    assert "'text' is a required property" in world.violations[0]
    assert "text/html is not documented" in world.violations[1]
