"""`flockpilot`: manage the content library and settings, preview the plan, run jobs locally.

It talks to whatever the environment points at: your deployed table and secret
(TABLE_NAME, X_SECRET_ID, AWS credentials), or local services started the way
devtools/demo.py starts them (`make demo` stops its own when it ends).
Exit codes: 0 done, 1 the command ran and failed (or the text is invalid), 2 bad usage,
3 bad configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flockpilot.domain.errors import ContentRejected, FlockpilotError, InvalidSetting

if TYPE_CHECKING:
    from flockpilot.ports import AccountRecords
    from flockpilot.runtime import Stores, Wiring
    from flockpilot.settings import AccountSettings

EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG = 1, 2, 3


def _now() -> datetime:
    return datetime.now(UTC)


def _stores() -> Stores:
    """The table's stores for the account: FLOCKPILOT_ACCOUNT_ID, or the X secret's owner."""
    from flockpilot.runtime import stores

    return stores(account_id=os.environ.get("FLOCKPILOT_ACCOUNT_ID") or None)


def _wiring() -> Wiring:
    from flockpilot.runtime import wire

    _, deployed = _stores().records.settings_sources()
    return wire(_environment(deployed), account_id=os.environ.get("FLOCKPILOT_ACCOUNT_ID") or None)


def _environment(deployed: dict[str, Any] | None) -> dict[str, str]:
    """This shell's environment, with the account settings the deployed Lambda functions run
    with in place of its own (as the functions last recorded them: flockpilot.runtime.Wiring),
    so `plan`, `status`, `run`... show and do what the functions do, on the account's day.
    A note on stderr names each of this shell's own that is set aside. Without a record (the
    functions have not run yet, or a local table), this shell's environment as it is."""
    from flockpilot.settings import ENV_FOR_ACCOUNT

    env = dict(os.environ)
    recorded = (deployed or {}).get("env")
    if not isinstance(recorded, dict):
        return env
    set_aside = []
    for var in ENV_FOR_ACCOUNT.values():
        mine = env.pop(var, None)
        if var in recorded:
            env[var] = str(recorded[var])
        if mine not in (None, "") and mine != recorded.get(var):
            set_aside.append(f"{var}={mine}")
    if set_aside:
        print(f"note: this shell's {', '.join(set_aside)} set aside: the deployed functions run with "
              f"{', '.join(f'{v}={recorded[v]}' for v in sorted(recorded)) or 'the defaults'} (recorded "
              f"{(deployed or {}).get('at')})", file=sys.stderr)
    return env


def _settings(records: AccountRecords) -> AccountSettings:
    """The account's settings as its deployed functions have them: the deployment's (see
    _environment), then the account's own (`settings set`)."""
    from flockpilot.settings import account_settings

    overrides, deployed = records.settings_sources()
    return account_settings(_environment(deployed), overrides)


def _print(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, default=str) if as_json else text)


def cmd_content_check(args: argparse.Namespace) -> int:
    from flockpilot.domain.text import MAX_WEIGHTED_LENGTH, measure

    m = measure(args.text)
    result: dict[str, Any] = {"weighted_length": m.weighted_length, "valid": m.valid}
    if not m.valid:  # why, for a person and for a script (the key is there only when invalid)
        result["reason"] = ("text is empty" if not args.text.strip()
                            else f"{m.weighted_length - MAX_WEIGHTED_LENGTH} over X's limit of {MAX_WEIGHTED_LENGTH}"
                            if m.weighted_length > MAX_WEIGHTED_LENGTH
                            else "has characters X refuses (e.g. U+FEFF, U+FFFE, U+FFFF)")
    _print(
        result,
        args.json,
        f"weighted length {m.weighted_length}/{MAX_WEIGHTED_LENGTH}: {'valid' if m.valid else 'invalid, ' + result['reason']}"
        + (f"; counts as a link post ({', '.join(m.urls)})" if m.urls else ""),
    )
    return 0 if m.valid else EXIT_FAILED


