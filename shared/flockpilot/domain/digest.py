"""The DM digest's rules: rank conversations, draft a reply by name, show strangers' text safely."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import quote

WORTH, MAYBE, IGNORE = "worth replying", "maybe", "safe to ignore"
MAX_MESSAGE_CHARS = 600
MAX_NAME_CHARS = 50

# What strangers' text may not carry into the digest, by Unicode category rather than a list:
# every control (Cc) and format character (Cf: bidi controls such as U+202E and U+061C,
# zero-width characters, U+FEFF, soft hyphen, tag characters), line and paragraph separators,
# surrogates and noncharacters, plus the invisible characters of other categories (below).
# Two exceptions keep emoji whole: a ZWJ between two emoji (👩‍👩‍👧) and the tag characters
# of a subdivision flag (🏴 + tags + cancel tag, e.g. Scotland). One VS15/VS16 after a character
# stays (it picks text or emoji style); other variation selectors only hide data.
_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_TAG_FLAG = re.compile("\U0001f3f4[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,6}\U000e007f")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Letters and marks that render as nothing: Hangul fillers (used for "blank" names), the
# combining grapheme joiner, Khmer inherent vowels.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u034f\u17b4\u17b5")
# U+2800 BRAILLE PATTERN BLANK is braille's word space, and a favourite invisible filler: it
# becomes a plain space, so real braille keeps its spacing and a "blank" name shows as blank.
_AS_SPACE = frozenset("\t\u2800")
_PRESENTATION_SELECTORS = frozenset("\ufe0e\ufe0f")
_ZWJ = "\u200d"
_SKIN_TONES = frozenset(map(chr, range(0x1F3FB, 0x1F400)))
_TAGS = "".join(map(chr, range(0xE0000, 0xE0080)))


def _noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def _emoji_before(out: list[str]) -> bool:
    """The kept text ends with an emoji, perhaps followed by its skin tone or VS16."""
    for ch in reversed(out):
        if ch in _SKIN_TONES or ch in _PRESENTATION_SELECTORS:
            continue
        return _is_emoji(ch)
    return False


def _clean(text: str, *, single_line: bool) -> str:
    """NFC, then every invisible, control or format character removed (see above); line
    breaks become \\n, or spaces when `single_line`; other spaces become plain spaces."""
    text = _LINE_BREAKS.sub(" " if single_line else "\n", unicodedata.normalize("NFC", text))
    flag_tags = {i for m in _TAG_FLAG.finditer(text) for i in range(m.start() + 1, m.end())}
    out: list[str] = []
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if ch == "\n" or i in flag_tags:
            out.append(ch)
        elif ch == _ZWJ:
            if _emoji_before(out) and i + 1 < len(text) and _is_emoji(text[i + 1]):
                out.append(ch)
        elif ch in _AS_SPACE or category == "Zs":
            out.append(" ")
        elif category in _DROPPED_CATEGORIES or ch in _INVISIBLE or _noncharacter(ord(ch)):
            continue
        elif unicodedata.name(ch, "").startswith("VARIATION SELECTOR"):
            if ch in _PRESENTATION_SELECTORS and out and not out[-1].isspace() and out[-1] not in _PRESENTATION_SELECTORS:
                out.append(ch)
        else:
            out.append(ch)
    clean = "".join(out)
    return " ".join(clean.split()) if single_line else clean


def _cut(clean: str, limit: int) -> str:
    if len(clean) <= limit:
        return clean
    # A cut inside an emoji sequence must not leave a joiner or flag tags dangling.
    return f"{clean[:limit].rstrip(_ZWJ + _TAGS)}… [{len(clean) - limit} more characters not shown]"


_MONEY = re.compile(
    r"\b(crypto|bitcoin|btc|forex|invest(ment|ing)?|earn|profit|loan|promo(tion)?|discount|% ?off|"
    r"followers? (for|fast)|dm me|whatsapp|telegram|onlyfans|casino|giveaway|guaranteed)\b|\$\d",
    re.IGNORECASE,
)
_PITCH = re.compile(r"\b(check out my|buy|sale|offer|service|agency|hire me|we help|boost your)\b", re.IGNORECASE)
_LINK = re.compile(r"https?://\S+|\bwww\.\S+", re.IGNORECASE)


def safe_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Text from a stranger, fit to show: NFC, no invisible, control or format characters,
    line breaks kept as \\n (never \\r), cut at `limit` with a visible marker. Escaping for
    HTML happens when rendering."""
    return _cut(_clean(text, single_line=False), limit)


