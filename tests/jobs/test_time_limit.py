"""Runs near the function's time limit. Lambda stops a function at its timeout and runs
nothing more: a call to X cut off there would leave its outcome unknown and the run's spend
unrecorded. So no call to X starts unless X's timeout and a margin still fit (OutOfTime):
the run stops where it is, puts back what it had taken, records what it spent, says
`partial`, and the next run goes on. Counted: X's requests and actions, doubles and losses,
X's bill against the recorded spend. In UTC, Tokyo and Los Angeles."""

from __future__ import annotations

import random

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.adapters.x import SAFETY_MARGIN_SECONDS
from flockpilot.domain.people import PersonQueue
from flockpilot.jobs.skeleton import RunOutcome
from tests.fakes.x import LambdaTime
from tests.jobs.conftest import Harness
from tests.jobs.test_follow import crowd, with_sources
from tests.jobs.test_prune import api_world, with_ledger
from tests.jobs.test_spend import billed, recorded

TIME_LIMIT = "time limit"


def writes(h: Harness, method: str, ending: str = "") -> list[str]:
    return [path for m, path, code in h.world.requests_log if m == method and path.endswith(ending) and code < 300]


# --- post -----------------------------------------------------------------------------------------

def test_a_post_too_near_the_limit_is_not_sent_and_the_next_run_posts_it_once(h: Harness) -> None:
    h.stock()
    h.x_timeout = 0.5
    h.post()  # 07:00 local: the day's plan
    h.at_local(11)
    sent_before = len(h.world.requests_log)
    h.lambda_time = LambdaTime(left=5.4)  # X's timeout (0.5 s) + the 5 s margin do not fit
    first = h.post(publish_next=True, max_posts=1)
    assert first.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in first.reasons), first.reasons
    assert first.posted == [] and len(h.world.requests_log) == sent_before  # nothing reached X
    assert recorded(h) == pytest.approx(billed(h))
    h.lambda_time = None
    h.clock.advance(minutes=10)
    second = h.post(publish_next=True, max_posts=1)
    assert len(second.posted) == 1 and not second.posted[0].recovered
    assert "own_posts" not in second.cost["by_operation"]  # type: ignore[operator]  # the slot was not left "tried"
    assert len(h.own_posts()) == 1 and len(writes(h, "POST", "/2/tweets")) == 1
    assert recorded(h) == pytest.approx(billed(h))


# --- follow (api mode) --------------------------------------------------------------------------

def test_api_follows_stop_before_the_limit_and_the_next_run_follows_the_rest_once(h: Harness) -> None:
    with_sources(h)
    crowd(h, 60)
    h.world.follow_permitted = True
    h.env.update(FOLLOW_MODE="api", FOLLOW_DAILY_CAP="20", MONTHLY_BUDGET_USD="500")
    h.at_local(6)  # before the active hours: the day's list is made and queued, nobody followed
    picks = {s.user_id for s in h.follow().shortlisted}
    queued = len(picks)
    assert queued == 20 and "followUser" not in h.world.bill()["by_operation"]
    h.at_local(20, 50)  # two runs left in the active hours: this one's share is about half
    h.lambda_time = LambdaTime(left=5.0 + 5.0 + 3.5, per_call=0.0, per_write=1.0)  # room for 4 follows, not 10
    first = h.follow()
    assert first.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in first.reasons), first.reasons
    assert len(first.followed) == 4 == len(writes(h, "POST", "/following"))
    assert not h.store.queue(PersonQueue.PENDING, limit=10)  # the one not sent is queued again, not "unknown"
    assert len(h.store.queue(PersonQueue.QUEUED, limit=400)) == queued - 4
    assert recorded(h) == pytest.approx(billed(h))
    h.lambda_time = None
    h.at_local(21, 50)  # the window's last run: the rest
    second = h.follow()
    assert len(writes(h, "POST", "/following")) == queued  # one follow request each: no double...
    assert all(p in h.world.following[OWNER_ID] for p in picks)  # ...and no loss
    assert len(first.followed) + len(second.followed) == queued
    assert not h.store.queue(PersonQueue.QUEUED, limit=400) and not h.store.queue(PersonQueue.PENDING, limit=10)
    assert recorded(h) == pytest.approx(billed(h))


