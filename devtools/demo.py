"""`make demo`: a day of Flockpilot on your machine; nothing leaves loopback.

Starts DynamoDB Local, the X sandbox and moto (SES, Secrets Manager); loads
examples/content.csv and the articles of examples/feed.xml; posts through yesterday (quietly)
so today has results to learn from; shows today's plan; runs the post job every 10 minutes
of a simulated day (as the schedule would), which reads yesterday's results, and replies
with the plug under a post that took off; then the follow job (suggest mode), the prune job
(the account has ten days of Flockpilot history) and the Lambda handler with a console test
event; and ends by writing the day's digest (with "Your week") to outbox/, sending it to
moto's SES, and printing `flockpilot insights`.

The sandbox's audience is a model: posts earn from their kind, their hour and a little luck,
and one quip takes off.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from devtools.localstack import running
from devtools.xsandbox.seed import OWNER_ID, demo_world
from devtools.xsandbox.world import Post, User

ROOT = Path(__file__).resolve().parents[1]
PEERS = ("1700000000000000100", "1700000000000000101", "1700000000000000102")
TAKES_OFF = "A loaf that didn't rise is still toast."


def usd(cost: dict[str, object]) -> float:
    value = cost.get("usd", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


def audience(zone: Any = UTC) -> Callable[[Post, datetime], dict[str, int]]:
    """Plausible figures for a small bakery account: a few hundred impressions a post, more
    at lunch and in the evening, articles clicked, quotes liked a little less, one quip a hit."""

    def model(post: Post, at: datetime) -> dict[str, int]:
        if post.author_id != OWNER_ID or post.in_reply_to_id:
            return {}
        ripe = min(1.0, max(0.0, (at - post.created_at).total_seconds() / 7200))  # figures grow over two hours
        hour = post.created_at.astimezone(zone).hour
        lift = 1.6 if hour in (12, 13, 19, 20) else 0.7 if hour < 10 else 1.0
        luck = 0.75 + (zlib.crc32(post.id.encode()) % 50) / 100
        impressions = int(320 * lift * luck * ripe)
        rate = 0.045 if post.text.startswith('"') else 0.06
        likes = int(impressions * rate)
        if post.text.startswith(TAKES_OFF):
            likes, impressions = int(90 * ripe), int(2400 * ripe)
        link = "https://" in post.text
        return {"impressions": impressions, "likes": likes, "reposts": likes // 8, "replies": likes // 12,
                "bookmarks": likes // 10, "user_profile_clicks": impressions // 60,
                "url_link_clicks": int(impressions * 0.025) if link else 0}

    return model


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def main() -> None:
    from flockpilot import cli
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.adapters.dynamo.records import DynamoRecords
    from flockpilot.domain.follow import Source, SourceKind
    from flockpilot.domain.people import Person, PersonStatus
    from flockpilot.domain.records import MetricsDay
    from flockpilot.events import DigestEvent, FollowEvent, PostEvent, PruneEvent
    from flockpilot.invoke import invoke_handler
    from flockpilot.jobs.digest import run_digest
    from flockpilot.jobs.follow import run_follow
    from flockpilot.jobs.post import run_post
    from flockpilot.jobs.prune import run_prune
    from flockpilot.runtime import digest_deps, follow_deps, post_deps, prune_deps, wire

    today = datetime.now(UTC).date()
    clock = SimulatedClock(datetime.combine(today - timedelta(days=1), time(7, 50), tzinfo=UTC))
    world, creds = demo_world(clock=clock.now)
    world.metrics_model = audience()
    settings = {"OUTBOX_DIR": str(ROOT / "outbox"), "MODE": "live", "TIME_ZONE": "UTC", "ACTIVE_HOURS": "08:00-22:00",
                "POSTS_PER_DAY": "10", "PLUG_MIN_LIKES": "40", "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_DISABLED": "true"}
    with running(world, creds, settings):
        ledger = DynamoLedger(OWNER_ID)
        for peer in PEERS:
            ledger.add_source(Source(peer, SourceKind.ACCOUNT, f"@{world.users[peer].username}", clock.current))
        for i in range(30):  # an audience: thirty followers
            fan = world.add_user(User(f"17000000000000004{i:02d}", f"reader{i:02d}", f"Reader {i:02d}"))
            world.follow(fan.id, OWNER_ID)
        # Ten days of history: Flockpilot suggested five people, you followed them, two followed back.
        for i in range(5):
            uid = f"17000000000000003{i:02d}"
            world.add_user(User(uid, f"oldfriend{i}", f"Old Friend {i}", description="bakes"))
            world.follow(OWNER_ID, uid)
            if i < 2:
                world.follow(uid, OWNER_ID)
            ledger.add_person(Person(uid, f"oldfriend{i}", PersonStatus.SUGGESTED, PEERS[i % 3], 0.4, ("from history",)).now_followed(
                clock.current - timedelta(days=10), by_api=False, grace_days=7))

        print("== loading examples/content.csv into the content library")
        cli.main(["content", "import", str(ROOT / "examples" / "content.csv")])
        print("== your blog's articles, once, from examples/feed.xml (`flockpilot feeds add URL` checks a feed daily)")
        cli.main(["content", "import-feed", str(ROOT / "examples" / "feed.xml"), "--json"])
        print()
        print("== yesterday, quietly: the post job every 10 minutes, so today has results to learn from")
        yesterday = []
        while clock.current.time() < time(22, 10):
            yesterday.append(run_post(post_deps(wire(clock=clock)), PostEvent(trigger="schedule")))
            clock.current += timedelta(minutes=10)
        spent = sum(usd(s.cost) for s in yesterday)
        print(f"   {sum(len(s.posted) for s in yesterday)} posts, ${spent:.3f}")
        for p in (p for s in yesterday for p in s.posted if p.kind == "plug"):
            target = next((w for w in world.posts.values() if w.author_id == OWNER_ID and w.text.startswith(TAKES_OFF)), None)
            print(f"   the plug went out once, under \"{target.text if target else '?'}\" when it passed 40 likes: "
                  f"{p.text[:60]}…")
        clock.current = datetime.combine(today, time(7, 50), tzinfo=UTC)
        print()
        print("== a simulated day: the scheduled post job every 10 minutes, 07:50 to 22:10 UTC")
        total_usd, total_requests = 0.0, 0
        bill_before = world.bill()
        first = True
        while clock.current.time() < time(22, 10):
            summary = run_post(post_deps(wire(clock=clock)), PostEvent(trigger="schedule"))
            if first:
                results = DynamoRecords(OWNER_ID).load_day(MetricsDay, summary.day)
                print(f"  {clock.current:%H:%M} first run of the day: read yesterday's results "
                      f"({results.read if results else 0} posts, ${float(summary.cost['usd']):.3f}), then planned the day:")  # type: ignore[arg-type]
                for line in summary.warnings:
                    print(f"         {line}")
                cli.main(["plan"])
                first = False
            for p in summary.posted:
                what = "replied with the plug under a post past 40 likes" if p.kind == "plug" else f"published slot {p.slot}"
                print(f"  {clock.current:%H:%M} {what} ({p.kind}, ${p.cost_usd:.3f}): {p.text[:70]}")
            for f in summary.failed:
                print(f"  {clock.current:%H:%M} FAILED slot {f.slot}: {f.error}")
            for sk in summary.skipped:
                print(f"  {clock.current:%H:%M} skipped slot {sk.slot}: {sk.reason}")
            total_usd += float(summary.cost["usd"])  # type: ignore[arg-type]
            total_requests += int(summary.cost["requests"])  # type: ignore[call-overload]
            clock.current += timedelta(minutes=10)
        bill = world.bill()
        bill = {"usd": bill["usd"] - bill_before["usd"], "requests": bill["requests"] - bill_before["requests"]}
        print(f"== the day's posting cost ${total_usd:.3f} in {total_requests} X API requests (Flockpilot's meter); "
              f"the sandbox billed ${bill['usd']:.3f} for {bill['requests']}")
        print()

        print("== follow (suggest mode): three niche accounts and your own followers as sources")
        follow = run_follow(follow_deps(wire(clock=clock)), FollowEvent(trigger="schedule"))
        print(f"   band: {follow.followers} followers, {follow.following} following -> {follow.budget} today "
              f"({follow.budget_reason})")
        for s in follow.shortlisted:
            print(f"   {s.score:.2f}  @{s.username:<10} {s.follow_url}   ({s.why[0]})")
        print(f"   read {follow.users_read} people, screened out {follow.screened_out} {follow.reasons_out}; "
              f"cost ${float(follow.cost['usd']):.3f} = ${follow.cost_per_shortlisted_usd or 0:.3f} per suggestion")  # type: ignore[arg-type]
        print()

        print("== prune (suggest mode): who you followed 10 days ago and has not followed back")
        clock.current += timedelta(minutes=5)
        prune = run_prune(prune_deps(wire(clock=clock)), PruneEvent(trigger="schedule"))
        for unfollow in prune.suggested:
            print(f"   unfollow? @{unfollow.username:<11} {unfollow.profile_url}  ({unfollow.why})")
        kept = ", ".join(f"{n} {why}" for why, n in prune.kept.items()) or "none"
        checks = "; ".join(f"{k}: {v.get('state')}" for k, v in prune.reconciliation.items() if isinstance(v, dict) and "state" in v)
        print(f"   checked {prune.checked} (users lookup, connection_status), kept: {kept}; churn guard: "
              f"{'paused' if prune.churn.get('paused') else 'calm'}; cost ${float(prune.cost['usd']):.3f}")  # type: ignore[arg-type]
        print(f"   reconciliation (re-checks who still follows you): {checks or 'not due'}")
        print()

        print("== the Lambda handler with events/post-manual.json (a console test event)")
        result = invoke_handler("post", json.loads((ROOT / "events" / "post-manual.json").read_text()))
        would = "; ".join(p["text"][:50] for p in result.get("would_post", [])) or "nothing left today"
        print(f"   status {result['status']}, mode {result.get('mode')}, would post: {would}")
        print()

        print("== the DM digest: new messages ranked with reply drafts, and the whole day")
        world.add_dm("1700000000000000210", OWNER_ID, "Hi! Loved your crumb shots. Which flour do you use for the batard?")
        world.add_dm(OWNER_ID, "1700000000000000210", "Thanks! Mostly stone-ground wheat.")
        world.add_dm("1700000000000000213", OWNER_ID, "Great bakery page, I'm opening a shop in Leeds too")
        world.add_dm("1700000000000000211", OWNER_ID, "Earn $500/day with crypto!! DM me on telegram https://spam.example")
        clock.current += timedelta(minutes=10)
        digest = run_digest(digest_deps(wire(clock=clock)), DigestEvent(trigger="schedule"))
        print(f"   {digest.status}: \"{digest.subject}\" ({digest.new_messages} new messages, "
              f"{digest.worth_replying} worth replying, {digest.maybe} maybe, {digest.ignore} safe to ignore; "
              f"cost ${float(digest.cost['usd']):.3f})")  # type: ignore[arg-type]
        if world.violations:
            print("!! the sandbox saw responses that break X's spec:", *world.violations, sep="\n  ")
            raise SystemExit(1)
        print("   every X request and response today was checked against X's OpenAPI spec: no violations")
        for path in digest.outbox:
            print(f"   wrote {Path(path).relative_to(ROOT)}")
        print()
        print("== flockpilot insights: the week's figures, as the digest shows them")
        cli._now = clock.now  # the CLI on the demo's clock
        cli.main(["insights"])


if __name__ == "__main__":
    main()
