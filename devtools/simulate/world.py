"""The synthetic X world the simulator runs Flockpilot against: a population with hidden
traits, and the hour-by-hour behaviour of the people in it.

It drives the X sandbox's World (devtools/xsandbox) from outside, through its public
methods only: follow-backs, followers arriving from posts in proportion to their
engagement, followers leaving, everyone else's posting, mentions and DMs. `SimApp` is the
sandbox's WSGI app with what X enforces on top of rate limits (the daily follow and post
limits, the 5,000-following rule, duplicate posts within a window) and a log of every
action taken on the owner's behalf, which the audit reads.

Every figure here is a model, chosen to be plausible, not measured: see MODEL below.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.xsandbox.app import DUPLICATE_DETAIL, REPLY_MISSING_DETAIL, URL_PATTERN, SandboxApp, problem
from devtools.xsandbox.world import DEFAULT_AVATAR, Post, User, World

OWNER_ID = "1600000000000000001"
OWNER_HANDLE = "flockpilot_sim"
CONSUMER_KEY = "sim-consumer-key"
ACCESS_TOKEN = f"{OWNER_ID}-simAccessToken"


@dataclass(frozen=True)
class Model:
    """The world's knobs. Defaults are guesses at a small niche account, not measurements."""

    churn_per_day: float = 0.002  # share of followers who leave on a given day
    reach: float = 0.30  # impressions of a post at a good hour, per follower
    reach_outside: float = 40.0  # impressions from outside the audience (search, reposts), at a good hour
    follow_per_engagement: float = 0.04  # new followers per engagement on a post
    follow_per_profile_click: float = 0.12  # and per click on the profile
    follow_back_hours: float = 20.0  # mean delay before a follow-back
    unfollow_back_share: float = 0.4  # someone you unfollow who follows you, unfollows you too
    dms_per_day: float = 1.2  # messages worth a reply, from followers
    spam_per_day: float = 0.8  # spam, from strangers
    mentions_per_day: float = 1.5  # posts by others that mention you
    duplicate_window: timedelta = timedelta(days=7)  # X refuses a text you posted this recently (undocumented by X)


MODEL = Model()

# X's published limits the world enforces on top of the sandbox's 15-minute rate limits.
DAILY_FOLLOW_LIMIT = 400  # follows per account per day
DAILY_POST_LIMIT = 2400  # posts (reposts and replies included) per account per day
FOLLOWING_RULE_AT = 5000  # past this many, X ties further follows to the follower count
FOLLOW_LIMIT_DETAIL = "You are unable to follow more people at this time."

# Engagement per impression by kind, for an item of quality 1 (the hidden quality scales it).
KIND_RATE = {"quip": 0.030, "quote": 0.026, "article": 0.016, "pitch": 0.009, "plug": 0.012}
LINK_CLICK_RATE = {"article": 0.012, "pitch": 0.006, "plug": 0.006}
RAMP_HOURS = 8.0  # a post earns 1 - exp(-age / RAMP_HOURS) of its final figures

GENUINE_DMS = (
    "Hi! Which flour do you use for your batard?",
    "Loved the hydration article. Do you run workshops?",
    "Could you recommend a starter for a beginner?",
    "Thanks for the tips, my loaf finally rose. What oven temperature do you use?",
    "Are you opening on Sundays?",
)
SPAM_DMS = (
    "Earn $500/day with crypto!! DM me on telegram https://spam.example/win",
    "Promote your account to 10k followers cheap https://growth.example",
    "Congratulations, you won a prize, claim it now https://prize.example",
)


@dataclass(frozen=True)
class Persona:
    """What X does not show: a person's community and how they behave."""

    community: str
    follow_back: float  # chance they follow back someone who follows them
    activity: float  # chance they post on a given day
    followers_base: int  # their audience outside the simulated graph
    following_base: int


@dataclass(frozen=True)
class Community:
    """A group of people reached through one source. `rate` is its hidden follow-back rate:
    the mean chance that someone from it follows back, which the bandit has to discover."""

    name: str
    handle: str | None  # the peer account whose followers they are (None: no peer account)
    rate: float
    size: int


def communities(size: int) -> tuple[Community, ...]:
    """Four niche peers of differing worth, everyone else, and the people who mention you."""
    return (
        Community("breadnerd", "breadnerd", 0.06, size),
        Community("ovenspring", "ovenspring", 0.14, size),
        Community("smallbizdaily", "smallbizdaily", 0.26, size),
        Community("crumbclub", "crumbclub", 0.42, size),
        Community("general", None, 0.16, 0),
        Community("mentions", None, 0.50, 0),
    )


