"""The follow job on fakes."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.domain.hours import ActiveHours, window_bounds
from flockpilot.domain.people import PersonQueue, PersonStatus
from flockpilot.domain.records import FollowDay
from flockpilot.jobs.follow import FollowSummary, take_back
from flockpilot.jobs.skeleton import RunOutcome
from tests.jobs.conftest import Harness, make_harness

PEERS = {"1700000000000000100": "@breadnerd", "1700000000000000101": "@smallbizdaily", "1700000000000000102": "@ovenspring"}


def shortlist(h: Harness, day: date) -> list[str]:
    record = h.store.load_day(FollowDay, day)
    return record.shortlisted if record else []


def with_sources(h: Harness) -> Harness:
    """Room in the band (40 followers, following 3) and the three peers as sources."""
    for i in range(40):
        uid = f"18000000000000000{i:02d}"
        h.world.add_user(User(uid, f"fan{i}", f"Fan {i}"))
        h.world.follow(uid, OWNER_ID)
    h.env.update(FOLLOW_USE_MY_FOLLOWERS="false", FOLLOW_USE_MENTIONS="false", ACTIVE_HOURS="07:00-22:00")
    for uid, label in PEERS.items():
        h.store.add_source(Source(uid, SourceKind.ACCOUNT, label, h.clock.now()))
    return h


@pytest.fixture
def hs(h: Harness) -> Harness:
    return with_sources(h)


def crowd(h: Harness, n: int = 200) -> None:
    """A big source whose followers all pass the filters."""
    h.env.update(FOLLOW_MIN_FOLLOWERS="0", FOLLOW_SKIP_EMPTY_BIO="false", FOLLOW_ACTIVE_DAYS="3650")
    for i in range(n):
        uid = f"19000000000000{i:05d}"
        h.world.add_user(User(uid, f"crowd{i}", "Crowd", description="bread", follow_back=0.5,
                              profile_image_url="https://pbs.twimg.com/p.jpg"))
        h.world.follow(uid, "1700000000000000100")
        h.world.follow(uid, OWNER_ID)
        h.world.add_post(uid, "hi")


def test_suggest_mode_shortlists_with_links_and_writes_nothing_to_x(hs: Harness) -> None:
    summary = hs.follow(max=5)
    assert 1 <= len(summary.shortlisted) <= 5
    s = summary.shortlisted[0]
    assert s.follow_url == f"https://x.com/intent/follow?screen_name={s.username}"
    assert s.profile_url == f"https://x.com/{s.username}"
    assert "followUser" not in hs.world.bill()["by_operation"]
    people = hs.store.people_by_id([x.user_id for x in summary.shortlisted])
    assert {p.status for p in people.values()} == {PersonStatus.SUGGESTED}
    assert summary.cost_per_shortlisted_usd and summary.cost_per_shortlisted_usd > 0


def test_later_ticks_of_the_day_read_nothing(hs: Harness) -> None:
    hs.follow()
    requests = hs.world.bill()["requests"]
    for _ in range(5):
        hs.clock.advance(hours=1)
        assert hs.follow().shortlisted == []
    assert hs.world.bill()["requests"] == requests


def test_cursors_resume_across_days_and_nobody_is_read_twice(hs: Harness) -> None:
    for _ in range(4):
        hs.follow(max=4)
        hs.clock.advance(days=1)
    per_source = {key: ids for key, ids in hs.world.served_users.items() if key.split(":")[1] in PEERS}
    assert sum(len(ids) for ids in per_source.values()) >= 10
    for ids in per_source.values():
        assert len(ids) == len(set(ids))
    assert any(s.cursor or s.exhausted for s in hs.store.sources())


def test_nobody_is_suggested_twice_across_days(hs: Harness) -> None:
    seen: list[str] = []
    for _ in range(5):
        seen += [s.user_id for s in hs.follow(max=5).shortlisted]
        hs.clock.advance(days=1)
    assert seen and len(seen) == len(set(seen))


def test_screened_out_people_are_counted_by_filter(hs: Harness) -> None:
    summary = hs.follow(max=10)
    assert summary.screened_out > 0
    assert sum(summary.reasons_out.values()) == summary.screened_out
    assert {"inactive", "empty bio"} & set(summary.reasons_out)


def test_follows_done_by_hand_are_detected_and_credited(hs: Harness) -> None:
    picked = hs.follow(max=3).shortlisted[0]
    hs.world.follow(OWNER_ID, picked.user_id)  # the person taps the follow link
    hs.clock.advance(days=1)
    second = hs.follow(max=0)
    assert picked.user_id in second.followed_by_hand
    person = hs.store.people_by_id([picked.user_id])[picked.user_id]
    assert person.status is PersonStatus.FOLLOWED and not person.by_api
    source = next(s for s in hs.store.sources() if s.source_id == person.source_id)
    assert source.followed == 1
    assert sum(c.follows for c in hs.store.counts(second.day, second.day).values()) == 1


def test_follow_backs_feed_the_source_rate(hs: Harness) -> None:
    first = hs.follow(max=6)
    for s in first.shortlisted:
        hs.world.follow(OWNER_ID, s.user_id)
    hs.clock.advance(days=1)
    hs.follow(max=0)  # the sync sees the follows made by hand
    backs = hs.world.settle(OWNER_ID)
    hs.clock.advance(days=1)
    third = hs.follow(max=0)
    assert sorted(third.follow_backs) == sorted(backs)
    assert sum(s.followed_back for s in hs.store.sources()) == len(backs)


def test_follow_and_prune_share_one_sync_and_one_profile_read_a_day(hs: Harness) -> None:
    hs.follow()
    hs.clock.advance(minutes=30)
    before = hs.world.bill()["by_operation"]
    hs.prune(reconcile=False)
    after = hs.world.bill()["by_operation"]
    for operation in ("getUsersMe", "getUsersFollowers", "getUsersFollowing"):
        assert after[operation]["requests"] == before[operation]["requests"], operation


def sync_reads(h: Harness) -> dict[str, int]:
    by = h.world.bill()["by_operation"]
    return {op: by.get(op, {"resources": 0})["resources"] for op in ("getUsersFollowing", "getUsersFollowers")}


def next_morning_sync(h: Harness) -> tuple[FollowSummary, dict[str, int]]:
    """Tomorrow 08:00, a follow run that only syncs: its summary and the ids each sync read."""
    h.clock.advance(days=1)
    h.at_local(8)
    before = sync_reads(h)
    summary = h.follow(max=0)
    return summary, {op: n - before[op] for op, n in sync_reads(h).items()}


def test_the_next_days_sync_reads_exactly_what_is_new_and_one_known_id(hs: Harness) -> None:
    """Day 1: a list is built. By hand you follow the picks and unfollow two people; a third
    of the picks and 3 newcomers follow you. Day 2's sync sizes its pages by how much
    users/me's counts grew and by yesterday's picks: it reads each new id and one it knows."""
    crowd(hs, 60)
    hs.at_local(8)
    first = hs.follow(max=9)
    picks = [s.user_id for s in first.shortlisted]
    assert len(picks) == 9
    hs.at_local(9)
    hs.follow(max=0)  # today's sync is done: what follows is tomorrow's news
    following_before = list(hs.world.following[OWNER_ID].newest_first())
    assert len(following_before) >= 3
    for uid in picks:
        hs.world.follow(OWNER_ID, uid)
    for uid in following_before[-2:]:  # two of the oldest you follow: not at the top of the list
        hs.world.unfollow(OWNER_ID, uid)
    newcomers = [f"17100000000000000{i:02d}" for i in range(3)]
    for uid in newcomers:
        hs.world.add_user(User(uid, f"new{uid[-2:]}", "New"))
        hs.world.follow(uid, OWNER_ID)
    backs = [uid for uid in picks[::3] if hs.world.follow(uid, OWNER_ID)]  # (some followed you already)
    summary, read = next_morning_sync(hs)
    assert sorted(summary.followed_by_hand) == sorted(picks)
    assert read["getUsersFollowing"] == len(picks) + 1
    assert read["getUsersFollowers"] == len(newcomers) + len(backs) + 1


def test_a_failed_source_leaves_the_others_and_says_partial(hs: Harness) -> None:
    hs.world.inject(Fault("503", "getUsersFollowers", times=3))  # one source read fails (after retries)
    summary = hs.follow(max=5, sync=False)
    assert summary.outcome is RunOutcome.PARTIAL
    assert any("could not read" in r for r in summary.reasons)
    assert summary.shortlisted  # the other sources still filled the list


def test_a_failed_sync_still_builds_the_list_and_says_partial(hs: Harness) -> None:
    hs.world.inject(Fault("503", "getUsersFollowing", times=3))
    summary = hs.follow(max=5)
    assert summary.outcome is RunOutcome.PARTIAL and any("could not sync" in r for r in summary.reasons)
    assert summary.shortlisted


def test_the_band_is_respected(hs: Harness) -> None:
    for uid in list(hs.world.users)[:60]:
        if uid != OWNER_ID:
            hs.world.follow(OWNER_ID, uid)  # following far above followers
    summary = hs.follow()
    assert summary.budget == 0 and summary.shortlisted == []
    assert any("band" in w for w in summary.warnings)


def test_a_spent_day_budget_reads_nothing(hs: Harness) -> None:
    hs.store.add_spend(hs.clock.now().astimezone(hs.zone).date(), "follow", 100.0, 1)
    summary = hs.follow(max=20)
    assert summary.outcome is RunOutcome.PARTIAL and any("budget" in r for r in summary.reasons)
    assert hs.world.bill()["requests"] == 0


def test_api_mode_paces_follows_over_the_day(hs: Harness) -> None:
    hs.world.follow_permitted = True
    hs.env.update(FOLLOW_MODE="api", MONTHLY_BUDGET_USD="200")
    hs.at_local(8)
    first = hs.follow()
    assert first.shortlisted and 0 < len(first.followed) < len(first.shortlisted)
    made = len(first.followed)
    while hs.clock.now() < hs.local(22):
        hs.clock.advance(hours=1)
        made += len(hs.follow().followed)
    assert made == len(first.shortlisted)
    assert hs.world.bill()["by_operation"]["followUser"]["requests"] == made


def test_a_console_run_before_the_active_hours_in_api_mode_says_when_the_follows_go(hs: Harness) -> None:
    hs.world.follow_permitted = True
    hs.env.update(FOLLOW_MODE="api", MONTHLY_BUDGET_USD="200")
    hs.at_local(5)
    early = hs.follow(max=5)
    assert early.shortlisted and early.followed == []
    assert any("inside the active hours" in w and "wait until then" in w for w in early.warnings), early.warnings
    assert "followUser" not in hs.world.bill()["by_operation"]


def test_in_api_mode_the_next_days_sync_does_not_pay_for_flockpilots_own_follows(hs: Harness) -> None:
    """Yesterday's API follows are at the top of your following and in the ledger: the sync
    stops at the first, so it reads one id, however many Flockpilot followed (and the
    followers sync reads exactly the follow-backs and one known id)."""
    hs.world.follow_permitted = True
    hs.env.update(FOLLOW_MODE="api", MONTHLY_BUDGET_USD="200")
    hs.at_local(8)
    made = len(hs.follow().followed)
    while hs.clock.now() < hs.local(22):
        hs.clock.advance(hours=1)
        made += len(hs.follow().followed)
    assert made >= 5
    backs = hs.world.settle(OWNER_ID)
    summary, read = next_morning_sync(hs)
    assert sorted(summary.follow_backs) == sorted(backs)
    assert read["getUsersFollowing"] == 1
    assert read["getUsersFollowers"] == len(backs) + 1


def test_api_mode_never_passes_45_follows_in_15_minutes(hs: Harness) -> None:
    hs.world.follow_permitted = True
    hs.env.update(FOLLOW_MODE="api", FOLLOW_DAILY_CAP="400", MONTHLY_BUDGET_USD="10000")
    crowd(hs)
    hs.at_local(21, 50)  # one run left: everything is due now
    total = 0
    for _ in range(3):  # the console fires it three times in a minute
        total += len(hs.follow(sync=False).followed)
        hs.clock.advance(minutes=1)
    assert 0 < total <= 45


def test_api_mode_stops_at_the_first_429_and_the_queue_waits(hs: Harness) -> None:
    hs.world.follow_permitted = True
    hs.env.update(FOLLOW_MODE="api", FOLLOW_DAILY_CAP="60", MONTHLY_BUDGET_USD="10000")
    crowd(hs)
    hs.at_local(21, 50)
    hs.world.inject(Fault("429", "followUser", reset_in_seconds=900))
    summary = hs.follow()
    assert summary.outcome is RunOutcome.PARTIAL and summary.followed == []
    assert hs.world.bill()["by_operation"]["followUser"]["requests"] == 1  # not 46 more
    queued = hs.store.queue(PersonQueue.QUEUED, limit=400)
    assert queued and not hs.store.queue(PersonQueue.PENDING, limit=10)


def test_api_mode_follow_with_unknown_outcome_is_checked_not_repeated(hs: Harness) -> None:
    hs.world.follow_permitted = True
    hs.x_timeout = 0.02
    hs.env.update(FOLLOW_MODE="api", MONTHLY_BUDGET_USD="200")
    hs.at_local(21, 50)
    hs.world.inject(Fault("commit_then_timeout", "followUser", delay_seconds=0.05))
    first = hs.follow()
    assert first.outcome is RunOutcome.PARTIAL
    pending = hs.store.queue(PersonQueue.PENDING, limit=10)
    assert len(pending) == 1 and pending[0].user_id in hs.world.following[OWNER_ID]
    hs.clock.advance(minutes=20)
    second = hs.follow()
    assert pending[0].username in second.followed
    targets = [path for method, path, _ in hs.world.requests_log if method == "POST" and path.endswith("/following")]
    assert len(targets) == len(first.followed) + len(second.followed) + 0  # the unknown one was never sent again


def test_api_mode_403_switches_to_suggest_without_retrying(hs: Harness) -> None:
    hs.env.update(FOLLOW_MODE="api")  # the sandbox, like self-serve X, refuses follows
    hs.at_local(21, 50)
    summary = hs.follow()
    assert any("switched to suggest" in w for w in summary.warnings)
    assert hs.world.bill()["by_operation"]["followUser"]["requests"] == 1
    assert hs.store.overrides()["follow_mode"] == "suggest"
    assert hs.store.queue(PersonQueue.QUEUED, limit=100) == []
    assert {p.status for p in hs.store.people_by_id(shortlist(hs, summary.day)).values()} == {PersonStatus.SUGGESTED}


def test_dry_run_writes_nothing_to_x(hs: Harness) -> None:
    hs.world.follow_permitted = True
    hs.env.update(FOLLOW_MODE="api")
    hs.at_local(21, 50)
    summary = hs.follow(mode="dry-run")
    assert "dry-run" in summary.mode and summary.shortlisted  # who the day's list would take (a preview)
    assert "followUser" not in hs.world.bill()["by_operation"]
    assert hs.store.queue(PersonQueue.QUEUED, limit=100) == []  # nothing queued to follow: kept for the live runs


def test_a_crash_after_the_picks_are_recorded_loses_nobody() -> None:
    summary_before = None
    for writes in range(0, 60):
        h = with_sources(make_harness(FOLLOW_DAILY_CAP="5"))
        h.store.crash_after(writes)
        try:
            summary_before = h.follow()
        except BaseException as exc:  # noqa: BLE001 - the injected crash
            assert "crashed" in str(exc)
            h.store.crash_after(None)
            h.clock.advance(minutes=30)
            after = h.follow()
            picks = shortlist(h, after.day)
            people = h.store.people_by_id(picks)
            assert len(picks) == 5 and len(people) == 5, writes
            assert {p.status for p in people.values()} == {PersonStatus.SUGGESTED}, writes
            continue
        break
    assert summary_before is not None and len(summary_before.shortlisted) == 5


def api_day(h: Harness, start: tuple[int, int] = (0, 5)) -> list[tuple[datetime, FollowSummary]]:
    """api mode: the hourly schedule's ticks from `start` (local) to the account day's end."""
    h.world.follow_permitted = True
    h.env.update(FOLLOW_MODE="api", MONTHLY_BUDGET_USD="10000")
    h.at_local(*start)
    midnight, runs = h.local(0, 0, days=1), []
    while h.clock.now() < midnight:
        runs.append((h.clock.now(), h.follow()))
        h.clock.advance(hours=1)
    return runs


def test_api_mode_follows_only_inside_the_active_hours_spread_over_them(hs: Harness) -> None:
    """The schedule runs every hour all day: the list is built at 00:05, the follows wait
    for the active hours (07:00-22:00: 15 runs) and are spread evenly over them."""
    crowd(hs, 60)
    runs = api_day(hs)
    start, end = window_bounds(runs[0][1].day, hs.zone, ActiveHours.parse("07:00-22:00"))
    picks = shortlist(hs, runs[0][1].day)
    assert len(picks) == 30 and len(runs[0][1].shortlisted) == 30
    outside = [(at, s) for at, s in runs if not start <= at < end]
    inside = [s for at, s in runs if start <= at < end]
    assert len(outside) == 9 and len(inside) == 15
    assert all(s.followed == [] and s.outcome is RunOutcome.OK for _, s in outside)  # nothing to do is not partial
    assert sum(len(s.followed) for s in inside) == 30 == hs.world.bill()["by_operation"]["followUser"]["requests"]
    assert max(len(s.followed) for s in inside) <= math.ceil(30 / 15) + 1  # even shares, give or take one
    assert sum(1 for s in inside if s.followed) >= 10
    assert hs.store.queue(PersonQueue.QUEUED, limit=10) == []


def test_api_mode_what_the_window_cannot_hold_waits_for_tomorrows_and_the_day_says_so(hs: Harness) -> None:
    """A list built at the window's last run (100 follows, 45 in 15 minutes at most): 45
    follow, the run says why the rest wait, the runs after the window follow nobody (and
    are not partial), and the rest go out in tomorrow's active hours, counted in its cap."""
    crowd(hs, 200)
    hs.env.update(FOLLOW_DAILY_CAP="100")
    runs = api_day(hs, start=(21, 5))
    last, after = runs[0][1], [s for _, s in runs[1:]]
    assert len(last.shortlisted) == 100 and len(last.followed) == 45
    assert last.outcome is RunOutcome.PARTIAL
    assert any("55 follows did not fit in today's active hours" in r and "tomorrow" in r for r in last.reasons)
    assert len(after) == 2 and all(s.followed == [] and s.outcome is RunOutcome.OK for s in after)
    assert hs.store.queue_size(PersonQueue.QUEUED) == 55
    opens = hs.local(7)  # the clock is at tomorrow's 00:05
    tomorrow = api_day(hs)
    assert all(s.followed == [] for at, s in tomorrow if at < opens)
    assert tomorrow[0][1].budget == 100 - 55  # yesterday's leftovers count against today's cap
    assert sum(len(s.followed) for _, s in tomorrow) == 100
    assert hs.world.bill()["by_operation"]["followUser"]["requests"] == 145


