"""Cold start, first vs warm call and peak memory, per function, from the layer as shipped.

1. The layer is built exactly as `sam build` builds it (devtools.package.build_layer, with
   CPython 3.13 bytecode); each function's folder is copied as it ships (app.py alone).
2. What Lambda provides besides the layers is linked into one directory from the venv:
   the python3.13 runtime's boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3,
   and AWS's Powertools layer's aws_lambda_powertools, typing_extensions, aws_xray_sdk, wrapt.
   Nothing else of the venv is on the path (it also holds requests, pynamodb...: the
   layer's copies must be the ones loaded; the recorder checks every module's file).
3. Recorder processes per function (bench/recorder.py; CALL_REPEATS of them on the measured
   account, each a cold start from the same state) import the handler as Lambda does,
   calls it with a realistic first event against the local stack, lists every module loaded
   since, times a warm call doing the same work (the account's items put back as they were
   before the first call, what it published taken down), and reports peak RSS. The first vs
   warm figure is met only if the warm call did no more X work than the first (more would
   flatter the ratio).
4. Fresh processes, interleaved round by round, time `import boto3` alone, the handler
   module alone, and the handler module plus everything its first call loaded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import Table, check_spec, detail, progress, spread
from bench.worlds import HISTORY, Account, add_account, add_mentions, ident, passersby, store_secrets

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("post", "follow", "prune", "digest")
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
POWERTOOLS_PACKAGES = ("aws_lambda_powertools", "typing_extensions.py", "aws_xray_sdk", "wrapt")
CALL_REPEATS = 5  # recorder processes per function on the measured account: first vs warm is their median
ROUNDS = 21  # interleaved rounds of fresh processes per mode and function (15 until stop 23: medians moved ~2% run to run)
CHECKS_DUE = 150  # follow-back checks due for each prune call
VERIFY_DUE = 1000  # and a day's verification slice (the share of a 30,000-person ledger)
MB = 1024 * 1024


@dataclass
class Shipped:
    layer: Path  # build/bench/layer/python: what /opt/python holds
    runtime: Path  # the runtime's and the Powertools layer's packages
    functions: dict[str, Path]
    layer_bytes: int
    function_bytes: int

    def paths(self, function: str) -> list[str]:
        return [str(self.functions[function]), str(self.layer), str(self.runtime)]

    def roots(self, function: str) -> dict[str, str]:
        return {"function": str(self.functions[function]), "layer": str(self.layer), "runtime": str(self.runtime)}


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (and its children's) to `log` for a while."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("wb") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def ship(build: Path) -> Shipped:
    """The layer as `sam build` makes it, the function folders, and the runtime's packages."""
    from devtools.package import build_layer, tree_size

    build.mkdir(parents=True, exist_ok=True)
    log = build / "layer-build.log"
    with output_to(log):
        layer = build_layer((build / "layer").resolve())  # an absolute path: the Makefile runs in shared/
    if "layer bytecode compiled by Python 3.13" not in log.read_text(errors="replace"):
        raise RuntimeError(f"the layer was built without CPython 3.13 bytecode (see {log}): not the layer as shipped")
    site = Path(sysconfig.get_paths()["purelib"])
    runtime = build / "runtime"
    shutil.rmtree(runtime, ignore_errors=True)
    runtime.mkdir()
    for name in RUNTIME_PACKAGES + POWERTOOLS_PACKAGES:
        if not (site / name).exists():
            raise FileNotFoundError(f"{name} is not in the venv ({site}); make setup installs it")
        (runtime / name).symlink_to(site / name)
        if name.endswith(".py"):  # a single-file module's bytecode lives in site-packages/__pycache__:
            # link it too, or every process compiles it from source (Lambda's runtime and AWS's
            # Powertools layer ship their bytecode, like our layer)
            cached = site / "__pycache__" / f"{name[:-3]}.{sys.implementation.cache_tag}.pyc"
            if not cached.exists():
                raise FileNotFoundError(f"{cached} is missing: reinstall {name[:-3]} (pip compiles it on install)")
            (runtime / "__pycache__").mkdir(exist_ok=True)
            (runtime / "__pycache__" / cached.name).symlink_to(cached)
    functions = {}
    for name in FUNCTIONS:
        target = build / "functions" / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "functions" / name, target, ignore=shutil.ignore_patterns("__pycache__"))
        functions[name] = target
    return Shipped(layer / "python", runtime, functions, tree_size(layer), sum(tree_size(f) for f in functions.values()))


