"""The blog-feed rules: which feed entries become new `article` items, and how a title is
cleaned and cut to fit a post. Pure: entries and what is already known come in, items and
the reasons for everything left out come back.

Deduplication uses two keys, both worth storing for every entry ever seen:
- the entry key (`entry_key`): the entry's id (RSS guid, Atom id), or its normalized link
  when the feed gives no id;
- the link key (`normalize_link`): the link with the scheme folded to https and the host
  lowercased, default port, fragment, `utm_*` parameters and trailing slashes dropped. So
  `HTTP://Blog.example:80/post/?utm_source=rss#top` and `https://blog.example/post` are the
  same post; other query parameters and the path's case are kept, because they can name a
  different page. http and https count as one so a blog moving to https re-adds nothing.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flockpilot.domain.content import ContentItem, ContentKind, new_item
from flockpilot.domain.errors import ContentRejected
from flockpilot.domain.text import MAX_WEIGHTED_LENGTH, measure

ELLIPSIS = "\u2026"
MAX_LINK_CHARS = 2048
# A title is cut to this many characters before fitting: no real title is longer, and it
# keeps the weighted-length search cheap on hostile input.
MAX_TITLE_CHARS = 1000
MAX_RAW_TITLE_CHARS = 20 * MAX_TITLE_CHARS  # before markup is stripped
# A cut at a word boundary is preferred unless it keeps less than this share of what a cut
# between any two characters would (a long first word, or CJK text with few spaces).
MIN_WORD_CUT_SHARE = 0.5


class SkipReason(StrEnum):
    KNOWN_ENTRY = "known_entry"  # its entry key was seen before
    KNOWN_LINK = "known_link"  # its link key was seen before
    REMOVED = "removed"  # it would rebuild an item the person removed
    DUPLICATE_IN_FEED = "duplicate_in_feed"  # an earlier entry of this feed has its key or link


class RejectReason(StrEnum):
    NO_LINK = "no_link"
    BAD_LINK = "bad_link"  # not an absolute http(s) URL, or absurdly long
    NO_TITLE = "no_title"
    TOO_LONG = "too_long"  # no clean cut of the title fits beside the link
    INVALID = "invalid"  # new_item refused it for another reason (its message is kept)


@dataclass(frozen=True)
class Feed:
    """A feed the person registered (their blog): checked once a day for new entries."""

    url: str
    added_at: datetime
    checked_on: str | None = None  # the account day of the last check (ISO date)
    added_total: int = 0
    last_error: str | None = None

    @property
    def feed_id(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]


def key_digest(key: str) -> str:
    """A fixed-size name for an entry or link key (they can be long URLs)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class FeedEntry:
    """One entry as the feed gives it, before any rule: the title may still hold HTML."""

    entry_id: str | None
    link: str | None
    title: str | None
    published: datetime | None = None  # aware UTC, or None when the feed gives no date


@dataclass(frozen=True)
class FeedArticle:
    """A new article item and the keys to remember so its entry is never added twice."""

    item: ContentItem
    entry_key: str
    link_key: str
    entry: FeedEntry


@dataclass(frozen=True)
class SkippedEntry:
    """A feed entry not added, and why."""

    entry: FeedEntry
    reason: SkipReason


@dataclass(frozen=True)
class RejectedEntry:
    entry: FeedEntry
    reason: RejectReason
    detail: str


@dataclass(frozen=True)
class FeedImport:
    """What one look at a feed gives: new articles in feed order, and what was left out."""

    added: tuple[FeedArticle, ...]
    skipped: tuple[SkippedEntry, ...]
    rejected: tuple[RejectedEntry, ...]

    @property
    def items(self) -> tuple[ContentItem, ...]:
        return tuple(a.item for a in self.added)

    def counts(self) -> dict[str, int]:
        """The summary `content import-feed --json` prints."""
        return {"added": len(self.added), "skipped": len(self.skipped), "rejected": len(self.rejected)}


