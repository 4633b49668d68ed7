"""The prune job on fakes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.domain.account import DayCounts
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.domain.hours import ActiveHours, window_bounds
from flockpilot.domain.people import AllowEntry, Person, PersonQueue, PersonStatus
from flockpilot.jobs.prune import PruneSummary
from flockpilot.jobs.skeleton import RunOutcome
from tests.jobs.conftest import Harness, make_harness


def uid(i: int) -> str:
    return f"16000000000000{i:05d}"


def followed(h: Harness, i: int, days_ago: float, *, follows_back: bool = False, name: str = "p") -> Person:
    """Someone you follow through Flockpilot since `days_ago` (and in the sandbox too)."""
    h.world.add_user(User(uid(i), f"{name}{i}", f"{name.upper()} {i}"))
    h.world.follow(OWNER_ID, uid(i))
    if follows_back:
        h.world.follow(uid(i), OWNER_ID)
    when = h.clock.now() - timedelta(days=days_ago)
    person = Person(uid(i), f"{name}{i}", PersonStatus.SUGGESTED, source_id="src").now_followed(when, by_api=False, grace_days=7)
    h.store.add_person(person)
    return person


def with_ledger(h: Harness) -> Harness:
    """You follow 30 people through Flockpilot, followed 1..30 days ago; every third follows
    back. 200 followers keep the account inside the band."""
    for i in range(200):
        h.world.add_user(User(uid(50_000 + i), f"fan{i}", "Fan"))
        h.world.follow(uid(50_000 + i), OWNER_ID)
    for i in range(1, 31):
        followed(h, i, i, follows_back=i % 3 == 0)
    h.env.update(PRUNE_DAILY_CAP="100", MONTHLY_BUDGET_USD="300")
    return h


@pytest.fixture
def hl(h: Harness) -> Harness:
    return with_ledger(h)


def test_suggests_only_non_followers_past_the_grace_period(hl: Harness) -> None:
    summary = hl.prune(reconcile=False)
    assert {s.user_id for s in summary.suggested} == {uid(i) for i in range(7, 31) if i % 3}
    assert "unfollowUser" not in hl.world.bill()["by_operation"]
    assert all(s.profile_url == f"https://x.com/{s.username}" for s in summary.suggested)
    assert summary.outcome is RunOutcome.OK


def test_checks_read_only_people_whose_check_is_due(hl: Harness) -> None:
    summary = hl.prune(reconcile=False)
    # 24 are past the 7-day grace; the sync already saw the 8 of them who follow back.
    assert hl.world.bill()["by_operation"]["getUsersByIds"]["resources"] == summary.checked == 16


def test_later_ticks_of_the_day_read_nothing(hl: Harness) -> None:
    hl.prune(reconcile=False)
    requests = hl.world.bill()["requests"]
    for _ in range(4):
        hl.clock.advance(hours=1)
        hl.prune(reconcile=False)
    assert hl.world.bill()["requests"] == requests


def test_dry_run_ticks_do_not_pay_twice_either(hl: Harness) -> None:
    """Dry-run mode (the default) stores the day it read: its hourly ticks do not read again."""
    hl.env["MODE"] = "dry-run"
    hl.prune(trigger="schedule", reconcile=False)
    requests = hl.world.bill()["requests"]
    hl.clock.advance(hours=1)
    hl.prune(trigger="schedule", reconcile=False)
    assert hl.world.bill()["requests"] == requests


def test_a_console_dry_run_is_a_preview_the_live_day_decides_on_its_own(hl: Harness) -> None:
    """events/prune-manual.json ({"mode": "dry-run", "max": 5}) on a live api-mode account, before
    the day's run: it shows 5 and stores nothing, so the day's run checks and unfollows all it
    would have without the preview."""
    with_ledger(hl)
    api_world(hl)
    hl.at_local(8, 10)
    preview = hl.prune(mode="dry-run", max=5, reconcile=False)
    assert len(preview.suggested) == 5 and preview.unfollowed and "unfollowUser" not in hl.world.bill()["by_operation"]
    hl.at_local(8, 35)
    live = hl.prune(trigger="schedule", reconcile=False)
    assert len(live.suggested) > 5 and len(live.unfollowed) == min(45, len(live.suggested))


def test_checks_beyond_the_days_money_wait_for_tomorrow_oldest_first(hl: Harness) -> None:
    hl.env["MONTHLY_BUDGET_USD"] = "30"  # prune's day: about $0.10, checks are $0.01 each
    summary = hl.prune(reconcile=False)
    assert 0 < summary.checked < 24
    assert summary.outcome is RunOutcome.PARTIAL and any("tomorrow" in r for r in summary.reasons)
    assert summary.suggested[0].user_id == uid(29)  # the oldest were checked first


def test_allowlist_and_dm_correspondents_are_protected(hl: Harness) -> None:
    hl.store.allow(AllowEntry(uid(10), "p10", "you", hl.clock.now()))
    hl.world.add_dm(uid(11), OWNER_ID, "hi!")
    hl.digest(dry_run=True)  # the digest stores the DM and allowlists its sender
    summary = hl.prune(reconcile=False)
    suggested = {s.user_id for s in summary.suggested}
    assert uid(10) not in suggested and uid(11) not in suggested
    assert summary.kept["on the allowlist"] >= 2


def test_mentioners_are_protected(hl: Harness) -> None:
    hl.world.add_post(uid(13), f"@{hl.world.users[OWNER_ID].username} great loaf!")
    summary = hl.prune(reconcile=False)
    assert uid(13) not in {s.user_id for s in summary.suggested}
    assert uid(13) in {e.user_id for e in hl.store.allowlist()}


def test_a_failed_mentions_read_still_decides_and_says_partial(hl: Harness) -> None:
    hl.world.inject(Fault("503", "getUsersMentions", times=3))
    summary = hl.prune(reconcile=False)
    assert summary.suggested and summary.outcome is RunOutcome.PARTIAL
    assert any("mentions" in r for r in summary.reasons)


def test_outside_follows_are_never_touched_by_default(hl: Harness) -> None:
    hl.world.add_user(User(uid(900), "celebrity", "Celebrity"))
    hl.world.follow(OWNER_ID, uid(900))
    summary = hl.prune()
    assert uid(900) not in {s.user_id for s in summary.suggested}


def test_unfollows_done_by_hand_are_detected(hl: Harness) -> None:
    first = hl.prune(reconcile=False)
    gone = first.suggested[0]
    hl.world.unfollow(OWNER_ID, gone.user_id)  # the person taps unfollow on x.com
    hl.clock.advance(days=1)
    second = hl.prune(reconcile=False)
    assert gone.username in second.unfollowed_by_hand
    assert hl.store.people_by_id([gone.user_id])[gone.user_id].status is PersonStatus.UNFOLLOWED
    assert gone.user_id not in {s.user_id for s in second.suggested}
    assert sum(c.unfollows for c in hl.store.counts(second.day, second.day).values()) == 1


def test_a_missing_connection_status_stays_unknown(hl: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from devtools.xsandbox.app import SandboxApp

    original = SandboxApp.user_json

    def without_connection(self: SandboxApp, user: User, fields: list[str], viewer: str) -> dict[str, object]:
        return original(self, user, [f for f in fields if f != "connection_status"], viewer)

    monkeypatch.setattr(SandboxApp, "user_json", without_connection)
    summary = hl.prune(reconcile=False)
    assert summary.suggested == [] and summary.unfollowed_by_hand == []
    assert summary.outcome is RunOutcome.PARTIAL and any("did not say" in r for r in summary.reasons)
    statuses = {p.status for p in hl.store.people_by_id([uid(i) for i in range(1, 31)]).values()}
    assert PersonStatus.UNFOLLOWED not in statuses


def test_the_band_is_restored_oldest_non_followers_first(hl: Harness) -> None:
    for i in range(200):
        hl.world.unfollow(uid(50_000 + i), OWNER_ID)  # followers drop to 10: far below following
    hl.env["PRUNE_DAILY_CAP"] = "3"
    summary = hl.prune(reconcile=False)
    assert summary.band_excess > 3
    ids = [s.user_id for s in summary.suggested]
    assert ids[0] == uid(29) and set(ids) == {uid(i) for i in range(7, 31) if i % 3}
    assert all("restores the 10% band" in s.why for s in summary.suggested)


def api_world(h: Harness) -> None:
    h.world.follow_permitted = True
    h.env.update(PRUNE_MODE="api", MONTHLY_BUDGET_USD="1000")
    for i in range(100, 180):
        followed(h, i, 40, name="q")
    for i in range(200, 400):  # plenty of recent follows: the churn guard sees a normal ratio
        h.store.add_person(Person(uid(i), f"r{i}", PersonStatus.FOLLOWED_BACK, "src",
                                  followed_at=h.clock.now() - timedelta(days=5)))
    day = h.clock.now().astimezone(h.zone).date()
    h.store.update_person(Person(uid(200), "r200", PersonStatus.FOLLOWED_BACK, "src"), expected=(PersonStatus.FOLLOWED_BACK,),
                          counts=(day - timedelta(days=5), DayCounts(follows=200)))
    h.at_local(9, 35)  # inside the active hours (08:00-22:00), where api unfollows happen


def test_api_mode_unfollows_at_most_45_per_15_minutes(hl: Harness) -> None:
    api_world(hl)
    hl.at_local(21, 35)  # the active hours' last run: all the day's unfollows are due
    first = hl.prune(reconcile=False)
    assert len(first.unfollowed) == 45
    assert hl.prune(reconcile=False).unfollowed == []  # the same 15 minutes
    hl.clock.advance(minutes=16)
    assert len(hl.prune(reconcile=False).unfollowed) > 0
    assert hl.world.bill()["by_operation"]["unfollowUser"]["requests"] <= 90


def test_api_mode_429_never_unfollows_anyone_twice(hl: Harness) -> None:
    api_world(hl)
    hl.world.inject(Fault("429", "unfollowUser", reset_in_seconds=60))
    unfollowed: list[str] = []
    for _ in range(12):
        unfollowed += hl.prune(reconcile=False).unfollowed
        hl.clock.advance(minutes=16)
        if len(hl.world.requests_log) and not hl.store.queue(PersonQueue.PENDING, limit=1):
            pass
    deletes = [path for method, path, code in hl.world.requests_log if method == "DELETE" and code == 200]
    assert len(deletes) == len(set(deletes)) == len(unfollowed)


def test_api_mode_unknown_unfollow_is_checked_not_repeated(hl: Harness) -> None:
    api_world(hl)
    hl.x_timeout = 0.02
    hl.world.inject(Fault("commit_then_timeout", "unfollowUser", delay_seconds=0.05))
    first = hl.prune(reconcile=False)
    assert first.outcome is RunOutcome.PARTIAL and first.unfollowed == []
    pending = hl.store.queue(PersonQueue.PENDING, limit=10)
    assert len(pending) == 1 and pending[0].user_id not in hl.world.following[OWNER_ID]
    hl.clock.advance(minutes=16)
    second = hl.prune(reconcile=False)
    assert pending[0].username in second.unfollowed
    deletes = [path for method, path, _ in hl.world.requests_log if method == "DELETE"]
    assert len(deletes) == len(set(deletes))


def test_api_mode_403_switches_to_suggest(hl: Harness) -> None:
    api_world(hl)
    hl.world.follow_permitted = False
    summary = hl.prune(reconcile=False)
    assert any("switched to suggest" in w for w in summary.warnings)
    assert hl.world.bill()["by_operation"]["unfollowUser"]["requests"] == 1
    assert hl.store.overrides()["prune_mode"] == "suggest"


def test_churn_guard_pauses_api_unfollows(hl: Harness) -> None:
    hl.world.follow_permitted = True
    hl.env["PRUNE_MODE"] = "api"
    hl.at_local(9, 35)
    day = hl.clock.now().astimezone(hl.zone).date()
    hl.store.update_person(hl.store.people_by_id([uid(1)])[uid(1)], expected=(PersonStatus.FOLLOWED,),
                           counts=(day - timedelta(days=1), DayCounts(follows=40, unfollows=40, quick_unfollows=40)))
    summary = hl.prune(reconcile=False)
    assert summary.churn["paused"] is True
    assert any("churn guard" in w for w in summary.warnings)
    assert "unfollowUser" not in hl.world.bill()["by_operation"] and summary.suggested


def test_dry_run_writes_nothing_to_x(hl: Harness) -> None:
    api_world(hl)
    summary = hl.prune(mode="dry-run", reconcile=False)
    assert summary.unfollowed and "unfollowUser" not in hl.world.bill()["by_operation"]


def test_followed_back_people_who_leave_are_found_by_the_rolling_verification(zone: str) -> None:
    h = make_harness(zone, MONTHLY_BUDGET_USD="300", RECONCILE_EVERY_DAYS="1")  # the whole pass fits in a day
    for i in range(200):
        h.world.add_user(User(uid(50_000 + i), f"fan{i}", "Fan"))
        h.world.follow(uid(50_000 + i), OWNER_ID)
    for i in range(1, 41):
        person = followed(h, i, 60, follows_back=True)
        h.store.update_person(person.now_followed_back(h.clock.now() - timedelta(days=40), verify_days=1),
                              expected=(PersonStatus.FOLLOWED,))
    for i in range(1, 6):
        h.world.unfollow(uid(i), OWNER_ID)  # five stopped following back
    summary = h.prune()
    verify = summary.reconciliation["verify"]
    assert isinstance(verify, dict) and verify["verified_today"] == 40 and verify["state"] == "finished"
    left = {p.user_id: p.status for p in h.store.people_by_id([uid(i) for i in range(1, 41)]).values()}
    assert [i for i in range(1, 41) if left[uid(i)] is PersonStatus.FOLLOWED] == [1, 2, 3, 4, 5]
    h.clock.advance(hours=1)
    assert h.prune().reconciliation == {}  # today's slice is done: later runs of the day skip it
    h.clock.advance(days=1)
    again = h.prune().reconciliation["verify"]
    assert again["state"] == "finished" and again["verified_today"] == 35  # type: ignore[index]  # a new daily pass


def test_a_pass_too_big_for_a_day_reports_progress_and_days_left() -> None:
    h = make_harness("UTC", MONTHLY_BUDGET_USD="60", RECONCILE_MONTHLY_USD="3")  # $0.10 a day: 10 checks
    for i in range(1, 31):
        person = followed(h, i, 60, follows_back=True)
        h.store.update_person(person.now_followed_back(h.clock.now() - timedelta(days=40), verify_days=30),
                              expected=(PersonStatus.FOLLOWED,))
    h.store.add_source(Source("src", SourceKind.ACCOUNT, "@src", h.clock.now(), followed=30, followed_back=30))
    first = h.prune()
    verify = first.reconciliation["verify"]
    assert isinstance(verify, dict) and verify["state"] == "in progress" and verify["verified_today"] == 10
    assert verify["days_to_finish"] == 2 and "33% done" in str(verify["note"])
    h.env.update(DIGEST_EMAIL="owner@example.com", SENDER_EMAIL="flockpilot@example.com")
    h.digest(trigger="schedule")  # the digest shows the pass's progress
    _, html, text = h.mail.sent[-1]
    assert "followers check 33% done, pass finishes in ~2 days" in text.split("ACCOUNT", 1)[1]
    assert "followers check 33% done" in html
    h.clock.advance(hours=1)
    assert h.prune().reconciliation == {}  # one slice a day
    days = 1
    while True:
        h.clock.advance(days=1)
        days += 1
        if h.prune().reconciliation["verify"]["state"] == "finished":  # type: ignore[index]
            break
    assert days == 3


def test_the_day_record_is_saved_before_anyone_moves(zone: str) -> None:
    for writes in range(0, 80):
        h = with_ledger(make_harness(zone))
        h.store.crash_after(writes)
        try:
            h.prune(reconcile=False)
        except BaseException as exc:  # noqa: BLE001 - the injected crash
            assert "crashed" in str(exc)
            h.store.crash_after(None)
            h.clock.advance(minutes=30)
            h.prune(reconcile=False)
            suggested = [p for p in h.store.people_by_id([uid(i) for i in range(1, 31)]).values()
                         if p.status is PersonStatus.PRUNE_SUGGESTED]
            assert {p.user_id for p in suggested} == {uid(i) for i in range(7, 31) if i % 3}, writes
            continue
        break


def the_day(h: Harness) -> date:
    return h.clock.now().astimezone(h.zone).date()


def api_prune_day(h: Harness, start: tuple[int, int] = (0, 35)) -> list[tuple[datetime, PruneSummary]]:
    """api mode: the hourly schedule's ticks from `start` (local) to the account day's end."""
    h.at_local(*start)
    midnight, runs = h.local(0, 0, days=1), []
    while h.clock.now() < midnight:
        runs.append((h.clock.now(), h.prune(trigger="schedule", reconcile=False)))
        h.clock.advance(hours=1)
    return runs


def test_api_unfollows_are_decided_and_made_inside_the_active_hours_only(hl: Harness) -> None:
    """The night's ticks decide nothing and unfollow no one; the first run inside the active
    hours (08:00-22:00) checks, decides and unfollows (at most 45 in 15 minutes), and the next
    runs unfollow the rest of that decision: never a check a night old."""
    api_world(hl)
    runs = api_prune_day(hl)
    start, end = window_bounds(runs[0][1].day, hl.zone, ActiveHours.parse("08:00-22:00"))
    outside = [s for at, s in runs if not start <= at < end]
    inside = [(at, s) for at, s in runs if start <= at < end]
    assert len(inside) == 14
    assert all(s.unfollowed == [] and s.suggested == [] and s.checked == 0 for s in outside)
    assert all(s.outcome is RunOutcome.OK for s in outside)  # nothing to do yet is not partial
    first_at, first = inside[0]
    decided = len(first.suggested)
    assert decided > 45 and first.checked > 0 and len(first.unfollowed) == 45
    assert sum(len(s.unfollowed) for _, s in inside) == decided == hl.world.bill()["by_operation"]["unfollowUser"]["requests"]
    assert all(s.suggested == [] for _, s in inside[1:])  # decided once, at the first run inside
    assert not hl.world.violations, hl.world.violations


def test_api_unfollows_the_window_cannot_hold_are_decided_again_tomorrow(hl: Harness) -> None:
    """Decided at the window's last run: 45 go (45 in 15 minutes at most), the run says why
    the rest wait, the runs after the window unfollow nobody (and are not partial), and the
    rest are checked and decided again in tomorrow's first run, unfollowed in its window."""
    api_world(hl)
    runs = api_prune_day(hl, start=(21, 35))
    last, after = runs[0][1], [s for _, s in runs[1:]]
    decided = len(last.suggested)
    assert decided > 45 and len(last.unfollowed) == 45
    assert last.outcome is RunOutcome.PARTIAL
    assert any(f"{decided - 45} unfollows did not fit in today's active hours" in r and "tomorrow" in r for r in last.reasons)
    assert len(after) == 2 and all(s.unfollowed == [] and s.outcome is RunOutcome.OK for s in after)
    left = {s.user_id for s in last.suggested} - {p.user_id for p in hl.store.people_by_id([s.user_id for s in last.suggested]).values()
                                                   if p.status is PersonStatus.UNFOLLOWED}
    assert len(left) == decided - 45
    tomorrow = api_prune_day(hl)
    deciding = next(s for _, s in tomorrow if s.suggested)  # the first run inside tomorrow's active hours
    assert left <= {s.user_id for s in deciding.suggested}  # checked and decided again there
    gone = {p.user_id for p in hl.store.people_by_id(sorted(left)).values() if p.status is PersonStatus.UNFOLLOWED}
    assert gone == left
    deletes = [path for method, path, code in hl.world.requests_log if method == "DELETE" and code == 200]
    assert len(deletes) == len(set(deletes))


