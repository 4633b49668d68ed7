"""fetch_feed against a real HTTP server on 127.0.0.1 that misbehaves on purpose. Caps and
timeouts are small so every refusal comes quickly; the tests assert outcomes, not times."""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flockpilot.adapters.feeds import FeedError, fetch_feed
from flockpilot.domain.feed import FeedEntry

FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"
SMALL = 64 * 1024
QUICK = 0.5  # the deadline the slow-server tests must hit
SURE = 10.0  # every other fetch: a loaded CI machine can stall a while
FIFTY_MB = 50 * 1024 * 1024


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def quadratic_blowup() -> bytes:
    """One flat 30 KB entity referenced 10,000 times: 40 KB on the wire, 300 MB expanded."""
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 30_000 + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>' + b"&a;" * 10_000
        + b"</title><link>https://blowup.example/1</link></item></channel></rss>"
    )


@cache
def gzip_bomb() -> bytes:
    """50 MB of zeros in about 50 KB of gzip; built once, before the request that sends it."""
    return gzip.compress(b"<rss>" + b"\0" * FIFTY_MB, compresslevel=9)


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True
    stopping: threading.Event


class Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # no access log lines in test output

    def do_GET(self) -> None:
        route = _hop if self.path.startswith("/hop/") else ROUTES.get(self.path)
        if route is None:
            self.send_error(404, "no such feed")
            return
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, which is what these routes are for

    # -- helpers for the routes --

    def reply(self, body: bytes, content_type: str = "application/rss+xml", headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def stream(self, pieces: Iterator[bytes], pause: float = 0.0, content_length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        if content_length is not None:
            self.send_header("Content-Length", str(content_length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for piece in pieces:
            if self.server.stopping.is_set():
                return
            self.wfile.write(piece)
            self.wfile.flush()
            if pause:
                self.server.stopping.wait(pause)


def _endless(total: int) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>'
    block = b"x" * 65536
    for _ in range(total // len(block)):
        yield block


def _drip() -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>'
    for _ in range(400):  # bounded: 400 bytes at 20 a second, long after the client left
        yield b"x"


def _stall() -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>'
    yield b"x" * 100  # then nothing more: the next piece is never asked for within the test


def _hop(h: Handler) -> None:
    h.redirect(f"/hop/{int(h.path.rsplit('/', 1)[1]) + 1}")  # an endless chain of new URLs


def _late_headers(h: Handler) -> None:
    h.server.stopping.wait(5)  # answers only after the client's deadline, or at teardown


ROUTES: dict[str, Callable[[Handler], None]] = {
    "/rss.xml": lambda h: h.reply(fixture("rss.xml")),
    "/atom.xml": lambda h: h.reply(fixture("atom.xml"), "application/atom+xml"),
    "/moved": lambda h: h.redirect("/rss.xml", 301),
    "/gzipped.xml": lambda h: h.reply(gzip.compress(fixture("rss.xml")), headers={"Content-Encoding": "gzip"}),
    "/empty-feed.xml": lambda h: h.reply(b'<?xml version="1.0"?><rss version="2.0"><channel><title>New blog</title></channel></rss>'),
    "/not-well-formed.xml": lambda h: h.reply(fixture("not-well-formed.xml")),
    "/cut-short.xml": lambda h: h.reply(fixture("rss.xml")[:700]),
    "/page.html": lambda h: h.reply(fixture("page.html"), "text/html; charset=utf-8"),
    "/billion-laughs.xml": lambda h: h.reply(fixture("billion-laughs.xml")),
    "/external-entity.xml": lambda h: h.reply(fixture("external-entity.xml")),
    "/quadratic.xml": lambda h: h.reply(quadratic_blowup()),
    "/a-path.xml": lambda h: h.reply(str(FEEDS / "rss.xml").encode()),
    "/endless": lambda h: h.stream(_endless(FIFTY_MB)),
    "/announced-50mb": lambda h: h.stream(_endless(FIFTY_MB), content_length=FIFTY_MB),
    "/gzip-bomb": lambda h: h.reply(gzip_bomb(), headers={"Content-Encoding": "gzip"}),
    "/drip": lambda h: h.stream(_drip(), pause=0.05),
    "/stall": lambda h: h.stream(_stall(), pause=5),
    "/late-headers": _late_headers,
    "/loop-a": lambda h: h.redirect("/loop-b"),
    "/loop-b": lambda h: h.redirect("/loop-a"),
    "/to-file": lambda h: h.redirect("file:///etc/passwd"),
    "/to-ftp": lambda h: h.redirect("ftp://127.0.0.1/feed.xml", 301),
    "/to-javascript": lambda h: h.redirect("javascript:alert(1)"),
    "/no-location": lambda h: h.send_error(302, "moved, but where?"),
    "/gone": lambda h: h.send_error(410, "gone"),
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = FeedServer(("127.0.0.1", 0), Handler)
    server.stopping = threading.Event()
    thread = threading.Thread(target=server.serve_forever, name="feed-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def fetch(url: str, timeout: float = SURE) -> list[FeedEntry]:
    return fetch_feed(url, max_bytes=SMALL, timeout=timeout, max_redirects=3)


# --- good feeds -------------------------------------------------------------------------


def test_rss_feed_gives_its_entries_in_feed_order(base_url: str) -> None:
    entries = fetch(f"{base_url}/rss.xml")
    assert [e.title for e in entries] == [
        "Why our sourdough rests 48 hours",
        "Rye, spelt &amp; einkorn: a <b>field</b> guide",  # HTML as the feed means it; the domain cleans titles
        "Crème brûlée, the café way",
    ]
    assert entries[0] == FeedEntry(
        entry_id="bakery-post-112",
        link="https://bakery.example/posts/48-hours/?utm_source=rss&utm_medium=feed",
        title="Why our sourdough rests 48 hours",
        published=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    )
    assert entries[1].entry_id == "https://bakery.example/posts/ancient-grains/"
    assert entries[2].entry_id is None and entries[2].published is None


def test_relative_links_resolve_against_the_feed_url(base_url: str) -> None:
    entries = fetch(f"{base_url}/rss.xml")
    assert entries[2].link == f"{base_url}/posts/creme-brulee/"


def test_atom_feed_gives_its_entries_with_utc_dates(base_url: str) -> None:
    entries = fetch(f"{base_url}/atom.xml")
    assert [(e.entry_id, e.link) for e in entries] == [
        ("tag:notes.example,2026:measure", "https://notes.example/2026/measure"),
        ("tag:notes.example,2026:nihongo", "https://notes.example/2026/nihongo"),
    ]
    assert entries[0].title == "Measuring <em>everything</em> twice"
    assert entries[0].published == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)  # published wins over updated
    assert entries[1].published == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # else updated
    assert all(e.published is not None and e.published.utcoffset() is not None for e in entries)


def test_a_redirect_to_the_feed_is_followed(base_url: str) -> None:
    entries = fetch(f"{base_url}/moved")
    assert len(entries) == 3
    assert entries[2].link == f"{base_url}/posts/creme-brulee/"


def test_a_gzipped_feed_is_decoded(base_url: str) -> None:
    assert len(fetch(f"{base_url}/gzipped.xml")) == 3


def test_a_feed_with_no_entries_yet_is_not_an_error(base_url: str) -> None:
    assert fetch(f"{base_url}/empty-feed.xml") == []


def test_local_file_is_read_like_a_feed() -> None:
    entries = fetch_feed(str(FEEDS / "atom.xml"))
    assert [e.entry_id for e in entries] == ["tag:notes.example,2026:measure", "tag:notes.example,2026:nihongo"]


# --- broken documents -------------------------------------------------------------------


def test_bad_xml_is_refused(base_url: str) -> None:
    with pytest.raises(FeedError, match=r"not well-formed XML \(mismatched tag\)"):
        fetch(f"{base_url}/not-well-formed.xml")


def test_a_feed_cut_short_is_refused(base_url: str) -> None:
    with pytest.raises(FeedError, match="cut short"):
        fetch(f"{base_url}/cut-short.xml")


def test_an_html_page_is_refused_as_not_a_feed(base_url: str) -> None:
    with pytest.raises(FeedError, match="HTML page, not an RSS or Atom feed"):
        fetch(f"{base_url}/page.html")


def test_a_document_that_names_a_path_is_not_opened(base_url: str) -> None:
    # feedparser opens a path it is handed as a string; the body must stay a document.
    with pytest.raises(FeedError, match="not well-formed XML"):
        fetch(f"{base_url}/a-path.xml")


def test_an_error_status_is_refused_with_the_status(base_url: str) -> None:
    with pytest.raises(FeedError, match="HTTP 410"):
        fetch(f"{base_url}/gone")


# --- XML attacks ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml", "quadratic.xml"])
def test_entity_declarations_are_refused_before_parsing(base_url: str, name: str) -> None:
    with pytest.raises(FeedError, match="declares XML entities"):
        fetch(f"{base_url}/{name}")


def test_billion_laughs_in_a_local_file_is_refused() -> None:
    with pytest.raises(FeedError, match="declares XML entities"):
        fetch_feed(str(FEEDS / "billion-laughs.xml"))


def test_entity_declarations_hidden_in_utf16_are_refused(tmp_path: Path) -> None:
    doc = (FEEDS / "billion-laughs.xml").read_text().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>')
    path = tmp_path / "utf16.xml"
    path.write_bytes(doc.encode("utf-16"))
    with pytest.raises(FeedError, match="declares XML entities"):
        fetch_feed(str(path))


# --- size, time and redirect caps -------------------------------------------------------


def test_an_endless_body_is_cut_off_at_the_size_cap(base_url: str) -> None:
    with pytest.raises(FeedError, match="more than the feed size cap of 65,536 bytes"):
        fetch(f"{base_url}/endless")


def test_a_body_announced_over_the_cap_is_refused_unread(base_url: str) -> None:
    with pytest.raises(FeedError, match="announces 52,428,800 bytes"):
        fetch(f"{base_url}/announced-50mb")


def test_a_gzip_bomb_is_cut_off_at_the_size_cap(base_url: str) -> None:
    assert len(gzip_bomb()) < SMALL  # small on the wire, so only the decoded size can trip the cap
    with pytest.raises(FeedError, match="more than the feed size cap"):
        fetch(f"{base_url}/gzip-bomb")


def test_a_slow_drip_is_cut_off_at_the_total_timeout(base_url: str) -> None:
    # Each byte comes well within a per-read timeout; only a deadline for the whole fetch stops it.
    with pytest.raises(FeedError, match=r"did not send the whole feed within 0.5 s"):
        fetch(f"{base_url}/drip", QUICK)


def test_a_server_that_never_answers_is_cut_off(base_url: str) -> None:
    with pytest.raises(FeedError, match=r"did not answer within 0.5 s"):
        fetch(f"{base_url}/late-headers", QUICK)


def test_a_server_that_stalls_mid_body_is_cut_off(base_url: str) -> None:
    with pytest.raises(FeedError, match=r"did not send the whole feed within 0.5 s"):
        fetch(f"{base_url}/stall", QUICK)


def test_a_redirect_loop_is_named(base_url: str) -> None:
    with pytest.raises(FeedError, match="redirect loop: .*/loop-b redirects back to .*/loop-a"):
        fetch(f"{base_url}/loop-a")


def test_too_many_redirects_are_refused(base_url: str) -> None:
    with pytest.raises(FeedError, match="more than 3 redirects"):
        fetch(f"{base_url}/hop/0")


@pytest.mark.parametrize(("path", "scheme"), [("/to-file", "file"), ("/to-ftp", "ftp"), ("/to-javascript", "javascript")])
def test_a_redirect_to_another_scheme_is_refused(base_url: str, path: str, scheme: str) -> None:
    with pytest.raises(FeedError, match=f"redirects to {scheme}:.*not {scheme}: URLs"):
        fetch(f"{base_url}{path}")


def test_a_redirect_without_location_is_refused(base_url: str) -> None:
    with pytest.raises(FeedError, match="without a Location"):
        fetch(f"{base_url}/no-location")


# --- sources ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("ftp://127.0.0.1/feed.xml", "ftp"),
        ("data:application/rss+xml,<rss/>", "data"),
        ("javascript:alert(1)", "javascript"),
        ("feed://bakery.example/rss", "feed"),
        ("gopher://127.0.0.1/", "gopher"),
    ],
)
def test_a_non_http_source_is_refused_by_scheme(source: str, scheme: str) -> None:
    with pytest.raises(FeedError, match=f"only http and https feeds are fetched, not {scheme}: URLs"):
        fetch_feed(source)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(FeedError, match="no such file: .*missing.xml"):
        fetch_feed(str(FEEDS / "missing.xml"))


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(fixture("rss.xml") + b" " * SMALL)
    with pytest.raises(FeedError, match="larger than the feed size cap"):
        fetch_feed(str(path), max_bytes=SMALL)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "feed.fifo"
    os.mkfifo(fifo)
    with pytest.raises(FeedError, match="not a regular file"):
        fetch_feed(str(fifo))

