"""The follow job against the sandbox's follower graph and DynamoDB Local."""

from __future__ import annotations

import pytest

from devtools.xsandbox import World
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.adapters.store import FollowLedger, Store
from flockpilot.events import FollowEvent
from flockpilot.jobs.follow import FollowSummary, run_follow
from flockpilot.runtime import follow_context
from tests.conftest import FakeClock

PEERS = {"1700000000000000100": "@breadnerd", "1700000000000000101": "@smallbizdaily", "1700000000000000102": "@ovenspring"}


def run(clock: FakeClock, **event: object) -> FollowSummary:
    return run_follow(follow_context(clock=clock), FollowEvent(**event))  # type: ignore[arg-type]


@pytest.fixture
def ledger(env: dict[str, str], store: Store, world: World, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> FollowLedger:
    # Give the account room in the band: 40 followers, following 3.
    for i in range(40):
        uid = f"18000000000000000{i:02d}"
        from devtools.xsandbox.world import User

        world.add_user(User(uid, f"fan{i}", f"Fan {i}"))
        world.follow(uid, OWNER_ID)
    monkeypatch.setenv("FOLLOW_USE_MY_FOLLOWERS", "false")
    monkeypatch.setenv("FOLLOW_USE_MENTIONS", "false")
    monkeypatch.setenv("ACTIVE_HOURS", "07:00-22:00")
    led = FollowLedger(OWNER_ID)
    for uid, label in PEERS.items():
        led.add_source(uid, "account", label, clock.now())
    return led


def test_suggest_mode_shortlists_with_links_and_writes_nothing_to_x(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    summary = run(clock, max=5)
    assert 1 <= len(summary.shortlisted) <= 5
    s = summary.shortlisted[0]
    assert s.follow_url == f"https://x.com/intent/follow?screen_name={s.username}"
    assert s.profile_url == f"https://x.com/{s.username}"
    assert "followUser" not in world.bill()["by_operation"]
    assert {p.user_id for p in ledger.people("suggested")} == {s.user_id for s in summary.shortlisted}
    assert summary.cost_per_shortlisted_usd and summary.cost_per_shortlisted_usd > 0


def test_cursors_resume_across_days_and_nobody_is_read_twice(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    for _ in range(4):
        run(clock, max=4)
        clock.advance(days=1)
    # Within a source the cursor never serves anyone twice; across sources one person can
    # follow two of them (you follow all three peers, for one), which no cursor can avoid.
    per_source = {key: ids for key, ids in world.served_users.items() if key.split(":")[1] in PEERS}
    assert sum(len(ids) for ids in per_source.values()) >= 10
    for ids in per_source.values():
        assert len(ids) == len(set(ids))
    assert any(row.cursor or row.exhausted for row in ledger.sources())


def test_screened_out_people_are_recorded_with_the_reason(ledger: FollowLedger, clock: FakeClock) -> None:
    summary = run(clock, max=10)
    assert summary.screened_out > 0
    assert sum(summary.reasons_out.values()) == summary.screened_out
    assert "no post in 30 days" in summary.reasons_out or "empty bio" in summary.reasons_out


def test_follows_done_by_hand_are_detected_and_credited(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    first = run(clock, max=3)
    picked = first.shortlisted[0]
    world.follow(OWNER_ID, picked.user_id)  # the person taps the follow link
    clock.advance(days=1)
    second = run(clock, max=0)
    assert picked.user_id in second.followed_by_hand
    person = ledger.people_by_id([picked.user_id])[picked.user_id]
    assert person.status == "followed" and not person.by_api
    source = next(r for r in ledger.sources() if r.source_id == person.source_id)
    assert int(source.followed) == 1


def test_follow_backs_feed_the_source_rate(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    first = run(clock, max=6)
    for s in first.shortlisted:
        world.follow(OWNER_ID, s.user_id)
    clock.advance(days=1)
    run(clock, max=0)  # sync: followed by hand
    backs = world.settle(OWNER_ID)
    clock.advance(days=1)
    third = run(clock, max=0)
    assert sorted(third.follow_backs) == sorted(backs)
    credited = sum(int(r.followed_back or 0) for r in ledger.sources())
    assert credited == len(backs)


def test_api_mode_paces_follows_over_the_day(ledger: FollowLedger, clock: FakeClock, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.follow_permitted = True
    monkeypatch.setenv("FOLLOW_MODE", "api")
    monkeypatch.setenv("MONTHLY_BUDGET_USD", "200")
    clock.advance(hours=1)  # 08:00 UTC, 14 active hours left
    first = run(clock, max=None)
    assert first.shortlisted
    assert 0 < len(first.followed) < len(first.shortlisted)
    made = len(first.followed)
    while clock.now().hour < 22:
        clock.advance(hours=1)
        made += len(run(clock).followed)
    assert made == len(first.shortlisted)
    assert world.bill()["by_operation"]["followUser"]["requests"] == made


def test_api_mode_never_passes_50_follows_in_15_minutes(ledger: FollowLedger, clock: FakeClock, world: World,
                                                        monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    world.follow_permitted = True
    monkeypatch.setenv("FOLLOW_MODE", "api")
    monkeypatch.setenv("FOLLOW_DAILY_CAP", "400")
    monkeypatch.setenv("MONTHLY_BUDGET_USD", "10000")
    monkeypatch.setenv("FOLLOW_MIN_FOLLOWERS", "0")
    monkeypatch.setenv("FOLLOW_SKIP_EMPTY_BIO", "false")
    monkeypatch.setenv("FOLLOW_ACTIVE_DAYS", "3650")
    monkeypatch.setenv("X_TIMEOUT_SECONDS", "20")
    for i in range(200):  # a big source, and room in the band
        from devtools.xsandbox.world import User

        uid = f"19000000000000{i:05d}"
        world.add_user(User(uid, f"crowd{i}", "Crowd", description="bread", follow_back=0.5,
                            profile_image_url="https://pbs.twimg.com/p.jpg"))
        world.follow(uid, "1700000000000000100")
        world.follow(uid, OWNER_ID)
        world.add_post(uid, "hi")
    clock.advance(hours=14, minutes=50)  # 21:50: one run left, so everything is due now
    total = 0
    for _ in range(3):  # the console fires it three times in a minute
        total += len(run(clock, sync=False).followed)
        clock.advance(minutes=1)
    assert total <= 50


def test_api_mode_403_switches_to_suggest_without_retrying(ledger: FollowLedger, clock: FakeClock, world: World,
                                                          monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    monkeypatch.setenv("FOLLOW_MODE", "api")  # the sandbox, like self-serve X, refuses follows
    clock.advance(hours=14, minutes=50)
    summary = run(clock)
    assert any("switched to suggest" in w for w in summary.warnings)
    assert world.bill()["by_operation"]["followUser"]["requests"] == 1
    assert store.overrides()["follow_mode"] == "suggest"
    assert all(p.status == "suggested" for p in ledger.people() if p.status != "reserve")


def test_dry_run_writes_nothing_to_x(ledger: FollowLedger, clock: FakeClock, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.follow_permitted = True
    monkeypatch.setenv("FOLLOW_MODE", "api")
    clock.advance(hours=14, minutes=50)
    summary = run(clock, mode="dry-run")
    assert "dry-run" in summary.mode and summary.followed
    assert "followUser" not in world.bill()["by_operation"]
    assert list(world.following[OWNER_ID]) == list(PEERS)[::-1] or len(world.following[OWNER_ID]) == 3


def test_the_days_budget_stops_the_run(ledger: FollowLedger, clock: FakeClock, world: World, store: Store) -> None:
    store.add_spend(clock.now().date(), "follow", 100.0, 1)  # today's follow money is spent
    summary = run(clock, max=20)
    assert any("budget" in w for w in summary.warnings)
    assert summary.cost["requests"] == 0 and world.bill()["requests"] == 0


def test_no_follows_outside_the_band(ledger: FollowLedger, clock: FakeClock, world: World) -> None:
    for uid in list(world.users)[:60]:
        if uid != OWNER_ID:
            world.follow(OWNER_ID, uid)  # following far above followers
    summary = run(clock)
    assert summary.budget == 0 and summary.shortlisted == []
    assert any("band" in w for w in summary.warnings)


def test_follow_handler_takes_the_console_event(ledger: FollowLedger, load_event: object, world: World) -> None:
    from flockpilot.invoke import invoke_handler

    result = invoke_handler("follow", load_event("follow-manual.json"))  # type: ignore[operator]
    assert result["status"] == "ok" and "dry-run" in result["mode"]
    assert len(result["shortlisted"]) <= 5
    assert "followUser" not in world.bill()["by_operation"]


def test_follow_handler_rejects_a_malformed_event(ledger: FollowLedger, world: World) -> None:
    from flockpilot.invoke import invoke_handler

    result = invoke_handler("follow", {"mode": "aggressive"})
    assert result["status"] == "rejected" and "mode" in result["error"]
    assert world.bill()["requests"] == 0


def test_sources_stats_shows_per_source_figures(ledger: FollowLedger, clock: FakeClock, world: World,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from flockpilot.cli import main

    first = run(clock, max=4)
    for s in first.shortlisted:
        world.follow(OWNER_ID, s.user_id)
    clock.advance(days=1)
    run(clock, max=0)
    capsys.readouterr()
    assert main(["sources", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert sum(s["followed"] for s in stats) == len(first.shortlisted)
    assert {s["source"] for s in stats} >= set(PEERS.values())
