"""Run a function's Lambda handler in this process, as Lambda would call it (CLI, demo)."""

from __future__ import annotations

import gc
import importlib.util
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flockpilot.domain.errors import FlockpilotError

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


class LocalContext:
    """The parts of LambdaContext the handlers and Powertools read."""

    def __init__(self, function: str, timeout_seconds: float = 120.0) -> None:
        import time

        self.function_name = f"flockpilot-{function}"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(function: str, module_name: str | None = None) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """`functions/<function>/app.py`'s lambda_handler, loaded from its file as Lambda loads it."""
    path = FUNCTIONS / function / "app.py"
    if not path.exists():
        raise FlockpilotError(f"no handler at {path}: run from a clone of the Flockpilot repository")
    spec = importlib.util.spec_from_file_location(module_name or f"flockpilot_fn_{function}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    collecting = gc.isenabled()
    try:
        spec.loader.exec_module(module)
    finally:  # the handler pauses the collector while it loads; a load that fails must not leave it paused
        if collecting:
            gc.enable()
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = module.lambda_handler
    return handler


def invoke_handler(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return load_handler(function)(event, LocalContext(function))
