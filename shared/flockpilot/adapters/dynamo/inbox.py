"""DMs and the once-a-day digest claim (Inbox).

DMs are kept for X's own 30-day window (plus a margin) and expire by TTL. A message from
someone else that no sent digest has shown sits in the queue index ("dm_unshown", keyed by
conversation and id), so the digest reads the messages waiting for it, never the history
kept; the write that records the digest as sent takes the messages it showed off the queue
(and stamps them `shown_on`), in one transaction. The same transaction moves the time up to
which messages given up unshown were counted (one row, "DIGEST#LOST"); those stay queued
until their TTL, and the digest skips them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, UnicodeAttribute, UTCDateTimeAttribute

from flockpilot.adapters.dynamo.base import QUEUE_INDEX, Row, attempt, pk_of, raw_query, transaction, utc
from flockpilot.domain.digest import DM_RETENTION, Correspondent, Message


class MessageRow(Row):
    sender_id = UnicodeAttribute()
    text = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    from_me = BooleanAttribute(default=False)
    sender = JSONAttribute(null=True)  # the sender as X showed them when the message was read (not for yours)
    shown_on = UnicodeAttribute(null=True)  # the day of the sent digest that showed it
    read_at = UTCDateTimeAttribute(null=True)  # when it was last saved (read from X): its wait for a digest runs from then

class ConversationRow(Row):
    """Written by versions before messages waited one by one: a conversation with messages no
    digest had shown sat in the "dm_pending" queue. Read only to carry those over (`_adopt_pending`)."""

    other = JSONAttribute()
    last_at = UTCDateTimeAttribute()

class DigestRow(Row):
    status = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    shown = JSONAttribute(null=True)  # what the sent digest showed: [[conversation id, message id], ...]
    lost_until = UTCDateTimeAttribute(null=True)  # on the "DIGEST#LOST" row only: messages given up until then are counted

DIGEST_RETENTION = timedelta(days=40)
MAX_SHOWN_PER_WRITE = 98  # DynamoDB's 100 writes a transaction, less the digest's own row and the lost count's
LOST_SK = "DIGEST#LOST"
LEGACY_SHOWN = 5  # what a digest before this version showed of a pending conversation: its newest 5


def _message(row: MessageRow) -> Message:
    sender = Correspondent(**{k: v for k, v in row.sender.items() if k != "followed_me_since"}) if row.sender else None
    # A row saved before read_at was kept: its TTL, set at the same save, says when.
    read_at = utc(row.read_at or (row.expires_at - DM_RETENTION if row.expires_at else None))
    return Message(row.sk.rsplit("#", 1)[1].lstrip("0") or "0", row.sender_id, row.text,
                   utc(row.created_at) or row.created_at, bool(row.from_me), sender, read_at)


class DynamoInbox:
    def __init__(self, account_id: str) -> None:
        self.pk = pk_of(account_id)
        self.unshown_pk = f"{self.pk}#Q#dm_unshown"

    def _message_sk(self, conversation_id: str, message_id: str | int) -> str:
        return f"DM#{conversation_id}#{int(message_id):020d}"

    def save_messages(self, conversation_id: str, messages: Sequence[Message], now: datetime) -> None:
        """Store DM events (an event id is its key). One conditional write each: a message
        someone else wrote joins the unshown queue unless a digest showed it already (a run
        that read it again, or a slower concurrent one, cannot make it wait a second time)."""
        for m in messages:
            row = MessageRow(self.pk, self._message_sk(conversation_id, m.id))
            actions: list[Any] = [MessageRow.sender_id.set(m.sender_id), MessageRow.text.set(m.text),
                                  MessageRow.created_at.set(m.created_at), MessageRow.from_me.set(m.from_me),
                                  MessageRow.expires_at.set(now + DM_RETENTION), MessageRow.read_at.set(now)]
            if m.sender is not None:
                actions.append(MessageRow.sender.set(asdict(m.sender) | {"followed_me_since": None}))
            if not m.from_me:
                actions += [MessageRow.q_pk.set(self.unshown_pk), MessageRow.q_sk.set(f"{conversation_id}#{int(m.id):020d}")]
            attempt(lambda row=row, actions=actions: row.update(  # type: ignore[misc]
                actions=actions, condition=MessageRow.shown_on.does_not_exist()))

    def unshown(self) -> list[tuple[str, Message]]:
        self._adopt_pending()
        out = []
        for item in raw_query(self.unshown_pk, index=QUEUE_INDEX):
            row = MessageRow.from_raw_data(item)
            out.append((row.sk.removeprefix("DM#").rsplit("#", 1)[0], _message(row)))
        return out

    def _adopt_pending(self) -> None:
        """A conversation an earlier version left pending (its digest was not sent before this
        version came) has its messages carried into the unshown queue, once: the newest
        LEGACY_SHOWN of someone else's, what that version would have shown, with the sender it
        kept on the conversation; then it leaves its old queue (a crash between the two only
        carries them again). A sparse index: once adopted, a query that finds nothing."""
        for item in raw_query(f"{self.pk}#Q#dm_pending", index=QUEUE_INDEX):
            conversation = ConversationRow.from_raw_data(item)
            cid = conversation.sk.removeprefix("CONV#")
            rows = MessageRow.query(self.pk, MessageRow.sk.startswith(f"DM#{cid}#"), scan_index_forward=False, limit=20)
            for row in [r for r in rows if not r.from_me][:LEGACY_SHOWN]:
                attempt(lambda row=row, other=conversation.other: row.update(actions=[  # type: ignore[misc]
                    MessageRow.q_pk.set(self.unshown_pk), MessageRow.q_sk.set(row.sk.removeprefix("DM#")),
                    MessageRow.sender.set(MessageRow.sender | other)],
                    condition=MessageRow.shown_on.does_not_exist()))
            conversation.update(actions=[ConversationRow.q_pk.remove(), ConversationRow.q_sk.remove()])

    def thread(self, conversation_id: str, since_id: str, *, limit: int) -> list[Message]:
        since = self._message_sk(conversation_id, since_id)
        before = list(MessageRow.query(self.pk, MessageRow.sk.between(f"DM#{conversation_id}#0",
                                                                      self._message_sk(conversation_id, int(since_id) - 1)),
                                       scan_index_forward=False, limit=1))
        after = list(MessageRow.query(self.pk, MessageRow.sk.between(since, f"DM#{conversation_id}#~"),
                                      scan_index_forward=False, limit=limit))
        rows = [r for r in before + after if r.created_at is not None and r.sender_id is not None]
        return sorted((_message(r) for r in rows), key=lambda m: int(m.id))

    def digest_state(self, day: date) -> str | None:
        try:
            return str(DigestRow.get(self.pk, f"DIGEST#{day.isoformat()}", consistent_read=True).status)
        except DigestRow.DoesNotExist:
            return None

    def claim_digest(self, day: date, now: datetime, *, force: bool) -> bool:
        """Take the day's one digest. A failed attempt may be taken again; a sent one (or one
        whose sending was interrupted, which may have gone out) only with force."""
        row = DigestRow(self.pk, f"DIGEST#{day.isoformat()}", status="sending", claimed_at=now, expires_at=now + DIGEST_RETENTION)
        condition = None if force else (DigestRow.sk.does_not_exist() | (DigestRow.status == "failed"))
        return attempt(lambda: row.save(condition=condition))

    def finish_digest(self, day: date, status: str, *, message_id: str | None = None, error: str | None = None,
                      shown: Sequence[tuple[str, str]] = (), lost_until: datetime | None = None) -> None:
        """How the day's digest ended. A sent one takes what it showed off the unshown queue in
        the same transaction (and records until when it counted the messages given up): the
        email is recorded as sent exactly when its messages are. A shown message whose row TTL
        removed meanwhile comes back as a stamp that expires too."""
        if len(shown) > MAX_SHOWN_PER_WRITE:
            raise ValueError(f"{len(shown)} messages shown: one transaction records at most {MAX_SHOWN_PER_WRITE}")
        actions: list[Any] = [
            DigestRow.status.set(status),
            DigestRow.message_id.set(message_id) if message_id else DigestRow.message_id.remove(),
            DigestRow.error.set(error[:500]) if error else DigestRow.error.remove(),
        ]
        if status != "sent" or not (shown or lost_until):
            DigestRow(self.pk, f"DIGEST#{day.isoformat()}").update(actions=actions)
            return
        expires = datetime.combine(day, time(), tzinfo=UTC) + DM_RETENTION
        with transaction() as tx:
            tx.update(DigestRow(self.pk, f"DIGEST#{day.isoformat()}"), actions=[*actions, DigestRow.shown.set([list(s) for s in shown])])
            if lost_until is not None:
                tx.update(DigestRow(self.pk, LOST_SK), actions=[DigestRow.lost_until.set(lost_until)])
            for conversation_id, message_id_ in shown:
                tx.update(MessageRow(self.pk, self._message_sk(conversation_id, message_id_)), actions=[
                    MessageRow.q_pk.remove(), MessageRow.q_sk.remove(), MessageRow.shown_on.set(day.isoformat()),
                    MessageRow.expires_at.set(MessageRow.expires_at | expires)])

    def lost_counted_until(self) -> datetime | None:
        try:
            row = DigestRow.get(self.pk, LOST_SK, consistent_read=True)
        except DigestRow.DoesNotExist:
            return None
        return utc(row.lost_until)
