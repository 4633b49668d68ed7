"""Plain JSON values from Flockpilot's dataclasses: what handlers return, runs store and the
CLI prints with --json. (Dates and times as ISO-8601 strings, enums as their values.)"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any


def plain(value: Any) -> Any:
    """`value` as JSON-ready data: dataclasses become objects with every field."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value