def test_a_follow_run_with_no_time_for_x_reads_nothing_and_the_next_run_builds_the_day(h: Harness) -> None:
    with_sources(h)
    crowd(h, 60)
    h.at_local(10)
    h.lambda_time = LambdaTime(left=5.0)
    first = h.follow()
    assert first.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in first.reasons), first.reasons
    assert h.world.requests_log == [] and recorded(h) == billed(h) == 0
    h.lambda_time = None
    h.clock.advance(hours=1)
    second = h.follow()
    assert second.outcome is RunOutcome.OK and second.shortlisted


def test_a_read_retried_after_a_5xx_is_not_sent_when_its_back_off_ran_into_the_margin(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A retry's back-off sleeps after the deadline check: one that lasted longer than asked
    (0.725 s drawn, the container woke 1 s later still) would send the retry with 4.2 s to
    the limit. It is checked again after the sleep: not sent, the run says partial, and the
    next run does the day's work."""
    monkeypatch.setattr(random, "random", lambda: 0.9)
    with_sources(h)
    crowd(h, 60)
    h.at_local(10)
    h.world.inject(Fault("503", "getUsersFollowers", times=1))
    h.lambda_time = LambdaTime(left=10.9, per_call=0.0, oversleep=1.0)  # X's timeout 5 s + margin 5 s, and 0.9 s
    first = h.follow()
    assert first.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in first.reasons), first.reasons
    assert h.lambda_time.sent_with and all(left - h.x_timeout >= SAFETY_MARGIN_SECONDS for left in h.lambda_time.sent_with)
    assert recorded(h) == pytest.approx(billed(h))
    h.lambda_time = None
    h.clock.advance(hours=1)
    second = h.follow()
    assert second.outcome is RunOutcome.OK and second.shortlisted
    assert recorded(h) == pytest.approx(billed(h))


# --- prune (api mode) ---------------------------------------------------------------------------

def test_api_unfollows_stop_before_the_limit_and_the_next_run_goes_on_once(h: Harness) -> None:
    with_ledger(h)
    api_world(h)  # 09:35, the day's first run inside the active hours: it checks, decides and unfollows
    h.lambda_time = LambdaTime(left=5.0 + 5.0 + 2.5, per_call=0.0, per_write=1.0)  # room for 3 unfollows
    first = h.prune(reconcile=False)
    assert first.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in first.reasons), first.reasons
    assert len(first.unfollowed) == 3 == len(writes(h, "DELETE"))
    assert not h.store.queue(PersonQueue.PENDING, limit=10)
    assert recorded(h) == pytest.approx(billed(h))
    h.lambda_time = None
    unfollowed = list(first.unfollowed)
    for _ in range(13):  # the rest of the day's runs
        h.clock.advance(hours=1)
        unfollowed += h.prune(reconcile=False).unfollowed
    deletes = writes(h, "DELETE")
    assert len(deletes) == len(set(deletes)) == len(unfollowed) > 3
    assert not h.store.queue(PersonQueue.PENDING, limit=10)
    assert recorded(h) == pytest.approx(billed(h))


# --- digest -------------------------------------------------------------------------------------

def test_a_digest_with_no_time_to_read_dms_is_still_sent_and_says_why(h: Harness) -> None:
    h.env.update(DIGEST_EMAIL="owner@example.com", SENDER_EMAIL="flockpilot@example.com")
    h.at_local(19)
    h.lambda_time = LambdaTime(left=5.0)
    summary = h.digest()
    assert summary.outcome is RunOutcome.PARTIAL and any(TIME_LIMIT in r for r in summary.reasons), summary.reasons
    assert len(h.mail.sent) == 1 and h.world.requests_log == []
