"""Lambda handler of the follow function: parse the event, run the follow job, return its summary."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from flockpilot.domain.errors import FlockpilotError
from flockpilot.events import FollowEvent, explain
from flockpilot.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = FollowEvent.model_validate(event)
    except ValidationError as exc:
        logger.error("event rejected", problems=explain(exc))
        return {"status": "rejected", "error": f"invalid event: {explain(exc)}"}

    from flockpilot.jobs.follow import run_follow
    from flockpilot.runtime import follow_context

    try:
        summary = run_follow(follow_context(remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000), request)
    except FlockpilotError as exc:
        logger.exception("follow run failed")
        metrics.add_metric(name="RunFailures", unit=MetricUnit.Count, value=1)
        return {"status": "error", "error": str(exc)}

    metrics.add_metric(name="FollowsShortlisted", unit=MetricUnit.Count, value=len(summary.shortlisted))
    metrics.add_metric(name="FollowsMade", unit=MetricUnit.Count, value=len(summary.followed))
    metrics.add_metric(name="FollowBacks", unit=MetricUnit.Count, value=len(summary.follow_backs))
    metrics.add_metric(name="XApiCostMicroUsd", unit=MetricUnit.Count, value=round(float(summary.cost.get("usd", 0)) * 1e6))  # type: ignore[arg-type]
    logger.info("follow run finished", shortlisted=len(summary.shortlisted), followed=len(summary.followed),
                cost_usd=summary.cost.get("usd"))
    return {"status": "ok", **summary.model_dump(mode="json")}
