"""A run stopped partway through a multi-page read (the function's time limit, X failing)
keeps the pages it paid for: what they said is applied and kept with where the read goes on,
so the next run reads only the rest. Counted across the stopped run and the next one: X's
requests and bill against one run that was never stopped, doubles and losses; with a crash
at each write and a duplicate delivery. In UTC, Tokyo and Los Angeles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.domain.people import Person, PersonQueue, PersonStatus
from flockpilot.domain.records import PruneChecks, SyncDay
from flockpilot.jobs.skeleton import RunOutcome
from tests.fakes.store import Crash
from tests.fakes.x import LambdaTime
from tests.jobs.conftest import Harness, make_harness
from tests.jobs.test_follow import with_sources
from tests.jobs.test_spend import billed, recorded

TIME_LIMIT = "time limit"
BACK = [f"16100000000000{i:05d}" for i in range(5)]  # followed through Flockpilot; they follow back today
NEW = [f"16200000000000{i:05d}" for i in range(45)]


def followers_pages(h: Harness) -> list[str]:
    return [path for method, path, _ in h.world.requests_log if method == "GET" and path == f"/2/users/{OWNER_ID}/followers"]


def a_burst_of_followers(zone: str) -> Harness:
    """Yesterday's sync knew your 40 followers; today 50 follow you (5 of them people you
    followed through Flockpilot) and 10 leave, so the followers sync takes two pages: the 41
    users/me's growth asks for (all new), then 10 more (9 new, 1 known)."""
    h = with_sources(make_harness(zone))
    h.store.add_source(Source("src", SourceKind.ACCOUNT, "@src", h.clock.now()))
    for uid in BACK:
        h.world.add_user(User(uid, f"back{uid[-2:]}", "Back"))
        h.world.follow(OWNER_ID, uid)
        h.store.add_person(Person(uid, f"back{uid[-2:]}", PersonStatus.SUGGESTED, source_id="src").now_followed(
            h.clock.now() - timedelta(days=3), by_api=False, grace_days=7))
    h.at_local(10)
    h.follow(max=0)  # the day's sync: the frontiers
    for uid in NEW[:25] + BACK + NEW[25:]:
        if uid not in BACK:
            h.world.add_user(User(uid, f"new{uid[-2:]}", "New"))
        h.world.follow(uid, OWNER_ID)
    for i in range(10):  # the oldest fans leave
        h.world.unfollow(f"18000000000000000{i:02d}", OWNER_ID)
    h.at_local(10, days=1)
    h.world.requests_log.clear()
    return h


def settled(h: Harness) -> None:
    """0 doubles, 0 losses: each follow-back credited once, every new follower known."""
    people = h.store.people_by_id(BACK)
    assert {p.status for p in people.values()} == {PersonStatus.FOLLOWED_BACK}
    assert next(s for s in h.store.sources() if s.source_id == "src").followed_back == len(BACK)
    record = h.store.load_day(SyncDay, h.clock.now().astimezone(h.zone).date())
    assert record is not None and record.done and record.complete and record.new_followers == 50
    assert h.store.frontier("followers")[:50] == list(reversed(NEW[25:])) + list(reversed(BACK)) + list(reversed(NEW[:25]))


def test_a_sync_stopped_by_the_time_limit_keeps_the_pages_it_paid_for(zone: str) -> None:
    control = a_burst_of_followers(zone)
    before = billed(control)
    control.follow(max=0)
    once = billed(control) - before
    assert len(followers_pages(control)) == 2
    settled(control)

    h = a_burst_of_followers(zone)
    before = billed(h)
    h.x_timeout = 5.0
    h.lambda_time = LambdaTime(left=12.5)  # users/me, your following, the first followers page: not the second
    first = h.follow(max=0)
    assert first.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in first.reasons), first.reasons
    assert len(followers_pages(h)) == 1
    applied = {p.status for p in h.store.people_by_id(BACK).values()}
    h.lambda_time = None
    h.clock.advance(hours=1)
    second = h.follow(max=0)
    assert second.outcome is RunOutcome.OK, second.reasons
    assert len(followers_pages(h)) == 2  # the second page only: the first is not read (or paid) again
    assert billed(h) - before == pytest.approx(once)  # the stopped run and the next cost what one run costs
    assert recorded(h) == pytest.approx(billed(h))
    assert applied == {PersonStatus.FOLLOWED_BACK}  # the stopped run applied the page it read
    settled(h)
    h.clock.advance(hours=1)
    h.follow(max=0)  # a duplicate delivery: the day's sync is done
    assert len(followers_pages(h)) == 2 and billed(h) - before == pytest.approx(once)
    settled(h)


