"""The DM digest job on fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devtools.xsandbox import Fault
from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import World
from flockpilot.domain.account import AccountProfile
from flockpilot.domain.errors import TransientError
from flockpilot.jobs.skeleton import RunOutcome
from tests.jobs.conftest import Harness

FAN, SPAMMER, QUIET = "1700000000000000210", "1700000000000000211", "1700000000000000213"


def with_inbox(h: Harness) -> Harness:
    h.world.follow(OWNER_ID, FAN)  # FAN follows the owner already (seed): now mutual
    h.world.add_dm(FAN, OWNER_ID, "Loved your crumb shots! Which flour do you use?")
    h.world.add_dm(OWNER_ID, FAN, "Thanks! Stone-ground.")
    h.world.add_dm(SPAMMER, OWNER_ID, "Earn $500/day with crypto, DM me on telegram")
    h.world.add_dm(QUIET, OWNER_ID, "hello from Leeds")
    h.env.update(DIGEST_EMAIL="owner@example.com", SENDER_EMAIL="flockpilot@example.com")
    return h


@pytest.fixture
def hi(h: Harness) -> Harness:
    return with_inbox(h)


def dm_reads(world: World) -> int:
    return int(world.bill()["by_operation"].get("getDirectMessagesEvents", {}).get("resources", 0))


def test_the_digest_is_sent_once_with_ranked_messages_and_reply_links(hi: Harness) -> None:
    summary = hi.digest(trigger="schedule")
    assert summary.status == "sent" and summary.new_messages == 4 and summary.outcome is RunOutcome.OK
    assert (summary.worth_replying, summary.ignore) == (1, 2)
    subject, html, text = hi.mail.sent[0]
    assert subject.startswith("Flockpilot Wed 25 Nov: 1 worth replying") and subject.endswith("@flockpilot_demo")
    assert html.index("Loved your crumb shots") < html.index("Earn $500/day")
    assert "https://x.com/messages/compose?recipient_id=1700000000000000210&amp;text=Hi%20Baker" in html
    assert "Reply: https://x.com/messages/compose?recipient_id=1700000000000000210" in text


def test_retries_and_double_delivery_send_one_digest(hi: Harness) -> None:
    first, second = hi.digest(trigger="schedule"), hi.digest(trigger="schedule")
    hi.clock.advance(hours=3)
    third = hi.digest(trigger="schedule")
    assert (first.status, second.status, third.status) == ("sent", "already-sent", "already-sent")
    assert len(hi.mail.sent) == 1
    hi.clock.advance(days=1)
    assert hi.digest(trigger="schedule").status == "sent"  # the account's next day


def test_a_refused_send_fails_loudly_and_can_be_run_again(hi: Harness) -> None:
    hi.mail.fail_with = RuntimeError("Email address is not verified")
    failed = hi.digest()
    assert failed.status == "failed" and failed.outcome is RunOutcome.FAILED and any("not sent" in r for r in failed.reasons)
    hi.mail.fail_with = None
    again = hi.digest()
    assert again.status == "sent" and again.conversations == 3  # the messages were kept for the re-run
    assert again.new_messages == 0  # and not fetched (nor paid for) twice


def test_ses_being_busy_is_raised_for_lambda_to_retry(hi: Harness) -> None:
    hi.mail.fail_with = TransientError("SES is busy (Throttling)")
    with pytest.raises(TransientError):
        hi.digest()
    hi.mail.fail_with = None
    assert hi.digest().status == "sent"


def test_messages_are_never_fetched_twice(hi: Harness) -> None:
    hi.digest(dry_run=True)
    hi.world.add_dm(FAN, OWNER_ID, "One more thing?")
    hi.clock.advance(days=1)
    assert hi.digest().new_messages == 1
    # X has no since_id here: the first page is one event, the next two (one already known).
    assert dm_reads(hi.world) == 4 + 1 + 2


def test_a_preview_after_the_days_read_pays_nothing(hi: Harness) -> None:
    hi.digest()
    requests = hi.world.bill()["requests"]
    preview = hi.digest(dry_run=True)
    assert preview.status == "preview" and hi.world.bill()["requests"] == requests
    assert preview.subject.endswith("@flockpilot_demo")


def test_the_digest_keeps_money_for_the_account_figures(hi: Harness) -> None:
    for i in range(60):
        hi.world.add_dm(QUIET, OWNER_ID, f"message {i}")
    hi.env["MONTHLY_BUDGET_USD"] = "20"  # the digest's day: about $0.13, DM events $0.01 each
    summary = hi.digest()
    assert summary.status == "sent" and summary.outcome is RunOutcome.PARTIAL
    assert summary.subject.endswith("@flockpilot_demo")  # never "... - @"
    assert "getUsersMe" in hi.world.bill()["by_operation"]


def test_the_digest_uses_the_profile_other_jobs_stored_today(hi: Harness) -> None:
    hi.store.save_profile(AccountProfile(OWNER_ID, "flockpilot_demo", "Demo", 38, 8, hi.clock.now() - timedelta(hours=1)))
    hi.digest()
    assert "getUsersMe" not in hi.world.bill()["by_operation"]


def test_a_spent_budget_stops_the_reading_as_partial(hi: Harness) -> None:
    hi.store.add_spend(hi.clock.now().astimezone(hi.zone).date(), "digest", 100.0, 1)
    summary = hi.digest(dry_run=True)
    assert summary.new_messages == 0 and summary.outcome is RunOutcome.PARTIAL
    assert dm_reads(hi.world) == 0


def test_a_rate_limit_stops_the_reading_and_the_digest_still_comes(hi: Harness) -> None:
    hi.world.inject(Fault("429", "getDirectMessagesEvents", reset_in_seconds=900))
    summary = hi.digest()
    assert summary.status == "sent" and summary.new_messages == 0 and summary.outcome is RunOutcome.PARTIAL
    assert any("stopped reading DMs" in r for r in summary.reasons)


def test_a_preview_does_not_use_up_the_day(hi: Harness) -> None:
    preview = hi.digest(dry_run=True)
    assert preview.status == "preview" and hi.mail.sent == []
    assert hi.digest().status == "sent"


def test_dm_correspondents_join_the_allowlist(hi: Harness) -> None:
    hi.digest()
    allowed = {e.user_id: e.reason for e in hi.store.allowlist()}
    assert allowed.get(FAN) == "dm" and allowed.get(SPAMMER) == "dm"


def test_the_day_means_the_accounts_day(h: Harness) -> None:
    with_inbox(h)
    h.at_local(23, 50)
    assert h.digest().status == "sent"
    h.clock.advance(minutes=20)  # 00:10 the next local day
    assert h.digest().status == "sent"
    h.clock.advance(hours=23)
    assert h.digest().status == "already-sent"


def test_follow_suggestions_show_what_a_person_decides_by(h: Harness) -> None:
    from tests.jobs.test_follow import with_sources

    with_sources(h)
    h.env.update(DIGEST_EMAIL="owner@example.com", SENDER_EMAIL="flockpilot@example.com")
    h.at_local(9)
    follow = h.follow(trigger="schedule")
    assert follow.shortlisted
    h.at_local(18)
    h.digest(trigger="schedule")
    _, html, text = h.mail.sent[0]
    first = follow.shortlisted[0]
    user = h.world.users[next(uid for uid, u in h.world.users.items() if u.username == first.username)]
    block = text.split(f"@{first.username}:", 1)[1].split("\n- @", 1)[0]
    assert user.name in block and user.description.splitlines()[0][:40] in block  # name, the bio's first line
    followers, following = h.world.follower_count(user.id), h.world.following_count(user.id)
    assert f"{followers:,} followers, {following:,} following" in block
    assert "last post" in block or "posted today" in block
    assert first.why[0] in block  # next to the reason
    assert f"{followers:,} followers, {following:,} following" in html


def stored_texts(h: Harness) -> set[str]:
    return {m.text for conversation in h.store._messages.values() for m in conversation.values()}


def test_messages_past_the_days_money_wait_for_the_next_day(hi: Harness) -> None:
    hi.digest(trigger="schedule")  # the first four, read and shown
    for i in range(40):
        hi.world.add_dm(QUIET, OWNER_ID, f"message {i}")
    hi.env["MONTHLY_BUDGET_USD"] = "20"  # the digest's day: about $0.13, DM events $0.01 each
    hi.clock.advance(days=1)
    short = hi.digest(trigger="schedule")
    assert short.outcome is RunOutcome.PARTIAL and 0 < short.new_messages < 40
    assert any("older messages wait for tomorrow" in r for r in short.reasons)
    hi.world.add_dm(FAN, OWNER_ID, "Are you open on Sunday?")  # one more the next day, on top
    hi.env["MONTHLY_BUDGET_USD"] = "600"
    hi.clock.advance(days=1)
    later = hi.digest(trigger="schedule")
    assert later.outcome is RunOutcome.OK, later.reasons
    texts = stored_texts(hi)
    assert [i for i in range(40) if f"message {i}" not in texts] == []  # none lost
    assert "Are you open on Sunday?" in texts
    assert short.new_messages + later.new_messages == 41  # none read as new twice
    _, html, _ = hi.mail.sent[-1]
    assert "hello from Leeds" not in html and "@" + hi.world.users[QUIET].username in html  # its conversation is back


def test_a_run_that_cannot_read_every_new_message_says_so(hi: Harness) -> None:
    hi.digest(trigger="schedule")
    for i in range(500):  # more than a run's pages hold
        hi.world.add_dm(QUIET, OWNER_ID, f"flood {i}")
    hi.env["MONTHLY_BUDGET_USD"] = "5000"
    hi.clock.advance(days=1)
    first = hi.digest(trigger="schedule")
    assert first.outcome is RunOutcome.PARTIAL and first.new_messages < 500
    hi.clock.advance(days=1)
    second = hi.digest(trigger="schedule")
    assert first.new_messages + second.new_messages == 500
    assert all(f"flood {i}" in stored_texts(hi) for i in range(500))


def test_times_in_the_email_are_the_accounts_own(h: Harness) -> None:
    h.env.update(DIGEST_EMAIL="owner@example.com", SENDER_EMAIL="flockpilot@example.com")
    h.at_local(9, 15)
    h.world.add_dm(FAN, OWNER_ID, "Do you ship to Osaka?")
    h.stock()
    h.at_local(10, 0)
    h.post(trigger="schedule")
    plan = h.store.plan_and_slots(h.clock.now().astimezone(h.zone).date())[0]
    assert plan is not None
    upcoming = [s.at for s in plan.slots if s.at > h.local(18, 0)]
    h.at_local(18, 0)
    h.digest(trigger="schedule")
    _, html, text = h.mail.sent[0]
    for body in (html, text):
        assert "09:15" in body  # when the message came, on the account's clock
        assert f"{upcoming[0].astimezone(h.zone):%H:%M}" in body  # the next post, as `flockpilot plan` shows it
    assert h.env["TIME_ZONE"] == "UTC" or " UTC" not in html.split("Your week")[0]  # never labelled with another clock
    assert h.env["TIME_ZONE"] in text.splitlines()[0]  # the plain text says which clock
