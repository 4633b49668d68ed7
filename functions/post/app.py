"""Lambda handler of the post function: parse the event, run the post job, return its summary."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from flockpilot.domain.errors import FlockpilotError
from flockpilot.events import PostEvent, explain
from flockpilot.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = PostEvent.model_validate(event)
    except ValidationError as exc:
        logger.error("event rejected", problems=explain(exc))
        return {"status": "rejected", "error": f"invalid event: {explain(exc)}"}

    from flockpilot.jobs.post import run_post
    from flockpilot.runtime import post_context

    try:
        ctx = post_context(remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000)
        summary = run_post(ctx, request)
    except FlockpilotError as exc:
        logger.exception("post run failed")
        metrics.add_metric(name="RunFailures", unit=MetricUnit.Count, value=1)
        return {"status": "error", "error": str(exc)}

    metrics.add_metric(name="PostsPublished", unit=MetricUnit.Count, value=len(summary.posted))
    metrics.add_metric(name="PostsFailed", unit=MetricUnit.Count, value=len(summary.failed))
    metrics.add_metric(name="XApiRequests", unit=MetricUnit.Count, value=summary.cost.get("requests", 0))  # type: ignore[arg-type]
    metrics.add_metric(name="XApiCostMicroUsd", unit=MetricUnit.Count, value=round(float(summary.cost.get("usd", 0)) * 1e6))  # type: ignore[arg-type]
    result = summary.model_dump(mode="json")
    logger.info("post run finished", posted=len(summary.posted), failed=len(summary.failed), cost_usd=summary.cost.get("usd"))
    return {"status": "ok", **result}
