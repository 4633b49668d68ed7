"""Follow rules: the 10% band, who is worth suggesting, how good a source is.

Pure functions over plain data; the follow job feeds them what X and the store returned.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flockpilot.domain.x import XUser

STRICT_BAND_ABOVE = 5000  # X: past 5,000 following, more follows depend on the ratio
X_DAILY_FOLLOW_LIMIT = 400  # X's own daily follow limit; every cap is clamped to it


CHURN_PER_DAY = 0.003  # a day's share of followers who leave: the band keeps room for them
# A source whose followers almost never pass your filters is set aside once this many of them
# were read: reading on would spend the day's follow money finding no one.
DRY_AFTER_READ = 200
DRY_PASS_RATE = 0.02
FIRST_PAGE = 100  # a source's pages grow at most to what was read of it so far (100, 100, 200, 400...)
# A removed source is remembered (cursor, figures) as long as the people read there are known
# as seen: added again within it, it is read on from where it stopped, never from the start.
REMOVED_SOURCE_DAYS = 180
# Your own followers read as sources at a time. Only those that can still be read count (not
# set aside as dry, not read to the end): one that cannot gives its place to a new follower
# (removed, so remembered), which keeps every run's read of the sources bounded too.
MAX_MY_FOLLOWER_SOURCES = 30
# Within your followers' arm (choose_sources): a follower source starts from the pool's rate,
# weighted as this many follows, then its own record takes over.
POOLED_PRIOR_WEIGHT = 4


def band_limit(followers: int, following: int, tolerance: float) -> int:
    """The most you may follow: floor(followers x (1 + tolerance)); past 5,000 following the
    band is strict (no tolerance), as X ties more follows to the ratio there."""
    tol = 0.0 if following >= STRICT_BAND_ABOVE else tolerance
    return math.floor(followers * (1 + tol))


def band_room(followers: int, following: int, tolerance: float) -> int:
    """Follows left before the band's upper edge (negative: how far above it you are)."""
    return band_limit(followers, following, tolerance) - following


@dataclass(frozen=True)
class FollowBudget:
    """Today's follows, and which limit set the number."""

    count: int
    band_room: int
    reason: str


def band_headroom(followers: int) -> int:
    """Places in the band left free for the followers who leave before prune's next
    decision: at least one, about CHURN_PER_DAY of the followers."""
    return max(1, math.ceil(followers * CHURN_PER_DAY))


def follow_budget(
    *, followers: int, following: int, tolerance: float, daily_cap: int, already_today: int, affordable: int
) -> FollowBudget:
    """Today's follows: min(daily cap, room left in the band less a day's expected follower
    losses, what the dollars allow)."""
    cap = min(max(daily_cap, 0), X_DAILY_FOLLOW_LIMIT) - already_today
    limit = band_limit(followers, following, tolerance)
    room = limit - following
    count = max(0, min(cap, room - band_headroom(followers), affordable))
    if count == cap and cap <= min(room, affordable):
        reason = f"daily cap {daily_cap} ({already_today} already today)"
    elif count == room - band_headroom(followers) or room <= band_headroom(followers):
        reason = (f"band: following {following} may reach {limit} ({followers} followers), "
                  f"{band_headroom(followers)} kept free for followers who leave")
    else:
        reason = f"budget: the day's follow money covers {affordable} more"
    return FollowBudget(count=count, band_room=room, reason=reason)


