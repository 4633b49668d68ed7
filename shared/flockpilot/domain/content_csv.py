"""Reading a content library CSV, all or nothing: every problem in the file is found and
named (line, column, value, why) before anything is stored, and no input makes it raise.

The format: UTF-8 (a BOM is fine), a header row with `kind,text` and optionally `url`,
`tags`, `evergreen`, `cooldown_days` in any order (names are case-insensitive), then one
item per row. Blank rows are skipped. A row may leave out trailing optional columns but may
not have more fields than the header (that is nearly always an unquoted comma in the text).
`evergreen` is true/false/yes/no/1/0 or empty (false); `cooldown_days` is a whole number
1..3650 or empty (30); `tags` is a comma-separated list inside one (quoted) field. Line breaks
inside a quoted text become \\n; other control characters are refused, since X would refuse them.

Rows with the same kind, text and url make the same item (see `item_id_for`): a repeat inside
the file is reported as a problem rather than dropped, because in an all-or-nothing import a
silent drop would hide the likelier mistake, a row meant to differ from an earlier one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from flockpilot.domain.content import ContentItem, new_item
from flockpilot.domain.errors import ContentRejected

REQUIRED_COLUMNS = ("kind", "text")
OPTIONAL_COLUMNS = ("url", "tags", "evergreen", "cooldown_days")
DEFAULT_COOLDOWN_DAYS = 30
MAX_PROBLEMS = 200  # past this the file is clearly not a content CSV; more lines would not help

_TRUE, _FALSE = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0", ""})
_WHOLE_NUMBER = re.compile(r"[0-9]{1,6}")
_LINE_BREAK = re.compile(r"\r\n|\r")
_REFUSED_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\ufeff\uffff]")
_MAX_EXCERPT = 60
_MAX_UTF8_ERRORS = 20


@dataclass(frozen=True)
class CsvProblem:
    """One thing wrong with the file: where (line, column), what (value excerpt) and why."""

    line: int
    column: str | None
    value: str
    why: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" ({self.column})" if self.column else "")
        return f"{where}: {self.why}" + (f" [{self.value}]" if self.value else "")


@dataclass(frozen=True)
class ContentCsv:
    """The items read, in file order, and every problem found. Store the items only when
    `problems` is empty: the import is all or nothing."""

    items: list[ContentItem] = field(default_factory=list)
    problems: list[CsvProblem] = field(default_factory=list)


def _excerpt(value: str) -> str:
    """A short, one-line version of a value for a message: controls shown as escapes."""
    short = value if len(value) <= _MAX_EXCERPT else f"{value[:_MAX_EXCERPT - 1]}…"
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in short)


def _utf8_problems(data: bytes) -> list[CsvProblem]:
    """Every place (up to 20) where the bytes are not UTF-8, by line and byte offset."""
    problems: list[CsvProblem] = []
    pos = 0
    while len(problems) < _MAX_UTF8_ERRORS:
        try:
            data[pos:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            start = pos + exc.start
            line_start = data.rfind(b"\n", 0, start) + 1
            where = f"byte offset {start} of the file; byte {start - line_start + 1} of the line, counting from 1"
            problems.append(CsvProblem(
                line=data.count(b"\n", 0, start) + 1, column=None, value="".join(f"\\x{b:02x}" for b in data[start:pos + exc.end]),
                why=f"is not UTF-8 ({where}); save the file as UTF-8",
            ))
            pos += exc.end
    return problems


def _header(row: list[str], line: int) -> tuple[list[str], list[CsvProblem]]:
    names = [name.strip().lower() for name in row]
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    problems = [CsvProblem(line, _excerpt(raw.strip()), "", f"is not a column; use {', '.join(known)}")
                for raw, name in zip(row, names, strict=True) if name not in known]
    problems += [CsvProblem(line, name, "", "appears twice in the header") for name in sorted({n for n in names if names.count(n) > 1})]
    problems += [CsvProblem(line, name, "", f"column is missing; the header must name {', '.join(REQUIRED_COLUMNS)}")
                 for name in REQUIRED_COLUMNS if name not in names]
    return names, problems


def _evergreen(raw: str, line: int) -> tuple[bool, list[CsvProblem]]:
    value = raw.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE, []
    return False, [CsvProblem(line, "evergreen", _excerpt(raw), "must be true, false, yes, no, 1, 0 or empty")]


def _cooldown(raw: str, line: int) -> tuple[int, list[CsvProblem]]:
    value = raw.strip()
    if not value:
        return DEFAULT_COOLDOWN_DAYS, []
    if _WHOLE_NUMBER.fullmatch(value) and 1 <= int(value) <= 3650:
        return int(value), []
    return DEFAULT_COOLDOWN_DAYS, [CsvProblem(line, "cooldown_days", _excerpt(raw), "must be a whole number of days, 1..3650, or empty")]


def _column_of(reason: str) -> str | None:
    """Which column new_item's refusal is about, from its wording."""
    for start, column in (("unknown kind", "kind"), ("cooldown", "cooldown_days"), ("url", "url"), ("an article needs", "url"),
                          ("a repost takes", "url"), ("a repost needs", "text"), ("text", "text"), ("weighted length", "text")):
        if reason.startswith(start):
            return column
    return None


