"""The 90-day flight simulator's default run (`make simulate`'s: 500 followers, 450
following, suggest mode, $60 a month, DynamoDB Local), timed end to end by running it, with
its safety counts from the world's own logs (devtools/simulate/audit.py)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Table, detail, progress

GOAL_SECONDS = 120.0
REFERENCE_CALLS = 1000


def dynamodb_round_trip_ms(calls: int) -> float:
    """A reference for the run's wall time that no Flockpilot code is part of: the median time
    of a GetItem through botocore against a fresh DynamoDB Local (after 200 warm-up calls)."""
    import statistics

    import botocore.session

    from devtools import dynamodb_local

    ddb = dynamodb_local.start()
    try:
        client: Any = botocore.session.get_session().create_client(  # botocore makes its methods at run time
            "dynamodb", endpoint_url=ddb.endpoint, region_name="us-east-1", aws_access_key_id="local",
            aws_secret_access_key="local")
        client.create_table(TableName="reference", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        client.put_item(TableName="reference", Item={"pk": {"S": "a"}, "body": {"S": "x" * 200}})
        timed = []
        for n in range(200 + calls):
            started = time.perf_counter()
            client.get_item(TableName="reference", Key={"pk": {"S": "a"}})
            if n >= 200:
                timed.append(time.perf_counter() - started)
        client.close()
        return statistics.median(timed) * 1000
    finally:
        ddb.stop()


def run(table: Table) -> None:
    from devtools.simulate.driver import SimConfig, Simulation
    from devtools.simulate.results import BAND_FROM_DAY, audit, summary

    config = SimConfig()
    progress(f"simulate: the default {config.days}-day run on DynamoDB Local (about 2-3 minutes)")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        flight = Simulation(config, Path(out), progress=None).run()
        seconds = time.perf_counter() - started
    try:  # a reference beside the figure: never worth losing the run's result for
        reference_ms = dynamodb_round_trip_ms(REFERENCE_CALLS)
        round_trip = (f"takes {reference_ms:.2f} ms, median of {REFERENCE_CALLS:,}; the run took as long as "
                      f"{seconds * 1000 / reference_ms:,.0f} of them (a figure to compare runs on different days by)")
    except Exception as exc:  # noqa: BLE001 - reported in the detail instead
        round_trip = f"could not be measured ({type(exc).__name__}: {exc})"
    found = audit(flight)
    s = summary(flight, found)["summary"]
    band = len(found.band_from(config.start, BAND_FROM_DAY))
    detail("simulate: the default run", [
        f"{config.days} days, {s['invocations']:,} handler invocations in {seconds:.1f} s (DynamoDB Local started, "
        "the table created and the library loaded included)",
        f"handler time per invocation (ms): {s['handler_ms_by_function']}",
        f"this machine today: one DynamoDB round trip (a botocore GetItem against DynamoDB Local, no Flockpilot code) "
        f"{round_trip}; the run makes about two per invocation, so the machine's speed moves this figure as much as the "
        "code does",
        f"followers {s['start_followers']} -> {s['final_followers']}, following {s['start_following']} -> {s['final_following']}; "
        f"X ${s['total_cost_usd']:.2f} in all, ${s['cost_per_30_days_usd']:.2f} per 30 days",
        f"limit violations {s['limit_violations']}, double actions {s['double_actions']}, budget overruns "
        f"{s['budget_overruns']}, days outside the band from day {BAND_FROM_DAY} {band}",
    ])
    table.add(f"{config.days}-day simulation, default run (DynamoDB Local)", f"{seconds:.0f} s ({s['invocations']:,} invocations)",
              f"< {GOAL_SECONDS:.0f} s", seconds < GOAL_SECONDS)
    safe = (s["limit_violations"], s["double_actions"], s["budget_overruns"], band) == (0, 0, 0, 0)
    table.add("simulation safety: limits, doubles, overruns, band from day 14",
              f"{s['limit_violations']}/{s['double_actions']}/{s['budget_overruns']}/{band}", "0/0/0/0", safe)
