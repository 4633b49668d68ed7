"""X's weighted post length (twitter-text v3 rules), through twitter-text-parser.

twitter-text compiles large regexes at import (about 0.3 s), so it is imported on first use
only: the post handler never needs it, because every item is measured when it is added.
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
from typing import Any

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
_SCHEME_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)


@dataclass(frozen=True)
class Measure:
    weighted_length: int
    valid: bool
    urls: tuple[str, ...]

    @property
    def has_url(self) -> bool:
        return bool(self.urls)


@cache
def _twitter_text() -> tuple[Any, Any, Any]:
    # twitter-text-parser 3.0.0 reads its emoji table through pkg_resources, which Python
    # 3.12+ and the Lambda runtime no longer ship. Its only call is resource_string, so we
    # provide exactly that when setuptools is absent instead of shipping setuptools.
    if "pkg_resources" not in sys.modules and importlib.util.find_spec("pkg_resources") is None:
        shim = types.ModuleType("pkg_resources")

        def resource_string(package: str, name: str) -> bytes:
            return importlib.resources.files(package).joinpath(name).read_bytes()

        shim.resource_string = resource_string  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    from twitter_text import parse_tweet
    from twitter_text.extract_urls import extract_urls
    from twitter_text.has_invalid_characters import has_invalid_characters

    return parse_tweet, extract_urls, has_invalid_characters


def measure(text: str) -> Measure:
    """Weighted length as X counts it: NFC first, URLs 23, CJK and emoji 2, limit 280."""
    parse_tweet, extract_urls, has_invalid_characters = _twitter_text()
    normalized = unicodedata.normalize("NFC", text)
    result = parse_tweet(normalized)
    urls = list(extract_urls(normalized))
    weighted = int(result.weightedLength)
    # twitter-text-parser's TLD list predates many gTLDs (.bakery, .shop...). X links any
    # http(s) URL, counts it as 23 and bills the post as a link post: do the same.
    for match in _SCHEME_URL.finditer(normalized):
        if not any(match.group(0).startswith(u) or u.startswith(match.group(0)) for u in urls):
            urls.append(match.group(0))
            weighted += URL_WEIGHT - len(match.group(0))
    valid = 0 < weighted <= MAX_WEIGHTED_LENGTH and not has_invalid_characters(normalized)
    return Measure(weighted_length=weighted, valid=valid, urls=tuple(urls))