def cmd_content_add(args: argparse.Namespace) -> int:
    from flockpilot.domain.content import new_item

    item = new_item(
        kind=args.kind, text=args.text, url=args.url, now=_now(),
        tags=(args.tags or "").split(","), evergreen=args.evergreen, cooldown_days=args.cooldown_days,
    )
    added = _stores().content_plans.add_content(item)
    print(f"{'added' if added else 'already in the library'}: {item.item_id} ({item.kind}, weighted length {item.weighted_length})")
    return 0


def cmd_content_import(args: argparse.Namespace) -> int:
    """CSV with a header: kind,text[,url,tags,evergreen,cooldown_days]. All or nothing: a file
    with any bad row adds nothing and names every problem (line, column, why)."""
    from flockpilot.domain.content_csv import parse_content_csv

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} does not exist or is not a file", file=sys.stderr)
        return EXIT_USAGE
    parsed = parse_content_csv(path.read_bytes(), now=_now())
    if parsed.problems:
        print(f"imported nothing from {path.name}: {len(parsed.problems)} problem(s); fix them and import again", file=sys.stderr)
        for problem in parsed.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILED
    store = _stores().content_plans
    added = sum(1 for item in parsed.items if store.add_content(item))
    print(f"imported {path.name}: {added} added, {len(parsed.items) - added} already there, 0 rejected")
    return 0


def cmd_content_list(args: argparse.Namespace) -> int:
    items = sorted(_stores().content_plans.list_content(), key=lambda i: (i.kind, i.added_at))
    if args.kind:
        items = [i for i in items if i.kind == args.kind]
    if args.json:
        from flockpilot.plain import plain

        print(json.dumps([plain(i) for i in items]))
        return 0
    from flockpilot.domain.learning import item_rate

    for i in items:
        rest = f" resting until {i.cooldown_until:%Y-%m-%d}" if i.cooldown_until and i.cooldown_until > _now() else ""
        rate = item_rate(i.learning)
        results = f" {rate:.1%} over {i.learning.measured}" if rate is not None else ""
        print(f"{i.item_id}  {i.kind:<7} {i.status:<7} posted {i.times_posted}x{results}{rest}  {i.post_text[:70]}")
        if i.learning.retired_reason:
            print(f"    {i.learning.retired_reason}")
    print(f"{len(items)} item(s)")
    return 0


def cmd_content_import_feed(args: argparse.Namespace) -> int:
    """Add a feed's entries once, as article items: {"added": N, "skipped": M, "rejected": K}."""
    from flockpilot.jobs.learn import import_feed_entries
    from flockpilot.runtime import read_feed

    entries = read_feed(args.source)  # a broken or hostile feed stops here: nothing written
    counts, rejected = import_feed_entries(_stores().content_plans, entries, _now())
    for why in rejected:
        print(f"warning: {why}", file=sys.stderr)
    _print(counts, args.json, f"{args.source}: {counts['added']} added, {counts['skipped']} skipped (already known or "
                              f"removed), {counts['rejected']} rejected (no link, or cannot fit a post)")
    return 0


def cmd_feeds_add(args: argparse.Namespace) -> int:
    """Register a feed after reading it once (nothing is registered if it cannot be read)."""
    from flockpilot.jobs.learn import register_feed
    from flockpilot.runtime import read_feed

    if not args.url.lower().startswith(("http://", "https://")):
        print(f"error: {args.url!r} is not an http(s) URL", file=sys.stderr)
        return EXIT_USAGE
    feed, entries = register_feed(_stores().content_plans, args.url, read_feed, _now())
    print(f"feed {feed.url} registered ({entries} entries now); new entries become articles on the daily check")
    return 0


def cmd_feeds_list(args: argparse.Namespace) -> int:
    feeds = _stores().content_plans.feeds()
    for f in feeds:
        state = f"checked {f.checked_on}" if f.checked_on else "not checked yet"
        print(f"{f.feed_id}  {f.url}  {state}, {f.added_total} added" + (f"; last error: {f.last_error}" if f.last_error else ""))
    print(f"{len(feeds)} feed(s)")
    return 0


def cmd_feeds_remove(args: argparse.Namespace) -> int:
    content = _stores().content_plans
    for f in content.feeds():
        if args.feed in (f.url, f.feed_id):
            content.remove_feed(f.feed_id)
            print(f"removed {f.url} (the articles it added stay in the library)")
            return 0
    print(f"error: no feed {args.feed}", file=sys.stderr)
    return EXIT_FAILED


