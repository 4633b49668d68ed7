from __future__ import annotations

import pytest

from flockpilot.domain.text import MAX_WEIGHTED_LENGTH, measure


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("hello", 5),
        ("a" * 280, 280),
        ("日本語", 6),  # CJK weighs 2
        ("\u2018quoted\u2019", 8),  # U+2018/2019 are in a weight-1 range
        ("👨\u200d👩\u200d👧\u200d👦", 2),  # a ZWJ family is one emoji: 2
        ("read https://example.com/a/very/long/path/that/goes/on/and/on", 28),  # URL = 23
        ("read https://demo.bakery/new-gtld", 28),  # a gTLD twitter-text does not know
        ("cafe\u0301", 4),  # NFC first: e + combining accent is one character
    ],
)
def test_weighted_length_follows_twitter_text_v3(text: str, weighted: int) -> None:
    assert measure(text).weighted_length == weighted


def test_text_over_the_limit_is_invalid() -> None:
    assert measure("a" * 280).valid
    assert not measure("a" * 281).valid
    assert not measure("日" * 141).valid


def test_any_http_url_makes_a_link_post() -> None:
    assert measure("see https://example.com").has_url
    assert measure("see https://demo.bakery/x").has_url
    assert not measure("no link here").has_url


def test_limit_is_x_limit() -> None:
    assert MAX_WEIGHTED_LENGTH == 280
