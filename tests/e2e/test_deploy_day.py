"""The day of deploy, end to end: the post function's scheduled ticks as the handler wires
them, DynamoDB Local, the X sandbox over HTTP and the CLI, in three zones. The first run
finds no content and stores an empty plan; the person imports the library; within the hour
the rest of the day is planned in its place and posted slot by slot, never in a burst."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import World
from flockpilot.cli import main
from flockpilot.events import PostEvent
from flockpilot.jobs.post import PostSummary, nothing_due, run_post
from flockpilot.runtime import post_deps, wire
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=("UTC", "Asia/Tokyo", "America/Los_Angeles"))
def zone(request: pytest.FixtureRequest, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ZoneInfo:
    monkeypatch.setenv("TIME_ZONE", str(request.param))
    return ZoneInfo(str(request.param))


def shown_plan(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["plan", "--json"]) == 0
    shown: dict[str, Any] = json.loads(capsys.readouterr().out)
    return shown


def tick(clock: FakeClock, **event: Any) -> PostSummary:
    request = PostEvent(**{"trigger": "schedule", **event})
    return run_post(post_deps(wire(clock=clock, quiet=nothing_due if request.plain else None)), request)


def test_content_imported_after_the_first_run_is_posted_the_same_day(
    zone: ZoneInfo, clock: FakeClock, world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("flockpilot.cli._now", clock.now)  # the CLI on the test's clock
    day = clock.now().astimezone(zone).date()
    clock.current = datetime.combine(day, time(14, 0), tzinfo=zone)  # deployed after lunch; the secret is filled
    first = tick(clock)
    assert first.plan_slots == 0 and first.posted == []
    clock.advance(minutes=3)
    assert main(["content", "import", str(ROOT / "examples" / "content.csv")]) == 0
    imported_at = clock.now()
    preview = shown_plan(capsys)  # `flockpilot plan` before the post function looks again
    assert not preview["stored"] and preview["slots"] and all(
        datetime.fromisoformat(s["at"]) > imported_at for s in preview["slots"])
    clock.current = datetime.combine(day, time(14, 10), tzinfo=zone)
    end, runs = datetime.combine(day, time(23, 50), tzinfo=zone), []
    while clock.now() <= end:
        runs.append(tick(clock))
        clock.advance(minutes=10)
    posted = sorted((p for r in runs for p in r.posted), key=lambda p: p.at)
    planned = next(r for r in runs if r.plan_slots)
    assert planned.started_at <= imported_at + timedelta(hours=1)
    # looked again at 15:00 (an hour after the empty plan): 7 of 14 hours left, 5 of 10 posts
    assert len(posted) == planned.plan_slots == 5 == sum(1 for p in world.posts.values() if p.author_id == OWNER_ID)
    assert all(planned.started_at <= p.at < datetime.combine(day, time(22, 0), tzinfo=zone) for p in posted)
    assert all((b.at - a.at) >= timedelta(minutes=30) for a, b in zip(posted, posted[1:], strict=False))
    assert not any(r.skipped or r.failed for r in runs)
    clock.current = end  # still the account's day, for the CLI
    stored = shown_plan(capsys)
    assert stored["stored"] and len(stored["slots"]) == len(posted)
    assert any("for the rest of the day" in n for n in stored["notes"])
    assert not world.violations
