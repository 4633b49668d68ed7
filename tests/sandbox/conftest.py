"""The X sandbox on loopback over the demo world, and a requests session signed as its owner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from requests_oauthlib import OAuth1

from devtools.xsandbox import SandboxServer, World, serve
from devtools.xsandbox.seed import DEMO_CREDENTIALS, demo_world
from tests.conftest import FakeClock


@pytest.fixture
def world(clock: FakeClock) -> World:
    w, _ = demo_world(clock=clock.now)
    return w


@pytest.fixture
def sandbox(world: World) -> Iterator[SandboxServer]:
    server = serve(world)
    yield server
    server.stop()
    assert not world.violations, f"sandbox saw spec violations: {world.violations}"


@pytest.fixture
def signed() -> Iterator[requests.Session]:
    """Plain requests, signed with OAuth 1.0a as the demo owner (what tweepy sends)."""
    session = requests.Session()
    session.auth = OAuth1(DEMO_CREDENTIALS["consumer_key"], DEMO_CREDENTIALS["consumer_secret"],
                          DEMO_CREDENTIALS["access_token"], DEMO_CREDENTIALS["access_token_secret"])
    yield session
    session.close()
