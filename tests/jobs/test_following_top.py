"""Reconciliation's pass of your whole following list (prune_outside_inactive_days) takes the
pages of the list that the day's sync read from its top, whichever run did the sync: follow
syncs first most days, prune's pass comes in a later run. Counted in X requests and ids
billed (getUsersFollowing's resources), with who ends up known as followed (a member) against
whom the sandbox says you follow: nobody skipped, nobody billed twice. In UTC, Tokyo and
Los Angeles; a day boundary, api follows and unfollows, a 429, a crash at each write and
duplicate deliveries."""

from __future__ import annotations

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.domain.records import SyncProgress
from flockpilot.jobs.skeleton import RunOutcome
from tests.conftest import concurrently
from tests.fakes.store import Crash
from tests.jobs.conftest import Harness, make_harness
from tests.jobs.test_follow import with_sources
from tests.jobs.test_prune import api_world, followed, following_ids, spent, uid, with_ledger, you_follow

ON = {"PRUNE_OUTSIDE_INACTIVE_DAYS": "90"}


def following_bill(h: Harness) -> dict[str, float]:
    return h.world.bill()["by_operation"].get("getUsersFollowing", {"requests": 0, "resources": 0})


def a_day(zone: str) -> Harness:
    """33 people you follow (the 30 of with_ledger and 3 of the sandbox's demo), pruning
    outside follows on; nothing read yet."""
    h = with_ledger(make_harness(zone))
    h.env.update(ON)
    return h


def test_a_pass_in_a_later_run_takes_what_follows_sync_read_of_your_following(zone: str) -> None:
    """Follow's run at 09:00 syncs (your following's top: 20 of 33 ids); prune's run at 09:35
    starts the pass. It takes those 20 from the sync's record and reads on from X's token after
    them: 33 ids billed for 33 people, in 2 requests. Before: the pass read the list again from
    the top (53 ids billed)."""
    h = a_day(zone)
    h.at_local(9)
    h.follow(trigger="schedule")
    assert following_bill(h) == {"requests": 1, "resources": 20, "usd": pytest.approx(0.02)}
    h.at_local(9, 35)
    summary = h.prune(trigger="schedule")
    assert summary.reconciliation["following"] == {"state": "finished", "pages": 1, "read": 33, "gone": 0, "from_sync": 20}
    assert following_bill(h)["resources"] == len(you_follow(h)) == 33 and following_bill(h)["requests"] == 2
    assert following_ids(h) == you_follow(h)
    assert spent(h) == pytest.approx(h.world.bill()["usd"])
    assert summary.outcome is RunOutcome.OK


def test_the_next_day_the_pages_are_not_taken_and_the_list_is_read_again(zone: str) -> None:
    """The sync's pages are good for the account's day they were read on. Follow syncs at
    23:50; overnight you unfollow three of the top by hand and follow two new people. Prune's
    run at 00:10 (in Tokyo still the same UTC day) finds X failing on its own sync, and a
    console run forces a pass: it must not read on from the 23:50 token (the list moved: it
    would skip people), so it reads the whole list from the top, and everyone you follow is
    known."""
    h = a_day(zone)
    h.at_local(23, 50)
    h.follow(trigger="schedule")
    top = h.store.load_day(SyncProgress, h.clock.now().astimezone(h.zone).date())
    assert top is not None and len(top.following_top["ids"]) == 20
    for i in (30, 29, 28):  # the newest of with_ledger: in the 23:50 top
        h.world.unfollow(OWNER_ID, uid(i))
    for i in (700, 701):
        followed(h, i, 0.1, name="n")
    h.at_local(0, 10, days=1)
    before = following_bill(h)["resources"]
    h.world.inject(Fault("503", "getUsersFollowing", times=3))  # the day's sync fails (after retries)
    summary = h.prune(reconcile=True)
    report = summary.reconciliation["following"]
    assert report["state"] == "finished" and "from_sync" not in report, report  # type: ignore[index,operator]
    assert following_bill(h)["resources"] - before == len(you_follow(h)) == 32  # the top read again, once
    assert following_ids(h) == you_follow(h)


def test_the_next_days_sync_gives_that_days_pass_its_own_top(zone: str) -> None:
    """A pass that starts the next day takes that day's sync's pages (its top as it is now),
    never the day before's: after the overnight changes, everyone you follow is known, each id
    billed once that day."""
    h = a_day(zone)
    h.at_local(23, 50)
    h.follow(trigger="schedule")
    for i in (30, 29, 28):
        h.world.unfollow(OWNER_ID, uid(i))
    for i in (700, 701):
        followed(h, i, 0.1, name="n")
    h.at_local(9, days=1)
    before = following_bill(h)["resources"]
    h.follow(trigger="schedule")
    h.at_local(9, 35)
    summary = h.prune(trigger="schedule")
    report = summary.reconciliation["following"]
    assert report["state"] == "finished" and report["from_sync"] >= 1, report  # type: ignore[index,operator]
    assert following_bill(h)["resources"] - before == len(you_follow(h)) == 32
    assert following_ids(h) == you_follow(h)


