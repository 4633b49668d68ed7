"""What a first `sam deploy` of template.yaml does on a new account: the parameters it accepts,
what it reserves, which alarms it can raise and when."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml  # type: ignore[import-untyped]

from tests.template.alarms import Metrics, first_alarm
from tests.template.test_template import _cfn_loader, resources  # noqa: F401 - resources is a fixture

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("PostFunction", "FollowFunction", "PruneFunction", "DigestFunction")
NO_VALUE = object()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_cfn_loader())  # noqa: S506 - our own loader
    return loaded


def parameters(template: dict[str, Any], **overrides: str) -> dict[str, Any]:
    """The values a deploy uses: each parameter's default unless given."""
    values = {name: p["Default"] for name, p in template["Parameters"].items() if "Default" in p}
    return values | overrides


def resolve(value: Any, template: dict[str, Any], values: dict[str, Any]) -> Any:
    """Ref to a parameter, Fn::Equals, Fn::Not and Fn::If as CloudFormation resolves them
    (AWS::NoValue comes back as NO_VALUE); anything else is returned as it is."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else values.get(arg, value)
        if key == "Fn::Equals":
            return resolve(arg[0], template, values) == resolve(arg[1], template, values)
        if key == "Fn::Not":
            return not resolve(arg[0], template, values)
        if key == "Fn::If":
            condition = resolve(template["Conditions"][arg[0]], template, values)
            return resolve(arg[1] if condition else arg[2], template, values)
    return value


# --- 1. reserved concurrency -------------------------------------------------------------

@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_default_deploy_reserves_no_concurrency(resources: dict[str, Any], template: dict[str, Any],  # noqa: F811
                                                  function: str) -> None:
    # New accounts often have a quota of 10, all of which Lambda keeps unreserved: reserving any
    # concurrency there fails the deploy and rolls the stack back.
    props = resources[function]["Properties"]
    assert resolve(props.get("ReservedConcurrentExecutions", NO_VALUE), template, parameters(template)) is NO_VALUE
    opted_in = parameters(template, ReservedConcurrency="on")
    assert resolve(props.get("ReservedConcurrentExecutions", NO_VALUE), template, opted_in) == 1


def test_reserved_concurrency_is_explained_where_it_is_chosen(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ReservedConcurrency"]
    assert parameter["Default"] == "off" and parameter["AllowedValues"] == ["off", "on"]
    assert "10" in parameter["Description"]  # why it is off: the new-account quota
    deploy = (ROOT / "README.md").read_text().split("## Deploy", 1)[1]
    assert "ReservedConcurrency" in deploy


# --- 2, 3. the digest's addresses ----------------------------------------------------------

def _accepts(parameter: dict[str, Any], value: str) -> bool:
    """CloudFormation's check of a String parameter's value (AllowedPattern must match it whole)."""
    import re

    if "AllowedValues" in parameter and value not in parameter["AllowedValues"]:
        return False
    return "AllowedPattern" not in parameter or re.fullmatch(parameter["AllowedPattern"], value) is not None


@pytest.mark.parametrize("name", ["DigestEmail", "SenderEmail"])
def test_the_digests_addresses_are_required_and_must_be_addresses(template: dict[str, Any], name: str) -> None:
    # With "" allowed (the old default), --guided accepted an empty answer and the digest, the only
    # channel in suggest mode, then failed every day with "no DIGEST_EMAIL / SENDER_EMAIL set".
    parameter = template["Parameters"][name]
    assert "Default" not in parameter  # CloudFormation refuses a deploy that gives none
    for bad in ("", " ", "you", "you@example", "@example.com", "you@@example.com", "you @example.com", "a@b.c,d@e.f"):
        assert not _accepts(parameter, bad), f"{name} accepts {bad!r}"
    for good in ("you@example.com", "first.last+digest@mail.example.co.uk"):
        assert _accepts(parameter, good), f"{name} refuses {good!r}"
    assert "@" in parameter["ConstraintDescription"]  # says what is expected, with an example


def test_the_template_pattern_is_the_settings_pattern(template: dict[str, Any]) -> None:
    from flockpilot.settings import _EMAIL

    assert template["Parameters"]["DigestEmail"]["AllowedPattern"] == f"^{_EMAIL.pattern}$"


def test_digest_email_does_not_claim_the_alerts(template: dict[str, Any]) -> None:
    assert "alert" not in template["Parameters"]["DigestEmail"]["Description"].split("Alarms go")[0].lower()
    assert "Alarms go to AlertEmail" in " ".join(template["Parameters"]["DigestEmail"]["Description"].split())


def test_samconfig_overrides_are_values_the_template_accepts(template: dict[str, Any]) -> None:
    import shlex
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = dict(pair.split("=", 1) for pair in shlex.split(config["default"]["deploy"]["parameters"]["parameter_overrides"]))
    assert overrides and set(overrides) <= set(template["Parameters"])
    for name, value in overrides.items():
        assert _accepts(template["Parameters"][name], value), f"samconfig.toml: {name}={value!r} would be refused"


# --- 5. the time zone ---------------------------------------------------------------------

def test_every_area_location_time_zone_and_utc_is_accepted(template: dict[str, Any]) -> None:
    import zoneinfo

    parameter = template["Parameters"]["TimeZone"]
    areas = {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific", "Etc"}
    canonical = sorted(n for n in zoneinfo.available_timezones() if n.split("/")[0] in areas and "/" in n)
    assert len(canonical) > 400
    refused = [n for n in [*canonical, "UTC"] if not _accepts(parameter, n)]
    assert not refused
    assert _accepts(parameter, parameter["Default"])


def test_a_time_zone_typo_is_refused_before_anything_is_created(template: dict[str, Any]) -> None:
    # Without a pattern these reached EventBridge Scheduler, which refused them mid-deploy: a rollback.
    parameter = template["Parameters"]["TimeZone"]
    for typo in ("", "Europe London", "europe/london", "Europe/london", "Europe/", "Europ/London", "London",
                 "Europe/London ", "UTC+1", "utc", "Europe//London"):
        assert not _accepts(parameter, typo), f"TimeZone accepts {typo!r}"
    assert "Europe/London" in parameter["ConstraintDescription"]


# --- 4. the missed-digest alarm -----------------------------------------------------------

def _ref(value: Any) -> str:
    return str(value["Ref"]) if isinstance(value, dict) else str(value)


def _every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    times, t = [], start
    while t < end:
        times.append(t)
        t += step
    return times


def _flight(zone: str, deploy_local: datetime, digest_hour: int, *, days: int = 4,
            skip: tuple[int, ...] = ()) -> tuple[Metrics, datetime, datetime, list[datetime]]:
    """The stack's Invocations from the deploy on: post every 10 minutes, the digest daily at
    DigestHour:15 local (template schedules); the digests numbered in `skip` (0: the first after
    the deploy) do not run."""
    tz = ZoneInfo(zone)
    deploy = deploy_local.replace(tzinfo=tz).astimezone(UTC)
    end = deploy + timedelta(days=days)
    metrics = Metrics()
    first_tick = deploy.replace(second=0, microsecond=0) + timedelta(minutes=10 - deploy.minute % 10)
    for tick in _every(first_tick, end, timedelta(minutes=10)):
        metrics.put("AWS/Lambda", "Invocations", {"FunctionName": "PostFunction"}, tick)
    digests = []
    planned = [datetime.combine(deploy_local.date() + timedelta(days=n), time(digest_hour, 15), tz).astimezone(UTC)
               for n in range(days + 2)]
    for n, at in enumerate(at for at in planned if deploy < at < end):
        if n not in skip:
            metrics.put("AWS/Lambda", "Invocations", {"FunctionName": "DigestFunction"}, at)
            digests.append(at)
    return metrics, deploy, end, digests


FLIGHTS = [  # (zone, deploy, DigestHour): deploy just after, just before and far from the digest hour
    ("UTC", datetime(2026, 6, 1, 7, 16), 7),
    ("UTC", datetime(2026, 6, 1, 7, 14), 7),
    ("Asia/Tokyo", datetime(2026, 6, 1, 23, 50), 0),
    ("Europe/London", datetime(2026, 10, 24, 7, 16), 7),  # clocks go back the next night: 25 hours to the first digest
    ("America/New_York", datetime(2026, 10, 31, 7, 16), 7),  # the same
    ("America/New_York", datetime(2026, 3, 7, 12, 0), 23),  # clocks go forward
    ("America/Los_Angeles", datetime(2026, 11, 1, 0, 30), 23),
]


@pytest.mark.parametrize(("zone", "deploy_local", "digest_hour"), FLIGHTS)
def test_no_missed_digest_alarm_while_the_digest_runs_daily(template: dict[str, Any], zone: str,
                                                             deploy_local: datetime, digest_hour: int) -> None:
    # The alarm was "Invocations < 1 in a day, missing counts as missed": on deploy day the day
    # before has no data, so it fired before the first digest could run.
    alarm = template["Resources"]["DigestMissedAlarm"]["Properties"]
    metrics, deploy, end, _ = _flight(zone, deploy_local, digest_hour)
    fired = first_alarm(alarm, metrics, _every(deploy + timedelta(minutes=1), end, timedelta(minutes=5)), _ref)
    assert fired is None, f"fired {fired - deploy} after the deploy"


@pytest.mark.parametrize(("zone", "deploy_local", "digest_hour"), FLIGHTS)
@pytest.mark.parametrize("missed", [1, 2])  # the second or third digest after the deploy
def test_a_missed_digest_fires_within_hours_of_its_time(template: dict[str, Any], zone: str, deploy_local: datetime,
                                                        digest_hour: int, missed: int) -> None:
    alarm = template["Resources"]["DigestMissedAlarm"]["Properties"]
    _, deploy, end, planned = _flight(zone, deploy_local, digest_hour, days=5)
    metrics, _, _, ran = _flight(zone, deploy_local, digest_hour, days=5, skip=(missed,))
    (missed_at,) = set(planned) - set(ran)
    fired = first_alarm(alarm, metrics, _every(deploy + timedelta(minutes=1), end, timedelta(minutes=5)), _ref)
    assert fired is not None, "a missed digest never fired"
    last = max(at for at in ran if at < missed_at)
    assert missed_at < fired <= last + timedelta(hours=28, minutes=5)  # 28 hours after the last digest: 4-5 after the missed one


def test_the_missed_digest_alarm_goes_to_the_alert_topic(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["DigestMissedAlarm"]["Properties"]
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"  # nothing to judge (the stack too young, or stopped) is not a miss
    alarms = (ROOT / "README.md").read_text().split("**Alerts.**", 1)[1].split("\n\n", 1)[0]
    assert "28 hours" in alarms and "deploy" in alarms  # says when it can fire, and that deploy day is quiet


# --- 6. a job that stays partial -------------------------------------------------------------

JOBS = ("post", "follow", "prune", "digest")


def _matches(pattern: str, line: str) -> bool:
    """A CloudWatch Logs JSON filter pattern of `$.field = "value"` / `!=` terms joined by &&."""
    import re

    event = json.loads(line)
    terms = pattern.strip().removeprefix("{").removesuffix("}").split("&&")
    for term in terms:
        found = re.fullmatch(r'\s*\$\.(\w+)\s*(!?=)\s*"([^"]*)"\s*', term)
        assert found, f"not modelled: {term!r}"
        field, op, value = found.groups()
        if (event.get(field) == value) != (op == "="):
            return False
    return True


def _run_finished_line(job: str, outcome: str) -> str:
    """The "run finished" line shared/flockpilot/handling.py logs for a run of `job`."""
    import io
    from datetime import date

    from flockpilot.events import PostEvent
    from flockpilot.handling import handle
    from flockpilot.jobs.skeleton import RunSummary
    from flockpilot.observability import logger, metrics

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    def run(request: PostEvent, remaining: Any) -> RunSummary:
        summary = RunSummary(job=job, account="acct", day=date(2026, 6, 1), started_at=datetime(2026, 6, 1, tzinfo=UTC))
        if outcome == "partial":
            summary.mark_partial("found 3 of the 30 people wanted today")
        elif outcome == "failed":
            summary.mark_failed("X does not permit this")
        return summary

    stream = io.StringIO()
    handler: Any = logger.registered_handler  # a logging.StreamHandler on stdout
    previous = handler.setStream(stream)
    try:
        handle({"trigger": "schedule"}, Context(), job=job, model=PostEvent, run=run, counts=lambda s: {})  # type: ignore[arg-type]
    finally:
        handler.setStream(previous)
        metrics.clear_metrics()
    return next(line for line in stream.getvalue().splitlines() if '"run finished"' in line)


@pytest.mark.parametrize("job", JOBS)
def test_each_functions_partial_runs_are_counted_by_job(template: dict[str, Any], job: str) -> None:
    # RunPartial has only the service dimension: it cannot say which job stays partial.
    declared = template["Resources"]
    (name,) = [n for n, r in declared.items() if r["Type"] == "AWS::Logs::MetricFilter"
               and r["Properties"]["LogGroupName"] == {"Ref": f"{job.capitalize()}LogGroup"}]
    props = declared[name]["Properties"]
    (transform,) = props["MetricTransformations"]
    assert (transform["MetricNamespace"], transform["MetricName"], transform["MetricValue"]) == ("Flockpilot", "JobRunPartial", "1")
    assert transform["Dimensions"] == [{"Key": "job", "Value": "$.job"}]
    # ...from the line the handler really logs
    assert _matches(props["FilterPattern"], _run_finished_line(job, "partial"))
    assert not _matches(props["FilterPattern"], _run_finished_line(job, "ok"))
    assert not _matches(props["FilterPattern"], _run_finished_line(job, "failed"))
    assert json.loads(_run_finished_line(job, "partial"))["job"] == job  # the dimension's value


def _partial_alarm(template: dict[str, Any], job: str) -> dict[str, Any]:
    alarm: dict[str, Any]
    (alarm,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
                and r["Properties"].get("MetricName") == "JobRunPartial"
                and r["Properties"]["Dimensions"] == [{"Name": "job", "Value": job}]]
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]  # routed like the other alarms
    return alarm


RUNS = {"post": timedelta(minutes=10), "follow": timedelta(hours=1), "prune": timedelta(hours=1), "digest": timedelta(days=1)}
START = datetime(2026, 6, 1, 0, 5, tzinfo=UTC)


def _partial_runs(job: str, partial: Any, days: int = 6) -> tuple[Metrics, list[datetime]]:
    """The job's runs over `days` (on its schedule); those `partial(run_time)` says are partial
    count in JobRunPartial as the filter counts them."""
    metrics, times = Metrics(), _every(START, START + timedelta(days=days), RUNS[job])
    for at in times:
        if partial(at):
            metrics.put("Flockpilot", "JobRunPartial", {"job": job}, at)
    return metrics, _every(START, START + timedelta(days=days), timedelta(minutes=10))


def _day(at: datetime) -> int:
    return (at - START).days


@pytest.mark.parametrize("job", JOBS)
def test_an_expected_partial_run_or_a_bad_day_does_not_alarm(template: dict[str, Any], job: str) -> None:
    alarm = _partial_alarm(template, job)
    once = _partial_runs(job, lambda at: at == START + 2 * RUNS[job])
    assert first_alarm(alarm, *once) is None  # a single partial run (a lost answer, a DM-heavy day)
    every_other_day = _partial_runs(job, lambda at: _day(at) % 2 == 0 and at.hour == 0 and at.minute < 10)
    assert first_alarm(alarm, *every_other_day) is None
    if job != "digest":  # an incident of most of a day: every run partial for 20 hours
        outage = _partial_runs(job, lambda at: START + timedelta(hours=30) <= at < START + timedelta(hours=50))
        assert first_alarm(alarm, *outage) is None


@pytest.mark.parametrize("job", JOBS)
def test_a_job_partial_every_day_alarms_on_the_third(template: dict[str, Any], job: str) -> None:
    # A cause that stays: the day's first run partial every day (sources dry, a feed gone, the budget too small).
    alarm = _partial_alarm(template, job)
    daily = _partial_runs(job, lambda at: _day(at) >= 1 and at.hour == 0 and at.minute < 10)
    fired = first_alarm(alarm, *daily)
    assert fired is not None
    assert START + timedelta(days=3) <= fired <= START + timedelta(days=3, hours=1)  # its third partial day


@pytest.mark.parametrize("job", ["post", "follow", "prune"])
def test_a_job_partial_on_every_run_alarms_within_two_days(template: dict[str, Any], job: str) -> None:
    alarm = _partial_alarm(template, job)
    stuck_from = START + timedelta(hours=13)
    stuck = _partial_runs(job, lambda at: at >= stuck_from)
    fired = first_alarm(alarm, *stuck)
    assert fired is not None and stuck_from + timedelta(hours=24) < fired <= stuck_from + timedelta(hours=49)


def test_the_readme_says_what_the_partial_alarm_means() -> None:
    alarms = (ROOT / "README.md").read_text().split("**Alerts.**", 1)[1].split("\n\n", 1)[0]
    assert "JobRunPartial" in alarms and "3 days" in alarms
