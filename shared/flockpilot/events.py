"""The events each function accepts: a scheduled tick or a manual console test event.

Strict on purpose, since people type these in the Lambda console and script against them:
booleans are JSON true/false only (not "true", not 1), integers are integers only (not "5",
not 5.0), unknown fields are refused by name, and the scheduler's fields are bounded. Plain
dataclasses checked by hand, so a cold start does not import a validation library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

MAX_ID_LENGTH = 128
MAX_SCHEDULED_TIME_LENGTH = 35
_ID = rf"[!-~]{{1,{MAX_ID_LENGTH}}}"
_UTC_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+00:00)"
_BOOLEAN = "true or false (JSON booleans, not strings or numbers)"


class EventRejected(ValueError):
    """The event is malformed; the message names each bad field and what it accepts."""


@dataclass(kw_only=True)
class ScheduledTick:
    """What EventBridge Scheduler sends: {"trigger": "schedule", "id": <execution id>,
    "scheduled_time": <UTC time>}. A console test event may leave all of them out."""

    trigger: str = "manual"
    id: str | None = None  # the scheduler's execution id, used as the correlation id
    scheduled_time: str | None = None  # when the scheduler meant to run, in UTC

    @property
    def plain(self) -> bool:
        """The scheduler's own tick: no manual override of any kind (every field a job's
        event adds to these three is at its default)."""
        return self.trigger == "schedule" and all(
            getattr(self, f.name) == f.default for f in fields(self) if f.name not in _TICK_FIELDS)


_TICK_FIELDS = frozenset({"trigger", "id", "scheduled_time"})


@dataclass(kw_only=True)
class PostEvent(ScheduledTick):
    """`{"trigger": "schedule"}`, or a manual run with overrides, e.g. `{"dry_run": true,
    "max_posts": 2}` from the Lambda console."""

    dry_run: bool | None = None  # true forces a dry run, whatever the mode
    max_posts: int | None = None  # publish at most this many (0..10)
    publish_next: bool = False  # publish the next planned posts now, due or not


@dataclass(kw_only=True)
class FollowEvent(ScheduledTick):
    """Scheduled tick or console test event, e.g. {"mode": "dry-run", "max": 5}."""

    mode: str | None = None  # suggest | api | dry-run: override the account's mode for this run
    max: int | None = None  # shortlist or follow at most this many (0..400)
    sync: bool | None = None  # force (true) or skip (false) the daily syncs


@dataclass(kw_only=True)
class DigestEvent(ScheduledTick):
    """Scheduled once a day, or from the console: {"dry_run": true} builds and returns the
    digest without sending; {"force": true} sends again on a day that already had one."""

    dry_run: bool | None = None
    force: bool = False


@dataclass(kw_only=True)
class PruneEvent(ScheduledTick):
    """Scheduled tick, or from the console, e.g. {"mode": "dry-run", "max": 5}."""

    mode: str | None = None
    max: int | None = None
    reconcile: bool | None = None  # force (true) or skip (false) the reconciliation step


def _boolean(value: Any, nullable: bool) -> bool:
    return isinstance(value, bool) or (nullable and value is None)


def _whole(low: int, high: int) -> tuple[str, Any]:
    def check(value: Any) -> bool:
        return value is None or (type(value) is int and low <= value <= high)

    return f"a whole number {low}..{high} (not a string, not 5.0)", check


def _choice(*options: str, nullable: bool = True) -> tuple[str, Any]:
    def check(value: Any) -> bool:
        return (nullable and value is None) or (isinstance(value, str) and value in options)

    return (" or ".join(f'"{o}"' for o in options) if len(options) == 2
            else ", ".join(f'"{o}"' for o in options[:-1]) + f' or "{options[-1]}"'), check


def _event_id(value: Any) -> bool:
    return value is None or (isinstance(value, str) and re.fullmatch(_ID, value) is not None)


def _utc_time(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str) or len(value) > MAX_SCHEDULED_TIME_LENGTH or not re.fullmatch(_UTC_TIME, value, re.ASCII):
        return False
    try:
        return datetime.fromisoformat(value).utcoffset() == timedelta(0)
    except ValueError:
        return False


_RULES: dict[str, tuple[str, Any]] = {
    "trigger": _choice("schedule", "manual", nullable=False),
    "id": (f"a string of 1..{MAX_ID_LENGTH} visible ASCII characters, no spaces", _event_id),
    "scheduled_time": (f'an ISO-8601 UTC time such as "2026-11-25T09:10:00Z" (at most {MAX_SCHEDULED_TIME_LENGTH} characters)',
                       _utc_time),
    "dry_run": (_BOOLEAN, lambda v: _boolean(v, True)),
    "sync": (_BOOLEAN, lambda v: _boolean(v, True)),
    "reconcile": (_BOOLEAN, lambda v: _boolean(v, True)),
    "publish_next": (_BOOLEAN, lambda v: _boolean(v, False)),
    "force": (_BOOLEAN, lambda v: _boolean(v, False)),
    "max_posts": _whole(0, 10),
    "max": _whole(0, 400),
    "mode": _choice("suggest", "api", "dry-run"),
}

E = TypeVar("E", bound=ScheduledTick)


def _shown(value: Any) -> str:
    """The offending value as it would be written in JSON, short and on one line."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        if value.bit_length() >= 14000:  # str() refuses numbers past 4,300 digits
            return "a number of thousands of digits"
        return f"a {len(str(abs(value)))}-digit number"
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        try:
            text = ascii(value)
        except ValueError:
            text = f"a {type(value).__name__}"
    return text if len(text) <= 40 else f"{text[:37]}..."


def parse_event(model: type[E], event: object) -> E:
    """The event as `model`, or EventRejected naming, in one line, each bad field, what it
    got and what it accepts."""
    names = [f.name for f in fields(model)]
    if not isinstance(event, Mapping):
        raise EventRejected(f"event: got {_shown(event)}, accepts a JSON object with the fields {', '.join(names)}")
    problems = []
    for name, value in event.items():
        if name not in names:
            problems.append(f"{_shown(name).strip(chr(34))}: unknown field, accepted fields are {', '.join(names)}")
            continue
        accepts, check = _RULES[name]
        if not check(value):
            problems.append(f"{name}: got {_shown(value)}, accepts {accepts}")
    if problems:
        raise EventRejected("; ".join(problems))
    return model(**{str(k): v for k, v in event.items()})
