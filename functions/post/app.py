"""Lambda handler of the post function: publishes the day's planned posts when they are due."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flockpilot.events import PostEvent
from flockpilot.handling import handle
from flockpilot.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from flockpilot.jobs.post import PostSummary


def _run(request: PostEvent, remaining: Callable[[], float]) -> PostSummary:
    from flockpilot.jobs.post import run_post
    from flockpilot.runtime import post_deps, wire

    return run_post(post_deps(wire(remaining_seconds=remaining)), request)


def _counts(summary: PostSummary) -> dict[str, int]:
    return {"PostsPublished": len(summary.posted), "PostsFailed": len(summary.failed)}


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="post", model=PostEvent, run=_run, counts=_counts)
