"""DynamoDB cancels a transaction whose items another request is writing at that moment
(TransactionConflict: two runs of one account at once) or that it throttles, and writes none
of it. The adapter sends such a transaction again (adapters/dynamo/base.py); a failed condition
is never sent again. DynamoDB Local serialises requests and never conflicts, so the
cancellations are injected at the botocore client, in DynamoDB's own error shape, and the
writes run against DynamoDB Local."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import TransactWriteError

from flockpilot.adapters.dynamo import base
from flockpilot.adapters.dynamo.ledger import DynamoLedger
from flockpilot.domain.account import DayCounts
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.domain.people import Person, PersonStatus, SourceCredit

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 27)


def person(i: int, status: PersonStatus = PersonStatus.SUGGESTED) -> Person:
    return Person(f"{i}", f"u{i}", status, source_id="s", score=0.5, day=DAY.isoformat())


class Cancelling:
    """Cancels the next TransactWriteItems requests with the given reasons (one list per
    request, one code per item: "None" for an item not at fault), then lets them through."""

    def __init__(self, client: Any, *cancellations: list[str]) -> None:
        self.client, self.original = client, client._make_api_call
        self.left = list(cancellations)
        self.sent = 0

    def __call__(self, operation: str, params: dict[str, Any]) -> Any:
        if operation != "TransactWriteItems":
            return self.original(operation, params)
        self.sent += 1
        if not self.left:
            return self.original(operation, params)
        codes = self.left.pop(0)
        assert len(codes) == len(params["TransactItems"]), "one reason per item, as DynamoDB gives them"
        message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]"
        raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": message},
                           "CancellationReasons": [{"Code": code} for code in codes]}, "TransactWriteItems")


@pytest.fixture
def ledger(dynamodb: Any, account_id: str) -> DynamoLedger:
    return DynamoLedger(account_id)


@pytest.fixture
def cancel(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(base, "TRANSACTION_BACKOFF_SECONDS", 0.0)
    client = base.connection().client

    def install(*cancellations: list[str]) -> Cancelling:
        fake = Cancelling(client, *cancellations)
        monkeypatch.setattr(client, "_make_api_call", fake)
        return fake

    yield install


def followed(i: int) -> Person:
    return person(i).now_followed(NOW, by_api=False, grace_days=7)


def test_a_transaction_cancelled_by_a_conflict_is_sent_again_and_written_once(ledger: DynamoLedger, cancel: Any) -> None:
    ledger.add_source(Source("s", SourceKind.ACCOUNT, "@s", NOW))
    ledger.add_person(person(1))
    conflicts = cancel(["TransactionConflict", "None", "None"], ["None", "TransactionConflict", "None"])
    assert ledger.update_person(followed(1), expected=(PersonStatus.SUGGESTED,), counts=(DAY, DayCounts(follows=1)),
                                credit=SourceCredit("s", followed=1))
    assert conflicts.sent == 3  # two cancelled, the third written
    assert ledger.people_by_id(["1"])["1"].status is PersonStatus.FOLLOWED
    assert ledger.counts(DAY, DAY) == {DAY: DayCounts(follows=1)}  # counted once
    assert ledger.sources()[0].followed == 1


def test_a_batch_cancelled_by_throttling_is_sent_again_whole(ledger: DynamoLedger, cancel: Any) -> None:
    for i in range(5):
        ledger.add_person(person(i))
    throttled = cancel(["None", "ThrottlingError", "None", "None", "None", "None"])  # five people and the day's tallies
    moved = ledger.update_people([(followed(i), (PersonStatus.SUGGESTED,)) for i in range(5)],
                                 counts=(DAY, {str(i): DayCounts(follows=1) for i in range(5)}))
    assert moved == {str(i) for i in range(5)} and throttled.sent == 2
    assert ledger.counts(DAY, DAY) == {DAY: DayCounts(follows=5)}


def test_conflicts_that_do_not_pass_fail_the_write_after_the_last_attempt(ledger: DynamoLedger, cancel: Any) -> None:
    ledger.add_source(Source("s", SourceKind.ACCOUNT, "@s", NOW))
    ledger.add_person(person(1))
    always = cancel(*[["TransactionConflict", "None", "None"]] * base.TRANSACTION_ATTEMPTS)
    with pytest.raises(TransactWriteError):
        ledger.update_person(followed(1), expected=(PersonStatus.SUGGESTED,), counts=(DAY, DayCounts(follows=1)),
                             credit=SourceCredit("s", followed=1))
    assert always.sent == base.TRANSACTION_ATTEMPTS
    assert ledger.people_by_id(["1"])["1"].status is PersonStatus.SUGGESTED  # nothing written
    assert ledger.counts(DAY, DAY) == {}


def test_a_failed_condition_is_not_sent_again(ledger: DynamoLedger, cancel: Any) -> None:
    """A condition that failed (with a conflict on another item, too) is the caller's answer:
    the person was moved by someone else. Sending it again could only fail again."""
    ledger.add_source(Source("s", SourceKind.ACCOUNT, "@s", NOW))
    ledger.add_person(person(1))
    mixed = cancel(["ConditionalCheckFailed", "TransactionConflict", "None"])
    assert not ledger.update_person(followed(1), expected=(PersonStatus.SUGGESTED,), counts=(DAY, DayCounts(follows=1)),
                                    credit=SourceCredit("s", followed=1))
    assert mixed.sent == 1
    assert ledger.counts(DAY, DAY) == {}


def test_an_invalid_transaction_is_not_sent_again(ledger: DynamoLedger, cancel: Any) -> None:
    ledger.add_source(Source("s", SourceKind.ACCOUNT, "@s", NOW))
    ledger.add_person(person(1))
    invalid = cancel(["ValidationError", "None", "None"])
    with pytest.raises(TransactWriteError):
        ledger.update_person(followed(1), expected=(PersonStatus.SUGGESTED,), counts=(DAY, DayCounts(follows=1)),
                             credit=SourceCredit("s", followed=1))
    assert invalid.sent == 1
