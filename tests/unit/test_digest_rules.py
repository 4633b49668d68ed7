from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from flockpilot.domain.account import GrowthPoint
from flockpilot.domain.digest import (
    IGNORE,
    MAYBE,
    WORTH,
    Conversation,
    Correspondent,
    Message,
    compose_url,
    draft_reply,
    first_name,
    rank,
    safe_text,
)
from flockpilot.domain.digest_email import DigestReport, render_html, render_text

NOW = datetime(2026, 11, 25, 7, tzinfo=UTC)


def conv(text: str, *, follows_me: bool = False, i_follow: bool = False, replied: bool = False,
         name: str = "Ada Lovelace", desc: str = "", new_follower: bool = False) -> Conversation:
    other = Correspondent("42", "ada", name, 120, desc, follows_me, i_follow,
                          NOW - timedelta(days=2) if new_follower else None)
    msgs = [Message("1", "42", text, NOW - timedelta(hours=3), False)]
    if replied:
        msgs.append(Message("2", "1", "thanks!", NOW - timedelta(hours=2), True))
    return Conversation("1-42", other, tuple(msgs))


def bucket(c: Conversation, keywords: tuple[str, ...] = ()) -> tuple[str, tuple[str, ...]]:
    entry = rank([c], keywords=keywords, template="Hi {first_name}", invite="", now=NOW)[0]
    return entry.bucket, entry.reasons


def test_mutual_follow_with_a_question_is_worth_replying() -> None:
    assert bucket(conv("Which flour do you use?", follows_me=True, i_follow=True)) == (
        WORTH, ("you follow each other", "asked a question"))


def test_a_follower_with_no_question_is_a_maybe() -> None:
    assert bucket(conv("nice bread", follows_me=True))[0] == MAYBE


def test_earlier_replies_and_keywords_raise_the_rank() -> None:
    assert bucket(conv("sourdough tips", replied=True), ("sourdough",))[0] == WORTH


def test_new_follower_is_a_signal() -> None:
    assert "new follower this week" in bucket(conv("hello", follows_me=True, new_follower=True))[1]


@pytest.mark.parametrize("text", ["Earn $500/day with crypto", "DM me on telegram", "Check out my agency, we help you grow",
                                  "https://spam.example/offer"])
def test_spam_and_pitches_are_safe_to_ignore(text: str) -> None:
    assert bucket(conv(text, follows_me=True))[0] == IGNORE


def test_ranking_orders_buckets_then_score() -> None:
    entries = rank([conv("spam crypto"), conv("question?", follows_me=True, i_follow=True), conv("hi", follows_me=True)],
                   keywords=(), template="Hi {first_name}", invite="", now=NOW)
    assert [e.bucket for e in entries] == [WORTH, MAYBE, IGNORE]


@pytest.mark.parametrize(("name", "username", "expected"), [
    ("Ada Lovelace", "ada", "Ada"), ("🍞 bread lover", "b", "Bread"), ("\u202eevil", "e", "Evil"),
    ("🍞🍞", "loaf", "@loaf"), ("J", "jay", "@jay"), ("marie-claire d'Arc", "m", "Marie-claire"),
])
def test_first_name_for_the_greeting(name: str, username: str, expected: str) -> None:
    assert first_name(name, username) == expected


def test_draft_uses_the_template_and_survives_a_broken_one() -> None:
    ada = conv("hi").other
    assert draft_reply("Hi {first_name}! Visit {invite}", ada, "my site") == "Hi Ada! Visit my site"
    assert draft_reply("Hi {nope}", ada, "x").startswith("Hi Ada, thanks")


def test_compose_link_opens_x_with_the_draft() -> None:
    url = compose_url("42", "Hi Ada & co: 100% real?")
    parsed = urlparse(url)
    assert (parsed.scheme, parsed.netloc, parsed.path) == ("https", "x.com", "/messages/compose")
    assert parse_qs(parsed.query) == {"recipient_id": ["42"], "text": ["Hi Ada & co: 100% real?"]}


def test_safe_text_strips_invisible_tricks_and_truncates() -> None:
    assert safe_text("a\u202eb\u200bc\u2066d\x00e") == "abcde"
    long = safe_text("x" * 10_000, 600)
    assert long.startswith("x" * 600) and long.endswith("[9400 more characters not shown]")
    assert safe_text("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"  # emoji joiners stay


HOSTILE = [
    '<script>alert("x")</script>',
    '<img src="https://tracker.example/p.gif">',
    '"><a href="javascript:alert(1)">click</a>',
    "line one\r\nBcc: victim@example.com",
    "\u202egnp.exe",
    "z" * 10_000,
    "https://phish.example/login",
]


def hostile_report() -> DigestReport:
    convs = [conv(t, name=t[:60]) for t in HOSTILE]
    entries = rank(convs, keywords=(), template="Hi {first_name}", invite="", now=NOW)
    return DigestReport(handle="flock_demo", day=date(2026, 11, 25), time_zone="UTC", dry_run=True, entries=entries,
                        growth=[GrowthPoint(date(2026, 11, d), 100 + d, 90 + d) for d in range(1, 26)], warnings=["<b>x</b>"])


def test_hostile_messages_are_escaped_and_never_linked() -> None:
    html = render_html(hostile_report())
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown, as text
    assert 'href="https://phish.example' not in html and "https://phish.example/login" in html
    assert "\u202e" not in html and "[9400 more characters not shown]" in html
    assert html.count("<a ") == len(HOSTILE)  # only our own Reply in X buttons
    assert all(a.split('href="', 1)[1].startswith("https://x.com/messages/compose?") for a in html.split("<a ")[1:])


def test_no_remote_content_no_scripts_no_svg() -> None:
    html = render_html(hostile_report()).lower()
    for banned in ("<script", "<svg", "<img", "<link", "<iframe", "<object", "<style", "background-image"):
        assert banned not in html


def test_subject_has_no_header_injection() -> None:
    report = hostile_report()
    report.handle = "evil\r\nBcc: x@example.com"
    assert "\r" not in report.subject and "\n" not in report.subject and ":" not in report.subject.split("@", 1)[1]
    assert report.subject.endswith("@evilBccxexample")  # the handle keeps only [A-Za-z0-9_], 15 at most


SECTIONS = ("Messages", "Follow suggestions", "Prune suggestions", "Posts", "Account", "X API spend", "Warnings")


def test_every_section_in_html_and_text_in_order() -> None:
    html, text = render_html(hostile_report()), render_text(hostile_report())
    positions = [html.index(f">{s}<") for s in SECTIONS]
    assert positions == sorted(positions)
    for s in SECTIONS:
        assert s.upper() in text.upper()
    assert "DRY-RUN" in text