@pytest.mark.parametrize("day", ["2026-03-08", "2026-11-01"])  # Los Angeles springs forward, falls back
def test_api_mode_on_a_dst_day_follows_inside_the_real_window(day: str) -> None:
    """Active hours 01:00-23:00 on a DST day: 21 real hours (spring) or 23 (fall), so 21 or
    23 hourly runs; every follow lands inside the window and the queue is done by its end."""
    h = make_harness("America/Los_Angeles")
    h.clock.current = h.local(0, 5, days=(date.fromisoformat(day) - h.clock.now().astimezone(h.zone).date()).days)
    with_sources(h)
    crowd(h, 60)
    h.env.update(ACTIVE_HOURS="01:00-23:00")
    runs = api_day(h)
    start, end = window_bounds(date.fromisoformat(day), h.zone, ActiveHours.parse("01:00-23:00"))
    inside = [s for at, s in runs if start <= at < end]
    assert len(inside) == (21 if day.endswith("03-08") else 23)
    assert all(s.followed == [] for at, s in runs if not start <= at < end)
    assert sum(len(s.followed) for s in inside) == 30
    assert max(len(s.followed) for s in inside) <= math.ceil(30 / len(inside)) + 1
    assert not h.world.violations, h.world.violations


def test_filters_stored_crossed_read_no_candidates_and_say_why(hs: Harness) -> None:
    """A min above its max stored before `settings set` refused it: the account still runs,
    but the follow job pays for no candidates and names the two settings."""
    hs.store.set_override("follow_min_followers", 100_000)
    hs.store.set_override("follow_max_followers", 50_000)
    summary = hs.follow()
    assert summary.shortlisted == [] and summary.users_read == 0
    assert summary.outcome is RunOutcome.PARTIAL
    assert any("follow_min_followers (100000) is above follow_max_followers (50000)" in r for r in summary.reasons)