def cmd_insights(args: argparse.Namespace) -> int:
    """The week's figures, as the digest shows them (no X call)."""
    from datetime import timedelta

    from flockpilot.domain.account import account_day
    from flockpilot.domain.digest_email import week_lines
    from flockpilot.domain.insights import week_insights
    from flockpilot.plain import plain

    stores = _stores()
    settings = _settings(stores.records)
    day = account_day(_now(), settings.zone)
    week = week_insights(day, stores.content_plans.posts(day - timedelta(days=6), day), stores.content_plans.list_content(),
                         stores.records.growth(day - timedelta(days=7), day), settings.zone)
    if args.json:
        print(json.dumps({**plain(week), "clicks_per_dollar": week.clicks_per_dollar}))
        return 0
    for line in week_lines(week):
        print(line)
    return 0


def cmd_content_remove(args: argparse.Namespace) -> int:
    if _stores().content_plans.remove_content(args.item_id, _now()):
        print(f"removed {args.item_id}")
        return 0
    print(f"error: no item {args.item_id}", file=sys.stderr)
    return EXIT_FAILED


def cmd_settings_show(args: argparse.Namespace) -> int:
    from flockpilot.plain import plain
    from flockpilot.settings import ENV_FOR_ACCOUNT, account_settings, ignored_overrides

    records = _stores().records
    overrides, deployed = records.settings_sources()
    recorded = (deployed or {}).get("env")
    settings = account_settings(_environment(deployed), overrides)
    ignored = ignored_overrides(overrides)
    for key, value in plain(settings).items():
        var = ENV_FOR_ACCOUNT[key]
        if key in overrides and key not in ignored:
            source = "account"
        elif isinstance(recorded, dict):
            source = "deployment" if var in recorded else "default"
        else:
            source = "env" if os.environ.get(var) not in (None, "") else "default"
        print(f"{key:<26} {value!s:<24} ({source})")
    for key, why in ignored.items():
        print(f"not applied: account setting {key} {overrides[key]}: {why}")
    if isinstance(recorded, dict):
        print(f"deployment: as the functions recorded it at {(deployed or {}).get('at')}")
    else:
        print("env: this shell's environment (the deployed functions record theirs on their first run; "
              "until then, export the stack's parameters to see what they will do)")
    return 0


def cmd_settings_set(args: argparse.Namespace) -> int:
    from flockpilot.settings import account_settings, check_new_setting, validate_override

    stores = _stores()
    value = validate_override(args.key, args.value)
    overrides, deployed = stores.records.settings_sources()
    settings = account_settings(_environment(deployed), {**overrides, args.key: value})  # the whole set must still hold
    check_new_setting(settings, args.key)
    stores.records.set_override(args.key, value)
    print(f"{args.key} = {value!r} for account {stores.account_id}")
    return 0


