"""Fetch and read an RSS or Atom feed, defensively: the feed is someone's web server, and a
broken or hostile one must end in a clear `FeedError`, never in a hang, a full memory or a
file read from this machine.

- Sources: an http(s) URL, or a local file given as a plain path. Every other scheme
  (file:, ftp:, data:, javascript:...) is refused, on the first URL and on every redirect.
- Redirects are followed by hand, at most `max_redirects`, each target checked; a loop is
  named as one.
- The body is streamed and cut off past `max_bytes` (counted after any gzip decoding), and
  the whole fetch, redirects included, has one deadline: the time left is checked between
  socket reads and the socket is shut at the deadline, so a server that drips a byte at a
  time or stalls mid-body is cut off too. Connecting and waiting for the headers of each
  request get the time left as their timeouts.
- The document is decoded here and refused if it declares XML entities (`<!ENTITY`):
  feedparser drops entity definitions that refer to other entities, but keeps a flat one,
  and when expat gives up on the document (expat's guard limits the amplification ratio
  only), feedparser's lenient fallback parser expands it as often as it is referenced:
  in a trial a 400 KB document became a 300 MB title. Feeds do not need entities, and
  defusedxml refuses them by default for the same reason. Decoding here first means the
  check sees exactly the text the parser will (UTF-16 and declared charsets included).
- feedparser (imported on first use; only the feed check needs it) is only ever given
  bytes in a stream, never a URL or a path: given a string, it would fetch or open it
  itself.
"""

from __future__ import annotations

import codecs
import io
import re
import stat
import threading
import time
import xml.sax
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

import requests
import urllib3

from flockpilot.domain.errors import FlockpilotError
from flockpilot.domain.feed import FeedEntry

DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # a blog's feed is tens of KB; full-content feeds reach a few MB
DEFAULT_TIMEOUT = 15.0  # seconds for the whole fetch, redirects included
DEFAULT_MAX_REDIRECTS = 5

_READ_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_HEADERS = {
    "User-Agent": "Flockpilot-feed-check/1 (self-hosted; reads one blog feed a day)",
    "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
    # Ask for an unencoded body so the byte cap counts what is sent; a server that gzips
    # anyway is decoded by urllib3 a chunk at a time and the cap counts the decoded bytes.
    "Accept-Encoding": "identity",
}
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
# expat's "the document ended early" errors: a feed cut short, whose last entry may be half there.
_TRUNCATED = frozenset(
    expat.errors.codes[message]
    for message in (
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
    )
)


class FeedError(FlockpilotError):
    """The feed could not be fetched or read; nothing was imported. The message names the
    source and the problem."""


def fetch_feed(
    source: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    session: requests.Session | None = None,
) -> list[FeedEntry]:
    """The entries of the RSS or Atom feed at `source` (an http(s) URL or a local file path),
    in feed order. Raises FeedError for anything that is not a readable feed within the caps;
    a well-formed feed with no entries gives an empty list."""
    if max_bytes <= 0 or timeout <= 0 or max_redirects < 0:
        raise ValueError("max_bytes and timeout must be positive, max_redirects not negative")
    source = source.strip()
    scheme = _URL_SCHEME.match(source)
    if scheme is None:
        data = _read_file(source, max_bytes)
        return _parse(data, label=source, content_type=None, base_url=None)
    _check_url(source, f"{source[:100]!r}: ")
    body, final_url, content_type = _download(source, max_bytes=max_bytes, timeout=timeout, max_redirects=max_redirects, session=session)
    return _parse(body, label=final_url, content_type=content_type, base_url=final_url)


def _check_url(url: str, context: str) -> None:
    scheme = url.partition(":")[0].lower()
    if scheme not in ("http", "https"):
        raise FeedError(f"{context}only http and https feeds are fetched, not {scheme}: URLs (give a local file as a plain path)")
    try:
        host = urlsplit(url).hostname
    except ValueError as exc:
        raise FeedError(f"{context}not a valid URL ({exc})") from None
    if not host:
        raise FeedError(f"{context}the URL has no host")


