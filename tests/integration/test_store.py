"""The store against DynamoDB Local."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from flockpilot.adapters.store import SlotTaken, Store
from flockpilot.domain.content import new_item

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)


def test_adding_the_same_item_twice_stores_it_once(store: Store) -> None:
    item = new_item(kind="quip", text="hello", now=NOW)
    assert store.add_content(item) is True
    assert store.add_content(item) is False
    assert [i.item_id for i in store.list_content()] == [item.item_id]


def test_records_are_kept_per_account(table: str) -> None:
    a, b = Store("111"), Store("222")
    a.add_content(new_item(kind="quip", text="mine", now=NOW))
    assert b.list_content() == []


def test_a_slot_is_claimed_once(store: Store) -> None:
    store.claim_slot(DAY, 0, "it", NOW, lease_seconds=300, max_attempts=3)
    with pytest.raises(SlotTaken):
        store.claim_slot(DAY, 0, "it", NOW, lease_seconds=300, max_attempts=3)


def test_concurrent_claims_have_one_winner(store: Store) -> None:
    wins: list[str] = []
    losses: list[str] = []

    def claim() -> None:
        try:
            wins.append(store.claim_slot(DAY, 1, "it", NOW, 300, 3).lease)
        except SlotTaken:
            losses.append("lost")

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 7


def test_a_stale_claim_can_be_taken_over_and_says_so(store: Store) -> None:
    store.claim_slot(DAY, 2, "it", NOW, 300, 3)
    with pytest.raises(SlotTaken):
        store.claim_slot(DAY, 2, "it", NOW + timedelta(seconds=299), 300, 3)
    claim = store.claim_slot(DAY, 2, "it", NOW + timedelta(seconds=301), 300, 3)
    assert claim.was_abandoned


def test_only_the_lease_holder_records_the_outcome(store: Store) -> None:
    first = store.claim_slot(DAY, 3, "it", NOW, 300, 3)
    second = store.claim_slot(DAY, 3, "it", NOW + timedelta(minutes=10), 300, 3)
    assert store.finish_slot(DAY, 3, first.lease, status="published", now=NOW, post_id="1") is False
    assert store.finish_slot(DAY, 3, second.lease, status="published", now=NOW, post_id="2") is True
    assert store.slots(DAY)[3].post_id == "2"


def test_failed_slot_is_retried_up_to_the_attempt_limit(store: Store) -> None:
    for attempt in range(3):
        claim = store.claim_slot(DAY, 4, "it", NOW, 300, max_attempts=3)
        store.finish_slot(DAY, 4, claim.lease, status="failed", now=NOW, error=f"boom {attempt}")
    with pytest.raises(SlotTaken):
        store.claim_slot(DAY, 4, "it", NOW, 300, max_attempts=3)
    assert store.slots(DAY)[4].error == "boom 2"


def test_spend_adds_up_across_concurrent_runs(store: Store) -> None:
    threads = [threading.Thread(target=store.add_spend, args=(DAY, "post", 0.2, 1)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    day = store.spend(DAY, DAY)[DAY]
    assert day["usd"] == pytest.approx(1.0) and day["post"] == pytest.approx(1.0) and day["requests"] == 5


def test_overrides_round_trip(store: Store) -> None:
    store.set_override("posts_per_day", 4, NOW)
    store.set_override("pitch_cap", 0, NOW)
    store.set_override("posts_per_day", None, NOW)
    assert store.overrides() == {"pitch_cap": 0}