def cmd_settings_unset(args: argparse.Namespace) -> int:
    from flockpilot.settings import BOUNDS, account_settings, check_new_setting, known_setting

    records = _stores().records
    overrides, deployed = records.settings_sources()
    if args.key not in overrides:  # a stored key always goes, even one no release knows any more
        known_setting(args.key)  # a name that is no setting is refused like `settings set` refuses it
        print(f"{args.key} is not set for this account: it already follows the deployment default")
        return 0
    if any(args.key in pair for pair in BOUNDS):  # back to the default, its min/max pair must still hold, as on a set
        try:
            remaining = account_settings(_environment(deployed), {k: v for k, v in overrides.items() if k != args.key})
        except InvalidSetting:
            remaining = None  # another stored value is wrong: that one is reported where it is read
        if remaining is not None:
            check_new_setting(remaining, args.key)
    records.set_override(args.key, None)
    print(f"{args.key} back to the deployment default")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from flockpilot.domain.account import account_day
    from flockpilot.domain.budget import RECOVERY_RESERVE
    from flockpilot.domain.plan import plan_day
    from flockpilot.jobs.skeleton import day_budget

    stores = _stores()
    settings = _settings(stores.records)
    now = _now()
    day = account_day(now, settings.zone)
    plan, slots = stores.content_plans.plan_and_slots(day)
    stored = plan is not None
    if plan is None or (not plan.slots and settings.posts_per_day):
        # What the post function would plan now: the day (or what is left of it), also in
        # place of a stored empty plan once content is in (it looks again hourly).
        budget = day_budget(stores.records, "post", settings.monthly_budget_usd, day).allowance_usd * (1 - RECOVERY_RESERVE)
        from dataclasses import replace

        from flockpilot.jobs.post import replan_seed

        seed = f"{stores.account_id}:{day}" if plan is None else replan_seed(stores.account_id, day)
        preview = plan_day(day=day, tz=settings.zone, active=settings.window, rules=settings.mix,
                           items=stores.content_plans.list_content(), budget_usd=budget, now=now, seed=seed, rest_of_day=True)
        if plan is not None and preview.slots:
            preview = replace(preview, notes=(*preview.notes, "today's stored plan is empty: the post function plans this "
                                                              "(from its run's time) within the hour"))
        if plan is None or preview.slots:
            plan, slots, stored = preview, {}, False

    def status(index: int) -> str:
        return slots[index].status.value if index in slots else "planned"

    def when(at: datetime) -> str:
        """upcoming; due (a run may still post it: within catch_up_minutes); past (no run will).
        The text says `missed` for a past slot no live run recorded, `past (dry-run)` if the
        account is in dry-run (its runs only show what they would post)."""
        if at > now:
            return "upcoming"
        return "due" if now - at <= timedelta(minutes=settings.catch_up_minutes) else "past"

    def shown(slot: Any) -> str:
        state = status(slot.index)
        if state != "planned" or when(slot.at) == "upcoming":
            return state
        if when(slot.at) == "due":
            return "due"
        if settings.mode.value != "live":
            return "past (dry-run)"
        # past catching up before the plan went live (made by a manual run after it, or in dry-run then): no run's miss
        return "before live" if plan is not None and plan.before_live(slot.at, timedelta(minutes=settings.catch_up_minutes)) else "missed"

    if args.json:
        print(json.dumps({"day": day, "stored": stored, "live_from": plan.live_from, "cost_usd": plan.cost_usd,
                          "budget_usd": plan.budget_usd,
                          "slots": [{**vars(s), "status": status(s.index), "when": when(s.at)} for s in plan.slots],
                          "dropped": [vars(d) for d in plan.dropped], "notes": list(plan.notes)}, default=str))
        return 0
    print(f"plan for {day} ({'stored' if stored else 'preview, not stored yet'}), {settings.time_zone}:")
    for s in plan.slots:
        print(f"  {s.at.astimezone(settings.zone):%H:%M}  {s.kind:<7} ${s.cost_usd:.3f}  {shown(s):<9} {s.preview[:60]}")
    print(f"day costs ${plan.cost_usd:.3f} of a ${plan.budget_usd:.3f} posting budget")
    for d in plan.dropped:
        print(f"  dropped {d.kind} {d.item_id} (${d.cost_usd:.3f}): {d.reason}")
    for note in plan.notes:
        print(f"  note: {note}")
    return 0


def _x_lookup(handle: str) -> Any:
    """One user read ($0.01) to turn @handle into the account, on a meter capped at 5 cents,
    counted in the account day's spend as the follow job's (sources are its), so the month's
    budget knows of it."""
    from flockpilot.domain.account import account_day
    from flockpilot.domain.cost import CostMeter

    meter = CostMeter(limit_usd=0.05)
    account = _wiring().account
    try:
        user = account.x_factory(meter).user_by_username(handle)
    finally:
        account.records.add_spend(account_day(_now(), account.settings.zone), "follow", meter.usd, meter.requests)
    return user, meter


def _handle(text: str) -> str | None:
    handle = text.lstrip("@")
    return handle if handle.replace("_", "").isalnum() and 0 < len(handle) <= 15 else None


