"""Lambda handler of the follow function: finds, ranks and delivers the day's follows."""

from __future__ import annotations

import gc

gc.disable()  # while Lambda initialises: import_function_code (below) freezes what init made, then resumes collecting

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flockpilot.events import FollowEvent
from flockpilot.handling import handle
from flockpilot.jobs.follow import FollowSummary, run_follow
from flockpilot.jobs.skeleton import DONE_DAY_RECHECK, day_done_quiet
from flockpilot.observability import logger, metrics, tracer
from flockpilot.runtime import follow_deps, import_function_code, wire

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

import_function_code("follow")  # the adapters its runs use: code only (no setting, secret or client) while Lambda initialises


# A scheduled tick of a day this container saw done does nothing: it reuses the settings this container
# read while the memo of that day is trusted (DONE_DAY_RECHECK), and reads nothing.
_QUIET = day_done_quiet("follow")


def _run(request: FollowEvent, remaining: Callable[[], float]) -> FollowSummary:
    return run_follow(follow_deps(wire(remaining_seconds=remaining, quiet=_QUIET if request.plain else None,
                                      settings_reuse=DONE_DAY_RECHECK)), request)


def _counts(summary: FollowSummary) -> dict[str, int]:
    return {"FollowsShortlisted": len(summary.shortlisted), "FollowsMade": len(summary.followed),
            "FollowBacks": max(len(summary.follow_backs), summary.follow_backs_count)}


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="follow", model=FollowEvent, run=_run, counts=_counts)
