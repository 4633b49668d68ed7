"""Lambda handler of the post function: publishes the day's planned posts when they are due."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flockpilot.events import PostEvent
from flockpilot.handling import handle
from flockpilot.observability import logger, metrics, tracer


def _run(request: PostEvent, remaining: Any) -> Any:
    from flockpilot.jobs.post import run_post
    from flockpilot.runtime import post_context

    return run_post(post_context(remaining_seconds=remaining), request)


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="post", model=PostEvent, run=_run,
                  counts=lambda s: {"PostsPublished": len(s.posted), "PostsFailed": len(s.failed)})
