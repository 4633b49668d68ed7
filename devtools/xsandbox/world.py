"""The sandbox's state: users, the follow graph, posts and their metrics, reposts, DMs,
faults and the meter. Indexed so that a world of 100,000 followers builds and serves fast."""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import threading
from collections import defaultdict
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, MutableMapping, Sequence, ValuesView
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.xsandbox.graph import Edges, FollowGraph, Following
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


@dataclass(frozen=True)
class PostMetrics:
    """What X counts for a post, as figures. The API shows them as public_metrics,
    non_public_metrics and organic_metrics (see SandboxApp.post_json); the sandbox never
    promotes posts, so organic figures equal the totals."""

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    bookmarks: int = 0
    impressions: int = 0
    url_link_clicks: int = 0
    user_profile_clicks: int = 0
    # None: the sum of the interactions above (likes .. user_profile_clicks, impressions aside).
    engagements: int | None = None

    @property
    def engagement_total(self) -> int:
        if self.engagements is not None:
            return self.engagements
        return (self.likes + self.reposts + self.replies + self.quotes + self.bookmarks
                + self.url_link_clicks + self.user_profile_clicks)


METRIC_FIGURES = frozenset(f.name for f in dataclasses.fields(PostMetrics))


@dataclass
class Post:
    id: str
    author_id: str
    text: str
    created_at: datetime
    reposted_id: str | None = None
    lang: str = "en"
    in_reply_to_id: str | None = None
    # Set by World.add_post from the post replied to, and kept if that post is deleted later (as X does).
    in_reply_to_user_id: str | None = None
    conversation_id: str | None = None  # the thread's root post; None: this post is a root
    metrics: PostMetrics = field(default_factory=PostMetrics)


DM_EVENT_TYPES = ("MessageCreate", "ParticipantsJoin", "ParticipantsLeave")  # the spec's event_types


@dataclass
class DmEvent:
    """One DM event as X keeps it. One-to-one: `participant_ids` are its two people and the
    conversation is "<lower id>-<higher id>". In a group (`group_id`, one snowflake id, as X
    names groups): a MessageCreate is from `sender_id` to the members of the moment; a
    ParticipantsJoin or ParticipantsLeave says who joined or left (`participant_ids`), sent by
    who added them or by who left. `audience`: who can read the event (a group's members
    then: one who joins later does not see what came before, one who left sees nothing after)."""

    id: str
    sender_id: str
    participant_ids: tuple[str, ...]
    text: str
    created_at: datetime
    event_type: str = "MessageCreate"
    group_id: str | None = None
    audience: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.event_type not in DM_EVENT_TYPES:
            raise ValueError(f"unknown DM event type {self.event_type!r}; one of {', '.join(DM_EVENT_TYPES)}")
        if not self.audience:
            self.audience = frozenset(self.participant_ids)

    @property
    def conversation_id(self) -> str:
        if self.group_id is not None:
            return self.group_id
        a, b = sorted(self.participant_ids, key=int)
        return f"{a}-{b}"


FAULT_KINDS = frozenset({
    "429", "500", "503", "timeout", "duplicate", "revoked", "forbidden", "commit_then_timeout",
    "connection_reset", "commit_then_reset",
})
TIMEOUT_KINDS = frozenset({"timeout", "commit_then_timeout"})


@dataclass
class Fault:
    """One injected failure. `operation` is an operationId of the spec, or '*'.

    kind: 429 | 500 | 503 | timeout | duplicate | revoked | forbidden | commit_then_timeout
    (do the write, then answer too late: a client that times out cannot know it worked)
    | connection_reset (drop the TCP connection without answering; nothing is done)
    | commit_then_reset (do the write, then drop the connection without answering).
    delay_seconds: how long to wait before answering (timeout kinds; default 2 s) or before
    dropping the connection (reset kinds; default 0). Fractions work: 0.05 is 50 ms.
    body_contains: only requests whose body holds this text (e.g. one post's words).
    """

    kind: str
    operation: str = "*"
    times: int = 1
    delay_seconds: float | None = None
    reset_in_seconds: int = 60
    body_contains: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(sorted(FAULT_KINDS))}")
        if self.delay_seconds is not None and self.delay_seconds < 0:
            raise ValueError("delay_seconds must be 0 or more")

    @property
    def delay(self) -> float:
        """The delay in seconds this fault applies (its own, or its kind's default)."""
        if self.delay_seconds is not None:
            return float(self.delay_seconds)
        return 2.0 if self.kind in TIMEOUT_KINDS else 0.0


