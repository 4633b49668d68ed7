"""Real servers on loopback: DynamoDB Local (session), moto (session), a fresh X sandbox
and a fresh table per test."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools import dynamodb_local
from devtools.xsandbox import SandboxServer, World, serve
from devtools.xsandbox.seed import DEMO_CREDENTIALS, OWNER_ID, demo_world
from flockpilot.adapters import store as store_module
from flockpilot.adapters.secrets import XCredentials
from flockpilot.adapters.x import XClient
from flockpilot.domain.cost import CostMeter
from tests.conftest import FakeClock

REGION = "us-east-1"


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[dynamodb_local.DynamoDBLocal]:
    ddb = dynamodb_local.start()
    yield ddb
    ddb.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = dynamodb_local.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


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


@pytest.fixture(autouse=True)
def _aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and region, so no SDK goes looking on the network for real ones."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def table(dynamodb: dynamodb_local.DynamoDBLocal) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    store_module.bind(name, REGION, dynamodb.endpoint)
    store_module.create_table()
    return name


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, dynamodb: dynamodb_local.DynamoDBLocal, moto_endpoint: str,
    sandbox: SandboxServer, table: str,
) -> dict[str, str]:
    """The Lambda environment of a deployed stack, pointed at the local services."""
    import boto3

    secret_id = f"flockpilot/{uuid.uuid4().hex[:8]}"
    values = {
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint,
        "AWS_ENDPOINT_URL_SESV2": moto_endpoint,
        "TABLE_NAME": table, "X_SECRET_ID": secret_id, "X_API_BASE_URL": sandbox.base_url,
        "X_TIMEOUT_SECONDS": "10", "MODE": "live", "TIME_ZONE": "UTC",
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "FlockpilotTest",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_endpoint).create_secret(
        Name=secret_id, SecretString=json.dumps(DEMO_CREDENTIALS)
    )
    return values


@pytest.fixture
def store(table: str) -> store_module.Store:
    return store_module.Store(OWNER_ID)


@dataclass
class XFactory:
    sandbox: SandboxServer
    clock: FakeClock

    def __call__(self, meter: CostMeter | None = None, **kwargs: Any) -> XClient:
        return XClient(
            XCredentials(**DEMO_CREDENTIALS),
            meter=meter or CostMeter(),
            clock=self.clock,
            base_url=self.sandbox.base_url,
            timeout=kwargs.pop("timeout", 10.0),
            **kwargs,
        )


@pytest.fixture
def make_x(sandbox: SandboxServer, clock: FakeClock) -> XFactory:
    return XFactory(sandbox, clock)
