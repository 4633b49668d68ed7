"""One contract, two stores: every test here runs on the in-memory fake and on the DynamoDB
store against DynamoDB Local, so the fake the job tests use cannot drift from the real one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.adapters.dynamo.inbox import DynamoInbox
from flockpilot.adapters.dynamo.ledger import DynamoLedger
from flockpilot.adapters.dynamo.records import DynamoRecords
from flockpilot.domain.account import AccountProfile, DayCounts, GrowthPoint
from flockpilot.domain.content import ItemStatus, Learning, new_item
from flockpilot.domain.digest import Correspondent, Message
from flockpilot.domain.follow import REMOVED_SOURCE_DAYS, Source, SourceKind
from flockpilot.domain.hours import ActiveHours, MixRules
from flockpilot.domain.people import AllowEntry, Card, Person, PersonQueue, PersonStatus, SourceCredit
from flockpilot.domain.plan import plan_day
from flockpilot.domain.records import FollowDay, PostRecord, PruneDay, ReconState, SyncDay, SyncProgress
from flockpilot.domain.slots import Claim, LeaseLost, Slot, SlotStatus, SlotTaken
from flockpilot.domain.x import PostMetrics
from flockpilot.jobs.sync import FRONTIER_KEEP, MAX_PAGE, PENDING_KEEP, SYNC_KEEP, TOP_KEEP, ListRead, ListTop
from tests.conftest import concurrently
from tests.fakes.store import Crash, MemoryStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)


class DynamoStore(DynamoRecords, DynamoContentPlans, DynamoLedger, DynamoInbox):
    """The four DynamoDB aggregates of one account behind one object, for the contract."""

    def __init__(self, account_id: str) -> None:
        DynamoRecords.__init__(self, account_id)
        DynamoInbox.__init__(self, account_id)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest, account_id: str) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore(account_id)
    else:
        request.getfixturevalue("dynamodb")
        yield DynamoStore(account_id)


# --- content -------------------------------------------------------------------------------

def test_an_item_added_twice_is_stored_once(store: Any) -> None:
    item = new_item(kind="quip", text="hello", now=NOW)
    assert store.add_content(item) is True
    assert store.add_content(item) is False
    assert [i.item_id for i in store.list_content()] == [item.item_id]


def test_an_item_added_with_history_round_trips_every_field(store: Any) -> None:
    item = new_item(kind="quip", text="Crust is a promise", now=NOW, evergreen=True, cooldown_days=7, tags=("humour",))
    full = replace(item.after_posting(NOW), status=ItemStatus.RETIRED, last_error="x said no",
                   learning=Learning(measured=3, impressions=3000, engagements=20, link_clicks=0, cost_usd=0.045, rests=1,
                                     judged_measured=2, retired_reason="retired: poor", retired_on="2026-11-25"))
    assert store.add_content(full) is True
    assert store.get_content(item.item_id) == full


def test_saving_an_items_state_keeps_its_text_and_its_learning(store: Any) -> None:
    item = new_item(kind="article", text="How to shape", url="https://example.com/s", now=NOW, evergreen=True)
    store.add_content(item)
    posted = replace(item.after_posting(NOW), learning=Learning(measured=2, impressions=900, engagements=40))
    store.save_content(replace(posted, text="something else"))
    got = store.get_content(item.item_id)
    assert got.text == "How to shape" and got.times_posted == 1 and got.cooldown_until == NOW + timedelta(days=30)
    assert got.learning == Learning(measured=2, impressions=900, engagements=40)


def test_a_removed_item_is_gone_and_remembered(store: Any) -> None:
    item = new_item(kind="quip", text="bye", now=NOW)
    store.add_content(item)
    assert store.remove_content(item.item_id, NOW) is True
    assert store.remove_content(item.item_id, NOW) is False
    assert store.get_content(item.item_id) is None and store.removed([item.item_id, "other"]) == {item.item_id}


def test_records_are_kept_per_account(store: Any, account_id: str) -> None:
    other = MemoryStore("2") if isinstance(store, MemoryStore) else DynamoStore(account_id + "9")
    store.add_content(new_item(kind="quip", text="mine", now=NOW))
    assert other.list_content() == []


# --- plans and slots ---------------------------------------------------------------------

def a_plan(store: Any) -> Any:
    items = [new_item(kind="quip", text=f"q{i}", now=NOW) for i in range(4)]
    return plan_day(day=DAY, tz=UTC, active=ActiveHours.parse("08:00-22:00"), rules=MixRules(posts_per_day=4, link_share=0),
                    items=items, budget_usd=10, now=NOW, seed="s")


def test_the_first_plan_of_the_day_wins(store: Any) -> None:
    plan = a_plan(store)
    assert store.put_plan_if_absent(plan, NOW) == plan
    other = replace(plan, notes=("another",))
    assert store.put_plan_if_absent(other, NOW) == plan
    stored, slots = store.plan_and_slots(DAY)
    assert stored == plan and slots == {}


def test_a_plan_keeps_when_it_went_live_and_the_first_live_mark_wins(store: Any) -> None:
    """live_from round-trips; a plan stored without one (made in dry-run, or by an earlier
    release) is marked once, by the first of concurrent live runs, and keeps that mark."""
    live = replace(a_plan(store), live_from=NOW)
    assert store.put_plan_if_absent(live, NOW) == live and store.plan_and_slots(DAY)[0] == live
    assert store.mark_plan_live(DAY, NOW + timedelta(hours=2)) == live  # already live: unchanged
    dry_day = DAY + timedelta(days=1)
    dry = replace(a_plan(store), day=dry_day)
    assert store.put_plan_if_absent(dry, NOW).live_from is None
    marks = [NOW + timedelta(hours=6, minutes=n) for n in range(4)]
    results = concurrently(*[lambda m=m: store.mark_plan_live(dry_day, m) for m in marks])
    stored, _ = store.plan_and_slots(dry_day)
    assert stored is not None and stored.live_from in marks and stored == replace(dry, live_from=stored.live_from)
    assert results == [stored] * 4  # every run got the first mark
    assert store.mark_plan_live(DAY + timedelta(days=2), NOW) is None  # no plan: nothing written


def test_a_plan_unmarked_live_keeps_everything_else_and_takes_the_next_mark(store: Any) -> None:
    """The account went to dry-run: the plan's live_from is removed (concurrent runs agree, a
    plan without one and a day without a plan are left as they are), and the next live run's
    mark is its new one."""
    live = replace(a_plan(store), live_from=NOW)
    store.put_plan_if_absent(live, NOW)
    results = concurrently(*[lambda: store.unmark_plan_live(DAY)] * 4)
    unmarked = replace(live, live_from=None)
    assert results == [unmarked] * 4 and store.plan_and_slots(DAY)[0] == unmarked
    assert store.unmark_plan_live(DAY) == unmarked  # nothing to remove: unchanged
    again = NOW + timedelta(hours=4)
    assert store.mark_plan_live(DAY, again) == replace(live, live_from=again)
    assert store.plan_and_slots(DAY)[0] == replace(live, live_from=again)
    assert store.unmark_plan_live(DAY + timedelta(days=2)) is None  # no plan: nothing written
    assert store.plan_and_slots(DAY + timedelta(days=2))[0] is None


def test_only_an_empty_plan_is_replaced_and_one_replacement_wins(store: Any) -> None:
    plan = a_plan(store)
    empty = replace(plan, slots=(), notes=("nothing to post",))
    later = NOW + timedelta(hours=5)
    assert store.put_plan_if_absent(empty, NOW) == empty
    results: list[Any] = []
    contenders = [replace(plan, notes=(f"replacement {n}",)) for n in range(4)]
    threads = [threading.Thread(target=lambda p=p: results.append(store.replace_empty_plan(p, later))) for p in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored, _ = store.plan_and_slots(DAY)
    assert stored in contenders and results == [stored] * 4  # one won; every contender got the winner's plan
    assert store.replace_empty_plan(replace(plan, notes=("too late",)), later) == stored  # a plan with slots stays
    assert store.plan_and_slots(DAY)[0] == stored
    fresh_day = replace(plan, day=DAY + timedelta(days=1))
    assert store.replace_empty_plan(fresh_day, later) == fresh_day  # no plan yet: stored as the day's first


def test_a_slot_is_claimed_once(store: Any) -> None:
    store.claim_slot(DAY, 0, now=NOW, lease_seconds=300)
    with pytest.raises(SlotTaken):
        store.claim_slot(DAY, 0, now=NOW, lease_seconds=300)


def test_a_claim_on_the_slot_as_read_holds_only_while_it_is_unchanged(store: Any) -> None:
    _, states = store.plan_and_slots(DAY)
    assert store.claim_slot(DAY, 0, now=NOW, lease_seconds=300, as_read=states.get(0)).previous is None  # read: absent
    with pytest.raises(SlotTaken):  # read absent, claimed since by a run that is alive
        store.claim_slot(DAY, 0, now=NOW, lease_seconds=300, as_read=None)
    first = store.claim_slot(DAY, 1, now=NOW, lease_seconds=300)
    store.release_slot(first, replace(first.slot, status=SlotStatus.UNKNOWN, lease=None))
    _, states = store.plan_and_slots(DAY)
    as_read = states[1]
    second = store.claim_slot(DAY, 1, now=NOW, lease_seconds=300, as_read=as_read)
    assert second.previous == as_read and second.needs_recovery is False
    store.release_slot(second, replace(second.slot, status=SlotStatus.OPEN, lease=None))
    # as_read is out of date (claimed and released since): the slot is read and claimed as it is
    third = store.claim_slot(DAY, 1, now=NOW, lease_seconds=300, as_read=as_read)
    assert third.previous is not None and third.previous.version == second.slot.version == as_read.version + 1
    assert third.slot.version == as_read.version + 2
    with pytest.raises(SlotTaken):  # read as released, claimed since by a live run
        store.claim_slot(DAY, 1, now=NOW, lease_seconds=300, as_read=second.slot)
    _, states = store.plan_and_slots(DAY)
    assert states[1].lease == third.lease


def test_concurrent_claims_have_one_winner(store: Any) -> None:
    wins: list[str] = []
    losses: list[str] = []

    def claim() -> None:
        try:
            wins.append(store.claim_slot(DAY, 1, now=NOW, lease_seconds=300).lease)
        except SlotTaken:
            losses.append("lost")

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 5


def test_a_dead_runs_claim_is_taken_over_after_its_lease_with_its_history(store: Any) -> None:
    first = store.claim_slot(DAY, 2, now=NOW, lease_seconds=300)
    first = store.note_try(first, "item-a", NOW)
    with pytest.raises(SlotTaken):
        store.claim_slot(DAY, 2, now=NOW + timedelta(seconds=299), lease_seconds=300)
    second = store.claim_slot(DAY, 2, now=NOW + timedelta(seconds=301), lease_seconds=300)
    assert second.needs_recovery and second.previous.tried == ("item-a",)
    assert second.slot.first_claimed_at == NOW and second.slot.claimed_at == NOW + timedelta(seconds=301)
    with pytest.raises(LeaseLost):
        store.note_try(first, "item-b", NOW)


def test_completion_writes_slot_item_and_post_together(store: Any) -> None:
    item = new_item(kind="quip", text="out it goes", now=NOW)
    store.add_content(item)
    claim: Claim = store.claim_slot(DAY, 3, now=NOW, lease_seconds=300)
    claim = store.note_try(claim, item.item_id, NOW)
    done = replace(claim.slot, status=SlotStatus.PUBLISHED, item_id=item.item_id, post_id="99", published_at=NOW, cost_usd=0.015)
    post = PostRecord("99", item.item_id, "quip", DAY, 3, NOW, 0.015, False)
    store.complete_slot(claim, done, content=item.after_posting(NOW), posts=[post])
    _, slots = store.plan_and_slots(DAY)
    assert slots[3].status is SlotStatus.PUBLISHED and slots[3].tried == (item.item_id,) and slots[3].lease is None
    assert store.get_content(item.item_id).status is ItemStatus.POSTED
    assert store.posts(DAY, DAY) == [post]
    with pytest.raises(LeaseLost):  # a completed slot's lease is spent
        store.complete_slot(claim, done)


def test_a_completion_that_lost_its_lease_writes_nothing(store: Any) -> None:
    item = new_item(kind="quip", text="late", now=NOW)
    store.add_content(item)
    stale: Claim = store.claim_slot(DAY, 4, now=NOW, lease_seconds=300)
    store.claim_slot(DAY, 4, now=NOW + timedelta(seconds=400), lease_seconds=300)
    with pytest.raises(LeaseLost):
        store.complete_slot(stale, replace(stale.slot, status=SlotStatus.PUBLISHED), content=item.after_posting(NOW))
    assert store.get_content(item.item_id).status is ItemStatus.QUEUED


def test_a_released_slot_waits_for_not_before_and_an_unknown_one_is_claimable_at_once(store: Any) -> None:
    claim = store.claim_slot(DAY, 5, now=NOW, lease_seconds=300)
    store.release_slot(claim, replace(claim.slot, status=SlotStatus.OPEN, not_before=NOW + timedelta(minutes=5), lease=None))
    with pytest.raises(SlotTaken):
        store.claim_slot(DAY, 5, now=NOW + timedelta(minutes=4), lease_seconds=300)
    again = store.claim_slot(DAY, 5, now=NOW + timedelta(minutes=5), lease_seconds=300)
    store.release_slot(again, replace(again.slot, status=SlotStatus.UNKNOWN, lease=None))
    third = store.claim_slot(DAY, 5, now=NOW + timedelta(minutes=6), lease_seconds=300)
    assert third.previous.status is SlotStatus.UNKNOWN and third.slot.failures == 0


def test_post_records_are_read_by_day_and_updated(store: Any) -> None:
    posts = [PostRecord(str(100 + d), "i", "quip", DAY - timedelta(days=d), 0, NOW - timedelta(days=d), 0.015, False) for d in range(5)]
    for p in posts:
        store.save_post(p)
    store.save_post(replace(posts[1], metrics=PostMetrics(likes=3, impressions=200), metrics_at=NOW))
    got = store.posts(DAY - timedelta(days=2), DAY)
    assert [p.post_id for p in got] == ["102", "101", "100"][::-1] or {p.post_id for p in got} == {"100", "101", "102"}
    assert next(p for p in got if p.post_id == "101").metrics == PostMetrics(likes=3, impressions=200)


# --- people ------------------------------------------------------------------------------

def person(i: int, status: PersonStatus = PersonStatus.RESERVE, **kw: Any) -> Person:
    return Person(f"{i}", f"u{i}", status, source_id="s", score=kw.pop("score", 0.5), day=DAY.isoformat(), **kw)


def test_a_person_is_added_once_and_known_after(store: Any) -> None:
    assert store.add_person(person(1)) is True and store.add_person(person(1)) is False
    store.mark_seen([("2", "empty bio")], NOW)
    assert store.known(["1", "2", "3"]) == {"1": "reserve", "2": "seen"}


def test_a_person_round_trips_with_every_field(store: Any) -> None:
    p = replace(person(7, PersonStatus.FOLLOWED, score=0.77), reasons=("a", "b"), followed_at=NOW, due_at=NOW + timedelta(days=7),
                by_api=True, card=Card("Ann", "bakes", 10, 20, NOW - timedelta(days=1)))
    store.add_person(p)
    assert store.people_by_id(["7", "8"]) == {"7": p}


def test_updates_happen_only_from_the_expected_status(store: Any) -> None:
    store.add_person(person(1))
    suggested = person(1).suggested(NOW)
    assert store.update_person(suggested, expected=(PersonStatus.QUEUED,)) is False
    assert store.update_person(suggested, expected=(PersonStatus.RESERVE,)) is True
    assert store.people_by_id(["1"])["1"].status is PersonStatus.SUGGESTED
    assert store.update_person(person(404).suggested(NOW), expected=(PersonStatus.RESERVE,)) is False


def test_people_are_added_together_leaving_out_whoever_the_ledger_has(store: Any) -> None:
    store.add_person(person(1, PersonStatus.SUGGESTED))
    writes = store.writes if isinstance(store, MemoryStore) else None
    added = store.add_people([person(1), person(2, score=0.2), person(2, score=0.9), person(3)])
    assert added == {"2", "3"}
    if writes is not None:
        assert store.writes - writes == 1  # one write for the lot
    got = store.people_by_id(["1", "2", "3"])
    assert got["1"].status is PersonStatus.SUGGESTED  # left as it was
    assert got["2"].score == 0.2  # an id given twice: the first
    assert store.add_people([person(2), person(3)]) == set() and store.add_people([]) == set()


def test_people_move_together_each_only_from_their_expected_status(store: Any) -> None:
    store.add_people([person(1), person(2), person(3, PersonStatus.FOLLOWED)])
    moved = store.update_people([(person(1).suggested(NOW), (PersonStatus.RESERVE,)),
                                 (person(2).suggested(NOW), (PersonStatus.QUEUED,)),  # stored as reserve: left
                                 (person(3, PersonStatus.FOLLOWED).checked_again_later(NOW), (PersonStatus.FOLLOWED,)),
                                 (person(404).suggested(NOW), (PersonStatus.RESERVE,))])  # not in the ledger: not written
    assert moved == {"1", "3"}
    got = store.people_by_id(["1", "2", "3", "404"])
    assert set(got) == {"1", "2", "3"}
    assert (got["1"].status, got["2"].status, got["3"].due_at) == (PersonStatus.SUGGESTED, PersonStatus.RESERVE, NOW + timedelta(days=1))
    with pytest.raises(ValueError, match="twice"):
        store.update_people([(person(1).suggested(NOW), (PersonStatus.SUGGESTED,))] * 2)


def test_more_people_than_one_transaction_holds_are_all_written(store: Any) -> None:
    store.add_people([person(i) for i in range(0, 150, 7)])  # some known already, in both transactions
    added = store.add_people([person(i) for i in range(150)])
    assert added == {str(i) for i in range(150) if i % 7}
    moved = store.update_people([(person(i).suggested(NOW), (PersonStatus.RESERVE,)) for i in range(150)]
                                + [(person(i).suggested(NOW), (PersonStatus.RESERVE,)) for i in range(150, 160)])
    assert moved == {str(i) for i in range(150)}
    assert store.queue_size(PersonQueue.RESERVE) == 0
    assert all(p.status is PersonStatus.SUGGESTED for p in store.people_by_id([str(i) for i in range(150)]).values())


def test_a_status_change_tallies_and_credits_in_the_same_write(store: Any) -> None:
    store.add_source(Source("s", SourceKind.ACCOUNT, "@s", NOW))
    store.add_person(person(1, PersonStatus.SUGGESTED))
    followed = person(1, PersonStatus.SUGGESTED).now_followed(NOW, by_api=False, grace_days=7)
    assert store.update_person(followed, expected=(PersonStatus.SUGGESTED,), counts=(DAY, DayCounts(follows=1)),
                               credit=SourceCredit("s", followed=1))
    assert not store.update_person(followed, expected=(PersonStatus.SUGGESTED,), counts=(DAY, DayCounts(follows=1)),
                                   credit=SourceCredit("s", followed=1))  # refused: nothing counted twice
    assert store.counts(DAY, DAY) == {DAY: DayCounts(follows=1)}
    assert store.sources()[0].followed == 1


def test_people_move_together_with_their_tallies_each_counted_only_when_written(store: Any) -> None:
    """update_people's counts: a person's tally is added in the write that moves them, so one
    whose condition fails (moved by another run) adds nothing, and a second call adds nothing."""
    followed_ = [person(i, PersonStatus.FOLLOWED, followed_at=NOW - timedelta(days=3)) for i in range(1, 5)]
    store.add_people(followed_)
    store.update_person(followed_[1].now_unfollowed(NOW, by_api=False), expected=(PersonStatus.FOLLOWED,))  # another run's
    changes = [(p.now_unfollowed(NOW, by_api=False), (PersonStatus.FOLLOWED,)) for p in followed_[:3]]
    changes.append((followed_[3].checked_again_later(NOW), (PersonStatus.FOLLOWED,)))
    tallies = {p.user_id: DayCounts(unfollows=1, quick_unfollows=int(p.user_id != "3")) for p in followed_[:3]}
    writes = store.writes if isinstance(store, MemoryStore) else None
    assert store.update_people(changes, counts=(DAY, tallies)) == {"1", "3", "4"}
    if writes is not None:
        assert store.writes - writes == 1  # the people and the day's tally: one write
    assert store.counts(DAY, DAY) == {DAY: DayCounts(unfollows=2, quick_unfollows=1)}  # 1 and 3, not 2
    got = store.people_by_id(["1", "2", "3", "4"])
    assert [got[i].status for i in "1234"] == [PersonStatus.UNFOLLOWED] * 3 + [PersonStatus.FOLLOWED]
    assert store.update_people(changes, counts=(DAY, tallies)) == {"4"}  # again (a duplicate delivery): nothing counted twice
    assert store.counts(DAY, DAY) == {DAY: DayCounts(unfollows=2, quick_unfollows=1)}
    # a single person with a tally: written with it, or refused without it
    store.add_person(person(5, PersonStatus.FOLLOWED))
    one = [(person(5, PersonStatus.FOLLOWED).now_unfollowed(NOW, by_api=False), (PersonStatus.FOLLOWED,))]
    assert store.update_people(one, counts=(DAY, {"5": DayCounts(unfollows=1)})) == {"5"}
    assert store.update_people(one, counts=(DAY, {"5": DayCounts(unfollows=1)})) == set()
    assert store.counts(DAY, DAY) == {DAY: DayCounts(unfollows=3, quick_unfollows=1)}
    with pytest.raises(ValueError, match="not among the changes"):
        store.update_people(one, counts=(DAY, {"6": DayCounts(unfollows=1)}))


def test_more_tallied_people_than_one_transaction_holds_are_each_counted_once(store: Any) -> None:
    """150 moves with 75 tallies, some of the people moved by another run first: the day's
    row is one item of each transaction (99 people a write), counted once per person written."""
    store.add_people([person(i, PersonStatus.FOLLOWED) for i in range(150)])
    taken = set(range(0, 150, 11))  # moved by another run before this one writes: in both transactions
    for i in taken:
        store.update_person(person(i, PersonStatus.FOLLOWED).prune_suggested(NOW, "x"), expected=(PersonStatus.FOLLOWED,))
    changes = [((person(i, PersonStatus.FOLLOWED).now_unfollowed(NOW, by_api=False) if i % 2 else
                 person(i, PersonStatus.FOLLOWED).checked_again_later(NOW)), (PersonStatus.FOLLOWED,)) for i in range(150)]
    tallies = {str(i): DayCounts(unfollows=1) for i in range(1, 150, 2)}
    writes = store.writes if isinstance(store, MemoryStore) else None
    written = store.update_people(changes, counts=(DAY, tallies))
    assert written == {str(i) for i in range(150) if i not in taken}
    if writes is not None:
        assert store.writes - writes == 2  # 99 and 51
    assert store.counts(DAY, DAY) == {DAY: DayCounts(unfollows=sum(1 for i in range(1, 150, 2) if i not in taken))}
    statuses = {p.user_id: p.status for p in store.people_by_id([str(i) for i in range(150)]).values()}
    assert statuses == {str(i): PersonStatus.PRUNE_SUGGESTED if i in taken else PersonStatus.UNFOLLOWED if i % 2
                        else PersonStatus.FOLLOWED for i in range(150)}


def test_a_crash_before_the_tallied_write_leaves_the_people_and_the_tally_unwritten() -> None:
    store = MemoryStore()
    store.add_people([person(i, PersonStatus.FOLLOWED) for i in range(3)])
    store.crash_after(0)
    with pytest.raises(Crash):
        store.update_people([(person(i, PersonStatus.FOLLOWED).now_unfollowed(NOW, by_api=False), (PersonStatus.FOLLOWED,))
                             for i in range(3)], counts=(DAY, {str(i): DayCounts(unfollows=1) for i in range(3)}))
    assert store.counts(DAY, DAY) == {} and {p.status for p in store.people_by_id(["0", "1", "2"]).values()} == {PersonStatus.FOLLOWED}


def test_the_reserve_gives_the_best_first(store: Any) -> None:
    for i, value in enumerate([0.2, 0.9, 0.5]):
        store.add_person(person(i, score=value))
    assert [p.user_id for p in store.queue(PersonQueue.RESERVE, limit=2)] == ["1", "2"]
    assert store.queue_size(PersonQueue.RESERVE) == 3


def test_the_check_queue_gives_who_is_due_oldest_first(store: Any) -> None:
    for i, days in enumerate([3, 10, 8, -2]):  # due 3, 10, 8 days ago and in 2 days
        store.add_person(replace(person(i, PersonStatus.FOLLOWED), due_at=NOW - timedelta(days=days)))
    due = store.queue(PersonQueue.CHECK, due_by=NOW, limit=10)
    assert [p.user_id for p in due] == ["1", "2", "0"]
    assert store.queue_size(PersonQueue.CHECK, due_by=NOW) == 3 and store.queue_size(PersonQueue.CHECK) == 4


def test_people_leave_a_queue_when_their_status_leaves_it(store: Any) -> None:
    p = replace(person(1, PersonStatus.FOLLOWED), due_at=NOW)
    store.add_person(p)
    store.update_person(p.now_unfollowed(NOW, by_api=True), expected=(PersonStatus.FOLLOWED,))
    assert store.queue(PersonQueue.CHECK, due_by=NOW + timedelta(days=400), limit=10) == []
    pending = p.follow_sent(NOW)
    store.add_person(replace(pending, user_id="2"))
    assert [x.user_id for x in store.queue(PersonQueue.PENDING, limit=10)] == ["2"]


# --- sources, allowlist, frontiers, reconciliation ----------------------------------------

def test_sources_advance_and_credit(store: Any) -> None:
    assert store.add_source(Source("a", SourceKind.ACCOUNT, "@a", NOW)) is True
    assert store.add_source(Source("a", SourceKind.ACCOUNT, "@a", NOW)) is False
    store.advance_source("a", cursor="7000000000000000001", exhausted=False, read=50, suggested=4)
    store.credit_source("a", followed=2, followed_back=1)
    got = store.sources()[0]
    assert (got.cursor, got.read, got.suggested, got.followed, got.followed_back) == ("7000000000000000001", 50, 4, 2, 1)
    assert store.remove_source("a", now=NOW) is True and store.sources() == []
    store.credit_source("a", followed=1)  # a source removed since is not brought back
    assert store.sources() == [] and store.remove_source("a", now=NOW) is False


def test_a_removed_source_added_again_comes_back_as_it_was(store: Any) -> None:
    """Removed, a source is remembered (cursor, figures, so a dry one is dry again) for
    REMOVED_SOURCE_DAYS: added again, it is read on from where it stopped, never from its
    newest followers (the very people it was judged on). A follow-back credited to it while
    it was away is counted."""
    store.add_source(Source("a", SourceKind.ACCOUNT, "@a", NOW))
    store.advance_source("a", cursor="7000000000000000001", exhausted=False, read=200, suggested=1)
    store.credit_source("a", followed=2, followed_back=1)
    assert store.sources()[0].dry
    assert store.remove_source("a", now=NOW) is True
    store.add_person(person(5, PersonStatus.FOLLOWED))
    assert store.update_person(person(5, PersonStatus.FOLLOWED_BACK), expected=(PersonStatus.FOLLOWED,),
                               credit=SourceCredit("a", followed_back=1))
    assert store.sources() == []
    later = NOW + timedelta(days=30)
    assert store.add_source(Source("a", SourceKind.ACCOUNT, "@a_renamed", later)) is True
    (back,) = store.sources()
    assert (back.label, back.cursor, back.read, back.suggested, back.followed, back.followed_back, back.exhausted) == (
        "@a_renamed", "7000000000000000001", 200, 1, 2, 2, False)
    assert back.dry and back.added_at == later
    assert store.add_source(Source("a", SourceKind.ACCOUNT, "@a", later)) is False
    # What was kept is used once: removed and added again, it comes back as it is now.
    store.advance_source("a", cursor="7000000000000000002", exhausted=True, read=100, suggested=50)
    assert store.remove_source("a", now=later) is True
    assert store.add_source(Source("a", SourceKind.MY_FOLLOWER, "@a", later)) is True
    (again,) = store.sources()
    assert (again.kind, again.cursor, again.exhausted, again.read, again.suggested) == (
        SourceKind.MY_FOLLOWER, "7000000000000000002", True, 300, 51)


def test_a_follow_back_credited_while_a_source_is_removed_is_kept(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The removal reads the source, then deletes it with what it read kept: a follow-back
    credited between the two must not be deleted with the row (the removal reads again)."""
    if isinstance(store, MemoryStore):
        pytest.skip("the in-memory store removes under one lock: nothing can come between")
    from flockpilot.adapters.dynamo import ledger as dynamo_ledger

    store.add_source(Source("a", SourceKind.ACCOUNT, "@a", NOW))
    store.credit_source("a", followed=2, followed_back=0)
    real_get, raced = dynamo_ledger.SourceRow.get, []

    def get_then_a_credit(*args: Any, **kwargs: Any) -> Any:
        row = real_get(*args, **kwargs)
        if not raced:  # another run credits a follow-back right after the removal read the row
            raced.append(True)
            store.credit_source("a", followed=0, followed_back=1)
        return row

    monkeypatch.setattr(dynamo_ledger.SourceRow, "get", get_then_a_credit)
    assert store.remove_source("a", now=NOW) is True
    monkeypatch.undo()
    assert store.add_source(Source("a", SourceKind.ACCOUNT, "@a", NOW)) is True
    (back,) = store.sources()
    assert (back.followed, back.followed_back) == (2, 1)


