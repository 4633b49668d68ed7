"""The one Logger, Tracer and Metrics of Flockpilot; everything imports them from here.

Service name and namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE (template.yaml Globals); the constructor arguments below are
only the defaults for local runs. X-Ray tracing is opt-in (template parameter Tracing):
Powertools' Tracer imports the X-Ray SDK, which alone costs more init time than boto3, so
while tracing is off a stand-in with the same decorators (doing nothing) is used instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from typing import Protocol

    class Tracing(Protocol):
        """The part of Powertools' Tracer that Flockpilot uses."""

        def capture_lambda_handler(self, lambda_handler: F) -> F: ...

        def capture_method(self, method: F) -> F: ...

        def put_annotation(self, key: str, value: str | bool | int | float) -> None: ...


class _NoTracer:
    """Tracer's decorator surface, doing nothing: used while tracing is disabled."""

    def capture_lambda_handler(self, lambda_handler: F) -> F:
        return lambda_handler

    def capture_method(self, method: F) -> F:
        return method

    def put_annotation(self, key: str, value: str | bool | int | float) -> None:
        return None


def _tracing_enabled() -> bool:
    return os.getenv("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("1", "true", "yes", "on")


def _make_tracer() -> Tracing:
    if not _tracing_enabled():
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    tracer: Tracing = Tracer(service="flockpilot")  # type: ignore[assignment]
    return tracer


logger = Logger(service="flockpilot")
metrics = Metrics(namespace="Flockpilot", service="flockpilot")
tracer: Tracing = _make_tracer()
