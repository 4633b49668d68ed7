"""The X adapter against the sandbox: timeouts, error mapping, retries, metering."""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.xsandbox import Fault, World
from devtools.xsandbox.seed import DEMO_CREDENTIALS, OWNER_ID
from flockpilot.adapters.x import SAFETY_MARGIN_SECONDS, HttpResult, SignedTransport, XClient
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import (
    BudgetExhausted,
    CredentialsRevoked,
    DuplicateContent,
    NotPermitted,
    OutcomeUnknown,
    OutOfTime,
    RateLimited,
    TransientError,
)
from tests.fakes.x import LambdaClock, LambdaTime
from tests.integration.conftest import XFactory


def test_a_post_reaches_the_sandbox_and_is_metered(make_x: XFactory, world: World) -> None:
    meter = CostMeter()
    post = make_x(meter).create_post("hello https://example.com", has_url=True)
    assert world.posts[post.id].text == "hello https://example.com"
    assert world.posts[post.id].author_id == OWNER_ID
    assert meter.usd == pytest.approx(0.2) == world.bill()["usd"]


def test_rate_limit_maps_with_reset_time_never_sleeps_and_gates_the_endpoint(make_x: XFactory, world: World) -> None:
    world.inject(Fault("429", "createPosts", reset_in_seconds=600))
    gated: list[tuple[str, datetime]] = []
    x = make_x(on_gate=lambda endpoint, until: gated.append((endpoint, until)))
    with pytest.raises(RateLimited) as caught:
        x.create_post("hi", has_url=False)
    assert caught.value.reset_at is not None and caught.value.reset_at > x.clock.now()
    assert x.clock.slept == []  # type: ignore[attr-defined]
    assert gated == [("POST /2/tweets", caught.value.reset_at)]
    requests = world.bill()["requests"]
    with pytest.raises(RateLimited, match="waiting for X's rate limit"):
        x.create_post("again", has_url=False)  # no request until X's reset
    assert world.bill()["requests"] == requests


def test_revoked_credentials_map_to_credentials_revoked(make_x: XFactory, world: World) -> None:
    world.revoked.add(DEMO_CREDENTIALS["access_token"])
    with pytest.raises(CredentialsRevoked) as caught:
        make_x().create_post("hi", has_url=False)
    for secret in DEMO_CREDENTIALS.values():
        assert secret not in str(caught.value)


def test_duplicate_content_is_its_own_error(make_x: XFactory) -> None:
    x = make_x()
    x.create_post("same words", has_url=False)
    with pytest.raises(DuplicateContent, match="duplicate content"):
        x.create_post("same words", has_url=False)


def test_forbidden_keeps_x_detail(make_x: XFactory, world: World) -> None:
    world.inject(Fault("forbidden", "createPosts"))
    with pytest.raises(NotPermitted, match="not permitted"):
        make_x().create_post("hi", has_url=False)


def test_server_errors_on_reads_are_retried_with_backoff(make_x: XFactory, world: World) -> None:
    world.inject(Fault("503", "getUsersPosts", times=2))
    x = make_x()
    assert x.own_posts(since=datetime(2020, 1, 1, tzinfo=UTC)).items == []
    assert len(x.clock.slept) == 2  # type: ignore[attr-defined]


def test_reads_give_up_after_bounded_retries(make_x: XFactory, world: World) -> None:
    world.inject(Fault("500", "getUsersPosts", times=5))
    with pytest.raises(TransientError):
        make_x().own_posts(since=datetime(2020, 1, 1, tzinfo=UTC))


def test_a_server_error_on_a_write_is_an_unknown_outcome(make_x: XFactory, world: World) -> None:
    world.inject(Fault("500", "followUser"))
    world.follow_permitted = True
    with pytest.raises(OutcomeUnknown):
        make_x().follow("1700000000000000200")


def test_connection_status_missing_stays_unknown(make_x: XFactory) -> None:
    users = make_x().lookup_users(["1700000000000000200"])
    assert users[0].connection is not None  # asked for: present
    from flockpilot.adapters.x import parse_user

    assert parse_user({"id": "1", "username": "a"}).follows_me is None