def test_a_source_removed_long_ago_starts_afresh(store: Any) -> None:
    store.add_source(Source("a", SourceKind.ACCOUNT, "@a", NOW))
    store.advance_source("a", cursor="7000000000000000001", exhausted=False, read=200, suggested=1)
    assert store.remove_source("a", now=NOW) is True
    much_later = NOW + timedelta(days=REMOVED_SOURCE_DAYS, seconds=1)
    assert store.add_source(Source("a", SourceKind.ACCOUNT, "@a", much_later)) is True
    (fresh,) = store.sources()
    assert (fresh.cursor, fresh.read, fresh.suggested, fresh.dry) == (None, 0, 0, False)


def test_the_allowlist(store: Any) -> None:
    assert store.allow(AllowEntry("1", "ann", "you", NOW)) is True
    assert store.allow(AllowEntry("1", "ann", "dm", NOW)) is False
    assert store.allowed(["1", "2"]) == {"1"} and store.allowlist()[0].reason == "you"
    assert store.disallow("1") is True and store.disallow("1") is False and store.allowed(["1"]) == set()


def test_frontiers_keep_the_newest_200(store: Any) -> None:
    assert store.frontier("followers") == []
    store.set_frontier("followers", [str(i) for i in range(300)], NOW)
    assert store.frontier("followers") == [str(i) for i in range(200)]