DEAD = "1700000000000000190"


def only_a_dead_source(h: Harness, n: int = 600) -> None:
    """Room in the band and one source, whose followers all fail the filters (protected)."""
    with_sources(h)
    for peer in PEERS:
        h.store.remove_source(peer, now=h.clock.now())
    h.world.add_user(User(DEAD, "deadpeer", "Dead peer"))
    for i in range(n):
        uid = f"19500000000000{i:05d}"
        h.world.add_user(User(uid, f"ghost{i}", "Ghost", description="bread", protected=True))
        h.world.follow(uid, DEAD)
    h.store.add_source(Source(DEAD, SourceKind.ACCOUNT, "@deadpeer", h.clock.now()))
    h.env.update(FOLLOW_DAILY_CAP="30", MONTHLY_BUDGET_USD="500")  # 30 wanted: pages of 100; money is no limit


def test_a_source_whose_followers_never_pass_is_set_aside_after_200_reads(h: Harness) -> None:
    only_a_dead_source(h)
    h.at_local(10)
    first = h.follow()
    dead = next(s for s in h.store.sources() if s.source_id == DEAD)
    assert dead.dry and dead.read == 200 and first.users_read == 200  # 100 + 100, not 100 + 600 + 1,000
    assert any(w.startswith("@deadpeer: 0 of the 200 people read there passed") for w in first.warnings), first.warnings
    assert first.outcome is RunOutcome.PARTIAL and first.shortlisted == []
    def pages() -> int:
        return sum(1 for _, path, _ in h.world.requests_log if path == f"/2/users/{DEAD}/followers")

    assert pages() == 2
    h.at_local(10, days=1)
    second = h.follow()
    assert second.users_read == 0 and pages() == 2  # tomorrow it is not read at all
    assert not any("@deadpeer" in w for w in second.warnings)


