"""Lambda handler of the follow function: finds, ranks and delivers the day's follows."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flockpilot.events import FollowEvent
from flockpilot.handling import handle
from flockpilot.observability import logger, metrics, tracer


def _run(request: FollowEvent, remaining: Any) -> Any:
    from flockpilot.jobs.follow import run_follow
    from flockpilot.runtime import follow_context

    return run_follow(follow_context(remaining_seconds=remaining), request)


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="follow", model=FollowEvent, run=_run,
                  counts=lambda s: {"FollowsShortlisted": len(s.shortlisted), "FollowsMade": len(s.followed),
                                    "FollowBacks": len(s.follow_backs)})
