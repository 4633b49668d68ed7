"""Injected network faults: a dropped connection with or without the write done, and delays in milliseconds."""

from __future__ import annotations

import pytest
import requests

from devtools.xsandbox import Fault, SandboxServer, World
from devtools.xsandbox.seed import OWNER_ID


def own_texts(world: World) -> list[str]:
    return [p.text for p in world.posts_by(OWNER_ID)]


def test_connection_reset_drops_the_connection_without_an_answer_or_a_write(
    world: World, sandbox: SandboxServer, signed: requests.Session
) -> None:
    world.inject(Fault("connection_reset", "createPosts"))
    with pytest.raises(requests.ConnectionError):
        signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "lost in transit"}, timeout=10)
    assert own_texts(world) == [] and world.bill()["requests"] == 0
    assert world.requests_log[-1] == ("POST", "/2/tweets", 0)


def test_the_sandbox_answers_again_after_a_dropped_connection(world: World, sandbox: SandboxServer, signed: requests.Session) -> None:
    world.inject(Fault("connection_reset", "createPosts"))
    with pytest.raises(requests.ConnectionError):
        signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "first try"}, timeout=10)
    retried = signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "first try"}, timeout=10)
    assert retried.status_code == 201 and own_texts(world) == ["first try"]


def test_commit_then_reset_writes_and_then_drops_the_connection(world: World, sandbox: SandboxServer, signed: requests.Session) -> None:
    world.inject(Fault("commit_then_reset", "createPosts"))
    with pytest.raises(requests.ConnectionError):
        signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "did it go out?"}, timeout=10)
    assert own_texts(world) == ["did it go out?"]
    assert world.bill()["by_operation"]["createPosts"]["usd"] == 0.015  # X did the work, so X bills it
    again = signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "did it go out?"}, timeout=10)
    assert again.status_code == 403 and "duplicate content" in again.json()["detail"]


def test_a_reset_on_a_read_reaches_plain_requests_as_a_connection_error(
    world: World, sandbox: SandboxServer, signed: requests.Session
) -> None:
    world.inject(Fault("connection_reset", "getUsersFollowers", times=2))
    url = f"{sandbox.base_url}/2/users/{OWNER_ID}/followers"
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            signed.get(url, timeout=10)
    assert signed.get(url, timeout=10).status_code == 200


def test_reset_faults_wait_millisecond_delays_before_dropping(world: World, sandbox: SandboxServer, signed: requests.Session) -> None:
    world.inject(Fault("connection_reset", "createPosts", delay_seconds=0.05))
    world.inject(Fault("commit_then_reset", "createPosts", delay_seconds=0.05))
    for text in ("one", "two"):
        with pytest.raises(requests.ConnectionError):
            signed.post(f"{sandbox.base_url}/2/tweets", json={"text": text}, timeout=10)
    assert own_texts(world) == ["two"]


def test_a_millisecond_commit_then_timeout_still_answers_a_patient_client(
    world: World, sandbox: SandboxServer, signed: requests.Session
) -> None:
    world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=0.05))
    answered = signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "slow but fine"}, timeout=10)
    assert answered.status_code == 201 and own_texts(world) == ["slow but fine"]


def test_faults_posted_to_the_control_api_take_fractional_delays_and_refuse_unknown_kinds(
    world: World, sandbox: SandboxServer, signed: requests.Session
) -> None:
    control = f"{sandbox.base_url}/__sandbox__/faults"
    assert requests.post(control, json={"kind": "commit_then_reset", "operation": "createPosts", "delay_seconds": 0.05}, timeout=10).ok
    assert world.faults[-1].delay == 0.05
    refused = requests.post(control, json={"kind": "connection_refused"}, timeout=10)
    assert refused.status_code == 400 and "unknown fault kind" in refused.json()["error"]
    with pytest.raises(requests.ConnectionError):
        signed.post(f"{sandbox.base_url}/2/tweets", json={"text": "via control"}, timeout=10)
    assert own_texts(world) == ["via control"]