def test_no_retry_when_the_lambda_is_about_to_end(make_x: XFactory, world: World) -> None:
    world.inject(Fault("503", "getUsersPosts", times=1))
    # Time for the first attempt (10 s timeout + 5 s margin), not for a retry after its back-off.
    x = make_x(remaining_seconds=lambda: 15.2)
    with pytest.raises(TransientError):
        x.own_posts(since=datetime(2020, 1, 1, tzinfo=UTC))
    assert x.clock.slept == []  # type: ignore[attr-defined]
    assert len(world.requests_log) == 1


@pytest.mark.parametrize("left", [14.9, 3.0, 0.0])
def test_no_call_starts_when_the_lambda_could_end_during_it(make_x: XFactory, world: World, left: float) -> None:
    """A call Lambda could stop halfway would lose what it did and the run's spend: none is
    sent, read or write, so X neither acts nor bills."""
    world.follow_permitted = True
    meter = CostMeter()
    x = make_x(meter, remaining_seconds=lambda: left)
    with pytest.raises(OutOfTime, match=r"own_posts not sent: the function's time limit is \d+\.\d s away"):
        x.own_posts(since=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(OutOfTime, match="create_post not sent"):
        x.create_post("never sent", has_url=False)
    with pytest.raises(OutOfTime, match="follow not sent"):
        x.follow("1700000000000000200")
    assert world.requests_log == []
    assert world.bill()["requests"] == 0
    assert meter.usd == 0 and meter.requests == 0
    assert not any(p.text == "never sent" for p in world.posts.values())


def test_a_call_starts_with_exactly_the_time_it_needs(make_x: XFactory, world: World) -> None:
    x = make_x(remaining_seconds=lambda: 15.0)  # 10 s timeout + 5 s margin
    assert x.own_posts(since=datetime(2020, 1, 1, tzinfo=UTC)).items == []
    assert len(world.requests_log) == 1


def test_a_timed_out_post_is_an_unknown_outcome_not_a_retry(make_x: XFactory, world: World) -> None:
    world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=0.3))
    with pytest.raises(OutcomeUnknown):
        make_x(timeout=0.1).create_post("did it go out?", has_url=False)
    # The client gave up after 0.1 s; the sandbox may still be answering (its first request in
    # a process also compiles the spec's validators): wait until it has, then count.
    deadline = time.monotonic() + 10
    while not any(method == "POST" for method, _, _ in world.requests_log) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [p.text for p in world.posts.values()].count("did it go out?") == 1


def test_timeouts_on_reads_are_transient(make_x: XFactory, world: World) -> None:
    world.inject(Fault("timeout", "getUsersPosts", times=3, delay_seconds=0.3))
    with pytest.raises(TransientError, match="did not answer in time"):
        make_x(timeout=0.1).own_posts(since=datetime(2020, 1, 1, tzinfo=UTC))


def test_budget_stops_a_call_before_it_is_sent(make_x: XFactory, world: World) -> None:
    with pytest.raises(BudgetExhausted):
        make_x(CostMeter(limit_usd=0.1)).create_post("link https://example.com", has_url=True)
    assert world.bill()["requests"] == 0


def test_rate_limit_headers_are_read(make_x: XFactory) -> None:
    x = make_x()
    x.create_post("one", has_url=False)
    window = x.rate_window("create_post")
    assert window is not None
    assert (window.limit, window.remaining) == (100, 99)


