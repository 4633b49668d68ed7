from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flockpilot.domain.content import ContentKind
from flockpilot.domain.content_csv import CsvProblem, parse_content_csv

NOW = datetime(2026, 11, 25, 7, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "content.csv"
HEADER = "kind,text,url,tags,evergreen,cooldown_days\n"


def parse(text: str | bytes) -> tuple[list[str], list[CsvProblem]]:
    result = parse_content_csv(text.encode() if isinstance(text, str) else text, now=NOW)
    return [i.text for i in result.items], result.problems


def where(problems: list[CsvProblem]) -> list[tuple[int, str | None]]:
    return [(p.line, p.column) for p in problems]


def test_the_example_library_parses_cleanly() -> None:
    result = parse_content_csv(EXAMPLE.read_bytes(), now=NOW)
    assert result.problems == []
    assert len(result.items) == 25 and {i.kind for i in result.items} == {ContentKind.QUIP, ContentKind.QUOTE, ContentKind.ARTICLE,
                                                                           ContentKind.PITCH, ContentKind.PLUG}
    quote = next(i for i in result.items if i.kind is ContentKind.QUOTE)
    assert quote.text.startswith('"Good bread') and quote.evergreen and quote.cooldown_days == 30 and quote.tags == ("quotes",)
    assert all(i.added_at == NOW for i in result.items)


def test_a_byte_order_mark_is_fine() -> None:
    assert parse(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())[1] == []


def test_windows_line_endings_and_quoted_line_breaks() -> None:
    texts, problems = parse('kind,text\r\nquip,"two\r\nlines"\r\nquip,one\r\n')
    assert problems == [] and texts == ["two\nlines", "one"]


def test_invalid_utf8_is_named_by_line_and_byte() -> None:
    texts, problems = parse(b"kind,text\nquip,fine\nquip,caf\xe9 au lait\n")
    assert texts == [] and where(problems) == [(3, None)]
    assert "not UTF-8" in problems[0].why and "byte offset 28 of the file" in problems[0].why and "byte 9 of the line" in problems[0].why
    assert problems[0].value == "\\xe9"


def test_an_unterminated_quote_is_refused_where_it_opens() -> None:
    texts, problems = parse('kind,text\nquip,fine\nquip,"never closed\nquip,swallowed\n')
    assert [(p.line, p.why) for p in problems] == [(3, "opens a quoted field that is never closed")]


def test_a_stray_quote_after_a_quoted_field_is_refused() -> None:
    _, problems = parse('kind,text\nquip,"a"b\nquip,fine\nmeme,bad\n')
    assert where(problems) == [(2, None), (4, "kind")]  # reading goes on after it


@pytest.mark.parametrize(("header", "column", "why"), [
    ("text\n", "kind", "column is missing"),
    ("kind,url\n", "text", "column is missing"),
    ("kind,text,colour\n", "colour", "is not a column"),
    ("kind,text,Text\n", "text", "appears twice"),
])
def test_the_header_must_name_known_columns(header: str, column: str, why: str) -> None:
    _, problems = parse(header + "quip,hello,x\n")
    assert [(p.line, p.column) for p in problems] == [(1, column)] and why in problems[0].why


def test_column_names_ignore_case_order_and_spaces() -> None:
    texts, problems = parse(" Text , KIND ,Evergreen\nhello,quip,yes\n")
    assert problems == [] and texts == ["hello"]


def test_an_empty_file_is_a_problem_but_a_header_alone_is_not() -> None:
    assert where(parse(b"")[1]) == [(1, None)]
    assert where(parse(b"\n\n \n")[1]) == [(1, None)]
    assert parse(HEADER) == ([], [])


def test_every_bad_row_is_reported_and_good_rows_still_read() -> None:
    texts, problems = parse(HEADER + "quip,good one,,,,\n" "meme,nope,,,,\n" f"quip,{'x' * 300},,,,\n" "quip,   ,,,,\n"
                            "article,no link here,,,,\n" "quip,ok,ftp://x,,,\n" "repost,not a post,,,,\n" "quip,good two,,,,\n"
                            "quip,bad flags,,,maybe,0\n")
    assert texts == ["good one", "good two"]
    assert where(problems) == [(3, "kind"), (4, "text"), (5, "text"), (6, "url"), (7, "url"), (8, "text"), (10, "evergreen"),
                               (10, "cooldown_days")]
    assert "weighted length 300" in problems[1].why


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("TRUE", True), ("yes", True), ("1", True), (" Yes ", True),
                                               ("false", False), ("no", False), ("0", False), ("", False)])
