"""The Lambda handler as Lambda calls it, with the events in events/."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from devtools.xsandbox import World
from flockpilot.adapters.store import Store
from flockpilot.domain.content import new_item
from flockpilot.invoke import LocalContext, invoke_handler


@pytest.fixture
def stocked(env: dict[str, str], store: Store) -> Store:
    from datetime import datetime

    now = datetime.now(UTC)
    for i in range(4):
        store.add_content(new_item(kind="quip", text=f"handler quip {i}", now=now))
    return store


def test_console_event_with_overrides_dry_runs(stocked: Store, load_event: Any, world: World) -> None:
    result = invoke_handler("post", load_event("post-manual.json"))
    assert result["status"] == "ok" and result["mode"] == "dry-run"
    assert 1 <= len(result["would_post"]) <= 2
    assert world.bill()["requests"] == 0


def test_scheduled_event_is_accepted(stocked: Store, load_event: Any) -> None:
    result = invoke_handler("post", load_event("post-scheduled.json"))
    assert result["status"] == "ok" and result["job"] == "post"


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"max_post": 2}, "max_post"),
        ({"max_posts": 99}, "max_posts"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"trigger": "cron"}, "trigger"),
    ],
)
def test_malformed_event_is_rejected_and_does_nothing(stocked: Store, world: World, event: dict[str, Any], named: str) -> None:
    result = invoke_handler("post", event)
    assert result["status"] == "rejected" and named in result["error"]
    assert world.bill()["requests"] == 0
    assert stocked.recent_runs("post") == []


def test_bad_setting_is_reported_by_name(stocked: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTS_PER_DAY", "500")
    result = invoke_handler("post", {"dry_run": True})
    assert result["status"] == "error" and "POSTS_PER_DAY='500'" in result["error"]


def test_missing_secret_is_reported_without_a_traceback(stocked: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_SECRET_ID", "flockpilot/does-not-exist")
    result = invoke_handler("post", {"dry_run": True})
    assert result["status"] == "error" and "flockpilot/does-not-exist" in result["error"]


def test_handler_context_has_what_powertools_reads() -> None:
    ctx = LocalContext("post", timeout_seconds=5)
    assert 0 < ctx.get_remaining_time_in_millis() <= 5000