def test_credentials_never_reach_the_logs(make_x: XFactory, world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    world.inject(Fault("503", "getUsersPosts", times=1))
    make_x().own_posts(since=datetime(2020, 1, 1, tzinfo=UTC))
    for secret in DEMO_CREDENTIALS.values():
        assert secret not in caplog.text


def test_missing_post_maps_to_not_found(make_x: XFactory) -> None:
    from flockpilot.domain.errors import NotFound

    with pytest.raises(NotFound, match="Could not find post"):
        make_x().repost("1234567890123")


def test_one_call_lasts_no_longer_than_x_timeout_even_when_connecting_was_slow(
        make_x: XFactory, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The time-limit check starts a call only when X's timeout plus the margin fit before
    Lambda's deadline: so X's timeout must bound the whole call, connecting included. A slow
    connect (0.45 s, within its own limit) then an answer 0.15 s later (within a read limit)
    must make a 0.5 s call give up (an unknown outcome, as any timed-out write), not succeed
    after 0.6 s. Judged by the outcome, not by the clock: with separate connect and read
    limits the answer arrives and the post succeeds."""
    import urllib3.util.connection

    make_x(timeout=5).own_posts(since=datetime(2020, 1, 1, tzinfo=UTC))  # the sandbox's first answer is slow: not this one
    connect = urllib3.util.connection.create_connection

    def slow_connect(*args: object, **kwargs: object) -> object:
        time.sleep(0.45)
        return connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.util.connection, "create_connection", slow_connect)
    world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=0.15))
    with pytest.raises(OutcomeUnknown):  # X did it, the answer came too late
        make_x(timeout=0.5).create_post("slow network", has_url=False)  # a new client: a new connection


class _Recording:
    """The transport, noting how much of the function's time was left as each request went out."""

    def __init__(self, inner: SignedTransport, time: LambdaTime) -> None:
        self.inner, self.time = inner, time

    def send(self, method: str, path: str, *, params: dict[str, Any] | None, json: Any) -> HttpResult:
        self.time.sent_with.append(self.time.left)
        return self.inner.send(method, path, params=params, json=json)


def _timed_client(make_x: XFactory, lt: LambdaTime) -> XClient:
    x = make_x(remaining_seconds=lt.remaining)
    x.transport = _Recording(x.transport, lt)  # type: ignore[arg-type]
    x.clock = LambdaClock(x.clock, lt)
    return x


def test_a_retry_never_sleeps_into_the_margin(make_x: XFactory, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The back-off is up to 1.5 x its base (0.5 s): 15.6 s left fit the base sleep, X's
    timeout (10 s) and the margin (5 s), not the 0.725 s this back-off draws. Before: the
    check counted 0.5 s, slept 0.725 s and sent the retry with 4.875 s of margin."""
    monkeypatch.setattr(random, "random", lambda: 0.9)
    world.inject(Fault("503", "getUsersPosts", times=1))
    lt = LambdaTime(left=15.6)
    x = _timed_client(make_x, lt)
    with pytest.raises(TransientError):
        x.own_posts(since=datetime(2020, 1, 1, tzinfo=UTC))
    assert lt.sent_with == [15.6] and len(world.requests_log) == 1
    assert x.clock.clock.slept == []  # type: ignore[attr-defined]


def test_a_retry_checks_the_deadline_again_after_its_sleep(make_x: XFactory, world: World,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A sleep can last longer than asked (a busy or throttled container): 20 s left fit the
    retry before its 0.725 s back-off, but the container woke 5 s late. The retry is not sent
    (OutOfTime: X did nothing, billed nothing); before, it went out with 4.3 s to the limit."""
    monkeypatch.setattr(random, "random", lambda: 0.9)
    world.inject(Fault("503", "getUsersPosts", times=1))
    lt = LambdaTime(left=20.0, oversleep=5.0)
    meter = CostMeter()
    x = _timed_client(make_x, lt)
    x.meter = meter
    with pytest.raises(OutOfTime, match=r"own_posts \(its retry after HTTP 503.*\) not sent"):
        x.own_posts(since=datetime(2020, 1, 1, tzinfo=UTC))
    assert len(world.requests_log) == 1 and lt.sent_with == [20.0]
    assert all(left - x.timeout >= SAFETY_MARGIN_SECONDS for left in lt.sent_with)
    assert meter.usd == 0 == world.bill()["usd"]
    lt.oversleep = 0.0  # the same retry on time: it is sent, and answered
    world.inject(Fault("503", "getUsersPosts", times=1))
    lt.left = 20.0
    assert x.own_posts(since=datetime(2020, 1, 1, tzinfo=UTC)).items == []
    assert len(lt.sent_with) == 3 and all(left - x.timeout >= SAFETY_MARGIN_SECONDS for left in lt.sent_with)