def safe_name(name: str, limit: int = MAX_NAME_CHARS) -> str:
    """A stranger's display name, fit to show on one line: as safe_text, and every line
    break or run of spaces is one space, so a name cannot start a new line or header."""
    return _cut(_clean(name, single_line=True), limit)


def first_name(name: str, username: str) -> str:
    """The name to greet: the first word of the cleaned display name that has letters, else @handle."""
    for word in _clean(name, single_line=True)[:MAX_NAME_CHARS].split():
        letters = "".join(ch for ch in word if ch.isalpha() or ch in "-'" or unicodedata.category(ch) in ("Mn", "Mc"))
        letters = letters.lstrip("-'")
        if sum(ch.isalpha() for ch in letters) >= 2:
            return letters[:1].upper() + letters[1:]
    return f"@{username}"


@dataclass(frozen=True)
class Correspondent:
    """The person on the other side of a conversation."""

    id: str
    username: str
    name: str
    followers: int
    description: str
    follows_me: bool
    i_follow: bool
    followed_me_since: datetime | None = None


@dataclass(frozen=True)
class Message:
    """One direct message, with its sender as X showed them when it was read (None: you, or
    a message stored before senders were kept with their messages)."""

    id: str
    sender_id: str
    text: str
    created_at: datetime
    from_me: bool
    sender: Correspondent | None = None
    read_at: datetime | None = None  # when Flockpilot read it from X (the store sets it): its wait and its expiry run from then


def is_group(conversation_id: str) -> bool:
    """X names a one-to-one conversation by its two user ids ("12-34") and a group by one id."""
    return "-" not in conversation_id


@dataclass(frozen=True)
class Conversation:
    """A DM conversation as the digest shows it: the messages no digest has shown yet (`new`)
    among the few around them that give them sense (the one before, your replies), and the
    person to answer: the one who wrote the newest new message (in a group, one of several)."""

    id: str
    other: Correspondent
    messages: tuple[Message, ...]  # oldest first; those whose id is in `new` are shown for the first time
    new: frozenset[str] = frozenset()  # none given: every message is new
    waiting: int = 0  # new messages of this conversation past the email's bound: the next digest shows them

    def __post_init__(self) -> None:
        if not self.new:
            object.__setattr__(self, "new", frozenset(m.id for m in self.messages))

    @property
    def group(self) -> bool:
        return is_group(self.id)

    @property
    def new_messages(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.id in self.new)


@dataclass(frozen=True)
class DigestEntry:
    """A conversation as the digest shows it: its rank, why, and a reply draft."""

    conversation: Conversation
    bucket: str
    score: int
    reasons: tuple[str, ...]
    draft: str
    compose_url: str


DEFAULT_TEMPLATE = "Hi {first_name}, thanks for your message! {invite}"
DEFAULT_INVITE = "Happy to keep talking here."


TEMPLATE_FIELDS = ("first_name", "username", "invite")


def template_problem(template: str) -> str | None:
    """Why a reply template cannot make drafts (naming the bad part), or None if it can: only
    {first_name}, {username} and {invite}, as they are; a literal brace is written twice."""
    from string import Formatter

    try:
        parts = list(Formatter().parse(template))
    except ValueError as exc:
        return f"{exc} (write a literal brace twice: {{{{ or }}}})"
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        field = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name not in TEMPLATE_FIELDS or spec or conversion:
            return f"{field} is not a placeholder the draft fills in"
    return None


