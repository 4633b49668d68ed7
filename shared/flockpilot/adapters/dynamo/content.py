"""Content library, day plans, slots and published posts (ContentStore and PlanStore).

A slot's completion, its item's new state and the post's record are one transaction: a
crash can never leave a published slot with its item still queued.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action

from flockpilot.adapters.dynamo.base import Row, attempt, condition_failed, pk_of, raw_query, scope_of, transaction, utc
from flockpilot.domain.content import ContentItem, ContentKind, ItemStatus, Learning
from flockpilot.domain.plan import DayPlan, DroppedItem, PlannedSlot
from flockpilot.domain.records import PostRecord
from flockpilot.domain.slots import UNREAD, Claim, LeaseLost, Slot, SlotStatus, SlotTaken, Unread
from flockpilot.domain.x import PostMetrics
from flockpilot.plain import plain

if TYPE_CHECKING:
    from flockpilot.domain.feed import Feed


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
    live_from = UTCDateTimeAttribute(null=True)

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


class FeedRow(Row):
    body = JSONAttribute()


class FeedKeyRow(Row):
    seen_at = UTCDateTimeAttribute()

PLAN_RETENTION = timedelta(days=40)
POST_RETENTION = timedelta(days=400)
POSTED_ITEM_RETENTION = timedelta(days=90)  # a one-off item that went out, kept for insights


class DynamoContentPlans:
    """ContentStore and PlanStore of one account."""

    def __init__(self, account_id: str) -> None:
        self.pk = pk_of(account_id)

    @property
    def scope(self) -> str:
        return scope_of(self.pk)

    # --- content -----------------------------------------------------------------------
    def add_content(self, item: ContentItem) -> bool:
        row = ContentRow(self.pk, f"CONTENT#{item.item_id}", item_id=item.item_id, kind=item.kind.value, text=item.text,
                         url=item.url, tags=list(item.tags), evergreen=item.evergreen, cooldown_days=item.cooldown_days,
                         weighted_length=item.weighted_length, has_url=item.has_url, added_at=item.added_at,
                         status=item.status.value, times_posted=item.times_posted, last_posted_at=item.last_posted_at,
                         cooldown_until=item.cooldown_until, last_error=item.last_error, learning=item.learning.to_json())
        return attempt(lambda: row.save(condition=ContentRow.sk.does_not_exist()))

    def _content_actions(self, item: ContentItem) -> list[Action]:
        expires = item.last_posted_at + POSTED_ITEM_RETENTION if item.status is ItemStatus.POSTED and item.last_posted_at else None
        return [
            ContentRow.status.set(item.status.value),
            ContentRow.times_posted.set(item.times_posted),
            ContentRow.last_posted_at.set(item.last_posted_at) if item.last_posted_at else ContentRow.last_posted_at.remove(),
            ContentRow.cooldown_until.set(item.cooldown_until) if item.cooldown_until else ContentRow.cooldown_until.remove(),
            ContentRow.last_error.set(item.last_error) if item.last_error else ContentRow.last_error.remove(),
            ContentRow.learning.set(item.learning.to_json()),
            ContentRow.expires_at.set(expires) if expires else ContentRow.expires_at.remove(),
        ]

    def save_content(self, item: ContentItem) -> None:
        attempt(lambda: ContentRow(self.pk, f"CONTENT#{item.item_id}").update(
            actions=self._content_actions(item), condition=ContentRow.sk.exists()))

    def get_content(self, item_id: str) -> ContentItem | None:
        try:
            return _item(ContentRow.get(self.pk, f"CONTENT#{item_id}", consistent_read=True))
        except ContentRow.DoesNotExist:
            return None

    def list_content(self) -> list[ContentItem]:
        return [_item(r) for r in ContentRow.query(self.pk, ContentRow.sk.startswith("CONTENT#"))]

    def remove_content(self, item_id: str, now: datetime) -> bool:
        """Remove an item and remember it was removed (a feed never brings it back)."""
        def remove() -> None:
            with transaction() as tx:
                tx.delete(ContentRow(self.pk, f"CONTENT#{item_id}"), condition=ContentRow.sk.exists())
                tx.save(RemovedRow(self.pk, f"REMOVED#{item_id}", removed_at=now))

        return attempt(remove)

    def removed(self, item_ids: Collection[str]) -> set[str]:
        keys = [(self.pk, f"REMOVED#{i}") for i in dict.fromkeys(item_ids)]
        return {r.sk.removeprefix("REMOVED#") for r in RemovedRow.batch_get(keys)} if keys else set()

    # --- plans and slots ---------------------------------------------------------------
    def plan_and_slots(self, day: date) -> tuple[DayPlan | None, dict[int, Slot]]:
        """The plan and its slots in one query (they share the PLAN#<day> prefix)."""
        plan: DayPlan | None = None
        slots: dict[int, Slot] = {}
        for item in raw_query(self.pk, PlanRow.sk.startswith(f"PLAN#{day.isoformat()}"), consistent_read=True):
            if "#SLOT#" in item["sk"]["S"]:
                slot = _slot(day, SlotRow.from_raw_data(item))
                slots[slot.index] = slot
            else:
                plan = _stored_plan(PlanRow.from_raw_data(item))
        return plan, slots

    def put_plan_if_absent(self, plan: DayPlan, now: datetime) -> DayPlan:
        row = PlanRow(self.pk, f"PLAN#{plan.day.isoformat()}", body=_plan_to_json(plan), created_at=now,
                      live_from=plan.live_from, expires_at=now + PLAN_RETENTION)
        if attempt(lambda: row.save(condition=PlanRow.sk.does_not_exist())):
            return plan
        return _stored_plan(PlanRow.get(self.pk, f"PLAN#{plan.day.isoformat()}", consistent_read=True))

    def mark_plan_live(self, day: date, now: datetime) -> DayPlan | None:
        key = f"PLAN#{day.isoformat()}"
        row = PlanRow(self.pk, key)
        attempt(lambda: row.update(actions=[PlanRow.live_from.set(now)],
                                   condition=PlanRow.sk.exists() & PlanRow.live_from.does_not_exist()))
        try:
            return _stored_plan(PlanRow.get(self.pk, key, consistent_read=True))
        except PlanRow.DoesNotExist:
            return None

    def unmark_plan_live(self, day: date) -> DayPlan | None:
        key = f"PLAN#{day.isoformat()}"
        row = PlanRow(self.pk, key)
        attempt(lambda: row.update(actions=[PlanRow.live_from.remove()],
                                   condition=PlanRow.sk.exists() & PlanRow.live_from.exists()))
        try:
            return _stored_plan(PlanRow.get(self.pk, key, consistent_read=True))
        except PlanRow.DoesNotExist:
            return None

    def replace_empty_plan(self, plan: DayPlan, now: datetime) -> DayPlan:
        key = f"PLAN#{plan.day.isoformat()}"
        try:
            stored = PlanRow.get(self.pk, key, consistent_read=True)
        except PlanRow.DoesNotExist:
            return self.put_plan_if_absent(plan, now)
        current = _stored_plan(stored)
        if current.slots:
            return current
        row = PlanRow(self.pk, key, body=_plan_to_json(plan), created_at=now, live_from=plan.live_from,
                      expires_at=now + PLAN_RETENTION)
        # Only the empty plan just read is replaced: a concurrent replacement changed created_at.
        if attempt(lambda: row.save(condition=PlanRow.created_at == stored.created_at)):
            return plan
        return _stored_plan(PlanRow.get(self.pk, key, consistent_read=True))

    def _slot_key(self, day: date, index: int) -> str:
        return f"PLAN#{day.isoformat()}#SLOT#{index:02d}"

    def claim_slot(self, day: date, index: int, *, now: datetime, lease_seconds: int,
                   as_read: Slot | None | Unread = UNREAD) -> Claim:
        """Take the slot before calling X: new, released and due, unknown, or held by a dead
        run. Conditional on the version read, so concurrent claims have one winner. `as_read`:
        the slot as this run read it (None: absent), claimed without reading it again if it is
        still that version (only a claim changes a claimable slot's version: its other writers
        hold a live lease); else it is read and claimed as it is now."""
        key = self._slot_key(day, index)
        if not isinstance(as_read, Unread) and (as_read is None or as_read.claimable(now, lease_seconds)):
            claim = self._claim(key, day, index, as_read, now)
            if claim is not None:
                return claim
        try:
            current: Slot | None = _slot(day, SlotRow.get(self.pk, key, consistent_read=True))
        except SlotRow.DoesNotExist:
            current = None
        if current is not None and not current.claimable(now, lease_seconds):
            raise SlotTaken(f"slot {index} is {current.status}")
        claim = self._claim(key, day, index, current, now)
        if claim is None:
            raise SlotTaken(f"slot {index} was claimed by another run")
        return claim

    def _claim(self, key: str, day: date, index: int, current: Slot | None, now: datetime) -> Claim | None:
        """Claim the slot if it is still `current` (None: absent); None if it is not."""
        lease = uuid.uuid4().hex
        base = current or Slot(day=day, index=index, status=SlotStatus.OPEN)
        slot = replace(base, status=SlotStatus.CLAIMED, version=base.version + 1, lease=lease, claimed_at=now,
                       first_claimed_at=base.first_claimed_at or now)
        row = _slot_row(self.pk, key, slot, now)
        condition = SlotRow.sk.does_not_exist() if current is None else SlotRow.version == current.version
        if not attempt(lambda: row.save(condition=condition)):
            return None
        return Claim(day=day, index=index, lease=lease, slot=slot, previous=current)

    def note_try(self, claim: Claim, item_id: str, now: datetime) -> Claim:
        """Record, before X is called, that this item is being sent for this slot."""
        tried = claim.slot.tried + ((item_id,) if item_id not in claim.slot.tried else ())
        ok = attempt(lambda: SlotRow(self.pk, self._slot_key(claim.day, claim.index)).update(
            actions=[SlotRow.tried.set(cast(Any, list(tried)))], condition=SlotRow.lease == claim.lease))
        if not ok:
            raise LeaseLost(f"slot {claim.index}")
        return replace(claim, slot=replace(claim.slot, tried=tried))

    def complete_slot(self, claim: Claim, slot: Slot, *, content: ContentItem | None = None,
                      posts: Sequence[PostRecord] = ()) -> None:
        """The slot's final outcome, its item's state and the posts' records, together."""
        key = self._slot_key(claim.day, claim.index)
        row = _slot_row(self.pk, key, replace(slot, lease=None), claim.slot.claimed_at or slot.claimed_at)
        try:
            with transaction() as tx:
                tx.save(row, condition=SlotRow.lease == claim.lease)
                if content is not None:
                    tx.update(ContentRow(self.pk, f"CONTENT#{content.item_id}"), actions=self._content_actions(content),
                              condition=ContentRow.sk.exists())
                for post in posts:
                    tx.save(_post_row(self.pk, post))
        except TransactWriteError as exc:
            if condition_failed(exc):
                raise LeaseLost(f"slot {claim.index}") from None
            raise

    def release_slot(self, claim: Claim, slot: Slot) -> None:
        key = self._slot_key(claim.day, claim.index)
        row = _slot_row(self.pk, key, replace(slot, lease=None), slot.claimed_at)
        if not attempt(lambda: row.save(condition=SlotRow.lease == claim.lease)):
            raise LeaseLost(f"slot {claim.index}")

    # --- published posts ---------------------------------------------------------------
    def posts(self, first: date, last: date) -> list[PostRecord]:
        rows = PostRow.query(self.pk, PostRow.sk.between(f"POST#{first.isoformat()}", f"POST#{last.isoformat()}#~"))
        return [_post_from_json(r.body) for r in rows]

    def save_post(self, post: PostRecord) -> None:
        _post_row(self.pk, post).save()

    def save_results(self, results: Sequence[tuple[PostRecord, ContentItem | None]]) -> None:
        from flockpilot.domain.learning import result_batches

        for posts, items in result_batches(results):
            with transaction() as tx:
                for post in posts:
                    tx.save(_post_row(self.pk, post))
                for item in items:
                    tx.update(ContentRow(self.pk, f"CONTENT#{item.item_id}"), actions=self._content_actions(item),
                              condition=ContentRow.sk.exists())

    # --- feeds -------------------------------------------------------------------------
    def add_feed(self, feed: Feed) -> bool:
        row = FeedRow(self.pk, f"FEED#{feed.feed_id}", body=plain(feed))
        return attempt(lambda: row.save(condition=FeedRow.sk.does_not_exist()))

    def remove_feed(self, feed_id: str) -> bool:
        return attempt(lambda: FeedRow(self.pk, f"FEED#{feed_id}").delete(condition=FeedRow.sk.exists()))

    def feeds(self) -> list[Feed]:
        rows = list(FeedRow.query(self.pk, FeedRow.sk.startswith("FEED#")))
        if not rows:
            return []
        from flockpilot.domain.feed import Feed  # feeds (and X's text rules) load only when there are feeds

        return [Feed(**{**r.body, "added_at": datetime.fromisoformat(r.body["added_at"])}) for r in rows]

    def save_feed(self, feed: Feed) -> None:
        attempt(lambda: FeedRow(self.pk, f"FEED#{feed.feed_id}").update(actions=[FeedRow.body.set(plain(feed))],
                                                                         condition=FeedRow.sk.exists()))

    def seen_feed_keys(self, keys: Collection[str]) -> set[str]:
        from flockpilot.domain.feed import key_digest

        by_digest = {key_digest(k): k for k in keys}
        if not by_digest:
            return set()
        rows = FeedKeyRow.batch_get([(self.pk, f"FEEDKEY#{d}") for d in by_digest], attributes_to_get=["sk"])
        return {by_digest[r.sk.removeprefix("FEEDKEY#")] for r in rows}

    def remember_feed_keys(self, keys: Collection[str], now: datetime) -> None:
        from flockpilot.domain.feed import key_digest

        with FeedKeyRow.batch_write() as batch:
            for key in dict.fromkeys(keys):
                batch.save(FeedKeyRow(self.pk, f"FEEDKEY#{key_digest(key)}", seen_at=now))


def _slot_row(pk: str, key: str, slot: Slot, claimed_at: datetime | None) -> SlotRow:
    return SlotRow(pk, key, status=slot.status.value, version=slot.version, lease=slot.lease, claimed_at=slot.claimed_at,
                   first_claimed_at=slot.first_claimed_at, tried=list(slot.tried), failures=slot.failures,
                   not_before=slot.not_before, item_id=slot.item_id, post_id=slot.post_id, published_at=slot.published_at,
                   error=(slot.error or "")[:500] or None, cost_usd=slot.cost_usd,
                   expires_at=(claimed_at or slot.first_claimed_at or datetime.now().astimezone()) + PLAN_RETENTION)


def _slot(day: date, row: SlotRow) -> Slot:
    return Slot(day=day, index=int(row.sk.rsplit("#", 1)[1]), status=SlotStatus(row.status), version=int(row.version or 0),
                lease=row.lease, claimed_at=utc(row.claimed_at), first_claimed_at=utc(row.first_claimed_at),
                tried=tuple(str(t) for t in row.tried or []), failures=int(row.failures or 0), not_before=utc(row.not_before),
                item_id=row.item_id, post_id=row.post_id, published_at=utc(row.published_at), error=row.error,
                cost_usd=float(row.cost_usd or 0))


def _item(row: ContentRow) -> ContentItem:
    return ContentItem(
        item_id=row.item_id, kind=ContentKind(row.kind), text=row.text, url=row.url, tags=tuple(str(t) for t in row.tags or []),
        evergreen=bool(row.evergreen), cooldown_days=int(row.cooldown_days), weighted_length=int(row.weighted_length or 0),
        has_url=bool(row.has_url), added_at=utc(row.added_at) or row.added_at, status=ItemStatus(row.status),
        times_posted=int(row.times_posted or 0), last_posted_at=utc(row.last_posted_at), cooldown_until=utc(row.cooldown_until),
        last_error=row.last_error, learning=Learning.from_json(row.learning),
    )


def _post_row(pk: str, post: PostRecord) -> PostRow:
    return PostRow(pk, f"POST#{post.day.isoformat()}#{post.post_id}", body=_post_to_json(post),
                   expires_at=post.published_at + POST_RETENTION)


def _post_to_json(post: PostRecord) -> dict[str, Any]:
    body = asdict(post)
    body["day"] = post.day.isoformat()
    body["published_at"] = post.published_at.isoformat()
    body["metrics_at"] = post.metrics_at.isoformat() if post.metrics_at else None
    return body


def _post_from_json(body: dict[str, Any]) -> PostRecord:
    metrics = body.get("metrics")
    return PostRecord(
        post_id=body["post_id"], item_id=body["item_id"], kind=body["kind"], day=date.fromisoformat(body["day"]),
        slot=int(body["slot"]), published_at=datetime.fromisoformat(body["published_at"]), cost_usd=float(body["cost_usd"]),
        has_url=bool(body["has_url"]), metrics=PostMetrics(**metrics) if metrics else None,
        metrics_at=datetime.fromisoformat(body["metrics_at"]) if body.get("metrics_at") else None,
        plugged=bool(body.get("plugged", False)),
    )


def _plan_to_json(plan: DayPlan) -> dict[str, Any]:
    encoded: dict[str, Any] = json.loads(json.dumps(
        {"day": plan.day.isoformat(), "budget_usd": plan.budget_usd, "notes": list(plan.notes),
         "slots": [asdict(s) for s in plan.slots], "dropped": [asdict(d) for d in plan.dropped]},
        default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)))
    return encoded


def _stored_plan(row: PlanRow) -> DayPlan:
    return replace(_plan_from_json(row.body), live_from=row.live_from)


def _plan_from_json(body: dict[str, Any]) -> DayPlan:
    return DayPlan(
        day=date.fromisoformat(body["day"]), budget_usd=float(body["budget_usd"]), notes=tuple(body.get("notes", ())),
        slots=tuple(PlannedSlot(index=int(s["index"]), at=datetime.fromisoformat(s["at"]), kind=ContentKind(s["kind"]),
                                item_id=s["item_id"], price_kind=s["price_kind"], cost_usd=float(s["cost_usd"]),
                                preview=s["preview"]) for s in body["slots"]),
        dropped=tuple(DroppedItem(ContentKind(d["kind"]), d["item_id"], float(d["cost_usd"]), d["reason"])
                      for d in body.get("dropped", ())),
    )