def cmd_sources_add(args: argparse.Namespace) -> int:
    """Resolve @handle to its id with one user read ($0.01) and add it as a source."""
    from flockpilot.domain.follow import Source, SourceKind

    handle = _handle(args.handle)
    if handle is None:
        print(f"error: {args.handle!r} is not an X handle", file=sys.stderr)
        return EXIT_USAGE
    from flockpilot.jobs.follow import add_account_source

    user, meter = _x_lookup(handle)
    outcome = add_account_source(_stores().ledger, Source(user.id, SourceKind.ACCOUNT, f"@{user.username}", _now()))
    if outcome == "added back":
        print(f"added back: @{user.username} (id {user.id}) is read on from where it stopped when you removed it (if it was "
              f"set aside as dry, its count starts over under your current follow filters); lookup cost ${meter.usd:.3f}")
    elif outcome == "taken back":
        print(f"taken back: @{user.username} (id {user.id}) was set aside as dry; it is read on from where it stopped, "
              f"under your current follow filters; lookup cost ${meter.usd:.3f}")
    else:
        print(f"{'added' if outcome == 'added' else 'already a source'}: @{user.username} (id {user.id}); "
              f"lookup cost ${meter.usd:.3f}")
    return 0


def cmd_sources_mentions(args: argparse.Namespace) -> int:
    from flockpilot.domain.follow import Source, SourceKind

    added = _stores().ledger.add_source(Source("mentions", SourceKind.MENTIONS, "your mentions", _now()))
    print("your mentions are a source" + ("" if added else " already"))
    return 0


def cmd_sources_remove(args: argparse.Namespace) -> int:
    from flockpilot.domain.follow import REMOVED_SOURCE_DAYS

    ledger = _stores().ledger
    target = args.source.lstrip("@").lower()
    for source in ledger.sources():
        if target in (source.source_id, source.label.lstrip("@").lower()):
            if not ledger.remove_source(source.source_id, now=_now()):
                print(f"error: {source.label} could not be removed (it changed or went meanwhile): try again", file=sys.stderr)
                return EXIT_FAILED
            print(f"removed {source.label} (where its reading stopped is kept for {REMOVED_SOURCE_DAYS} days: "
                  "added again, it is read on from there)")
            return 0
    print(f"error: no source {args.source}", file=sys.stderr)
    return EXIT_FAILED


def cmd_sources_list(args: argparse.Namespace) -> int:
    from flockpilot.domain.follow import MAX_MY_FOLLOWER_SOURCES, SourceKind

    sources = _stores().ledger.sources()
    for s in sorted(sources, key=lambda s: (s.kind, s.label)):
        state = "done" if s.exhausted else "dry" if s.dry else ("reading" if s.cursor else "new")
        print(f"{s.label:<24} {s.kind:<12} {state:<8} read {s.read}")
    print(f"{len(sources)} source(s)")
    mine = [s for s in sources if s.kind is SourceKind.MY_FOLLOWER]
    if mine:
        print(f"your followers: {sum(1 for s in mine if s.live)} of at most {MAX_MY_FOLLOWER_SOURCES} read as sources "
              "(one dry or done gives its place to a new follower; your own `sources add` has no limit)")
    if any(s.dry and not s.exhausted for s in sources):
        print("dry: its followers almost never pass your follow filters, so it is read no more "
              "(after changing the filters, `sources add` it again)")
    return 0


def cmd_sources_stats(args: argparse.Namespace) -> int:
    """Per-source figures: read, suggested, followed, followed back, follow-back rate."""
    figures = [{"source": s.label, "kind": s.kind.value, "read": s.read, "suggested": s.suggested, "followed": s.followed,
                "followed_back": s.followed_back, "follow_back_rate": s.observed_rate} for s in _stores().ledger.sources()]
    figures.sort(key=lambda f: -(f["follow_back_rate"] or 0))  # type: ignore[operator]
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{'source':<24} {'read':>6} {'suggested':>9} {'followed':>8} {'back':>6} {'rate':>6}")
    for f in figures:
        rate = f"{f['follow_back_rate']:.0%}" if f["follow_back_rate"] is not None else "-"
        print(f"{f['source']:<24} {f['read']:>6} {f['suggested']:>9} {f['followed']:>8} {f['followed_back']:>6} {rate:>6}")
    return 0