def normalize_link(link: str) -> str | None:
    """The link key used for deduplication (see the module docstring), or None when the link
    is not an absolute http(s) URL."""
    try:
        parts = urlsplit(link.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")]
    return urlunsplit(("https", netloc, parts.path.rstrip("/"), urlencode(query), ""))


def entry_key(entry: FeedEntry) -> str | None:
    """The entry's identity: its id when the feed gives one, else its link key."""
    entry_id = (entry.entry_id or "").strip()
    if entry_id:
        return entry_id
    return normalize_link(entry.link) if entry.link else None


def articles_from(
    entries: Iterable[FeedEntry],
    *,
    known_entry_ids: Collection[str],
    known_links: Collection[str],
    removed_item_ids: Collection[str],
    now: datetime,
    cooldown_days: int = 30,
    evergreen: bool = False,
    tags: Sequence[str] = ("feed",),
) -> FeedImport:
    """Turn feed entries into new `article` items (title + link), in feed order.

    An entry is skipped when its entry key is in `known_entry_ids`, its link key matches one
    of `known_links` (raw or normalized links both work) or of `known_entry_ids` (the key of
    an entry first seen without an id is its link key), an earlier entry of this feed
    already gave the same key or link, or the item it would build has an id in
    `removed_item_ids`. The caller should pass the keys of every entry it ever recorded,
    removed items included; `removed_item_ids` is the last guard, for items whose entry
    left no record. An entry is rejected when it has no usable link or title, or the title
    cannot fit beside the link.
    """
    known_ids = set(known_entry_ids)
    known_link_keys = {k for k in (normalize_link(link) for link in known_links) if k}
    removed = set(removed_item_ids)
    seen_keys: set[str] = set()
    seen_links: set[str] = set()
    added: list[FeedArticle] = []
    skipped: list[SkippedEntry] = []
    rejected: list[RejectedEntry] = []

    for entry in entries:
        key = entry_key(entry)
        link_key = normalize_link(entry.link) if entry.link else None
        if key is not None and key in known_ids:
            skipped.append(SkippedEntry(entry, SkipReason.KNOWN_ENTRY))
            continue
        if link_key is not None and (link_key in known_link_keys or link_key in known_ids):
            skipped.append(SkippedEntry(entry, SkipReason.KNOWN_LINK))
            continue
        if (key is not None and key in seen_keys) or (link_key is not None and link_key in seen_links):
            skipped.append(SkippedEntry(entry, SkipReason.DUPLICATE_IN_FEED))
            continue

        outcome = _article(entry, now=now, cooldown_days=cooldown_days, evergreen=evergreen, tags=tags)
        if isinstance(outcome, RejectedEntry):
            rejected.append(outcome)
            continue
        assert key is not None and link_key is not None  # a valid link gives both
        seen_keys.add(key)
        seen_links.add(link_key)
        if outcome.item_id in removed:
            skipped.append(SkippedEntry(entry, SkipReason.REMOVED))
            continue
        added.append(FeedArticle(outcome, key, link_key, entry))
    return FeedImport(tuple(added), tuple(skipped), tuple(rejected))


def _article(entry: FeedEntry, *, now: datetime, cooldown_days: int, evergreen: bool, tags: Sequence[str]) -> ContentItem | RejectedEntry:
    link = (entry.link or "").strip()
    if not link:
        return RejectedEntry(entry, RejectReason.NO_LINK, "the entry has no link")
    problem = _link_problem(link)
    if problem:
        return RejectedEntry(entry, RejectReason.BAD_LINK, problem)
    scheme, _, rest = link.partition(":")
    link = f"{scheme.lower()}:{rest}"  # new_item (and some clients) want a lowercase scheme
    title = clean_title(entry.title or "")
    if not title:
        return RejectedEntry(entry, RejectReason.NO_TITLE, "the entry has no title (or only markup)")
    text = fit_title(title, link)
    if text is None:
        detail = f"title and link cannot fit in {MAX_WEIGHTED_LENGTH} weighted characters (the link alone weighs {measure(link).weighted_length})"
        return RejectedEntry(entry, RejectReason.TOO_LONG, detail)
    try:
        return new_item(kind=ContentKind.ARTICLE, text=text, url=link, now=now, tags=tuple(tags), evergreen=evergreen, cooldown_days=cooldown_days)
    except ContentRejected as exc:
        return RejectedEntry(entry, RejectReason.INVALID, str(exc))


def _link_problem(link: str) -> str | None:
    if len(link) > MAX_LINK_CHARS:
        return f"the link is longer than {MAX_LINK_CHARS} characters"
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in link):
        return "the link contains spaces or control characters"
    scheme = link.partition(":")[0].lower() if ":" in link else ""
    if scheme not in ("http", "https"):
        return f"the link {link[:60]!r} is not an absolute http(s) URL"
    if normalize_link(link) is None:
        return f"the link {link[:60]!r} has no valid host"
    if "@" in urlsplit(link).netloc:
        return "the link carries a user name or password, which a public post must not show"
    if not measure(link).has_url:
        return f"X would not link {link[:60]!r} (its domain is not one X recognises)"
    return None