# --- the recorder's world -----------------------------------------------------------------
@dataclass
class Stocked:
    account: Account
    batches: list[list[str]]  # history ids for each prune call: CHECKS_DUE then VERIFY_DUE people
    dm_from: list[str]


def stock(world: Any, index: int, now: datetime) -> Stocked:
    """An account of 10,000 followers, three sources, and history for two prune calls."""
    account = add_account(world, index, followers=10_000, now=now)
    batches = []
    for b in range(4):  # 0 due for the timed prune recorder, 2 for the profiled one; 1 and 3 only followed (as before)
        ids = [ident(index, HISTORY, b * 10_000 + i) for i in range(CHECKS_DUE + VERIFY_DUE)]
        from devtools.xsandbox.world import User

        world.add_users(User(uid, f"h{index}_{b}_{i}", "History", description="bakes", profile_image_url="https://pbs.twimg.com/x.jpg")
                        for i, uid in enumerate(ids))
        world.add_following(account.owner_id, ids)
        # Every third checked person follows back; everyone to verify does.
        world.add_followers(account.owner_id, ids[0:CHECKS_DUE:3] + ids[CHECKS_DUE:])
        batches.append(ids)
    add_mentions(world, account, 0, 3, now - timedelta(hours=5))
    return Stocked(account, batches, passersby(world, account, 100, 4))


def fill_store(stocked: Stocked, now: datetime) -> None:
    """Content library, sources with their record, and the first batch of people due."""
    from flockpilot.adapters.dynamo.content import DynamoContentPlans
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.domain.content_csv import parse_content_csv
    from flockpilot.domain.follow import Source, SourceKind

    account = stocked.account
    parsed = parse_content_csv((ROOT / "examples" / "content.csv").read_bytes(), now=now)
    content = DynamoContentPlans(account.owner_id)
    for item in parsed.items:
        content.add_content(item)
    ledger = DynamoLedger(account.owner_id)
    for n, source in enumerate(account.sources):
        ledger.add_source(Source(source, SourceKind.ACCOUNT, f"@niche{account.index}_{n}", now - timedelta(days=60),
                                 followed=20_000, followed_back=10_000))
    add_due(stocked, 0, now)


def add_due(stocked: Stocked, batch: int, now: datetime) -> None:
    from bench.worlds import bulk_people
    from flockpilot.domain.people import Person, PersonStatus

    ids = stocked.batches[batch]
    source = stocked.account.sources[0]
    people = []
    for i, uid in enumerate(ids):
        if i < CHECKS_DUE:
            people.append(Person(uid, f"h{uid[-6:]}", PersonStatus.FOLLOWED, source, 0.5, ("bench history",),
                                 followed_at=now - timedelta(days=9), due_at=now - timedelta(hours=2)))
        else:
            people.append(Person(uid, f"h{uid[-6:]}", PersonStatus.FOLLOWED_BACK, source, 0.5, ("bench history",),
                                 followed_at=now - timedelta(days=60), followed_back_at=now - timedelta(days=58),
                                 due_at=now - timedelta(hours=2)))
    bulk_people(stocked.account.owner_id, people)


def fresh_day(account_id: str, day: str, *, empty_reserve: bool = False) -> None:
    """Forget today's day records, spend, digest claim and stored profile (and, for follow,
    the reserve of runners-up): the next call works as the first run of a day does."""
    from flockpilot.adapters.dynamo.base import Row, connection, pk_of
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.domain.people import PersonQueue

    client: Any = connection().client
    table, pk = Row.Meta.table_name, pk_of(account_id)
    if empty_reserve:
        for person in DynamoLedger(account_id).queue(PersonQueue.RESERVE, limit=10_000):
            client.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": f"PERSON#{person.user_id}"}})
    for sk in (f"DAY#FOLLOW#{day}", f"DAY#SYNC#{day}", f"DAY#PRUNE#{day}", f"DAY#DIGEST#{day}", f"SPEND#{day}", f"DIGEST#{day}"):
        client.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    client.update_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "ACCOUNT"}}, UpdateExpression="REMOVE profile")