def test_evergreen_accepts_the_usual_spellings(raw: str, expected: bool) -> None:
    result = parse_content_csv(f"kind,text,evergreen\nquip,hi,{raw}\n".encode(), now=NOW)
    assert result.problems == [] and result.items[0].evergreen is expected


@pytest.mark.parametrize("raw", ["maybe", "y", "2", "on", "true!", "t"])
def test_evergreen_refuses_anything_else(raw: str) -> None:
    assert where(parse(f"kind,text,evergreen\nquip,hi,{raw}\n")[1]) == [(2, "evergreen")]


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("3650", 3650), (" 14 ", 14), ("", 30), ("007", 7)])
def test_cooldown_days_is_a_whole_number_of_days(raw: str, expected: int) -> None:
    result = parse_content_csv(f"kind,text,cooldown_days\nquip,hi,{raw}\n".encode(), now=NOW)
    assert result.problems == [] and result.items[0].cooldown_days == expected


@pytest.mark.parametrize("raw", ["0", "3651", "-1", "+5", "5.0", "1_000", "\uff15", "1e3", "seven", "99999999999999999999"])
def test_cooldown_days_refuses_anything_else(raw: str) -> None:
    problems = parse(f"kind,text,cooldown_days\nquip,hi,{raw}\n")[1]
    assert where(problems) == [(2, "cooldown_days")] and "1..3650" in problems[0].why


def test_a_row_with_more_fields_than_the_header_is_refused() -> None:
    texts, problems = parse("kind,text\nquip,Flour, water and salt\nquip,fine\n")
    assert texts == ["fine"] and where(problems) == [(2, None)] and "3 fields but the header has 2" in problems[0].why


def test_a_short_row_leaves_trailing_optional_columns_empty() -> None:
    result = parse_content_csv((HEADER + "quip,hi\n").encode(), now=NOW)
    assert result.problems == [] and result.items[0].cooldown_days == 30 and not result.items[0].evergreen


def test_repeated_rows_are_reported_with_the_first_line() -> None:
    texts, problems = parse(HEADER + "quip,same,,a,true,7\nquip,other,,,,\nquip,same,,b,false,9\n")
    assert texts == ["same", "other"] and [(p.line, p.why) for p in problems] == [(4, "repeats line 2 (same kind, text and url)")]


def test_control_characters_are_refused_but_tabs_and_line_breaks_are_kept() -> None:
    texts, problems = parse('kind,text\nquip,"a\tb\nc"\nquip,bell\x07\nquip,bom\ufeffinside\n')
    assert texts == ["a\tb\nc"] and where(problems) == [(4, "text"), (5, "text")]
    assert "U+0007" in problems[0].why and problems[0].value == "bell\\x07"


def test_problems_read_well_on_one_line() -> None:
    _, problems = parse("kind,text\nmeme,x\r\ny\n")
    assert str(problems[0]).startswith("line 2 (kind): unknown kind 'meme'") and "\n" not in str(problems[0])


@given(st.binary(max_size=400))
def test_any_bytes_give_items_or_problems_never_an_exception(data: bytes) -> None:
    result = parse_content_csv(data, now=NOW)
    assert all(p.line >= 1 and p.why for p in result.problems)


CELLS = st.lists(st.sampled_from(list('ab ,"\n\r\t\x00é日😀\ufeff\u202e') + ["quip", "article", "https://x.com/a", "true", "9"]),
                 max_size=12).map("".join)


@given(st.lists(st.lists(CELLS, max_size=8), max_size=8))
def test_any_csv_shaped_text_gives_items_or_problems(rows: list[list[str]]) -> None:
    body = HEADER + "\n".join(",".join(row) for row in rows)
    result = parse_content_csv(body.encode("utf-8", "surrogatepass"), now=NOW)
    lines = body.count("\n") + body.count("\r") + 1
    assert all(1 <= p.line <= lines for p in result.problems)