@pytest.mark.parametrize("mode", ["dry-run", "api"])
def test_a_console_run_outside_the_active_hours_in_api_mode_says_why_it_did_nothing(hl: Harness, mode: str) -> None:
    """events/prune-manual.json ({"mode": "dry-run", "max": 5}) at 23:00 on an api-mode account:
    api mode checks only inside the active hours, and a run asked for now says so."""
    with_ledger(hl)
    api_world(hl)
    hl.at_local(23, 0)
    summary = hl.prune(mode=mode, max=5, reconcile=False)
    assert summary.unfollowed == [] and summary.checked == 0
    assert summary.outcome is RunOutcome.PARTIAL
    assert any("only inside the active hours" in r and "mode suggest" in r for r in summary.reasons), summary.reasons
    assert "unfollowUser" not in hl.world.bill()["by_operation"]


def test_a_runs_cost_includes_its_reconciliation(hl: Harness) -> None:
    """Reconciliation pays X on money of its own, but it is part of the run: the run's `cost`
    (and the metrics published from it) is everything the run paid X, the reconciliation's
    operations listed as reconcile.<operation>; reconciliation.cost stays as it was."""
    hl.env.update(PRUNE_OUTSIDE_INACTIVE_DAYS="90")  # reconciliation also reads your following list
    before = float(hl.world.bill()["usd"])
    summary = hl.prune(trigger="schedule")
    paid = float(hl.world.bill()["usd"]) - before
    own = summary.reconciliation["cost"]
    assert float(str(own["usd"])) > 0  # type: ignore[index]
    assert float(str(summary.cost["usd"])) == pytest.approx(paid)
    assert any(op.startswith("reconcile.") for op in summary.cost["by_operation"])  # type: ignore[union-attr]
    assert int(str(summary.cost["requests"])) == hl.world.bill()["requests"]