def test_api_follows_after_the_sync_make_a_later_pass_read_from_the_top(zone: str) -> None:
    """Follow's run syncs, then follows people through the API: they join the top of the list,
    so X's token after the sync's pages now points inside them (an offset): read on from it,
    the pass would miss the new follows. The day's records say a follow went out after the sync
    read the list, so prune's later pass reads it from the top."""
    h = with_sources(a_day(zone))
    h.world.follow_permitted = True
    h.env.update(FOLLOW_MODE="api")
    h.at_local(9)
    made = h.follow(trigger="schedule").followed
    assert made
    h.at_local(9, 35)
    summary = h.prune(trigger="schedule")
    assert "from_sync" not in summary.reconciliation["following"]  # type: ignore[operator]
    assert following_ids(h) == you_follow(h)
    assert {u for u in you_follow(h) if h.world.users[u].username in made} <= set(following_ids(h))


def test_api_unfollows_in_an_earlier_prune_run_make_the_pass_read_from_the_top(h: Harness) -> None:
    """A prune run unfollows through the API without reconciling; the day's later run starts
    the pass. The unfollowed were in the sync's pages: the list moved up under X's token, so the
    pass reads it from the top, and nobody is skipped."""
    with_ledger(h)
    api_world(h)
    for i in range(500, 505):  # the newest follows on X (the sync's first page), checked first (the longest due)
        followed(h, i, 60, name="z")
    h.env.update(ON)
    h.at_local(9)
    h.follow(trigger="schedule")
    h.at_local(9, 35)
    first = h.prune(trigger="schedule", reconcile=False)
    assert {f"z{i}" for i in range(500, 505)} <= set(first.unfollowed)
    h.at_local(10, 35)
    summary = h.prune(trigger="schedule")
    assert summary.reconciliation["following"]["state"] == "finished"  # type: ignore[index]
    assert "from_sync" not in summary.reconciliation["following"]  # type: ignore[operator]
    assert following_ids(h) == you_follow(h)


def test_a_429_on_the_pass_keeps_the_syncs_pages_and_the_next_run_reads_only_the_rest(zone: str) -> None:
    """Follow syncs at 09:00; at 09:35 the pass takes the sync's pages, then X answers its own
    read with 429: partial, the pass kept the sync's 20 and X's token. At 10:35 it reads the
    rest: 33 ids billed in all, everyone known."""
    h = a_day(zone)
    h.at_local(9)
    h.follow(trigger="schedule")
    h.at_local(9, 35)
    h.world.inject(Fault("429", "getUsersFollowing", reset_in_seconds=900))
    first = h.prune(trigger="schedule")
    assert first.outcome is RunOutcome.PARTIAL and "stopped" in first.reconciliation
    state = h.store.recon("following")
    assert state is not None and state.read == 20 and state.cursor and state.finished_at is None
    h.at_local(10, 35)
    second = h.prune(trigger="schedule")
    assert second.reconciliation["following"]["state"] == "finished"  # type: ignore[index]
    assert following_bill(h)["resources"] == 33
    assert following_ids(h) == you_follow(h) and spent(h) == pytest.approx(h.world.bill()["usd"])


def check_the_day(h: Harness, writes: int, *, at_most: int) -> None:
    """Everyone you follow is known; X billed at most `at_most` of your following's ids (a page
    whose record a crash cut short is read again, nothing more); spend never below the bill."""
    state = h.store.recon("following")
    assert state is not None and state.finished_at is not None, writes
    assert following_ids(h) == you_follow(h), writes
    assert 33 <= following_bill(h)["resources"] <= at_most, (writes, following_bill(h))
    assert spent(h) >= h.world.bill()["usd"] - 1e-9, writes
    assert "unfollowUser" not in h.world.bill()["by_operation"]


def test_a_crash_at_any_write_of_follows_sync_loses_nobody_and_skips_nobody(zone: str) -> None:
    """Follow's run stops at each of its writes in turn (the sync's page and its record, with
    the token, the frontier, the day's record...). The day's next follow run finishes the sync,
    prune's pass comes later: everyone you follow is known, and X billed the top twice at most
    when the crash came between the read and its record (53), else once (33)."""
    for writes in range(0, 100):
        h = a_day(zone)
        h.at_local(9)
        h.store.crash_after(writes)
        try:
            h.follow(trigger="schedule")
        except Crash:
            h.store.crash_after(None)
            h.at_local(9, 10)
            h.follow(trigger="schedule")
            h.at_local(9, 35)
            assert h.prune(trigger="schedule").outcome is RunOutcome.OK, writes
            check_the_day(h, writes, at_most=53)
            if writes >= 3:  # past the sync's page record: its pages are taken, not read again
                assert following_bill(h)["resources"] == 33, writes
            continue
        break
    else:
        pytest.fail("the follow run never got past its writes")


