"""What every handler does between Powertools' decorators and its job: validate the event,
run the job, report its outcome honestly, count metrics, return the summary.

- A malformed event is answered `rejected` with the bad fields named and counted in the
  EventsRejected metric; nothing runs.
- A run that needs the person (bad settings, revoked credentials, X refusing the app, an
  unverified sender) returns `status: error` with `outcome: failed` and a non-empty `error`
  (its reasons joined), and counts RunFailures: a retry would not help, the alarm tells the
  person. That holds whether the job raised or came back failed.
- A failure a retry can fix (X or AWS unavailable) is raised after the run is recorded, so
  Lambda retries it, its Errors metric counts it and the dead-letter queue keeps what fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from flockpilot.domain.errors import FlockpilotError
from flockpilot.events import EventRejected, ScheduledTick, parse_event
from flockpilot.jobs.skeleton import RunOutcome, RunSummary
from flockpilot.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

E = TypeVar("E", bound=ScheduledTick)
S = TypeVar("S", bound=RunSummary)


def handle(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    job: str,
    model: type[E],
    run: Callable[[E, Callable[[], float]], S],
    counts: Callable[[S], dict[str, int]],
) -> dict[str, Any]:
    from flockpilot.logsafety import install_log_redaction

    install_log_redaction()
    try:
        request = parse_event(model, event)
    except EventRejected as exc:
        logger.error("event rejected", job=job, problems=str(exc))
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        error = f"invalid event: {exc}"
        return {"status": "rejected", "outcome": RunOutcome.FAILED.value, "reasons": [error], "error": error}
    try:
        summary = run(request, lambda: context.get_remaining_time_in_millis() / 1000)
    except FlockpilotError as exc:
        if getattr(exc, "retryable", False):
            logger.exception("run failed; Lambda retries it", job=job)
            raise
        logger.exception("run failed", job=job)
        metrics.add_metric(name="RunFailures", unit=MetricUnit.Count, value=1)
        error = str(exc) or type(exc).__name__
        return {"status": "error", "outcome": RunOutcome.FAILED.value, "reasons": [error], "error": error}
    figures = counts(summary)
    for name, value in figures.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    cost = summary.cost
    metrics.add_metric(name="XApiRequests", unit=MetricUnit.Count, value=int(cost.get("requests", 0)))  # type: ignore[call-overload]
    metrics.add_metric(name="XApiCostMicroUsd", unit=MetricUnit.Count, value=round(float(cost.get("usd", 0)) * 1e6))  # type: ignore[arg-type]
    metrics.add_metric(name="RunFailures", unit=MetricUnit.Count, value=int(summary.outcome is RunOutcome.FAILED))
    metrics.add_metric(name="RunPartial", unit=MetricUnit.Count, value=int(summary.outcome is RunOutcome.PARTIAL))
    log = logger.warning if summary.outcome is not RunOutcome.OK else logger.info
    log("run finished", extra={"job": job, "outcome": summary.outcome.value, "reasons": summary.reasons,
                               "cost_usd": cost.get("usd"), **figures})
    result = summary.to_json()
    if "status" in result:  # the digest's own status (sent, already-sent...) keeps its own name
        result[f"{job}_status"] = result.pop("status")
    return {"status": "error" if summary.outcome is RunOutcome.FAILED else "ok", **result}
