"""Lambda handler of the digest function: the day's DMs ranked with drafts, emailed once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flockpilot.events import DigestEvent
from flockpilot.handling import handle
from flockpilot.observability import logger, metrics, tracer


def _run(request: DigestEvent, remaining: Any) -> Any:
    from flockpilot.jobs.digest import run_digest
    from flockpilot.runtime import digest_context

    return run_digest(digest_context(remaining_seconds=remaining), request)


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="digest", model=DigestEvent, run=_run,
                  counts=lambda s: {"DigestsSent": int(s.status == "sent"), "DirectMessagesRead": s.new_messages})