def following_ids(h: Harness) -> list[str]:
    return sorted(h.store.members("following", after=None, limit=10_000))


def you_follow(h: Harness) -> list[str]:
    return sorted(u for u in h.world.users if h.world.is_following(OWNER_ID, u))


def spent(h: Harness) -> float:
    return round(sum(s.usd for s in h.store.spend(date.min, date.max).values()), 6)


def test_reconciliation_takes_the_syncs_read_of_your_following_instead_of_reading_it_again(hl: Harness) -> None:
    """Pruning outside follows reads your whole following list. The same run's sync had just
    read its top (20 of 33): the pass starts from those pages and reads on from X's token, so
    each id is paid once (33, not 53) and the run's cost is X's bill for it. Before: the list's
    top was read twice, once in the sync and once in reconciliation."""
    hl.env.update(PRUNE_OUTSIDE_INACTIVE_DAYS="90")
    hl.at_local(9, 35)
    summary = hl.prune(trigger="schedule")
    bill = hl.world.bill()
    following = bill["by_operation"]["getUsersFollowing"]
    assert following["resources"] == len(you_follow(hl)) == 33 and following["requests"] == 2
    assert float(str(summary.cost["usd"])) == pytest.approx(bill["usd"]) and summary.cost["requests"] == bill["requests"]
    assert spent(hl) == pytest.approx(bill["usd"])
    assert summary.reconciliation["following"] == {"state": "finished", "pages": 1, "read": 33, "gone": 0, "from_sync": 20}
    assert following_ids(hl) == you_follow(hl)
    hl.at_local(10, 35)
    assert hl.prune(trigger="schedule").cost["requests"] == 0  # a duplicate or later tick: nothing read
    assert hl.world.bill()["requests"] == bill["requests"]