def _read_file(path_text: str, max_bytes: int) -> bytes:
    path = Path(path_text).expanduser()
    try:
        # A FIFO or a device would block or never end: only regular files are read.
        if not stat.S_ISREG(path.stat().st_mode):
            raise FeedError(f"{path} is not a regular file")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise FeedError(f"no such file: {path}") from None
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise FeedError(f"{path} is larger than the feed size cap of {max_bytes:,} bytes")
    return data


def _download(url: str, *, max_bytes: int, timeout: float, max_redirects: int, session: requests.Session | None) -> tuple[bytes, str, str | None]:
    """(body, final URL, Content-Type) of a GET that ends in 200 within every cap."""
    deadline = time.monotonic() + timeout
    http = session or requests.Session()
    visited = {url}
    try:
        for _ in range(max_redirects + 1):
            remaining = _time_left(deadline, url, timeout)
            try:
                response = http.get(url, headers=_HEADERS, stream=True, allow_redirects=False, timeout=(remaining, remaining))
            except requests.Timeout:
                raise FeedError(f"{url} did not answer within {timeout:g} s") from None
            except requests.RequestException as exc:
                raise FeedError(f"could not fetch {url}: {exc}") from None
            with response:
                if response.status_code in _REDIRECTS:
                    location = http.get_redirect_target(response)
                    if not location:
                        raise FeedError(f"{url} answered HTTP {response.status_code} without a Location to follow")
                    target = urljoin(url, location)
                    _check_url(target, f"{url} redirects to {target[:100]}: ")
                    if target in visited:
                        raise FeedError(f"redirect loop: {url} redirects back to {target}")
                    visited.add(target)
                    url = target
                    continue
                if response.status_code != 200:
                    raise FeedError(f"{url} answered HTTP {response.status_code} {response.reason or ''}".rstrip())
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FeedError(f"{url} announces {int(declared):,} bytes, over the feed size cap of {max_bytes:,} bytes")
                body = _read_body(response, url, max_bytes=max_bytes, deadline=deadline, timeout=timeout)
                return body, url, response.headers.get("content-type")
        raise FeedError(f"more than {max_redirects} redirects, the last to {url}")
    finally:
        if session is None:
            http.close()


