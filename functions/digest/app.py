"""Lambda handler of the digest function: parse the event, build and send the day's digest, return its summary."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from flockpilot.domain.errors import FlockpilotError
from flockpilot.events import DigestEvent, explain
from flockpilot.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = DigestEvent.model_validate(event)
    except ValidationError as exc:
        logger.error("event rejected", problems=explain(exc))
        return {"status": "rejected", "error": f"invalid event: {explain(exc)}"}

    from flockpilot.jobs.digest import run_digest
    from flockpilot.runtime import digest_context

    try:
        summary = run_digest(digest_context(remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000), request)
    except FlockpilotError as exc:
        logger.exception("digest run failed")
        metrics.add_metric(name="RunFailures", unit=MetricUnit.Count, value=1)
        return {"status": "error", "error": str(exc)}

    metrics.add_metric(name="DigestsSent", unit=MetricUnit.Count, value=1 if summary.status == "sent" else 0)
    metrics.add_metric(name="DirectMessagesRead", unit=MetricUnit.Count, value=summary.new_messages)
    metrics.add_metric(name="XApiCostMicroUsd", unit=MetricUnit.Count, value=round(float(summary.cost.get("usd", 0)) * 1e6))  # type: ignore[arg-type]
    logger.info("digest run finished", digest=summary.status, messages=summary.new_messages, cost_usd=summary.cost.get("usd"))
    return {"status": "ok" if summary.status != "failed" else "error", **summary.model_dump(mode="json"),
            "digest": summary.status}
