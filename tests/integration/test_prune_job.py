"""The prune job against the sandbox and DynamoDB Local."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devtools.xsandbox import World
from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.adapters.store import FollowLedger, Person, Store
from flockpilot.events import PruneEvent
from flockpilot.jobs.prune import PruneSummary, run_prune
from flockpilot.runtime import prune_context
from tests.conftest import FakeClock

_SERVERS: dict[int, str] = {}


def world_base_url(world: World) -> str:
    return _SERVERS[id(world)]


def uid(i: int) -> str:
    return f"16000000000000{i:05d}"


def run(clock: FakeClock, remaining: object = None, **event: object) -> PruneSummary:
    return run_prune(prune_context(clock=clock, remaining_seconds=remaining), PruneEvent(**event))  # type: ignore[arg-type]


@pytest.fixture
def ledger(env: dict[str, str], store: Store, world: World, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> FollowLedger:
    _SERVERS[id(world)] = env["X_API_BASE_URL"]
    """You follow 30 people through Flockpilot, followed 1..30 days ago; every third follows back.
    200 followers keep the account inside the band."""
    led = FollowLedger(OWNER_ID)
    for i in range(200):
        world.add_user(User(uid(50_000 + i), f"fan{i}", "Fan"))
        world.follow(uid(50_000 + i), OWNER_ID)
    for i in range(1, 31):
        world.add_user(User(uid(i), f"p{i}", f"P {i}"))
        world.follow(OWNER_ID, uid(i))
        if i % 3 == 0:
            world.follow(uid(i), OWNER_ID)
        led.add_person(Person(uid(i), f"p{i}", "followed", "src", 0.5, (), None, followed_at=clock.now() - timedelta(days=i)))
    monkeypatch.setenv("PRUNE_DAILY_CAP", "100")
    monkeypatch.setenv("MONTHLY_BUDGET_USD", "300")
    return led


def test_suggests_only_non_followers_past_the_grace_period(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    summary = run(clock, reconcile=False)
    suggested = {s.user_id for s in summary.suggested}
    expected = {uid(i) for i in range(7, 31) if i % 3}
    assert suggested == expected
    assert summary.kept["inside the grace period"] == 6 - 2  # 1..6, minus 3 and 6 who follow back (found by sync)
    assert "unfollowUser" not in world.bill()["by_operation"]
    assert all(s.profile_url == f"https://x.com/{s.username}" for s in summary.suggested)


def test_follow_back_check_reads_only_people_past_grace(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    summary = run(clock, reconcile=False)
    assert world.bill()["by_operation"]["getUsersByIds"]["resources"] == summary.checked <= 24


def test_follow_back_checks_beyond_the_days_budget_wait_for_tomorrow(ledger: FollowLedger, clock: FakeClock,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONTHLY_BUDGET_USD", "60")  # prune's day: $0.20, checks are $0.01 each
    summary = run(clock, reconcile=False)
    assert 0 < summary.checked < 24
    assert any("wait for tomorrow" in w for w in summary.warnings)
    assert [s.user_id for s in summary.suggested][0] == uid(29)  # the oldest were checked first


def test_allowlist_and_dm_correspondents_are_protected(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    ledger.allow(uid(10), "p10", "you", clock.now())
    world.add_dm(uid(11), OWNER_ID, "hi!")
    from flockpilot.events import DigestEvent
    from flockpilot.jobs.digest import run_digest
    from flockpilot.runtime import digest_context

    run_digest(digest_context(clock=clock), DigestEvent(dry_run=True))  # stores the DM conversation
    summary = run(clock, reconcile=False)
    suggested = {s.user_id for s in summary.suggested}
    assert uid(10) not in suggested and uid(11) not in suggested
    assert summary.kept["on the allowlist"] >= 2


def test_outside_follows_are_never_touched(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    world.add_user(User(uid(900), "celebrity", "Celebrity"))
    world.follow(OWNER_ID, uid(900))  # followed by hand, long ago, never follows back
    summary = run(clock)
    assert uid(900) not in {s.user_id for s in summary.suggested}


def test_unfollows_done_by_hand_are_detected(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    first = run(clock, reconcile=False)
    gone = first.suggested[0]
    world.unfollow(OWNER_ID, gone.user_id)  # the person taps unfollow on x.com
    clock.advance(days=1)
    second = run(clock, reconcile=False)
    assert gone.username in second.unfollowed_by_hand
    assert ledger.people_by_id([gone.user_id])[gone.user_id].status == "unfollowed"
    assert gone.user_id not in {s.user_id for s in second.suggested}


def test_band_is_restored_oldest_non_followers_first(ledger: FollowLedger, clock: FakeClock, world: World,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(200):
        world.unfollow(uid(50_000 + i), OWNER_ID)  # followers drop to 10: far below following
    monkeypatch.setenv("PRUNE_DAILY_CAP", "3")
    summary = run(clock, reconcile=False)
    assert summary.band_excess > 3
    ids = [s.user_id for s in summary.suggested]
    assert ids[0] == uid(29) and len(ids) == len({uid(i) for i in range(7, 31) if i % 3})
    assert all("restores the 10% band" in s.why for s in summary.suggested)


def test_api_mode_unfollows_at_most_50_per_15_minutes(ledger: FollowLedger, clock: FakeClock, world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    world.follow_permitted = True
    monkeypatch.setenv("PRUNE_MODE", "api")
    monkeypatch.setenv("MONTHLY_BUDGET_USD", "1000")
    for i in range(100, 180):
        world.add_user(User(uid(i), f"q{i}", "Q"))
        world.follow(OWNER_ID, uid(i))
        ledger.add_person(Person(uid(i), f"q{i}", "followed", "src", 0.5, (), None, followed_at=clock.now() - timedelta(days=40)))
    for i in range(200, 400):  # enough followers that the churn guard sees a normal ratio
        ledger.add_person(Person(uid(i), f"r{i}", "followed_back", "src", 0.5, (), None, followed_at=clock.now() - timedelta(days=5)))
    first = run(clock, reconcile=False)
    assert len(first.unfollowed) == 50
    assert run(clock, reconcile=False).unfollowed == []  # same 15 minutes
    clock.advance(minutes=16)
    third = run(clock, reconcile=False)
    assert len(third.unfollowed) > 0, third.warnings
    assert world.bill()["by_operation"]["unfollowUser"]["requests"] <= 100


def test_api_mode_403_switches_to_suggest(ledger: FollowLedger, clock: FakeClock, world: World,
                                         monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    monkeypatch.setenv("PRUNE_MODE", "api")
    for i in range(200, 400):
        ledger.add_person(Person(uid(i), f"r{i}", "followed_back", "src", 0.5, (), None, followed_at=clock.now() - timedelta(days=5)))
    summary = run(clock, reconcile=False)
    assert any("switched to suggest" in w for w in summary.warnings)
    assert world.bill()["by_operation"]["unfollowUser"]["requests"] == 1
    assert store.overrides()["prune_mode"] == "suggest"


def test_churn_guard_pauses_api_unfollows(ledger: FollowLedger, clock: FakeClock, world: World,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    world.follow_permitted = True
    monkeypatch.setenv("PRUNE_MODE", "api")
    for i in range(500, 540):  # forty follows undone within days: churn
        ledger.add_person(Person(uid(i), f"c{i}", "followed", "src", 0.5, (), None, followed_at=clock.now() - timedelta(days=6)))
        ledger.set_status(uid(i), "unfollowed", clock.now() - timedelta(days=1))
    summary = run(clock, reconcile=False)
    assert summary.churn["paused"] is True
    assert any("churn guard" in w for w in summary.warnings)
    assert "unfollowUser" not in world.bill()["by_operation"] and summary.suggested


def test_dry_run_writes_nothing(ledger: FollowLedger, clock: FakeClock, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.follow_permitted = True
    monkeypatch.setenv("PRUNE_MODE", "api")
    for i in range(200, 400):
        ledger.add_person(Person(uid(i), f"r{i}", "followed_back", "src", 0.5, (), None, followed_at=clock.now() - timedelta(days=5)))
    summary = run(clock, mode="dry-run", reconcile=False)
    assert summary.unfollowed and "unfollowUser" not in world.bill()["by_operation"]
    assert all(p.status != "unfollowed" for p in ledger.people())


def test_prune_suggestions_reach_the_digest(ledger: FollowLedger, clock: FakeClock, env: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from pathlib import Path

    from flockpilot.events import DigestEvent
    from flockpilot.jobs.digest import run_digest
    from flockpilot.runtime import digest_context

    run(clock, reconcile=False)
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path))
    summary = run_digest(digest_context(clock=clock), DigestEvent(dry_run=True))
    html = Path(summary.outbox[0]).read_text()
    assert "@p29" in html and "has not followed back" in html


def test_full_reconciliation_of_100k_following_resumes_across_runs(ledger: FollowLedger, clock: FakeClock,
                                                                  world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILE_MONTHLY_USD", "1000")
    monkeypatch.setenv("X_TIMEOUT_SECONDS", "30")
    for i in range(100_000):
        world.following[OWNER_ID].append(str(10**18 + i))  # followed outside Flockpilot
        world.users[str(10**18 + i)] = User(str(10**18 + i), f"x{i}", "X")
    calls = {"n": 0}

    def remaining() -> float:  # each invocation has time for about 30 pages
        calls["n"] += 1
        return 100.0 if calls["n"] % 31 else 5.0

    states = []
    for _ in range(6):
        summary = run(clock, remaining=remaining, max=0)
        states.append(summary.reconciliation["following"])
        calls["n"] = 0
        if states[-1]["state"] == "finished":
            break
        clock.advance(hours=1)
    assert [s["state"] for s in states][:-1] == ["paused: Lambda time"] * (len(states) - 1)
    assert states[-1]["state"] == "finished" and len(states) >= 3
    assert states[-1]["read_total"] == len(world.following[OWNER_ID])
    assert all(s["pages"] <= 31 for s in states)
    assert not any(code == 429 for _, _, code in world.requests_log)
    assert {p.status for p in ledger.people()} <= {"followed", "followed_back", "prune_suggested"}


def test_prune_handler_and_cli_status(ledger: FollowLedger, load_event: object, world: World,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from flockpilot.cli import main
    from flockpilot.invoke import invoke_handler

    result = invoke_handler("prune", load_event("prune-manual.json"))  # type: ignore[operator]
    assert result["status"] == "ok" and "dry-run" in result["mode"] and len(result["suggested"]) <= 5
    assert invoke_handler("prune", {"grace": 1})["status"] == "rejected"
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["followers"] == len(world.followers_of(OWNER_ID)) and status["band"] == "inside"
    assert status["last_runs"]["prune"]


def test_allow_cli_protects_by_id(ledger: FollowLedger, clock: FakeClock, capsys: pytest.CaptureFixture[str]) -> None:
    from flockpilot.cli import main

    assert main(["allow", "add", uid(20)]) == 0
    summary = run(clock, reconcile=False)
    assert uid(20) not in {s.user_id for s in summary.suggested}
    assert main(["allow", "remove", uid(20)]) == 0 and main(["allow", "list"]) == 0


def test_incremental_follower_sync_stops_at_the_first_known_follower(ledger: FollowLedger, clock: FakeClock,
                                                                     world: World) -> None:
    from flockpilot.adapters.secrets import XCredentials
    from flockpilot.adapters.x import XClient
    from flockpilot.domain.cost import CostMeter
    from flockpilot.jobs.sync import sync_newest
    from tests.integration.conftest import DEMO_CREDENTIALS

    x = XClient(XCredentials(**DEMO_CREDENTIALS), meter=CostMeter(), clock=clock,
                base_url=world_base_url(world))
    first = sync_newest(ledger, "followers", lambda n, t: x.followers_page(x.user_id, max_results=n, token=t), clock.now())
    assert first.pages == 1 and len(first.new_ids) == 20  # the first sync reads one page and starts there
    world.add_user(User(uid(777), "newfan", "New Fan"))
    world.follow(uid(777), OWNER_ID)
    second = sync_newest(ledger, "followers", lambda n, t: x.followers_page(x.user_id, max_results=n, token=t), clock.now())
    assert second.new_ids == [uid(777)] and second.reached_frontier and second.pages == 1
    assert x.meter.by_operation["own_followers"].resources == 20 + 5  # later syncs start with a page of five