def hour_curve(hour: float) -> float:
    """Share of a post's best reach at a local hour: lunch and evening peaks, quiet nights."""
    def bump(centre: float, width: float) -> float:
        return math.exp(-((hour - centre) ** 2) / (2 * width ** 2))

    return 0.25 + 0.75 * max(bump(12.5, 2.0), bump(19.5, 2.2))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method for small means, a normal beyond)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw: exact for small n, a normal approximation beyond."""
    if n <= 0 or p <= 0:
        return 0
    if n < 200:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return min(n, max(0, round(rng.gauss(mean, sd))))


@dataclass(frozen=True)
class Action:
    """One thing done to X on the owner's behalf, as X saw it.

    actor: api (Flockpilot through the API) or person (by hand, from the digest).
    kind: follow | unfollow | post | repost | refused (a write X refused).
    `redundant`: a follow of someone already followed, an unfollow of someone not followed,
    a repost of a post already reposted (judged by the world at that moment).
    """

    at: datetime
    actor: str
    kind: str
    target: str
    status: int
    redundant: bool = False
    detail: str = ""


@dataclass
class PostFigures:
    """A post's final figures (earned over its first day or two) and what it was."""

    kind: str
    hour: int
    impressions: int
    likes: int
    reposts: int
    replies: int
    quotes: int
    bookmarks: int
    link_clicks: int
    profile_clicks: int
    credited: float = 0.0  # share of the figures already turned into new followers

    @property
    def engagements(self) -> int:
        return self.likes + self.reposts + self.replies + self.quotes + self.bookmarks + self.link_clicks + self.profile_clicks


@dataclass
class DayTally:
    """What the world did on one day (the audit and the report read it)."""

    follow_backs: int = 0
    organic: int = 0
    churned: int = 0
    unfollowed_back: int = 0
    dms_genuine: int = 0
    dms_spam: int = 0
    mentions: int = 0