def dead_on_the_avatar_rule(h: Harness) -> None:
    """One source, 600 followers who fail only the avatar rule (the default avatar)."""
    with_sources(h)
    for peer in PEERS:
        h.store.remove_source(peer, now=h.clock.now())
    crowd(h, 0)  # the crowd's relaxed filters: only the avatar rule stands in the way
    h.world.add_user(User(DEAD, "deadpeer", "Dead peer"))
    for i in range(600):
        uid = f"19500000000000{i:05d}"
        h.world.add_user(User(uid, f"plain{i}", "Plain", description="bread"))
        h.world.follow(uid, DEAD)
        h.world.add_post(uid, "hi")
    h.store.add_source(Source(DEAD, SourceKind.ACCOUNT, "@deadpeer", h.clock.now()))
    h.env.update(FOLLOW_DAILY_CAP="30", MONTHLY_BUDGET_USD="500")



def test_a_dry_source_comes_back_after_the_filters_change_as_the_readme_says(h: Harness) -> None:
    """Its followers failed one filter (a default avatar); the person turns that filter off and
    does what the warning says. The source is read on, and its followers now pass."""
    dead_on_the_avatar_rule(h)
    h.at_local(10)
    first = h.follow()
    assert first.shortlisted == [] and any("so it is read no more" in w for w in first.warnings), first.warnings
    h.env.update(FOLLOW_SKIP_DEFAULT_AVATAR="false")
    readd_after_filter_change(h)
    h.at_local(10, days=1)
    second = h.follow()
    assert len(second.shortlisted) == 30, (second.users_read, second.reasons_out, second.warnings)
    assert "known" not in second.reasons_out  # read on: the 200 it was judged on are not paid for again
    assert not next(s for s in h.store.sources() if s.source_id == DEAD).dry


