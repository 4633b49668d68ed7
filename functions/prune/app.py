"""Lambda handler of the prune function: parse the event, run the prune job, return its summary."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from flockpilot.domain.errors import FlockpilotError
from flockpilot.events import PruneEvent, explain
from flockpilot.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = PruneEvent.model_validate(event)
    except ValidationError as exc:
        logger.error("event rejected", problems=explain(exc))
        return {"status": "rejected", "error": f"invalid event: {explain(exc)}"}

    from flockpilot.jobs.prune import run_prune
    from flockpilot.runtime import prune_context

    try:
        summary = run_prune(prune_context(remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000), request)
    except FlockpilotError as exc:
        logger.exception("prune run failed")
        metrics.add_metric(name="RunFailures", unit=MetricUnit.Count, value=1)
        return {"status": "error", "error": str(exc)}

    metrics.add_metric(name="UnfollowsSuggested", unit=MetricUnit.Count, value=len(summary.suggested))
    metrics.add_metric(name="Unfollows", unit=MetricUnit.Count, value=len(summary.unfollowed))
    metrics.add_metric(name="ChurnGuardPaused", unit=MetricUnit.Count, value=1 if summary.churn.get("paused") else 0)
    metrics.add_metric(name="XApiCostMicroUsd", unit=MetricUnit.Count, value=round(float(summary.cost.get("usd", 0)) * 1e6))  # type: ignore[arg-type]
    logger.info("prune run finished", suggested=len(summary.suggested), unfollowed=len(summary.unfollowed),
                cost_usd=summary.cost.get("usd"))
    return {"status": "ok", **summary.model_dump(mode="json")}
