"""The events each function accepts: a scheduled tick or a manual console test event.

Strict on purpose, since people type these in the Lambda console and script against them:
booleans are JSON true/false only (not "true", not 1), integers are integers only (not "5",
not 5.0), unknown fields are refused by name, and the scheduler's fields are bounded.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

MAX_ID_LENGTH = 128
MAX_SCHEDULED_TIME_LENGTH = 35


def _utc_instant(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not a date and time") from None
    if moment.utcoffset() != timedelta(0):
        raise ValueError("not UTC")
    return value


# A scheduler execution id: visible ASCII, no spaces or control characters (it goes into logs).
EventId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=r"^[!-~]+$")]
# ISO-8601 in UTC, as EventBridge Scheduler sends it: "2026-11-25T09:10:00Z".
ScheduledTime = Annotated[
    str,
    StringConstraints(max_length=MAX_SCHEDULED_TIME_LENGTH,
                      pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+00:00)$"),
    AfterValidator(_utc_instant),
]


class _ScheduledTick(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    trigger: Literal["schedule", "manual"] = "manual"
    id: EventId | None = Field(None, description="scheduler execution id, used as correlation id")
    scheduled_time: ScheduledTime | None = Field(None, description="when the scheduler meant to run, in UTC")


class PostEvent(_ScheduledTick):
    """`{"trigger": "schedule"}` from EventBridge Scheduler, or a manual run with overrides,
    e.g. `{"dry_run": true, "max_posts": 2}` from the Lambda console."""

    dry_run: bool | None = Field(None, description="true forces a dry run, whatever the mode")
    max_posts: int | None = Field(None, ge=0, le=10, description="publish at most this many")
    publish_next: bool = Field(False, description="publish the next planned posts now, due or not")


class FollowEvent(_ScheduledTick):
    """Scheduled tick or console test event, e.g. {"mode": "dry-run", "max": 5}."""

    mode: Literal["suggest", "api", "dry-run"] | None = Field(None, description="override the account's mode for this run")
    max: int | None = Field(None, ge=0, le=400, description="shortlist or follow at most this many")
    sync: bool | None = Field(None, description="force (true) or skip (false) the daily syncs")


class DigestEvent(_ScheduledTick):
    """Scheduled once a day, or from the console: {"dry_run": true} builds and returns the
    digest without sending; {"force": true} sends again on a day that already had one."""

    dry_run: bool | None = None
    force: bool = False


class PruneEvent(_ScheduledTick):
    """Scheduled tick, or from the console, e.g. {"mode": "dry-run", "max": 5}."""

    mode: Literal["suggest", "api", "dry-run"] | None = None
    max: int | None = Field(None, ge=0, le=400)
    reconcile: bool | None = Field(None, description="force (true) or skip (false) the full reconciliation step")


_BOOLEAN = "true or false (JSON booleans, not strings or numbers)"
_ACCEPTS = {
    "trigger": '"schedule" or "manual"',
    "id": f"a string of 1..{MAX_ID_LENGTH} visible ASCII characters, no spaces",
    "scheduled_time": f'an ISO-8601 UTC time such as "2026-11-25T09:10:00Z" (at most {MAX_SCHEDULED_TIME_LENGTH} characters)',
    "dry_run": _BOOLEAN,
    "publish_next": _BOOLEAN,
    "sync": _BOOLEAN,
    "force": _BOOLEAN,
    "reconcile": _BOOLEAN,
    "max_posts": "a whole number 0..10 (not a string, not 5.0)",
    "max": "a whole number 0..400 (not a string, not 5.0)",
    "mode": '"suggest", "api" or "dry-run"',
}
_MODELS: dict[str, type[BaseModel]] = {m.__name__: m for m in (PostEvent, FollowEvent, DigestEvent, PruneEvent)}


def _shown(value: Any) -> str:
    """The offending value as it would be written in JSON, short and on one line."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = ascii(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def explain(error: ValidationError) -> str:
    """One line naming each bad field of an event, what it got and what it accepts."""
    model = _MODELS.get(error.title)
    fields = ", ".join(model.model_fields) if model else "see the README"
    problems = []
    for e in error.errors():
        name = ".".join(map(str, e["loc"]))
        if not name:
            problems.append(f"event: got {_shown(e['input'])}, accepts a JSON object with the fields {fields}")
        elif e["type"] == "extra_forbidden":
            problems.append(f"{name}: unknown field, accepted fields are {fields}")
        else:
            problems.append(f"{name}: got {_shown(e['input'])}, accepts {_ACCEPTS.get(name, e['msg'])}")
    return "; ".join(problems)