def cmd_digest_preview(args: argparse.Namespace) -> int:
    """Build today's digest without sending it and write the HTML (and .txt) to --out."""
    import tempfile
    from dataclasses import replace

    from flockpilot.events import DigestEvent
    from flockpilot.jobs.digest import run_digest
    from flockpilot.runtime import digest_deps

    out = Path(args.out)
    if out.suffix.lower() == ".txt":
        print(f"error: --out {out}: give the .html file; the text part is written beside it as {out.stem}.txt", file=sys.stderr)
        return EXIT_USAGE
    if out.is_dir():
        print(f"error: --out {out} is a folder: give a file name such as {out / 'digest.html'}", file=sys.stderr)
        return EXIT_USAGE
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create the folder for --out {out}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    with tempfile.TemporaryDirectory() as tmp:
        deps = replace(digest_deps(_wiring()), outbox_dir=Path(tmp))
        summary = run_digest(deps, DigestEvent(dry_run=True))
        for written in summary.outbox:
            source = Path(written)
            target = out if source.suffix == ".html" else out.with_suffix(".txt")
            try:
                target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
            except OSError as exc:
                print(f"error: cannot write {target}: {exc.strerror}", file=sys.stderr)
                return EXIT_USAGE
    print(f"wrote {out} and {out.with_suffix('.txt')}: {summary.conversations} conversation(s), "
          f"{summary.worth_replying} worth replying; nothing sent; X cost ${float(str(summary.cost.get('usd', 0))):.3f} "
          f"(counted in the month's budget)")
    return 0


def cmd_allow_add(args: argparse.Namespace) -> int:
    """Protect someone from pruning: by numeric id, or @handle (one user read, $0.01)."""
    from flockpilot.domain.people import AllowEntry

    target = args.who.lstrip("@")
    cost = ""
    if target.isdigit():
        user_id, username = target, target
    elif _handle(target) is None:
        print(f"error: {args.who!r} is neither an X handle nor a numeric user id", file=sys.stderr)
        return EXIT_USAGE
    else:
        user, meter = _x_lookup(target)
        user_id, username, cost = user.id, user.username, f"; lookup cost ${meter.usd:.3f}"
    added = _stores().ledger.allow(AllowEntry(user_id, username, "you", _now()))
    print(f"{'allowlisted' if added else 'already on the allowlist'}: @{username} ({user_id}){cost}")
    return 0


def cmd_allow_remove(args: argparse.Namespace) -> int:
    ledger = _stores().ledger
    target = args.who.lstrip("@").lower()
    for entry in ledger.allowlist():
        if target in (entry.user_id, entry.username.lower()):
            ledger.disallow(entry.user_id)
            print(f"removed @{entry.username} from the allowlist")
            return 0
    print(f"error: {args.who} is not on the allowlist", file=sys.stderr)
    return EXIT_FAILED


