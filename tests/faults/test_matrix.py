"""The fault matrix: the post, follow, prune and digest jobs through every fault we know of,
in UTC, Tokyo and Los Angeles, counting doubles and losses rather than looking for "no error".

Each post, follow or prune cell runs a whole account day of scheduled ticks (post every 10
minutes, follow and prune hourly) on the fakes, with the fault injected mid-morning; a digest
cell runs five days of DMs and daily digests, with the fault on the second day's. Then it checks:
- doubles: the same post published twice, the same person followed or unfollowed twice
  (counted where X receives the request, so a request X acted on counts even if the
  client never heard back); a message shown as NEW in two sent digests, or a second email
  for the same day (counted where the mail is sent, so an email SES took counts even if its
  answer was lost);
- losses: a planned slot not published and not explicitly failed with its reason; a person
  queued for an action not acted on by the end of the day, or left waiting on an unknown
  outcome; an item's record out of step with what X has; a message never shown.
Every fault here is temporary, so every cell must end with all its work done.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.app import SandboxApp
from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.domain.account import DayCounts
from flockpilot.domain.errors import TransientError, XError
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.domain.people import Person, PersonQueue, PersonStatus
from flockpilot.domain.records import FollowDay, PruneDay
from flockpilot.domain.slots import SlotStatus
from tests.conftest import concurrently
from tests.fakes.store import Crash
from tests.fakes.x import LambdaTime
from tests.faults.conftest import MATRIX
from tests.jobs.conftest import ZONES, FakeMailer, Harness, make_harness
from tests.jobs.test_digest import FAN, QUIET, SPAMMER, rate_limit_dm_read, shown

TIMEOUT = 0.02  # the X client's timeout in these cells
# Writes made by the tick that first acts (measured once: a test below checks these are
# still right, so a new write boundary can never go untested).
# (each: the run's spend and its record are one write at its end)
POST_TICK_WRITES = 4
# follow: the sync keeps each page of its lists (the last followers page too) before the day's record; a page's candidates
# are one write, and so is the promotion of the day's list
FOLLOW_TICK_WRITES = 18
# prune: the day synced (each page of its lists kept), decided and its 10 unfollows, in the first run inside
# the active hours; the moves a batch of follow-back checks makes are one write
PRUNE_TICK_WRITES = 60
SENT_NOT_RECORDED = 15  # the digest's write after SES took its email: the one that records it sent
DIGEST_TICK_WRITES = 17  # the day's 10 DMs stored, the read's frontier and day, profile and growth, claim, sent, spend and run
SLOW = 0.05  # a fault's delay: longer than the timeout
MARGIN = 5.0  # the X client's: no call starts unless its timeout and this still fit


def out_of_time(writes: int | None) -> LambdaTime:
    """The acting tick's function near its time limit: `writes` writes to X fit (reads take
    no time), then no call starts; None: not even a read."""
    if writes is None:
        return LambdaTime(left=1.0, short_below=MARGIN + TIMEOUT)
    return LambdaTime(left=MARGIN + TIMEOUT + writes - 0.5, per_call=0.0, per_write=1.0, short_below=MARGIN + TIMEOUT)


def note_time_limit(cell: Cell, time_left: LambdaTime | None) -> None:
    if time_left is not None and not time_left.short:
        cell.notes.append("no stop: the tick made fewer writes")


TIME_LIMITS = {"time limit before any call": None, "time limit after the reads": 0, "time limit after 1 write": 1,
               "time limit after 3 writes": 3}
# The acting post tick makes one write to X, the acting follow tick its one follow of the
# hour: a limit after more writes would never stop them.
POST_TIME_LIMITS = FOLLOW_TIME_LIMITS = [k for k, v in TIME_LIMITS.items() if v is None or v < 1]


def faults(operation: str) -> dict[str, list[Fault]]:
    return {
        "429 once": [Fault("429", operation, reset_in_seconds=300)],
        "429 three times": [Fault("429", operation, times=3, reset_in_seconds=300)],
        "500": [Fault("500", operation)],
        "503": [Fault("503", operation)],
        "timeout, X did not act": [Fault("timeout", operation, delay_seconds=SLOW)],
        "timeout, X acted": [Fault("commit_then_timeout", operation, delay_seconds=SLOW)],
        "connection reset": [Fault("connection_reset", operation)],
        "reset after X acted": [Fault("commit_then_reset", operation)],
    }


@dataclass
class Cell:
    job: str
    fault: str
    zone: str
    planned: int = 0
    done: int = 0
    doubles: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)


class Delivery:
    """How each scheduled tick arrives: once, twice (a duplicate delivery), or N at a time."""

    def __init__(self, copies: int = 1, concurrent: bool = False) -> None:
        self.copies, self.concurrent = copies, concurrent

    def __call__(self, tick: Callable[[], Any]) -> None:
        if not self.concurrent:
            for _ in range(self.copies):
                tick()
            return
        concurrently(*[tick] * self.copies)  # a thread's failure fails the cell


DELIVERIES = {"delivered twice": Delivery(2), "2 concurrent": Delivery(2, concurrent=True),
              "4 concurrent": Delivery(4, concurrent=True)}


def inject(h: Harness, faults: list[Fault], time_left: LambdaTime | None) -> None:
    for fault in faults:
        h.world.inject(fault)
    h.lambda_time = time_left


def run_ticks(h: Harness, job: Callable[[], Any], *, every: timedelta, start: tuple[int, int], end: tuple[int, int],
              delivery: Delivery, inject: Callable[[], None], inject_at: tuple[int, int], crash_writes: int | None = None) -> int:
    """Scheduled ticks over the account's day; the fault goes in before the tick at
    `inject_at`; a crash (if any) hits that tick. Returns how many ticks crashed."""
    h.at_local(*start)
    stop, trigger = h.local(*end), h.local(*inject_at)
    injected, crashes = False, 0
    while h.clock.now() <= stop:
        if not injected and h.clock.now() >= trigger:
            inject()
            if crash_writes is not None:
                h.store.crash_after(crash_writes)
            injected = True
        try:
            delivery(job)
        except Crash:
            crashes += 1
        except TransientError:  # raised for Lambda to retry: the retry is the next tick
            pass
        h.store.crash_after(None)
        h.lambda_time = None  # a time limit hits the tick it was set for; the next has its own
        h.clock.advance(seconds=every.total_seconds())
    return crashes


# --- post ------------------------------------------------------------------------------------

def first_slot_tick(h: Harness) -> tuple[int, int]:
    """The local time of the first tick that publishes (the plan is made at 07:00)."""
    h.post(trigger="schedule")
    plan, _ = h.store.plan_and_slots(h.clock.now().astimezone(h.zone).date())
    assert plan is not None and plan.slots
    at = plan.slots[0].at.astimezone(h.zone)
    minutes = at.hour * 60 + at.minute + (-at.minute) % 10
    return minutes // 60, minutes % 60


def post_cell(zone: str, fault: str, injected: list[Fault], delivery: Delivery, crash_writes: int | None = None,
              time_left: LambdaTime | None = None) -> Cell:
    h = make_harness(zone)
    h.x_timeout = TIMEOUT
    h.stock()
    cell = Cell("post", fault, zone)
    inject_at = first_slot_tick(h) if crash_writes is not None or time_left is not None else (11, 0)
    crashes = run_ticks(h, lambda: h.post(trigger="schedule"), every=timedelta(minutes=10), start=(7, 0), end=(23, 50),
                        delivery=delivery, inject=lambda: inject(h, injected, time_left), inject_at=inject_at,
                        crash_writes=crash_writes)
    if crash_writes is not None and not crashes:
        cell.notes.append("no crash: the tick made fewer writes")
    note_time_limit(cell, time_left)
    day = h.clock.now().astimezone(h.zone).date() - timedelta(days=1) if h.clock.now().astimezone(h.zone).hour < 7 else \
        h.clock.now().astimezone(h.zone).date()
    plan, slots = h.store.plan_and_slots(day)
    assert plan is not None
    texts = Counter(h.own_posts())
    cell.planned = len(plan.slots)
    published = [s for s in slots.values() if s.status is SlotStatus.PUBLISHED]
    cell.done = len(published)
    # A double is the same text twice, or more posts on X than slots published (an extra post
    # for a slot, even with another item's text).
    cell.doubles = sum(n - 1 for n in texts.values() if n > 1) + max(0, sum(texts.values()) - len(published))
    unexplained = [s for s in plan.slots if s.index not in slots or slots[s.index].status not in
                   (SlotStatus.PUBLISHED, SlotStatus.FAILED, SlotStatus.SKIPPED)
                   or (slots[s.index].status is not SlotStatus.PUBLISHED and not slots[s.index].error)]
    out_of_step = [s for s in published if (item := h.store.get_content(s.item_id or "")) is not None
                   and texts[item.post_text] != (1 if not item.evergreen else texts[item.post_text])]
    cell.lost = len(unexplained) + len(out_of_step) + max(0, len(published) - sum(texts.values()))
    return cell


POST_FAULTS = {**faults("createPosts"),
               "refused, the substitute times out after X acted": [Fault("duplicate", "createPosts"),
                                                                   Fault("commit_then_timeout", "createPosts", delay_seconds=SLOW)],
               "X acted, then the recovery read fails twice": [Fault("commit_then_timeout", "createPosts", delay_seconds=SLOW),
                                                               Fault("503", "getUsersPosts", times=6)]}


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("fault", [*POST_FAULTS, *DELIVERIES, *POST_TIME_LIMITS,
                                   *(f"crash before write {k}" for k in range(POST_TICK_WRITES))])
def test_post(zone: str, fault: str) -> None:
    if fault in TIME_LIMITS:
        cell = post_cell(zone, fault, [], Delivery(), time_left=out_of_time(TIME_LIMITS[fault]))
    elif fault.startswith("crash"):
        cell = post_cell(zone, fault, [], Delivery(), crash_writes=int(fault.rsplit(" ", 1)[1]))
    elif fault in DELIVERIES:
        cell = post_cell(zone, fault, [], DELIVERIES[fault])
    else:
        cell = post_cell(zone, fault, POST_FAULTS[fault], Delivery())
    MATRIX.append(cell)
    assert (cell.doubles, cell.lost) == (0, 0), cell
    assert cell.done == cell.planned, cell


# --- follow (api mode) -------------------------------------------------------------------------

def follow_world(h: Harness, n: int = 25) -> Counter[str]:
    """Room in the band, one big source whose followers pass the filters; follows counted
    where X receives them."""
    h.world.follow_permitted = True
    h.env.update(FOLLOW_MODE="api", FOLLOW_DAILY_CAP="10", MONTHLY_BUDGET_USD="1000", FOLLOW_USE_MY_FOLLOWERS="false",
                 FOLLOW_USE_MENTIONS="false", FOLLOW_MIN_FOLLOWERS="0", FOLLOW_SKIP_EMPTY_BIO="false", FOLLOW_ACTIVE_DAYS="3650")
    source = "1700000000000000100"
    for i in range(n):
        uid = f"19000000000000{i:05d}"
        h.world.add_user(User(uid, f"crowd{i}", "Crowd", description="bread", profile_image_url="https://pbs.twimg.com/p.jpg"))
        h.world.follow(uid, source)
        h.world.follow(uid, OWNER_ID)
        h.world.add_post(uid, "hi")
    h.store.add_source(Source(source, SourceKind.ACCOUNT, "@breadnerd", h.clock.now()))
    received: Counter[str] = Counter()
    original = SandboxApp.op_followUser

    def counting(app: SandboxApp, request: Any, user_id: str, id: str) -> Any:
        received[str((request.get_json(silent=True) or {}).get("target_user_id"))] += 1
        return original(app, request, user_id, id)

    h.app = SandboxApp(h.world, validate=False)
    h.app.op_followUser = counting.__get__(h.app)  # type: ignore[method-assign]
    return received


def follow_cell(zone: str, fault: str, injected: list[Fault], delivery: Delivery, crash_writes: int | None = None,
                time_left: LambdaTime | None = None) -> Cell:
    h = make_harness(zone)
    h.x_timeout = TIMEOUT
    received = follow_world(h)
    cell = Cell("follow", fault, zone)
    crashes = run_ticks(h, lambda: h.follow(trigger="schedule"), every=timedelta(hours=1), start=(8, 5), end=(21, 5),
                        delivery=delivery, inject=lambda: inject(h, injected, time_left),
                        inject_at=(8, 5) if crash_writes is not None or time_left is not None else (11, 5),
                        crash_writes=crash_writes)
    if crash_writes is not None and not crashes:
        cell.notes.append("no crash: the tick made fewer writes")
    note_time_limit(cell, time_left)
    h.at_local(21, 55)  # the last tick of the day (after it, the queue must be empty)
    h.follow(trigger="schedule")
    record = h.store.load_day(FollowDay, h.clock.now().astimezone(h.zone).date())
    assert record is not None
    people = h.store.people_by_id(record.shortlisted)
    cell.planned = len(record.shortlisted)
    cell.doubles = sum(n - 1 for n in received.values() if n > 1)
    # Followed, or followed and already seen following back: with concurrent deliveries a
    # second copy of the day's first tick may sync after the first copy's follows.
    followed = [p for p in people.values() if p.status in (PersonStatus.FOLLOWED, PersonStatus.FOLLOWED_BACK)]
    cell.done = len(followed)
    waiting = h.store.queue(PersonQueue.QUEUED, limit=400) + h.store.queue(PersonQueue.PENDING, limit=400)
    in_step = all(p.user_id in h.world.following[OWNER_ID] for p in followed)
    cell.lost = len(waiting) + (0 if in_step else 1) + (cell.planned - len(people))
    return cell


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("fault", [*faults("followUser"), *DELIVERIES, *FOLLOW_TIME_LIMITS,
                                   *(f"crash before write {k}" for k in range(FOLLOW_TICK_WRITES))])
def test_follow(zone: str, fault: str) -> None:
    if fault in TIME_LIMITS:
        cell = follow_cell(zone, fault, [], Delivery(), time_left=out_of_time(TIME_LIMITS[fault]))
    elif fault.startswith("crash"):
        cell = follow_cell(zone, fault, [], Delivery(), crash_writes=int(fault.rsplit(" ", 1)[1]))
    elif fault in DELIVERIES:
        cell = follow_cell(zone, fault, [], DELIVERIES[fault])
    else:
        cell = follow_cell(zone, fault, faults("followUser")[fault], Delivery())
    MATRIX.append(cell)
    assert (cell.doubles, cell.lost) == (0, 0), cell
    assert cell.done == cell.planned == 10, cell


# --- prune (api mode) ----------------------------------------------------------------------------

def prune_world(h: Harness, n: int = 15) -> Counter[str]:
    """15 people followed through Flockpilot 40 days ago who never followed back; plenty of
    follows in the last month, so the churn guard stays calm; unfollows counted at X."""
    h.world.follow_permitted = True
    h.env.update(PRUNE_MODE="api", PRUNE_DAILY_CAP="10", MONTHLY_BUDGET_USD="1000")
    for i in range(100):
        h.world.add_user(User(f"15000000000000{i:05d}", f"fan{i}", "Fan"))
        h.world.follow(f"15000000000000{i:05d}", OWNER_ID)
    for i in range(n):
        uid = f"16000000000000{i:05d}"
        h.world.add_user(User(uid, f"p{i}", "P"))
        h.world.follow(OWNER_ID, uid)
        person = Person(uid, f"p{i}", PersonStatus.SUGGESTED, "src").now_followed(h.clock.now() - timedelta(days=40),
                                                                                   by_api=False, grace_days=7)
        h.store.add_person(person)
    day = h.clock.now().astimezone(h.zone).date()
    h.store.update_person(person, expected=(PersonStatus.FOLLOWED,), counts=(day - timedelta(days=3), DayCounts(follows=100)))
    received: Counter[str] = Counter()
    original = SandboxApp.op_unfollowUser

    def counting(app: SandboxApp, request: Any, user_id: str, source_user_id: str, target_user_id: str) -> Any:
        received[target_user_id] += 1
        return original(app, request, user_id, source_user_id, target_user_id)

    h.app = SandboxApp(h.world, validate=False)
    h.app.op_unfollowUser = counting.__get__(h.app)  # type: ignore[method-assign]
    return received


def prune_cell(zone: str, fault: str, injected: list[Fault], delivery: Delivery, crash_writes: int | None = None,
               time_left: LambdaTime | None = None) -> Cell:
    h = make_harness(zone)
    h.x_timeout = TIMEOUT
    received = prune_world(h)
    cell = Cell("prune", fault, zone)
    crashes = run_ticks(h, lambda: h.prune(trigger="schedule", reconcile=False), every=timedelta(minutes=20), start=(8, 35),
                        end=(21, 35), delivery=delivery, inject=lambda: inject(h, injected, time_left),
                        inject_at=(8, 35) if crash_writes is not None or time_left is not None else (8, 55),
                        crash_writes=crash_writes)
    if crash_writes is not None and not crashes:
        cell.notes.append("no crash: the tick made fewer writes")
    note_time_limit(cell, time_left)
    record = h.store.load_day(PruneDay, h.clock.now().astimezone(h.zone).date())
    assert record is not None
    people = h.store.people_by_id(record.ids)
    cell.planned = len(record.ids)
    cell.doubles = sum(n - 1 for n in received.values() if n > 1)
    gone = [p for p in people.values() if p.status is PersonStatus.UNFOLLOWED]
    cell.done = len(gone)
    waiting = [p for p in people.values() if p.status is not PersonStatus.UNFOLLOWED]
    in_step = all(p.user_id not in h.world.following[OWNER_ID] for p in gone)
    cell.lost = len(waiting) + (0 if in_step else 1)
    return cell


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("fault", [*faults("unfollowUser"), *DELIVERIES, *TIME_LIMITS,
                                   *(f"crash before write {k}" for k in range(PRUNE_TICK_WRITES))])
def test_prune(zone: str, fault: str) -> None:
    if fault in TIME_LIMITS:
        cell = prune_cell(zone, fault, [], Delivery(), time_left=out_of_time(TIME_LIMITS[fault]))
    elif fault.startswith("crash"):
        cell = prune_cell(zone, fault, [], Delivery(), crash_writes=int(fault.rsplit(" ", 1)[1]))
    elif fault in DELIVERIES:
        cell = prune_cell(zone, fault, [], DELIVERIES[fault])
    else:
        cell = prune_cell(zone, fault, faults("unfollowUser")[fault], Delivery())
    MATRIX.append(cell)
    assert (cell.doubles, cell.lost) == (0, 0), cell
    assert cell.done == cell.planned == 10, cell


# --- digest --------------------------------------------------------------------------------------

DIGEST_DAYS = 5  # the fault hits the second day's digest (a 429 three times, three days': one read a day); the last shows what was left
WRITERS = ((FAN, "q"), (QUIET, "hello"), (SPAMMER, "promo"))


class FaultyMailer(FakeMailer):
    """SES as the digest meets it: `faults` are taken one per send, in order; "busy" (nothing
    sent, a retry can), "refused" (nothing sent, a retry cannot), "answer lost" (SES took the
    email, then the connection failed: the caller cannot tell it went)."""

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[str] = []

    def __call__(self, subject: str, html: str, text: str) -> str:
        fault = self.faults.pop(0) if self.faults else None
        if fault == "busy":
            raise TransientError("SES is busy (Throttling); a retry will send the digest")
        if fault == "refused":
            from flockpilot.adapters.mail import MailError
            raise MailError("SES did not accept the digest: Email address is not verified")
        message_id = super().__call__(subject, html, text)
        if fault == "answer lost":  # what adapters/mail.py raises for a read timeout or a dropped connection
            from flockpilot.domain.errors import MailMaybeSent
            raise MailMaybeSent("SES's answer was lost (Read timeout on endpoint URL): it may have sent the digest")
        return message_id


def dms_of_the_day(h: Harness, day: int) -> list[str]:
    """Ten DMs at 09:00: three from each of three people (the read takes pages of 1, 2, 4 and
    8 on top of what is known), and your reply. Returns the texts from others."""
    texts = []
    for n in range(3):
        for user_id, word in WRITERS:
            texts.append(f"{word} d{day} n{n}")
            h.world.add_dm(user_id, OWNER_ID, texts[-1])
    h.world.add_dm(OWNER_ID, FAN, f"reply d{day}")
    return texts


def digest_cell(zone: str, fault: str, injected: list[Fault], delivery: Delivery, crash_writes: int | None = None,
                time_left: LambdaTime | None = None, mail: Sequence[str] = (), dm_429_on_call: int | None = None) -> Cell:
    """Five days: DMs at 09:00, the scheduled digest at 18:15 (and Lambda's one retry two
    minutes later if the run raised or the process died); the fault is set before the second
    day's digest."""
    h = make_harness(zone, DIGEST_EMAIL="owner@example.com", SENDER_EMAIL="flockpilot@example.com",
                     MONTHLY_BUDGET_USD="1000")
    h.x_timeout = TIMEOUT
    h.mail = mailer = FaultyMailer()
    cell = Cell("digest", fault, zone)
    written: list[str] = []
    crashes = 0
    take_fault = h.world.take_fault
    for day in range(DIGEST_DAYS):
        h.at_local(9, days=0 if day == 0 else 1)
        written += dms_of_the_day(h, day)
        h.at_local(18, 15)
        if day == 1:
            inject(h, injected, time_left)
            mailer.faults = list(mail)
            if dm_429_on_call is not None:
                rate_limit_dm_read(h, on_call=dm_429_on_call)
            if crash_writes is not None:
                h.store.crash_after(crash_writes)
        tick = functools.partial(h.digest, trigger="schedule", id=f"digest-{day}")
        for _ in range(2):  # the scheduled delivery, then Lambda's one retry (MaximumRetryAttempts: 1)
            try:
                delivery(tick)
                break
            except Crash:
                crashes += 1
            except (TransientError, XError):  # raised for Lambda to retry
                pass
            finally:
                h.store.crash_after(None)
                h.lambda_time = None
            h.clock.advance(minutes=2)
        h.world.take_fault = take_fault  # type: ignore[method-assign]
    if crash_writes is not None and not crashes:
        cell.notes.append("no crash: the tick made fewer writes")
    note_time_limit(cell, time_left)
    counts = Counter(m for _, _, text in mailer.sent for m in shown(text))
    emails = Counter(subject.split(":", 1)[0] for subject, _, _ in mailer.sent)  # "Flockpilot Wed 25 Nov": one a day
    cell.planned = len(written)
    cell.done = len(set(written) & set(counts))
    cell.doubles = sum(n - 1 for n in counts.values() if n > 1) + sum(n - 1 for n in emails.values() if n > 1)
    cell.lost = cell.planned - cell.done
    if cell.doubles and crash_writes == SENT_NOT_RECORDED:
        cell.notes.append("SES took the email, the process died before recording it: shown again the next day (README)")
    if cell.doubles and mail == ["answer lost"]:
        cell.notes.append("SES took the email, its answer was lost: the day stays claimed (no second email), "
                          "its messages shown again the next day (README)")
    return cell