def draft_reply(template: str, other: Correspondent, invite: str) -> str:
    """A reply by name from the user's template ({first_name}, {username}, {invite}); one it
    cannot use (stored before `settings set` checked them) gives the default's draft."""
    values = {"first_name": first_name(other.name, other.username), "username": other.username, "invite": invite}
    return (DEFAULT_TEMPLATE if template_problem(template) else template).format(**values).strip()


def compose_url(recipient_id: str, text: str) -> str:
    """X's DM composer with the draft filled in: one tap, then the person presses send."""
    return f"https://x.com/messages/compose?recipient_id={quote(recipient_id)}&text={quote(text, safe='')}"


def reply_url(conv: Conversation, text: str) -> str:
    """Where the reply is written: X's composer to the person with the draft filled in, or, for
    a group (X's composer cannot be opened on a group with text), the group conversation."""
    if conv.group:
        return f"https://x.com/messages/{quote(conv.id, safe='')}"
    return compose_url(conv.other.id, text)


def assess(conv: Conversation, keywords: tuple[str, ...], now: datetime) -> tuple[int, list[str]]:
    """Score a conversation and say why: relationship and questions up, spam and pitches down."""
    score, why = 0, []
    theirs = [m for m in conv.messages if not m.from_me]
    text = " ".join(m.text for m in conv.new_messages if not m.from_me)
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
        entries.append(DigestEntry(conv, bucket, score, tuple(why), draft, reply_url(conv, draft)))
    order = {WORTH: 0, MAYBE: 1, IGNORE: 2}
    latest = {c.id: max((m.created_at for m in c.new_messages or c.messages), default=now) for c in conversations}
    entries.sort(key=lambda e: (order[e.bucket], -e.score, -latest[e.conversation.id].timestamp()))
    return entries


MAX_MESSAGES_SHOWN = 50  # new messages in one email (with their context); DynamoDB marks them shown in one transaction
FIRST_PASS = 5  # each conversation's first few new messages go in before any conversation's sixth
DM_RETENTION = timedelta(days=35)  # a stored DM expires (DynamoDB TTL) this long after it was read
# A message no digest had room for within SHOW_WITHIN of its read is given up: never shown, and
# counted (once) by the next digest sent. The 5 days before its row expires let a digest that
# comes up to 5 days late still count it: it is never removed without a digest saying so.
SHOW_WITHIN = DM_RETENTION - timedelta(days=5)
# A message that has waited OVERDUE_AFTER goes before every ranked one, the longest waiting
# first, in up to OVERDUE_PLACES of an email's places (the others still go by rank, so a flood
# that has waited cannot hold back what came today): a low-ranked conversation under a flood
# of better ones waits about a week, not until it expires.
OVERDUE_AFTER = timedelta(days=7)
OVERDUE_PLACES = MAX_MESSAGES_SHOWN // 2


def waiting_since(m: Message) -> datetime:
    """When a message began to wait for a digest: its read (its creation for one stored
    without it, which is earlier: never later than its read)."""
    return m.read_at or m.created_at


def give_up(conversations: list[Conversation], now: datetime,
            counted_until: datetime | None) -> tuple[list[Conversation], list[tuple[Conversation, Message]]]:
    """The conversations without the new messages that waited SHOW_WITHIN unshown (a
    conversation left with none is dropped), and those of them given up after
    `counted_until` (the last sent digest's time: it counted those before), to be counted now."""
    kept, lost = [], []
    for conv in conversations:
        expired = {m.id for m in conv.new_messages if now - waiting_since(m) >= SHOW_WITHIN}
        if not expired:
            kept.append(conv)
            continue
        lost += [(conv, m) for m in conv.new_messages if m.id in expired
                 and (counted_until is None or waiting_since(m) + SHOW_WITHIN > counted_until)]
        if len(expired) < len(conv.new_messages):
            kept.append(replace(conv, messages=tuple(m for m in conv.messages if m.id not in expired),
                                new=conv.new - expired))
    return kept, lost