def cmd_allow_list(args: argparse.Namespace) -> int:
    entries = _stores().ledger.allowlist()
    for e in sorted(entries, key=lambda e: (e.reason, e.username)):
        print(f"@{e.username:<20} {e.user_id:<22} {e.reason}")
    print(f"{len(entries)} allowlisted (you: by hand; dm / mention: added automatically)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Followers, following, band, follow-back rate and the last run of each job (no X call)."""
    from flockpilot.domain.follow import band_room

    stores = _stores()
    settings = _settings(stores.records)
    data: dict[str, Any] = {"account": stores.account_id, "mode": settings.mode.value}
    profile = stores.records.profile()
    if profile is not None:
        room = band_room(profile.followers, profile.following, settings.ratio_tolerance)
        data.update({"as_of": profile.seen_at, "username": profile.username, "followers": profile.followers,
                     "following": profile.following, "band": "inside" if room >= 0 else f"above by {-room}"})
    sources = stores.ledger.sources()
    followed = sum(s.followed for s in sources)
    data["follow_back_rate"] = round(sum(s.followed_back for s in sources) / followed, 3) if followed else None
    last = {job: stores.records.last_run(job) or {} for job in ("post", "follow", "prune", "digest")}
    data["last_runs"] = {job: run.get("started_at") for job, run in last.items()}
    data["last_outcomes"] = {job: run.get("outcome") for job, run in last.items()}
    data["time_zone"] = settings.time_zone
    if args.json:
        print(json.dumps(data, default=str))
        return 0

    def local(at: Any) -> str:
        try:
            when = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        except ValueError:
            return str(at)
        return f"{when.astimezone(settings.zone):%Y-%m-%d %H:%M}"

    print(f"{'account':<18} {stores.account_id}" + (f" (@{data['username']})" if "username" in data else ""))
    print(f"{'mode':<18} {settings.mode.value}; follow {settings.follow_mode.value}, prune {settings.prune_mode.value}")
    if profile is None:
        print(f"{'followers':<18} not read yet: the follow and prune jobs read them on their first run")
    else:
        band = "inside the band" if data["band"] == "inside" else f"{str(data['band']).removeprefix('above by ')} above the band"
        print(f"{'followers':<18} {data['followers']:,}, following {data['following']:,}: {band} "
              f"(±{settings.ratio_tolerance:.0%}; as of {local(profile.seen_at)})")
    rate = data["follow_back_rate"]
    print(f"{'follow-back rate':<18} " + (f"{rate:.0%} of {followed:,} followed" if rate is not None else "none followed yet"))
    print(f"last runs ({settings.time_zone}):")
    for job, run in last.items():
        print(f"  {job:<8} " + (f"{local(run['started_at'])}  {run.get('outcome') or '?'}" if run.get("started_at") else "never"))
    return 0


class _Stderr:
    """Whatever sys.stderr is at the moment of writing (it may be replaced after setup)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def cmd_run(args: argparse.Namespace) -> int:
    import logging

    from flockpilot.invoke import invoke_handler

    # stdout carries the run summary only: logs go to stderr, and CloudWatch metrics
    # (printed as EMF lines in Lambda) mean nothing on this machine.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    event: dict[str, Any] = {}
    if args.event:
        path = Path(args.event)
        if not path.is_file():
            print(f"error: {path} does not exist or is not a file", file=sys.stderr)
            return EXIT_USAGE
        try:
            event = json.loads(path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            print(f"error: {path} is not UTF-8 (byte {exc.start}): save it as UTF-8 JSON", file=sys.stderr)
            return EXIT_USAGE
        except json.JSONDecodeError as exc:
            print(f"error: {path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", file=sys.stderr)
            return EXIT_USAGE
        except ValueError as exc:  # e.g. a number of over 4,300 digits
            print(f"error: {path} cannot be read as an event: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if not isinstance(event, dict):
            print(f"error: {path} must hold a JSON object (an event such as events/{args.function}.json), "
                  f"not {type(event).__name__}", file=sys.stderr)
            return EXIT_USAGE
    if args.dry_run:
        event.update({"mode": "dry-run"} if args.function in ("follow", "prune") else {"dry_run": True})
    import flockpilot.observability  # noqa: F401 - makes the jobs' logger: point it at stderr only after

    for handler in logging.getLogger("flockpilot").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(_Stderr())
    from flockpilot.settings import ENV_FOR_ACCOUNT

    try:
        deployed = _stores().records.settings_sources()[1]
    except FlockpilotError:  # no table or secret yet: the handler's own answer says what is missing
        deployed = None
    env = _environment(deployed)
    mine = {var: os.environ.get(var) for var in ENV_FOR_ACCOUNT.values()}
    try:  # the handler reads the process environment, as in Lambda: the deployment's for this run
        for var in mine:
            if var in env:
                os.environ[var] = env[var]
            else:
                os.environ.pop(var, None)
        result = invoke_handler(args.function, event)
    finally:
        for var, value in mine.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    print(json.dumps(result, indent=2, default=str))
    return 0 if result.get("status") == "ok" else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flockpilot", description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    content = sub.add_parser("content", help="the content library").add_subparsers(dest="action", required=True)
    add = content.add_parser("add", help="add one item")
    add.add_argument("--kind", required=True, choices=["quip", "quote", "article", "pitch", "repost", "plug"])
    add.add_argument("--text", required=True, help="the post text (for a repost: the post URL or id)")
    add.add_argument("--url", help="link appended to the text (articles, pitches)")
    add.add_argument("--tags", help="comma-separated tags")
    add.add_argument("--evergreen", action="store_true", help="reuse after the cooldown")
    add.add_argument("--cooldown-days", type=int, default=30)
    add.set_defaults(func=cmd_content_add)
    imp = content.add_parser("import", help="add items from a CSV (kind,text,url,tags,evergreen,cooldown_days)")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_content_import)
    lst = content.add_parser("list", help="list items")
    lst.add_argument("--kind", choices=["quip", "quote", "article", "pitch", "repost", "plug"])
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_content_list)
    rm = content.add_parser("remove", help="remove an item")
    rm.add_argument("item_id")
    rm.set_defaults(func=cmd_content_remove)
    feed = content.add_parser("import-feed", help="add an RSS or Atom feed's entries as articles, once")
    feed.add_argument("source", help="an http(s) URL or a local file")
    feed.add_argument("--json", action="store_true")
    feed.set_defaults(func=cmd_content_import_feed)
    chk = content.add_parser("check", help="weighted length of a text, as X counts it")
    chk.add_argument("text")
    chk.add_argument("--json", action="store_true")
    chk.set_defaults(func=cmd_content_check)

    settings = sub.add_parser("settings", help="this account's settings").add_subparsers(dest="action", required=True)
    settings.add_parser("show").set_defaults(func=cmd_settings_show)
    st = settings.add_parser("set")
    st.add_argument("key")
    st.add_argument("value")
    st.set_defaults(func=cmd_settings_set)
    un = settings.add_parser("unset")
    un.add_argument("key")
    un.set_defaults(func=cmd_settings_unset)

    sources = sub.add_parser("sources", help="where follow candidates come from").add_subparsers(dest="action", required=True)
    sa = sources.add_parser("add", help="add an account whose followers to look through")
    sa.add_argument("handle")
    sa.set_defaults(func=cmd_sources_add)
    sources.add_parser("add-mentions", help="look among people who mention you").set_defaults(func=cmd_sources_mentions)
    sr = sources.add_parser("remove")
    sr.add_argument("source", help="@handle or id")
    sr.set_defaults(func=cmd_sources_remove)
    sources.add_parser("list").set_defaults(func=cmd_sources_list)
    ss = sources.add_parser("stats", help="follow-back rate per source")
    ss.add_argument("--json", action="store_true")
    ss.set_defaults(func=cmd_sources_stats)

    allow = sub.add_parser("allow", help="people prune never touches").add_subparsers(dest="action", required=True)
    aa = allow.add_parser("add")
    aa.add_argument("who", help="@handle or numeric id")
    aa.set_defaults(func=cmd_allow_add)
    ar = allow.add_parser("remove")
    ar.add_argument("who")
    ar.set_defaults(func=cmd_allow_remove)
    allow.add_parser("list").set_defaults(func=cmd_allow_list)
    feeds = sub.add_parser("feeds", help="your blog's feed: new entries become articles daily").add_subparsers(dest="action",
                                                                                                           required=True)
    fa = feeds.add_parser("add", help="register an RSS or Atom feed (read once to check it)")
    fa.add_argument("url")
    fa.set_defaults(func=cmd_feeds_add)
    feeds.add_parser("list").set_defaults(func=cmd_feeds_list)
    fr = feeds.add_parser("remove")
    fr.add_argument("feed", help="the feed's URL or id")
    fr.set_defaults(func=cmd_feeds_remove)
    insights = sub.add_parser("insights", help="the week: top posts, retired items, best hours, clicks per dollar")
    insights.add_argument("--json", action="store_true")
    insights.set_defaults(func=cmd_insights)
    status = sub.add_parser("status", help="followers, following, band, follow-back rate, last runs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    digest = sub.add_parser("digest", help="the daily DM digest").add_subparsers(dest="action", required=True)
    dp = digest.add_parser("preview", help="write today's digest to a file without sending it")
    dp.add_argument("--out", default="outbox/digest-preview.html")
    dp.set_defaults(func=cmd_digest_preview)

    plan = sub.add_parser("plan", help="today's posting plan")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(func=cmd_plan)

    run = sub.add_parser("run", help="run a function's handler here, against the configured endpoints")
    run.add_argument("function", choices=["post", "follow", "prune", "digest"])
    run.add_argument("--dry-run", action="store_true")
    run.add_argument("--event", help="a JSON event file, e.g. events/post-manual.json")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from flockpilot.logsafety import install_log_redaction

    install_log_redaction()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ContentRejected as exc:
        print(f"rejected: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except InvalidSetting as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except FlockpilotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
