"""The X port in memory: the real XClient over the X sandbox called in-process.

There is one model of X in this project, the sandbox (devtools/xsandbox): the same world
answers the end-to-end tests over HTTP (every request and response checked against X's
spec) and the job tests here, without sockets or threads. The transport below plays the
network's part: an answer the sandbox delayed past the timeout is a timeout (X may have
acted), judged from the delay the sandbox reports rather than the wall clock, so a busy
machine never turns a quick answer into a timeout; an exception inside the app is a dropped
connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.test import Client

from devtools.xsandbox.app import SandboxApp
from devtools.xsandbox.seed import DEMO_CREDENTIALS, OWNER_ID
from devtools.xsandbox.world import World
from flockpilot.adapters.x import HttpResult, TransportError, XClient
from flockpilot.domain.cost import CostMeter
from flockpilot.ports import AccountRecords, Clock, XApi


@dataclass
class LambdaTime:
    """The function's time left, as Lambda's context reports it (`remaining`): each request
    to X uses `per_call` seconds of it (a write `per_write`, if given), plus any delay the
    sandbox injected."""

    left: float
    per_call: float = 1.0
    per_write: float | None = None  # a write's share (POST, DELETE), if not per_call
    short_below: float = 0.0  # counts the times `remaining` was asked with less than this left
    short: int = 0
    oversleep: float = 0.0  # a sleep (a retry's back-off) takes this much longer than asked: a busy container
    sent_with: list[float] = field(default_factory=list)  # the time left as each request went out

    def remaining(self) -> float:
        if self.left < self.short_below:
            self.short += 1
        return self.left

    def spend(self, seconds: float) -> None:
        self.left -= seconds


@dataclass
class LambdaClock:
    """The run's clock as the function lives it: a sleep (a retry's back-off) uses up the
    function's time as well, and `time.oversleep` more."""

    clock: Clock
    time: LambdaTime

    def now(self) -> datetime:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)
        self.time.spend(seconds + self.time.oversleep)


class SandboxTransport:
    """Sends the XClient's requests straight into the sandbox's WSGI app."""

    def __init__(self, app: SandboxApp, *, access_token: str = DEMO_CREDENTIALS["access_token"],
                 consumer_key: str = DEMO_CREDENTIALS["consumer_key"], timeout: float = 5.0,
                 lambda_time: LambdaTime | None = None) -> None:
        self.client = Client(app)
        self.auth = f'OAuth oauth_consumer_key="{consumer_key}", oauth_token="{access_token}"'
        self.timeout = timeout
        self.lambda_time = lambda_time
        self.sent: list[tuple[str, str]] = []

    def send(self, method: str, path: str, *, params: dict[str, Any] | None, json: Any) -> HttpResult:
        self.sent.append((method, path))
        delays: list[float] = []
        if self.lambda_time is not None:
            t = self.lambda_time
            t.sent_with.append(t.left)
            t.spend(t.per_write if t.per_write is not None and method in ("POST", "DELETE") else t.per_call)
        try:
            response = self.client.open(path, method=method, query_string=urlencode(params or {}), json=json,
                                        headers={"Authorization": self.auth}, environ_overrides={"xsandbox.delays": delays})
        except Exception as exc:  # the app dropped the connection mid-request
            raise TransportError(f"the connection to X broke ({type(exc).__name__})", sent=True) from None
        if self.lambda_time is not None:
            self.lambda_time.spend(min(sum(delays), self.timeout))
        if sum(delays) > self.timeout:
            raise TransportError("X did not answer in time", sent=True)
        body = response.get_json(silent=True)
        return HttpResult(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                          body if isinstance(body, dict) else {})


def sandbox_x(world: World | SandboxApp, clock: Clock, records: AccountRecords | None = None, *, validate: bool = False,
              timeout: float = 5.0, owner_id: str = OWNER_ID, lambda_time: LambdaTime | None = None) -> Callable[[CostMeter], XApi]:
    """An X factory for job tests: each run's XClient talks to `world` in-process, gated by
    the rate-limit resets stored in `records`, as production wires it. (Pass a SandboxApp to
    reuse one: building its routes costs milliseconds.)"""
    app = world if isinstance(world, SandboxApp) else SandboxApp(world, validate=validate)

    def connect(meter: CostMeter) -> XApi:
        return XClient(SandboxTransport(app, timeout=timeout, lambda_time=lambda_time), owner_id, meter,
                       clock if lambda_time is None else LambdaClock(clock, lambda_time), timeout=timeout,
                       remaining_seconds=lambda_time.remaining if lambda_time is not None else (lambda: float("inf")),
                       gates=records.gates() if records is not None else {},
                       on_gate=records.set_gate if records is not None else (lambda endpoint, until: None))

    return connect
