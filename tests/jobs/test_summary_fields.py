"""Fields every job's summary shares, so a script can read any job's run the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flockpilot.jobs.skeleton import RunSummary
from tests.jobs.conftest import Harness

JOBS: dict[str, Callable[[Harness], RunSummary]] = {
    "post": lambda h: h.post(),
    "follow": lambda h: h.follow(),
    "prune": lambda h: h.prune(),
    "digest": lambda h: h.digest(dry_run=True),
}


@pytest.mark.parametrize("job", sorted(JOBS))
def test_cost_usd_is_a_float_even_when_nothing_was_spent(h: Harness, job: str) -> None:
    h.at_local(7, 0)  # before the window: the post run has nothing to do and meters nothing
    body: dict[str, Any] = JOBS[job](h).to_json()
    assert type(body["cost"]["usd"]) is float, body["cost"]
    h.stock()
    h.at_local(12, 0)
    again: dict[str, Any] = JOBS[job](h).to_json()
    assert type(again["cost"]["usd"]) is float, again["cost"]
    assert all(type(op["usd"]) is float for op in again["cost"]["by_operation"].values())


PREVIEWS: dict[str, tuple[Callable[[Harness], RunSummary], Callable[[Harness], RunSummary]]] = {
    # job: (a run that acts for real on a live account, the same run as a console preview)
    "post": (lambda h: h.post(publish_next=True, max_posts=1), lambda h: h.post(dry_run=True, publish_next=True)),
    "follow": (lambda h: h.follow(), lambda h: h.follow(mode="dry-run")),
    "prune": (lambda h: h.prune(), lambda h: h.prune(mode="dry-run")),
    "digest": (lambda h: h.digest(), lambda h: h.digest(dry_run=True)),
}


@pytest.mark.parametrize("job", sorted(PREVIEWS))
def test_every_summary_says_dry_run_as_one_boolean(h: Harness, job: str) -> None:
    h.stock()
    h.at_local(12, 0)
    real, preview = PREVIEWS[job]
    acted, previewed = real(h).to_json(), preview(h).to_json()
    assert acted["dry_run"] is False and previewed["dry_run"] is True, (acted["mode"], previewed["mode"])
    h.env["MODE"] = "dry-run"  # the account's own dry-run mode: nothing goes to X, but the digest still mails
    in_dry_mode = real(h).to_json()
    assert in_dry_mode["dry_run"] is (job != "digest"), in_dry_mode["mode"]
    for body in (acted, previewed, in_dry_mode):  # the flag agrees with the mode text scripts read before
        assert body["dry_run"] is (body["mode"] in ("dry-run", "preview") or body["mode"].endswith("(dry-run)")), body["mode"]


@pytest.mark.parametrize("job", sorted(JOBS))
def test_every_summary_names_the_accounts_time_zone(h: Harness, zone: str, job: str) -> None:
    h.stock()
    h.at_local(12, 0)
    body = JOBS[job](h).to_json()
    assert body["time_zone"] == zone and body["day"] == h.clock.now().astimezone(h.zone).date().isoformat()


@pytest.mark.parametrize("job", sorted(JOBS))
def test_every_summary_gives_its_start_on_the_accounts_clock_too(h: Harness, job: str) -> None:
    from datetime import datetime

    h.stock()
    h.at_local(12, 30)
    body = JOBS[job](h).to_json()
    started, local = datetime.fromisoformat(body["started_at"]), datetime.fromisoformat(body["started_at_local"])
    assert local == started and local.utcoffset() == started.astimezone(h.zone).utcoffset()
    assert (local.hour, local.minute) == (12, 30)  # the account's 12:30, in UTC, Tokyo or Los Angeles
    keys = list(body)
    assert keys[keys.index("started_at") + 1] == "started_at_local"  # beside it; every other field as it was


def test_post_slot_times_are_also_given_on_the_accounts_clock(h: Harness) -> None:
    from datetime import datetime

    h.stock()
    h.at_local(9, 0)
    planned = h.post(dry_run=True).to_json()
    published = h.post(publish_next=True, max_posts=2).to_json()
    h.at_local(13, 0)
    due = h.post(dry_run=True).to_json()
    entries = planned["upcoming"] + published["posted"] + due["would_post"]
    assert planned["upcoming"] and published["posted"] and due["would_post"]
    for entry in entries:
        at, local = datetime.fromisoformat(entry["at"]), datetime.fromisoformat(entry["at_local"])
        assert local == at and local.utcoffset() == at.astimezone(h.zone).utcoffset(), entry
        assert 8 <= local.hour < 22, entry  # the posting window is the account's hours, whatever the zone


def test_the_follow_budget_is_people_and_says_so(h: Harness) -> None:
    h.at_local(12, 0)
    body = h.follow().to_json()
    assert body["people_budget"] == body["budget"] > 0 and isinstance(body["people_budget"], int)