def test_a_crash_at_any_write_of_the_pass_loses_nobody_and_skips_nobody(zone: str) -> None:
    """Follow synced cleanly; prune's run stops at each of its writes in turn (taking the
    sync's pages, the pass's own page, its state, the sweep, the spend). Its next run finishes:
    everyone known, at most the pass's own page read twice."""
    for writes in range(0, 200):
        h = a_day(zone)
        h.at_local(9)
        h.follow(trigger="schedule")
        h.at_local(9, 35)
        h.store.crash_after(writes)
        try:
            h.prune(trigger="schedule")
        except Crash:
            h.store.crash_after(None)
            h.at_local(10, 35)
            assert h.prune(trigger="schedule").outcome is RunOutcome.OK, writes
            check_the_day(h, writes, at_most=33 + 13)
            continue
        check_the_day(h, writes, at_most=33)
        break
    else:
        pytest.fail("the prune run never got past its writes")


def prune_twice_at_once(h: Harness) -> None:
    """Prune's scheduled event delivered twice at the same moment."""
    concurrently(*[lambda: h.prune(trigger="schedule")] * 2)


def test_duplicate_deliveries_bill_your_following_once(zone: str) -> None:
    """Follow's 09:00 event delivered twice, prune's 09:35 event delivered twice one after the
    other, then twice at once: 33 ids billed, in 2 requests, everyone known."""
    h = a_day(zone)
    h.at_local(9)
    h.follow(trigger="schedule")
    h.follow(trigger="schedule")
    h.at_local(9, 35)
    h.prune(trigger="schedule")
    h.prune(trigger="schedule")
    h.at_local(9, 40)
    prune_twice_at_once(h)
    assert following_bill(h)["resources"] == 33 and following_bill(h)["requests"] == 2
    assert following_ids(h) == you_follow(h)


def test_concurrent_first_deliveries_of_prune_bill_the_top_once(zone: str) -> None:
    """Prune's event delivered twice at once, after follow's sync: both passes may start, each
    from the sync's pages; X bills the ids after them once per pass at most, never the top."""
    h = a_day(zone)
    h.at_local(9)
    h.follow(trigger="schedule")
    h.at_local(9, 35)
    prune_twice_at_once(h)
    assert 33 <= following_bill(h)["resources"] <= 33 + 13
    assert following_ids(h) == you_follow(h)
    h.at_local(10, 35)
    h.prune(trigger="schedule")
    assert following_ids(h) == you_follow(h)


def test_a_top_past_the_cap_keeps_its_first_pages_and_the_pass_reads_on_from_there(zone: str,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The sync keeps at most TOP_KEEP ids of your following (DynamoDB's item limit). Past it the
    kept pages stop growing, with the token after the last kept one: the pass reads the sync's
    later pages again (billed twice, as before the top was kept) and skips nobody. Here the cap
    is 12 and the next day's sync reads 11, 2 and 4 ids (15 followed by hand, 5 unfollowed)."""
    import flockpilot.jobs.sync as sync

    monkeypatch.setattr(sync, "TOP_KEEP", 12)
    h = with_ledger(make_harness(zone))
    h.at_local(9)
    h.follow(trigger="schedule")  # the frontier, no pass yet (pruning outside follows is off)
    for i in range(700, 715):  # by hand on X, people Flockpilot never saw: the sync reads past them
        h.world.add_user(User(uid(i), f"n{i}", "N"))
        h.world.follow(OWNER_ID, uid(i))
    for i in range(1, 6):
        h.world.unfollow(OWNER_ID, uid(i))
    h.env.update(ON)
    h.at_local(9, days=1)
    before = following_bill(h)
    h.follow(trigger="schedule")
    synced = following_bill(h)["resources"] - before["resources"]
    progress = h.store.load_day(SyncProgress, h.clock.now().astimezone(h.zone).date())
    assert progress is not None and progress.following_top["capped"] and progress.following_top["ids"], progress
    kept = len(progress.following_top["ids"])
    assert kept < synced and following_bill(h)["requests"] - before["requests"] >= 2
    h.at_local(9, 35)
    summary = h.prune(trigger="schedule")
    assert summary.reconciliation["following"]["from_sync"] == kept  # type: ignore[index]
    assert following_bill(h)["resources"] - before["resources"] == synced + len(you_follow(h)) - kept
    assert following_ids(h) == you_follow(h)


def test_no_top_is_kept_without_pruning_outside_follows(zone: str) -> None:
    """Only the pass of your whole following uses the top: without the setting the sync keeps
    none (the record stays as small as before)."""
    h = with_ledger(make_harness(zone))
    h.at_local(9)
    h.follow(trigger="schedule")
    progress = h.store.load_day(SyncProgress, h.clock.now().astimezone(h.zone).date())
    assert progress is not None and progress.following_top == {}