@dataclass(frozen=True)
class FilterRules:
    """Who is worth suggesting: each rule a setting."""

    skip_protected: bool = True
    skip_default_avatar: bool = True
    skip_empty_bio: bool = True
    min_followers: int = 10
    max_followers: int = 50_000
    # The candidate's following/followers ratio: people who follow many back score high,
    # but a huge ratio is a follow-churn account.
    min_ratio: float = 0.2
    max_ratio: float = 10.0
    active_within_days: int = 30
    include_keywords: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What the filters said about one candidate."""

    passed: bool
    reasons: tuple[str, ...]  # what failed, with figures: for the record
    keys: tuple[str, ...] = ()  # which filters failed, without figures: for counting


def screen(c: XUser, rules: FilterRules, *, owner_id: str, known: set[str], now: datetime) -> Verdict:
    """Every filter, each with its reason; the first failing reasons are kept for the record."""
    fails: list[tuple[str, str]] = []
    connection = c.connection or ()
    if c.id == owner_id:
        fails.append(("is you", "is you"))
    if c.id in known or "following" in connection or "follow_request_sent" in connection:
        fails.append(("known", "already followed, suggested or unfollowed before"))
    if "blocking" in connection or "muting" in connection:
        fails.append(("blocked", "blocked or muted"))
    if rules.skip_protected and c.protected:
        fails.append(("protected", "protected account"))
    if rules.skip_default_avatar and c.default_avatar:
        fails.append(("default avatar", "default avatar"))
    bio = c.description.strip().lower()
    if rules.skip_empty_bio and not bio:
        fails.append(("empty bio", "empty bio"))
    if not rules.min_followers <= c.followers <= rules.max_followers:
        fails.append(("followers", f"{c.followers} followers outside {rules.min_followers}-{rules.max_followers}"))
    ratio = c.following / max(c.followers, 1)
    if not rules.min_ratio <= ratio <= rules.max_ratio:
        fails.append(("ratio", f"following/followers {ratio:.2f} outside {rules.min_ratio}-{rules.max_ratio}"))
    if c.last_post_at is None or now - c.last_post_at > timedelta(days=rules.active_within_days):
        fails.append(("inactive", f"no post in {rules.active_within_days} days"))
    if rules.include_keywords and not any(k.lower() in bio for k in rules.include_keywords):
        fails.append(("no keyword", "bio has none of the keywords"))
    hit = [k for k in rules.exclude_keywords if k.lower() in bio]
    if hit:
        fails.append(("excluded word", f"bio has excluded word {hit[0]!r}"))
    if rules.languages and c.last_post_lang and c.last_post_lang not in rules.languages:
        fails.append(("language", f"language {c.last_post_lang}"))
    if fails:
        return Verdict(False, tuple(text for _, text in fails), tuple(key for key, _ in fails))
    return Verdict(True, ("passed every filter",))


def follow_back_likelihood(c: XUser, source_rate: float) -> float:
    """How likely this person follows back: their own habit (ratio) times the source's record."""
    ratio = c.following / max(c.followers, 1)
    habit = min(1.0, ratio / 2)  # following twice as many as follow them: follows back often
    mutual_hint = 1.0 if c.follows_me else 0.0
    return max(0.01, min(1.0, 0.5 * habit + 0.5 * source_rate + 0.3 * mutual_hint))


def relevance(c: XUser, keywords: tuple[str, ...]) -> float:
    if not keywords:
        return 1.0
    bio = c.description.lower()
    hits = sum(1 for k in keywords if k.lower() in bio)
    return 0.5 + 0.5 * min(1.0, hits / 2)


def score(c: XUser, source_rate: float, keywords: tuple[str, ...]) -> float:
    """Score = likelihood of a follow-back x relevance (both 0..1)."""
    return round(follow_back_likelihood(c, source_rate) * relevance(c, keywords), 4)


class SourceKind(StrEnum):
    ACCOUNT = "account"  # an account you chose, whose followers are read
    MY_FOLLOWER = "my_follower"  # one of your own followers (the routine's "pick 3 of mine")
    MENTIONS = "mentions"  # people who mention you


@dataclass(frozen=True)
class Source:
    """Where candidates come from, its reading cursor and its follow-back record."""

    source_id: str
    kind: SourceKind
    label: str
    added_at: datetime
    cursor: str | None = None
    exhausted: bool = False
    read: int = 0
    suggested: int = 0
    followed: int = 0
    followed_back: int = 0

    @property
    def rate(self) -> float:
        """Follow-back rate with a prior of 1 in 4 so a new source is neither 0 nor 1."""
        return (self.followed_back + 1) / (self.followed + 4)

    @property
    def observed_rate(self) -> float | None:
        return round(self.followed_back / self.followed, 3) if self.followed else None

    @property
    def pass_rate(self) -> float:
        """Share of people read who passed the filters, with a prior of 0.3 for a new source."""
        return (self.suggested + 1) / (self.read + 1 / 0.3) if self.read else 0.3

    @property
    def dry(self) -> bool:
        """Read enough to know its followers (almost) never pass your filters: set aside."""
        return self.kind is not SourceKind.MENTIONS and self.read >= DRY_AFTER_READ and self.suggested < DRY_PASS_RATE * self.read

    @property
    def live(self) -> bool:
        """Still read when chosen: neither read to the end nor set aside as dry."""
        return not self.exhausted and not self.dry

    def page_size(self, need: int) -> int:
        """Followers to read for `need` more candidates: sized by the pass rate so far, and
        growing at most to what was read of it before (a dry source costs DRY_AFTER_READ reads
        to find out, not a 1,000-user page)."""
        return max(1, min(1000, max(FIRST_PAGE, self.read), math.ceil(need / max(self.pass_rate, 0.05))))