def test_a_sync_that_crashes_at_any_write_loses_nothing_and_doubles_nothing(zone: str) -> None:
    for writes in range(60):
        h = a_burst_of_followers(zone)
        h.store.crash_after(writes)
        try:
            h.follow(max=0)
        except Crash:
            h.store.crash_after(None)
            h.clock.advance(hours=1)
            h.follow(max=0)
            settled(h)
            assert len(followers_pages(h)) <= 3, writes  # at most the page the crash cut short is read again
            continue
        settled(h)
        break
    else:
        pytest.fail("the run never got past its writes")


# --- prune's follow-back checks -------------------------------------------------------------

def many_due(zone: str) -> Harness:
    """250 people followed through Flockpilot 10-20 days ago, every third following back; 400
    followers keep the band. The day's sync is done (a follow run), so prune's X calls are its
    mentions read, then the checks: 100, 100 and the rest."""
    h = make_harness(zone)
    for i in range(400):
        h.world.add_user(User(f"1630000000000{i:06d}", f"fan{i}", "Fan"))
        h.world.follow(f"1630000000000{i:06d}", OWNER_ID)
    for i in range(250):
        uid = f"1640000000000{i:06d}"
        h.world.add_user(User(uid, f"p{i}", "P"))
        h.world.follow(OWNER_ID, uid)
        if i % 3 == 0:
            h.world.follow(uid, OWNER_ID)
        h.store.add_person(Person(uid, f"p{i}", PersonStatus.SUGGESTED, source_id="src").now_followed(
            h.clock.now() - timedelta(days=10 + i % 10), by_api=False, grace_days=7))
    h.store.add_source(Source("src", SourceKind.ACCOUNT, "@src", h.clock.now()))
    h.env.update(PRUNE_DAILY_CAP="300", MONTHLY_BUDGET_USD="3000", FOLLOW_USE_MY_FOLLOWERS="false")
    h.at_local(10)
    h.follow(max=0)
    h.world.requests_log.clear()
    return h


def lookups(h: Harness) -> list[str]:
    return [path for method, path, _ in h.world.requests_log if method == "GET" and path == "/2/users"]


def prune_list(h: Harness) -> set[str]:
    ids = [f"1640000000000{i:06d}" for i in range(250)]
    return {p.user_id for p in h.store.people_by_id(ids).values() if p.status is PersonStatus.PRUNE_SUGGESTED}


def test_prune_checks_stopped_by_the_time_limit_keep_what_x_said(zone: str) -> None:
    control = many_due(zone)
    before = billed(control)
    checked = control.prune(reconcile=False).checked
    once, wanted = billed(control) - before, prune_list(control)
    assert len(lookups(control)) == 3 and checked > 200 and len(wanted) > 100

    h = many_due(zone)
    before = billed(h)
    h.lambda_time = LambdaTime(left=12.5)  # your mentions and two checks of 100: not the third
    first = h.prune(reconcile=False)
    assert first.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in first.reasons), first.reasons
    assert len(lookups(h)) == 2 and first.checked == 200 and prune_list(h) == set()
    h.lambda_time = None
    h.clock.advance(hours=1)
    second = h.prune(reconcile=False)
    assert second.outcome is RunOutcome.OK, second.reasons
    assert len(lookups(h)) == 3 and second.checked == checked - 200  # only those not asked about
    assert billed(h) - before == pytest.approx(once)  # the two runs cost what one costs (mentions read again: $0)
    assert recorded(h) == pytest.approx(billed(h))
    assert prune_list(h) == wanted  # the same day's decision, nobody lost
    h.clock.advance(hours=1)
    h.prune(reconcile=False)  # a duplicate delivery: the day is decided
    assert len(lookups(h)) == 3 and prune_list(h) == wanted


