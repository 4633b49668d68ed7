"""Each function's Lambda handler, as Lambda calls it, on the real local stack."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.xsandbox import World
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.adapters.dynamo.ledger import DynamoLedger
from flockpilot.adapters.dynamo.records import DynamoRecords
from flockpilot.domain.content import new_item
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.invoke import LocalContext, invoke_handler
from tests.conftest import REGION
from tests.e2e.conftest import sent_messages


@pytest.fixture
def stocked(env: dict[str, str]) -> DynamoContentPlans:
    store = DynamoContentPlans(OWNER_ID)
    now = datetime.now(UTC)
    for i in range(4):
        store.add_content(new_item(kind="quip", text=f"handler quip {i}", now=now))
    return store


def test_post_console_event_dry_runs(stocked: DynamoContentPlans, load_event: Any, world: World) -> None:
    result = invoke_handler("post", load_event("post-manual.json"))
    assert result["status"] == "ok" and result["mode"] == "dry-run" and result["outcome"] == "ok"
    assert 1 <= len(result["would_post"]) <= 2
    assert world.bill()["requests"] == 0


def test_post_publishes_through_x_and_records_it(stocked: DynamoContentPlans, world: World) -> None:
    result = invoke_handler("post", {"publish_next": True, "max_posts": 2})
    assert result["status"] == "ok" and len(result["posted"]) == 2
    texts = [p.text for p in world.posts.values() if p.author_id == OWNER_ID]
    assert sorted(texts) == sorted(p["text"] for p in result["posted"])
    again = invoke_handler("post", {"publish_next": True, "max_posts": 2})
    assert {p["text"] for p in again["posted"]}.isdisjoint(texts)  # nothing twice
    assert result["cost"]["usd"] + again["cost"]["usd"] == pytest.approx(world.bill()["usd"])


def test_post_scheduled_event_is_accepted(stocked: DynamoContentPlans, load_event: Any) -> None:
    result = invoke_handler("post", load_event("post-scheduled.json"))
    assert result["status"] == "ok" and result["job"] == "post"


@pytest.mark.parametrize(("event", "named"), [({"max_post": 2}, "max_post"), ({"max_posts": 99}, "max_posts"),
                                              ({"dry_run": "maybe"}, "dry_run"), ({"trigger": "cron"}, "trigger")])
def test_a_malformed_event_is_rejected_and_does_nothing(stocked: DynamoContentPlans, world: World, event: dict[str, Any],
                                                        named: str) -> None:
    result = invoke_handler("post", event)
    assert result["status"] == "rejected" and named in result["error"]
    assert world.bill()["requests"] == 0 and DynamoRecords(OWNER_ID).last_run("post") is None


def test_a_bad_setting_fails_the_run_by_name(stocked: DynamoContentPlans, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTS_PER_DAY", "500")
    result = invoke_handler("post", {"dry_run": True})
    assert result["status"] == "error" and result["outcome"] == "failed" and "POSTS_PER_DAY='500'" in result["error"]


def test_a_missing_secret_is_reported_without_a_traceback(stocked: DynamoContentPlans, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_SECRET_ID", "flockpilot/does-not-exist")
    result = invoke_handler("post", {"dry_run": True})
    assert result["status"] == "error" and "flockpilot/does-not-exist" in result["error"]
    assert result["outcome"] == "failed" and result["reasons"] == [result["error"]]


def test_the_secret_the_stack_creates_empty_says_to_fill_it(stocked: DynamoContentPlans, monkeypatch: pytest.MonkeyPatch,
                                                            moto_endpoint: str) -> None:
    import boto3

    boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_endpoint).create_secret(
        Name="flockpilot/empty", Description="as the template makes it: no value yet")
    monkeypatch.setenv("X_SECRET_ID", "flockpilot/empty")
    result = invoke_handler("post", {"publish_next": True})
    assert result["status"] == "error" and "flockpilot/empty is empty" in result["error"] and "Deploy step 3" in result["error"]


def test_a_refused_event_has_an_outcome_and_reasons_too(env: dict[str, str]) -> None:
    result = invoke_handler("post", {"dry_run": "true"})
    assert result["status"] == "rejected" and result["outcome"] == "failed"
    assert result["reasons"] == [result["error"]] and "dry_run" in result["error"]


def emitted_metrics(printed: str) -> dict[str, Any]:
    """The metrics of the one CloudWatch embedded-metric-format record a handler printed
    (each metric's values: Powertools writes them as a list)."""
    records = [json.loads(line) for line in printed.splitlines() if line.startswith("{") and '"_aws"' in line]
    assert len(records) == 1, printed
    names = [m["Name"] for d in records[0]["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    return {name: records[0][name] for name in names}


def test_a_refused_event_is_counted_in_its_own_metric(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    invoke_handler("follow", {"mode": "aggressive"})
    assert emitted_metrics(capsys.readouterr().out) == {"EventsRejected": [1.0]}


def test_a_run_publishes_its_counts_cost_and_outcome(stocked: DynamoContentPlans, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    result = invoke_handler("post", {"dry_run": True})
    assert result["outcome"] == "ok"
    published = emitted_metrics(capsys.readouterr().out)
    assert published["RunFailures"] == [0.0] and published["RunPartial"] == [0.0] and published["XApiRequests"] == [0.0]
    assert "EventsRejected" not in published


def test_revoked_credentials_come_back_failed_not_ok(stocked: DynamoContentPlans, world: World) -> None:
    world.revoked.add(f"{OWNER_ID}-demoAccessToken")
    result = invoke_handler("post", {"publish_next": True, "max_posts": 1})
    assert result["status"] == "error" and result["outcome"] == "failed" and "revoked" in " ".join(result["reasons"])


def test_follow_console_event_shortlists_without_writing_to_x(env: dict[str, str], load_event: Any, world: World) -> None:
    ledger = DynamoLedger(OWNER_ID)
    for uid, label in {"1700000000000000100": "@breadnerd", "1700000000000000101": "@smallbizdaily"}.items():
        ledger.add_source(Source(uid, SourceKind.ACCOUNT, label, datetime.now(UTC)))
    result = invoke_handler("follow", load_event("follow-manual.json"))
    assert result["status"] == "ok" and "dry-run" in result["mode"]
    assert 1 <= len(result["shortlisted"]) <= 5
    assert "followUser" not in world.bill()["by_operation"]
    assert invoke_handler("follow", {"mode": "aggressive"})["status"] == "rejected"


def test_prune_console_event(env: dict[str, str], load_event: Any) -> None:
    result = invoke_handler("prune", load_event("prune-manual.json"))
    assert result["status"] == "ok" and "dry-run" in result["mode"] and len(result["suggested"]) <= 5
    assert invoke_handler("prune", {"grace": 1})["status"] == "rejected"


def test_digest_is_sent_once_through_ses(env: dict[str, str], world: World, moto_endpoint: str) -> None:
    world.add_dm("1700000000000000210", OWNER_ID, "Which flour do you use?")
    before = len(sent_messages(moto_endpoint))
    first = invoke_handler("digest", {"trigger": "schedule"})
    second = invoke_handler("digest", {"trigger": "schedule"})
    assert first["status"] == "ok" and first["digest_status"] == "sent" and second["digest_status"] == "already-sent"
    sent = sent_messages(moto_endpoint)[before:]
    assert len(sent) == 1 and "1 worth replying" in sent[0]["subject"] or "maybe" in sent[0]["subject"]
    assert invoke_handler("digest", {"dry-run": True})["status"] == "rejected"


def test_the_local_context_has_what_powertools_reads() -> None:
    ctx = LocalContext("post", timeout_seconds=5)
    assert 0 < ctx.get_remaining_time_in_millis() <= 5000


@pytest.mark.parametrize("function", ["digest", "follow", "post", "prune"])
def test_each_console_event_says_dry_run_its_zone_and_a_float_cost(stocked: DynamoContentPlans, load_event: Any,
                                                                  function: str) -> None:
    result = invoke_handler(function, load_event(f"{function}-manual.json"))
    assert result["status"] == "ok" and result["dry_run"] is True and result["time_zone"] == "UTC"
    assert type(result["cost"]["usd"]) is float