def lost_note(lost: list[tuple[Conversation, Message]]) -> str:
    """What was given up unshown, by whom: said once, in the first digest sent after it."""
    if not lost:
        return ""
    names = list(dict.fromkeys(f"@{(m.sender or c.other).username}" for c, m in lost))
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    n = len(lost)
    return (f"{n} new message{'s' if n != 1 else ''} waited {SHOW_WITHIN.days} days without room in a digest and "
            f"will not be shown (from {', '.join(names[:5])}{more}): read {'them' if n != 1 else 'it'} in X")


def fit(entries: list[DigestEntry], limit: int = MAX_MESSAGES_SHOWN,
        now: datetime | None = None) -> tuple[list[DigestEntry], list[DigestEntry]]:
    """The ranked entries cut to `limit` new messages, so the email stays a readable size.
    First (given `now`) the messages that have waited OVERDUE_AFTER, the longest waiting first,
    in up to OVERDUE_PLACES places (with the older new messages of their conversation: a
    conversation is shown from its oldest new message on). Then each conversation gets its
    oldest FIRST_PASS new messages, best conversation first, then the rest of the room goes in
    the same order: a flood in one conversation cannot push the others out. What is cut is each
    conversation's newest new messages (and the context after them), counted in `waiting`:
    they stay unshown, so the next digest starts with them. Returns the entries shown and those
    left out whole."""
    room, take = limit, dict[str, int]()
    if now is not None:
        places = min(room, OVERDUE_PLACES)
        overdue = sorted((waiting_since(m), int(m.id), e.conversation.id, i) for e in entries
                         for i, m in enumerate(e.conversation.new_messages) if now - waiting_since(m) >= OVERDUE_AFTER)
        for *_, conversation_id, i in overdue:
            extra = min(places, max(0, i + 1 - take.get(conversation_id, 0)))
            take[conversation_id] = take.get(conversation_id, 0) + extra
            places -= extra
            room -= extra
    for cap in (FIRST_PASS, None):
        for e in entries:
            want = len(e.conversation.new_messages) if cap is None else min(cap, len(e.conversation.new_messages))
            extra = min(room, max(0, want - take.get(e.conversation.id, 0)))
            take[e.conversation.id] = take.get(e.conversation.id, 0) + extra
            room -= extra
    out, left_out = [], []
    for e in entries:
        conv, n = e.conversation, take[e.conversation.id]
        new = conv.new_messages
        if n == 0:
            left_out.append(e)
            continue
        if n < len(new):
            last = int(new[n - 1].id)
            kept = tuple(m for m in conv.messages if int(m.id) <= last)
            conv = replace(conv, messages=kept, new=frozenset(m.id for m in new[:n]), waiting=len(new) - n)
            e = replace(e, conversation=conv)
        out.append(e)
    return out, left_out


def waiting_count(entries: list[DigestEntry], left_out: list[DigestEntry]) -> int:
    return sum(e.conversation.waiting for e in entries) + sum(len(e.conversation.new_messages) for e in left_out)


def waiting_note(entries: list[DigestEntry], left_out: list[DigestEntry]) -> str:
    """What the email's bound left for the next digest, by whom: never a silent cut."""
    waiting = waiting_count(entries, left_out)
    if not waiting:
        return ""
    names = [f"@{e.conversation.other.username}" for e in entries if e.conversation.waiting] + \
            [f"@{e.conversation.other.username}" for e in left_out]
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return (f"{waiting} more new message{'s' if waiting != 1 else ''} than one email shows ({MAX_MESSAGES_SHOWN}) "
            f"wait for the next digest (from {', '.join(dict.fromkeys(names[:5]))}{more})")
