from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flockpilot.domain.content import ContentKind, ItemStatus, new_item, repost_target
from flockpilot.domain.errors import ContentRejected

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_item_over_the_limit_is_refused_with_its_weighted_length() -> None:
    with pytest.raises(ContentRejected) as caught:
        new_item(kind="quip", text="x" * 279 + "日", now=NOW)
    assert caught.value.weighted_length == 281
    assert "281" in str(caught.value)


def test_article_needs_a_url() -> None:
    with pytest.raises(ContentRejected, match="needs a URL"):
        new_item(kind="article", text="no link", now=NOW)


def test_article_url_is_appended_and_billed_as_a_link_post() -> None:
    item = new_item(kind="article", text="Shaping", url="https://example.com/s", now=NOW)
    assert item.post_text == "Shaping https://example.com/s"
    assert item.price_kind == "post_create_url"
    assert item.weighted_length == len("Shaping ") + 23


def test_repost_takes_a_post_url_or_id() -> None:
    assert repost_target("https://x.com/someone/status/1234567890") == "1234567890"
    assert repost_target("https://twitter.com/someone/status/42?s=20") == "42"
    assert repost_target("987") == "987"
    with pytest.raises(ContentRejected, match="post URL"):
        new_item(kind="repost", text="https://example.com/not-a-post", now=NOW)


def test_unknown_kind_names_the_choices() -> None:
    with pytest.raises(ContentRejected, match="quip, quote, article, pitch, repost"):
        new_item(kind="meme", text="hi", now=NOW)


def test_same_text_gives_same_id() -> None:
    a = new_item(kind="quip", text="Bread!", now=NOW)
    b = new_item(kind="quip", text="  Bread!  ", now=NOW + timedelta(days=1))
    assert a.item_id == b.item_id


def test_evergreen_item_rests_then_returns() -> None:
    item = new_item(kind="quip", text="Bread!", now=NOW, evergreen=True, cooldown_days=7)
    posted = item.after_posting(NOW)
    assert posted.status is ItemStatus.QUEUED
    assert not posted.available(NOW + timedelta(days=6))
    assert posted.available(NOW + timedelta(days=7))


def test_one_off_item_retires_after_posting() -> None:
    item = new_item(kind=ContentKind.QUOTE, text="Once", now=NOW)
    assert not item.after_posting(NOW).available(NOW + timedelta(days=365))


@pytest.mark.parametrize("text", ["see https://localhost/x now", "two links https://example.com and https://bakery.invalid/y"])
def test_a_link_in_the_text_x_would_not_link_is_refused_like_one_in_url(text: str) -> None:
    with pytest.raises(ContentRejected, match="X would not link 'https://"):
        new_item(kind="quip", text=text, now=NOW)


def test_links_x_links_in_the_text_are_kept() -> None:
    item = new_item(kind="quip", text="Fresh bread (https://example.com/today).", now=NOW)
    assert item.has_url and item.price_kind == "post_create_url"
