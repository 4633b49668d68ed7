from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flockpilot.domain.account import GrowthPoint
from flockpilot.domain.digest import (
    IGNORE,
    MAX_MESSAGES_SHOWN,
    MAYBE,
    OVERDUE_PLACES,
    SHOW_WITHIN,
    WORTH,
    Conversation,
    Correspondent,
    Message,
    compose_url,
    draft_reply,
    first_name,
    fit,
    give_up,
    lost_note,
    rank,
    safe_name,
    safe_text,
)
from flockpilot.domain.digest_email import DigestReport, render_html, render_text
from flockpilot.domain.insights import HourFigure, TopPost, WeekInsights

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
    for stored in ("Hi {first_name.title}!", "Hi {first_name.nope}", "Hi {first_name[9]}", "Hi {first_name:%}"):
        assert draft_reply(stored, ada, "x").startswith("Hi Ada, thanks")  # a template stored before it was checked


def test_compose_link_opens_x_with_the_draft() -> None:
    url = compose_url("42", "Hi Ada & co: 100% real?")
    parsed = urlparse(url)
    assert (parsed.scheme, parsed.netloc, parsed.path) == ("https", "x.com", "/messages/compose")
    assert parse_qs(parsed.query) == {"recipient_id": ["42"], "text": ["Hi Ada & co: 100% real?"]}


def _unshowable(code: int) -> bool:
    """What must never reach the digest: controls, format characters, separators,
    surrogates, noncharacters and the invisible fillers."""
    ch = chr(code)
    return (unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE
            or ch in "\u115f\u1160\u3164\uffa0\u034f\u17b4\u17b5\u2800")


UNSHOWABLE = [chr(c) for c in range(0x110000) if _unshowable(c)]
FLAG_TAGS = re.compile("\U0001f3f4[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,6}\U000e007f")


def _only_allowed_invisibles(shown: str) -> bool:
    """Every invisible left is a line break, a ZWJ between two emoji, or a subdivision flag's tags."""
    flags = {i for m in FLAG_TAGS.finditer(shown) for i in range(m.start(), m.end())}
    for i, ch in enumerate(shown):
        if ch == "\n" or i in flags or not _unshowable(ord(ch)):
            continue
        if ch == "\u200d" and 0 < i < len(shown) - 1 and (unicodedata.category(shown[i + 1]) == "So" or 0x1F000 <= ord(shown[i + 1]) <= 0x1FAFF):
            continue
        return False
    return True


def test_every_unshowable_code_point_is_removed() -> None:
    kept = [f"U+{ord(c):04X}" for c in UNSHOWABLE if safe_text(f"a{c}b") not in ("ab", "a b", "a\nb")]
    assert kept == []
    assert len(UNSHOWABLE) > 2048 + 65 + 150  # surrogates, controls and format characters all took part


@given(st.lists(st.one_of(st.sampled_from(UNSHOWABLE), st.characters(exclude_categories=("Cs",))), max_size=60).map("".join))
def test_no_unshowable_character_survives_any_mix(text: str) -> None:
    assert _only_allowed_invisibles(safe_text(text, 10_000))
    assert _only_allowed_invisibles(safe_name(text, 10_000))


@given(st.text(st.sampled_from(["\u200d", "\ufe0f", "\u202e", "\u2066", "\u061c", "\u200b", "\ufeff", "\u00ad", "\U000e0041",
                                "\u3164", "\u2028", "a", "b"]), min_size=1).map(lambda s: f"x{s}y"))
def test_joiners_outside_emoji_and_stray_selectors_go(text: str) -> None:
    shown = safe_text(text)
    assert "\u200d" not in shown and "\ufe0f\ufe0f" not in shown and "\n\ufe0f" not in shown
    assert set(shown) <= set("xyab\n\ufe0f")


@pytest.mark.parametrize("emoji", [
    "👩\u200d👩\u200d👧", "👨\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "👩🏽\u200d💻", "❤\ufe0f", "1\ufe0f\u20e3", "🇫🇷",
    "👩\u200d❤\ufe0f\u200d💋\u200d👨", "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland
])
def test_emoji_sequences_survive_whole(emoji: str) -> None:
    assert safe_text(f"so {emoji} nice") == f"so {emoji} nice"
    assert safe_name(f"Ada {emoji}") == f"Ada {emoji}"