class SimWorld:
    """The sandbox World plus the population's hidden traits and behaviour."""

    def __init__(self, *, seed: int, followers: int, following: int, community_size: int,
                 clock: Callable[[], datetime], follow_permitted: bool, model: Model = MODEL,
                 quality: Mapping[str, float] | None = None, kinds: Mapping[str, str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.model = model
        self.clock = clock
        self.world = World(clock=clock, follow_permitted=follow_permitted, metrics_model=self.metrics)
        self.personas: dict[str, Persona] = {}
        self.by_username: dict[str, str] = {}
        self.communities = {c.name: c for c in communities(community_size)}
        self.peers: dict[str, str] = {}  # community -> peer account id
        self.general: list[str] = []
        self.quality = dict(quality or {})  # post text -> hidden quality
        self.kinds = dict(kinds or {})  # post text -> content kind
        self.figures: dict[str, PostFigures] = {}  # owner post id -> final figures
        self._earning: set[str] = set()  # posts still earning followers
        self.actions: list[Action] = []
        self.requests: list[tuple[datetime, str, int]] = []  # (when, operationId, status) of every X request
        self.ever_followed: set[str] = set()
        self.ever_unfollowed: set[str] = set()
        self.followed_back: set[str] = set()  # people who followed the owner back after being followed
        self.reposted: set[str] = set()
        self.followed_at: dict[str, datetime] = {}
        self.dms: list[tuple[datetime, str, str]] = []  # (when, sender, genuine|spam)
        self.tally: dict[date, DayTally] = {}
        self._events: list[tuple[datetime, int, str, str]] = []  # (due, seq, what, user id): a heap
        self._seq = 0
        self._build(followers, following)

    # --- building ----------------------------------------------------------------------
    def _user_id(self) -> str:
        return str(1_800_000_000_000_000_000 + len(self.personas) + len(self.peers) + 1)

    def _person(self, community: Community, username: str) -> User:
        rng = self.rng
        followers = int(min(60_000, max(8, rng.lognormvariate(math.log(300), 1.0))))
        ratio = min(20.0, max(0.05, rng.lognormvariate(0.0, 0.8)))
        activity = rng.betavariate(1.6, 1.4)
        # Who follows back: people who follow many (ratio) and post often, scaled to the community's rate.
        lean = min(2.2, max(0.3, ratio) ** 0.5) * (0.5 + activity)
        persona = Persona(community.name, lean, activity, followers, int(followers * ratio))
        user = User(self._user_id(), username, username.replace("_", " ").title(),
                    description="" if rng.random() < 0.08 else f"{community.name} fan; bread, coffee and small business",
                    protected=rng.random() < 0.03,
                    profile_image_url=DEFAULT_AVATAR if rng.random() < 0.07 else f"https://pbs.twimg.com/profile_images/{username}.jpg")
        self.world.add_user(user)
        self.personas[user.id] = persona
        self.by_username[username.lower()] = user.id
        return user

    def _normalise(self, community: str) -> None:
        """Scale the community's follow-back leanings so their mean is its hidden rate."""
        members = [(uid, p) for uid, p in self.personas.items() if p.community == community]
        if not members:
            return
        mean = sum(p.follow_back for _, p in members) / len(members)
        rate = self.communities[community].rate
        for uid, p in members:
            self.personas[uid] = Persona(p.community, min(0.95, p.follow_back * rate / mean), p.activity, p.followers_base,
                                         p.following_base)

    def _build(self, followers: int, following: int) -> None:
        world, rng, now = self.world, self.rng, self.clock()
        owner = world.add_user(User(OWNER_ID, OWNER_HANDLE, "Sim Bakery", description="Small-batch sourdough. Tips on baking at home.",
                                    profile_image_url="https://pbs.twimg.com/profile_images/sim_normal.jpg"))
        world.grant(owner.id, CONSUMER_KEY, ACCESS_TOKEN)
        general = self.communities["general"]
        size = followers + following + max(1500, followers * 3)
        self.general = [self._person(general, f"g{i:05d}").id for i in range(size)]
        for name, community in self.communities.items():
            if community.handle is None:
                continue
            peer = world.add_user(User(self._user_id(), community.handle, community.handle.title(), description=f"{name} community",
                                       profile_image_url=f"https://pbs.twimg.com/profile_images/{name}.jpg"))
            self.peers[name] = peer.id
            self.by_username[community.handle] = peer.id
            members = [self._person(community, f"{name[:6]}{i:05d}").id for i in range(community.size)]
            world.add_followers(peer.id, members)
            for k in range(5):
                world.add_post(peer.id, f"{community.handle} tip #{k}: feed your starter before you go to bed",
                               at=now - timedelta(days=5 - k))
        for name in self.communities:
            self._normalise(name)
        # A believable graph: everyone in `general` has a few followers among the others.
        for uid in self.general:
            world.add_followers(uid, [f for f in rng.sample(self.general, 7) if f != uid][:6])
        # Everyone has posted once; later posts replace it (one post each keeps the world small).
        for uid, persona in self.personas.items():
            age = rng.expovariate(max(0.02, persona.activity)) * 1.5
            world.add_post(uid, "baking today", at=now - timedelta(days=age), lang="en" if rng.random() < 0.9 else "fr")
        audience = rng.sample(self.general, followers)
        world.add_followers(OWNER_ID, audience)
        mutual = audience[: int(following * 0.6)]
        fans = set(audience)
        others = [u for u in self.general if u not in fans][: following - len(mutual)]
        world.add_following(OWNER_ID, mutual + others)

    # --- what X shows of people outside the graph ---------------------------------------
    def declared(self, user_id: str) -> tuple[int, int] | None:
        """(followers, following) a person has outside the simulated graph."""
        persona = self.personas.get(user_id)
        return (persona.followers_base, persona.following_base) if persona else None

    # --- owner's actions ----------------------------------------------------------------
    def record(self, action: Action) -> None:
        self.actions.append(action)

    def owner_followed(self, target: str, at: datetime) -> None:
        """The owner now follows `target`: they decide once whether, and when, to follow back."""
        self.ever_followed.add(target)
        self.followed_at[target] = at
        persona = self.personas.get(target)
        if persona is None or self.world.is_following(target, OWNER_ID):
            return
        if self.rng.random() < persona.follow_back:
            delay = timedelta(hours=1 + self.rng.expovariate(1 / self.model.follow_back_hours))
            self._schedule(at + min(delay, timedelta(days=5)), "follow_back", target)

    def owner_unfollowed(self, target: str, at: datetime) -> None:
        self.ever_unfollowed.add(target)
        if self.world.is_following(target, OWNER_ID) and self.rng.random() < self.model.unfollow_back_share:
            self._schedule(at + timedelta(hours=1 + self.rng.random() * 47), "unfollow_back", target)

    def follow_by_hand(self, target: str, at: datetime) -> None:
        """The person taps a follow link in the digest."""
        redundant = self.world.is_following(OWNER_ID, target) or target in self.ever_followed
        self.world.follow(OWNER_ID, target)
        self.record(Action(at, "person", "follow", target, 200, redundant=redundant))
        self.owner_followed(target, at)

    def unfollow_by_hand(self, target: str, at: datetime) -> None:
        redundant = not self.world.is_following(OWNER_ID, target)
        self.world.unfollow(OWNER_ID, target)
        self.record(Action(at, "person", "unfollow", target, 200, redundant=redundant))
        self.owner_unfollowed(target, at)

    # --- posts and their metrics --------------------------------------------------------
    def owner_posted(self, post: Post, tz_hour: int) -> None:
        """Fix a new post's final figures from its hidden quality, its hour and the audience."""
        rng, model = self.rng, self.model
        text = post.text
        kind = self.kinds.get(text, "reply" if post.in_reply_to_id else "quip")
        quality = self.quality.get(text, 1.0)
        curve = hour_curve(tz_hour + post.created_at.minute / 60)
        audience = self.world.follower_count(OWNER_ID)
        impressions = max(1, round((audience * model.reach + model.reach_outside) * curve * quality ** 0.5
                                   * rng.lognormvariate(0, 0.25)))
        rate = KIND_RATE.get(kind, 0.02) * quality
        engaged = binomial(rng, impressions, min(1.0, rate))
        clicks = binomial(rng, impressions, min(1.0, LINK_CLICK_RATE.get(kind, 0.0) * quality))

        def share(p: float) -> int:
            return binomial(rng, engaged, p)

        self.figures[post.id] = PostFigures(kind, tz_hour, impressions, likes=share(0.62), reposts=share(0.1), replies=share(0.08),
                                            quotes=share(0.02), bookmarks=share(0.08), link_clicks=clicks,
                                            profile_clicks=poisson(rng, engaged * 0.25 + impressions * 0.002))
        self._earning.add(post.id)

    def metrics(self, post: Post, at: datetime) -> Mapping[str, int]:
        """The sandbox's metrics_model: the owner's posts earn their figures over a day or so."""
        figures = self.figures.get(post.id)
        if figures is None:
            return {}
        share = self._ramp(post, at)
        return {"impressions": round(figures.impressions * share), "likes": round(figures.likes * share),
                "reposts": round(figures.reposts * share), "replies": round(figures.replies * share),
                "quotes": round(figures.quotes * share), "bookmarks": round(figures.bookmarks * share),
                "url_link_clicks": round(figures.link_clicks * share),
                "user_profile_clicks": round(figures.profile_clicks * share)}

    @staticmethod
    def _ramp(post: Post, at: datetime) -> float:
        age_hours = max(0.0, (at - post.created_at).total_seconds() / 3600)
        return 1 - math.exp(-age_hours / RAMP_HOURS)

    # --- time passing -------------------------------------------------------------------
    def _schedule(self, due: datetime, what: str, user_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._events, (due, self._seq, what, user_id))

    def day_of(self, at: datetime) -> DayTally:
        return self.tally.setdefault(at.astimezone(UTC).date(), DayTally())

    def hour(self, at: datetime) -> None:
        """One hour of the world: due follow-backs, followers from recent posts, followers
        leaving, everyone else posting, mentions and messages."""
        world, rng, model, tally = self.world, self.rng, self.model, self.day_of(at)
        while self._events and self._events[0][0] <= at:
            _, _, what, uid = heapq.heappop(self._events)
            if what == "follow_back" and world.is_following(OWNER_ID, uid) and not world.is_following(uid, OWNER_ID):
                world.follow(uid, OWNER_ID)
                self.followed_back.add(uid)
                tally.follow_backs += 1
            elif what == "unfollow_back" and world.is_following(uid, OWNER_ID) and not world.is_following(OWNER_ID, uid):
                world.unfollow(uid, OWNER_ID)
                tally.unfollowed_back += 1
        arrivals = 0.0
        for post_id in sorted(self._earning):
            figures, post = self.figures[post_id], world.posts.get(post_id)
            share = self._ramp(post, at) if post is not None else 1.0
            if share >= 0.995:
                self._earning.discard(post_id)
            gained = share - figures.credited
            figures.credited = share
            arrivals += gained * (figures.engagements * model.follow_per_engagement
                                  + figures.profile_clicks * model.follow_per_profile_click)
        for _ in range(poisson(rng, arrivals)):
            newcomer = self._stranger()
            if newcomer is not None:
                world.follow(newcomer, OWNER_ID)
                tally.organic += 1
        followers = world.follower_ids(OWNER_ID)
        leaving = poisson(rng, len(followers) * model.churn_per_day / 24)
        if leaving:
            for uid in rng.sample(list(followers), min(leaving, len(followers))):
                world.unfollow(uid, OWNER_ID)
                tally.churned += 1
        if at.hour == 0:
            self._others_post(at)
        if rng.random() < model.mentions_per_day / 24:
            author = rng.choice(self.general)
            world.add_post(author, f"@{OWNER_HANDLE} your shaping video saved my weekend bake", at=at)
            self.personas[author] = Persona("mentions", self.communities["mentions"].rate, *self._rest(author))
            tally.mentions += 1
        if rng.random() < model.dms_per_day / 24 and len(followers):
            sender = rng.choice(list(followers))
            world.add_dm(sender, OWNER_ID, rng.choice(GENUINE_DMS))
            self.dms.append((at, sender, "genuine"))
            tally.dms_genuine += 1
        if rng.random() < model.spam_per_day / 24:
            sender = self._stranger() or rng.choice(self.general)
            world.add_dm(sender, OWNER_ID, rng.choice(SPAM_DMS))
            self.dms.append((at, sender, "spam"))
            tally.dms_spam += 1

    def _rest(self, user_id: str) -> tuple[float, int, int]:
        p = self.personas[user_id]
        return p.activity, p.followers_base, p.following_base

    def _stranger(self) -> str | None:
        """Someone from `general` who does not follow the owner yet."""
        for _ in range(20):
            uid = self.rng.choice(self.general)
            if not self.world.is_following(uid, OWNER_ID):
                return uid
        return None

    def _others_post(self, at: datetime) -> None:
        """Once a day, the active part of the population posts (each keeps one post)."""
        world, rng = self.world, self.rng
        for uid, persona in self.personas.items():
            if rng.random() >= persona.activity * 0.5:
                continue
            old = world.posts.latest_by(uid)
            if old is not None and OWNER_HANDLE not in old.text:
                del world.posts[old.id]
            world.add_post(uid, "baking today", at=at + timedelta(minutes=rng.randrange(0, 1440)), lang="en")

    # --- what the report and the audit read -------------------------------------------
    def source_truth(self) -> dict[str, float]:
        """Each community's hidden follow-back rate."""
        return {c.name: c.rate for c in self.communities.values()}

    def community_of(self, user_id: str) -> str | None:
        persona = self.personas.get(user_id)
        return persona.community if persona else None

    def follow_back_chance(self, user_id: str) -> float | None:
        persona = self.personas.get(user_id)
        return persona.follow_back if persona else None

    def counts(self) -> tuple[int, int]:
        return self.world.follower_count(OWNER_ID), self.world.following_count(OWNER_ID)


@dataclass
class Limits:
    """Sliding 24-hour windows of the account's writes, as X counts them."""

    follows: list[datetime] = field(default_factory=list)
    posts: list[datetime] = field(default_factory=list)

    @staticmethod
    def within_day(times: list[datetime], now: datetime) -> int:
        """How many of `times` fall in the 24 hours before `now` (older ones are dropped)."""
        cut = now - timedelta(hours=24)
        while times and times[0] <= cut:
            times.pop(0)
        return len(times)


class SimApp(SandboxApp):
    """The sandbox's app with the rest of what X enforces, and a log of every action."""

    def __init__(self, sim: SimWorld, *, validate: bool, local_hour: Callable[[datetime], int]) -> None:
        super().__init__(sim.world, validate=validate)
        self.sim = sim
        self.limits = Limits()
        self.local_hour = local_hour

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        try:
            operation, _ = self.url_map.bind_to_environ(request.environ).match()
        except Exception:  # an unrouted path: the sandbox answered it with a plain 404/405
            return response
        now = self.sim.clock()
        self.sim.requests.append((now, str(operation), response.status_code))
        if operation in WRITES and response.status_code >= 300:
            self.sim.record(Action(now, "api", "refused", str(operation), response.status_code,
                                   detail=response.get_data(as_text=True)[:300]))
        return response

    def user_json(self, user: User, fields: list[str], viewer: str) -> dict[str, Any]:
        out = super().user_json(user, fields, viewer)
        declared = self.sim.declared(user.id)
        metrics = out.get("public_metrics")
        if declared is not None and metrics is not None:
            metrics["followers_count"] += declared[0]
            metrics["following_count"] += declared[1]
        return out

    def op_followUser(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        world, now = self.world, self.sim.clock()
        target = str((request.get_json(silent=True) or {}).get("target_user_id", ""))
        if world.follow_permitted and id == user_id:
            following, followers = world.following_count(user_id), world.follower_count(user_id)
            over_rule = following >= FOLLOWING_RULE_AT and following >= followers * 1.1
            if self.limits.within_day(self.limits.follows, now) >= DAILY_FOLLOW_LIMIT or over_rule:
                raise problem(403, "not-authorized-for-resource", "Forbidden", FOLLOW_LIMIT_DETAIL, resource_type="user")
        redundant = world.is_following(user_id, target) or target in self.sim.ever_followed
        result = super().op_followUser(request, user_id, id)
        self.limits.follows.append(now)
        self.sim.record(Action(now, "api", "follow", target, result[0], redundant=redundant))
        self.sim.owner_followed(target, now)
        return result

    def op_unfollowUser(self, request: Request, user_id: str, source_user_id: str,
                        target_user_id: str) -> tuple[int, dict[str, Any], str, int]:
        now = self.sim.clock()
        redundant = not self.world.is_following(user_id, target_user_id)
        result = super().op_unfollowUser(request, user_id, source_user_id, target_user_id)
        self.sim.record(Action(now, "api", "unfollow", target_user_id, result[0], redundant=redundant))
        self.sim.owner_unfollowed(target_user_id, now)
        return result

    def op_createPosts(self, request: Request, user_id: str) -> tuple[int, dict[str, Any], str, int]:
        """As the sandbox's, except that a duplicate is a text posted within the model's
        window (X refuses recent duplicates; the sandbox refuses any earlier one), and at
        most 2,400 posts a day."""
        world, now = self.world, self.sim.clock()
        payload = request.get_json(silent=True) or {}
        text = str(payload.get("text", ""))
        reply_to = str((payload.get("reply") or {}).get("in_reply_to_tweet_id", "")) or None
        if self.limits.within_day(self.limits.posts, now) >= DAILY_POST_LIMIT:
            raise problem(429, "resource-unavailable", "Too Many Requests", "Too Many Requests", resource_type="rate_limit")
        cut = now - self.sim.model.duplicate_window
        with world.lock:
            if reply_to is not None and reply_to not in world.posts:
                raise problem(403, "disallowed-resource", "Forbidden", REPLY_MISSING_DETAIL, resource_type="post",
                              resource_id=reply_to)
            if any(p.text == text and p.reposted_id is None and p.created_at >= cut for p in world.posts.by_author(user_id)):
                raise problem(403, "disallowed-resource", "Forbidden", DUPLICATE_DETAIL, resource_type="post")
            post = world.add_post(user_id, text, in_reply_to_id=reply_to)
        self.limits.posts.append(now)
        self.sim.record(Action(now, "api", "post", text, 201, detail=post.id))
        self.sim.owner_posted(post, self.local_hour(now))
        return 201, {"data": {"id": post.id, "text": post.text}}, ("post_create_url" if URL_PATTERN.search(text) else "post_create"), 1

    def op_repostPost(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        now = self.sim.clock()
        target = str((request.get_json(silent=True) or {}).get("tweet_id", ""))
        if self.limits.within_day(self.limits.posts, now) >= DAILY_POST_LIMIT:
            raise problem(429, "resource-unavailable", "Too Many Requests", "Too Many Requests", resource_type="rate_limit")
        redundant = (user_id, target) in self.world.reposts or target in self.sim.reposted
        result = super().op_repostPost(request, user_id, id)
        self.limits.posts.append(now)
        self.sim.reposted.add(target)
        self.sim.record(Action(now, "api", "repost", target, result[0], redundant=redundant))
        return result


WRITES = frozenset({"createPosts", "followUser", "unfollowUser", "repostPost", "deletePosts", "unrepostPost"})