@dataclass
class MeterLine:
    requests: int = 0
    resources: int = 0
    usd: float = 0.0


class PostTable(MutableMapping[str, Post]):
    """`world.posts`: posts by id, like the dict it replaces, that also keeps each author's
    post ids in id order (so newest first, counts and latest post are cheap) and each post's
    replies. Writes through the mapping (posts[id] = p, del, clear) keep the indexes right."""

    def __init__(self) -> None:
        self._posts: dict[str, Post] = {}
        self._by_author: dict[str, list[int]] = {}  # ascending snowflakes: time order
        self._replies: dict[str, dict[str, None]] = {}  # post id -> reply ids, in arrival order

    def __getitem__(self, post_id: str) -> Post:
        return self._posts[post_id]

    def __setitem__(self, post_id: str, post: Post) -> None:
        if post_id in self._posts:
            self._unindex(self._posts[post_id])
        self._posts[post_id] = post
        bisect.insort(self._by_author.setdefault(post.author_id, []), int(post_id))
        if post.in_reply_to_id:
            self._replies.setdefault(post.in_reply_to_id, {})[post_id] = None

    def __delitem__(self, post_id: str) -> None:
        self._unindex(self._posts.pop(post_id))

    def __iter__(self) -> Iterator[str]:
        return iter(self._posts)

    def __len__(self) -> int:
        return len(self._posts)

    def __contains__(self, post_id: object) -> bool:
        return post_id in self._posts

    def keys(self) -> KeysView[str]:
        return self._posts.keys()

    def values(self) -> ValuesView[Post]:
        return self._posts.values()

    def items(self) -> ItemsView[str, Post]:
        return self._posts.items()

    def clear(self) -> None:
        self._posts.clear()
        self._by_author.clear()
        self._replies.clear()

    def __repr__(self) -> str:
        return f"PostTable({len(self._posts)} posts)"

    def _unindex(self, post: Post) -> None:
        ids = self._by_author.get(post.author_id, [])
        n = int(post.id)
        i = bisect.bisect_left(ids, n)
        if i < len(ids) and ids[i] == n:
            del ids[i]
        if post.in_reply_to_id:
            self._replies.get(post.in_reply_to_id, {}).pop(post.id, None)

    def by_author(self, author_id: str) -> list[Post]:
        """The author's posts, newest first."""
        posts = self._posts
        return [posts[str(n)] for n in reversed(self._by_author.get(author_id, []))]

    def count_by(self, author_id: str) -> int:
        return len(self._by_author.get(author_id, ()))

    def latest_by(self, author_id: str) -> Post | None:
        ids = self._by_author.get(author_id)
        return self._posts[str(ids[-1])] if ids else None

    def replies_to(self, post_id: str) -> list[Post]:
        """Posts recorded as replies to `post_id`, oldest first."""
        return [self._posts[r] for r in self._replies.get(post_id, {})]


MetricsModel = Callable[[Post, datetime], Mapping[str, int]]


