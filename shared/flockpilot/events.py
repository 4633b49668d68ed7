"""The events each function accepts: a scheduled tick or a manual console test event."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