def test_resumed_checks_on_a_day_short_of_money_use_every_answer_paid_for(zone: str) -> None:
    """The day's prune money covers about 220 checks. Stopped after 200, the next run takes
    all 200 answers (they cost nothing more) and asks only the rest it can afford: the same
    decision as one run, and no answer bought today is bought again tomorrow. Before, the
    answers took the money-limited places: 20 decided, 124 asked (and paid) again the next day."""
    def short(h: Harness) -> Harness:
        h.env.update(MONTHLY_BUDGET_USD="330")
        return h

    control = short(many_due(zone))
    start = billed(control)
    c = control.prune(reconcile=False)
    wanted, once = prune_list(control), billed(control) - start
    assert 200 < c.checked < 250 and c.outcome is RunOutcome.PARTIAL and wanted

    h = short(many_due(zone))
    before = billed(h)
    h.lambda_time = LambdaTime(left=12.5)
    first = h.prune(reconcile=False)
    assert first.outcome is RunOutcome.PARTIAL and first.checked == 200
    h.lambda_time = None
    h.clock.advance(hours=1)
    second = h.prune(reconcile=False)
    assert first.checked + second.checked == c.checked  # nobody asked twice, nobody affordable left out
    assert prune_list(h) == wanted
    assert recorded(h) == pytest.approx(billed(h)) and billed(h) - before == pytest.approx(once)  # what one run costs
    day = h.clock.now().astimezone(h.zone).date()
    answered = set(h.store.load_day(PruneChecks, day).answers)  # type: ignore[union-attr]
    due_tomorrow = {p.user_id for p in h.store.queue(PersonQueue.CHECK, due_by=h.clock.now() + timedelta(days=1), limit=1000)}
    assert not (answered & due_tomorrow) - wanted  # an answer paid for today is never due again tomorrow


def test_prune_checks_that_crash_at_any_write_lose_nothing_and_double_nothing(zone: str) -> None:
    control = many_due(zone)
    control.prune(reconcile=False)
    wanted = prune_list(control)
    for writes in range(0, 400, 7):
        h = many_due(zone)
        h.store.crash_after(writes)
        try:
            h.prune(reconcile=False)
        except Crash:
            h.store.crash_after(None)
            h.clock.advance(hours=1)
            h.prune(reconcile=False)
            assert prune_list(h) == wanted, writes
            assert len(lookups(h)) <= 4, writes  # at most the 100 the crash cut short are asked again
            continue
        assert prune_list(h) == wanted
        break
    else:
        pytest.fail("the run never got past its writes")


# --- reconciliation's slice -----------------------------------------------------------------

def a_big_slice(zone: str) -> Harness:
    """250 people who followed back, due for re-verification; the day's slice covers them all
    (a chosen $90 a month), the day's sync and checks are done: the slice's X calls are its
    three lookups (100, 100, 50)."""
    h = make_harness(zone, MONTHLY_BUDGET_USD="3000", RECONCILE_MONTHLY_USD="90", FOLLOW_USE_MY_FOLLOWERS="false")
    for i in range(250):
        uid = f"1650000000000{i:06d}"
        h.world.add_user(User(uid, f"b{i}", "B"))
        h.world.follow(OWNER_ID, uid)
        h.world.follow(uid, OWNER_ID)
        person = Person(uid, f"b{i}", PersonStatus.SUGGESTED, source_id="src").now_followed(
            h.clock.now() - timedelta(days=80), by_api=False, grace_days=7)
        h.store.add_person(person.now_followed_back(h.clock.now() - timedelta(days=40), verify_days=30))
    h.store.add_source(Source("src", SourceKind.ACCOUNT, "@src", h.clock.now(), followed=250, followed_back=250))
    h.at_local(10)
    h.prune(reconcile=False)
    h.world.requests_log.clear()
    return h


def test_a_reconciliation_slice_stopped_by_the_time_limit_keeps_its_progress(zone: str) -> None:
    control = a_big_slice(zone)
    before = billed(control)
    report = control.prune(reconcile=True).reconciliation["verify"]
    once = billed(control) - before
    assert len(lookups(control)) == 3 and report["verified_this_pass"] == 250, report  # type: ignore[index]

    h = a_big_slice(zone)
    before = billed(h)
    h.lambda_time = LambdaTime(left=11.5)  # two lookups of 100, not the third
    first = h.prune(reconcile=True)
    assert first.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in first.reasons), first.reasons
    assert len(lookups(h)) == 2
    h.lambda_time = None
    h.clock.advance(hours=1)
    second = h.prune(reconcile=True).reconciliation["verify"]
    assert len(lookups(h)) == 3 and second["verified_today"] == 50, second  # type: ignore[index]
    assert billed(h) - before == pytest.approx(once) and recorded(h) == pytest.approx(billed(h))
    assert second["verified_this_pass"] == 250 and second["state"] == "finished", second  # type: ignore[index]
    h.clock.advance(hours=1)
    assert h.prune().reconciliation == {} and len(lookups(h)) == 3  # a duplicate delivery: the slice is done today
