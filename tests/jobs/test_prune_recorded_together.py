"""Prune's follow-back checks and reconciliation's verification write a lookup batch's answers
together: the unfollows you made by hand that they find go in the batch's write, each with its
tally (update_people's counts), not one write each. Counted, in three zones, at 00:35 on the
account's clock (the local day is not UTC's in Tokyo or Los Angeles), under a crash at each
write, a 429 between two lookup batches and duplicate or concurrent deliveries: every unfollow
by hand is recorded once and tallied once, on the account's day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.app import SandboxApp
from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.domain.account import DayCounts
from flockpilot.domain.errors import TransientError
from flockpilot.domain.people import PersonStatus
from flockpilot.jobs.prune import PruneSummary
from flockpilot.jobs.skeleton import RunOutcome
from tests.conftest import concurrently
from tests.fakes.store import Crash
from tests.jobs.conftest import Harness, make_harness
from tests.jobs.test_prune import followed, uid, with_ledger

BY_HAND = [7, 8, 14, 22, 29]  # due for a check (past the 7-day grace), not following back; 7 and 8 within 14 days


def the_day(h: Harness) -> date:
    return h.clock.now().astimezone(h.zone).date()


def unfollow_by_hand(h: Harness, ids: list[int]) -> None:
    for i in ids:
        h.world.unfollow(OWNER_ID, uid(i))  # the person taps unfollow on x.com


def unfollowed(h: Harness, ids: list[int]) -> list[int]:
    people = h.store.people_by_id([uid(i) for i in ids])
    return [i for i in ids if people[uid(i)].status is PersonStatus.UNFOLLOWED]


def tallies(h: Harness) -> dict[date, DayCounts]:
    return h.store.counts(the_day(h) - timedelta(days=3), the_day(h) + timedelta(days=3))


def checks_world(zone: str, by_hand: list[int]) -> Harness:
    """with_ledger's 30 people, `by_hand` of them unfollowed on x.com; the next day at 00:35."""
    h = with_ledger(make_harness(zone))
    h.at_local(0, 35, days=1)
    unfollow_by_hand(h, by_hand)
    return h


def fail_second_lookup(h: Harness) -> list[int]:
    """A 429 on the run's second users lookup (the first batch's answers are in by then)."""
    h.app = SandboxApp(h.world, validate=False)
    original = h.app.op_getUsersByIds
    calls = [0]

    def counting(request: Any, user_id: str) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            h.world.inject(Fault("429", "getUsersByIds", reset_in_seconds=300))
        return original(request, user_id)

    h.app.op_getUsersByIds = counting  # type: ignore[method-assign]
    return calls


# --- prune's follow-back checks --------------------------------------------------------------

def test_unfollows_by_hand_the_checks_find_go_in_the_batchs_one_write(zone: str) -> None:
    writes = {}
    for by_hand in ([BY_HAND[0]], BY_HAND):
        h = checks_world(zone, by_hand)
        before = h.store.writes
        summary = h.prune(reconcile=False)
        writes[len(by_hand)] = h.store.writes - before
        assert sorted(summary.unfollowed_by_hand) == sorted(f"p{i}" for i in by_hand)
        assert unfollowed(h, list(range(1, 31))) == by_hand
        assert {s.user_id for s in summary.suggested}.isdisjoint({uid(i) for i in by_hand})
    # five found cost no more writes than one (before: a write each, with its tally)
    assert writes[5] == writes[1], writes
    assert tallies(h) == {the_day(h): DayCounts(unfollows=5, quick_unfollows=2)}  # on the account's day


def test_a_crash_at_each_write_of_the_checks_run_tallies_each_unfollow_by_hand_once(zone: str) -> None:
    for writes in range(0, 100):
        h = checks_world(zone, BY_HAND)
        h.store.crash_after(writes)
        try:
            h.prune(reconcile=False)
        except Crash:
            h.store.crash_after(None)
            h.clock.advance(minutes=30)
            h.prune(reconcile=False)  # the next run (or Lambda's retry)
            h.prune(reconcile=False)  # and a duplicate of it
            assert unfollowed(h, list(range(1, 31))) == BY_HAND, writes
            assert tallies(h) == {the_day(h): DayCounts(unfollows=5, quick_unfollows=2)}, writes
            continue
        break
    else:
        raise AssertionError("the run never finished")
    assert writes > 30  # every write of the run was crashed before once


