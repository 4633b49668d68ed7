"""The DynamoDB table's items as PynamoDB models: one table, every item keyed by account
(pk = ACCT#<x user id>) and record (sk), as template.yaml declares it.

sk prefixes: ACCOUNT, CONTENT#<item>, REMOVED#<item>, PLAN#<day>, PLAN#<day>#SLOT#<nn>,
POST#<day>#<post id>, DAY#<kind>#<day>, RUN#<job>#<day>#<time>, SPEND#<day>, STATS#<day>,
GATE#<endpoint>, PERSON#<id>, SEEN#<id>, COUNTS#<day>, SOURCE#<id>, ALLOW#<id>,
FRONTIER#<name>, RECON#<name>, MEMBER#<name>#<id>, DM#<conversation>#<event>,
CONV#<conversation>, DIGEST#<day>.

One sparse global secondary index ("queue": q_pk, q_sk) holds only the items some job reads
by queue: people waiting to be suggested, followed, checked or verified, and conversations
not shown in a digest yet. Items leave the index when the attributes are removed, so a
queue query reads the day's work, never the account's history.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

QUEUE_INDEX = "queue"


class QueueIndex(GlobalSecondaryIndex["Row"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = QUEUE_INDEX
        projection = AllProjection()

    q_pk = UnicodeAttribute(hash_key=True)
    q_sk = UnicodeAttribute(range_key=True)


class Row(Model):
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


class AccountRow(Row):
    overrides = MapAttribute[str, Any](default=dict)  # type: ignore[no-untyped-call]
    profile = JSONAttribute(null=True)


class ContentRow(Row):
    item_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    text = UnicodeAttribute()
    url = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    evergreen = BooleanAttribute(default=False)
    cooldown_days = NumberAttribute(default=30)
    weighted_length = NumberAttribute(default=0)
    has_url = BooleanAttribute(default=False)
    added_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(default="queued")
    times_posted = NumberAttribute(default=0)
    last_posted_at = UTCDateTimeAttribute(null=True)
    cooldown_until = UTCDateTimeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    learning = JSONAttribute(null=True)


class RemovedRow(Row):
    removed_at = UTCDateTimeAttribute()


class PlanRow(Row):
    body = JSONAttribute()
    created_at = UTCDateTimeAttribute()


class SlotRow(Row):
    status = UnicodeAttribute()
    version = NumberAttribute(default=0)
    lease = UnicodeAttribute(null=True)
    claimed_at = UTCDateTimeAttribute(null=True)
    first_claimed_at = UTCDateTimeAttribute(null=True)
    tried = ListAttribute(of=UnicodeAttribute, default=list)
    failures = NumberAttribute(default=0)
    not_before = UTCDateTimeAttribute(null=True)
    item_id = UnicodeAttribute(null=True)
    post_id = UnicodeAttribute(null=True)
    published_at = UTCDateTimeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    cost_usd = NumberAttribute(default=0)


class PostRow(Row):
    body = JSONAttribute()


class DayRow(Row):
    body = JSONAttribute()
    saved_at = UTCDateTimeAttribute()


class RunRow(Row):
    job = UnicodeAttribute()
    summary = JSONAttribute()


class SpendRow(Row):
    usd = NumberAttribute(default=0)
    requests = NumberAttribute(default=0)
    post_usd = NumberAttribute(default=0)
    follow_usd = NumberAttribute(default=0)
    prune_usd = NumberAttribute(default=0)
    digest_usd = NumberAttribute(default=0)
    reconcile_usd = NumberAttribute(default=0)
    metrics_usd = NumberAttribute(default=0)


class StatsRow(Row):
    followers = NumberAttribute()
    following = NumberAttribute()


class GateRow(Row):
    until = UTCDateTimeAttribute()


class PersonRow(Row):
    body = JSONAttribute()
    status = UnicodeAttribute()


class SeenRow(Row):
    reason = UnicodeAttribute()


class CountsRow(Row):
    follows = NumberAttribute(default=0)
    unfollows = NumberAttribute(default=0)
    quick_unfollows = NumberAttribute(default=0)


class SourceRow(Row):
    source_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    label = UnicodeAttribute()
    cursor = UnicodeAttribute(null=True)
    exhausted = BooleanAttribute(default=False)
    read_users = NumberAttribute(default=0)
    suggested = NumberAttribute(default=0)
    followed = NumberAttribute(default=0)
    followed_back = NumberAttribute(default=0)
    added_at = UTCDateTimeAttribute()


class AllowRow(Row):
    username = UnicodeAttribute(default="")
    reason = UnicodeAttribute()
    added_at = UTCDateTimeAttribute()


class FrontierRow(Row):
    ids = ListAttribute(of=UnicodeAttribute, default=list)
    updated_at = UTCDateTimeAttribute()


class ReconRow(Row):
    body = JSONAttribute()


class MemberRow(Row):
    seen_run = UnicodeAttribute()


class MessageRow(Row):
    sender_id = UnicodeAttribute()
    text = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    from_me = BooleanAttribute(default=False)


class ConversationRow(Row):
    other = JSONAttribute()
    last_at = UTCDateTimeAttribute()


class DigestRow(Row):
    status = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)


MODELS: tuple[type[Row], ...] = (
    Row, AccountRow, ContentRow, RemovedRow, PlanRow, SlotRow, PostRow, DayRow, RunRow, SpendRow, StatsRow, GateRow,
    PersonRow, SeenRow, CountsRow, SourceRow, AllowRow, FrontierRow, ReconRow, MemberRow, MessageRow, ConversationRow,
    DigestRow,
)