def readd_after_filter_change(h: Harness) -> None:
    """What the dry warning tells the person to do after changing the filters: `sources add` it again."""
    assert not h.store.add_source(Source(DEAD, SourceKind.ACCOUNT, "@deadpeer", h.clock.now()))
    assert take_back(h.store, DEAD) is not None


def test_a_run_short_of_people_because_its_sources_are_dry_says_so_every_day(h: Harness) -> None:
    """The warning comes once, from the run that finds a source dry; the runs after it (and a
    source an earlier version read 400 of, dry the day this one is deployed, which no run ever
    finds out about) still say why they found nobody."""
    only_a_dead_source(h)
    h.store.add_source(Source("1700000000000000191", SourceKind.ACCOUNT, "@oldpeer", h.clock.now(), cursor="1", read=400,
                              suggested=2))
    h.at_local(10)
    h.follow()
    h.at_local(10, days=1)
    second = h.follow()
    assert second.users_read == 0 and second.outcome is RunOutcome.PARTIAL
    (reason,) = second.reasons
    assert reason.startswith("found 0 of the 30 people wanted today") and "@deadpeer" in reason and "@oldpeer" in reason, reason
    assert "dry" in reason



def test_a_console_preview_leaves_the_day_to_the_scheduled_runs(hs: Harness) -> None:
    """A console dry run of a live account (events/follow-manual.json) shows who the day's list
    would take and keeps none of it: the next scheduled run builds the whole day's list, taking
    the people the preview read without paying for them again. Before, the preview's 5 became
    the day's list and every later run that day said ok with nothing read."""
    hs.at_local(9, 5)
    preview = hs.follow(mode="dry-run", max=5)
    assert len(preview.shortlisted) == 5 and any("preview" in w for w in preview.warnings)
    read_by_preview = preview.users_read
    assert read_by_preview > 0
    hs.at_local(10, 5)
    day = hs.follow(trigger="schedule")
    assert len(day.shortlisted) == int(hs.env.get("FOLLOW_DAILY_CAP", "30")) or day.outcome is RunOutcome.PARTIAL
    assert {s.user_id for s in preview.shortlisted} <= {s.user_id for s in day.shortlisted}  # read once, taken by the day
    hs.at_local(11, 5)
    later = hs.follow(trigger="schedule")
    assert later.shortlisted == [] and later.users_read == 0 and "today's list was built at 10:05" in later.budget_reason


