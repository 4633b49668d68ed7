"""The sandbox's state: users, the follow graph, posts, reposts, DMs, faults and the meter."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flockpilot.pricing import PRICES_USD

TWITTER_EPOCH_MS = 1288834974657
DEFAULT_AVATAR = "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"

# Per-user limits per 15 minutes (x-api.md); (limit, window seconds).
RATE_LIMITS: dict[str, int] = {
    "getUsersMe": 75,
    "getUsersByIds": 900,
    "getUsersByUsername": 900,
    "getUsersFollowers": 300,
    "getUsersFollowing": 300,
    "getUsersPosts": 900,
    "getUsersMentions": 300,
    "createPosts": 100,
    "deletePosts": 50,
    "repostPost": 50,
    "unrepostPost": 50,
    "followUser": 50,
    "unfollowUser": 50,
    "getDirectMessagesEvents": 15,
}
WINDOW_SECONDS = 15 * 60


def snowflake(ms: int, seq: int) -> str:
    """An X-style id whose creation time is (id >> 22) + TWITTER_EPOCH_MS."""
    return str(((ms - TWITTER_EPOCH_MS) << 22) | (seq & 0x3FFFFF))


def snowflake_ms(id_: str) -> int:
    return (int(id_) >> 22) + TWITTER_EPOCH_MS


@dataclass
class User:
    id: str
    username: str
    name: str
    description: str = ""
    protected: bool = False
    verified: bool = False
    location: str | None = None
    url: str | None = None
    profile_image_url: str = DEFAULT_AVATAR
    created_at: datetime = field(default_factory=lambda: datetime(2015, 1, 1, tzinfo=UTC))
    listed_count: int = 0
    # Chance (0..1) that this user follows back someone who follows them: drives the follow loop.
    follow_back: float = 0.0


@dataclass
class Post:
    id: str
    author_id: str
    text: str
    created_at: datetime
    reposted_id: str | None = None
    lang: str = "en"


@dataclass
class DmEvent:
    id: str
    sender_id: str
    participant_ids: tuple[str, str]
    text: str
    created_at: datetime
    event_type: str = "MessageCreate"

    @property
    def conversation_id(self) -> str:
        a, b = sorted(self.participant_ids, key=int)
        return f"{a}-{b}"


@dataclass
class Fault:
    """One injected failure. `operation` is an operationId of the spec, or '*'.

    kind: 429 | 500 | 503 | timeout | duplicate | revoked | forbidden | commit_then_timeout
    (do the write, then answer too late: a client that times out cannot know it worked).
    """

    kind: str
    operation: str = "*"
    times: int = 1
    delay_seconds: float = 2.0
    reset_in_seconds: int = 60


@dataclass
class MeterLine:
    requests: int = 0
    resources: int = 0
    usd: float = 0.0


class World:
    """Everything the sandbox knows. All access goes through `lock`."""

    def __init__(self, *, clock: Any = None, follow_permitted: bool = False) -> None:
        self.lock = threading.RLock()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.users: dict[str, User] = {}
        self.following: dict[str, list[str]] = defaultdict(list)  # user -> ids, newest first
        self.edge_seq: dict[tuple[str, str], int] = {}  # (source, target) -> when, as a counter
        self.posts: dict[str, Post] = {}
        self.reposts: set[tuple[str, str]] = set()
        self.dm_events: list[DmEvent] = []
        self.tokens: dict[str, str] = {}  # access token -> user id
        self.consumer_keys: set[str] = set()
        self.revoked: set[str] = set()
        self.faults: list[Fault] = []
        self.follow_permitted = follow_permitted
        self.meter: dict[str, MeterLine] = defaultdict(MeterLine)
        self.rate: dict[tuple[str, str], tuple[float, int]] = {}
        self.violations: list[str] = []
        self.settled: set[tuple[str, str]] = set()
        self.served_users: dict[str, list[str]] = defaultdict(list)  # operation -> user ids returned
        self.requests_log: list[tuple[str, str, int]] = []
        self._seq = 0

    # --- building ----------------------------------------------------------------------
    def next_id(self) -> str:
        with self.lock:
            self._seq += 1
            return snowflake(int(self.clock().timestamp() * 1000), self._seq)

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.id] = user
            return user

    def grant(self, user_id: str, consumer_key: str, access_token: str) -> None:
        """Let `access_token` (an OAuth 1.0a token) act as `user_id`."""
        with self.lock:
            self.consumer_keys.add(consumer_key)
            self.tokens[access_token] = user_id

    def follow(self, source: str, target: str) -> bool:
        with self.lock:
            if target in self.following[source]:
                return False
            self.following[source].insert(0, target)
            self._seq += 1
            self.edge_seq[(source, target)] = self._seq
            return True

    def unfollow(self, source: str, target: str) -> bool:
        with self.lock:
            if target not in self.following[source]:
                return False
            self.following[source].remove(target)
            self.edge_seq.pop((source, target), None)
            return True

    def followers_of(self, user_id: str) -> list[str]:
        """Newest first, like X's own ordering in practice."""
        with self.lock:
            stamped = [(seq, src) for (src, tgt), seq in self.edge_seq.items() if tgt == user_id]
        return [src for _, src in sorted(stamped, reverse=True)]

    def add_post(self, author_id: str, text: str, reposted_id: str | None = None, *, lang: str = "en",
                 at: datetime | None = None) -> Post:
        with self.lock:
            when = at or self.clock()
            self._seq += 1
            post = Post(snowflake(int(when.timestamp() * 1000), self._seq), author_id, text, when, reposted_id, lang)
            self.posts[post.id] = post
            return post

    def settle(self, owner_id: str) -> list[str]:
        """Let everyone the owner follows decide, once, whether to follow back (their trait)."""
        import hashlib

        with self.lock:
            decided = []
            for target in list(self.following[owner_id]):
                key = (owner_id, target)
                if key in self.settled or owner_id in self.following[target]:
                    continue
                self.settled.add(key)
                user = self.users.get(target)
                roll = int(hashlib.sha256(f"{owner_id}:{target}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
                if user is not None and roll < user.follow_back:
                    self.follow(target, owner_id)
                    decided.append(target)
            return decided

    def add_dm(self, sender_id: str, recipient_id: str, text: str) -> DmEvent:
        with self.lock:
            event = DmEvent(self.next_id(), sender_id, (sender_id, recipient_id), text, self.clock())
            self.dm_events.append(event)
            return event

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, operation: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.operation in ("*", operation):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # --- metering ----------------------------------------------------------------------
    def charge(self, operation: str, price_kind: str | None, units: int) -> None:
        with self.lock:
            line = self.meter[operation]
            line.requests += 1
            if price_kind and units:
                line.resources += units
                line.usd = round(line.usd + PRICES_USD[price_kind] * units, 6)

    def bill(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": sum(m.requests for m in self.meter.values()),
                "resources": sum(m.resources for m in self.meter.values()),
                "usd": round(sum(m.usd for m in self.meter.values()), 6),
                "by_operation": {k: vars(v).copy() for k, v in sorted(self.meter.items())},
            }

    def reset_meter(self) -> None:
        with self.lock:
            self.meter.clear()

    def take_rate(self, user_id: str, operation: str) -> tuple[int, int, int, bool]:
        """(limit, remaining, reset epoch seconds, allowed) for one more call now."""
        limit = RATE_LIMITS.get(operation, 300)
        now = self.clock().timestamp()  # the world's clock: tests move time by hand
        with self.lock:
            start, used = self.rate.get((user_id, operation), (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, used = now, 0
            allowed = used < limit
            if allowed:
                used += 1
            self.rate[(user_id, operation)] = (start, used)
        return limit, max(0, limit - used), int(start + WINDOW_SECONDS), allowed