# --- titles ---------------------------------------------------------------------------

# An unclosed script, style or comment runs to the end, so no pattern rescans the text.
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_BLOCK_TAG = re.compile(r"</?(?:br|p|div|li|ul|ol|h[1-6]|tr|td|th|blockquote|hr)\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# Invisible characters people never mean in a title: bidi controls, zero-width space, word
# joiners, BOM, soft hyphen. The joiners that emoji and scripts need (ZWJ, ZWNJ) stay.
_INVISIBLE = frozenset("\u00ad\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")


def clean_title(raw: str) -> str:
    """A feed title as plain text: scripts, comments and tags dropped, entities decoded, NFC,
    control and invisible characters removed, whitespace collapsed.

    Feeds disagree on whether a title is text or HTML, so anything that looks like a tag is
    markup: a title that means a literal `<div>` loses it.
    """
    text = _SCRIPT_OR_STYLE.sub(" ", raw[:MAX_RAW_TITLE_CHARS])
    text = _COMMENT.sub(" ", text)
    text = _BLOCK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    text = unicodedata.normalize("NFC", html.unescape(text))
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif ch in _INVISIBLE or _is_noncharacter(ch) or unicodedata.category(ch) in ("Cc", "Cs"):
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def _is_noncharacter(ch: str) -> bool:
    cp = ord(ch)
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def fit_title(title: str, url: str) -> str | None:
    """The text to post before `url`: the title whole when `title url` fits X's 280 weighted
    characters, else cut with an ellipsis; None when not even one character fits.

    The cut prefers a word boundary (the longest prefix that ends before a space); it falls
    back to a cut between any two characters when the word cut would keep less than half as
    much (CJK has no spaces). Either way it never splits a character from its combining marks
    nor an emoji sequence (see `_can_cut`). Lengths come from `measure`, not arithmetic,
    because URLs and emoji inside a title weigh what twitter-text says they weigh.
    """
    if len(title) <= MAX_TITLE_CHARS and _fits(title, url):
        return title
    if len(title) > MAX_TITLE_CHARS:
        title = title[: max((i for i in range(MAX_TITLE_CHARS + 1) if _can_cut(title, i)), default=0)]
    word_ends = [i for i in range(1, len(title)) if title[i] == " " and _can_cut(title, i)]
    char_ends = [i for i in range(1, len(title) + 1) if _can_cut(title, i)]
    by_word = _longest_fitting(title, url, word_ends)
    by_char = _longest_fitting(title, url, char_ends)
    if by_word is not None and (by_char is None or len(by_word) >= MIN_WORD_CUT_SHARE * len(by_char)):
        return by_word
    return by_char


def _fits(text: str, url: str) -> bool:
    return measure(f"{text} {url}").valid


def _cut(title: str, end: int) -> str | None:
    """The title cut at `end` with an ellipsis; trailing spaces and joining punctuation go."""
    head = title[:end].rstrip()
    trimmed = head.rstrip(",;:-\u2013\u2014([{/|&")
    if trimmed and _can_cut(title, len(trimmed)):
        head = trimmed.rstrip()
    if not head or not _can_cut(title, len(head)):
        return None
    return head + ELLIPSIS


def _longest_fitting(title: str, url: str, ends: list[int]) -> str | None:
    """Binary search for the longest cut that fits. Weighted length grows with the prefix
    except around URL-like tokens, so the answer is checked, never assumed."""
    best: str | None = None
    lo, hi = 0, len(ends) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = _cut(title, ends[mid])
        if candidate is not None and _fits(candidate, url):
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    if best is None:
        # Not monotonic after all (a URL-like token near the start): take the shortest cut.
        for end in ends:
            candidate = _cut(title, end)
            if candidate is not None:
                return candidate if _fits(candidate, url) else None
    return best


# --- where text may be cut ------------------------------------------------------------
# A conservative reading of Unicode's extended grapheme clusters (UAX #29): every place
# `_can_cut` allows is a cluster boundary; a few true boundaries are refused (after a
# virama, around unassigned code points), which only makes a cut slightly earlier.

_ZWJ = "\u200d"
_NO_CUT_BEFORE_CATEGORIES = frozenset({"Mn", "Me", "Mc", "Cf", "Cn", "Cs"})
_NO_CUT_BEFORE = frozenset("\u0e33\u0eb3\uff9e\uff9f")  # spacing marks and extenders outside those categories
_PREPEND = frozenset(
    [*map(chr, range(0x0600, 0x0606)), "\u06dd", "\u070f", "\u0890", "\u0891", "\u08e2", "\u0d4e",
     "\U000110bd", "\U000110cd", "\U000111c2", "\U000111c3", "\U0001193f", "\U00011941", "\U00011a3a",
     *map(chr, range(0x11A84, 0x11A8A)), "\U00011d46", "\U00011f02"]
)


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _hangul(ch: str) -> str:
    cp = ord(ch)
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return ""


_HANGUL_JOINS: dict[str, frozenset[str]] = {
    "L": frozenset({"L", "V", "LV", "LVT"}),
    "V": frozenset({"V", "T"}),
    "LV": frozenset({"V", "T"}),
    "T": frozenset({"T"}),
    "LVT": frozenset({"T"}),
}


def _can_cut(text: str, i: int) -> bool:
    """May `text` be cut before index `i` without splitting a user-perceived character?"""
    if i <= 0:
        return False
    if i >= len(text):
        return True
    prev, cur = text[i - 1], text[i]
    if prev == _ZWJ or prev in _PREPEND or unicodedata.combining(prev) == 9 or unicodedata.category(prev) in ("Cn", "Cs"):
        return False  # 9 = virama: keep Indic conjuncts whole
    if cur in _NO_CUT_BEFORE or unicodedata.category(cur) in _NO_CUT_BEFORE_CATEGORIES or 0x1F3FB <= ord(cur) <= 0x1F3FF:
        return False  # combining marks, ZWJ/ZWNJ, variation selectors, emoji tags and skin tones
    if prev == "\r" and cur == "\n":
        return False
    if _is_regional_indicator(prev) and _is_regional_indicator(cur):
        run = _count_back(text, i, _is_regional_indicator)
        return run % 2 == 0  # flags are pairs
    return _hangul(cur) not in _HANGUL_JOINS.get(_hangul(prev), frozenset())  # Hangul syllables from jamo


def _count_back(text: str, i: int, test: Callable[[str], bool]) -> int:
    n = 0
    while i - n - 1 >= 0 and test(text[i - n - 1]):
        n += 1
    return n
