"""The DM digest's rules: rank conversations, draft a reply by name, show strangers' text safely."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

WORTH, MAYBE, IGNORE = "worth replying", "maybe", "safe to ignore"
MAX_MESSAGE_CHARS = 600
MAX_NAME_CHARS = 50

# Bidi controls (e.g. U+202E RIGHT-TO-LEFT OVERRIDE), zero-width and other invisible format
# characters: strangers use them to disguise text. Ordinary emoji joiners are kept inside emoji.
_INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MONEY = re.compile(
    r"\b(crypto|bitcoin|btc|forex|invest(ment|ing)?|earn|profit|loan|promo(tion)?|discount|% ?off|"
    r"followers? (for|fast)|dm me|whatsapp|telegram|onlyfans|casino|giveaway|guaranteed)\b|\$\d",
    re.IGNORECASE,
)
_PITCH = re.compile(r"\b(check out my|buy|sale|offer|service|agency|hire me|we help|boost your)\b", re.IGNORECASE)
_LINK = re.compile(r"https?://\S+|\bwww\.\S+", re.IGNORECASE)


def safe_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Text from a stranger, fit to show: NFC, no invisible or control characters, truncated
    with a visible marker. Escaping for HTML happens when rendering."""
    clean = _CONTROL.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFC", text)))
    if len(clean) > limit:
        return f"{clean[:limit]}… [{len(clean) - limit} more characters not shown]"
    return clean


def first_name(name: str, username: str) -> str:
    """The name to greet: the first word of the display name that has letters, else @handle."""
    for word in safe_text(name, MAX_NAME_CHARS).split():
        letters = "".join(ch for ch in word if ch.isalpha() or ch in "-'")
        if len(letters) >= 2:
            return letters[:1].upper() + letters[1:]
    return f"@{username}"


@dataclass(frozen=True)
class Message:
    id: str
    sender_id: str
    text: str
    created_at: datetime
    from_me: bool


@dataclass(frozen=True)
class Correspondent:
    id: str
    username: str
    name: str
    followers: int
    description: str
    follows_me: bool
    i_follow: bool
    followed_me_since: datetime | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    other: Correspondent
    messages: tuple[Message, ...]  # oldest first


@dataclass(frozen=True)
class DigestEntry:
    conversation: Conversation
    bucket: str
    score: int
    reasons: tuple[str, ...]
    draft: str
    compose_url: str


DEFAULT_TEMPLATE = "Hi {first_name}, thanks for your message! {invite}"
DEFAULT_INVITE = "Happy to keep talking here."


def draft_reply(template: str, other: Correspondent, invite: str) -> str:
    """A reply by name from the user's template ({first_name}, {username}, {invite})."""
    values = {"first_name": first_name(other.name, other.username), "username": other.username, "invite": invite}
    try:
        return template.format(**values).strip()
    except (KeyError, IndexError, ValueError):
        return DEFAULT_TEMPLATE.format(**values).strip()


def compose_url(recipient_id: str, text: str) -> str:
    """X's DM composer with the draft filled in: one tap, then the person presses send."""
    return f"https://x.com/messages/compose?recipient_id={quote(recipient_id)}&text={quote(text, safe='')}"


def assess(conv: Conversation, keywords: tuple[str, ...], now: datetime) -> tuple[int, list[str]]:
    """Score a conversation and say why: relationship and questions up, spam and pitches down."""
    score, why = 0, []
    theirs = [m for m in conv.messages if not m.from_me]
    text = " ".join(m.text for m in theirs)
    o = conv.other
    if o.follows_me and o.i_follow:
        score += 3
        why.append("you follow each other")
    elif o.follows_me:
        score += 1
        why.append("follows you")
    if o.followed_me_since and now - o.followed_me_since <= timedelta(days=7):
        score += 1
        why.append("new follower this week")
    if "?" in text:
        score += 2
        why.append("asked a question")
    if any(m.from_me for m in conv.messages):
        score += 2
        why.append("you have replied before")
    hits = [k for k in keywords if k.lower() in (text + " " + o.description).lower()]
    if hits:
        score += min(2, len(hits))
        why.append(f"mentions {', '.join(hits[:3])}")
    if _MONEY.search(text):
        score -= 4
        why.append("money or spam words")
    if theirs and (_PITCH.search(theirs[0].text) or _LINK.search(theirs[0].text)):
        score -= 3
        why.append("first message is a pitch or a link")
    if not why:
        why.append("no signal either way")
    return score, why


def rank(conversations: list[Conversation], *, keywords: tuple[str, ...], template: str, invite: str,
         now: datetime) -> list[DigestEntry]:
    """Every conversation in a bucket, best first, each with its reasons and a draft."""
    entries = []
    for conv in conversations:
        score, why = assess(conv, keywords, now)
        bucket = WORTH if score >= 3 else MAYBE if score >= 1 else IGNORE
        draft = draft_reply(template, conv.other, invite)
        entries.append(DigestEntry(conv, bucket, score, tuple(why), draft, compose_url(conv.other.id, draft)))
    order = {WORTH: 0, MAYBE: 1, IGNORE: 2}
    latest = {c.id: max((m.created_at for m in c.messages), default=now) for c in conversations}
    entries.sort(key=lambda e: (order[e.bucket], -e.score, -latest[e.conversation.id].timestamp()))
    return entries
