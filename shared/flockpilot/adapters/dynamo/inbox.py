"""DMs, conversations and the once-a-day digest claim (Inbox).

DMs are kept for X's own 30-day window (plus a margin) and expire by TTL. A conversation
with messages no digest has shown sits in the queue index ("dm_pending"), so the digest
reads the day's conversations, not every one ever stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta

from pynamodb.attributes import BooleanAttribute, JSONAttribute, UnicodeAttribute, UTCDateTimeAttribute

from flockpilot.adapters.dynamo.base import QUEUE_INDEX, Row, attempt, pk_of, raw_query, utc
from flockpilot.domain.digest import Conversation, Correspondent, Message
from flockpilot.domain.people import stamp


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

DM_RETENTION = timedelta(days=35)
DIGEST_RETENTION = timedelta(days=40)
MESSAGES_SHOWN = 20


class DynamoInbox:
    def __init__(self, account_id: str) -> None:
        self.pk = pk_of(account_id)
        self.pending_pk = f"{self.pk}#Q#dm_pending"

    def save_messages(self, conversation_id: str, messages: Sequence[Message], now: datetime) -> None:
        """Store DM events (idempotent: an event id is its key)."""
        with MessageRow.batch_write() as batch:
            for m in messages:
                batch.save(MessageRow(self.pk, f"DM#{conversation_id}#{int(m.id):020d}", sender_id=m.sender_id, text=m.text,
                                      created_at=m.created_at, from_me=m.from_me, expires_at=now + DM_RETENTION))

    def touch_conversation(self, conversation_id: str, other: Correspondent, last_at: datetime, now: datetime) -> None:
        ConversationRow(self.pk, f"CONV#{conversation_id}", other=asdict(other) | {"followed_me_since": None}, last_at=last_at,
                        q_pk=self.pending_pk, q_sk=f"{stamp(last_at)}#{conversation_id}", expires_at=now + DM_RETENTION).save()

    def pending_conversations(self, limit: int = 200) -> list[Conversation]:
        result = []
        for item in raw_query(self.pending_pk, index=QUEUE_INDEX, limit=limit):
            conv = ConversationRow.from_raw_data(item)
            cid = conv.sk.removeprefix("CONV#")
            other = Correspondent(**{k: v for k, v in conv.other.items() if k != "followed_me_since"})
            rows = MessageRow.query(self.pk, MessageRow.sk.startswith(f"DM#{cid}#"), scan_index_forward=False, limit=MESSAGES_SHOWN)
            messages = sorted((Message(r.sk.rsplit("#", 1)[1].lstrip("0") or "0", r.sender_id, r.text,
                                       utc(r.created_at) or r.created_at, bool(r.from_me)) for r in rows),
                              key=lambda m: m.created_at)
            result.append(Conversation(id=cid, other=other, messages=tuple(messages)))
        return result

    def mark_shown(self, conversation_ids: Sequence[str]) -> None:
        for cid in conversation_ids:
            attempt(lambda cid=cid: ConversationRow(self.pk, f"CONV#{cid}").update(  # type: ignore[misc]
                actions=[ConversationRow.q_pk.remove(), ConversationRow.q_sk.remove()], condition=ConversationRow.sk.exists()))

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

    def finish_digest(self, day: date, status: str, *, message_id: str | None = None, error: str | None = None) -> None:
        DigestRow(self.pk, f"DIGEST#{day.isoformat()}").update(actions=[
            DigestRow.status.set(status),
            DigestRow.message_id.set(message_id) if message_id else DigestRow.message_id.remove(),
            DigestRow.error.set(error[:500]) if error else DigestRow.error.remove(),
        ])