def test_a_reconciliation_state_round_trips(store: Any) -> None:
    state = ReconState("following", "run1", NOW, cursor="7000000000000000002", read=1000, usd=1.0, month="2026-11")
    store.save_recon(state)
    assert store.recon("following") == state and store.recon("followers") is None


def test_members_are_marked_swept_and_paged(store: Any) -> None:
    store.mark_members("following", ["1", "2", "3"], "r1")
    store.mark_members("following", ["2", "3", "4"], "r2")
    assert store.sweep_members("following", "r2") == ["1"]
    assert store.members("following", after=None, limit=2) == ["2", "3"]
    assert store.members("following", after="3", limit=5) == ["4"]


# --- inbox ---------------------------------------------------------------------------------

def test_messages_from_others_wait_unshown_until_a_sent_digest_showed_them(store: Any) -> None:
    other = Correspondent("7", "seven", "Seven", 10, "bio", True, False)
    theirs = [Message(str(1000 + i), "7", f"m{i}", NOW + timedelta(minutes=i), False, other) for i in range(3)]
    mine = Message("1003", "1", "my reply", NOW + timedelta(minutes=3), True)
    store.save_messages("1-7", [*theirs, mine], NOW)
    store.save_messages("1-7", theirs[:1], NOW)  # stored once
    assert [(c, m.text, m.sender) for c, m in store.unshown()] == [("1-7", f"m{i}", other) for i in range(3)]  # never yours
    store.claim_digest(DAY, NOW, force=False)
    store.finish_digest(DAY, "failed", error="SES said no", shown=[("1-7", "1000")])  # not sent: nothing shown
    assert len(store.unshown()) == 3
    store.claim_digest(DAY, NOW, force=False)
    store.finish_digest(DAY, "sent", message_id="m1", shown=[("1-7", "1000"), ("1-7", "1001")])
    assert store.digest_state(DAY) == "sent" and [m.text for _, m in store.unshown()] == ["m2"]
    store.save_messages("1-7", theirs, NOW)  # read again (a retry, a slower concurrent run): shown ones never wait again
    assert [m.text for _, m in store.unshown()] == ["m2"]


