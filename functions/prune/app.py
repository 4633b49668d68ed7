"""Lambda handler of the prune function: who did not follow back, within the band, no churn."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flockpilot.events import PruneEvent
from flockpilot.handling import handle
from flockpilot.observability import logger, metrics, tracer


def _run(request: PruneEvent, remaining: Any) -> Any:
    from flockpilot.jobs.prune import run_prune
    from flockpilot.runtime import prune_context

    return run_prune(prune_context(remaining_seconds=remaining), request)


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="prune", model=PruneEvent, run=_run,
                  counts=lambda s: {"UnfollowsSuggested": len(s.suggested), "Unfollows": len(s.unfollowed),
                                    "ChurnGuardPaused": int(bool(s.churn.get("paused")))})