def partition(account_id: str) -> dict[str, dict[str, Any]]:
    """Every item of the account (they all share its partition key), by sort key, as stored."""
    from flockpilot.adapters.dynamo.base import Row, connection, pk_of

    client: Any = connection().client
    items: dict[str, dict[str, Any]] = {}
    paginator = client.get_paginator("query")
    for page in paginator.paginate(TableName=Row.Meta.table_name, KeyConditionExpression="pk = :pk",
                                   ExpressionAttributeValues={":pk": {"S": pk_of(account_id)}}, ConsistentRead=True):
        for item in page.get("Items", []):
            items[item["sk"]["S"]] = item
    return items


def restore(account_id: str, saved: dict[str, dict[str, Any]]) -> int:
    """Put the account's items back as `saved` has them (what a call wrote is undone: items it
    added deleted, items it changed or deleted written back): the next call starts from the
    state the first call started from and does the same work. Returns the items changed."""
    from flockpilot.adapters.dynamo.base import Row, connection

    client: Any = connection().client
    now = partition(account_id)
    requests = [{"DeleteRequest": {"Key": {"pk": item["pk"], "sk": item["sk"]}}} for sk, item in now.items() if sk not in saved]
    requests += [{"PutRequest": {"Item": item}} for sk, item in saved.items() if now.get(sk) != item]
    for start in range(0, len(requests), 25):
        pending = {Row.Meta.table_name: requests[start:start + 25]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(requests)


def fresh_post_day(account_id: str, day: str) -> None:
    """Forget the day's plan and its slots, the day's results read (metrics) and spend: the
    next post call reads results, plans the day and publishes its first slot. `day` is the
    account's day (the bench's accounts are on UTC)."""
    from flockpilot.adapters.dynamo.base import Row, connection, pk_of

    client: Any = connection().client
    table, pk = Row.Meta.table_name, pk_of(account_id)
    paginator = client.get_paginator("query")
    for page in paginator.paginate(TableName=table, KeyConditionExpression="pk = :pk AND begins_with(sk, :plan)",
                                   ExpressionAttributeValues={":pk": {"S": pk}, ":plan": {"S": f"PLAN#{day}"}},
                                   ProjectionExpression="sk"):
        for item in page.get("Items", []):
            client.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": item["sk"]})
    for sk in (f"SPEND#{day}", f"DAY#METRICS#{day}"):
        client.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}})


def tick(function: str) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    return {"trigger": "schedule", "id": f"bench-{function}-{now:%H%M%S}", "scheduled_time": now.strftime("%Y-%m-%dT%H:%M:%SZ")}


WARM_WHAT = {
    "post": ("the first call's event again, on the account's items as they were before the first call and its post "
             "taken down: plans the day and publishes its first slot"),
    "follow": ("the first call's event again, on the account's items as they were before the first call: syncs, "
               "users/me, reads the same sources, shortlists"),
    "prune": (f"the first call's event again, on the account's items as they were before the first call: the same "
              f"batch due ({CHECKS_DUE} checks, {VERIFY_DUE} to verify)"),
    "digest": ("the first call's event again, on the account's items as they were before the first call: reads the "
               "same two DMs, renders, sends"),
}


def record(shipped: Shipped, function: str, stocked: Stocked, world: Any, environ: dict[str, str], build: Path, *,
           profile: bool = False, repeat: int = 1) -> dict[str, Any]:
    """`repeat` recorder processes, each a cold start: first call, the state put back, warm
    call. Every process starts from the same state (the account's items put back, what an
    earlier one published taken down). Returns the first process's record, with every
    process's first and warm call times in "calls" and the highest peak RSS."""
    account = stocked.account
    day = datetime.now(UTC).date().isoformat()
    now = datetime.now(UTC)
    first_event: dict[str, Any] = {"publish_next": True, "max_posts": 1} if function == "post" else tick(function)
    if function == "post":
        fresh_post_day(account.owner_id, day)
    else:
        fresh_day(account.owner_id, day, empty_reserve=function == "follow")
    if function == "prune" and profile:
        add_due(stocked, 2, now)
    if function == "digest":
        world.add_dm(stocked.dm_from[0], account.owner_id, "Hi! Which flour do you use for the batard?")
        world.add_dm(stocked.dm_from[1], account.owner_id, "Do you ship your kit to Leeds?")
    # The warm call runs on the very state the first call started from, so it does the same work:
    # the account's items are put back (restore) and what the first call published on the
    # sandbox is taken down (follow and prune run in suggest mode and the digest mails through
    # moto: they change nothing else).
    saved = partition(account.owner_id)
    posts_before = {post.id for post in world.posts_by(account.owner_id)}

    def put_back() -> tuple[int, int]:
        restored = restore(account.owner_id, saved)
        published = [post.id for post in world.posts_by(account.owner_id) if post.id not in posts_before]
        for post_id in published:
            del world.posts[post_id]
        return restored, len(published)

    config = {"function": function, "paths": shipped.paths(function), "roots": shipped.roots(function),
              "first_event": first_event, "warm_event": first_event if function == "post" else tick(function), "profile": profile}
    path = build / f"recorder-{function}-{account.index}{'-profile' if profile else ''}.json"
    path.write_text(json.dumps(config))
    runs: list[dict[str, Any]] = []
    for n in range(repeat):
        if n:
            put_back()
        runs.append(_record_once(path, environ, function, put_back))
    result = runs[0]
    result["calls"] = [(r["first_call_ms"], r["warm_call_ms"]) for r in runs]
    result["works"] = [(r["first"], r["warm"]) for r in runs]
    result["peak_rss_kib"] = max(r["peak_rss_kib"] for r in runs)
    result["peak_rss_after_first_kib"] = max(r["peak_rss_after_first_kib"] for r in runs)
    return result