@dataclass(frozen=True)
class FollowerSources:
    """Which new followers become sources, and which of your followers' sources give up
    their place to them."""

    add: list[str]
    retire: list[Source]


def follower_sources(sources: list[Source], new_followers: list[str], limit: int = MAX_MY_FOLLOWER_SOURCES) -> FollowerSources:
    """Your newest followers become sources while fewer than `limit` of your followers'
    sources are live; a spent one (dry, or read to the end: never read again) gives its place
    to a new one, oldest first, so there are never more than `limit` of them."""
    mine = [s for s in sources if s.kind is SourceKind.MY_FOLLOWER]
    spent = sorted((s for s in mine if not s.live), key=lambda s: (s.added_at, s.source_id))
    known = {s.source_id for s in sources}
    add = [i for i in dict.fromkeys(new_followers) if i not in known][: max(0, limit - (len(mine) - len(spent)))]
    return FollowerSources(add, spent[: max(0, len(mine) + len(add) - limit)])


def choose_sources(sources: list[Source], k: int, rng: random.Random) -> list[Source]:
    """Pick k sources: draw each one's follow-back rate from its Beta posterior, take the best.

    Thompson sampling: sources that convert win most days, new or unlucky ones still get
    tried, so the choice shifts toward what works without freezing.

    Your own followers are many small sources (up to MAX_MY_FOLLOWER_SOURCES, a spent one
    replaced by a new follower): as separate arms, 30 fresh ones, each drawn from the prior
    Beta(1, 3), beat an account whose followers follow back 42% of the time in 99.8% of runs
    ((1 - 0.42)^3 a draw), so fresh follower sources took every place and the accounts you
    chose were hardly read. They are one arm here, drawn from their pooled record; when that
    arm wins a place, the follower source to read is the best draw among them, each from its
    own record with the pool's rate as its prior. Past the other arms they fill places left.
    """
    live = [s for s in sources if s.live]
    mine = [s for s in sources if s.kind is SourceKind.MY_FOLLOWER]
    arms = [(rng.betavariate(s.followed_back + 1, max(0, s.followed - s.followed_back) + 3), s.source_id, s)
            for s in live if s.kind is not SourceKind.MY_FOLLOWER]
    group = [s for s in live if s.kind is SourceKind.MY_FOLLOWER]
    rest: list[Source] = []
    if group:
        followed = sum(s.followed for s in mine)
        backs = sum(s.followed_back for s in mine)
        pooled = (backs + 1) / (followed + 4)
        a, b = pooled * POOLED_PRIOR_WEIGHT, (1 - pooled) * POOLED_PRIOR_WEIGHT
        inner = [(rng.betavariate(s.followed_back + a, max(0, s.followed - s.followed_back) + b), s.source_id, s) for s in group]
        inner.sort(key=lambda d: (-d[0], d[1]))
        arms.append((rng.betavariate(backs + 1, max(0, followed - backs) + 3), inner[0][1], inner[0][2]))
        rest = [s for _, _, s in inner[1:]]
    arms.sort(key=lambda d: (-d[0], d[1]))
    return ([s for _, _, s in arms] + rest)[:k]


RUN_EVERY = timedelta(hours=1)  # follow and prune each run hourly (template.yaml)


def runs_left(now: datetime, window: tuple[datetime, datetime], every: timedelta = RUN_EVERY) -> int:
    """The scheduled runs left inside today's active hours, this one included; 0 outside
    them, so api follows and unfollows happen only while the account is awake. `window` is
    the day's UTC bounds (hours.window_bounds): counted in real time, so a DST change inside
    the window adds or removes the hour it really does."""
    start, end = window
    if not start <= now < end:
        return 0
    return math.ceil((end - now) / every)


def paced_share(waiting: int, runs: int) -> int:
    """This run's share of what waits: an even split over the runs left (none when no run is)."""
    return math.ceil(waiting / runs) if runs > 0 and waiting > 0 else 0
