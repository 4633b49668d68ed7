"""Lambda handler of the post function: publishes the day's planned posts when they are due."""

from __future__ import annotations

import gc

gc.disable()  # while Lambda initialises: import_function_code (below) freezes what init made, then resumes collecting

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flockpilot.events import PostEvent
from flockpilot.handling import handle
from flockpilot.jobs.post import PostSummary, nothing_due, run_post
from flockpilot.observability import logger, metrics, tracer
from flockpilot.runtime import import_function_code, post_deps, wire

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

import_function_code("post")  # the adapters its runs use: code only (no setting, secret or client) while Lambda initialises


def _run(request: PostEvent, remaining: Callable[[], float]) -> PostSummary:
    # A scheduled tick may reuse settings read earlier while this container's last tick left nothing due.
    return run_post(post_deps(wire(remaining_seconds=remaining, quiet=nothing_due if request.plain else None)), request)


def _counts(summary: PostSummary) -> dict[str, int]:
    return {"PostsPublished": len(summary.posted), "PostsFailed": len(summary.failed)}


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="post", model=PostEvent, run=_run, counts=_counts)