def _time_left(deadline: float, url: str, timeout: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FeedError(f"{url} did not send the whole feed within {timeout:g} s (a slow or endless response)")
    return remaining


def _read_body(response: requests.Response, url: str, *, max_bytes: int, deadline: float, timeout: float) -> bytes:
    """Stream the body under the byte cap and the deadline."""
    raw = response.raw
    # read1 returns what one socket read brings, so the deadline is checked between reads;
    # read(n) would wait for all n bytes, which a drip-feeding server stretches at will.
    read_some = getattr(raw, "read1", None) or raw.read
    chunks: list[bytes] = []
    total = 0
    with _shut_at(deadline, raw):
        while True:
            _time_left(deadline, url, timeout)
            try:
                chunk = read_some(_READ_CHUNK, decode_content=True)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                _time_left(deadline, url, timeout)  # a read cut off at the deadline is a timeout
                if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
                    raise FeedError(f"{url} did not send the whole feed within {timeout:g} s (a slow or endless response)") from None
                raise FeedError(f"reading {url} failed: {exc}") from None
            if not chunk:
                _time_left(deadline, url, timeout)  # an end forced by the deadline is not the feed's end
                return b"".join(chunks)
            total += len(chunk)
            if total > max_bytes:
                raise FeedError(f"{url} sent more than the feed size cap of {max_bytes:,} bytes")
            chunks.append(chunk)


@contextmanager
def _shut_at(deadline: float, raw: object) -> Iterator[None]:
    """Shut the socket for reading at the deadline, so a read blocked on a stalled server
    returns then rather than after its own timeout (urllib3 2.3+ offers `shutdown` for
    this; without it the per-read timeout, at most the time left at the request, applies)."""
    shutdown = getattr(raw, "shutdown", None)
    if shutdown is None:
        yield
        return

    def cut() -> None:
        with suppress(Exception):  # the body may be read and the connection released already
            shutdown()

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


# --- parsing --------------------------------------------------------------------------


def _decode(data: bytes, content_type: str | None) -> str:
    """The document as text. A byte-order mark or a UTF-16/32 layout decides; then strict
    UTF-8, because servers often declare a charset their feed does not use and UTF-8 text
    almost never decodes by accident; then the declared charsets; then Windows-1252."""
    candidates: list[str] = []
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            candidates.append(codec)
            break
    layout = {b"\x00\x00\x00<": "utf-32-be", b"<\x00\x00\x00": "utf-32-le", b"\x00<\x00?": "utf-16-be", b"<\x00?\x00": "utf-16-le"}
    if not candidates and data[:4] in layout:
        candidates.append(layout[data[:4]])
    candidates.append("utf-8")
    if content_type:
        charset = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", content_type, re.IGNORECASE)
        if charset:
            candidates.append(charset.group(1))
    declared = _XML_ENCODING.match(data[:1024])
    if declared:
        candidates.append(declared.group(1).decode("ascii"))
    for codec in candidates:
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue  # an unknown name, a non-text codec (base64, zlib...), or the wrong guess
    return data.decode("windows-1252", errors="replace")


def _parse(data: bytes, *, label: str, content_type: str | None, base_url: str | None) -> list[FeedEntry]:
    text = _decode(data, content_type)
    if not text.strip():
        raise FeedError(f"{label} is empty")
    if _ENTITY_DECLARATION.search(text):
        raise FeedError(f"{label} declares XML entities (<!ENTITY ...>), which a feed never needs; refused to guard against entity expansion attacks")

    import feedparser  # type: ignore[import-untyped]  # no type information is shipped

    headers = {"content-type": "application/xml; charset=utf-8"}
    if base_url:
        headers["content-location"] = base_url  # relative links resolve against the final URL
    try:
        # A stream, never a str: feedparser fetches URLs and opens paths it is given as strings.
        result = feedparser.parse(io.BytesIO(text.encode("utf-8")), response_headers=headers)
    except Exception as exc:  # feedparser on hostile input may fail in ways it does not document
        raise FeedError(f"{label} could not be parsed: {exc!r}") from exc

    raw_entries = result.get("entries") or []
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not result.get("version") and not raw_entries:
        if (content_type or "").lower().startswith(("text/html", "application/xhtml")) or _looks_like_html(text):
            raise FeedError(f"{label} is an HTML page, not an RSS or Atom feed (the page's <link rel=\"alternate\"> names its feed)")
        if problem is not None:
            raise FeedError(f"{label} is not well-formed XML ({_describe(problem)}) and holds no RSS or Atom feed")
        raise FeedError(f"{label} is XML but not an RSS or Atom feed")
    if problem is not None and _is_truncation(problem):
        raise FeedError(f"{label} is cut short ({_describe(problem)}): its last entries may be incomplete, so nothing is taken")
    # An entry with no id, link or title is what lenient parsing leaves of broken markup.
    entries = [e for e in map(_entry, raw_entries) if e.entry_id or e.link or e.title]
    if problem is not None and not entries:
        raise FeedError(f"{label} is not well-formed XML ({_describe(problem)}) and no entry could be read")
    return entries


def _looks_like_html(text: str) -> bool:
    head = text[:4096].lower()
    return "<!doctype html" in head or "<html" in head


def _describe(problem: object) -> str:
    # Not the line and column: they count in feedparser's rewritten copy, not in the feed.
    return problem.getMessage() if isinstance(problem, xml.sax.SAXParseException) else str(problem)


def _is_truncation(problem: object) -> bool:
    inner = problem.getException() if isinstance(problem, xml.sax.SAXParseException) else None
    return isinstance(inner, expat.ExpatError) and inner.code in _TRUNCATED


def _entry(raw: object) -> FeedEntry:
    def text(key: str) -> str | None:
        value = raw.get(key) if isinstance(raw, dict) else None
        return value if isinstance(value, str) and value.strip() else None

    return FeedEntry(entry_id=text("id"), link=text("link"), title=text("title"), published=_published(raw))


def _published(raw: object) -> datetime | None:
    """feedparser gives dates as UTC struct_time; published first, else updated."""
    if not isinstance(raw, dict):
        return None
    for key in ("published_parsed", "updated_parsed"):
        value = raw.get(key)
        if isinstance(value, time.struct_time):
            try:
                return datetime(*value[:6], tzinfo=UTC)
            except (ValueError, OverflowError):
                continue
    return None