@pytest.mark.parametrize("delivery", ["twice", "2 concurrent", "4 concurrent"])
def test_duplicate_deliveries_of_the_checks_tally_each_unfollow_by_hand_once(zone: str, delivery: str) -> None:
    h = checks_world(zone, BY_HAND)
    summaries: list[PruneSummary] = []

    def run() -> None:
        summaries.append(h.prune(trigger="schedule", reconcile=False))

    if delivery == "twice":
        run()
        run()
    else:
        concurrently(*[run] * int(delivery[0]))
    assert unfollowed(h, list(range(1, 31))) == BY_HAND
    assert tallies(h) == {the_day(h): DayCounts(unfollows=5, quick_unfollows=2)}
    assert {n for s in summaries for n in s.unfollowed_by_hand} == {f"p{i}" for i in BY_HAND}


def test_a_429_between_two_lookup_batches_keeps_the_first_batchs_unfollows_once(zone: str) -> None:
    """150 people due: the first batch's answers are written, the second lookup gets a 429;
    the run after X's window records the rest. Unfollows by hand in both batches, each once."""
    h = make_harness(zone, PRUNE_DAILY_CAP="100", MONTHLY_BUDGET_USD="1000")
    for i in range(300):
        h.world.add_user(User(uid(50_000 + i), f"fan{i}", "Fan"))
        h.world.follow(uid(50_000 + i), OWNER_ID)
    for i in range(1, 151):
        followed(h, i, 20 + i / 10)  # the oldest first: 150 .. 1
    by_hand = [150, 120, 60, 40, 2]  # the first batch of 100 is 150 .. 51
    h.at_local(0, 35, days=1)
    unfollow_by_hand(h, by_hand)
    calls = fail_second_lookup(h)
    first = h.prune(trigger="schedule", reconcile=False)
    assert calls[0] == 1 and first.outcome is not RunOutcome.OK
    assert unfollowed(h, list(range(1, 151))) == [60, 120, 150]
    assert tallies(h) == {the_day(h): DayCounts(unfollows=3)}
    h.clock.advance(minutes=10)
    try:
        h.prune(trigger="schedule", reconcile=False)  # inside X's window: nothing more
    except TransientError:
        pass
    h.clock.advance(minutes=10)
    h.prune(trigger="schedule", reconcile=False)
    assert unfollowed(h, list(range(1, 151))) == sorted(by_hand)
    assert tallies(h) == {the_day(h): DayCounts(unfollows=5)}


# --- reconciliation's verification ----------------------------------------------------------

def verify_world(zone: str, people: int, *, by_hand: Sequence[int] = (), left: Sequence[int] = ()) -> Harness:
    """`people` followed back 40 days ago, their verification due; on the day's 00:35 the prune
    of the day is decided already, so a run does the reconciliation's slice alone."""
    h = make_harness(zone, MONTHLY_BUDGET_USD="1000", RECONCILE_EVERY_DAYS="1")
    for i in range(200):
        h.world.add_user(User(uid(50_000 + i), f"fan{i}", "Fan"))
        h.world.follow(uid(50_000 + i), OWNER_ID)
    for i in range(1, people + 1):
        person = followed(h, i, 60 if i % 2 else 10, follows_back=True)
        h.store.update_person(person.now_followed_back(h.clock.now() - timedelta(days=5), verify_days=1),
                              expected=(PersonStatus.FOLLOWED,))
    h.at_local(0, 35, days=1)
    h.prune(reconcile=False)
    h.clock.advance(minutes=20)
    unfollow_by_hand(h, list(by_hand))
    for i in left:
        h.world.unfollow(uid(i), OWNER_ID)  # they stopped following you back
    return h


def total(counts: dict[date, DayCounts]) -> DayCounts:
    return DayCounts(sum(c.follows for c in counts.values()), sum(c.unfollows for c in counts.values()),
                     sum(c.quick_unfollows for c in counts.values()))


