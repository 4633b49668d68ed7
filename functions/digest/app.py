"""Lambda handler of the digest function: the day's DMs ranked with drafts, emailed once."""

from __future__ import annotations

import gc

gc.disable()  # while Lambda initialises: import_function_code (below) freezes what init made, then resumes collecting

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flockpilot.events import DigestEvent
from flockpilot.handling import handle
from flockpilot.jobs.digest import DigestSummary, run_digest
from flockpilot.observability import logger, metrics, tracer
from flockpilot.runtime import digest_deps, import_function_code, wire

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

import_function_code("digest")  # the adapters its runs use: code only (no setting, secret or client) while Lambda initialises


def _run(request: DigestEvent, remaining: Callable[[], float]) -> DigestSummary:
    return run_digest(digest_deps(wire(remaining_seconds=remaining)), request)


def _counts(summary: DigestSummary) -> dict[str, int]:
    return {"DigestsSent": int(summary.status == "sent"), "DirectMessagesRead": summary.new_messages}


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, job="digest", model=DigestEvent, run=_run, counts=_counts)
