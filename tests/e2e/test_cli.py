"""The flockpilot CLI against DynamoDB Local and moto."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devtools.xsandbox import World
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.cli import EXIT_CONFIG, EXIT_FAILED, main


def test_content_check_json_is_one_line_for_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "check", "Fresh bread https://example.com", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"weighted_length": 35, "valid": True}
    assert main(["content", "check", "x" * 281, "--json"]) == EXIT_FAILED
    assert json.loads(capsys.readouterr().out) == {"weighted_length": 281, "valid": False, "reason": "1 over X's limit of 280"}
    assert main(["content", "check", " ", "--json"]) == EXIT_FAILED
    assert json.loads(capsys.readouterr().out)["reason"] == "text is empty"


def test_import_is_all_or_nothing_and_names_every_bad_row(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "posts.csv"
    csv_file.write_text(
        "kind,text,url,tags,evergreen,cooldown_days\n"
        "quip,Bread is patience,,,true,7\n"
        f"quip,{'x' * 300},,,,\n"
        "article,Shaping,https://example.com/s,howto,,\n"
        "meme,nope,,,,\n"
    )
    assert main(["content", "import", str(csv_file)]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "imported nothing" in err and "line 3 (text)" in err and "line 5 (kind)" in err and "meme" in err
    assert DynamoContentPlans(OWNER_ID).list_content() == []
    good = tmp_path / "good.csv"
    good.write_bytes(b"\xef\xbb\xbfkind,text,url\nquip,Bread is patience,\narticle,Shaping,https://example.com/s\n")  # with a BOM
    assert main(["content", "import", str(good)]) == 0
    assert "2 added, 0 already there" in capsys.readouterr().out
    assert main(["content", "import", str(good)]) == 0
    assert "0 added, 2 already there" in capsys.readouterr().out


@pytest.mark.parametrize(("data", "named"), [
    (b"kind,text\nquip,caf\xe9 au lait\n", "UTF-8"),
    (b'kind,text\nquip,"never closed\n', "quote"),
    (b"", "header"),
])
def test_broken_files_are_refused_with_a_clear_error(env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     data: bytes, named: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(data)
    assert main(["content", "import", str(bad)]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert named.lower() in err.lower() and "Traceback" not in err
    assert DynamoContentPlans(OWNER_ID).list_content() == []

def test_add_refuses_an_over_long_item_with_its_length(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "add", "--kind", "quip", "--text", "日" * 141]) == EXIT_FAILED
    assert "weighted length 282" in capsys.readouterr().err


def test_bad_setting_is_a_configuration_error(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "set", "posts_per_day", "99"]) == EXIT_CONFIG
    assert "from 0 to 48" in capsys.readouterr().err


def test_contradictory_follow_filters_are_refused_naming_both(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "set", "follow_max_followers", "50000"]) == 0
    assert main(["settings", "set", "follow_min_followers", "100000"]) == EXIT_CONFIG
    assert "follow_min_followers (100000) is above follow_max_followers (50000): no account could pass" in capsys.readouterr().err
    assert main(["settings", "set", "follow_max_ratio", "1"]) == 0
    assert main(["settings", "set", "follow_min_ratio", "5"]) == EXIT_CONFIG
    assert "follow_min_ratio (5) is above follow_max_ratio (1)" in capsys.readouterr().err
    from flockpilot.adapters.dynamo.records import DynamoRecords

    assert "follow_min_followers" not in DynamoRecords(OWNER_ID).overrides()


def test_settings_set_then_show(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "set", "pitch_cap", "0"]) == 0
    assert main(["settings", "show"]) == 0
    assert "pitch_cap                  0                        (account)" in capsys.readouterr().out


def test_plan_preview_lists_slots_and_cost(env: dict[str, str], capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    # before the posting window opens (a preview later in the day covers only what is left of it)
    monkeypatch.setattr("flockpilot.cli._now", lambda: datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    main(["content", "add", "--kind", "quip", "--text", "Just one quip"])
    capsys.readouterr()
    assert main(["plan", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["stored"] is False and len(plan["slots"]) == 1 and plan["cost_usd"] == 0.015
    assert any("add content" in n for n in plan["notes"])


def test_plan_tells_past_slots_from_upcoming_ones(env: dict[str, str], capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, time, timedelta

    for i in range(3):
        main(["content", "add", "--kind", "quip", "--text", f"Quip {i} for the day"])
    capsys.readouterr()
    assert main(["run", "post", "--dry-run", "--event", "events/post-manual.json"]) == 0  # plans and stores the whole day
    day = json.loads(capsys.readouterr().out)["day"]
    late = datetime.combine(datetime.fromisoformat(day).date(), time(23, 59), tzinfo=UTC)  # TIME_ZONE is UTC here
    monkeypatch.setattr("flockpilot.cli._now", lambda: late)
    assert main(["plan", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["stored"] and plan["slots"] and {s["when"] for s in plan["slots"]} == {"past"}
    assert {s["status"] for s in plan["slots"]} == {"planned"}  # the field keeps its meaning: no state recorded
    assert main(["plan"]) == 0
    text = capsys.readouterr().out
    assert "missed" in text and " planned " not in text  # MODE is live here: past and never posted
    # The plan went live a minute after its last slot (a live run found the plan the dry run
    # made): the slots already more than catch_up_minutes (120) late then were no run's to post;
    # the last one a live run could still catch up: a miss.
    slots = sorted(datetime.fromisoformat(s["at"]) for s in plan["slots"])
    live_at = slots[-1] + timedelta(minutes=1)
    assert slots[0] + timedelta(minutes=120) < live_at, slots  # the day's slots span more than the catch-up window
    DynamoContentPlans(OWNER_ID).mark_plan_live(datetime.fromisoformat(day).date(), live_at)
    assert main(["plan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["live_from"] == str(live_at)
    assert main(["plan"]) == 0
    lines = {line.strip()[:5]: line for line in capsys.readouterr().out.splitlines() if re.match(r"  \d\d:\d\d ", line)}
    for at in slots:
        expected = "before live" if at + timedelta(minutes=120) < live_at else "missed"
        assert expected in lines[at.strftime("%H:%M")], (at, lines)
    assert "missed" in lines[slots[-1].strftime("%H:%M")] and "before live" in lines[slots[0].strftime("%H:%M")]


def test_run_post_dry_run_through_the_handler(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    main(["content", "add", "--kind", "quip", "--text", "Quip for the CLI run"])
    capsys.readouterr()
    assert main(["run", "post", "--dry-run", "--event", "events/post-manual.json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mode"] == "dry-run" and result["would_post"][0]["text"] == "Quip for the CLI run"


def test_run_prints_only_the_json_result_on_stdout(env: dict[str, str]) -> None:
    """In a fresh process (as a user runs it): logs go to stderr, stdout parses as one JSON document."""
    import os
    import subprocess
    import sys

    main(["content", "add", "--kind", "quip", "--text", "Quip for a fresh process"])
    command = [sys.executable, "-m", "flockpilot.cli", "run", "post", "--dry-run", "--event", "events/post-manual.json"]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # nothing but the result
    assert result["would_post"][0]["text"] == "Quip for a fresh process"
    assert '"run finished"' in done.stderr  # the log is still there, on stderr


@pytest.mark.parametrize(("content", "named"), [
    (None, "does not exist"),
    (b"{dry_run: true", "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[1, 2]", "JSON object"),
    (b'{"id": ' + b"9" * 5000 + b"}", "cannot be read as an event"),
])
def test_run_refuses_a_bad_event_file_naming_the_problem(env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         content: bytes | None, named: str) -> None:
    event = tmp_path / "event.json"
    if content is not None:
        event.write_bytes(content)
    for extra in ([], ["--dry-run"]):
        assert main(["run", "digest", "--event", str(event), *extra]) == 2
        err = capsys.readouterr().err
        assert named in err and "Traceback" not in err


def test_settings_refuse_unknown_names_and_bad_addresses(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "unset", "nope"]) == EXIT_CONFIG
    assert "unknown setting" in capsys.readouterr().err
    assert main(["settings", "set", "digest_email", "notanemail"]) == EXIT_CONFIG
    assert "email address" in capsys.readouterr().err
    assert main(["settings", "set", "follow_languages", "en,xx-!!"]) == EXIT_CONFIG
    assert "'xx-!!' is not a language code" in capsys.readouterr().err
    assert main(["settings", "set", "follow_languages", "en,pt-br"]) == 0
    assert main(["settings", "set", "digest_email", "me@example.com, partner@example.org"]) == 0
    assert main(["settings", "unset", "digest_email"]) == 0
    capsys.readouterr()
    from flockpilot.adapters.dynamo.records import DynamoRecords

    DynamoRecords(OWNER_ID).set_override("a_setting_a_later_release_renamed", 3)  # stops every run until it goes
    assert main(["settings", "unset", "a_setting_a_later_release_renamed"]) == 0
    assert "a_setting_a_later_release_renamed" not in DynamoRecords(OWNER_ID).overrides()
    assert main(["settings", "unset", "pitch_cap"]) == 0 and "already follows the deployment default" in capsys.readouterr().out


def test_unset_never_leaves_a_follow_filter_pair_crossed(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from flockpilot.adapters.dynamo.records import DynamoRecords

    assert main(["settings", "set", "follow_min_followers", "1"]) == 0
    assert main(["settings", "set", "follow_max_followers", "5"]) == 0  # 1 <= 5
    capsys.readouterr()
    assert main(["settings", "unset", "follow_min_followers"]) == 3  # back to the default 10: above 5
    assert "follow_min_followers (10) is above follow_max_followers (5)" in capsys.readouterr().err
    assert DynamoRecords(OWNER_ID).overrides()["follow_min_followers"] == 1  # nothing changed
    assert main(["settings", "unset", "follow_max_followers"]) == 0  # back to 50,000: fine


def test_sources_allow_and_status_work_against_the_table(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    from flockpilot.adapters.dynamo.records import DynamoRecords

    assert main(["sources", "add", "@breadnerd"]) == 0
    assert "added: @breadnerd" in capsys.readouterr().out
    spent = DynamoRecords(OWNER_ID).spend(date(2000, 1, 1), date(2100, 1, 1))
    assert sum(dict(d.by_job)["follow"] for d in spent.values()) == pytest.approx(0.01)  # the lookup is in the month's spend
    assert main(["sources", "add", "not a handle!"]) == 2
    assert main(["allow", "add", "1700000000000000210"]) == 0
    assert main(["allow", "add", "@breadnerd"]) == 0  # a handle costs a lookup, and says so
    assert "allowlisted: @breadnerd" in (said := capsys.readouterr().out) and "lookup cost $0.010" in said
    assert main(["allow", "list"]) == 0 and "1700000000000000210" in capsys.readouterr().out
    assert main(["run", "follow", "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["sources", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert [s["source"] for s in stats] == ["@breadnerd"] or "@breadnerd" in {s["source"] for s in stats}
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["username"] == "flockpilot_demo" and status["band"] == "inside" and status["last_runs"]["follow"]
    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert "{" not in text and "(@flockpilot_demo)" in text and "inside the band" in text and "last runs (UTC):" in text
    assert any(line.split()[:1] == ["follow"] and line.split()[-1] in ("ok", "partial") for line in text.splitlines())
    assert any(line.split() == ["digest", "never"] for line in text.splitlines())


def test_digest_preview_writes_the_html_and_sends_nothing(env: dict[str, str], tmp_path: Path, moto_endpoint: str,
                                                         capsys: pytest.CaptureFixture[str], world: World) -> None:
    from tests.e2e.conftest import sent_messages

    before = len(sent_messages(moto_endpoint))
    out = tmp_path / "preview" / "today.html"
    assert main(["digest", "preview", "--out", str(out)]) == 0
    assert "<!DOCTYPE html>" in out.read_text() and out.with_suffix(".txt").exists()
    said = capsys.readouterr().out
    assert "nothing sent" in said and f"X cost ${world.bill()['usd']:.3f}" in said  # what the DM read cost, said
    assert len(sent_messages(moto_endpoint)) == before
    assert main(["digest", "preview", "--out", str(tmp_path / "today.txt")]) == 2  # the .html is what --out names
    assert "give the .html file" in capsys.readouterr().err
    assert main(["digest", "preview", "--out", str(tmp_path)]) == 2  # a folder, not a file
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["digest", "preview", "--out", str(blocker / "today.html")]) == 2  # its folder cannot be made
    assert "cannot create the folder" in capsys.readouterr().err


# --- feeds and insights (issue: the learning loop) -------------------------------------------

def blog(entries: list[tuple[str, str]]) -> str:
    items = "".join(f"<item><guid>urn:b:{n}</guid><title>{t}</title><link>{link}</link></item>" for n, (t, link) in enumerate(entries))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>{items}</channel></rss>'


def test_import_feed_adds_once_skips_duplicates_and_names_rejected_entries(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "blog.xml"
    feed.write_text(blog([("Proofing in winter", "https://bakery.com/proofing"), ("Rye", "https://bakery.com/rye"),
                          ("Rye again", "https://bakery.com/rye?utm_source=rss"), ("Nowhere", "https://bakery.invalid/x")]))
    assert main(["content", "import-feed", str(feed), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"added": 2, "skipped": 1, "rejected": 1}
    assert "Nowhere" in err and "bakery.invalid" in err  # the rejected entry, named with the reason
    assert main(["content", "import-feed", str(feed), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"added": 0, "skipped": 3, "rejected": 1}
    items = DynamoContentPlans(OWNER_ID).list_content()
    assert sorted(i.url or "" for i in items) == ["https://bakery.com/proofing", "https://bakery.com/rye"]
    assert all(i.kind == "article" for i in items)


@pytest.mark.parametrize("name", ["not-well-formed.xml", "billion-laughs.xml", "external-entity.xml", "page.html"])
def test_a_hostile_feed_is_refused_with_a_clear_error_and_nothing_written(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    source = Path(__file__).resolve().parents[1] / "data" / "feeds" / name
    assert main(["content", "import-feed", str(source), "--json"]) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and "Traceback" not in err
    assert DynamoContentPlans(OWNER_ID).list_content() == []
    assert main(["feeds", "add", source.as_uri()]) != 0  # not http(s): refused before any read
    assert DynamoContentPlans(OWNER_ID).feeds() == []


def test_feeds_add_list_remove_over_http(env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    (tmp_path / "feed.xml").write_text(blog([("Proofing in winter", "https://bakery.com/proofing")]))
    (tmp_path / "broken.xml").write_text("<rss><channel><item>")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert main(["feeds", "add", f"{base}/broken.xml"]) == EXIT_FAILED
        assert "error:" in capsys.readouterr().err
        assert main(["feeds", "add", f"{base}/feed.xml"]) == 0
        assert "registered (1 entries now)" in capsys.readouterr().out
        assert main(["feeds", "list"]) == 0
        listed = capsys.readouterr().out
        assert f"{base}/feed.xml" in listed and "not checked yet" in listed and "broken" not in listed
        assert main(["feeds", "remove", f"{base}/feed.xml"]) == 0
        assert DynamoContentPlans(OWNER_ID).feeds() == []
    finally:
        server.shutdown()
        server.server_close()


def test_insights_json_and_text(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "--json"]) == 0
    week = json.loads(capsys.readouterr().out)
    assert week["posts_measured"] == 0 and week["top_posts"] == [] and week["retired"] == []
    assert main(["insights"]) == 0
    assert "No results yet" in capsys.readouterr().out


def test_content_list_shows_results_and_why_an_item_was_retired(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from flockpilot.domain.content import ItemStatus, Learning, new_item

    plans = DynamoContentPlans(OWNER_ID)
    now = datetime.now(UTC)
    good = new_item(kind="quip", text="Crust is a promise", now=now, evergreen=True, cooldown_days=7)
    poor = new_item(kind="quip", text="Bread puns, again", now=now, evergreen=True, cooldown_days=7)
    plans.add_content(replace(good, learning=Learning(measured=4, impressions=4000, engagements=200)))
    reason = "retired: 0.60% engagement per impression over 2 posts (hour-adjusted), against 4.00% for your typical item"
    plans.add_content(replace(poor, status=ItemStatus.RETIRED,
                              learning=Learning(measured=2, impressions=2000, engagements=12, rests=1, retired_reason=reason)))
    assert main(["content", "list"]) == 0
    out = capsys.readouterr().out
    assert "5.0% over 4" in out and "0.6% over 2" in out and reason in out
    assert main(["content", "list", "--json"]) == 0
    listed = {i["text"]: i for i in json.loads(capsys.readouterr().out)}
    assert listed["Bread puns, again"]["status"] == "retired"
    assert listed["Bread puns, again"]["learning"]["retired_reason"] == reason


def test_a_dry_source_added_again_is_read_on_from_where_it_stopped(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """After changing the filters, `sources add` of a source set aside as dry takes it back: its
    count starts over and its cursor stays (removed and added, it would read again the very
    followers it was judged on, all known by then, and be set aside again)."""
    from flockpilot.adapters.dynamo.ledger import DynamoLedger

    assert main(["sources", "add", "@breadnerd"]) == 0
    ledger = DynamoLedger(OWNER_ID)
    (source,) = ledger.sources()
    ledger.advance_source(source.source_id, cursor="7000000000000000001", exhausted=False, read=200, suggested=1)
    assert ledger.sources()[0].dry
    capsys.readouterr()
    assert main(["sources", "list"]) == 0
    assert "dry" in capsys.readouterr().out
    assert main(["sources", "add", "@breadnerd"]) == 0
    assert "taken back: @breadnerd" in capsys.readouterr().out
    (back,) = ledger.sources()
    assert not back.dry and (back.cursor, back.read, back.suggested) == ("7000000000000000001", 0, 0)
    assert main(["sources", "add", "@breadnerd"]) == 0
    assert "already a source: @breadnerd" in capsys.readouterr().out


def test_a_reply_template_the_drafts_cannot_use_is_refused(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from flockpilot.adapters.dynamo.records import DynamoRecords

    for template, named in (("Hi {name}, thanks!", "{name}"), ("Hi {first_name} :-}", "}"),
                            ("Hi {first_name.upper}", "{first_name.upper}"), ("Hi {0}", "{0}")):
        assert main(["settings", "set", "digest_reply_template", template]) == EXIT_CONFIG
        err = capsys.readouterr().err
        assert named in err and "{first_name}, {username} and {invite}" in err and "Traceback" not in err
    assert "digest_reply_template" not in DynamoRecords(OWNER_ID).overrides()
    assert main(["settings", "set", "digest_reply_template", "Hey {first_name} (@{username}), {{thanks}}! {invite}"]) == 0


def test_a_dry_source_removed_and_added_again_is_read_on_from_where_it_stopped(env: dict[str, str],
                                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`sources remove` then `sources add` of a dry source: as a take-back (count over, cursor
    kept), not a new source reading again the followers it was judged on."""
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.domain.follow import Source, SourceKind

    assert main(["sources", "add", "@breadnerd"]) == 0
    ledger = DynamoLedger(OWNER_ID)
    (source,) = ledger.sources()
    ledger.advance_source(source.source_id, cursor="7000000000000000001", exhausted=False, read=200, suggested=1)
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as busy:  # the source keeps changing under the removal: it says so, exit 1
        busy.setattr(DynamoLedger, "remove_source", lambda self, source_id, *, now: False)
        assert main(["sources", "remove", "@breadnerd"]) == EXIT_FAILED
        said = capsys.readouterr()
        assert "could not be removed" in said.err and "removed @" not in said.out
    assert main(["sources", "remove", "@breadnerd"]) == 0
    assert "removed @breadnerd (where its reading stopped is kept for 180 days" in capsys.readouterr().out
    assert ledger.sources() == []
    assert main(["sources", "add", "@breadnerd"]) == 0
    assert "added back: @breadnerd" in capsys.readouterr().out
    (back,) = ledger.sources()
    assert not back.dry and (back.cursor, back.read, back.suggested) == ("7000000000000000001", 0, 0)
    for i in range(3):  # your own followers as sources: the list says how many of the 30 places are read
        ledger.add_source(Source(f"180000000000000000{i}", SourceKind.MY_FOLLOWER, f"@fan{i}", back.added_at,
                                 read=200 if i == 0 else 0))
    assert main(["sources", "list"]) == 0
    assert "your followers: 2 of at most 30 read as sources" in capsys.readouterr().out
