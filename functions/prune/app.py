"""Lambda handler of the prune function: who did not follow back, within the band, no churn."""

from __future__ import annotations

import gc

gc.disable()  # while Lambda initialises: import_function_code (below) freezes what init made, then resumes collecting

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flockpilot.events import PruneEvent
from flockpilot.handling import handle
from flockpilot.jobs.prune import PruneSummary, run_prune
from flockpilot.jobs.skeleton import DONE_DAY_RECHECK, day_done_quiet
from flockpilot.observability import logger, metrics, tracer
from flockpilot.runtime import import_function_code, prune_deps, wire

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

import_function_code("prune")  # the adapters its runs use: code only (no setting, secret or client) while Lambda initialises


# A scheduled tick of a day this container saw done does nothing: it reuses the settings this container
# read while the memo of that day is trusted (DONE_DAY_RECHECK), and reads nothing.
_QUIET = day_done_quiet("prune")


def _run(request: PruneEvent, remaining: Callable[[], float]) -> PruneSummary:
    return run_prune(prune_deps(wire(remaining_seconds=remaining, quiet=_QUIET if request.plain else None,
                                     settings_reuse=DONE_DAY_RECHECK), remaining), request)


def _counts(summary: PruneSummary) -> dict[str, int]:
    return {"PruneSuggested": len(summary.suggested), "Unfollowed": len(summary.unfollowed),
            "FollowBackChecks": summary.checked}


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="prune", model=PruneEvent, run=_run, counts=_counts)
