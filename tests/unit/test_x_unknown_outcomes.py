"""The X adapter's meter when a write's outcome is unknown: against the sandbox in-process
(its bill is what X would charge), the meter must never count less than X billed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.app import SandboxApp
from devtools.xsandbox.seed import OWNER_ID, demo_world
from devtools.xsandbox.world import World
from flockpilot.adapters.x import HttpResult, TransportError, XClient
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import OutcomeUnknown, TransientError
from flockpilot.pricing import price
from tests.conftest import FakeClock
from tests.fakes.x import SandboxTransport

TARGET = "1700000000000000200"
TIMEOUT = 0.02
SLOW = 0.05

WRITES: dict[str, tuple[str, str, Callable[[XClient], object]]] = {
    # name: (the sandbox's operation, the price kind, the call)
    "post": ("createPosts", "post_create", lambda x: x.create_post("did it go out?", has_url=False)),
    "post with a link": ("createPosts", "post_create_url",
                         lambda x: x.create_post("read https://example.com/a", has_url=True)),
    "follow": ("followUser", "interaction_create", lambda x: x.follow(TARGET)),
    "unfollow": ("unfollowUser", "interaction_delete", lambda x: x.unfollow(TARGET)),
}
UNKNOWN = ("commit_then_timeout", "commit_then_reset", "timeout", "connection_reset", "500", "503")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))


@pytest.fixture
def world(clock: FakeClock) -> World:
    w, _ = demo_world(clock=clock.now)
    w.follow_permitted = True
    w.follow(OWNER_ID, TARGET)  # someone to unfollow
    return w


def client(world: World, clock: FakeClock, meter: CostMeter) -> XClient:
    app = SandboxApp(world, validate=False)
    return XClient(SandboxTransport(app, timeout=TIMEOUT), OWNER_ID, meter, clock, timeout=TIMEOUT)


@pytest.mark.parametrize("fault", UNKNOWN)
@pytest.mark.parametrize("write", WRITES)
def test_a_write_with_an_unknown_outcome_is_charged_at_its_price(world: World, clock: FakeClock, write: str,
                                                                  fault: str) -> None:
    operation, price_kind, call = WRITES[write]
    world.inject(Fault(fault, operation, delay_seconds=SLOW if "timeout" in fault else None))
    meter = CostMeter(limit_usd=1.0)
    with pytest.raises(OutcomeUnknown):
        call(client(world, clock, meter))
    assert meter.usd == pytest.approx(price(price_kind)) and meter.unconfirmed == 1
    assert meter.requests == 1  # never retried
    assert meter.usd >= world.bill()["usd"] - 1e-9  # X billed it, or nothing (the sandbox bills no 5xx)


@pytest.mark.parametrize("write", WRITES)
def test_a_confirmed_write_is_charged_once(world: World, clock: FakeClock, write: str) -> None:
    _, price_kind, call = WRITES[write]
    meter = CostMeter()
    call(client(world, clock, meter))
    assert meter.usd == pytest.approx(price(price_kind)) == world.bill()["usd"] and meter.unconfirmed == 0


class NeverSent:
    """A transport that could not connect: the request never left."""

    def send(self, method: str, path: str, *, params: dict[str, Any] | None, json: Any) -> HttpResult:
        raise TransportError("could not connect to X", sent=False)


def test_a_write_never_sent_costs_nothing(clock: FakeClock) -> None:
    meter = CostMeter()
    x = XClient(NeverSent(), OWNER_ID, meter, clock, timeout=TIMEOUT)
    with pytest.raises(TransientError):
        x.follow(TARGET)
    assert (meter.requests, meter.usd, meter.unconfirmed) == (1, 0.0, 0)


def test_a_read_that_fails_is_still_free_and_retried(world: World, clock: FakeClock) -> None:
    world.inject(Fault("503", "getUsersPosts", times=2))
    meter = CostMeter()
    client(world, clock, meter).own_posts(since=datetime(2026, 11, 1, tzinfo=UTC))
    assert meter.requests == 3 and meter.unconfirmed == 0 and meter.usd == world.bill()["usd"]


@pytest.mark.parametrize("fault", ["commit_then_timeout", "commit_then_reset"])
def test_a_read_whose_answer_was_lost_is_charged_as_if_billed_then_retried(world: World, clock: FakeClock, fault: str) -> None:
    """X answered and may have billed, but the answer never arrived: the read is charged at
    the most it may have cost (`unconfirmed`), never $0, and the retry is paid as usual, so
    the meter never counts less than X billed."""
    world.inject(Fault(fault, "getUsersPosts", delay_seconds=SLOW if "timeout" in fault else None))
    meter = CostMeter(limit_usd=1.0)
    client(world, clock, meter).own_posts(since=datetime(2026, 11, 1, tzinfo=UTC), max_results=20)
    assert meter.requests == 2 and meter.unconfirmed == 1
    assert meter.usd >= price("owned_read") * 20 and meter.usd >= world.bill()["usd"] - 1e-9


def test_a_lost_reads_retry_must_fit_the_money_left(world: World, clock: FakeClock) -> None:
    """The lost read is charged in full; a retry that would then pass the run's limit is not
    sent (BudgetExhausted: a stop the jobs report as partial), so spend never passes it."""
    from flockpilot.domain.errors import BudgetExhausted

    world.inject(Fault("commit_then_reset", "getUsersPosts"))
    meter = CostMeter(limit_usd=price("owned_read") * 30)  # one page of 20 fits, two do not
    with pytest.raises(BudgetExhausted):
        client(world, clock, meter).own_posts(since=datetime(2026, 11, 1, tzinfo=UTC), max_results=20)
    assert meter.requests == 1 and meter.unconfirmed == 1 and meter.usd <= price("owned_read") * 30 + 1e-9