def test_stray_joiners_selectors_and_tags_go() -> None:
    assert safe_text("a\u200db 👩\u200d x") == "ab 👩 x"
    assert safe_text("smuggled😀" + "\ufe01\ufe02" + "\U000e0100" * 30) == "smuggled😀"
    assert safe_text("hi\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065") == "hi"  # tag text hidden after a letter


def test_safe_text_strips_invisible_tricks_and_keeps_line_breaks_without_cr() -> None:
    assert safe_text("a\u202eb\u200bc\u2066d\x00e\u061cf") == "abcdef"
    assert safe_text("one\r\ntwo\rthree\u2028four\u2029five") == "one\ntwo\nthree\nfour\nfive"
    assert safe_text("tab\there\u00a0and\u3000there") == "tab here and there"


@pytest.mark.parametrize("text", ["x" * 10_000, "日" * 10_000, "👩\u200d👩\u200d👧" * 2_000, "a\u200b" * 10_000])
def test_long_text_is_cut_with_a_visible_marker(text: str) -> None:
    shown = safe_text(text, 600)
    head, _, marker = shown.partition("… [")
    assert len(head) <= 600 and marker.endswith("more characters not shown]")
    assert not head.endswith("\u200d")


def test_crlf_in_a_name_gives_one_line() -> None:
    assert safe_name("Ada\r\nBcc: victim@example.com") == "Ada Bcc: victim@example.com"
    assert safe_name("  Ada \u2028\n  Lovelace\r ") == "Ada Lovelace"
    assert "\n" not in safe_name("x\n" * 100) and "\r" not in safe_name("x\r" * 100)


def test_first_name_comes_from_the_cleaned_name() -> None:
    assert first_name("Ada\r\nBcc: x@example.com", "ada") == "Ada"
    assert first_name("\u3164", "blank") == "@blank"  # a Hangul filler is no name
    assert first_name("\u2800\u2800", "braille") == "@braille"
    assert first_name("🍞" * 60, "loaf") == "@loaf"  # never the truncation marker's words
    assert first_name("A\u200bd\u200ba", "x") == "Ada"
    assert first_name("प्रिया शर्मा", "p") == "प्रिया"  # vowel signs are part of the name


HOSTILE = [
    '<script>alert("x")</script>',
    '<img src="https://tracker.example/p.gif">',
    '"><a href="javascript:alert(1)">click</a>',
    "line one\r\nBcc: victim@example.com",
    "\u202egnp.exe",
    "z" * 10_000,
    "https://phish.example/login",
]


def hostile_week() -> WeekInsights:
    top = tuple(TopPost(f"19{n}", "quip", text, date(2026, 11, 20 + n), 1000 + n, 40, 3, 0.043, 0.015)
                for n, text in enumerate(HOSTILE[:3]))
    return WeekInsights(date(2026, 11, 19), date(2026, 11, 25), 21, top, ((HOSTILE[3], HOSTILE[0] + HOSTILE[5]),),
                        (HourFigure(9, 4, 1.6), HourFigure(12, 3, 1.2)), 42, 1.2, 17)


def hostile_report() -> DigestReport:
    convs = [conv(t, name=t[:60]) for t in HOSTILE]
    entries = rank(convs, keywords=(), template="Hi {first_name}", invite="", now=NOW)
    return DigestReport(handle="flock_demo", day=date(2026, 11, 25), time_zone="UTC", dry_run=True, entries=entries,
                        growth=[GrowthPoint(date(2026, 11, d), 100 + d, 90 + d) for d in range(1, 26)], warnings=["<b>x</b>"],
                        week=hostile_week())


def test_the_week_shows_top_posts_retired_items_hours_clicks_per_dollar_and_growth() -> None:
    text = render_text(hostile_report())
    week = text.split("YOUR WEEK", 1)[1].split("ACCOUNT", 1)[0]
    assert "19 Nov to 25 Nov: 21 posts measured, +17 followers" in week
    assert week.count("Top ") == 3 and "(quip; 4.3% engagement, 1,000 impressions, 3 link clicks, cost $0.015)" in week
    assert 'Top 3: "><a href="javascript:alert(1)">click</a> (quip;' in week  # plain text in the text email
    assert "Best hours (your time): 09:00 (1.6x your typical post, 4 posts), 12:00 (1.2x your typical post, 3 posts)" in week
    assert "Link clicks: 42 for $1.20 of link posts (35.0 per dollar)" in week
    assert "Retired: line one Bcc: victim@example.com: <script>" in week and "\r" not in week  # one line
    assert "[9" in week.split("Retired:", 1)[1]  # a huge reason is cut, visibly
    html = render_html(hostile_report())
    assert html.count("&lt;script&gt;") >= 2 and "<script" not in html  # hostile item texts stay text


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