def test_unshown_messages_come_by_conversation_oldest_first_groups_too(store: Any) -> None:
    sender = Correspondent("8", "eight", "Eight", 1, "", False, False)
    store.save_messages("1-8", [Message("2002", "8", "b2", NOW, False, sender)], NOW)
    store.save_messages("1900000000000000555", [Message("2003", "8", "g", NOW, False, sender)], NOW)  # a group: one id
    store.save_messages("1-8", [Message("2001", "8", "b1", NOW, False, sender)], NOW)
    assert [(c, m.text) for c, m in store.unshown()] == [("1-8", "b1"), ("1-8", "b2"), ("1900000000000000555", "g")]


def test_a_thread_is_the_message_before_and_the_newest_from_a_point_on(store: Any) -> None:
    messages = [Message(str(3000 + i), "7", f"t{i}", NOW + timedelta(minutes=i), i % 2 == 1) for i in range(8)]
    store.save_messages("1-7", messages, NOW)
    store.save_messages("1-70", [Message("3004", "70", "elsewhere", NOW, False)], NOW)  # another conversation's keys
    assert [m.text for m in store.thread("1-7", "3003", limit=3)] == ["t2", "t5", "t6", "t7"]
    assert [m.text for m in store.thread("1-7", "3000", limit=2)] == ["t6", "t7"]  # nothing before the first
    assert [(m.text, m.from_me) for m in store.thread("1-7", "3006", limit=5)] == [("t5", True), ("t6", False), ("t7", True)]


