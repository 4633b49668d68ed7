"""The deployment's settings, as the deployed functions have them, are what the CLI shows and
does; a stored account setting may pause writes to X, never go live on its own.

The deployed functions are simulated by running the handlers with AWS_LAMBDA_FUNCTION_NAME
set (the Lambda runtime sets it) and the stack's parameters in the environment; the laptop
is the same process afterwards, with only the README's exports (and some stale ones)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.xsandbox import World
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.adapters.dynamo.records import DynamoRecords
from flockpilot.cli import EXIT_CONFIG, main
from flockpilot.domain.content import new_item
from flockpilot.invoke import invoke_handler

# 19:24 UTC on the 26th is 04:24 on the 27th in Tokyo: the account's day is not the laptop's.
EVENING_UTC = datetime(2026, 11, 26, 19, 24, tzinfo=UTC)


@pytest.fixture
def stocked(env: dict[str, str]) -> DynamoContentPlans:
    store = DynamoContentPlans(OWNER_ID)
    for i in range(4):
        store.add_content(new_item(kind="quip", text=f"deployment quip {i}", now=datetime.now(UTC)))
    return store


def deployed_run(monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], **parameters: str) -> dict[str, Any]:
    """One post run as the deployed function: in Lambda, with the stack's parameters."""
    with monkeypatch.context() as lam:
        lam.setenv("AWS_LAMBDA_FUNCTION_NAME", "flockpilot-post")
        for var, value in parameters.items():
            lam.setenv(var, value)
        return invoke_handler("post", event)


def own_posts(world: World) -> int:
    return sum(1 for p in world.posts.values() if p.author_id == OWNER_ID)


def test_the_cli_shows_the_deployed_day_zone_and_mode(stocked: DynamoContentPlans, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    deployed_run(monkeypatch, {"dry_run": True}, TIME_ZONE="Asia/Tokyo", MODE="live", POSTS_PER_DAY="6")
    # The laptop: the README's exports, plus a stale TIME_ZONE and MODE from another project.
    monkeypatch.setenv("TIME_ZONE", "UTC")
    monkeypatch.setenv("MODE", "dry-run")
    monkeypatch.delenv("POSTS_PER_DAY", raising=False)
    monkeypatch.setattr("flockpilot.cli._now", lambda: EVENING_UTC)
    capsys.readouterr()

    assert main(["plan", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["day"] == "2026-11-27"  # Tokyo's day, not the laptop's 26th
    assert "TIME_ZONE=UTC" in captured.err and "MODE=dry-run" in captured.err and "set aside" in captured.err
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "live"
    assert main(["settings", "show"]) == 0
    shown = capsys.readouterr().out
    assert "time_zone                  Asia/Tokyo               (deployment)" in shown
    assert "posts_per_day              6                        (deployment)" in shown
    assert "pitch_cap                  1                        (default)" in shown
    assert "as the functions recorded it" in shown


def test_without_a_record_the_cli_uses_this_shell(stocked: DynamoContentPlans, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    invoke_handler("post", {"dry_run": True})  # a local run (no Lambda runtime) records nothing
    assert DynamoRecords(OWNER_ID).settings_sources()[1] is None
    capsys.readouterr()
    monkeypatch.setenv("TIME_ZONE", "America/Los_Angeles")
    monkeypatch.setattr("flockpilot.cli._now", lambda: datetime(2026, 11, 27, 5, 0, tzinfo=UTC))  # 21:00 on the 26th there
    assert main(["plan", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["day"] == "2026-11-26" and "set aside" not in captured.err
    assert main(["settings", "show"]) == 0
    assert "time_zone                  America/Los_Angeles      (env)" in capsys.readouterr().out


def test_the_functions_record_a_deployment_once_and_again_after_a_redeploy(stocked: DynamoContentPlans,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    records = DynamoRecords(OWNER_ID)
    deployed_run(monkeypatch, {"dry_run": True}, TIME_ZONE="Asia/Tokyo", POSTS_PER_DAY="6")
    first = records.settings_sources()[1]
    assert first is not None and first["env"]["TIME_ZONE"] == "Asia/Tokyo" and first["env"]["POSTS_PER_DAY"] == "6"
    assert "TABLE_NAME" not in first["env"] and "X_SECRET_ID" not in first["env"]  # only the account's settings
    deployed_run(monkeypatch, {"dry_run": True}, TIME_ZONE="Asia/Tokyo", POSTS_PER_DAY="6")
    assert records.settings_sources()[1] == first  # the same deployment: not written again (its time unchanged)
    deployed_run(monkeypatch, {"dry_run": True}, TIME_ZONE="Asia/Tokyo", POSTS_PER_DAY="8")  # sam deploy, new parameter
    again = records.settings_sources()[1]
    assert again is not None and again["env"]["POSTS_PER_DAY"] == "8" and again["at"] >= first["at"]


def test_a_stored_live_mode_never_outranks_a_dry_run_deployment(stocked: DynamoContentPlans, world: World,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    DynamoRecords(OWNER_ID).set_override("mode", "live")  # stored before this release's rule
    result = deployed_run(monkeypatch, {"publish_next": True, "max_posts": 1}, MODE="dry-run")
    assert result["mode"] == "dry-run" and result["posted"] == [] and own_posts(world) == 0
    assert main(["settings", "show"]) == 0
    assert "not applied: account setting mode live" in capsys.readouterr().out
    # The pause works the other way: a live deployment, paused by the account setting.
    assert main(["settings", "set", "mode", "dry-run"]) == 0
    paused = deployed_run(monkeypatch, {"publish_next": True, "max_posts": 1}, MODE="live")
    assert paused["mode"] == "dry-run" and own_posts(world) == 0
    assert main(["settings", "unset", "mode"]) == 0
    resumed = deployed_run(monkeypatch, {"publish_next": True, "max_posts": 1}, MODE="live")
    assert resumed["mode"] == "live" and len(resumed["posted"]) == 1 and own_posts(world) == 1


@pytest.mark.parametrize(("key", "value", "named"), [
    ("mode", "live", "--parameter-overrides Mode=live"),
    ("follow_mode", "api", "--parameter-overrides FollowMode=api"),
    ("prune_mode", "api", "--parameter-overrides PruneMode=api"),
    ("time_zone", "Asia/Tokyo", "--parameter-overrides TimeZone="),
])
def test_settings_set_refuses_what_only_a_deploy_may_change(env: dict[str, str], capsys: pytest.CaptureFixture[str],
                                                            key: str, value: str, named: str) -> None:
    assert main(["settings", "set", key, value]) == EXIT_CONFIG
    assert named in capsys.readouterr().err
    assert key not in DynamoRecords(OWNER_ID).overrides()