class World:
    """Everything the sandbox knows. All access goes through `lock`.

    `metrics_model`, when set, computes a post's metrics at read time from the post and the
    world's clock: it returns figures named like PostMetrics' fields (any subset; the rest
    come from the post's stored metrics, see set_metrics).

    `duplicate_window`: X refuses a post whose text equals one of the author's own posts.
    X does not publish for how long; None (the default) refuses a repeat forever, the
    strictest reading; a timedelta refuses only repeats of posts that recent.
    """

    def __init__(self, *, clock: Any = None, follow_permitted: bool = False, metrics_model: MetricsModel | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.users: dict[str, User] = {}
        self._seq = 0
        self.graph = FollowGraph(self._tick, self.lock)
        # user -> ids they follow, newest first (list-like; see graph.FollowingList)
        self.following: Following = self.graph.following
        self.posts = PostTable()
        self.metrics_model: MetricsModel | None = metrics_model
        self.duplicate_window: timedelta | None = None
        self.reposts: set[tuple[str, str]] = set()
        self.dm_events: list[DmEvent] = []
        self.groups: dict[str, set[str]] = {}  # group conversation id -> its members now
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
        # (method, path, status); status 0: the connection was dropped without an answer
        self.requests_log: list[tuple[str, str, int]] = []

    def _tick(self) -> int:
        self._seq += 1
        return self._seq

    # --- building ----------------------------------------------------------------------
    def next_id(self) -> str:
        with self.lock:
            return snowflake(int(self.clock().timestamp() * 1000), self._tick())

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.id] = user
            return user

    def add_users(self, users: Iterable[User]) -> int:
        """Add many users at once; returns how many were given."""
        with self.lock:
            before = len(self.users)
            self.users.update((u.id, u) for u in users)
            return len(self.users) - before

    def grant(self, user_id: str, consumer_key: str, access_token: str) -> None:
        """Let `access_token` (an OAuth 1.0a token) act as `user_id`."""
        with self.lock:
            self.consumer_keys.add(consumer_key)
            self.tokens[access_token] = user_id

    # --- the follow graph --------------------------------------------------------------
    def follow(self, source: str, target: str) -> bool:
        """`source` follows `target` now (the newest edge on both sides); False if it already did."""
        return self.graph.add(source, target)

    def unfollow(self, source: str, target: str) -> bool:
        return self.graph.remove(source, target)

    def add_followers(self, target: str, sources: Iterable[str]) -> int:
        """Bulk builder: each of `sources` follows `target`, in the order given (the last is
        the newest follower), exactly as follow(source, target) one by one but without the
        per-call overhead. Existing edges are skipped; returns how many edges were added."""
        return self.graph.add_followers(target, sources)

    def add_following(self, source: str, targets: Iterable[str]) -> int:
        """Bulk builder: `source` follows each of `targets`, in the order given (the last is
        the newest); returns how many edges were added."""
        return self.graph.add_following(source, targets)

    def followers_of(self, user_id: str) -> list[str]:
        """Newest first, like X's own ordering in practice. A copy: O(followers)."""
        with self.lock:
            return list(self.graph.followers_of(user_id).newest_first())

    def follower_ids(self, user_id: str) -> Edges:
        """The followers, newest first, without copying (a read-only Sequence; slice it under `lock`)."""
        return self.graph.followers_of(user_id)

    def follower_count(self, user_id: str) -> int:
        return len(self.graph.followers_of(user_id))

    def following_count(self, user_id: str) -> int:
        edges = self.following.get(user_id)
        return len(edges) if edges is not None else 0

    def is_following(self, source: str, target: str) -> bool:
        edges = self.following.get(source)
        return edges is not None and target in edges

    def settle(self, owner_id: str) -> list[str]:
        """Let everyone the owner follows decide, once, whether to follow back (their trait)."""
        with self.lock:
            decided = []
            for target in list(self.following[owner_id]):
                key = (owner_id, target)
                if key in self.settled or self.is_following(target, owner_id):
                    continue
                self.settled.add(key)
                user = self.users.get(target)
                roll = int(hashlib.sha256(f"{owner_id}:{target}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
                if user is not None and roll < user.follow_back:
                    self.follow(target, owner_id)
                    decided.append(target)
            return decided

    # --- posts -------------------------------------------------------------------------
    def add_post(self, author_id: str, text: str, reposted_id: str | None = None, *, lang: str = "en",
                 at: datetime | None = None, in_reply_to_id: str | None = None) -> Post:
        """A new post by `author_id` (at `at`, default now). A reply names the post it answers
        in `in_reply_to_id`; it joins that post's conversation when the post is known."""
        with self.lock:
            when = at or self.clock()
            post = Post(snowflake(int(when.timestamp() * 1000), self._tick()), author_id, text, when, reposted_id, lang,
                        in_reply_to_id=in_reply_to_id)
            parent = self.posts.get(in_reply_to_id) if in_reply_to_id else None
            if parent is not None:
                post.in_reply_to_user_id = parent.author_id
                post.conversation_id = parent.conversation_id or parent.id
            self.posts[post.id] = post
            return post

    def posts_by(self, author_id: str) -> list[Post]:
        """The author's posts, reposts included, newest first."""
        with self.lock:
            return self.posts.by_author(author_id)

    def post_count(self, author_id: str) -> int:
        return self.posts.count_by(author_id)

    def latest_post(self, author_id: str) -> Post | None:
        with self.lock:
            return self.posts.latest_by(author_id)

    def replies_to(self, post_id: str) -> list[Post]:
        """Posts in the world that reply to `post_id`, oldest first (not counted into its
        metrics automatically: reply_count is what set_metrics or metrics_model say)."""
        with self.lock:
            return self.posts.replies_to(post_id)

    def set_metrics(self, post_id: str, **figures: int) -> PostMetrics:
        """Set some of a post's stored metrics (likes=, reposts=, replies=, quotes=,
        bookmarks=, impressions=, url_link_clicks=, user_profile_clicks=, engagements=);
        the others keep their values. Raises KeyError for an unknown post, TypeError for an
        unknown figure."""
        unknown = set(figures) - METRIC_FIGURES
        if unknown:
            raise TypeError(f"unknown metric figure(s) {sorted(unknown)}; known: {sorted(METRIC_FIGURES)}")
        with self.lock:
            post = self.posts[post_id]
            post.metrics = dataclasses.replace(post.metrics, **figures)
            return post.metrics

    def metrics_of(self, post: Post, at: datetime | None = None) -> PostMetrics:
        """The post's metrics as X would report them at `at` (default: the world's clock):
        the stored figures, overridden by whatever `metrics_model` returns."""
        if self.metrics_model is None:
            return post.metrics
        figures = dict(self.metrics_model(post, at or self.clock()))
        unknown = set(figures) - METRIC_FIGURES
        if unknown:
            raise TypeError(f"metrics_model returned unknown figure(s) {sorted(unknown)}")
        return dataclasses.replace(post.metrics, **figures)

    # --- DMs and faults ----------------------------------------------------------------
    def add_dm(self, sender_id: str, recipient_id: str, text: str) -> DmEvent:
        with self.lock:
            event = DmEvent(self.next_id(), sender_id, (sender_id, recipient_id), text, self.clock())
            self.dm_events.append(event)
            return event

    def create_group(self, creator_id: str, participant_ids: Sequence[str], text: str) -> str:
        """A group conversation as X's createDirectMessagesConversation makes one (2 to 49
        participants besides its creator, and a first message): its id, one snowflake."""
        others = list(dict.fromkeys(p for p in participant_ids if p != creator_id))
        if not 2 <= len(others) <= 49:
            raise ValueError(f"a group has 2 to 49 participants besides its creator, not {len(others)}")
        with self.lock:
            group_id = self.next_id()
            self.groups[group_id] = {creator_id, *others}
            self._group_event(group_id, creator_id, "ParticipantsJoin", participant_ids=tuple(others))
            self.add_group_dm(creator_id, group_id, text)
            return group_id

    def add_group_dm(self, sender_id: str, group_id: str, text: str) -> DmEvent:
        with self.lock:
            if sender_id not in self.groups.get(group_id, ()):
                raise ValueError(f"{sender_id} is not in group {group_id}")
            return self._group_event(group_id, sender_id, "MessageCreate", text=text)

    def join_group(self, group_id: str, user_id: str, added_by: str) -> DmEvent:
        with self.lock:
            if added_by not in self.groups.get(group_id, ()):
                raise ValueError(f"{added_by} is not in group {group_id}")
            self.groups[group_id].add(user_id)
            return self._group_event(group_id, added_by, "ParticipantsJoin", participant_ids=(user_id,))

    def leave_group(self, group_id: str, user_id: str) -> DmEvent:
        with self.lock:
            if user_id not in self.groups.get(group_id, ()):
                raise ValueError(f"{user_id} is not in group {group_id}")
            event = self._group_event(group_id, user_id, "ParticipantsLeave", participant_ids=(user_id,))
            self.groups[group_id].discard(user_id)
            return event

    def _group_event(self, group_id: str, sender_id: str, event_type: str, *, text: str = "",
                     participant_ids: tuple[str, ...] = ()) -> DmEvent:
        event = DmEvent(self.next_id(), sender_id, participant_ids, text, self.clock(), event_type, group_id,
                        frozenset(self.groups[group_id]))
        self.dm_events.append(event)
        return event

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, operation: str, body: str = "") -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.operation in ("*", operation) and (fault.body_contains is None or fault.body_contains in body):
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