def test_a_sent_digest_records_fifty_shown_messages_in_one_write(store: Any) -> None:
    store.save_messages("1-7", [Message(str(4000 + i), "7", f"m{i}", NOW, False) for i in range(60)], NOW)
    store.claim_digest(DAY, NOW, force=False)
    store.finish_digest(DAY, "sent", message_id="m1", shown=[("1-7", str(4000 + i)) for i in range(50)])
    assert [m.text for _, m in store.unshown()] == [f"m{i}" for i in range(50, 60)]
    with pytest.raises(ValueError, match="at most 98"):
        store.finish_digest(DAY, "sent", shown=[("1-7", str(4000 + i)) for i in range(99)])


def test_a_message_waits_from_its_read_and_a_sent_digest_records_until_when_it_counted_those_given_up(store: Any) -> None:
    store.save_messages("1-7", [Message("4100", "7", "m", NOW - timedelta(days=3), False)], NOW)
    assert [m.read_at for _, m in store.unshown()] == [NOW]  # when it was read, not when it was written
    later = NOW + timedelta(hours=5)
    store.save_messages("1-7", [Message("4100", "7", "m", NOW - timedelta(days=3), False)], later)  # read again
    assert [m.read_at for _, m in store.unshown()] == [later]
    assert store.lost_counted_until() is None
    store.claim_digest(DAY, NOW, force=False)
    store.finish_digest(DAY, "failed", error="SES said no", lost_until=later)  # not sent: nothing counted
    assert store.lost_counted_until() is None
    store.claim_digest(DAY, NOW, force=False)
    store.finish_digest(DAY, "sent", message_id="m1", lost_until=later)  # nothing shown: the count still moves
    assert store.lost_counted_until() == later and len(store.unshown()) == 1
    store.claim_digest(DAY, NOW, force=True)
    store.finish_digest(DAY, "sent", message_id="m2", shown=[("1-7", "4100")], lost_until=later + timedelta(days=1))
    assert store.lost_counted_until() == later + timedelta(days=1) and store.unshown() == []


