"""Starting DynamoDB Local (devtools.dynamodb_local): a launch that exits at once is retried on a
new port when the port was ours to choose, and reported when it was given."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from devtools import dynamodb_local


def test_a_launch_that_exits_at_once_is_retried_on_a_new_port(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = iter([41001, 41002])
    tried: list[int] = []

    def launch(port: int, timeout: float) -> Any:
        tried.append(port)
        if port == 41001:
            raise dynamodb_local._ExitedEarly("DynamoDB Local exited with code 1 (port 41001)")
        return f"running on {port}"

    monkeypatch.setattr(dynamodb_local, "free_port", lambda: next(ports))
    monkeypatch.setattr(dynamodb_local, "_launch", launch)
    assert dynamodb_local.start() == "running on 41002"
    assert tried == [41001, 41002]


def test_a_given_port_is_not_swapped_and_the_last_failure_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def launch(port: int, timeout: float) -> Any:
        raise dynamodb_local._ExitedEarly(f"DynamoDB Local exited with code 1 (port {port})")

    monkeypatch.setattr(dynamodb_local, "_launch", launch)
    with pytest.raises(RuntimeError, match=r"exited with code 1 \(port 8000\)"):
        dynamodb_local.start(port=8000)
    monkeypatch.setattr(dynamodb_local, "free_port", iter([1, 2, 3, 4]).__next__)
    with pytest.raises(RuntimeError, match=r"\(port 3\)"):
        dynamodb_local.start()


def test_a_port_another_process_listens_on_is_not_taken_for_dynamodb_local(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as other:  # another program, listening on the port the first launch is given
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        ports = iter([taken])
        real_free_port = dynamodb_local.free_port
        monkeypatch.setattr(dynamodb_local, "free_port", lambda: next(ports, None) or real_free_port())
        ddb = dynamodb_local.start()
        try:
            assert ddb.port != taken and dynamodb_local._answers_as_dynamodb(ddb.port)
            assert not dynamodb_local._answers_as_dynamodb(taken)
        finally:
            ddb.stop()


def test_a_launch_java_refuses_reports_what_java_said(monkeypatch: pytest.MonkeyPatch) -> None:
    # A collector chosen in the user's JAVA_TOOL_OPTIONS clashes with the launcher's own: Java
    # exits before DynamoDB Local starts, and its reason must reach the person, not DEVNULL.
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-XX:+UseParallelGC")
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 1.*Multiple garbage collectors selected"):
        dynamodb_local.start(attempts=1)
