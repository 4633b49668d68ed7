"""A small model of how CloudWatch evaluates a metric alarm, enough to fly template.yaml's alarms
over a timeline of runs: at an evaluation time, each of the last EvaluationPeriods periods (rolling,
ending then) gives the alarm's statistic of the datapoints inside it, or nothing; TreatMissingData
says what nothing counts as; DatapointsToAlarm of them breaching is ALARM. Metric math: FILL(m, v)
turns a period without datapoints into v (as CloudWatch's FILL does in an alarm), IF(c, a, b),
comparisons and + - * /; a period some metric has no datapoint in is missing, unless FILLed.
Not modelled: metric delivery delay, the evaluation range CloudWatch reads beyond N periods."""

from __future__ import annotations

import ast
import bisect
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

Key = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, name, dimensions


@dataclass
class Metrics:
    """Datapoints by metric, each a (time, value)."""

    points: dict[Key, list[tuple[datetime, float]]] = field(default_factory=dict)

    def put(self, namespace: str, name: str, dimensions: dict[str, str], at: datetime, value: float = 1.0) -> None:
        series = self.points.setdefault((namespace, name, frozenset(dimensions.items())), [])
        bisect.insort(series, (at, value))

    def values(self, key: Key, start: datetime, end: datetime) -> list[float]:
        series = self.points.get(key, [])
        lo = bisect.bisect_left(series, (start, float("-inf")))
        hi = bisect.bisect_left(series, (end, float("-inf")))
        return [v for _, v in series[lo:hi]]


STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Sum": sum, "Minimum": min, "Maximum": max, "SampleCount": len, "Average": lambda v: sum(v) / len(v)}
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge, "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt, "LessThanOrEqualToThreshold": operator.le}


def _key(metric: dict[str, Any], resolve: Callable[[Any], str]) -> Key:
    dims = frozenset((d["Name"], resolve(d["Value"])) for d in metric.get("Dimensions", []))
    return metric["Namespace"], metric["MetricName"], dims


def _math(expression: str, values: dict[str, float | None]) -> float | None:
    """A metric-math expression for one period; None is a missing datapoint."""
    binary: dict[type, Callable[[float, float], float]] = {
        ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
    compare: dict[type, Callable[[float, float], bool]] = {
        ast.GtE: operator.ge, ast.Gt: operator.gt, ast.LtE: operator.le, ast.Lt: operator.lt, ast.Eq: operator.eq}

    def ev(node: ast.AST) -> float | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            return None if left is None or right is None else binary[type(node.op)](left, right)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = ev(node.left), ev(node.comparators[0])
            return None if left is None or right is None else float(compare[type(node.ops[0])](left, right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "FILL":
                value = ev(node.args[0])
                return ev(node.args[1]) if value is None else value
            if node.func.id == "IF":
                condition = ev(node.args[0])
                if condition is None:
                    return None
                return ev(node.args[1]) if condition else ev(node.args[2])
        raise ValueError(f"not modelled: {ast.dump(node)}")

    return ev(ast.parse(expression, mode="eval").body)


def state(alarm: dict[str, Any], metrics: Metrics, at: datetime, resolve: Callable[[Any], str] = str) -> str:
    """ALARM, OK or INSUFFICIENT_DATA for an alarm's Properties, evaluated at `at`."""
    periods = alarm["EvaluationPeriods"]
    datapoints: list[float | None] = []
    for i in range(periods):
        if "Metrics" in alarm:
            queries = alarm["Metrics"]
            period = timedelta(seconds=next(q["MetricStat"]["Period"] for q in queries if "MetricStat" in q))
            start, end = at - (i + 1) * period, at - i * period
            values: dict[str, float | None] = {}
            for q in queries:
                if "MetricStat" in q:
                    found = metrics.values(_key(q["MetricStat"]["Metric"], resolve), start, end)
                    values[q["Id"]] = STATISTICS[q["MetricStat"]["Stat"]](found) if found else None
            result = next(q for q in queries if q.get("ReturnData", True) and "Expression" in q)
            datapoints.append(_math(result["Expression"], values))
        else:
            period = timedelta(seconds=alarm["Period"])
            start, end = at - (i + 1) * period, at - i * period
            found = metrics.values(_key(alarm, resolve), start, end)
            datapoints.append(STATISTICS[alarm["Statistic"]](found) if found else None)
    treat = alarm.get("TreatMissingData", "missing")
    if all(d is None for d in datapoints) and treat in ("missing", "ignore"):
        return "INSUFFICIENT_DATA"
    compare = COMPARE[alarm["ComparisonOperator"]]
    breaching = sum(1 for d in datapoints if (treat == "breaching") if d is None) + sum(
        1 for d in datapoints if d is not None and compare(d, alarm["Threshold"]))
    return "ALARM" if breaching >= alarm.get("DatapointsToAlarm", periods) else "OK"


def first_alarm(alarm: dict[str, Any], metrics: Metrics, times: Iterable[datetime],
                resolve: Callable[[Any], str] = str) -> datetime | None:
    """The first of `times` at which the alarm is in ALARM, if any."""
    return next((t for t in times if state(alarm, metrics, t, resolve) == "ALARM"), None)
