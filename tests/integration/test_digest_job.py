"""The DM digest end to end: the sandbox's DMs, DynamoDB Local, moto's SES, Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from devtools.xsandbox import Fault, World
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.adapters.store import Store
from flockpilot.events import DigestEvent
from flockpilot.jobs.digest import DigestSummary, run_digest
from flockpilot.runtime import digest_context
from tests.conftest import FakeClock
from tests.unit.test_digest_rules import HOSTILE

SENDER = "flockpilot@example.com"
FAN, SPAMMER, QUIET = "1700000000000000210", "1700000000000000211", "1700000000000000213"


@pytest.fixture
def mail(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, tmp_path: Path) -> Path:
    boto3.client("ses", region_name="us-east-1", endpoint_url=moto_endpoint).verify_email_identity(EmailAddress=SENDER)
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    monkeypatch.setenv("DIGEST_EMAIL", "owner@example.com")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    return tmp_path / "outbox"


def sent_messages(moto_endpoint: str) -> list[dict[str, Any]]:
    import requests

    return list(requests.get(f"{moto_endpoint}/moto-api/data.json", timeout=5).json()["ses"]["Message"])


def run(clock: FakeClock, **event: Any) -> DigestSummary:
    return run_digest(digest_context(clock=clock), DigestEvent(**event))


@pytest.fixture
def inbox(world: World) -> World:
    world.follow(OWNER_ID, FAN)  # FAN follows the owner already (seed): now mutual
    world.add_dm(FAN, OWNER_ID, "Loved your crumb shots! Which flour do you use?")
    world.add_dm(OWNER_ID, FAN, "Thanks! Stone-ground.")
    world.add_dm(SPAMMER, OWNER_ID, "Earn $500/day with crypto, DM me on telegram")
    world.add_dm(QUIET, OWNER_ID, "hello from Leeds")
    return world


def test_the_digest_is_sent_once_with_ranked_messages_and_reply_links(mail: Path, inbox: World, clock: FakeClock,
                                                                      moto_endpoint: str) -> None:
    before = len(sent_messages(moto_endpoint))
    summary = run(clock, trigger="schedule")
    assert summary.status == "sent" and summary.new_messages == 4
    assert (summary.worth_replying, summary.ignore) == (1, 2)
    html = Path(summary.outbox[0]).read_text()
    assert html.index("Loved your crumb shots") < html.index("Earn $500/day")
    assert "https://x.com/messages/compose?recipient_id=1700000000000000210&amp;text=Hi%20Baker" in html
    sent = sent_messages(moto_endpoint)[before:]
    assert len(sent) == 1 and sent[0]["subject"].startswith("Flockpilot Wed 25 Nov: 1 worth replying")


def test_retries_and_double_delivery_send_one_digest(mail: Path, inbox: World, clock: FakeClock, moto_endpoint: str) -> None:
    before = len(sent_messages(moto_endpoint))
    first = run(clock, trigger="schedule")
    second = run(clock, trigger="schedule")
    clock.advance(hours=3)
    third = run(clock, trigger="schedule")
    assert (first.status, second.status, third.status) == ("sent", "already-sent", "already-sent")
    assert len(sent_messages(moto_endpoint)) - before == 1
    clock.advance(days=1)
    assert run(clock, trigger="schedule").status == "sent"  # tomorrow is a new day


def test_a_failed_send_sends_nothing_half_done_and_can_be_rerun(mail: Path, inbox: World, clock: FakeClock,
                                                               monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> None:
    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.com")  # SES refuses an unverified sender
    failed = run(clock)
    assert failed.status == "failed" and any("not sent" in w for w in failed.warnings)
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    again = run(clock)
    assert again.status == "sent" and again.conversations == 3  # the messages were kept for the re-run
    assert again.new_messages == 0  # and not fetched (nor paid for) twice


def test_messages_are_never_fetched_twice(mail: Path, inbox: World, clock: FakeClock) -> None:
    run(clock, dry_run=True)
    inbox.add_dm(FAN, OWNER_ID, "One more thing?")
    clock.advance(days=1)
    summary = run(clock)
    assert summary.new_messages == 1
    # X has no since_id here: the first page is one event, the next two (one already known).
    assert inbox.bill()["by_operation"]["getDirectMessagesEvents"]["resources"] == 4 + 1 + 2


def test_dm_budget_stops_the_reading(mail: Path, inbox: World, clock: FakeClock, store: Store) -> None:
    store.add_spend(clock.now().date(), "digest", 100.0, 1)
    summary = run(clock, dry_run=True)
    assert summary.new_messages == 0 and any("budget" in w for w in summary.warnings)
    assert "getDirectMessagesEvents" not in inbox.bill()["by_operation"]


def test_rate_limit_stops_the_reading_and_the_digest_still_comes(mail: Path, inbox: World, clock: FakeClock) -> None:
    inbox.inject(Fault("429", "getDirectMessagesEvents", reset_in_seconds=900))
    summary = run(clock)
    assert summary.status == "sent" and summary.new_messages == 0
    assert any("stopped reading DMs" in w for w in summary.warnings)
    clock.advance(days=1)
    assert run(clock).new_messages == 4  # tomorrow picks them up


def test_preview_event_builds_without_sending(mail: Path, inbox: World, clock: FakeClock, moto_endpoint: str) -> None:
    before = len(sent_messages(moto_endpoint))
    summary = run(clock, dry_run=True)
    assert summary.status == "preview" and len(sent_messages(moto_endpoint)) == before
    assert run(clock).status == "sent"  # a preview does not use up the day


def test_digest_handler_rejects_a_malformed_event(mail: Path, inbox: World) -> None:
    from flockpilot.invoke import invoke_handler

    result = invoke_handler("digest", {"dry-run": True})
    assert result["status"] == "rejected" and "dry-run" in result["error"]


def _render(html_path: Path, width: int) -> dict[str, Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed for this test: apt-get install -y chromium (.ci/run does)"
    probe = html_path.with_name(f"probe-{width}.html")
    script = (
        "<script>window.addEventListener('load',()=>{const v=window.innerWidth;"
        "const wide=[...document.querySelectorAll('body *')].filter(e=>e.getBoundingClientRect().right>v+1).length;"
        "const heads=[...document.querySelectorAll('td')].map(t=>t.textContent.trim());"
        "const out=document.createElement('pre');out.id='probe';"
        "out.textContent=JSON.stringify({v,scroll:document.documentElement.scrollWidth,wide,heads});"
        "document.body.appendChild(out);});</script>"
    )
    probe.write_text(html_path.read_text().replace("</body>", script + "</body>"))
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={html_path.parent / f'chrome-{width}'}", f"--window-size={width},900",
         "--virtual-time-budget=3000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=90, check=True,
    ).stdout
    data = dom.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]
    return dict(json.loads(data.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")))


@pytest.mark.parametrize("width", [375, 1280])
def test_the_email_renders_in_chromium_without_overflow(mail: Path, inbox: World, clock: FakeClock, width: int) -> None:
    for text in HOSTILE:
        inbox.add_dm(SPAMMER, OWNER_ID, text)
    summary = run(clock, dry_run=True)
    result = _render(Path(summary.outbox[0]), width)
    assert result["scroll"] <= result["v"] and result["wide"] == 0, result
    from flockpilot.domain.digest_email import SECTIONS

    for section in SECTIONS:
        assert section in result["heads"]


def test_cli_preview_writes_the_html_and_sends_nothing(mail: Path, inbox: World, tmp_path: Path, moto_endpoint: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from flockpilot.cli import main

    before = len(sent_messages(moto_endpoint))
    out = tmp_path / "preview" / "today.html"
    assert main(["digest", "preview", "--out", str(out)]) == 0
    assert "<!DOCTYPE html>" in out.read_text() and out.with_suffix(".txt").exists()
    assert "nothing sent" in capsys.readouterr().out
    assert len(sent_messages(moto_endpoint)) == before
