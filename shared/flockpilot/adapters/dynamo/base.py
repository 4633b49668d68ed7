"""One connection for every model, conditional-write helpers and transactions.

PynamoDB gives each model class its own connection (and botocore session and client) by
default: 5-11 clients in a cold start at 0.3-0.5 s each. Here one TableConnection is built
per process and table, on the process's one botocore session (adapters/aws.py), and every
model shares it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from flockpilot.adapters.aws import botocore_session

_shared: dict[str, Any] = {}
QUEUE_INDEX = "queue"


class QueueIndex(GlobalSecondaryIndex["Row"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = QUEUE_INDEX
        projection = AllProjection()

    q_pk = UnicodeAttribute(hash_key=True)
    q_sk = UnicodeAttribute(range_key=True)


class Row(Model):
    """Every item of the table: pk = ACCT#<x user id>, sk = the record. Items some job reads
    by queue also carry q_pk/q_sk, the keys of the sparse "queue" index."""

    class Meta:
        table_name = "flockpilot-unbound"
        region = "us-east-1"
        host: str | None = None
        connect_timeout_seconds = 3
        read_timeout_seconds = 5
        max_retry_attempts = 3

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)
    q_pk = UnicodeAttribute(null=True)
    q_sk = UnicodeAttribute(null=True)
    queue = QueueIndex()

    @classmethod
    def _get_connection(cls) -> TableConnection:
        """Every item type shares the one connection bind() made (PynamoDB would give each
        model class its own, each with its own botocore session and client)."""
        table: TableConnection | None = _shared.get("table")
        if table is None:
            raise RuntimeError("the table is not bound: call flockpilot.adapters.dynamo.bind() first")
        return table


def bind(table_name: str, region: str, host: str | None) -> None:
    """Point every item type at the deployment's table (and endpoint, for DynamoDB Local)
    over one shared connection. Binding again to the same place keeps it (warm invocations)."""
    key = (table_name, region, host)
    if _shared.get("key") == key:
        return
    Row.Meta.table_name = table_name
    Row.Meta.region = region
    Row.Meta.host = host
    Row._connection = None
    table = Model._get_connection.__func__(Row)  # type: ignore[attr-defined]  # PynamoDB's own, once
    table.connection._local.session = botocore_session()
    _shared.update(key=key, table=table, connection=table.connection)


def connection() -> Connection:
    conn: Connection = _shared["connection"]
    if getattr(conn._local, "session", None) is None:  # a new thread: the same session object
        conn._local.session = botocore_session()
    return conn


def raw_query(hash_key: str, range_key_condition: Condition | None = None, *, index: str | None = None,
              consistent_read: bool = False, limit: int | None = None, forward: bool = True) -> list[dict[str, Any]]:
    """Items of any shape under one key (or one queue of the index), as raw DynamoDB maps:
    a query through one model would drop the attributes of the others. Pages are followed
    until `limit` items (or the end)."""
    table = Row._get_connection()
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        page = table.query(hash_key, range_key_condition=range_key_condition, index_name=index, exclusive_start_key=start,
                           consistent_read=consistent_read, limit=None if limit is None else limit - len(items),
                           scan_index_forward=forward)
        items += page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start or (limit is not None and len(items) >= limit):
            return items


def create_table() -> None:
    """Create the bound table as template.yaml declares it (dev and tests only)."""
    if not Row.exists():
        Row.create_table(billing_mode="PAY_PER_REQUEST", wait=True)


def pk_of(account_id: str) -> str:
    return f"ACCT#{account_id}"


def scope_of(pk: str) -> str:
    """What a store's `scope` is for one account of the bound table (the same for every store
    over it: a process keys what it remembers between runs by it)."""
    return f"dynamodb:{Row.Meta.host or 'aws'}:{Row.Meta.region}:{Row.Meta.table_name}:{pk}"


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def condition_failed(exc: PutError | UpdateError | DeleteError | TransactWriteError) -> bool:
    if isinstance(exc, TransactWriteError):
        reasons = getattr(exc, "cancellation_reasons", None) or []
        return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)
    return exc.cause_response_code == "ConditionalCheckFailedException"


def attempt(write: Callable[[], Any]) -> bool:
    """Run one conditional write: True if it happened, False if its condition did not hold."""
    try:
        write()
    except (PutError, UpdateError, DeleteError, TransactWriteError) as exc:
        if condition_failed(exc):
            return False
        raise
    return True


# DynamoDB cancels a transaction whose items another request is writing at that moment
# (TransactionConflict: two runs of one account at once, e.g. a duplicate delivery) or that it
# throttles; nothing of a cancelled transaction is written. Such a transaction is sent again,
# after a short jittered wait, as AWS advises, before the run gives up on it.
TRANSIENT_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
TRANSACTION_ATTEMPTS = 4
TRANSACTION_BACKOFF_SECONDS = 0.05  # then 0.1, 0.2: at most ~0.35 s of waiting in all


def cancelled_in_passing(exc: TransactWriteError) -> bool:
    """The transaction was cancelled only for reasons that pass (conflicts with other writes,
    throttling), not because one of its conditions failed or a request was invalid."""
    reasons = [r.code for r in (getattr(exc, "cancellation_reasons", None) or []) if r is not None]
    return bool(reasons) and set(reasons) <= TRANSIENT_CANCELLATIONS


class _TransactWrite(TransactWrite):
    """PynamoDB's TransactWrite, sent again (the same items and conditions, each condition
    checked again) while DynamoDB cancels it only in passing, up to TRANSACTION_ATTEMPTS."""

    def _commit(self) -> Any:
        for n in range(TRANSACTION_ATTEMPTS):
            try:
                return super()._commit()
            except TransactWriteError as exc:
                if n + 1 == TRANSACTION_ATTEMPTS or not cancelled_in_passing(exc):
                    raise
                time.sleep(TRANSACTION_BACKOFF_SECONDS * 2**n * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")


@contextmanager
def transaction() -> Iterator[TransactWrite]:
    """All the writes in the block happen together, or none does (conditions included). A
    transaction cancelled only by a conflict with another request's writes or by throttling
    is sent again (see _TransactWrite); a failed condition is the caller's to handle."""
    with _TransactWrite(connection=connection()) as tx:
        yield tx