def _item(cells: dict[str, str], line: int, now: datetime) -> tuple[ContentItem | None, list[CsvProblem]]:
    problems: list[CsvProblem] = []
    text = _LINE_BREAK.sub("\n", cells.get("text", ""))
    for column, value in (("kind", cells.get("kind", "")), ("text", text), ("url", cells.get("url", "")), ("tags", cells.get("tags", ""))):
        bad = _REFUSED_CONTROL.search(value)
        if bad:
            problems.append(CsvProblem(line, column, _excerpt(value), f"holds the control character U+{ord(bad.group()):04X}, which X refuses"))
    evergreen, bad_evergreen = _evergreen(cells.get("evergreen", ""), line)
    cooldown_days, bad_cooldown = _cooldown(cells.get("cooldown_days", ""), line)
    problems += bad_evergreen + bad_cooldown
    if problems:
        return None, problems
    try:
        item = new_item(kind=cells.get("kind", "").strip(), text=text, url=cells.get("url") or None, tags=cells.get("tags", "").split(","),
                        evergreen=evergreen, cooldown_days=cooldown_days, now=now)
    except ContentRejected as exc:
        about = _column_of(str(exc))
        return None, [CsvProblem(line, about, _excerpt(cells.get(about, "") if about else ""), str(exc))]
    return item, []


def parse_content_csv(data: bytes, *, now: datetime) -> ContentCsv:
    """Every item of a content CSV and every problem with it; never raises. `now` stamps the
    items' `added_at`. An empty `problems` list means the whole file can be stored."""
    problems = _utf8_problems(data)
    if problems:
        return ContentCsv(problems=problems)
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True)
    header: list[str] | None = None
    items: list[ContentItem] = []
    first_line: dict[str, int] = {}
    start = 1
    while len(problems) < MAX_PROBLEMS:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            why = "opens a quoted field that is never closed" if "end of data" in str(exc) else f"is not valid CSV ({exc})"
            problems.append(CsvProblem(start, None, "", why))
            if reader.line_num < start:  # nothing more could be read
                break
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header, bad_header = _header(row, line)
            if bad_header:
                return ContentCsv(problems=problems + bad_header)
            continue
        if len(row) > len(header):
            extra = ",".join(row[len(header):])
            problems.append(CsvProblem(line, None, _excerpt(extra), f"has {len(row)} fields but the header has {len(header)}; "
                                                                    "put text with commas in double quotes"))
            continue
        item, bad = _item(dict(zip(header, row, strict=False)), line, now)
        problems += bad
        if item is None:
            continue
        if item.item_id in first_line:
            problems.append(CsvProblem(line, None, _excerpt(item.text), f"repeats line {first_line[item.item_id]} (same kind, text and url)"))
            continue
        first_line[item.item_id] = line
        items.append(item)
    if header is None and not problems:
        problems.append(CsvProblem(1, None, "", f"the file is empty; it needs a header row such as {','.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"))
    return ContentCsv(items=items, problems=problems)
