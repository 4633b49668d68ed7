"""The day's posting plan: how many posts, which items, in what order, at what times."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flockpilot.domain.content import ContentItem, ContentKind
from flockpilot.domain.hours import ActiveHours, MixRules, check_fits, window_bounds
from flockpilot.pricing import price

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PlannedSlot:
    """One planned post: when, what kind, which item, at what price."""

    index: int
    at: datetime
    kind: ContentKind
    item_id: str
    price_kind: str
    cost_usd: float
    preview: str


@dataclass(frozen=True)
class DroppedItem:
    """An item left out of the day's plan, and why."""

    kind: ContentKind
    item_id: str
    cost_usd: float
    reason: str


@dataclass(frozen=True)
class DayPlan:
    """The account day's plan: its slots, what it costs and what it left out."""

    day: date
    slots: tuple[PlannedSlot, ...]
    dropped: tuple[DroppedItem, ...]
    notes: tuple[str, ...]
    budget_usd: float
    # Since when live runs answer for its slots: when a live run made the plan, or when the
    # first live run found it unmarked (made by a dry run or an earlier release, or unmarked
    # by a run of the account in dry-run: see before_live). None: no live run answers yet.
    live_from: datetime | None = None

    @property
    def cost_usd(self) -> float:
        return round(sum(s.cost_usd for s in self.slots), 6)

    def before_live(self, at: datetime, catch_up: timedelta) -> bool:
        """Whether a slot due at `at` was already past catching up (more than `catch_up` late)
        when the plan went live: no live run was ever to publish it (the day was planned by a
        manual run after it, or the account was in dry-run then), so skipping it is no miss. A
        slot a live run could still have caught up is theirs, and a miss if none did."""
        return self.live_from is not None and at + catch_up < self.live_from


LATE_PLAN = timedelta(minutes=10)  # a plan made this long into the window covers only the rest of it