def test_a_following_list_the_sync_read_to_its_end_costs_reconciliation_nothing(h: Harness) -> None:
    """A small account (13 follows): the sync's first page holds the whole list, so the pass is
    finished from it without a request of its own."""
    for i in range(1, 11):
        followed(h, i, 10)
    h.env.update(PRUNE_OUTSIDE_INACTIVE_DAYS="90")
    h.at_local(9, 35)
    summary = h.prune(trigger="schedule")
    bill = h.world.bill()
    assert bill["by_operation"]["getUsersFollowing"]["requests"] == 1
    assert summary.reconciliation["following"]["state"] == "finished"  # type: ignore[index]
    assert summary.reconciliation["cost"]["requests"] == 0  # type: ignore[index]
    assert not any(op.startswith("reconcile.") for op in summary.cost["by_operation"])  # type: ignore[union-attr]
    assert summary.cost["requests"] == bill["requests"] and float(str(summary.cost["usd"])) == pytest.approx(bill["usd"])
    assert following_ids(h) == you_follow(h)


def test_a_rate_limit_after_the_sync_keeps_the_syncs_pages_for_the_pass(hl: Harness) -> None:
    """X's 429 on the pass's own read: the run is partial, the pass keeps the sync's pages and
    X's token, and the day's next run reads only the rest (each id paid once in all)."""
    hl.env.update(PRUNE_OUTSIDE_INACTIVE_DAYS="90")
    hl.at_local(9, 35)
    now = hl.world.clock().timestamp()
    hl.world.rate[(OWNER_ID, "getUsersFollowing")] = (now, 299)  # the sync's read is the window's last
    first = hl.prune(trigger="schedule")
    assert first.outcome is RunOutcome.PARTIAL and "stopped" in first.reconciliation
    state = hl.store.recon("following")
    assert state is not None and state.read == 20 and state.cursor and state.finished_at is None  # the sync's pages, kept
    hl.at_local(10, 35)
    second = hl.prune(trigger="schedule")
    assert second.reconciliation["following"]["state"] == "finished"  # type: ignore[index]
    assert hl.world.bill()["by_operation"]["getUsersFollowing"]["resources"] == 33
    assert following_ids(hl) == you_follow(hl) and spent(hl) == pytest.approx(hl.world.bill()["usd"])