def test_a_console_run_for_a_few_leaves_the_rest_of_the_day_to_the_schedule(hs: Harness) -> None:
    """A live console run with max 5 makes 5 suggestions now; the day is not done: the next
    scheduled run adds the rest of the day's cap (the 5 count against it)."""
    hs.env.update(FOLLOW_DAILY_CAP="12")
    hs.at_local(9, 5)
    first = hs.follow(max=5)
    assert len(first.shortlisted) == 5
    hs.at_local(10, 5)
    rest = hs.follow(trigger="schedule")
    assert len(rest.shortlisted) == 7 and not {s.user_id for s in rest.shortlisted} & {s.user_id for s in first.shortlisted}
    hs.at_local(11, 5)
    assert hs.follow(trigger="schedule").shortlisted == []


def test_a_tick_that_finds_the_days_list_made_says_when_and_reports_the_accounts_figures(hs: Harness) -> None:
    """The README's console test (events/follow-manual.json) at 19:22, then the day's ticks:
    the preview keeps nothing that blocks the day (the 19:35 tick makes the whole list of 30,
    paying no candidate read twice: the same dollars as the day alone, one request more: the
    preview's own page), and every later tick, whether the container remembers the day or reads
    its record, says when the list was made and reports the account's real figures, not
    null/0 with an empty reason. Before: budget_reason "" or "built earlier", followers null."""
    from flockpilot.jobs.skeleton import forget_done_days

    alone = with_sources(make_harness(hs.env["TIME_ZONE"]))  # the same day without the preview
    alone.at_local(19, 35)
    assert len(alone.follow(trigger="schedule").shortlisted) == 30
    forget_done_days()

    hs.at_local(19, 22)
    preview = hs.follow(mode="dry-run", max=5)
    assert len(preview.shortlisted) == 5 and preview.followers == 46
    hs.at_local(19, 35)
    day = hs.follow(trigger="schedule")
    assert len(day.shortlisted) == 30 and day.budget == 30 and day.outcome is RunOutcome.OK
    bill, lone = hs.world.bill(), alone.world.bill()
    assert bill["usd"] == pytest.approx(lone["usd"]) and bill["requests"] == lone["requests"] + 1
    users_read = bill["by_operation"]["getUsersFollowers"]["resources"]
    assert users_read == lone["by_operation"]["getUsersFollowers"]["resources"]  # nobody read twice

    expected = f"today's list was built at 19:35 {hs.env['TIME_ZONE']} (30 people)"
    hs.at_local(20, 35)
    remembered = hs.follow(trigger="schedule")  # the container's memo: the body does not run
    forget_done_days()
    hs.at_local(21, 35)
    read_again = hs.follow(trigger="schedule")  # another container: reads the day's record
    for later in (remembered, read_again):
        assert later.budget_reason.startswith(expected), later.budget_reason
        assert (later.followers, later.following) == (46, 3) and later.users_read == 0
        assert later.outcome is RunOutcome.OK and later.shortlisted == [] and later.budget == 0
    assert hs.world.bill()["requests"] == bill["requests"]  # nothing paid after the list was made