DIGEST_MAIL_FAULTS = {"SES busy": ["busy"], "SES busy twice": ["busy", "busy"], "SES refused": ["refused"],
                      "SES took it, its answer lost": ["answer lost"]}
DIGEST_TIME_LIMITS = ["time limit before any call"]  # the digest writes nothing to X: no later limit stops it
DM_429_MID_READ = "429 on the third page of the read"


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("fault", [*faults("getDirectMessagesEvents"), DM_429_MID_READ, *DIGEST_MAIL_FAULTS, *DELIVERIES, *DIGEST_TIME_LIMITS,
                                   *(f"crash before write {k}" for k in range(DIGEST_TICK_WRITES))])
def test_digest(zone: str, fault: str) -> None:
    if fault in TIME_LIMITS:
        cell = digest_cell(zone, fault, [], Delivery(), time_left=out_of_time(TIME_LIMITS[fault]))
    elif fault.startswith("crash"):
        cell = digest_cell(zone, fault, [], Delivery(), crash_writes=int(fault.rsplit(" ", 1)[1]))
    elif fault in DELIVERIES:
        cell = digest_cell(zone, fault, [], DELIVERIES[fault])
    elif fault in DIGEST_MAIL_FAULTS:
        cell = digest_cell(zone, fault, [], Delivery(), mail=DIGEST_MAIL_FAULTS[fault])
    elif fault == DM_429_MID_READ:
        cell = digest_cell(zone, fault, [], Delivery(), dm_429_on_call=3)
    else:
        cell = digest_cell(zone, fault, faults("getDirectMessagesEvents")[fault], Delivery())
    MATRIX.append(cell)
    assert cell.lost == 0 and cell.done == cell.planned == DIGEST_DAYS * 9, cell
    if fault in (f"crash before write {SENT_NOT_RECORDED}", "SES took it, its answer lost"):
        # The edge the README states: whether SES took the email cannot be known after the
        # process died there (or SES's answer was lost), and showing its 9 messages again the
        # next day beats losing them; no second email goes out that day (that would be 10).
        assert cell.doubles == 9, cell
    else:
        assert cell.doubles == 0, cell


