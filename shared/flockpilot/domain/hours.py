"""The posting window and the day's mix rules: what settings validate (no content types needed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from flockpilot.domain.errors import InvalidSetting

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ActiveHours:
    """The local posting window."""

    start: time
    end: time

    @classmethod
    def parse(cls, value: str) -> ActiveHours:
        """'08:00-22:00' (local time; the window may not cross midnight)."""
        try:
            left, right = value.split("-")
            start, end = time.fromisoformat(left.strip()), time.fromisoformat(right.strip())
        except ValueError:
            raise InvalidSetting(
                f"active hours {value!r} must look like 08:00-22:00 (HH:MM-HH:MM)"
            ) from None
        if end <= start:
            raise InvalidSetting(f"active hours {value!r} must end after they start, same day")
        return cls(start, end)

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class MixRules:
    """The day's mix: how many posts, what share links, how many pitches and reposts."""

    posts_per_day: int = 10
    link_share: float = 0.5
    pitch_cap: int = 1
    reposts_per_day: int = 2
    min_gap_minutes: int = 30


def check_fits(active: ActiveHours, posts_per_day: int, min_gap_minutes: int) -> None:
    """Refuse a posting rate the active hours cannot hold at the minimum gap."""
    if posts_per_day and active.minutes / posts_per_day < min_gap_minutes:
        raise InvalidSetting(
            f"{posts_per_day} posts a day do not fit active hours {active} with a "
            f"{min_gap_minutes}-minute minimum gap (at most {active.minutes // min_gap_minutes})"
        )


def window_bounds(day: date, tz: ZoneInfo, active: ActiveHours) -> tuple[datetime, datetime]:
    """The day's active hours as UTC times (real time: a DST change inside them counts)."""
    return (datetime.combine(day, active.start, tzinfo=tz).astimezone(UTC),
            datetime.combine(day, active.end, tzinfo=tz).astimezone(UTC))
