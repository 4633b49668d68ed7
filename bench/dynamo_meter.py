"""DynamoDB requests and consumed capacity, measured from outside Flockpilot: botocore event
handlers on the client the product uses ask every call for ReturnConsumedCapacity=TOTAL and
add up what DynamoDB (Local) answers, under the label of the run in progress."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

CAPACITY_OPERATIONS = frozenset({"BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan",
                                 "TransactGetItems", "TransactWriteItems", "UpdateItem", "ExecuteStatement",
                                 "BatchExecuteStatement", "ExecuteTransaction"})
READS = frozenset({"BatchGetItem", "GetItem", "Query", "Scan", "TransactGetItems"})
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


@dataclass
class Usage:
    requests: int = 0
    read_units: float = 0.0
    write_units: float = 0.0
    missing_capacity: Counter[str] = field(default_factory=Counter)  # answers without ConsumedCapacity, by operation
    operations: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # error answers (a failed condition, say), by operation
    actions: set[str] = field(default_factory=set)  # IAM actions the calls need

    @property
    def units(self) -> float:
        return self.read_units + self.write_units

    def describe(self) -> str:
        return (f"{self.requests} requests, {self.units:.1f} CU (read {self.read_units:.1f}, write {self.write_units:.1f})"
                + (f", answers without ConsumedCapacity: {dict(self.missing_capacity)}" if self.missing_capacity else "")
                + (f", errors (no capacity reported): {dict(self.errors)}" if self.errors else ""))


@dataclass
class CapacityMeter:
    label: str | None = None
    usage: dict[str, Usage] = field(default_factory=dict)
    installed_on: Any = None

    def install(self) -> None:
        from flockpilot.adapters.dynamo.base import connection

        client = connection().client
        client.meta.events.register("before-parameter-build.dynamodb", self._before, unique_id="bench-capacity-before")
        client.meta.events.register("after-call.dynamodb", self._after, unique_id="bench-capacity-after")
        self.installed_on = client

    def ensure(self) -> None:
        """Install again if the product made a new client (a new connection after a rebind)."""
        from flockpilot.adapters.dynamo.base import connection

        if connection().client is not self.installed_on:
            self.install()

    @contextmanager
    def measuring(self, label: str) -> Iterator[Usage]:
        self.ensure()
        self.label = label
        usage = self.usage.setdefault(label, Usage())
        try:
            yield usage
        finally:
            self.label = None

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in CAPACITY_OPERATIONS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        if self.label is None:
            return
        usage = self.usage[self.label]
        if model.name == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                usage.actions.update(TRANSACT_ACTIONS[k] for k in item if k in TRANSACT_ACTIONS)
        else:
            usage.actions.add(model.name)
        if params.get("IndexName"):
            usage.actions.add(f"{model.name} on index {params['IndexName']}")

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if self.label is None or model.name not in CAPACITY_OPERATIONS:
            return
        usage = self.usage[self.label]
        usage.requests += 1
        usage.operations[model.name] += 1
        if "Error" in parsed:
            usage.errors[f"{model.name} {parsed['Error'].get('Code', '')}".strip()] += 1
            return
        consumed = parsed.get("ConsumedCapacity")
        if consumed is None:
            usage.missing_capacity[model.name] += 1
            return
        units = sum(float(c.get("CapacityUnits", 0.0)) for c in (consumed if isinstance(consumed, list) else [consumed]))
        if model.name in READS:
            usage.read_units += units
        else:
            usage.write_units += units
