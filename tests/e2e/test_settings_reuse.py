"""Settings read once per active post tick: a scheduled tick that has nothing to do runs on
the settings its container read within the hour (runtime.Wiring); a tick with something to
do reads them afresh, so a change made meanwhile applies to the next post. Through the
composition root Lambda uses, on DynamoDB Local and the X sandbox over HTTP, in three zones."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import World
from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.adapters.dynamo.records import DynamoRecords
from flockpilot.domain.content import new_item
from flockpilot.events import PostEvent
from flockpilot.jobs.post import QUIET_MARGIN, PostSummary, nothing_due, run_post
from flockpilot.runtime import SETTINGS_REUSE, Wiring, post_deps, wire
from tests.conftest import FakeClock

ZONES = ("UTC", "Asia/Tokyo", "America/Los_Angeles")


@pytest.fixture(params=ZONES)
def zone(request: pytest.FixtureRequest, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ZoneInfo:
    monkeypatch.setenv("TIME_ZONE", str(request.param))
    return ZoneInfo(str(request.param))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Every read of the account's settings from the table (overrides and the recorded
    deployment, one read; the real read still happens)."""
    seen: list[datetime] = []
    real = DynamoRecords.settings_sources

    def counted(self: DynamoRecords) -> tuple[dict[str, Any], dict[str, Any] | None]:
        seen.append(datetime.now())
        return real(self)

    monkeypatch.setattr(DynamoRecords, "settings_sources", counted)
    return seen


def tick(clock: FakeClock, **event: Any) -> tuple[Wiring, PostSummary]:
    """One post run as the post handler wires it."""
    request = PostEvent(**{"trigger": "schedule", **event})
    wiring = wire(clock=clock, quiet=nothing_due if request.plain else None)
    return wiring, run_post(post_deps(wiring), request)


def own_posts(world: World) -> int:
    return sum(1 for p in world.posts.values() if p.author_id == OWNER_ID)


def test_idle_ticks_reuse_the_settings_and_a_change_applies_to_the_next_post(
    zone: ZoneInfo, clock: FakeClock, world: World, reads: list[datetime]
) -> None:
    plans = DynamoContentPlans(OWNER_ID)
    for i in range(6):
        plans.add_content(new_item(kind="quip", text=f"Quip {i} about rye", now=clock.now(), evergreen=True, cooldown_days=7))
    for i in range(5):
        plans.add_content(new_item(kind="article", text=f"Crumb notes {i}", url=f"https://bakery.com/a{i}", now=clock.now()))
    local_day = clock.now().astimezone(zone).date()
    clock.current = datetime.combine(local_day, time(6, 0), tzinfo=zone)  # before the posting window opens at 08:00
    wiring, first = tick(clock)
    assert len(reads) == 1 and not wiring.settings_reused and first.posted == [] and first.upcoming
    next_slot = first.upcoming[0].at
    read_at, reused = clock.now(), 0
    while clock.now() + timedelta(minutes=10) + QUIET_MARGIN < next_slot:  # (a tick within the margin reads afresh)
        clock.advance(minutes=10)
        before = len(reads)
        wiring, summary = tick(clock)
        assert summary.posted == [] and own_posts(world) == 0
        if clock.now() - read_at < SETTINGS_REUSE:
            assert wiring.settings_reused and len(reads) == before, clock.now()
            reused += 1
        else:  # an hour on: read again, even while idle
            assert not wiring.settings_reused and len(reads) == before + 1, clock.now()
            read_at = clock.now()
    assert reused >= 6  # 06:00 to at least 08:00 local: most ticks reused

    DynamoRecords(OWNER_ID).set_override("mode", "dry-run")  # the person stops posting from the CLI
    clock.current = next_slot
    before = len(reads)
    wiring, due = tick(clock)
    assert not wiring.settings_reused and len(reads) == before + 1
    assert due.mode == "dry-run" and due.posted == [] and due.would_post and own_posts(world) == 0
    assert not world.violations