def spread_times(
    day: date, tz: ZoneInfo, active: ActiveHours, count: int, min_gap_minutes: int, rng: random.Random,
    hour_weights: Mapping[int, float] | None = None, not_before: datetime | None = None,
) -> list[datetime]:
    """`count` UTC times inside the local active hours (from `not_before` on, when later),
    jittered, at least the gap apart.

    The window is cut into equal segments and each post lands at a random point of its own
    segment early enough to leave the gap before the next segment starts. The window is
    measured in real time (UTC), so a DST change inside it never squeezes two posts together.
    """
    if count == 0:
        return []
    check_fits(active, count, min_gap_minutes)
    start, end = window_bounds(day, tz, active)
    if not_before is not None and not_before > start:
        start = min(end, not_before.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1))
    minutes = (end - start).total_seconds() / 60
    count = min(count, int(minutes // min_gap_minutes))  # a spring-forward day can be an hour short
    if count == 0:
        return []
    if hour_weights:
        per_minute = [hour_weights.get((start + timedelta(minutes=m)).astimezone(tz).hour, 0.0) for m in range(int(minutes))]
        return place_in_window(start, minutes, count, min_gap_minutes, per_minute, rng)
    segment = minutes / count
    times = []
    for i in range(count):
        offset = i * segment + rng.uniform(0, max(0.0, segment - min_gap_minutes))
        times.append(start + timedelta(minutes=int(offset)))
    return times


def place_in_window(start: datetime, minutes: float, count: int, gap: float, weights_by_minute: Sequence[float],
                    rng: random.Random) -> list[datetime]:
    """`count` times in [start, start + minutes): each in an equal share of the weight (so
    more of them where the weight is high), jittered, then pushed apart to `gap` minutes."""
    if count <= 0:
        return []
    cumulative = [0.0]
    for w in weights_by_minute:
        cumulative.append(cumulative[-1] + w)
    total = cumulative[-1] or 1.0

    def minute_at(mass: float) -> float:
        lo, hi = 0, len(cumulative) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if cumulative[mid + 1] < mass:
                lo = mid + 1
            else:
                hi = mid
        span = cumulative[lo + 1] - cumulative[lo]
        return lo + ((mass - cumulative[lo]) / span if span else 0.0)

    offsets = [minute_at(total * (k + rng.random()) / count) for k in range(count)]
    offsets.sort()
    for k in range(1, count):  # forward: keep the gap
        offsets[k] = max(offsets[k], offsets[k - 1] + gap)
    last = minutes - 1
    if offsets[-1] > last:  # backward: keep inside the window (count x gap fits, checked by the settings)
        offsets[-1] = last
        for k in range(count - 2, -1, -1):
            offsets[k] = min(offsets[k], offsets[k + 1] - gap)
    return [start + timedelta(minutes=math.floor(o)) for o in offsets]


def _freshest_first(items: list[ContentItem]) -> list[ContentItem]:
    """Least recently used first, then oldest added: the library rotates evenly."""
    return sorted(items, key=lambda i: (i.last_posted_at or _EPOCH, i.added_at, i.item_id))


def _interleave(light: list[ContentItem], links: list[ContentItem]) -> list[ContentItem]:
    order: list[ContentItem] = []
    for i in range(max(len(light), len(links))):
        if i < len(light):
            order.append(light[i])
        if i < len(links):
            order.append(links[i])
    return order


def _spread(sparse: list[ContentItem], dense: list[ContentItem]) -> list[ContentItem]:
    """Insert the `sparse` items evenly among the `dense` ones (reposts among quips)."""
    result = list(dense)
    step = (len(dense) + len(sparse)) / (len(sparse) + 1) if sparse else 0
    for k, item in enumerate(sparse):
        result.insert(min(len(result), int(step * (k + 1))), item)
    return result


def _separate_pitches(order: list[ContentItem]) -> tuple[list[ContentItem], list[ContentItem]]:
    """Move pitches so that no two stand in a row; return (order, pitches that cannot fit)."""
    result: list[ContentItem] = []
    leftover: list[ContentItem] = []
    for item in order:
        if item.kind is ContentKind.PITCH and result and result[-1].kind is ContentKind.PITCH:
            leftover.append(item)
        else:
            result.append(item)
    unplaced: list[ContentItem] = []
    for pitch in leftover:
        for pos in range(len(result) + 1):
            before = result[pos - 1] if pos > 0 else None
            after = result[pos] if pos < len(result) else None
            if all(n is None or n.kind is not ContentKind.PITCH for n in (before, after)):
                result.insert(pos, pitch)
                break
        else:
            unplaced.append(pitch)
    return result, unplaced


Ranker = Callable[[list[ContentItem]], list[ContentItem]]


def choose_items(
    items: list[ContentItem], rules: MixRules, now: datetime, rank: Ranker | None = None
) -> tuple[list[ContentItem], list[str]]:
    """Pick today's items in posting order, following the routine's mix.

    About `link_share` of the posts are links (articles, at most `pitch_cap` pitches, never
    two pitches in a row), the rest quips, quotes and up to `reposts_per_day` reposts. When
    a class runs short the other fills in, and the shortfall is noted. Within a kind, items
    come in `rank` order (by default: least recently used first).
    """
    ranked = rank or _freshest_first
    pool = {kind: ranked([i for i in items if i.kind is kind and i.available(now)]) for kind in ContentKind}
    n = rules.posts_per_day
    link_target = round(n * rules.link_share)
    light_target = n - link_target
    notes: list[str] = []

    pitches = pool[ContentKind.PITCH][: min(rules.pitch_cap, link_target)]
    articles = pool[ContentKind.ARTICLE][: link_target - len(pitches)]
    reposts = pool[ContentKind.REPOST][: min(rules.reposts_per_day, light_target)]
    words = ranked(pool[ContentKind.QUIP] + pool[ContentKind.QUOTE])
    words_used = light_target - len(reposts)
    light_words = words[:words_used]
    links = articles + pitches
    if len(links) < link_target:
        extra = words[words_used: words_used + link_target - len(links)]
        notes.append(
            f"{len(links)} of {link_target} link posts available; {len(extra)} quips/quotes fill in"
        )
        light_words += extra
    if len(reposts) + len(light_words) + len(links) < n:
        missing = n - len(reposts) - len(light_words) - len(links)
        extra = pool[ContentKind.ARTICLE][len(articles): len(articles) + missing]
        if extra:
            notes.append(f"too few quips, quotes and reposts; {len(extra)} more articles fill in")
            links = articles + extra + pitches
    light = _spread(reposts, light_words)
    order, unplaced = _separate_pitches(_interleave(light, links))
    for pitch in unplaced:
        notes.append(f"pitch {pitch.item_id} left out: it would follow another pitch")
    if len(order) < n:
        notes.append(f"the library has {len(order)} usable items for {n} slots; add content")
    return order[:n], notes


# When the day costs more than its budget, the most expensive, least essential posts go first.
_DROP_ORDER = (ContentKind.PITCH, ContentKind.ARTICLE, ContentKind.REPOST, ContentKind.QUOTE, ContentKind.QUIP)


def fit_budget(
    order: list[ContentItem], budget_usd: float
) -> tuple[list[ContentItem], list[DroppedItem]]:
    """Drop posts until the day costs no more than the budget, pitches and links first."""
    kept = list(order)
    dropped: list[DroppedItem] = []

    def total() -> float:
        return sum(price(i.price_kind) for i in kept)

    for kind in _DROP_ORDER:
        for item in reversed([i for i in kept if i.kind is kind]):
            if total() <= budget_usd + 1e-9:
                return kept, dropped
            # Within a kind, the last planned goes first: the day keeps its earliest posts.
            cost = price(item.price_kind)
            kept.remove(item)
            dropped.append(
                DroppedItem(item.kind, item.item_id, cost,
                            f"over budget: the day would cost ${total() + cost:.3f}, budget ${budget_usd:.3f}")
            )
    return kept, dropped


def plan_day(
    *,
    day: date,
    tz: ZoneInfo,
    active: ActiveHours,
    rules: MixRules,
    items: list[ContentItem],
    budget_usd: float,
    now: datetime,
    seed: str,
    rank: Ranker | None = None,
    hour_weights: Mapping[int, float] | None = None,
    rest_of_day: bool = False,
) -> DayPlan:
    """The whole day's plan: items by the mix, cut to the budget, spread over active hours
    (more of them in the hours that have worked best, when `hour_weights` says which).

    `rest_of_day`: a plan made once the posting window has begun (more than LATE_PLAN ago:
    the day's first scheduled run came late, as on the day of deploy, or an empty plan is
    filled once content came) covers only what is left of the window, with the day's count
    cut to the share left, so a late plan never bursts. Earlier, the whole day is planned.

    The same seed (account and day) gives the same plan, so two runs racing to create the
    day's plan agree on it.
    """
    rng = random.Random(seed)
    order, notes = choose_items(items, rules, now, rank)
    kept, dropped = fit_budget(order, budget_usd)
    not_before = None
    start, end = window_bounds(day, tz, active)
    if rest_of_day and now >= start + LATE_PLAN:
        not_before = now
        share = max(0.0, (end - not_before) / (end - start))
        fits = min(len(kept), math.floor(rules.posts_per_day * share + 0.5))  # the day's count, cut to the share left
        local = now.astimezone(tz).strftime("%H:%M")
        notes = [*notes, f"planned at {local} for the rest of the day: {fits} post(s) "
                         f"({share:.0%} of today's posting window was left)"]
        dropped = [*dropped, *(DroppedItem(i.kind, i.item_id, price(i.price_kind),
                                           f"planned at {local}: only {share:.0%} of today's posting window was left")
                               for i in kept[fits:])]
        kept = kept[:fits]
    times = spread_times(day, tz, active, len(kept), rules.min_gap_minutes, rng, hour_weights, not_before)
    if len(times) < len(kept):
        notes = [*notes, f"{len(kept) - len(times)} post(s) left out: what is left of today's posting window is too short "
                         f"for them (a clock change, or a late plan)"]
        kept = kept[: len(times)]
    slots = tuple(
        PlannedSlot(
            index=i,
            at=at,
            kind=item.kind,
            item_id=item.item_id,
            price_kind=item.price_kind,
            cost_usd=price(item.price_kind),
            preview=item.post_text[:80],
        )
        for i, (item, at) in enumerate(zip(kept, times, strict=True))
    )
    return DayPlan(day=day, slots=slots, dropped=tuple(dropped), notes=tuple(notes), budget_usd=round(budget_usd, 6))
