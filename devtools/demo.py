"""`make demo`: one day of Flockpilot on your machine, nothing leaves loopback.

Starts DynamoDB Local, the X sandbox and moto; loads examples/content.csv; shows the day's
plan; runs the post job every 10 minutes of a simulated day (as the schedule would); then
calls the real Lambda handler with a console test event. Prints what was published and
what it cost, from Flockpilot's own meter and from the sandbox's bill.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from devtools.localstack import running
from devtools.xsandbox.seed import demo_world

ROOT = Path(__file__).resolve().parents[1]


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def main() -> None:
    from flockpilot import cli
    from flockpilot.events import PostEvent
    from flockpilot.invoke import invoke_handler
    from flockpilot.jobs.post import run_post
    from flockpilot.runtime import post_context

    world, creds = demo_world()
    settings = {"OUTBOX_DIR": str(ROOT / "outbox"),"MODE": "live", "TIME_ZONE": "UTC", "ACTIVE_HOURS": "08:00-22:00", "POSTS_PER_DAY": "10",
                "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    with running(world, creds, settings):
        print("== loading examples/content.csv into the content library")
        cli.main(["content", "import", str(ROOT / "examples" / "content.csv")])
        print()
        print("== today's plan")
        cli.main(["plan"])
        print()

        today = datetime.now(UTC).date()
        clock = SimulatedClock(datetime.combine(today, time(7, 50), tzinfo=UTC))
        print("== a simulated day: the scheduled post job every 10 minutes, 07:50 to 22:10 UTC")
        total_usd = 0.0
        total_requests = 0
        while clock.current.time() < time(22, 10):
            summary = run_post(post_context(clock=clock), PostEvent(trigger="schedule"))
            for p in summary.posted:
                print(f"  {clock.current:%H:%M} published slot {p.slot} ({p.kind}, ${p.cost_usd:.3f}): {p.text[:70]}")
            for f in summary.failed:
                print(f"  {clock.current:%H:%M} FAILED slot {f.slot}: {f.error}")
            total_usd += float(summary.cost["usd"])  # type: ignore[arg-type]
            total_requests += int(summary.cost["requests"])  # type: ignore[call-overload]
            clock.current += timedelta(minutes=10)
        bill = world.bill()
        print()
        print(f"== the day cost ${total_usd:.3f} in {total_requests} X API requests (Flockpilot's meter)")
        print(f"   the sandbox billed ${bill['usd']:.3f} for {bill['requests']} requests: "
              + ", ".join(f"{k} x{v['requests']}" for k, v in bill["by_operation"].items()))
        print()
        print("== follow (suggest mode): three niche accounts as sources, today's ranked shortlist")
        from flockpilot.adapters.store import FollowLedger
        from flockpilot.events import FollowEvent
        from flockpilot.jobs.follow import run_follow
        from flockpilot.runtime import follow_context

        ledger = FollowLedger(creds["access_token"].split("-")[0])
        for peer in ("1700000000000000100", "1700000000000000101", "1700000000000000102"):
            ledger.add_source(peer, "account", f"@{world.users[peer].username}", clock.current)
        clock.current = datetime.combine(today, time(9, 5), tzinfo=UTC) + timedelta(days=1)
        follow = run_follow(follow_context(clock=clock), FollowEvent(trigger="schedule"))
        print(f"   band: {follow.followers} followers, {follow.following} following -> {follow.budget} today ({follow.budget_reason})")
        for s in follow.shortlisted:
            print(f"   {s.score:.2f}  @{s.username:<10} {s.follow_url}   ({s.why[0]})")
        print(f"   read {follow.users_read} people, screened out {follow.screened_out} {follow.reasons_out}; "
              f"cost ${float(follow.cost['usd']):.3f} = ${follow.cost_per_shortlisted_usd or 0:.3f} per suggestion")  # type: ignore[arg-type]
        print()
        print("== prune (suggest mode): you follow the suggestions by hand; 8 days later, who did not follow back")
        from flockpilot.events import PruneEvent
        from flockpilot.jobs.prune import run_prune
        from flockpilot.runtime import prune_context

        owner = creds["access_token"].split("-")[0]
        for s in follow.shortlisted:
            world.follow(owner, s.user_id)  # tapping the follow links
        clock.current += timedelta(days=1)
        run_follow(follow_context(clock=clock), FollowEvent(trigger="schedule", max=0))  # the sync sees them
        back = world.settle(owner)  # each decides, by their own habit, whether to follow back
        clock.current += timedelta(days=8)
        prune = run_prune(prune_context(clock=clock), PruneEvent(trigger="schedule"))
        print(f"   {len(back)} of {len(follow.shortlisted)} followed back; {prune.checked} checked "
              f"(users lookup, connection_status); churn guard: {prune.churn.get('quick_undo_share')} quick-undo share")
        for unfollow in prune.suggested:
            print(f"   unfollow? @{unfollow.username:<10} {unfollow.profile_url}  ({unfollow.why})")
        print(f"   cost ${float(prune.cost['usd']):.3f}; reconciliation: "  # type: ignore[arg-type]
              + ", ".join(f"{k} {v.get('state')}" for k, v in prune.reconciliation.items() if isinstance(v, dict) and "state" in v))
        print()
        print("== the DM digest: new messages ranked with reply drafts, sent to moto's SES and written to outbox/")
        from devtools.xsandbox.seed import OWNER_ID
        from flockpilot.events import DigestEvent
        from flockpilot.jobs.digest import run_digest
        from flockpilot.runtime import digest_context

        world.add_dm("1700000000000000210", OWNER_ID, "Hi! Loved your crumb shots. Which flour do you use for the batard?")
        world.add_dm(OWNER_ID, "1700000000000000210", "Thanks! Mostly stone-ground wheat.")
        world.add_dm("1700000000000000213", OWNER_ID, "Great bakery page, I'm opening a shop in Leeds too")
        world.add_dm("1700000000000000211", OWNER_ID, "Earn $500/day with crypto!! DM me on telegram https://spam.example")
        clock.current += timedelta(hours=1)
        digest = run_digest(digest_context(clock=clock), DigestEvent(trigger="schedule"))
        print(f"   {digest.status}: \"{digest.subject}\" ({digest.new_messages} new messages, "
              f"{digest.worth_replying} worth replying, {digest.maybe} maybe, {digest.ignore} safe to ignore; "
              f"cost ${float(digest.cost['usd']):.3f})")  # type: ignore[arg-type]
        for path in digest.outbox:
            print(f"   wrote {Path(path).relative_to(ROOT)}")
        print()
        print("== the Lambda handler with events/post-manual.json (a console test event)")
        event = json.loads((ROOT / "events" / "post-manual.json").read_text())
        result = invoke_handler("post", event)
        would = "; ".join(p["text"][:50] for p in result.get("would_post", [])) or "nothing left today"
        print(f"   status {result['status']}, mode {result.get('mode')}, would post: {would}")
        if world.violations:
            print("!! the sandbox saw responses that break X's spec:", *world.violations, sep="\n  ")
            raise SystemExit(1)
        print("\nEvery request and response was checked against X's OpenAPI spec: no violations.")


if __name__ == "__main__":
    main()
