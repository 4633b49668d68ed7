"""The X secret and request data never reach a log record, checked for real: Secrets Manager
served by moto on 127.0.0.1, X served by a stub on 127.0.0.1, every logger at DEBUG."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devtools.dynamodb_local import free_port
from flockpilot.logsafety import install_log_redaction

ROOT = Path(__file__).resolve().parents[2]
SECRET = {
    "consumer_key": "ck-visible-in-oauth-header",
    "consumer_secret": "cs-NEVER-LOG-7f3a",
    "access_token": "1700000000000000001-at-NEVER-LOG-91c2",
    "access_token_secret": "ats-NEVER-LOG-55e0",
}
NEVER = ("NEVER-LOG", "oauth_signature", "OAuth oauth_")
LIBRARIES = ("botocore", "boto3", "urllib3", "requests", "requests_oauthlib", "oauthlib", "tweepy", "pynamodb",
             "botocore.parsers", "botocore.endpoint", "botocore.auth", "tweepy.client", "requests_oauthlib.oauth1_auth",
             "oauthlib.oauth1.rfc5849")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        return [f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in self.records]

    def leaks(self) -> list[str]:
        return [t[:200] for t in self.texts() if any(s in t for s in NEVER)]

    def names(self) -> set[str]:
        return {r.name for r in self.records}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def secret_id(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3
    from aws_lambda_powertools.utilities.parameters import base

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "tok-NEVER-LOG-0d1",
                       "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(base, "DEFAULT_PROVIDERS", {})  # a provider made by another test may point elsewhere
    name = f"flockpilot/{free_port()}"
    from flockpilot.adapters import aws

    aws.reset()  # clients made before this test point elsewhere
    boto3.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(Name=name, SecretString=json.dumps(SECRET))
    return name


@pytest.fixture
def everything_at_debug() -> Iterator[Capture]:
    """Redaction installed, then (as a careless later change might) root and every library at DEBUG."""
    install_log_redaction()
    capture, direct = Capture(), Capture()
    touched = {name: logging.getLogger(name).level for name in ("", *LIBRARIES)}
    for name in touched:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(capture)
    logging.getLogger("botocore.parsers").addHandler(direct)  # a handler on the very logger gets nothing either
    yield capture
    logging.getLogger().removeHandler(capture)
    logging.getLogger("botocore.parsers").removeHandler(direct)
    for name, level in touched.items():
        logging.getLogger(name).setLevel(level)
    assert direct.records == []


def test_the_secret_never_reaches_a_log_record_while_ordinary_records_flow(secret_id: str, everything_at_debug: Capture) -> None:
    from aws_lambda_powertools.utilities import parameters

    from flockpilot.adapters.secrets import load_x_credentials

    assert json.loads(str(parameters.get_secret(secret_id, force_fetch=True))) == SECRET
    assert load_x_credentials(secret_id, max_age_seconds=0, region="us-east-1").access_token_secret == SECRET["access_token_secret"]
    assert everything_at_debug.leaks() == []
    names = everything_at_debug.names()
    assert {"botocore.hooks", "botocore.regions", "urllib3.connectionpool"} <= names  # botocore and urllib3 still speak
    assert not names & {"botocore.parsers", "botocore.endpoint", "botocore.auth"}


def test_installing_twice_changes_nothing(secret_id: str, everything_at_debug: Capture) -> None:
    from aws_lambda_powertools.utilities import parameters

    install_log_redaction()
    parameters.get_secret(secret_id, force_fetch=True)
    assert everything_at_debug.leaks() == [] and "urllib3.connectionpool" in everything_at_debug.names()


class _StubX(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"data": {"id": "1700000000000000001", "name": "Ada", "username": "ada"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        return None


@pytest.fixture
def stub_x() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubX)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_signing_and_sending_to_x_never_log_the_authorization_header(stub_x: str, everything_at_debug: Capture) -> None:
    from flockpilot.adapters.x import SignedTransport, XClient
    from flockpilot.domain.cost import CostMeter
    from tests.conftest import FakeClock

    transport = SignedTransport(**SECRET, base_url=stub_x, timeout=5)
    client = XClient(transport, "1700000000000000001", CostMeter(), FakeClock(datetime(2026, 11, 25, tzinfo=UTC)))
    assert client.me().username == "ada"
    assert everything_at_debug.leaks() == []
    assert "urllib3.connectionpool" in everything_at_debug.names()


_PROBE = """
import json, logging, os, sys
from aws_lambda_powertools.utilities import parameters
if sys.argv[1] == "install":
    from flockpilot.logsafety import install_log_redaction
    install_log_redaction()
seen = []
class Capture(logging.Handler):
    def emit(self, record):
        seen.append(record.getMessage() + repr(record.args))
logging.getLogger().addHandler(Capture())
logging.getLogger().setLevel(logging.DEBUG)
logging.getLogger("botocore").setLevel(logging.DEBUG)
parameters.get_secret(os.environ["PROBE_SECRET_ID"])
print("LEAK" if any("NEVER-LOG" in s for s in seen) else "CLEAN")
"""


@pytest.mark.parametrize(("install", "outcome"), [("install", "CLEAN"), ("none", "LEAK")])
def test_a_fresh_process_leaks_without_redaction_and_not_with_it(secret_id: str, install: str, outcome: str) -> None:
    env = {**os.environ, "PROBE_SECRET_ID": secret_id, "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT)])}
    run = subprocess.run([sys.executable, "-c", _PROBE, install], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.stdout.strip() == outcome, run.stderr[-2000:]
