"""What every handler does between Powertools' decorators and its job: validate the event,
run the job, turn known failures into a clear answer, count metrics, return the summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from flockpilot.domain.errors import FlockpilotError
from flockpilot.events import explain
from flockpilot.observability import logger, metrics

E = TypeVar("E", bound=BaseModel)


def handle(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    job: str,
    model: type[E],
    run: Callable[[E, Callable[[], float]], BaseModel],
    counts: Callable[[Any], dict[str, int]],
) -> dict[str, Any]:
    """A malformed event is answered with the bad fields named and nothing runs; a
    configuration or X error is answered, logged and counted (retrying would not help)."""
    try:
        request = model.model_validate(event)
    except ValidationError as exc:
        logger.error("event rejected", job=job, problems=explain(exc))
        return {"status": "rejected", "error": f"invalid event: {explain(exc)}"}
    try:
        summary = run(request, lambda: context.get_remaining_time_in_millis() / 1000)
    except FlockpilotError as exc:
        logger.exception("run failed", job=job)
        metrics.add_metric(name="RunFailures", unit=MetricUnit.Count, value=1)
        return {"status": "error", "error": str(exc)}
    figures = counts(summary)
    for name, value in figures.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    cost = getattr(summary, "cost", {}) or {}
    metrics.add_metric(name="XApiRequests", unit=MetricUnit.Count, value=int(cost.get("requests", 0)))
    metrics.add_metric(name="XApiCostMicroUsd", unit=MetricUnit.Count, value=round(float(cost.get("usd", 0)) * 1e6))
    logger.info("run finished", extra={"job": job, "cost_usd": cost.get("usd"), **figures})
    result = summary.model_dump(mode="json")
    status = "error" if result.get("status") == "failed" else "ok"
    if "status" in result:
        result[f"{job}_status"] = result.pop("status")
    return {"status": status, **result}
