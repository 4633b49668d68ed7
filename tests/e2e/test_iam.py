"""Every AWS call each function's handler makes is one its IAM policy in template.yaml allows.

DynamoDB Local and moto check no permissions, so a call the policy forgot passes every other
test and fails only on AWS (an AccessDenied the jobs cannot turn into an honest outcome). Here
each handler runs paths that touch most of the store (a feed registered, content, sources, a
DM, live posting) while every botocore call is recorded, and the calls are checked against the
function's policy actions (a transaction needs the actions of the writes inside it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.xsandbox import World
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.adapters.dynamo.ledger import DynamoLedger
from flockpilot.domain.content import new_item
from flockpilot.domain.feed import Feed
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.invoke import invoke_handler
from tests.template.test_template import _cfn_loader

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PREFIX = {"dynamodb": "dynamodb", "secretsmanager": "secretsmanager", "sesv2": "ses"}
TRANSACT_PARTS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def actions_allowed(function: str) -> set[str]:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_cfn_loader())  # noqa: S506 - our own loader
    policies = template["Resources"][f"{function.capitalize()}Function"]["Properties"]["Policies"]
    allowed: set[str] = set()
    for policy in policies:
        for statement in policy["Statement"]:
            action = statement["Action"]
            actions = {action} if isinstance(action, str) else set(action)
            allowed |= actions
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if "dynamodb:Query" in actions and any("/index/" in str(r) for r in resources):
                allowed.add("dynamodb:Query on an index")
    return allowed


def needed(service: str, operation: str, params: dict[str, Any]) -> set[str]:
    prefix = SERVICE_PREFIX[service]
    if operation == "TransactWriteItems":
        return {f"dynamodb:{TRANSACT_PARTS[kind]}" for item in params["TransactItems"] for kind in item}
    if operation == "TransactGetItems":
        return {"dynamodb:GetItem"}
    if operation == "Query" and "IndexName" in params:  # the index is its own resource
        return {"dynamodb:Query", "dynamodb:Query on an index"}
    return {f"{prefix}:{operation}"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    from botocore.client import BaseClient

    seen: list[tuple[str, str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        seen.append((self.meta.service_model.service_name, operation_name, api_params))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    yield seen


def check(function: str, event: dict[str, Any], seen: list[tuple[str, str, dict[str, Any]]]) -> set[str]:
    seen.clear()
    result = invoke_handler(function, event)
    assert result["status"] == "ok", result
    used = set().union(*(needed(service, op, params) for service, op, params in seen if service in SERVICE_PREFIX))
    missing = used - actions_allowed(function)
    assert not missing, f"{function} calls {sorted(missing)}, which its policy in template.yaml does not allow"
    return used


def test_each_functions_calls_are_allowed_by_its_policy(env: dict[str, str], world: World, tmp_path: Path,
                                                        calls: list[tuple[str, str, dict[str, Any]]]) -> None:
    now = datetime.now(UTC)
    store = DynamoContentPlans(OWNER_ID)
    for n in range(4):
        store.add_content(new_item(kind="quip", text=f"iam quip {n}", now=now))
    store.add_content(new_item(kind="article", text="Shaping a boule", url="https://bakery.com/boule", now=now))
    feed = tmp_path / "blog.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title><item><guid>urn:iam:1</guid>'
                    "<title>Crumb shots</title><link>https://bakery.com/crumb</link></item></channel></rss>")
    store.add_feed(Feed(url=str(feed), added_at=now))
    ledger = DynamoLedger(OWNER_ID)
    for uid, label in {"1700000000000000100": "@breadnerd", "1700000000000000101": "@smallbizdaily"}.items():
        ledger.add_source(Source(uid, SourceKind.ACCOUNT, label, now))
    world.add_dm("1700000000000000210", OWNER_ID, "Which flour do you use?")

    post = check("post", {"publish_next": True, "max_posts": 2}, calls)  # the day's first run: feeds, plan, publish
    assert {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue"} <= post
    assert any("Crumb shots" in i.text for i in store.list_content())  # the feed check ran
    follow = check("follow", {"trigger": "schedule"}, calls)
    assert "dynamodb:BatchGetItem" in follow
    prune = check("prune", {"trigger": "schedule"}, calls)
    digest = check("digest", {"trigger": "schedule"}, calls)
    assert "ses:SendEmail" in digest
    assert "dynamodb:Query on an index" in follow | prune  # the index's own resource was checked too