SECTIONS = ("Messages", "Follow suggestions", "Prune suggestions", "Posts", "Your week", "Account", "X API spend", "Warnings")


def test_every_section_in_html_and_text_in_order() -> None:
    html, text = render_html(hostile_report()), render_text(hostile_report())
    positions = [html.index(f">{s}<") for s in SECTIONS]
    assert positions == sorted(positions)
    for s in SECTIONS:
        assert s.upper() in text.upper()
    assert "DRY-RUN" in text


def waiting(conversation_id: str, texts: list[str], *, read_days_ago: float, follows: bool, first_id: int) -> Conversation:
    other = Correspondent(conversation_id, f"u{conversation_id}", "Ada", 10, "", follows, follows)
    read = NOW - timedelta(days=read_days_ago)
    return Conversation(f"1-{conversation_id}", other, tuple(Message(str(first_id + i), conversation_id, t, read, False, read_at=read)
                                                            for i, t in enumerate(texts)))


def shown_ids(conversations: list[Conversation], now: datetime = NOW) -> dict[str, int]:
    entries, _ = fit(rank(conversations, keywords=(), template="Hi", invite="", now=now), now=now)
    return {e.conversation.id: len(e.conversation.new_messages) for e in entries}


def test_a_message_that_waited_a_week_goes_before_the_ranked_ones() -> None:
    friends = [waiting(str(100 + i), [f"q{n}?" for n in range(5)], read_days_ago=0, follows=True, first_id=1000 * (i + 1))
               for i in range(12)]  # 60 worth replying, read today: more than the email holds
    assert "1-9" not in shown_ids([*friends, waiting("9", ["hello"], read_days_ago=6.9, follows=False, first_id=1)])
    assert shown_ids([*friends, waiting("9", ["hello"], read_days_ago=7, follows=False, first_id=1)])["1-9"] == 1
    # ranked alone, as before: the quiet one waits however long
    entries, _ = fit(rank([*friends, waiting("9", ["hello"], read_days_ago=20, follows=False, first_id=1)], keywords=(),
                          template="Hi", invite="", now=NOW))
    assert "1-9" not in {e.conversation.id for e in entries}


def test_what_waited_has_half_the_email_at_most_the_longest_waiting_first() -> None:
    old = [waiting(str(10 + i), [f"old {i}.{n}" for n in range(10)], read_days_ago=20 - i, follows=False, first_id=100 * (i + 1))
           for i in range(4)]  # 40 overdue, safe to ignore
    fresh = [waiting(str(100 + i), [f"q{n}?" for n in range(5)], read_days_ago=0, follows=True, first_id=10000 * (i + 1))
             for i in range(8)]  # 40 worth replying
    counts = shown_ids([*old, *fresh])
    assert sum(counts.get(c.id, 0) for c in old) == OVERDUE_PLACES == MAX_MESSAGES_SHOWN // 2
    assert [counts.get(c.id, 0) for c in old] == [10, 10, 5, 0]  # read 20, 19, 18 days ago: the longest waiting first
    assert sum(counts.get(c.id, 0) for c in fresh) == MAX_MESSAGES_SHOWN - OVERDUE_PLACES


def test_messages_past_their_time_are_given_up_and_counted_once() -> None:
    conv = waiting("9", ["a", "b", "c"], read_days_ago=0, follows=False, first_id=1)
    conv = replace(conv, messages=tuple(replace(m, read_at=NOW - SHOW_WITHIN + timedelta(hours=int(m.id) - 2))
                                        for m in conv.messages))  # a: given up an hour ago, b: now, c: in an hour
    kept, lost = give_up([conv], NOW, None)
    assert [m.text for _, m in lost] == ["a", "b"] and [m.text for m in kept[0].new_messages] == ["c"]
    assert [m.text for _, m in give_up([conv], NOW, NOW - timedelta(minutes=30))[1]] == ["b"]  # "a" was counted before
    assert give_up([conv], NOW, NOW)[1] == [] and give_up([conv], NOW, NOW)[0] == kept
    assert lost_note(lost) == "2 new messages waited 30 days without room in a digest and will not be shown (from @u9): read them in X"
    assert give_up([conv], NOW + timedelta(hours=2), None)[0] == []  # none left: the conversation goes