def test_manual_runs_always_read_the_settings(zone: ZoneInfo, clock: FakeClock, reads: list[datetime]) -> None:
    plans = DynamoContentPlans(OWNER_ID)
    plans.add_content(new_item(kind="quip", text="Rye needs time", now=clock.now(), evergreen=True, cooldown_days=7))
    clock.current = datetime.combine(clock.now().astimezone(zone).date(), time(6, 0), tzinfo=zone)
    tick(clock)
    for event in ({"dry_run": True}, {"max_posts": 0}, {"trigger": "manual"}):
        clock.advance(minutes=1)
        before = len(reads)
        wiring, _ = tick(clock, **event)
        assert not wiring.settings_reused and len(reads) == before + 1, event


@pytest.fixture
def store_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every DynamoDB request any client of this process makes (the real request still happens)."""
    import botocore.client

    seen: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            seen.append(operation)
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    return seen


def job_tick(job: str, clock: FakeClock) -> tuple[Wiring, Any]:
    """One scheduled follow or prune run as its handler wires it (functions/<job>/app.py)."""
    from flockpilot.events import FollowEvent, PruneEvent
    from flockpilot.jobs.follow import run_follow
    from flockpilot.jobs.prune import run_prune
    from flockpilot.jobs.skeleton import DONE_DAY_RECHECK, day_done_quiet
    from flockpilot.runtime import follow_deps, prune_deps

    request: Any = (FollowEvent if job == "follow" else PruneEvent)(trigger="schedule")
    wiring = wire(clock=clock, quiet=day_done_quiet(job) if request.plain else None, settings_reuse=DONE_DAY_RECHECK)
    if job == "follow":
        return wiring, run_follow(follow_deps(wiring), request)
    return wiring, run_prune(prune_deps(wiring), request)


@pytest.mark.parametrize("job", ["follow", "prune"])
def test_the_hourly_ticks_of_a_day_done_read_nothing_and_the_next_day_reads_afresh(
    job: str, zone: ZoneInfo, clock: FakeClock, world: World, reads: list[datetime], store_calls: list[str]
) -> None:
    """Suggest mode: once the day's follow list (or prune's suggestions) is made, the hour's
    ticks in this container make no DynamoDB request at all, settings included, for as long
    as the day-done memo is trusted (3 hours); then one tick reads the settings and the day's
    record. At the account's midnight the memo no longer covers the day: the first tick of
    the new day reads the settings and does the new day's work."""
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.domain.follow import Source, SourceKind
    from flockpilot.jobs.skeleton import DONE_DAY_RECHECK

    DynamoLedger(OWNER_ID).add_source(Source("1700000000000000101", SourceKind.ACCOUNT, "@smallbizdaily", clock.now()))
    local_day = clock.now().astimezone(zone).date()
    clock.current = datetime.combine(local_day, time(9, 5), tzinfo=zone)
    first_wiring, first = job_tick(job, clock)
    assert not first_wiring.settings_reused and first.outcome.value == "ok", first.reasons
    memo_from, silent, rechecked = clock.now(), 0, 0
    while clock.now().astimezone(zone).hour < 23:
        clock.advance(hours=1)
        before_reads, before_calls = len(reads), len(store_calls)
        wiring, summary = job_tick(job, clock)
        assert summary.outcome.value == "ok", summary.reasons
        if clock.now() - memo_from < DONE_DAY_RECHECK:
            assert wiring.settings_reused and len(reads) == before_reads, clock.now()
            assert store_calls[before_calls:] == [], (clock.now(), store_calls[before_calls:])
            silent += 1
        else:  # the memo is checked against the day's record: the settings are read with it
            assert not wiring.settings_reused and len(reads) == before_reads + 1, clock.now()
            memo_from, rechecked = clock.now(), rechecked + 1
    assert silent >= 9 and rechecked >= 4
    midnight = datetime.combine(local_day + timedelta(days=1), time(0, 0), tzinfo=zone)
    assert memo_from + DONE_DAY_RECHECK > midnight + timedelta(minutes=1)  # the memo alone would still be trusted
    clock.current = midnight + timedelta(minutes=1)
    before_reads = len(reads)
    wiring, next_day = job_tick(job, clock)
    assert not wiring.settings_reused and len(reads) == before_reads + 1
    assert next_day.day == local_day + timedelta(days=1)
