"""The sandbox itself holds callers to X's spec."""

from __future__ import annotations

import pytest
import requests

from devtools.xsandbox import SandboxServer, World
from tests.integration.conftest import XFactory


def test_unknown_query_parameter_is_refused_like_x_does(make_x: XFactory) -> None:
    x = make_x()
    with pytest.raises(Exception, match="tweet.fields"):
        x._client.request("GET", f"/2/users/{x.user_id}/tweets", params={"tweet.fields": "created_at"}, user_auth=True)


def test_out_of_range_parameter_is_refused(make_x: XFactory) -> None:
    x = make_x()
    with pytest.raises(Exception, match="Invalid"):
        x._client.request("GET", f"/2/users/{x.user_id}/followers", params={"max_results": 5000}, user_auth=True)


def test_requests_without_oauth_are_unauthorized(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.base_url}/2/tweets", json={"text": "hi"}, timeout=5)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Unauthorized"


def test_following_is_not_permitted_on_self_serve(make_x: XFactory, world: World) -> None:
    x = make_x()
    with pytest.raises(Exception, match="not permitted"):
        x._client.request("POST", f"/2/users/{x.user_id}/following", json={"target_user_id": "1700000000000000200"}, user_auth=True)
    assert world.bill()["usd"] == 0


def test_connection_status_relates_users_to_the_caller(make_x: XFactory, world: World) -> None:
    x = make_x()
    follower = "1700000000000000200"  # follows the owner in the seed
    body = x._client.request("GET", "/2/users", params={"ids": follower, "user.fields": "connection_status"}, user_auth=True).json()
    assert body["data"][0]["connection_status"] == ["followed_by"]