def test_a_conversation_an_earlier_version_left_pending_is_carried_into_the_unshown_once(dynamodb: Any, account_id: str) -> None:
    """DynamoDB only: the rows an earlier version wrote exist only there."""
    from flockpilot.adapters.dynamo.base import QUEUE_INDEX, pk_of, raw_query
    from flockpilot.adapters.dynamo.inbox import ConversationRow, MessageRow

    store, pk = DynamoStore(account_id), pk_of(account_id)
    for i in range(7):  # as that version saved them: no sender, no queue
        MessageRow(pk, f"DM#1-7#{5000 + i:020d}", sender_id="1" if i == 6 else "7", text=f"old {i}", created_at=NOW,
                   from_me=i == 6, expires_at=NOW + timedelta(days=35)).save()
    other = {"id": "7", "username": "seven", "name": "Seven", "followers": 3, "description": "", "follows_me": False,
             "i_follow": False, "followed_me_since": None}
    ConversationRow(pk, "CONV#1-7", other=other, last_at=NOW, q_pk=f"{pk}#Q#dm_pending", q_sk="x#1-7").save()
    ConversationRow(pk, "CONV#1-8", other=other | {"id": "8"}, last_at=NOW).save()  # shown: not pending
    expected = [("1-7", f"old {i}", "seven") for i in range(1, 6)]  # the newest five of theirs, what it would have shown
    assert [(c, m.text, m.sender.username if m.sender else None) for c, m in store.unshown()] == expected
    assert raw_query(f"{pk}#Q#dm_pending", index=QUEUE_INDEX) == []
    assert [(c, m.text, m.sender.username if m.sender else None) for c, m in store.unshown()] == expected


def test_one_digest_a_day_unless_forced_or_failed(store: Any) -> None:
    assert store.claim_digest(DAY, NOW, force=False) is True
    assert store.claim_digest(DAY, NOW, force=False) is False
    store.finish_digest(DAY, "failed", error="SES said no")
    assert store.digest_state(DAY) == "failed" and store.claim_digest(DAY, NOW, force=False) is True
    store.finish_digest(DAY, "sent", message_id="m1")
    assert store.claim_digest(DAY, NOW, force=False) is False and store.claim_digest(DAY, NOW, force=True) is True


# --- account records -----------------------------------------------------------------------

def test_overrides_change_one_key_at_a_time(store: Any) -> None:
    assert store.overrides() == {}
    store.set_override("posts_per_day", 8)
    store.set_override("follow_mode", "suggest")
    store.set_override("posts_per_day", None)
    assert store.overrides() == {"follow_mode": "suggest"}


def test_the_recorded_deployment_comes_with_the_overrides_in_one_read(store: Any) -> None:
    assert store.settings_sources() == ({}, None)
    store.set_override("posts_per_day", 8)
    store.record_deployment({"TIME_ZONE": "Asia/Tokyo", "MODE": "live"}, NOW)
    assert store.settings_sources() == ({"posts_per_day": 8},
                                        {"env": {"TIME_ZONE": "Asia/Tokyo", "MODE": "live"}, "at": NOW.astimezone(UTC).isoformat()})
    store.record_deployment({"TIME_ZONE": "UTC"}, NOW + timedelta(hours=1))  # a redeploy replaces it whole
    overrides, deployed = store.settings_sources()
    assert overrides == {"posts_per_day": 8} and deployed is not None and deployed["env"] == {"TIME_ZONE": "UTC"}
    assert store.overrides() == {"posts_per_day": 8}


