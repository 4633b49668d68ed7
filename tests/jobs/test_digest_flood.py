"""The DM digest under a flood of messages for weeks, with DynamoDB's TTL removing each stored
message 35 days after its read: counting what the digests showed, what still waits and what
was lost, in UTC, Tokyo and Los Angeles.

Every day at 10:00 the flood's messages arrive, at 18:00 the digest runs (rows past their TTL
are gone first: the fake removes them at once, the worst case for counting them). Eleven (or
twenty) people who follow you and whom you follow ask questions (worth replying); one quiet
stranger says hello (safe to ignore): ranked last every day."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.domain.digest import MAX_MESSAGES_SHOWN, OVERDUE_AFTER, SHOW_WITHIN
from flockpilot.jobs.digest import DigestSummary
from flockpilot.jobs.skeleton import RunOutcome
from tests.jobs.conftest import make_harness
from tests.jobs.test_digest import FAN, QUIET, shown, with_inbox

DAY_OF = re.compile(r" d(\d+) ")


@dataclass
class Flight:
    sent: int  # messages written to you
    summaries: list[DigestSummary]
    shown: Counter[str]  # each message's text: how many sent digests showed it as new
    waits: dict[str, int]  # each shown message's text: days from its arrival to the digest that showed it
    quiet: set[str]  # the quiet stranger's messages
    expired: int  # message rows the TTL removed

    @property
    def lost(self) -> int:
        return self.sent - len(self.shown)

    @property
    def counted_lost(self) -> int:
        return sum(s.messages_lost for s in self.summaries)


def flight(zone: str, *, days: int, friends: int, low: int, after: int) -> Flight:
    """`days` days of a flood (each of `friends` people writes 5 questions a day, the quiet
    stranger `low` hellos), then `after` quiet days; a digest every day."""
    h = make_harness(zone, MONTHLY_BUDGET_USD="5000", DIGEST_EMAIL="owner@example.com", SENDER_EMAIL="flockpilot@example.com")
    ids = [f"17100000000000{i:05d}" for i in range(friends)]
    for i, uid in enumerate(ids):
        h.world.add_user(User(uid, f"friend{i}", f"Friend {i}", description="bread"))
        h.world.follow(uid, OWNER_ID)
        h.world.follow(OWNER_ID, uid)
    sent, quiet, summaries, expired = 0, set[str](), [], 0
    for d in range(days + after):
        h.at_local(10, days=0 if d == 0 else 1)
        if d < days:
            for n in range(5):
                for i, uid in enumerate(ids):
                    h.world.add_dm(uid, OWNER_ID, f"q{i} d{d} n{n} which flour?")
                    sent += 1
            for n in range(low):
                quiet.add(text := f"hello d{d} n{n}")
                h.world.add_dm(QUIET, OWNER_ID, text)
                sent += 1
        h.at_local(18)
        expired += h.store.expire(h.clock.now())
        summaries.append(h.digest(trigger="schedule"))
        assert summaries[-1].status == "sent", summaries[-1]
    assert len(h.mail.sent) == days + after
    counts: Counter[str] = Counter()
    waits: dict[str, int] = {}
    for day, (_, _, text) in enumerate(h.mail.sent):
        for message in shown(text):
            counts[message] += 1
            match = DAY_OF.search(message)
            assert match, message
            waits[message] = day - int(match.group(1))
    return Flight(sent, summaries, counts, waits, quiet, expired)


def test_a_flood_over_the_bound_for_six_weeks_loses_nothing_and_the_lowest_ranked_waits_no_longer_than_the_rest(
        zone: str) -> None:
    """60 a day for 40 days: 55 worth replying, 5 from the quiet stranger, against 50 places
    an email, so 10 a day wait and the wait grows. Ranked alone, the quiet stranger had no
    place while the flood lasted: his first hellos expired unseen after 35 days, and nothing
    said so. Now each waits a week at most before it goes first, the longest waiting first."""
    f = flight(zone, days=40, friends=11, low=5, after=10)
    assert f.sent == 40 * 60 and max(f.shown.values()) == 1  # nothing shown twice
    assert (f.lost, f.counted_lost, f.summaries[-1].messages_waiting) == (0, 0, 0)  # all of them shown
    assert f.expired > 0  # the TTL did remove rows: the shown ones, 35 days after their digest
    assert all(s.messages_shown == MAX_MESSAGES_SHOWN for s in f.summaries[:40])  # every email full while it lasted
    quiet = max(f.waits[m] for m in f.quiet)
    assert OVERDUE_AFTER.days <= quiet == max(f.waits.values()) < SHOW_WITHIN.days  # the flood's wait, not forever


def test_a_flood_far_over_what_digests_hold_counts_every_message_it_loses_once(zone: str) -> None:
    """120 a day for 40 days against 50 places a day: 70 a day cannot be shown. Each one not
    shown within 30 days of its read is given up, and the first digest after says so, once:
    shown + counted lost = written, nothing is lost without a digest saying how many."""
    f = flight(zone, days=40, friends=20, low=20, after=SHOW_WITHIN.days + 2)
    assert f.sent == 40 * 120 and max(f.shown.values()) == 1
    assert f.summaries[-1].messages_waiting == 0 and f.summaries[-1].outcome is RunOutcome.OK
    assert f.lost > 0 and f.counted_lost == f.lost  # every message lost is counted, once
    assert len(f.shown) == sum(s.messages_shown for s in f.summaries)
    assert max(f.waits.values()) < SHOW_WITHIN.days  # none shown after it was given up
    for s in f.summaries:
        if s.messages_lost:
            assert s.outcome is RunOutcome.PARTIAL
            assert any(f"{s.messages_lost} new messages waited {SHOW_WITHIN.days} days" in r for r in s.reasons), s.reasons
    assert all(s.messages_shown == MAX_MESSAGES_SHOWN for s in f.summaries[:40])


def test_messages_given_up_are_counted_by_the_first_digest_sent_after_once(zone: str) -> None:
    """Read, never shown (the days' digests were previews), 30 days on they are given up: a
    digest SES refused counts them but sends nothing, so the one sent after it counts them
    again, in the email; a second delivery that day and the next day's digest do not."""
    h = with_inbox(make_harness(zone))
    h.at_local(18)
    assert h.digest(trigger="schedule", dry_run=True).messages_waiting == 0  # the 3 read and stored, shown nowhere
    h.at_local(18, days=SHOW_WITHIN.days)
    h.store.expire(h.clock.now())
    assert len(h.store.unshown()) == 3  # their rows stay 5 days more: the digest can count them
    h.mail.fail_with = RuntimeError("Email address is not verified")
    refused = h.digest(trigger="schedule")
    assert refused.status == "failed" and refused.messages_lost == 3
    h.mail.fail_with = None
    sent = h.digest(trigger="schedule")
    assert sent.status == "sent" and sent.messages_lost == 3 and sent.messages_shown == 0
    assert sent.outcome is RunOutcome.PARTIAL and any("3 new messages waited 30 days" in r for r in sent.reasons)
    _, html, text = h.mail.sent[0]
    note = "3 new messages waited 30 days without room in a digest and will not be shown"
    assert note in text and note in html and "hello from Leeds" not in text
    assert h.digest(trigger="schedule").status == "already-sent"
    h.at_local(18, days=1)
    h.world.add_dm(FAN, OWNER_ID, "Still there?")
    later = h.digest(trigger="schedule")
    assert (later.messages_lost, later.messages_shown, later.outcome) == (0, 1, RunOutcome.OK)
    assert shown(h.mail.sent[1][2]) == ["Still there?"]