def _record_once(path: Path, environ: dict[str, str], function: str, put_back: Callable[[], tuple[int, int]]) -> dict[str, Any]:
    child = subprocess.Popen([sys.executable, "-I", "-B", str(ROOT / "bench" / "recorder.py"), str(path)], env=environ,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert child.stdin is not None and child.stdout is not None
    output: list[str] = []
    result: dict[str, Any] = {}
    for line in child.stdout:
        output.append(line)
        if not line.startswith("@@BENCH "):
            continue
        message = json.loads(line[len("@@BENCH "):])
        if message["stage"] == "first":
            result["restored_items"], result["posts_taken_down"] = put_back()
            child.stdin.write("go\n")
            child.stdin.flush()
        else:
            result = {**result, **message}
    child.wait(timeout=300)
    if child.returncode != 0 or "import_ms" not in result:
        raise RuntimeError(f"recorder for {function} failed (exit {child.returncode}):\n{''.join(output[-40:])}")
    result["log_lines"] = sum(1 for line in output if not line.startswith("@@BENCH "))
    return result


# --- timing in fresh processes --------------------------------------------------------------
def answer_once(config: Path, environ: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-I", "-B", str(ROOT / "bench" / "import_timer.py"), str(config)],
                         env=environ, capture_output=True, text=True, check=True)
    answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return answer


def time_once(config: Path, environ: dict[str, str]) -> float:
    return float(answer_once(config, environ)["ms"])


# The timed modes: `import boto3` plain, and under the handlers' init policy (the collector
# paused, then frozen and resumed: functions/*/app.py, flockpilot.runtime.import_function_code);
# the handler module alone, and with what its first call imports. The goal is judged like for
# like: handler + first-call imports against `import boto3` under the same policy.
TIMED_MODES = ("boto3", "boto3-paused", "full", "full-unpaused", "handler")


def time_imports(shipped: Shipped, recorded: dict[str, dict[str, Any]], environ: dict[str, str], build: Path,
                 rounds: int) -> dict[str, dict[str, list[float]]]:
    """Interleaved, one for one: per round and function, every mode of TIMED_MODES, in an order
    that turns around every round. Also keeps what each handler + first-call import left as
    garbage ("garbage": unreachable objects the freeze kept)."""
    configs: dict[str, dict[str, Path]] = {}
    for function in FUNCTIONS:
        configs[function] = {}
        for mode in TIMED_MODES:
            path = build / f"timer-{function}-{mode}.json"
            path.write_text(json.dumps({"paths": shipped.paths(function), "mode": mode.split("-")[0],
                                        "paused": mode.endswith("-paused"), "unpaused": mode.endswith("-unpaused"),
                                        "modules": recorded[function]["modules"] if mode.startswith("full") else []}))
            configs[function][mode] = path
    samples: dict[str, dict[str, list[float]]] = {f: {m: [] for m in (*TIMED_MODES, "garbage")} for f in FUNCTIONS}
    for function in FUNCTIONS:  # one unrecorded round: the page cache holds every file before timing starts
        for mode in TIMED_MODES:
            time_once(configs[function][mode], environ)
    for n in range(rounds):
        order = TIMED_MODES if n % 2 == 0 else tuple(reversed(TIMED_MODES))
        for function in (FUNCTIONS if n % 2 == 0 else tuple(reversed(FUNCTIONS))):
            for mode in order:
                answer = answer_once(configs[function][mode], environ)
                samples[function][mode].append(float(answer["ms"]))
                if mode == "full":
                    samples[function]["garbage"].append(float(answer["garbage"]))
        if (n + 1) % 5 == 0:
            progress(f"cold start: {n + 1}/{rounds} interleaved rounds")
    return samples


def group_of(module: str) -> str:
    """The package a step's time is reported under (flockpilot by its second level)."""
    parts = module.split(".")
    if parts[0] == "app":
        return "app (the handler module and all it imports)"
    return ".".join(parts[:2]) if parts[0] == "flockpilot" else parts[0]


def breakdown(shipped: Shipped, recorded: dict[str, dict[str, Any]], environ: dict[str, str], build: Path,
              runs: int = 5) -> dict[str, list[tuple[str, float]]]:
    """Where each function's cold-start imports go: per step (a module from the recorder's
    list and what it pulled in), medians over `runs` fresh processes, summed by package."""
    result: dict[str, list[tuple[str, float]]] = {}
    for function in FUNCTIONS:
        path = build / f"timer-{function}-breakdown.json"
        path.write_text(json.dumps({"paths": shipped.paths(function), "mode": "breakdown", "modules": recorded[function]["modules"]}))
        per_run: list[dict[str, float]] = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-I", "-B", str(ROOT / "bench" / "import_timer.py"), str(path)],
                                 env=environ, capture_output=True, text=True, check=True)
            steps: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])["steps"]
            groups: dict[str, float] = {}
            for name, ms in steps.items():
                groups[group_of(name)] = groups.get(group_of(name), 0.0) + ms
            per_run.append(groups)
        names = {g for r in per_run for g in r}
        medians = {g: statistics.median(r.get(g, 0.0) for r in per_run) for g in names}
        result[function] = sorted(medians.items(), key=lambda kv: -kv[1])
    return result


