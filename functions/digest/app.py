"""Lambda handler of the digest function: the day's DMs ranked with drafts, emailed once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flockpilot.events import DigestEvent
from flockpilot.handling import handle
from flockpilot.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from flockpilot.jobs.digest import DigestSummary


def _run(request: DigestEvent, remaining: Callable[[], float]) -> DigestSummary:
    from flockpilot.jobs.digest import run_digest
    from flockpilot.runtime import digest_deps, wire

    return run_digest(digest_deps(wire(remaining_seconds=remaining)), request)


def _counts(summary: DigestSummary) -> dict[str, int]:
    return {"DigestsSent": int(summary.status == "sent"), "DirectMessagesRead": summary.new_messages}


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="digest", model=DigestEvent, run=_run, counts=_counts)