def test_concurrent_overrides_are_both_kept(store: Any) -> None:
    threads = [threading.Thread(target=store.set_override, args=(f"k{i}", i)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.overrides() == {f"k{i}": i for i in range(5)}


def test_the_profile_round_trips(store: Any) -> None:
    profile = AccountProfile("1", "demo", "Demo", 38, 8, NOW)
    store.save_profile(profile)
    assert store.profile() == profile


def test_the_profile_read_with_the_settings_serves_the_runs_first_look_and_a_save_is_read_back(store: Any) -> None:
    assert store.settings_sources() == ({}, None) and store.profile() is None  # no account item yet
    first = AccountProfile("1", "demo", "Demo", 38, 8, NOW)
    store.save_profile(first)
    store.settings_sources()
    assert store.profile() == first
    later = replace(first, followers=40, seen_at=NOW + timedelta(hours=1))
    store.settings_sources()
    store.save_profile(later)  # saved after the settings' read: that copy is not used
    assert store.profile() == later and store.profile() == later


def test_a_runs_first_profile_look_after_the_settings_read_costs_no_request(dynamodb: Any, account_id: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from flockpilot.adapters.dynamo.records import AccountRow

    store = DynamoStore(account_id)
    profile = AccountProfile("1", "demo", "Demo", 38, 8, NOW)
    store.save_profile(profile)
    store.settings_sources()
    reads: list[object] = []
    get = AccountRow.get
    monkeypatch.setattr(AccountRow, "get", classmethod(lambda cls, *a, **kw: reads.append(a) or get(*a, **kw)))
    assert store.profile() == profile and reads == []
    assert store.profile() == profile and len(reads) == 1  # a second look reads the item


def test_spend_adds_up_per_day_and_job(store: Any) -> None:
    store.add_spend(DAY, "post", 0.2, 1)
    store.add_spend(DAY, "post", 0.015, 1)
    store.add_spend(DAY, "reconcile", 0.05, 1)
    store.add_spend(DAY - timedelta(days=40), "post", 9.0, 1)
    got = store.spend(DAY.replace(day=1), DAY)
    assert list(got) == [DAY] and got[DAY].usd == pytest.approx(0.265) and got[DAY].requests == 3
    assert got[DAY].job("post") == pytest.approx(0.215) and got[DAY].job("reconcile") == pytest.approx(0.05)


def test_runs_are_kept_per_job_and_day(store: Any) -> None:
    store.save_run("post", DAY, NOW, {"n": 1})
    store.save_run("post", DAY, NOW + timedelta(minutes=10), {"n": 2})
    store.save_run("post", DAY + timedelta(days=1), NOW + timedelta(days=1), {"n": 3})
    assert store.runs("post", DAY) == [{"n": 1}, {"n": 2}] and store.last_run("post") == {"n": 3}
    assert store.runs("follow", DAY) == [] and store.last_run("follow") is None


def test_a_runs_spend_and_record_are_saved_in_one_write(store: Any) -> None:
    store.finish_run("post", DAY, NOW, 0.015, 1, {"n": 1})
    # what a run that spent nothing (the record alone) and one not worth keeping (the spend alone) write
    store.save_run("post", DAY, NOW + timedelta(minutes=10), {"n": 2})
    store.add_spend(DAY, "follow", 0.02, 2)
    store.add_spend(DAY, "prune", 0.0, 0)  # neither
    got = store.spend(DAY, DAY)[DAY]
    assert got.usd == pytest.approx(0.035) and got.requests == 3
    assert got.job("post") == pytest.approx(0.015) and got.job("follow") == pytest.approx(0.02)
    assert store.runs("post", DAY) == [{"n": 1}, {"n": 2}] and store.runs("follow", DAY) == store.runs("prune", DAY) == []
    if isinstance(store, MemoryStore):  # a crash before it: neither is written
        writes = store.writes
        store.crash_after(0)
        with pytest.raises(Crash):
            store.finish_run("post", DAY, NOW + timedelta(minutes=40), 0.015, 1, {"n": 3})
        assert store.writes == writes and store.spend(DAY, DAY)[DAY].requests == 3 and len(store.runs("post", DAY)) == 2
        store.finish_run("post", DAY, NOW + timedelta(minutes=40), 0.015, 1, {"n": 3})
        assert store.writes == writes + 1


def test_growth_gates_and_day_records(store: Any) -> None:
    store.record_growth(GrowthPoint(DAY, 40, 30), NOW)
    assert store.growth(DAY - timedelta(days=29), DAY) == [GrowthPoint(DAY, 40, 30)]
    store.set_gate("POST /2/tweets", NOW + timedelta(minutes=15))
    assert store.gates() == {"POST /2/tweets": NOW + timedelta(minutes=15)}
    record = FollowDay(day=DAY, built=True, shortlisted=["1", "2"], action_times=[NOW.isoformat()])
    store.save_day(record, NOW)
    assert store.load_day(FollowDay, DAY) == record and store.load_day(PruneDay, DAY) is None


def test_the_syncs_records_at_their_caps_are_one_item_each_however_many_pages_a_sync_reads(store: Any) -> None:
    """The day's sync keeps in its progress record the first SYNC_KEEP ids of the day's follows
    by hand and follow-backs with how many there were, the people a page is about to move
    (PENDING_KEEP at most, for either list), the top of your following (TOP_KEEP, for the
    reconciliation pass), both frontiers and their names: all capped, none bounded by what a
    day's sync reads (MAX_PAGES pages of MAX_PAGE ids of each list). Before, the two move
    lists grew with the pages read: 7,000 ids each at 7 pages, ~363 KB of the 400 KB item,
    8 pages past it. At the caps: one item, saved and read back whole, under 200 KB; the
    day's record (SyncDay), its lists capped the same way, under 60 KB."""
    ids = [str(1_600_000_000_000_000_000 + i) for i in range(4 * MAX_PAGE)]
    frontier = ListRead(ids=ids[:FRONTIER_KEEP], new=FRONTIER_KEEP, token="7140dibdnow9c7btw4b2", pages=7, size=1000, done=True)
    top = ListTop(ids=ids[:TOP_KEEP], token="7140dibdnow9c7btw4b2", pages=2, from_top=True, since=NOW.isoformat(), capped=True)
    record = SyncProgress(day=DAY, lists={"following": asdict(frontier), "followers": asdict(frontier)},
                          followed_by_hand=ids[:SYNC_KEEP], follow_backs=ids[-SYNC_KEEP:],
                          counts={"followed_by_hand": 100_000, "follow_backs": 100_000},
                          pending={"following": {"ids": ids[:PENDING_KEEP]}, "followers": {"ids": ids[-PENDING_KEEP:]}},
                          started_at=NOW.isoformat(),
                          names=dict.fromkeys(ids[:FRONTIER_KEEP], "a_fifteen_chars"), following_top=asdict(top))
    store.save_day(record, NOW)
    got = store.load_day(SyncProgress, DAY)
    assert got == record and ListTop.of(got.following_top) == top
    assert len(json.dumps(record.to_json())) < 200 * 1024
    day = SyncDay(day=DAY, done=True, followed_by_hand=ids[:SYNC_KEEP], follow_backs=ids[-SYNC_KEEP:],
                  followed_by_hand_count=100_000, follow_backs_count=100_000, followers_count=100_000, following_count=5_000)
    store.save_day(day, NOW)
    assert store.load_day(SyncDay, DAY) == day and len(json.dumps(day.to_json())) < 60 * 1024
    assert day.follow_backs_total == 100_000 and SyncDay(day=DAY, follow_backs=ids[:3]).follow_backs_total == 3  # a record from before


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_a_sync_of_more_moves_than_its_records_keep_by_id(store: Any, zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The day's sync on this store (tests/jobs/test_sync_bulk.py runs it on the fake at full
    size, 9,000 and 9,000, and with a crash at each write): 30 follow-backs and 30 follows by
    hand read in pages of 8, the records keeping 10 ids of each. Everyone moved, tallied and
    credited once; the day's records keep the first 10 of each and count 30; a second delivery
    changes nothing."""
    from tests.jobs.conftest import make_harness
    from tests.jobs.test_sync_bulk import bulk_day, settled, small_pages

    small_pages(monkeypatch)
    h = make_harness(zone)
    h.store = store
    bulk_day(h, 30, 30)
    assert h.follow(max=0).follow_backs_count == 30
    settled(h, 30, 30, keep=10)
    h.clock.advance(hours=1)
    h.follow(max=0)
    settled(h, 30, 30, keep=10)


def test_a_day_record_past_dynamodbs_item_size_is_refused_and_the_day_keeps_what_it_had(store: Any) -> None:
    """DynamoDB refuses an item over 400 KB; the fake does too, so a job test that would grow a
    day record past it fails on the fake as it would in AWS."""
    kept = SyncProgress(day=DAY, follow_backs=["1"])
    store.save_day(kept, NOW)
    huge = SyncProgress(day=DAY, follow_backs=[str(1_600_000_000_000_000_000 + i) for i in range(20_000)])  # ~480 KB
    with pytest.raises(Exception, match="maximum allowed size"):
        store.save_day(huge, NOW)
    assert store.load_day(SyncProgress, DAY) == kept


def test_a_day_record_read_back_is_a_copy_of_what_was_written(store: Any) -> None:
    """What a job changes in a record it loaded (or saved) reaches the store only by a write,
    as in DynamoDB: the fake keeps a copy, not the job's lists and dicts."""
    record = SyncProgress(day=DAY, lists={"following": {"ids": ["1"]}}, names={"1": "a"})
    store.save_day(record, NOW)
    record.lists["following"]["ids"].append("2")
    record.names["2"] = "b"
    got = store.load_day(SyncProgress, DAY)
    got.lists["following"]["ids"].append("3")
    assert store.load_day(SyncProgress, DAY) == SyncProgress(day=DAY, lists={"following": {"ids": ["1"]}}, names={"1": "a"})


def test_a_slot_round_trips_every_field(store: Any) -> None:
    claim = store.claim_slot(DAY, 9, now=NOW, lease_seconds=300)
    slot = Slot(day=DAY, index=9, status=SlotStatus.FAILED, version=claim.slot.version, claimed_at=NOW, first_claimed_at=NOW,
                tried=("a", "b"), failures=3, error="HTTP 400: bad", cost_usd=0.0)
    store.complete_slot(claim, slot)
    assert store.plan_and_slots(DAY)[1][9] == slot


def test_the_first_run_to_settle_a_day_wins(store: Any) -> None:
    mine, theirs = PruneDay(day=DAY, decided=True, decisions=[["1", "a", "why"]]), PruneDay(day=DAY, decided=True)
    assert store.settle_day(mine, NOW) is True
    assert store.settle_day(theirs, NOW) is False
    assert store.load_day(PruneDay, DAY) == mine
    store.save_day(PruneDay(day=DAY, decided=True, decisions=[["1", "a", "why"]], action_times=["t"]), NOW)  # progress
    assert store.settle_day(theirs, NOW) is False and store.load_day(PruneDay, DAY).action_times == ["t"]


def test_feeds_are_registered_once_and_their_keys_remembered(store: Any) -> None:
    from flockpilot.domain.feed import Feed

    feed = Feed("https://bakery.example.com/feed.xml", NOW)
    assert store.add_feed(feed) is True and store.add_feed(feed) is False
    store.save_feed(replace(feed, checked_on="2026-11-25", added_total=3))
    assert store.feeds() == [replace(feed, checked_on="2026-11-25", added_total=3)]
    long_key = "https://bakery.example.com/" + "p" * 2000
    store.remember_feed_keys(["guid-1", long_key], NOW)
    assert store.seen_feed_keys(["guid-1", "guid-2", long_key]) == {"guid-1", long_key}
    assert store.remove_feed(feed.feed_id) is True and store.feeds() == []
    assert store.seen_feed_keys(["guid-1"]) == {"guid-1"}  # kept after the feed goes: never added twice


def test_a_posts_figures_and_its_items_tally_are_saved_together(store: Any) -> None:
    item = new_item(kind="quip", text="measured", now=NOW, evergreen=True)
    store.add_content(item)
    post = PostRecord("500", item.item_id, "quip", DAY, 0, NOW, 0.015, False)
    store.save_post(post)
    measured = replace(post, metrics=PostMetrics(likes=9, impressions=300), metrics_at=NOW)
    store.save_results([(measured, replace(item, learning=Learning(measured=1, impressions=300, engagements=9)))])
    assert store.posts(DAY, DAY) == [measured]
    assert store.get_content(item.item_id).learning == Learning(measured=1, impressions=300, engagements=9)


def test_a_days_results_beyond_one_transaction_are_all_saved_with_their_items(store: Any) -> None:
    """130 measured posts of 3 items: more than DynamoDB's 100 writes a transaction."""
    items = [new_item(kind="quip", text=f"measured {n}", now=NOW, evergreen=True) for n in range(3)]
    for item in items:
        store.add_content(item)
    results = []
    tally = {i.item_id: 0 for i in items}
    for n in range(130):
        item = items[n % 3]
        post = PostRecord(str(1000 + n), item.item_id, "quip", DAY, n % 10, NOW, 0.015, False,
                          metrics=PostMetrics(likes=1, impressions=10), metrics_at=NOW)
        store.save_post(replace(post, metrics=None, metrics_at=None))
        tally[item.item_id] += 1
        results.append((post, replace(item, learning=Learning(measured=tally[item.item_id], impressions=10 * tally[item.item_id]))))
    store.save_results(results)
    saved = store.posts(DAY, DAY)
    assert len(saved) == 130 and all(p.metrics == PostMetrics(likes=1, impressions=10) for p in saved)
    for item in items:
        assert store.get_content(item.item_id).learning.measured == tally[item.item_id]  # the last post's state won
