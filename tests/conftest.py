"""Shared fixtures: a clock, a Lambda context, event files, and the real local services
(DynamoDB Local with one table, moto) started once per test session."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from flockpilot.invoke import LocalContext


# The fault matrix's table (tests/faults/conftest.py) is cleared and joined here: the process
# that runs the session under xdist loads this conftest, never the one in tests/faults/.
def pytest_sessionstart(session: pytest.Session) -> None:
    from tests.faults.conftest import start_matrix

    start_matrix(session)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.faults.conftest import write_matrix

    write_matrix(terminalreporter)


# No per-example deadline: an example's wall time is the machine's, not the code's. A first
# call that compiles X's URL regexes (domain.text._patterns, ~0.4 s) or a stall on a loaded
# CI box can push one example past Hypothesis' 200 ms default, which it then reports as a
# FlakyFailure ("Unreliable test timings") because the replay is fast.
settings.register_profile("flockpilot", deadline=None)
settings.load_profile("flockpilot")

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"


class FakeClock:
    """A clock the test moves by hand; sleeping advances it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self.current = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))


@pytest.fixture
def lambda_context() -> LocalContext:
    return LocalContext("post")


@pytest.fixture
def load_event() -> Any:
    def load(name: str) -> dict[str, Any]:
        return dict(json.loads((ROOT / "events" / name).read_text()))

    return load


@pytest.fixture(autouse=True)
def _environ_restored() -> Iterator[None]:
    """What a test's code sets in os.environ (the CLI's run defaults, say) does not leak into
    the tests after it."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and region, so no SDK goes looking on the network for real ones."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(autouse=True)
def _reset_powertools() -> Iterator[None]:
    yield
    from flockpilot.adapters.secrets import forget_cached_secrets
    from flockpilot.observability import metrics
    from flockpilot.runtime import forget_container_state

    metrics.clear_metrics()
    forget_cached_secrets()
    forget_container_state()  # tests reuse account ids, tables and clock times: no test sees another's reads


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[Any]:
    """Amazon DynamoDB Local, once per session, with the table template.yaml declares."""
    from devtools import dynamodb_local
    from flockpilot.adapters import dynamo

    ddb = dynamodb_local.start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        dynamo.bind("flockpilot-test", REGION, ddb.endpoint)
        dynamo.create_table()
    yield ddb
    ddb.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from devtools.dynamodb_local import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def account_id() -> str:
    """A fresh account per test: tests share the session's table, never its items."""
    return str(1_900_000_000_000_000_000 + uuid.uuid4().int % 10**17)


def concurrently(*calls: Callable[[], Any]) -> list[Any]:
    """Run `calls` at once, one thread each; their results in the calls' order. A call that
    raised fails the caller (the first such error is raised once all have ended): an error in
    a thread never just vanishes."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
