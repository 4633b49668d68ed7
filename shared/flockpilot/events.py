"""The events each function accepts: a scheduled tick or a manual console test event."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class PostEvent(BaseModel):
    """`{"trigger": "schedule"}` from EventBridge Scheduler, or a manual run with overrides,
    e.g. `{"dry_run": true, "max_posts": 2}` from the Lambda console."""

    model_config = ConfigDict(extra="forbid")

    trigger: Literal["schedule", "manual"] = "manual"
    id: str | None = Field(None, description="scheduler execution id, used as correlation id")
    scheduled_time: str | None = None
    dry_run: bool | None = Field(None, description="true forces a dry run, whatever the mode")
    max_posts: int | None = Field(None, ge=0, le=10, description="publish at most this many")
    publish_next: bool = Field(False, description="publish the next planned posts now, due or not")


class FollowEvent(BaseModel):
    """Scheduled tick or console test event, e.g. {"mode": "dry-run", "max": 5}."""

    model_config = ConfigDict(extra="forbid")

    trigger: Literal["schedule", "manual"] = "manual"
    id: str | None = None
    scheduled_time: str | None = None
    mode: Literal["suggest", "api", "dry-run"] | None = Field(None, description="override the account's mode for this run")
    max: int | None = Field(None, ge=0, le=400, description="shortlist or follow at most this many")
    sync: bool | None = Field(None, description="force (true) or skip (false) the daily syncs")


def explain(error: ValidationError) -> str:
    """One line naming each bad field of an event and what is wrong with it."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'event'}: {e['msg']}" for e in error.errors())


class DigestEvent(BaseModel):
    """Scheduled once a day, or from the console: {"dry_run": true} builds and returns the
    digest without sending; {"force": true} sends again on a day that already had one."""

    model_config = ConfigDict(extra="forbid")

    trigger: Literal["schedule", "manual"] = "manual"
    id: str | None = None
    scheduled_time: str | None = None
    dry_run: bool | None = None
    force: bool = False


class PruneEvent(BaseModel):
    """Scheduled tick, or from the console, e.g. {"mode": "dry-run", "max": 5}."""

    model_config = ConfigDict(extra="forbid")

    trigger: Literal["schedule", "manual"] = "manual"
    id: str | None = None
    scheduled_time: str | None = None
    mode: Literal["suggest", "api", "dry-run"] | None = None
    max: int | None = Field(None, ge=0, le=400)
    reconcile: bool | None = Field(None, description="force (true) or skip (false) the full reconciliation step")
