"""The account's own facts: its day, its figures, its daily tallies.

"The account's day" is the calendar day in the account's time zone. Plans, slots, day
records, spend and tallies are all keyed by it, so a claim, its recovery and its records
always agree on the day, whatever the zone or DST.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def account_day(moment: datetime, zone: ZoneInfo) -> date:
    """The account's calendar day at `moment`."""
    return moment.astimezone(zone).date()


@dataclass(frozen=True)
class AccountProfile:
    """Handle and figures as X last reported them (users/me), kept so that jobs and the
    digest do not pay for the same read again the same day."""

    user_id: str
    username: str
    name: str
    followers: int
    following: int
    seen_at: datetime

    def fresh(self, now: datetime, zone: ZoneInfo, max_age: timedelta = timedelta(hours=24)) -> bool:
        """Read today (the account's day) and within `max_age`."""
        return account_day(self.seen_at, zone) == account_day(now, zone) and now - self.seen_at <= max_age


@dataclass(frozen=True)
class DaySpend:
    """What the account's runs spent on X in one day, in all and by job."""

    usd: float = 0.0
    requests: int = 0
    by_job: tuple[tuple[str, float], ...] = ()

    def job(self, name: str) -> float:
        return dict(self.by_job).get(name, 0.0)


@dataclass(frozen=True)
class GrowthPoint:
    """Followers and following as X said on one day."""

    day: date
    followers: int
    following: int


@dataclass(frozen=True)
class DayCounts:
    """A day's follow and unfollow tallies, for the churn guard (read 30 days at a time)."""

    follows: int = 0
    unfollows: int = 0
    quick_unfollows: int = 0  # unfollows of people followed less than 14 days before
