"""The X adapter over real HTTP: the sandbox on loopback (every request and response checked
against X's spec), the X adapter's OAuth 1.0a signing, timeouts that really time out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.xsandbox import SandboxServer, World, serve
from devtools.xsandbox.seed import DEMO_CREDENTIALS, OWNER_ID, demo_world
from flockpilot.adapters.x import SignedTransport, XClient
from flockpilot.domain.cost import CostMeter
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


@dataclass
class XFactory:
    sandbox: SandboxServer
    clock: FakeClock

    def __call__(self, meter: CostMeter | None = None, *, timeout: float = 10.0, **kwargs: Any) -> XClient:
        transport = SignedTransport(**DEMO_CREDENTIALS, base_url=self.sandbox.base_url, timeout=timeout)
        return XClient(transport, OWNER_ID, meter or CostMeter(), self.clock, timeout=timeout, **kwargs)


@pytest.fixture
def make_x(sandbox: SandboxServer, clock: FakeClock) -> XFactory:
    return XFactory(sandbox, clock)
