"""What X tells us, as plain values: people, posts, DM events, pages, rate windows.

The X adapter turns X's JSON into these; jobs and rules never see JSON. A field X did not
send stays None (unknown), never a default that reads as a fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

TWITTER_EPOCH_MS = 1288834974657
DEFAULT_AVATAR_MARK = "default_profile_images"

T = TypeVar("T")


def snowflake_time(x_id: str) -> datetime:
    """When an X id was created: (id >> 22) + X's epoch, in ms. No read needed."""
    return datetime.fromtimestamp(((int(x_id) >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


@dataclass(frozen=True)
class XUser:
    """A person as X describes them (only the fields Flockpilot asks for)."""

    id: str
    username: str
    name: str = ""
    description: str = ""
    protected: bool = False
    default_avatar: bool = False
    followers: int = 0
    following: int = 0
    posts: int = 0
    created_at: datetime | None = None
    last_post_at: datetime | None = None
    last_post_lang: str | None = None
    # Relative to the account: e.g. ("following", "followed_by"). None: X did not say.
    connection: tuple[str, ...] | None = None

    @property
    def follows_me(self) -> bool | None:
        return None if self.connection is None else "followed_by" in self.connection

    @property
    def i_follow(self) -> bool | None:
        return None if self.connection is None else "following" in self.connection

    @property
    def bio_first_line(self) -> str:
        return next((line.strip() for line in self.description.splitlines() if line.strip()), "")


@dataclass(frozen=True)
class PostMetrics:
    """A post's figures. Non-public ones (impressions, clicks) exist only for your own recent posts."""

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    bookmarks: int = 0
    impressions: int | None = None
    link_clicks: int | None = None
    profile_clicks: int | None = None

    @property
    def engagements(self) -> int:
        return self.likes + self.reposts + self.replies + self.quotes + self.bookmarks


@dataclass(frozen=True)
class PostRef:
    """One of your posts as X returned it."""

    id: str
    text: str
    created_at: datetime | None = None
    reply_to: str | None = None
    metrics: PostMetrics | None = None


@dataclass(frozen=True)
class DmEvent:
    """One direct-message event."""

    id: str
    conversation_id: str
    sender_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the token of the next."""

    items: list[T] = field(default_factory=list)
    next_token: str | None = None


@dataclass(frozen=True)
class DmPage:
    """One page of direct-message events, with the senders X included."""

    events: list[DmEvent]
    senders: dict[str, XUser]
    next_token: str | None


@dataclass(frozen=True)
class RateWindow:
    """An endpoint's rate-limit window as X's headers last said."""

    limit: int
    remaining: int
    reset_at: datetime