def time_alone(shipped: Shipped, modules: list[str], environ: dict[str, str], build: Path, runs: int = 7) -> list[float]:
    """Fresh processes importing just `modules` (same path and bootstrap as the others)."""
    path = build / f"timer-alone-{modules[0]}.json"
    path.write_text(json.dumps({"paths": shipped.paths("post"), "mode": "modules", "modules": modules}))
    return [time_once(path, environ) for _ in range(runs)]


def floor(shipped: Shipped, recorded: dict[str, dict[str, Any]], environ: dict[str, str], build: Path,
          runs: int = 9) -> tuple[list[float], list[float]]:
    """The post function's floor before any Flockpilot code: every module its first call
    loaded that is not Flockpilot's (botocore, PynamoDB, Powertools, the stdlib they
    pull in; not boto3, which no function imports), against `import boto3` alone, interleaved;
    both with the collector paused as the handlers' init has it."""
    deps = [m for m in recorded["post"]["modules"] if m != "app" and m.split(".")[0] != "flockpilot"]
    if "boto3" in deps:
        raise RuntimeError("the post function's first call imported boto3: the floor and the runtime notes are out of date")
    path = build / "timer-post-floor.json"
    path.write_text(json.dumps({"paths": shipped.paths("post"), "mode": "modules", "modules": deps, "paused": True}))
    alone = build / "timer-post-boto3-paused.json"
    boto: list[float] = []
    below: list[float] = []
    for n in range(runs):
        for config, into in ((alone, boto), (path, below)) if n % 2 == 0 else ((path, below), (alone, boto)):
            into.append(time_once(config, environ))
    return boto, below


def handler_children(shipped: Shipped, environ: dict[str, str], build: Path, function: str) -> list[tuple[str, float]]:
    """What the handler module imports, by its direct imports' cumulative time (`-X importtime`,
    one run: inflated by the tracing itself, good for proportions). The handler module is
    imported with importlib as Lambda does, which -X importtime does not log: its own
    imports show at the top level."""
    path = build / f"timer-{function}-handler.json"
    out = subprocess.run([sys.executable, "-I", "-B", "-X", "importtime", str(ROOT / "bench" / "import_timer.py"), str(path)],
                         env=environ, capture_output=True, text=True, check=True)
    timed = out.stderr.split("@@T0", 1)[-1]
    children = []
    for line in timed.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)", line)  # one space: the top level
        if m:
            children.append((m.group(2), int(m.group(1)) / 1000))
    return sorted(children, key=lambda kv: -kv[1])