def test_the_crash_cells_cover_every_write_of_the_acting_tick() -> None:
    h = make_harness("UTC")
    h.stock()
    h.at_local(*first_slot_tick(h))
    writes = h.store.writes
    assert len(h.post(trigger="schedule").posted) == 1 and h.store.writes - writes == POST_TICK_WRITES
    h = make_harness("UTC")
    follow_world(h)
    h.at_local(8, 5)
    writes = h.store.writes
    assert h.follow(trigger="schedule").followed and h.store.writes - writes == FOLLOW_TICK_WRITES
    h = make_harness("UTC")
    prune_world(h)
    h.at_local(8, 35)
    writes = h.store.writes
    assert h.prune(trigger="schedule", reconcile=False).unfollowed and h.store.writes - writes == PRUNE_TICK_WRITES
    h = make_harness("UTC", DIGEST_EMAIL="owner@example.com", SENDER_EMAIL="flockpilot@example.com", MONTHLY_BUDGET_USD="1000")
    for day in range(2):  # the second day's digest, as a digest cell's
        h.at_local(9, days=day)
        dms_of_the_day(h, day)
        h.at_local(18, 15)
        writes = h.store.writes
        assert h.digest(trigger="schedule").status == "sent"
    assert h.store.writes - writes == DIGEST_TICK_WRITES
