"""X's weighted post length and its URLs, as the official twitter-text (v3 config) counts them.

Why not plain twitter-text-parser: it is a port of twitter-text JS whose regexes (URL grammar,
official TLD list of March 2020, Unicode 12 emoji data) we reuse, but whose counting differs from
the official libraries on inputs a post can hold: it folds CRLF into one character, counts
text-style and partly qualified emoji sequences (bare ©, 👱‍♂ without VS16) as one emoji, folds
non-ASCII case into ASCII (`ı` matches `i`, `ſ` matches `s`), counts a blank text as valid, and
crashes on a lone surrogate. So the counting loop and the URL walk are done here, on the parser's
patterns recompiled with ASCII-only case folding, and the emoji pattern is rebuilt from its data.
The official JS and Java libraries agree on the suite but not on every input. The URL grammar
and host check are JS's (the parser ports them); for case folding, the emoji table (Emoji 12.1)
and blank text we follow Java, the one X's backend runs. X links, counts as 23 and bills as a
link post exactly what twitter-text extracts: a host on a TLD it does not know is plain text.
Checked against the official conformance suite and the official libraries' own answers
(tests/data/twitter_text/).

twitter-text compiles large regexes at import (about 0.3 s), so it is imported on first use only.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import re
import sys
import types
import unicodedata
from dataclasses import dataclass
from functools import cache

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
_SCALE = 100
_DEFAULT_WEIGHT = 200
# twitter-text v3 config: these code point ranges weigh 1, everything else 2.
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_INVALID_CHARS = frozenset("\ufffe\ufeff\uffff")
_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG_LENGTH = 40
_DEFAULT_PROTOCOL = "https://"

# twitter-text 3.1 counts an emoji sequence as 2 when its (twemoji-generated, Emoji 12.1) table
# knows it; the parser ships Unicode's emoji-test.txt 12.0. From that data we take the
# fully-qualified sequences and keycaps, then adjust to the official table, entry by entry
# checked against the official libraries:
_VS16, _ZWJ, _HANDSHAKE = "\ufe0f", "\u200d", "\U0001f91d"
_TONES = tuple(chr(c) for c in range(0x1F3FB, 0x1F400))
_PEOPLE = ("\U0001f468", "\U0001f469", "\U0001f9d1")  # man, woman, person
# emoji-default characters that also have a text variation: with VS16 still one emoji;
_VS16_EMOJI = ("\u231a\u231b\u25fd\u25fe\u2614\u2615" + "".join(map(chr, range(0x2648, 0x2654))) + "\u267f\u2693\u26a1\u26a7\u26aa\u26ab"
               "\u26bd\u26be\u26c4\u26c5\u26d4\u26ea\u26f2\u26f3\u26f5\u26fa\u26fd\u2757\u2b1b\u2b1c\u2b50\u2b55\U0001f004\U0001f21a\U0001f22f")
# text-default modifier bases: VS16 and a skin tone after them are still one emoji;
_TEXT_MODIFIER_BASES = "\u261d\u26f7\u26f9\u270c\u270d\U0001f3cb\U0001f3cc\U0001f574\U0001f575\U0001f590"
# two people it already shows as a man or a woman (🕴️‍♀️, 🤵‍♂️);
_ALSO_GENDERED = (("\U0001f574", (_VS16, *_TONES)), ("\U0001f935", ("", *_TONES)))
# two sequences twemoji never had, and one text-style sequence it has.
_NOT_ONE_EMOJI = frozenset({"\u267e\ufe0f", "\U0001f441\ufe0f\u200d\U0001f5e8\ufe0f"})
_ALSO_ONE_EMOJI = frozenset({"\U0001f441\u200d\U0001f5e8"})
_KEYCAP = re.compile("^[#*0-9]\ufe0f?\u20e3$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LABEL_DOTS = re.compile("[.\u3002\uff0e\uff61]")
_NON_ASCII = re.compile("[^\x00-\x7e]")


@dataclass(frozen=True)
class Measure:
    weighted_length: int
    valid: bool
    urls: tuple[str, ...]

    @property
    def has_url(self) -> bool:
        """X bills the post as a link post: twitter-text extracts at least one URL from it."""
        return bool(self.urls)


@dataclass(frozen=True)
class _Patterns:
    url: re.Pattern[str]
    ascii_domain: re.Pattern[str]
    tco_url: re.Pattern[str]
    no_protocol_bad_before: re.Pattern[str]
    emoji: re.Pattern[str]


def _install_pkg_resources_shim() -> None:
    # twitter-text-parser 3.0.0 reads its emoji table through pkg_resources, which Python
    # 3.12+ and the Lambda runtime no longer ship. Its only call is resource_string, so we
    # provide exactly that when setuptools is absent instead of shipping setuptools.
    if "pkg_resources" in sys.modules or importlib.util.find_spec("pkg_resources") is not None:
        return
    shim = types.ModuleType("pkg_resources")

    def resource_string(package: str, name: str) -> bytes:
        return importlib.resources.files(package).joinpath(name).read_bytes()

    shim.resource_string = resource_string  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim


@cache
def _patterns() -> _Patterns:
    _install_pkg_resources_shim()
    from twitter_text.regexp.emoji import emoji_list
    from twitter_text.regexp.extract_url import extract_url
    from twitter_text.regexp.invalid_url_without_protocol_preceding_chars import invalid_url_without_protocol_preceding_chars
    from twitter_text.regexp.valid_ascii_domain import valid_ascii_domain
    from twitter_text.regexp.valid_tco_url import valid_tco_url

    # Java's CASE_INSENSITIVE folds ASCII only; Python's IGNORECASE alone would also let
    # `ı`, `ſ` and `İ` match ASCII letters and non-ASCII TLDs match in upper case.
    ascii_nocase = re.IGNORECASE | re.ASCII
    return _Patterns(
        url=re.compile(extract_url.pattern, ascii_nocase),
        ascii_domain=re.compile(valid_ascii_domain.pattern, ascii_nocase),
        tco_url=re.compile(valid_tco_url.pattern, ascii_nocase),
        no_protocol_bad_before=invalid_url_without_protocol_preceding_chars,
        emoji=_emoji_pattern({e.emoji for e in emoji_list if e.status == "fully-qualified" or _KEYCAP.match(e.emoji)}),
    )


def _emoji_pattern(listed: set[str]) -> re.Pattern[str]:
    """One alternation, longest first, of every sequence twitter-text counts as one emoji.
    A text-style symbol alone (©, ☺) is not one: it weighs as its code point does."""
    chosen = (listed - _NOT_ONE_EMOJI) | _ALSO_ONE_EMOJI
    chosen |= {f"{ch}{_VS16}" for ch in _VS16_EMOJI}
    chosen |= {f"{base}{vs}{tone}" for base in _TEXT_MODIFIER_BASES for vs in ("", _VS16) for tone in _TONES}
    chosen |= {f"{base}{mod}{_ZWJ}{sign}{_VS16}" for base, mods in _ALSO_GENDERED for mod in mods for sign in "\u2640\u2642"}
    # Emoji 12.1: a gender-neutral person for every man's role and hair style...
    roles = {seq[2:] for seq in listed if seq[:1] == _PEOPLE[0] and seq[1:2] in _TONES and seq[2:3] == _ZWJ and seq.count(_ZWJ) == 1}
    chosen |= {f"{_PEOPLE[2]}{tone}{role}" for tone in ("", *_TONES) for role in roles}
    # ...and people holding hands in every pair of skin tones (same-tone pairs of men or women are 👬, 👭).
    for first, second in ((_PEOPLE[2], _PEOPLE[2]), (_PEOPLE[1], _PEOPLE[1]), (_PEOPLE[1], _PEOPLE[0]), (_PEOPLE[0], _PEOPLE[0])):
        pairs = ((a, b) for a in _TONES for b in _TONES if a != b or first == second == _PEOPLE[2])
        chosen |= {f"{first}{a}{_ZWJ}{_HANDSHAKE}{_ZWJ}{second}{b}" for a, b in pairs}
    return re.compile("|".join(re.escape(s) for s in sorted(chosen, key=lambda s: (-len(s), s))))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _label_to_ascii(label: str) -> str:
    """punycode.js 1.4.1 toASCII, which twitter-text applies to each host label (no nameprep)."""
    prefix, *rest = label.split("@")
    if rest:
        prefix, label = f"{prefix}@", rest[0]
    else:
        prefix = ""
    parts = _LABEL_DOTS.sub(".", label).split(".")
    return prefix + ".".join(f"xn--{part.encode('punycode').decode('ascii')}" if _NON_ASCII.search(part) else part for part in parts)


def _host_fits(url: str, protocol: str, host: str, p: _Patterns) -> bool:
    """twitter-text's host check: an xn-- host holds an ASCII domain, every label is 1..63
    characters once punycoded, and the whole URL is within 4096 UTF-16 units."""
    if host.startswith("xn--") and not p.ascii_domain.search(host):
        return False
    try:
        if not all(1 <= _utf16_len(_label_to_ascii(label)) <= 63 for label in host.split(".")):
            return False
    except UnicodeError:
        return False
    return _utf16_len(protocol) + _utf16_len(url) <= _MAX_URL_LENGTH


def _url_spans(text: str, p: _Patterns) -> list[tuple[int, int, str]]:
    """The URLs twitter-text extracts, as (start, end, url) in code points."""
    if "." not in text:
        return []
    spans: list[tuple[int, int, str]] = []
    for match in p.url.finditer(text):
        before, url, protocol, domain, path = match.group(2, 3, 4, 5, 7)
        end = match.end()
        start = end - len(url)
        if not _host_fits(url, protocol or _DEFAULT_PROTOCOL, domain, p):
            continue
        if protocol is None:
            # Without a protocol only ASCII domains count, each one found inside the match.
            if p.no_protocol_bad_before.search(before):
                continue
            found = [(start + m.start(), start + m.end(), m.group(0)) for m in p.ascii_domain.finditer(domain)]
            if not found:
                continue
            if path:
                last_start, _, last = found[-1]
                found[-1] = (last_start, end, url.replace(domain, last, 1))
            spans.extend(found)
            continue
        tco = p.tco_url.search(url)
        if tco:
            # A t.co link is the slug and nothing after it; an over-long slug is no link at all.
            if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
                continue
            url = tco.group(0)
            end = start + len(url)
        spans.append((start, end, url))
    return spans


def _weight(char: str) -> int:
    code = ord(char)
    return _SCALE if any(lo <= code <= hi for lo, hi in _LIGHT_RANGES) else _DEFAULT_WEIGHT


def without_links(text: str) -> str:
    """`text` (NFC) without the links twitter-text finds in it: what X cannot rewrite. X turns
    every link it finds into a t.co link, a bare domain (`example.com`) included."""
    normalized = unicodedata.normalize("NFC", text)
    spans = _url_spans(normalized, _patterns())
    kept, offset = [], 0
    for start, end, _ in spans:
        kept.append(normalized[offset:start])
        offset = end
    kept.append(normalized[offset:])
    return " ".join(kept)


def measure(text: str) -> Measure:
    """Weighted length as X counts it: NFC first, URLs 23, CJK and emoji 2, limit 280; a text
    that is blank or holds U+FFFE, U+FEFF or U+FFFF is not valid."""
    if all(ch <= " " for ch in text):
        return Measure(weighted_length=0, valid=False, urls=())
    p = _patterns()
    if _SURROGATE.search(text):
        # Two surrogate code points in a row are one character in UTF-16, as X reads it.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    normalized = unicodedata.normalize("NFC", text)
    spans = _url_spans(normalized, p)
    url_ends = {start: end for start, end, _ in spans}
    emoji_ends = {m.start(): m.end() for m in p.emoji.finditer(normalized)}
    weighted, invalid, offset = 0, False, 0
    while offset < len(normalized):
        if offset in url_ends:
            weighted += URL_WEIGHT * _SCALE
            offset = url_ends[offset]
            continue
        step_to = emoji_ends.get(offset)
        weighted += _DEFAULT_WEIGHT if step_to else _weight(normalized[offset])
        invalid = invalid or normalized[offset] in _INVALID_CHARS
        offset = step_to or offset + 1
    length = weighted // _SCALE
    return Measure(weighted_length=length, valid=not invalid and length <= MAX_WEIGHTED_LENGTH,
                   urls=tuple(url for _, _, url in spans))