COMPARED = {"cost.requests": "X requests", "cost.resources": "X resources", "dynamodb.requests": "DynamoDB requests"}


def comparable(first: dict[str, Any], warm: dict[str, Any]) -> tuple[bool, str]:
    """Whether the warm call did no more work than the first call (X requests made and
    resources read, DynamoDB requests made): a warm call that did more would take longer and
    flatter the first call's ratio (one that did less can only make it look worse). And the
    figures as text."""
    figures = [(int(first.get(k, 0)), int(warm.get(k, 0))) for k in COMPARED]
    text = ", ".join(f"{a} / {b} {label}" for label, (a, b) in zip(COMPARED.values(), figures, strict=True))
    return all(b <= a for a, b in figures), text


def template_memory() -> str:
    found = re.findall(r"MemorySize:\s*(\d+)", (ROOT / "template.yaml").read_text())
    return f"{', '.join(sorted(set(found)))} MB" if found else "not set"


def recommended_memory(peak_mib: float) -> int:
    """The next 32 MB step above peak x 1.5, at least 128."""
    need = peak_mib * 1.5
    return max(128, int(-(-need // 32) * 32))


def run(table: Table, build: Path = ROOT / "build" / "bench", rounds: int = 0) -> None:
    rounds = rounds or int(os.environ.get("BENCH_ROUNDS", ROUNDS))
    from devtools.localstack import REGION, running
    from devtools.xsandbox.world import World

    progress("cold start: building the layer as sam build does")
    shipped = ship(build)
    total_mb = (shipped.layer_bytes + shipped.function_bytes) / 1e6
    table.add("shipped size (layer + 4 functions, unzipped)", f"{total_mb:.2f} MB (layer {shipped.layer_bytes / 1e6:.2f} MB)",
              "<= 12 MB", total_mb <= 12)
    now = datetime.now(UTC)
    world = World()
    warm_up, measured = stock(world, 0, now), stock(world, 1, now)
    # Own followers as sources are off: the world's followers have no followers of their own,
    # so those sources would only be tried and found empty (cost $0) instead of the niche accounts.
    settings = {"MODE": "live", "MONTHLY_BUDGET_USD": "10000", "FOLLOW_USE_MY_FOLLOWERS": "false",
                "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
    progress("cold start: world built (two accounts of 10,000 followers); starting DynamoDB Local, the X sandbox and moto")
    with running(world, {}, settings):
        store_secrets([warm_up.account, measured.account], REGION)
        fill_store(warm_up, now)
        fill_store(measured, now)
        recorded: dict[str, dict[str, Any]] = {}
        for stocked, label in ((warm_up, "warm-up account (results discarded: JIT, caches and validators of the local services)"),
                               (measured, "measured account")):
            environ = {**os.environ, "X_SECRET_ID": stocked.account.secret_id, "POWERTOOLS_LOG_LEVEL": "INFO",
                       "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
            for function in FUNCTIONS:
                progress(f"cold start: recorder for {function} on the {label.split(' (')[0]}")
                recorded[function] = record(shipped, function, stocked, world, environ, build,
                                            repeat=CALL_REPEATS if stocked is measured else 1)
        timer_env = dict(environ)
        progress("cold start: the recorders again under cProfile (where the first call's time goes)")
        for function in FUNCTIONS:
            recorded[function]["profile"] = record(shipped, function, measured, world, timer_env, build, profile=True)["profile"]
    check_spec(world)
    # Imports are timed with the local services stopped: nothing else competes for the CPU.
    samples = time_imports(shipped, recorded, timer_env, build, rounds)
    progress("cold start: breakdown of the imports (5 more processes per function)")
    where = breakdown(shipped, recorded, timer_env, build)
    inside = handler_children(shipped, timer_env, build, "post")
    powertools = time_alone(shipped, ["aws_lambda_powertools", "aws_lambda_powertools.utilities.typing"], timer_env, build)
    under = floor(shipped, recorded, timer_env, build)
    report(table, shipped, recorded, samples, where, inside, powertools, under)


def report(table: Table, shipped: Shipped, recorded: dict[str, dict[str, Any]], samples: dict[str, dict[str, list[float]]],
           where: dict[str, list[tuple[str, float]]], inside: list[tuple[str, float]], powertools: list[float],
           under: tuple[list[float], list[float]]) -> None:
    lines = [f"layer {shipped.layer} ({shipped.layer_bytes / 1e6:.2f} MB); runtime + Powertools packages linked from the venv: "
             f"{', '.join(RUNTIME_PACKAGES + POWERTOOLS_PACKAGES)}",
             "every process: python -I -B (no user site, no .pyc written), sys.path = function dir, layer, runtime, stdlib; "
             "json, logging, traceback, decimal, concurrent.futures loaded first (awslambdaric's bootstrap has them)"]
    for function in FUNCTIONS:
        r = recorded[function]
        origin = "; ".join(f"{kind}: " + ", ".join(f"{top} {n}" for top, n in sorted(tops.items(), key=lambda t: -t[1])[:6])
                           for kind, tops in sorted(r["origins"].items()))
        lines += [f"{function}: {len(r['modules'])} modules loaded by the import and first call ({origin})",
                  f"    layer modules run from shipped bytecode: {r['layer_from_bytecode']}, compiled from source: {r['layer_from_source']}; "
                  f"modules from anywhere else: {len(r['strays'])} {r['strays'][:5]}",
                  f"    dataclasses made from the layer's compiled methods (flockpilot/classcache.bin): {r['classcache']['hits']}, "
                  f"compiled although their module is in the file: {r['classcache']['misses']}, other modules' "
                  f"(compiled as usual): {r['classcache']['elsewhere']}",
                  f"    first call did: {r['first']}",
                  f"    warm call ({WARM_WHAT[function]}) did: {r['warm']}"]
    detail("cold start: what each function loads (recorder)", lines)
    timing = ["the handlers load their code with the collector paused, then freeze it and resume (functions/*/app.py); "
              "the goal is judged as the issue states it, against a plain `import boto3` in a fresh process (what a "
              "minimal boto3 function's init costs); the ratio against `import boto3` under the handlers' own collector "
              "policy (like for like: how heavy the code is, not what a cold start costs) is printed beside it"]
    for function in FUNCTIONS:
        s = samples[function]
        boto, paused, full, handler, unpaused = (statistics.median(s[m]) for m in ("boto3", "boto3-paused", "full", "handler",
                                                                                     "full-unpaused"))
        timing += [f"{function}: import boto3 {spread(s['boto3'])}",
                   f"{function}: import boto3 with the collector paused as the handlers' init has it {spread(s['boto3-paused'])}",
                   f"{function}: handler + first-call imports {spread(s['full'])} -> ratio of medians {full / paused:.2f} like for "
                   f"like, {full / boto:.2f} against a plain import boto3; init left {statistics.median(s['garbage']):.0f} "
                   f"unreachable objects, kept by the freeze",
                   f"{function}: handler module alone {spread(s['handler'])} -> ratio of medians {handler / paused:.2f} like for like",
                   f"{function}: handler + first-call imports with the handler's pause undone {spread(s['full-unpaused'])}: the "
                   f"pause saves {unpaused - full:.0f} ms ({(unpaused - full) / unpaused:.0%}) of init"]
        table.add(f"cold start {function}: imports / import boto3", f"{full / boto:.2f}x ({full:.0f} ms as shipped vs {boto:.0f} ms "
                  f"for a plain import boto3; like for like, against import boto3 with the collector paused as the handlers "
                  f"do ({paused:.0f} ms): {full / paused:.2f}x)", "<= 1.2x", full / boto <= 1.2)
    detail("cold start: fresh processes, interleaved", timing)
    lines = [f"{function}: " + ", ".join(f"{group} {ms:.0f}" for group, ms in where[function] if ms >= 1.5) for function in FUNCTIONS]
    lines.append("the post handler module's own imports (-X importtime, cumulative ms, inflated by the tracing): "
                 + ", ".join(f"{name} {ms:.0f}" for name, ms in inside if ms >= 1))
    lines.append(f"aws_lambda_powertools (Logger, Metrics, utilities.typing) alone, from AWS's layer: {spread(powertools)}")
    boto, deps = (statistics.median(x) for x in under)
    lines.append(f"post's floor before any Flockpilot code (every module its first call loaded that is not Flockpilot's: "
                 f"botocore, PynamoDB, Powertools, stdlib), both with the collector paused: {spread(under[1])} vs import boto3 "
                 f"{spread(under[0])}: "
                 f"{deps / boto:.2f}x, which leaves Flockpilot's own modules {1.2 * boto - deps:.0f} ms of a 1.2x goal like "
                 f"for like and {1.2 * statistics.median(samples['post']['boto3']) - deps:.0f} ms of the goal as judged (against "
                 f"a plain import boto3, {spread(samples['post']['boto3'])}); they take "
                 f"{statistics.median(samples['post']['full']) - deps:.0f} ms (handler + first-call imports minus the floor)")
    detail("cold start: where the imports go (ms, median of 5 fresh processes; each step is a module of the recorder's list "
           "and whatever it pulled in that was not loaded yet)", lines)
    calls = []
    for function in FUNCTIONS:
        r = recorded[function]
        ratios = sorted(first / warm for first, warm in r["calls"])
        ratio = statistics.median(ratios)
        firsts, warms = [first for first, _ in r["calls"]], [warm for _, warm in r["calls"]]
        checks = [comparable(first, warm) for first, warm in r["works"]]
        fair = all(ok for ok, _ in checks)
        work = checks[0][1] if len({text for _, text in checks}) == 1 else "; ".join(text for _, text in checks)
        calls.append(f"{function}: handler import {r['import_ms']:.0f} ms; {len(ratios)} cold starts, first call median "
                     f"{statistics.median(firsts):.0f} ms ({', '.join(f'{v:.0f}' for v in firsts)}), warm call median "
                     f"{statistics.median(warms):.0f} ms ({', '.join(f'{v:.0f}' for v in warms)}); ratio per cold start "
                     f"{', '.join(f'{v:.2f}' for v in ratios)}")
        calls.append(f"    {function}: work, first / warm call: {work}; DynamoDB by operation {r['dynamodb_by_operation']}")
        calls.append(f"    {function}: before each warm call, {r['restored_items']} of the account's items were put back as they "
                     f"were before the first call" + (f", and the {r['posts_taken_down']} post(s) it published taken down"
                                                      if r["posts_taken_down"] else ""))
        table.add(f"first vs warm call {function}",
                  f"{ratio:.2f}x (median of {len(ratios)} cold starts, {ratios[0]:.2f}-{ratios[-1]:.2f}; "
                  f"{statistics.median(firsts):.0f} vs {statistics.median(warms):.0f} ms; work {work})"
                  + ("" if fair else "; NOT COMPARABLE: a warm call did more work than its first call"),
                  "<= 2x, the warm call doing no more than the first call's work", ratio <= 2 and fair)
        if "next_call_ms" in r:  # post: a later tick of the day, whose plan exists, only publishes
            calls.append(f"    {function}: then a tick that only publishes the next slot (the plan exists) {r['next_call_ms']:.0f} ms: "
                         f"the first call is {r['first_call_ms'] / r['next_call_ms']:.2f}x that (it also planned the day)")
    for function in FUNCTIONS:
        prof = recorded[function]["profile"]
        for stage in ("first", "warm"):
            spent = prof.get(stage, {})
            calls.append(f"    {function} {stage} call under cProfile (cumulative ms, overlapping): "
                         + ", ".join(f"{label} {ms:.0f}" for label, ms in sorted(spent.items(), key=lambda kv: -kv[1])))
    detail(f"first vs warm call ({CALL_REPEATS} recorder processes per function, each a cold start from the same state; "
           "then one more under cProfile)", calls)
    memory = []
    for function in FUNCTIONS:
        r = recorded[function]
        peak = r["peak_rss_kib"] / 1024
        memory.append(f"{function}: peak RSS {peak:.1f} MiB (after the first call {r['peak_rss_after_first_kib'] / 1024:.1f} MiB); "
                      f"recommended MemorySize {recommended_memory(peak)} MB (template: {template_memory()}); "
                      f"ru_maxrss said {r['ru_maxrss_kib'] / 1024:.0f} MiB, the bench parent's size carried over exec")
        table.add(f"peak RSS {function}", f"{peak:.1f} MiB (recommend MemorySize {recommended_memory(peak)})", "<= 96 MiB", peak <= 96)
    detail("peak memory (VmHWM of the recorder process: interpreter, runtime packages, layer, both calls)", memory)
