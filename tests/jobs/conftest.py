"""Job behaviour on fakes: the in-memory store and the sandbox in-process. Each test runs
in milliseconds; day- and hour-sensitive ones run in UTC, Asia/Tokyo and Los Angeles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devtools.xsandbox.app import SandboxApp
from devtools.xsandbox.seed import OWNER_ID, demo_world
from devtools.xsandbox.world import World
from flockpilot.domain.content import ContentItem, new_item
from flockpilot.events import DigestEvent, FollowEvent, PostEvent, PruneEvent
from flockpilot.jobs.digest import DigestDeps, DigestSummary, run_digest
from flockpilot.jobs.follow import FollowDeps, FollowSummary, run_follow
from flockpilot.jobs.post import PostDeps, PostSummary, run_post
from flockpilot.jobs.prune import PruneDeps, PruneSummary, run_prune
from flockpilot.jobs.skeleton import Account
from flockpilot.settings import account_settings
from tests.conftest import FakeClock
from tests.fakes.store import MemoryStore
from tests.fakes.x import LambdaTime, sandbox_x

ZONES = ("UTC", "Asia/Tokyo", "America/Los_Angeles")


@dataclass
class FakeMailer:
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    fail_with: Exception | None = None

    def __call__(self, subject: str, html: str, text: str) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((subject, html, text))
        return f"msg-{len(self.sent)}"


@dataclass
class Harness:
    """One account on fakes. Each run builds its settings afresh, as an invocation does."""

    world: World
    store: MemoryStore
    clock: FakeClock
    env: dict[str, str]
    mail: FakeMailer = field(default_factory=FakeMailer)
    x_timeout: float = 5.0
    app: SandboxApp | None = None
    lambda_time: LambdaTime | None = None  # None: time never runs out; else each run's X calls use it up

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.env.get("TIME_ZONE", "UTC"))

    def account(self) -> Account:
        settings = account_settings(self.env, self.store.overrides())
        if self.app is None:
            self.app = SandboxApp(self.world, validate=False)
        x = sandbox_x(self.app, self.clock, self.store, timeout=self.x_timeout, lambda_time=self.lambda_time)
        return Account(OWNER_ID, settings, self.store, self.clock, x)

    def post(self, **event: Any) -> PostSummary:
        return run_post(PostDeps(self.account(), self.store, self.store), PostEvent(**event))

    def follow(self, **event: Any) -> FollowSummary:
        return run_follow(FollowDeps(self.account(), self.store), FollowEvent(**event))

    def prune(self, **event: Any) -> PruneSummary:
        return run_prune(PruneDeps(self.account(), self.store), PruneEvent(**event))

    def digest(self, **event: Any) -> DigestSummary:
        return run_digest(DigestDeps(self.account(), self.store, self.store, self.store, self.store, self.mail,
                                     self.env.get("SENDER_EMAIL", "flockpilot@example.com")), DigestEvent(**event))

    def own_posts(self) -> list[str]:
        return [p.text for p in self.world.posts.values() if p.author_id == OWNER_ID]

    def local(self, hour: int, minute: int = 0, days: int = 0) -> datetime:
        """A time on the account's own day (or `days` later), in UTC."""
        today = self.clock.now().astimezone(self.zone).date() + timedelta(days=days)
        return datetime.combine(today, time(hour, minute), tzinfo=self.zone).astimezone(UTC)

    def at_local(self, hour: int, minute: int = 0, days: int = 0) -> None:
        self.clock.current = self.local(hour, minute, days)

    def stock(self, *, quips: int = 6, articles: int = 5, pitch: bool = True) -> list[ContentItem]:
        now = self.clock.now()
        items = [new_item(kind="quip", text=f"Quip {i} about bread", now=now, evergreen=True, cooldown_days=7) for i in range(quips)]
        items += [new_item(kind="article", text=f"Article {i}", url=f"https://example.com/a{i}", now=now) for i in range(articles)]
        if pitch:
            items.append(new_item(kind="pitch", text="Buy the kit", url="https://example.com/kit", now=now))
        for item in items:
            self.store.add_content(item)
        return items


def make_harness(zone: str = "UTC", **env: str) -> Harness:
    # 07:00 on 25 Nov 2026 in the account's own zone: before active hours start.
    local_start = datetime(2026, 11, 25, 7, 0, tzinfo=ZoneInfo(zone))
    clock = FakeClock(local_start.astimezone(UTC))
    world, _ = demo_world(clock=clock.now)
    settings = {"MODE": "live", "TIME_ZONE": zone, "MONTHLY_BUDGET_USD": "60", **env}
    return Harness(world, MemoryStore(OWNER_ID), clock, settings)


@pytest.fixture(params=ZONES)
def zone(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def h(zone: str) -> Iterator[Harness]:
    harness = make_harness(zone)
    yield harness
    assert not harness.world.violations, harness.world.violations


@pytest.fixture
def h_utc() -> Harness:
    return make_harness("UTC")