def test_a_crash_at_any_write_of_the_pass_loses_no_one_from_your_following(zone: str) -> None:
    """A crash before any write of the run (the sync's pages taken by the pass included, and the
    reconciliation's spend, which is tried once more as a run's own is): the day's next run
    finishes the pass with everyone you follow and nobody unfollowed, and the spend recorded
    never falls below X's bill."""
    for writes in range(0, 200):
        h = with_ledger(make_harness(zone))
        h.env.update(PRUNE_OUTSIDE_INACTIVE_DAYS="90")
        h.at_local(9, 35)
        h.store.crash_after(writes)
        try:
            h.prune(trigger="schedule")
        except BaseException as exc:  # noqa: BLE001 - the injected crash
            assert "crashed" in str(exc)
            h.store.crash_after(None)
            h.at_local(10, 35)
            again = h.prune(trigger="schedule")
            state = h.store.recon("following")
            assert again.outcome is RunOutcome.OK and state is not None and state.finished_at is not None, writes
            assert following_ids(h) == you_follow(h), writes
            assert spent(h) >= h.world.bill()["usd"] - 1e-9, writes
            assert "unfollowUser" not in h.world.bill()["by_operation"]
            continue
        break
    else:
        raise AssertionError("the run never finished")


def test_after_api_unfollows_the_pass_reads_your_following_itself(hl: Harness) -> None:
    """api mode unfollows between the sync and the pass (here among the sync's first page):
    the sync's pages no longer match the list and X's token after them would skip the people
    who moved up, so the pass reads the list from the top: nobody just unfollowed is kept as
    followed and nobody is missed."""
    api_world(hl)
    for i in range(500, 505):  # the newest follows on X (the sync's first page), checked first (the longest due)
        followed(hl, i, 60, name="z")
    hl.env.update(PRUNE_OUTSIDE_INACTIVE_DAYS="90")
    summary = hl.prune(trigger="schedule")
    assert {f"z{i}" for i in range(500, 505)} <= set(summary.unfollowed)
    assert "from_sync" not in summary.reconciliation["following"]  # type: ignore[operator]
    assert following_ids(hl) == you_follow(hl)
    assert float(str(summary.cost["usd"])) == pytest.approx(hl.world.bill()["usd"])
