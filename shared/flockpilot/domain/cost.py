"""The per-run meter of X API requests, billable resources and dollars."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flockpilot.domain.errors import BudgetExhausted
from flockpilot.pricing import price

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass
class OperationCost:
    """What one kind of X call cost a run."""

    requests: int = 0
    resources: int = 0
    usd: float = 0.0
    unconfirmed: int = 0  # requests charged in full though X never confirmed them (record_unknown)


@dataclass
class CostMeter:
    """Counts what a run spends on X and refuses a call that would pass the run's limit.

    Prices are an upper bound: X charges a resource read twice in one UTC day once, the
    meter charges it every time; a write whose outcome is unknown (X may have acted, and
    billed) is charged in full (`record_unknown`), so the budget checks stay conservative.
    """

    limit_usd: float | None = None
    by_operation: dict[str, OperationCost] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(op.requests for op in self.by_operation.values())

    @property
    def resources(self) -> int:
        return sum(op.resources for op in self.by_operation.values())

    @property
    def usd(self) -> float:
        """Always a float (0.0 when nothing was spent): summaries' `cost.usd` is read by scripts."""
        return float(round(sum((op.usd for op in self.by_operation.values()), 0.0), 6))

    def remaining_usd(self) -> float | None:
        return None if self.limit_usd is None else max(0.0, self.limit_usd - self.usd)

    def authorize(self, operation: str, price_kind: str, units: int) -> None:
        """Raise BudgetExhausted if `units` of `price_kind` would take the run past its limit."""
        cost = price(price_kind) * units
        if self.limit_usd is not None and self.usd + cost > self.limit_usd + 1e-9:
            raise BudgetExhausted(
                f"{operation} would cost ${cost:.3f}; ${self.remaining_usd():.3f} of this run's "
                f"${self.limit_usd:.2f} budget is left"
            )

    def record(self, operation: str, price_kind: str | None, units: int) -> None:
        """Count one request and the `units` it was billed for (none for a failed call)."""
        op = self.by_operation.setdefault(operation, OperationCost())
        op.requests += 1
        if price_kind is not None and units:
            op.resources += units
            op.usd = round(op.usd + price(price_kind) * units, 6)

    def record_unknown(self, operation: str, price_kind: str | None, units: int) -> None:
        """Count one request whose outcome is unknown (a write that timed out, lost its
        connection or got a 5xx after it may have reached X) at the most `units` it may have
        been billed for, the units `authorize` allowed: X may have acted and billed, so it is
        charged as if it had. Never refunded. A later run that finds on X the write happened
        charges nothing more for it (only the read that looked: the post job's recovery
        completes the slot at no cost, the follow and prune jobs' lookup just settles the
        person); one that finds it did not keeps the charge, so the spend stays above X's
        bill, the safe side of the monthly budget."""
        self.record(operation, price_kind, units)
        if price_kind is not None and units:
            self.by_operation[operation].unconfirmed += 1

    @property
    def unconfirmed(self) -> int:
        """Requests charged in full without X confirming them."""
        return sum(op.unconfirmed for op in self.by_operation.values())

    def snapshot(self, others: Mapping[str, CostMeter] | None = None) -> dict[str, object]:
        """What the meter counted; with `others`, what they paid too (a run's whole bill, whatever
        meter each part had): the totals summed, their operations listed as "name.operation"."""
        meters = [self, *(others or {}).values()]
        operations = dict(self.by_operation) | {
            f"{name}.{op_name}": op for name, other in (others or {}).items() for op_name, op in other.by_operation.items()}
        body: dict[str, object] = {
            "requests": sum(m.requests for m in meters),
            "resources": sum(m.resources for m in meters),
            "usd": float(round(sum((m.usd for m in meters), 0.0), 6)),
            "by_operation": {
                name: {"requests": op.requests, "resources": op.resources, "usd": op.usd}
                | ({"unconfirmed": op.unconfirmed} if op.unconfirmed else {})
                for name, op in sorted(operations.items())
            },
        }
        unconfirmed = sum(m.unconfirmed for m in meters)
        if unconfirmed:  # charged in full though X never said it acted (usd includes them)
            body["unconfirmed"] = unconfirmed
        return body
