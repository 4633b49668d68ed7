from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from flockpilot.domain.text import MAX_WEIGHTED_LENGTH, measure, without_links

DATA = Path(__file__).resolve().parents[1] / "data" / "twitter_text"


def _conformance(name: str, *groups: str) -> list[Any]:
    tests = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["tests"]
    return [pytest.param(case, id=f"{group}: {case['description']}") for group in groups for case in tests[group]]


@pytest.mark.parametrize("case", _conformance("validate.yml", "WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest"))
def test_weighted_length_and_validity_pass_the_official_v3_conformance_suite(case: dict[str, Any]) -> None:
    m = measure(case["text"])
    assert (m.weighted_length, m.valid) == (case["expected"]["weightedLength"], case["expected"]["valid"])


@pytest.mark.parametrize("case", _conformance("extract.yml", "urls", "urls_with_indices", "urls_with_directional_markers", "tco_urls_with_params"))
def test_extracted_urls_pass_the_official_conformance_suite(case: dict[str, Any]) -> None:
    expected = [u if isinstance(u, str) else u["url"] for u in case["expected"]]
    assert list(measure(case["text"]).urls) == expected


def test_every_official_tld_is_a_url() -> None:
    tests = yaml.safe_load((DATA / "tlds.yml").read_text(encoding="utf-8"))["tests"]
    missed = [case["text"] for group in tests.values() for case in group if list(measure(case["text"]).urls) != case["expected"]]
    assert missed == []


_BEYOND = json.loads((DATA / "beyond_conformance.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c["description"]) for c in _BEYOND])
def test_measure_equals_official_twitter_text_beyond_the_suite(case: dict[str, Any]) -> None:
    m = measure(case["text"])
    assert (m.weighted_length, m.valid, list(m.urls)) == (case["weighted_length"], case["valid"], case["urls"])


def test_every_emoji_sequence_weighs_as_official_twitter_text() -> None:
    weights = json.loads((DATA / "emoji_weights.json").read_text(encoding="utf-8"))["weights"]
    wrong = {}
    for codes, expected in weights.items():
        text = "".join(chr(int(c, 16)) for c in codes.split())
        got = measure(f"a{text}b").weighted_length - 2  # in context, so neighbours cannot merge in
        if got != expected:
            wrong[codes] = (got, expected)
    assert wrong == {}


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("hello", 5),
        ("日本語", 6),  # CJK weighs 2
        ("\u2018quoted\u2019", 8),  # U+2018/2019 are in a weight-1 range
        ("👨\u200d👩\u200d👧\u200d👦", 2),  # a ZWJ family is one emoji: 2
        ("read https://example.com/a/very/long/path/that/goes/on/and/on", 28),  # URL = 23
        ("read https://demo.bakery/new-gtld", 33),  # not a TLD X knows: plain text, as X counts it
        ("cafe\u0301", 4),  # NFC first: e + combining accent is one character
        ("a\r\nb", 4),  # CRLF is two characters, as X counts it
    ],
)
def test_weighted_length_follows_twitter_text_v3(text: str, weighted: int) -> None:
    assert measure(text).weighted_length == weighted


def test_text_over_the_limit_is_invalid() -> None:
    assert measure("a" * 280).valid
    assert not measure("a" * 281).valid
    assert not measure("日" * 141).valid


def test_blank_text_is_invalid() -> None:
    assert not measure("").valid
    assert not measure(" \n\t").valid


def test_a_link_post_is_one_twitter_text_extracts_a_url_from() -> None:
    assert measure("see https://example.com").has_url
    assert measure("see example.com").has_url  # X links a bare domain too, and bills it
    assert not measure("see https://demo.bakery/x").has_url  # X does not link it: not a link post
    assert not measure("no link here").has_url


@given(st.text(st.characters(exclude_categories=()), max_size=300))
def test_measure_takes_any_text_lone_surrogates_included(text: str) -> None:
    m = measure(text)
    assert 0 <= m.weighted_length <= 2 * len(text) + 23 * len(m.urls)
    assert not m.valid or 0 < m.weighted_length <= MAX_WEIGHTED_LENGTH
    assert all(url in text or url in unicodedata.normalize("NFC", text) for url in m.urls)


def test_limit_is_x_limit() -> None:
    assert MAX_WEIGHTED_LENGTH == 280


@pytest.mark.parametrize(("text", "kept"), [
    ("Read more on example.com today", "Read more on   today"),
    ("New post https://example.com/a?b=1 and https://t.co/AbC123", "New post   and  "),
    ("a.b is not a link, nor is file.notatld", "a.b is not a link, nor is file.notatld"),
    ("no links at all", "no links at all"),
])
def test_without_links_drops_what_x_would_turn_into_t_co(text: str, kept: str) -> None:
    assert without_links(text) == kept
