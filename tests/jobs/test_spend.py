"""What X billed against what the runs recorded in the day's spend tally: the monthly
budget only holds if every dollar X may have billed is counted, a write whose outcome is
unknown and a run that raises included, and a normal run counts exactly what it spent.
In UTC, Tokyo and Los Angeles, and on Los Angeles' DST change."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.seed import OWNER_ID
from flockpilot.domain.errors import TransientError
from flockpilot.domain.people import PersonQueue
from flockpilot.domain.slots import LEASE_SECONDS
from flockpilot.jobs.skeleton import RunOutcome
from flockpilot.pricing import price
from tests.fakes.store import Crash
from tests.jobs.conftest import Harness, make_harness
from tests.jobs.test_follow import crowd, with_sources
from tests.jobs.test_prune import api_world, with_ledger

SLOW = 0.05  # a fault's delay, longer than the client's timeout below


def recorded(h: Harness) -> float:
    """Every dollar the runs added to the spend tally, whatever day they landed on."""
    return round(sum(s.usd for s in h.store.spend(date.min, date.max).values()), 6)


def billed(h: Harness) -> float:
    return float(h.world.bill()["usd"])


def ready_to_post(h: Harness) -> None:
    h.stock()
    h.x_timeout = 0.02
    h.post()  # 07:00 local: the day's plan, nothing due yet
    h.at_local(11)


# --- (a) a post whose create commits, then times out; the recovery run -------------------------

def test_a_post_x_made_but_never_confirmed_is_counted_once(h: Harness) -> None:
    ready_to_post(h)
    h.world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=SLOW))
    first = h.post(publish_next=True, max_posts=1)
    assert first.outcome is RunOutcome.PARTIAL and len(h.own_posts()) == 1
    assert first.cost["unconfirmed"] == 1
    assert recorded(h) == pytest.approx(billed(h))  # X billed the post: so did the run
    h.clock.advance(minutes=10)
    second = h.post(publish_next=True, max_posts=1)
    assert second.posted[0].recovered
    assert "create_post" not in second.cost["by_operation"]  # type: ignore[operator]  # found, not charged again
    assert recorded(h) == pytest.approx(billed(h))


def test_a_post_x_never_made_stays_charged_after_the_recovery_finds_nothing(h: Harness) -> None:
    ready_to_post(h)
    h.world.inject(Fault("timeout", "createPosts", delay_seconds=SLOW))  # X did not act, the client cannot know
    first = h.post(publish_next=True, max_posts=1)
    assert h.own_posts() == [] and first.cost["unconfirmed"] == 1
    charged = float(first.cost["usd"])  # type: ignore[arg-type]
    assert charged > 0 and recorded(h) == pytest.approx(billed(h) + charged)
    h.clock.advance(minutes=10)
    second = h.post(publish_next=True, max_posts=1)
    assert second.posted and not second.posted[0].recovered and len(h.own_posts()) == 1
    # No refund: the spend stays one unconfirmed post above X's bill (the safe side).
    assert recorded(h) == pytest.approx(billed(h) + charged)


def test_a_server_error_on_a_post_is_charged_too(h_utc: Harness) -> None:
    h = h_utc
    ready_to_post(h)
    h.world.inject(Fault("503", "createPosts"))
    first = h.post(publish_next=True, max_posts=1)
    assert first.cost["unconfirmed"] == 1
    assert recorded(h) >= billed(h) + price("post_create") - 1e-9


# --- (b) a run that raises after a paid write --------------------------------------------------

def test_a_run_that_crashes_after_a_post_still_counts_it(h: Harness) -> None:
    ready_to_post(h)
    h.store.crash_after(2)  # the claim and the note of the try are written; completing the slot dies
    with pytest.raises(Crash):
        h.post(publish_next=True, max_posts=1)
    assert len(h.own_posts()) == 1
    assert recorded(h) == pytest.approx(billed(h))
    h.clock.advance(seconds=LEASE_SECONDS + 1)
    after = h.post(publish_next=True, max_posts=1)
    assert after.posted[0].recovered
    assert recorded(h) == pytest.approx(billed(h))


def test_any_exception_escaping_a_run_keeps_its_spend(h_utc: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = h_utc
    ready_to_post(h)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("ProvisionedThroughputExceeded")  # what a raw PynamoDB error would be

    monkeypatch.setattr(h.store, "complete_slot", boom)
    with pytest.raises(RuntimeError, match="ProvisionedThroughput"):
        h.post(publish_next=True, max_posts=1)
    assert billed(h) > 0 and recorded(h) == pytest.approx(billed(h))


def test_a_failed_spend_record_never_hides_the_runs_own_error(h_utc: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = h_utc
    ready_to_post(h)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the run's own error")

    def spend_down(*args: object, **kwargs: object) -> None:
        raise OSError("the spend table is down too")

    monkeypatch.setattr(h.store, "complete_slot", boom)
    monkeypatch.setattr(h.store, "add_spend", spend_down)
    with pytest.raises(RuntimeError, match="the run's own error"):
        h.post(publish_next=True, max_posts=1)


def test_a_run_whose_closing_write_fails_still_counts_its_spend_once(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    ready_to_post(h)

    def down(*args: object, **kwargs: object) -> None:
        raise OSError("the table did not answer")  # the spend and the run's record, written together: neither

    monkeypatch.setattr(h.store, "finish_run", down)
    with pytest.raises(OSError, match="did not answer"):
        h.post(publish_next=True, max_posts=1)
    assert billed(h) > 0 and recorded(h) == pytest.approx(billed(h))  # the failed-run path added it, once
    monkeypatch.undo()
    h.clock.advance(minutes=10)
    h.post(publish_next=True, max_posts=1)
    assert recorded(h) == pytest.approx(billed(h))


def test_a_run_raised_for_lambda_to_retry_is_counted_once(h: Harness) -> None:
    ready_to_post(h)
    h.world.inject(Fault("commit_then_timeout", "createPosts", delay_seconds=SLOW))
    h.post(publish_next=True, max_posts=1)
    h.clock.advance(minutes=10)
    h.world.inject(Fault("503", "getUsersPosts", times=3))  # the recovery read fails: TransientError escapes
    with pytest.raises(TransientError):
        h.post(publish_next=True, max_posts=1)  # finish() recorded it, the failed-run path must not again
    assert recorded(h) == pytest.approx(billed(h))
    h.clock.advance(minutes=10)
    assert h.post(publish_next=True, max_posts=1).posted[0].recovered
    assert recorded(h) == pytest.approx(billed(h))


def test_a_normal_day_records_exactly_what_it_spent(h: Harness) -> None:
    h.stock()
    h.at_local(7)
    end = h.local(23, 50)
    while h.clock.now() <= end:
        h.post(trigger="schedule")
        h.clock.advance(minutes=10)
    assert billed(h) > 0 and recorded(h) == pytest.approx(billed(h))


def test_a_crash_on_the_dst_change_day_lands_on_the_accounts_day() -> None:
    zone = ZoneInfo("America/Los_Angeles")
    h = make_harness("America/Los_Angeles")
    h.clock.current = datetime(2026, 11, 1, 7, 0, tzinfo=zone).astimezone(ZoneInfo("UTC"))  # the day is 25 hours long
    ready_to_post(h)
    h.at_local(23, 30)  # 07:30 UTC on 2 November: the account's day is still the 1st
    h.store.crash_after(2)
    with pytest.raises(Crash):
        h.post(publish_next=True, max_posts=1)
    spend = h.store.spend(date(2026, 11, 1), date(2026, 11, 30))
    assert set(spend) == {date(2026, 11, 1)} and spend[date(2026, 11, 1)].job("post") == pytest.approx(billed(h))


# --- (c) follows and unfollows whose outcome is unknown (api mode) -------------------------------

def api_follows(h: Harness) -> Harness:
    with_sources(h)
    crowd(h, 40)
    h.world.follow_permitted = True
    h.x_timeout = 0.02
    h.env.update(FOLLOW_MODE="api", MONTHLY_BUDGET_USD="200")
    h.at_local(21, 50)
    return h


@pytest.mark.parametrize("fault, acted", [("commit_then_timeout", True), ("timeout", False), ("500", False),
                                          ("commit_then_reset", True)])
def test_an_unknown_follow_is_counted(h: Harness, fault: str, acted: bool) -> None:
    api_follows(h)
    h.world.inject(Fault(fault, "followUser", delay_seconds=SLOW if "timeout" in fault else None))
    first = h.follow()
    assert first.outcome is RunOutcome.PARTIAL and first.cost["unconfirmed"] == 1
    pending = h.store.queue(PersonQueue.PENDING, limit=10)
    assert len(pending) == 1 and (pending[0].user_id in h.world.following[OWNER_ID]) is acted
    over = 0.0 if acted else price("interaction_create")  # charged, though X never acted
    assert recorded(h) == pytest.approx(billed(h) + over)
    h.clock.advance(minutes=20)
    h.follow()  # the pending follow is looked up on X: no refund, no second charge
    assert not h.store.queue(PersonQueue.PENDING, limit=10)
    assert recorded(h) == pytest.approx(billed(h) + over)


def test_an_unfollow_x_made_but_never_confirmed_is_counted_once(h: Harness) -> None:
    with_ledger(h)
    api_world(h)
    h.x_timeout = 0.02
    h.world.inject(Fault("commit_then_timeout", "unfollowUser", delay_seconds=SLOW))
    first = h.prune(reconcile=False)
    assert first.outcome is RunOutcome.PARTIAL and first.cost["unconfirmed"] == 1
    assert recorded(h) == pytest.approx(billed(h))
    h.clock.advance(minutes=16)
    h.prune(reconcile=False)
    assert not h.store.queue(PersonQueue.PENDING, limit=10)
    assert recorded(h) == pytest.approx(billed(h))



def test_a_reconciliation_slice_stopped_by_revoked_tokens_keeps_its_spend(h_utc: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconciliation has its own meter: whatever stops its slice, what it paid X is counted."""
    import flockpilot.jobs.reconcile as reconcile
    from flockpilot.domain.errors import CredentialsRevoked

    with_ledger(h_utc)
    others = [u for u in h_utc.world.users if u != OWNER_ID][:3]

    def paid_then_revoked(run: object, ledger: object, x: Any, *args: object, **kwargs: object) -> dict[str, object]:
        assert x.lookup_users(others)  # the slice pays for a lookup...
        raise CredentialsRevoked("X: the tokens were revoked")  # ...then X says the tokens are gone

    monkeypatch.setattr(reconcile, "_verify", paid_then_revoked)
    summary = h_utc.prune(reconcile=True)
    assert summary.outcome is RunOutcome.FAILED
    spend = h_utc.store.spend(date.min, date.max)
    assert sum(dict(d.by_job)["reconcile"] for d in spend.values()) > 0
    assert recorded(h_utc) >= billed(h_utc) > 0
