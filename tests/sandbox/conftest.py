"""The X sandbox on loopback over the demo world, and a requests session signed as its owner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devtools.xsandbox import SandboxServer, World, serve
from devtools.xsandbox.seed import demo_world
from tests.conftest import FakeClock
from tests.sandbox.signing import signed_session


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
    session = signed_session()
    yield session
    session.close()
