"""The content library: what can be posted, and when an item may be used again."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flockpilot.domain.errors import ContentRejected


class ContentKind(StrEnum):
    QUIP = "quip"
    QUOTE = "quote"
    ARTICLE = "article"
    PITCH = "pitch"
    REPOST = "repost"
    PLUG = "plug"  # posted only as a reply under one of your posts that took off (plug_min_likes)


# The routine's mix: about half "light" posts (quips, quotes, reposts), half links.
LIGHT_KINDS = frozenset({ContentKind.QUIP, ContentKind.QUOTE, ContentKind.REPOST})
LINK_KINDS = frozenset({ContentKind.ARTICLE, ContentKind.PITCH})


class ItemStatus(StrEnum):
    QUEUED = "queued"
    POSTED = "posted"  # a one-off item that went out; evergreen items stay queued
    RETIRED = "retired"  # an evergreen item that kept underperforming (the reason is kept)


@dataclass(frozen=True)
class Learning:
    """What an item's posts earned, summed over the posts measured so far."""

    measured: int = 0  # posts with results
    impressions: int = 0
    engagements: int = 0
    link_clicks: int = 0
    cost_usd: float = 0.0
    rests: int = 0  # times it was rested for underperforming
    judged_measured: int = 0  # `measured` when it was last rested: judged again only after a new result
    retired_reason: str | None = None
    retired_on: str | None = None  # the account day it was retired (ISO date)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any] | None) -> Learning:
        if not body:
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in body.items() if k in known})


_TWEET_URL = re.compile(r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/[^/]+/status(?:es)?/(\d+)")
_TWEET_ID = re.compile(r"^\d{1,19}$")


def repost_target(reference: str) -> str:
    """The post id a repost item points at, from a post URL or a bare id."""
    ref = reference.strip()
    if _TWEET_ID.match(ref):
        return ref
    match = _TWEET_URL.match(ref)
    if match:
        return match.group(1)
    raise ContentRejected(
        f"a repost needs a post URL (https://x.com/<user>/status/<id>) or a post id, got {ref[:60]!r}"
    )


@dataclass(frozen=True)
class ContentItem:
    """One item of the library, with its posting state and its results."""

    item_id: str
    kind: ContentKind
    text: str
    url: str | None
    tags: tuple[str, ...]
    evergreen: bool
    cooldown_days: int
    weighted_length: int
    has_url: bool
    added_at: datetime
    status: ItemStatus = ItemStatus.QUEUED
    times_posted: int = 0
    last_posted_at: datetime | None = None
    cooldown_until: datetime | None = None
    last_error: str | None = None
    learning: Learning = Learning()

    @property
    def post_text(self) -> str:
        """The exact text sent to X (the URL, if any, goes last)."""
        return f"{self.text} {self.url}" if self.url else self.text

    @property
    def price_kind(self) -> str:
        """Which line of the price table one use of this item is billed on."""
        if self.kind is ContentKind.REPOST:
            return "interaction_create"
        return "post_create_url" if self.has_url else "post_create"

    def available(self, now: datetime) -> bool:
        if self.status is not ItemStatus.QUEUED:
            return False
        return self.cooldown_until is None or self.cooldown_until <= now

    def after_posting(self, now: datetime) -> ContentItem:
        """The item once published: one-offs retire, evergreen items rest for their cooldown."""
        return replace(
            self,
            status=ItemStatus.QUEUED if self.evergreen else ItemStatus.POSTED,
            times_posted=self.times_posted + 1,
            last_posted_at=now,
            cooldown_until=now + timedelta(days=self.cooldown_days) if self.evergreen else None,
            last_error=None,
        )

    def rested(self, now: datetime, days: int, reason: str) -> ContentItem:
        """The item benched for `days` (X refused it as a duplicate, say); it stays queued."""
        return replace(self, cooldown_until=now + timedelta(days=days), last_error=reason)


def item_id_for(kind: ContentKind, text: str, url: str | None) -> str:
    """Same kind and text give the same id, so importing a file twice adds nothing twice."""
    digest = hashlib.sha256(f"{kind}\x1f{text.strip()}\x1f{url or ''}".encode()).hexdigest()
    return f"{kind.value[:2]}-{digest[:12]}"


def new_item(
    *,
    kind: ContentKind | str,
    text: str,
    now: datetime,
    url: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
    evergreen: bool = False,
    cooldown_days: int = 30,
) -> ContentItem:
    """Validate and build a content item; refuse it with the reason and weighted length."""
    from flockpilot.domain.text import MAX_WEIGHTED_LENGTH, measure  # X's length rules: loaded when content is added

    try:
        kind = ContentKind(kind)
    except ValueError:
        raise ContentRejected(
            f"unknown kind {kind!r}; use one of {', '.join(k.value for k in ContentKind)}"
        ) from None
    text = text.strip()
    url = (url or "").strip() or None
    if not text:
        raise ContentRejected("text is empty")
    if not 1 <= cooldown_days <= 3650:
        raise ContentRejected(f"cooldown_days={cooldown_days} is out of range 1..3650")
    if url is not None and not re.match(r"^https?://\S+$", url):
        raise ContentRejected(f"url {url!r} is not an http(s) URL")
    if kind is ContentKind.ARTICLE and url is None and not measure(text).has_url:
        raise ContentRejected("an article needs a URL (in --url or in the text)")
    if kind is ContentKind.REPOST:
        if url is not None:
            raise ContentRejected("a repost takes the post URL or id as its text, not --url")
        text = repost_target(text)
        weighted, has_url = 0, False
    else:
        m = measure(f"{text} {url}" if url else text)
        if m.weighted_length > MAX_WEIGHTED_LENGTH:
            raise ContentRejected(
                f"weighted length {m.weighted_length} is over X's limit of {MAX_WEIGHTED_LENGTH}",
                weighted_length=m.weighted_length,
            )
        if not m.valid:
            raise ContentRejected("the text has characters X refuses (e.g. U+FEFF, U+FFFE, U+FFFF)", weighted_length=m.weighted_length)
        if url is not None and not measure(url).has_url:
            raise ContentRejected(f"X would not link {url!r} (its host or domain is not one X recognises): "
                                  "the post would go out with a dead link")
        for written in re.findall(r"https?://\S+", text):
            if not measure(written).has_url:
                raise ContentRejected(f"X would not link {written!r} in the text (its host or domain is not one X "
                                      "recognises): the post would show it as plain text, not a link")
        weighted, has_url = m.weighted_length, m.has_url
    return ContentItem(
        item_id=item_id_for(kind, text, url),
        kind=kind,
        text=text,
        url=url,
        tags=tuple(t.strip() for t in tags if t.strip()),
        evergreen=evergreen,
        cooldown_days=cooldown_days,
        weighted_length=weighted,
        has_url=has_url,
        added_at=now,
    )
