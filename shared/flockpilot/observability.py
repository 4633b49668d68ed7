"""The one Logger, Tracer and Metrics of Flockpilot; everything imports them from here.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(set in template.yaml Globals). X-Ray tracing is opt-in (template parameter Tracing):
Powertools' Tracer imports the X-Ray SDK, which alone costs more init time than boto3, so
when tracing is off a no-op stand-in with the same decorators is used instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

F = TypeVar("F", bound=Callable[..., Any])


class _NoTracer:
    """Tracer's decorator surface, doing nothing: used while tracing is disabled."""

    def capture_lambda_handler(self, handler: F) -> F:
        return handler

    def capture_method(self, method: F) -> F:
        return method

    def put_annotation(self, key: str, value: Any) -> None:
        return None


def _tracing_enabled() -> bool:
    return os.getenv("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("1", "true", "yes", "on")


def _make_tracer() -> Any:
    if not _tracing_enabled():
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer(service="flockpilot")


logger = Logger(service="flockpilot")
metrics = Metrics(namespace="Flockpilot", service="flockpilot")
tracer = _make_tracer()
