"""End to end: the Lambda handlers and the CLI as a user runs them, on the real local stack
(DynamoDB Local, the X sandbox over HTTP checking every request and response against X's
spec, moto's Secrets Manager and SES). The stack starts once per session; each test gets a
fresh X world and an empty account partition."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.xsandbox import SandboxServer, World, serve
from devtools.xsandbox.seed import DEMO_CREDENTIALS, OWNER_ID, demo_world
from flockpilot.adapters.dynamo.base import Row, pk_of, raw_query
from tests.conftest import REGION, FakeClock

SENDER = "flockpilot@example.com"


@pytest.fixture
def world(clock: FakeClock) -> World:
    w, _ = demo_world(clock=clock.now)
    return w


@pytest.fixture
def sandbox(world: World) -> Iterator[SandboxServer]:
    server = serve(world)
    yield server
    server.stop()
    assert not world.violations, f"sandbox saw spec violations: {world.violations}"


def wipe(account_id: str) -> None:
    """Empty one account's partition of the session's table."""
    with Row.batch_write() as batch:
        for item in raw_query(pk_of(account_id), consistent_read=True):
            batch.delete(Row(item["pk"]["S"], item["sk"]["S"]))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, dynamodb: Any, moto_endpoint: str, sandbox: SandboxServer) -> Iterator[dict[str, str]]:
    """The Lambda environment of a deployed stack, pointed at the local services."""
    import boto3

    from flockpilot.adapters import aws

    secret_id = f"flockpilot/{uuid.uuid4().hex[:8]}"
    values = {
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint, "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint,
        "AWS_ENDPOINT_URL_SESV2": moto_endpoint, "TABLE_NAME": "flockpilot-test", "X_SECRET_ID": secret_id,
        "X_API_BASE_URL": sandbox.base_url, "X_TIMEOUT_SECONDS": "10", "MODE": "live", "TIME_ZONE": "UTC",
        "SENDER_EMAIL": SENDER, "DIGEST_EMAIL": "owner@example.com",
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "FlockpilotTest",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    aws.reset()  # clients made with other endpoints are forgotten
    boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_endpoint).create_secret(
        Name=secret_id, SecretString=json.dumps(DEMO_CREDENTIALS))
    boto3.client("ses", region_name=REGION, endpoint_url=moto_endpoint).verify_email_identity(EmailAddress=SENDER)
    wipe(OWNER_ID)
    yield values
    aws.reset()


def sent_messages(moto_endpoint: str) -> list[dict[str, Any]]:
    import requests

    return list(requests.get(f"{moto_endpoint}/moto-api/data.json", timeout=5).json()["ses"]["Message"])