def settled(h: Harness, n: int, by_hand: list[int], left: int) -> None:
    """Each unfollow by hand recorded and tallied once; who left is no longer followed back
    (the prune of a later day may have suggested them); everyone else still is."""
    state = verified_state(h, n)
    assert state["unfollowed"] == by_hand
    assert left not in state["followed_back"] and len(state["followed_back"]) == n - len(by_hand) - 1
    assert total(tallies(h)) == DayCounts(unfollows=len(by_hand), quick_unfollows=sum(1 for i in by_hand if i % 2 == 0))


def verified_state(h: Harness, n: int) -> dict[str, list[int]]:
    people = h.store.people_by_id([uid(i) for i in range(1, n + 1)])
    state: dict[str, list[int]] = {}
    for i in range(1, n + 1):
        state.setdefault(people[uid(i)].status.value, []).append(i)
    return state


def test_the_verification_writes_a_batchs_answers_in_one_write(zone: str) -> None:
    writes = {}
    for people in (10, 40):
        h = verify_world(zone, people, by_hand=[3, 4, 6], left=[9])
        before = h.store.writes
        verify = h.prune().reconciliation["verify"]
        writes[people] = h.store.writes - before
        assert isinstance(verify, dict) and verify["verified_today"] == people and verify["state"] == "finished"
        state = verified_state(h, people)
        assert (state["unfollowed"], state["followed"]) == ([3, 4, 6], [9])
        assert len(state["followed_back"]) == people - 4
        # 3 followed 60 days ago, 4 and 6 ten: quick unfollows
        assert tallies(h) == {the_day(h): DayCounts(unfollows=3, quick_unfollows=2)}
    # 40 people verified in as many writes as 10 (before: a write each)
    assert writes[40] == writes[10], writes


def test_a_crash_at_each_write_of_the_verification_tallies_each_unfollow_by_hand_once(zone: str) -> None:
    """A crash before the batch's write: the lookups are paid, so the day's slice is spent and
    the next day's pass records them; after it, the next run (and a duplicate) find them moved."""
    for writes in range(0, 100):
        h = verify_world(zone, 40, by_hand=[3, 4, 6], left=[9])
        h.store.crash_after(writes)
        try:
            h.prune()
        except Crash:
            h.store.crash_after(None)
            h.clock.advance(minutes=30)
            h.prune()
            h.prune()
            h.at_local(0, 35, days=1)
            h.prune()
            settled(h, 40, [3, 4, 6], 9)
            continue
        break
    else:
        raise AssertionError("the run never finished")
    assert writes > 3


@pytest.mark.parametrize("delivery", ["twice", "2 concurrent", "4 concurrent"])
def test_duplicate_deliveries_of_the_verification_tally_each_unfollow_by_hand_once(zone: str, delivery: str) -> None:
    h = verify_world(zone, 40, by_hand=[3, 4, 6], left=[9])
    if delivery == "twice":
        h.prune(reconcile=True)
        h.prune(reconcile=True)  # a forced slice again: the same day's
    else:
        concurrently(*[lambda: h.prune(trigger="schedule")] * int(delivery[0]))
    settled(h, 40, [3, 4, 6], 9)
    assert tallies(h) == {the_day(h): DayCounts(unfollows=3, quick_unfollows=2)}


def test_a_429_between_two_verification_batches_keeps_the_first_batchs_answers_once(zone: str) -> None:
    h = verify_world(zone, 150, by_hand=[3, 120, 140], left=[9])
    calls = fail_second_lookup(h)
    first = h.prune()
    assert calls[0] == 1 and "stopped" in first.reconciliation
    done = verified_state(h, 150)
    assert (done["unfollowed"], done["followed"]) == ([3], [9])
    assert tallies(h) == {the_day(h): DayCounts(unfollows=1)}
    h.clock.advance(minutes=20)
    h.prune()  # X's window has reset; the day's slice (what it paid for) is spent
    h.at_local(0, 35, days=1)
    h.prune()  # the next day's pass
    settled(h, 150, [3, 120, 140], 9)
