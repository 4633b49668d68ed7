"""Lambda handler of the follow function: finds, ranks and delivers the day's follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flockpilot.events import FollowEvent
from flockpilot.handling import handle
from flockpilot.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from flockpilot.jobs.follow import FollowSummary


def _run(request: FollowEvent, remaining: Callable[[], float]) -> FollowSummary:
    from flockpilot.jobs.follow import run_follow
    from flockpilot.runtime import follow_deps, wire

    return run_follow(follow_deps(wire(remaining_seconds=remaining)), request)


def _counts(summary: FollowSummary) -> dict[str, int]:
    return {"FollowsShortlisted": len(summary.shortlisted), "FollowsMade": len(summary.followed),
            "FollowBacks": len(summary.follow_backs)}


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="follow", model=FollowEvent, run=_run, counts=_counts)
