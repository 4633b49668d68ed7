"""Shared fixtures: a Lambda context, event files, a clock, and the real local services
(DynamoDB Local, the X sandbox, moto) for integration tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flockpilot.invoke import LocalContext

ROOT = Path(__file__).resolve().parents[1]


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
def _reset_powertools() -> Iterator[None]:
    yield
    from aws_lambda_powertools.utilities import parameters

    from flockpilot.observability import metrics

    metrics.clear_metrics()
    parameters.clear_caches()
