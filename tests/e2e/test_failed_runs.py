"""A run that fails inside its job (it comes back `failed` rather than raising) carries
`error` like one that raised: each function, as Lambda calls it, on the real local stack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devtools.xsandbox import World
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.adapters.dynamo.ledger import DynamoLedger
from flockpilot.domain.content import new_item
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.invoke import invoke_handler

EVENTS = {"post": {"publish_next": True, "max_posts": 1}, "follow": {"trigger": "manual"},
          "prune": {"trigger": "manual"}, "digest": {"trigger": "manual"}}


def assert_failed_with_error(result: dict[str, object]) -> None:
    assert result["status"] == "error" and result["outcome"] == "failed", result
    error, reasons = result.get("error"), result["reasons"]
    assert isinstance(error, str) and error.strip(), result
    assert isinstance(reasons, list) and all(r in error for r in reasons), result


@pytest.mark.parametrize("function", sorted(EVENTS))
def test_revoked_tokens_fail_each_run_with_an_error(env: dict[str, str], world: World, function: str) -> None:
    store = DynamoContentPlans(OWNER_ID)
    for i in range(3):
        store.add_content(new_item(kind="quip", text=f"failed-run quip {i}", now=datetime.now(UTC)))
    DynamoLedger(OWNER_ID).add_source(Source("1700000000000000100", SourceKind.ACCOUNT, "@breadnerd", datetime.now(UTC)))
    world.revoked.add(f"{OWNER_ID}-demoAccessToken")
    result = invoke_handler(function, EVENTS[function])
    assert_failed_with_error(result)
    assert "revoked" in str(result["error"]).lower()


@pytest.mark.parametrize("unset", ["DIGEST_EMAIL", "SENDER_EMAIL"])
def test_a_digest_with_no_address_fails_with_an_error(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                     unset: str) -> None:
    monkeypatch.setenv(unset, "")
    result = invoke_handler("digest", {"trigger": "manual"})
    assert_failed_with_error(result)
    assert result["digest_status"] == "failed" and "DIGEST_EMAIL" in str(result["error"])
