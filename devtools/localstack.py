"""The local stand-ins for AWS and X used by `make demo` and the CLI's local runs:
DynamoDB Local, the X sandbox and moto (SES, Secrets Manager), all on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from devtools import dynamodb_local
from devtools.xsandbox import SandboxServer, World, serve

TABLE = "flockpilot-local"
SECRET_ID = "flockpilot/x-credentials"
REGION = "us-east-1"
SENDER = "flockpilot@example.com"


@dataclass
class LocalStack:
    dynamodb: dynamodb_local.DynamoDBLocal
    sandbox: SandboxServer
    moto_endpoint: str
    environ: dict[str, str]


@contextmanager
def running(world: World, credentials: dict[str, str], settings: dict[str, str] | None = None) -> Iterator[LocalStack]:
    """Start everything, create the table and the secret, and yield the environment a
    Lambda would see. Everything stops on exit."""
    from moto.server import ThreadedMotoServer

    ddb = dynamodb_local.start()
    moto_port = dynamodb_local.free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    sandbox = serve(world)
    environ = {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL_DYNAMODB": ddb.endpoint,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{moto_port}",
        "AWS_ENDPOINT_URL_SESV2": f"http://127.0.0.1:{moto_port}",
        "AWS_ENDPOINT_URL_SES": f"http://127.0.0.1:{moto_port}",
        "TABLE_NAME": TABLE,
        "X_SECRET_ID": SECRET_ID,
        "X_API_BASE_URL": sandbox.base_url,
        "SENDER_EMAIL": SENDER,
        "DIGEST_EMAIL": "owner@example.com",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "FlockpilotLocal",
        **(settings or {}),
    }
    restore = patched_environ(environ)
    try:
        import boto3

        secrets = boto3.client("secretsmanager", region_name=REGION)
        try:
            secrets.create_secret(Name=SECRET_ID, SecretString=json.dumps(credentials))
        except secrets.exceptions.ResourceExistsException:  # moto keeps state per process
            secrets.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(credentials))
        # SES: the sender must be a verified identity, as in a real account.
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        from flockpilot.adapters import dynamo

        dynamo.bind(TABLE, REGION, ddb.endpoint)
        dynamo.create_table()
        yield LocalStack(ddb, sandbox, f"http://127.0.0.1:{moto_port}", environ)
    finally:
        from flockpilot.adapters import aws
        from flockpilot.adapters.secrets import forget_cached_secrets

        forget_cached_secrets()
        aws.reset()  # its clients point at this moto port
        restore()
        sandbox.stop()
        moto.stop()
        ddb.stop()


def patched_environ(values: Mapping[str, str]) -> Callable[[], None]:
    """Set `values` in os.environ; the returned function puts back what was there (or nothing)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)

    def restore() -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    return restore
