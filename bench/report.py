"""The bench's output: progress lines as it goes, detail blocks, and the closing table
(figure, measured, goal, met / NOT MET)."""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field

_STARTED = time.monotonic()


def progress(message: str) -> None:
    """One line saying what the bench is doing now, with the time since it started."""
    print(f"[bench {time.monotonic() - _STARTED:6.1f}s] {message}", flush=True)


def detail(title: str, lines: list[str]) -> None:
    print(f"\n--- {title}", flush=True)
    for line in lines:
        print(f"    {line}", flush=True)
    print(flush=True)


@dataclass(frozen=True)
class Figure:
    name: str
    measured: str
    goal: str
    met: bool | None  # None: no goal, shown for information

    @property
    def verdict(self) -> str:
        return "-" if self.met is None else ("met" if self.met else "NOT MET")


@dataclass
class Table:
    figures: list[Figure] = field(default_factory=list)

    def add(self, name: str, measured: str, goal: str, met: bool | None) -> None:
        self.figures.append(Figure(name, measured, goal, met))
        progress(f"{name}: {measured} (goal {goal}) -> {Figure(name, measured, goal, met).verdict}")

    def render(self) -> str:
        rows = [("figure", "measured", "goal", "met?")] + [(f.name, f.measured, f.goal, f.verdict) for f in self.figures]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = []
        for n, row in enumerate(rows):
            lines.append(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                lines.append("-+-".join("-" * w for w in widths))
        return "\n".join(lines)


def spread(samples: list[float]) -> str:
    """Median with the interquartile range and the extremes, in ms."""
    if len(samples) < 2:
        return f"{samples[0]:.0f} ms" if samples else "no samples"
    q1, q2, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return f"median {q2:.0f} ms (IQR {q1:.0f}-{q3:.0f}, min-max {min(samples):.0f}-{max(samples):.0f}, n={len(samples)})"


VIOLATIONS: list[str] = []  # what the X sandbox found off X's spec, over every section


def check_spec(world: object) -> None:
    """Keep what the sandbox saw that breaks X's OpenAPI spec (requests or responses)."""
    VIOLATIONS.extend(getattr(world, "violations", []))


def fail(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
