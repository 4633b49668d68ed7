"""The flight simulator's engine: a simulated clock drives every Lambda handler at its
schedule (template.yaml: post every 10 minutes, follow hourly at :05, prune hourly at :35,
the digest daily at DigestHour:15), day after day, against the synthetic world.

The handlers are the real ones (functions/<job>/app.py, through handling.handle, wire()
and the deps builders), with the account's settings in the environment as Lambda has them,
and DynamoDB Local (or, for fast tests, the in-memory store the contract suite keeps
honest). Only what lies outside AWS Lambda's own process is replaced, at the composition
root (flockpilot.runtime): the clock, X (the sandbox in-process, over the production
XClient), Secrets Manager (the account's tokens) and SES (a mailbox the person reads).
"""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any

from devtools.demo import SimulatedClock  # the simulated time jobs, world and X client read; sleeps pass it
from devtools.simulate.person import Mailbox, Person
from devtools.simulate.world import ACCESS_TOKEN, CONSUMER_KEY, OWNER_ID, SimApp, SimWorld

if TYPE_CHECKING:
    from flockpilot.adapters.secrets import XCredentials
    from flockpilot.domain.cost import CostMeter
    from flockpilot.ports import AccountRecords, Clock, ContentStore, Ledger, XApi
    from flockpilot.settings import Deployment

ROOT = Path(__file__).resolve().parents[2]
JOBS = ("post", "follow", "prune", "digest")
TABLE = "flockpilot-sim"
REGION = "us-east-1"
PERSON_ACTS_AT = (8, 25)  # the morning after a digest: the person's one sitting with it


@dataclass(frozen=True)
class SimConfig:
    """One simulated account and how long to fly it."""

    days: int = 90
    followers: int = 500
    following: int = 450
    mode: str = "suggest"  # follow and prune mode: suggest | api
    budget: float = 60.0
    seed: int = 1
    store: str = "dynamodb"  # dynamodb | memory
    start: date = date(2026, 3, 1)
    act_share: float = 0.8  # suggest mode: the share of suggestions the person acts on
    posts_per_day: int = 10
    follow_daily_cap: int = 30
    prune_daily_cap: int = 30
    digest_hour: int = 7
    community_size: int = 1500  # followers of each niche peer (candidates)
    validate_days: int = 1  # days on which every X request and response is checked against X's spec

    def environment(self) -> dict[str, str]:
        """The settings as the template hands them to every function (template.yaml Globals)."""
        return {"MODE": "live", "TIME_ZONE": "UTC", "POSTS_PER_DAY": str(self.posts_per_day), "ACTIVE_HOURS": "08:00-22:00",
                "MONTHLY_BUDGET_USD": str(self.budget), "DIGEST_EMAIL": "owner@example.com", "SENDER_EMAIL": "flockpilot@example.com",
                "FOLLOW_MODE": self.mode, "FOLLOW_DAILY_CAP": str(self.follow_daily_cap), "PRUNE_MODE": self.mode,
                "PRUNE_DAILY_CAP": str(self.prune_daily_cap), "PRUNE_GRACE_DAYS": "7"}


@dataclass
class DayFigures:
    """What one account day looked like (the JSON's `days`)."""

    day: int
    date: str
    followers: int = 0
    following: int = 0
    band_limit: int = 0
    in_band: bool = True
    cost_usd: float = 0.0
    allowance_usd: float = 0.0
    cost_by_function: dict[str, float] = field(default_factory=lambda: dict.fromkeys(JOBS, 0.0))
    posts: int = 0
    follows: int = 0
    unfollows: int = 0
    follow_backs: int = 0
    organic_followers: int = 0
    churned: int = 0
    follow_suggestions: int = 0
    prune_suggestions: int = 0
    dms_genuine: int = 0
    dms_spam: int = 0
    digest_worth_replying: int = 0
    digest_ignore: int = 0
    warnings: int = 0
    invocations: int = 0


@dataclass
class JobWarning:
    day: date
    job: str
    text: str


# --- the content library: what the account posts, with a quality only the world knows ---
QUIPS = ("Bread is just flour, water and patience", "A loaf that did not rise is still toast",
         "Sourdough: the only pet that lives in the fridge", "Knead less, wait more", "Crumb shots are our love language",
         "Steam is the secret nobody tells you", "Score deep, bake hot, wait before slicing")
QUOTES = ("Good bread is the most fundamentally satisfying of all foods - James Beard",
          "All sorrows are less with bread - Miguel de Cervantes", "Without bread, all is misery - William Cobbett")
ARTICLES = ("How we shape a batard in under a minute", "Five mistakes that flatten your sourdough",
            "What hydration really means for your crumb", "Our flour guide: which one for which loaf",
            "Baking in a home oven: steam without the burns", "Why your starter smells of nail varnish")


@dataclass(frozen=True)
class LibraryItem:
    kind: str
    text: str
    url: str | None
    evergreen: bool
    cooldown_days: int
    quality: float

    @property
    def post_text(self) -> str:
        return f"{self.text} {self.url}" if self.url else self.text


def library(seed: int, peer_posts: list[str]) -> list[LibraryItem]:
    """A library that keeps 10 posts a day going (with room for the learning loop's rests):
    evergreen quips, quotes and articles, two pitches and one-off reposts of the niche
    peers' posts, each with a hidden quality."""
    rng = random.Random(f"library:{seed}")

    def quality() -> float:
        return min(3.0, rng.lognormvariate(0.0, 0.5))

    items = [LibraryItem("quip", f"{QUIPS[i % len(QUIPS)]} (#{i + 1})", None, True, 21, quality()) for i in range(110)]
    items += [LibraryItem("quote", f"\"{QUOTES[i % len(QUOTES)]}\" (#{i + 1})", None, True, 30, quality()) for i in range(40)]
    items += [LibraryItem("article", f"{ARTICLES[i % len(ARTICLES)]}, part {i + 1}", f"https://example.com/blog/{i + 1}", True, 14,
                          quality()) for i in range(90)]
    items += [LibraryItem("pitch", f"Our weekend sourdough kit is back in stock, batch {i + 1}", f"https://example.com/shop/kit{i}",
                          True, 7, quality() * 0.8) for i in range(2)]
    items += [LibraryItem("repost", post_id, None, False, 30, 1.0) for post_id in peer_posts]
    return items


# --- the composition root's outside world, replaced ------------------------------------
def credentials() -> XCredentials:
    from flockpilot.adapters.secrets import XCredentials

    return XCredentials(consumer_key=CONSUMER_KEY, consumer_secret="sim-consumer-secret", access_token=ACCESS_TOKEN,
                        access_token_secret="sim-access-token-secret")


def in_process_x(app: SimApp) -> Callable[..., Callable[[CostMeter], XApi]]:
    """runtime.x_factory with the network replaced by the in-process sandbox: the same
    XClient, meter, timeout and rate-limit gates as production."""
    from tests.fakes.x import SandboxTransport

    def x_factory(deployment: Deployment, creds: XCredentials, records: AccountRecords, clock: Clock,
                  remaining_seconds: Callable[[], float] | None) -> Callable[[CostMeter], XApi]:
        from flockpilot.adapters.x import XClient

        def connect(meter: CostMeter) -> XApi:
            transport = SandboxTransport(app, access_token=creds.access_token, consumer_key=creds.consumer_key,
                                         timeout=deployment.x_timeout_seconds)
            return XClient(transport, creds.user_id, meter, clock, timeout=deployment.x_timeout_seconds,
                           remaining_seconds=remaining_seconds or (lambda: float("inf")), gates=records.gates(),
                           on_gate=records.set_gate)

        return connect

    return x_factory


def memory_wiring(store: Any) -> type:
    """runtime.Wiring over the in-memory store (tests/fakes/store.py) instead of DynamoDB."""
    from flockpilot import runtime
    from flockpilot.jobs.skeleton import Account
    from flockpilot.settings import account_settings

    class MemoryWiring(runtime.Wiring):
        def __init__(self, deployment: Deployment, creds: XCredentials, account_id: str, environ: Mapping[str, str] | None,
                     clock: Clock, remaining_seconds: Callable[[], float] | None, *, quiet: Any = None,
                     settings_reuse: Any = None) -> None:
            # (the in-memory store reads its overrides from memory: nothing to save by reusing them)
            self.deployment = deployment
            self.account_id = account_id
            # The stores are cached properties of Stores: filling them in here skips DynamoDB.
            self.__dict__.update(records=store, content_plans=store, ledger=store, inbox=store)
            settings = account_settings(environ, store.overrides())
            self.account = Account(account_id, settings, store, clock,
                                   runtime.x_factory(deployment, creds, store, clock, remaining_seconds))

    return MemoryWiring


@contextmanager
def outside_world(clock: SimulatedClock, app: SimApp, mailbox: Mailbox, environ: Mapping[str, str], log: IO[str],
                  store: Any | None) -> Iterator[None]:
    """Point the composition root's clock, X, Secrets Manager and SES at the simulation,
    the environment at the account's settings, and the jobs' log at `log`; undo it all after."""
    from flockpilot import runtime
    from flockpilot.adapters import mail
    from flockpilot.observability import logger

    creds = credentials()
    patches: list[tuple[ModuleType, str, object]] = [
        (runtime, "SystemClock", lambda: clock),
        (runtime, "x_factory", in_process_x(app)),
        (runtime, "load_x_credentials", lambda *args, **kwargs: creds),
        (mail, "send_email", mailbox.send),
    ]
    if store is not None:
        patches.append((runtime, "Wiring", memory_wiring(store)))
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    saved_env = {k: os.environ.get(k) for k in environ}
    handlers = [h for h in logging.getLogger(logger.name).handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.stream for h in handlers]
    level = logger.log_level
    for module, name, value in patches:
        setattr(module, name, value)
    os.environ.update(environ)
    for h in handlers:
        h.setStream(log)
    logger.setLevel(environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))  # the Logger read its level at import
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        for key, old in saved_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        for h, stream in zip(handlers, streams, strict=True):
            h.setStream(stream)
        logger.setLevel(level)


def load_handlers() -> dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """Each function's lambda_handler, loaded from functions/<job>/app.py as Lambda loads it."""
    from flockpilot.invoke import load_handler

    return {job: load_handler(job, f"flockpilot_sim_fn_{job}") for job in JOBS}


@contextmanager
def table(environ: dict[str, str]) -> Iterator[None]:
    """DynamoDB Local with the table template.yaml declares, for the run's life."""
    from devtools import dynamodb_local
    from devtools.localstack import patched_environ
    from flockpilot.adapters import dynamo

    ddb = dynamodb_local.start()
    environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb.endpoint
    restore = patched_environ({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": REGION,
                               "AWS_DEFAULT_REGION": REGION})
    try:
        dynamo.bind(TABLE, REGION, ddb.endpoint)
        dynamo.create_table()
        yield
    finally:
        restore()
        ddb.stop()


@dataclass
class Run:
    """Everything a finished simulation knows: the world, the person, the figures."""

    config: SimConfig
    sim: SimWorld
    person: Person
    days: list[DayFigures]
    warnings: list[JobWarning]
    library: list[LibraryItem]
    sources: list[dict[str, Any]]
    product_spend_usd: float
    spec_violations: list[str]
    hourly: list[tuple[datetime, int, int]]
    wall_seconds: float
    invocations: int
    timing: dict[str, list[float]]  # job -> [invocations, wall seconds inside its handler]


class Simulation:
    """Fly one account for `config.days` days; progress lines go to `progress`."""

    def __init__(self, config: SimConfig, out_dir: Path, progress: IO[str] | None = sys.stderr) -> None:
        self.config = config
        self.out_dir = out_dir
        self.progress = progress
        start = datetime.combine(config.start, datetime.min.time(), tzinfo=UTC)
        self.clock = SimulatedClock(start)
        self.sim = SimWorld(seed=config.seed, followers=config.followers, following=config.following,
                            community_size=config.community_size, clock=self.clock.now,
                            follow_permitted=config.mode == "api")
        self.app = SimApp(self.sim, validate=config.validate_days > 0, local_hour=lambda at: at.astimezone(UTC).hour)
        self.mailbox = Mailbox(self.clock)
        self.person = Person(self.sim, self.mailbox, share=config.act_share, seed=config.seed, acting=config.mode == "suggest")
        peer_posts = [p.id for peer in self.sim.peers.values() for p in self.sim.world.posts_by(peer)]
        self.library = library(config.seed, peer_posts)
        self.sim.quality.update({i.post_text: i.quality for i in self.library})
        self.sim.kinds.update({i.post_text: i.kind for i in self.library})
        self.days: list[DayFigures] = []
        self.warnings: list[JobWarning] = []
        self.hourly: list[tuple[datetime, int, int]] = []
        self.invocations = 0
        self.timing: dict[str, list[float]] = {job: [0, 0.0] for job in JOBS}  # job -> [invocations, wall seconds]

    # --- setup -------------------------------------------------------------------------
    def seed_account(self, content: ContentStore, ledger: Ledger) -> None:
        """What the person does before the first run: import content, add the niche peers."""
        from flockpilot.domain.content import new_item
        from flockpilot.domain.follow import Source, SourceKind

        now = self.clock.now()
        for item in self.library:
            content.add_content(new_item(kind=item.kind, text=item.text, url=item.url, now=now, evergreen=item.evergreen,
                                         cooldown_days=item.cooldown_days))
        for community, peer_id in self.sim.peers.items():
            ledger.add_source(Source(peer_id, SourceKind.ACCOUNT, f"@{community}", now))

    # --- the run -----------------------------------------------------------------------
    def run(self) -> Run:
        started = time.perf_counter()
        config = self.config
        environ = {"TABLE_NAME": TABLE, "X_SECRET_ID": "flockpilot/sim-x-credentials", "AWS_REGION": REGION,
                   "POWERTOOLS_SERVICE_NAME": "flockpilot", "POWERTOOLS_TRACE_DISABLED": "true",
                   "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING", **config.environment()}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / "jobs.log", "w", encoding="utf-8") as log:
            if config.store == "memory":
                from tests.fakes.store import MemoryStore

                store = MemoryStore(OWNER_ID)
                with outside_world(self.clock, self.app, self.mailbox, environ, log, store):
                    self.seed_account(store, store)
                    self._fly()
                    spend = store.spend(config.start, config.start + timedelta(days=config.days))
                    sources = self._sources(store)
            else:
                with table(environ), outside_world(self.clock, self.app, self.mailbox, environ, log, None):
                    from flockpilot.runtime import stores

                    parts = stores(account_id=OWNER_ID)
                    self.seed_account(parts.content_plans, parts.ledger)
                    self._fly()
                    spend = parts.records.spend(config.start, config.start + timedelta(days=config.days))
                    sources = self._sources(parts.ledger)
        return Run(config, self.sim, self.person, self.days, self.warnings, self.library, sources,
                   round(sum(s.usd for s in spend.values()), 6), list(self.sim.world.violations), self.hourly,
                   time.perf_counter() - started, self.invocations, self.timing)

    def _fly(self) -> None:
        from flockpilot.observability import metrics

        handlers = load_handlers()
        from flockpilot.invoke import LocalContext

        config, clock, sim = self.config, self.clock, self.sim
        started = time.perf_counter()
        for n in range(config.days):
            day = config.start + timedelta(days=n)
            figures = DayFigures(day=n + 1, date=day.isoformat())
            self.days.append(figures)
            if n == config.validate_days:
                self.app.validate = False  # the first days checked every request and response; then speed
            midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            for minute in range(0, 24 * 60, 5):
                at = midnight + timedelta(minutes=minute)
                clock.current = at
                hour, mins = divmod(minute, 60)
                if mins == 0:
                    sim.hour(at)
                    followers, following = sim.counts()
                    self.hourly.append((at, followers, following))
                due = ["post"] if minute % 10 == 0 else []
                if mins == 5:
                    due.append("follow")
                if mins == 35:
                    due.append("prune")
                if (hour, mins) == (config.digest_hour, 15):
                    due.append("digest")
                for job in due:
                    clock.current = at
                    self._invoke(handlers[job], job, at, figures, metrics, LocalContext)
                if (hour, mins) == PERSON_ACTS_AT:
                    clock.current = at
                    follows, unfollows = self.person.act(at)
                    figures.follows += follows
                    figures.unfollows += unfollows
            self._close_day(day, figures)
            if self.progress is not None and ((n + 1) % 10 == 0 or n + 1 == config.days):
                spent = sum(d.cost_usd for d in self.days)
                print(f"day {n + 1}/{config.days}: {figures.followers} followers, {figures.following} following, "
                      f"${spent:.2f} spent so far ({time.perf_counter() - started:.1f} s)", file=self.progress, flush=True)

    def _invoke(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]], job: str, at: datetime, figures: DayFigures,
                metrics: Any, context: Callable[[str], Any]) -> None:
        event = {"trigger": "schedule", "id": f"sim-{job}-{at:%Y%m%dT%H%M}", "scheduled_time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
        before = self._metered()
        started = time.perf_counter()
        try:
            result = handler(event, context(job))
        except Exception as exc:  # a retryable failure: Lambda records it; the schedule does not retry (template)
            result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        finally:
            metrics.clear_metrics()  # POWERTOOLS_METRICS_DISABLED keeps them otherwise (Powertools 3.37)
        self.timing[job][0] += 1
        self.timing[job][1] += time.perf_counter() - started
        self.invocations += 1
        figures.invocations += 1
        figures.cost_by_function[job] += self._metered() - before
        day = at.date()
        texts = [str(w) for w in result.get("warnings", [])] + [str(r) for r in result.get("reasons", [])]
        if result.get("status") in ("error", "rejected"):
            texts.append(f"run failed: {result.get('error', '')}")
        for text in texts:
            if "dry-run mode" not in text:
                self.warnings.append(JobWarning(day, job, text))
                figures.warnings += 1
        if job == "digest":
            figures.digest_worth_replying = int(result.get("worth_replying", 0))
            figures.digest_ignore = int(result.get("ignore", 0))

    def _metered(self) -> float:
        return sum(line.usd for line in self.sim.world.meter.values())

    def _close_day(self, day: date, figures: DayFigures) -> None:
        from devtools.simulate.audit import band_limit

        sim = self.sim
        figures.followers, figures.following = sim.counts()
        figures.band_limit = band_limit(figures.followers, figures.following, 0.10)
        figures.in_band = figures.following <= figures.band_limit
        figures.cost_usd = round(sum(figures.cost_by_function.values()), 6)
        figures.cost_by_function = {k: round(v, 6) for k, v in figures.cost_by_function.items()}
        tally = sim.tally.get(day)
        if tally is not None:
            figures.follow_backs, figures.organic_followers, figures.churned = tally.follow_backs, tally.organic, tally.churned
            figures.dms_genuine, figures.dms_spam = tally.dms_genuine, tally.dms_spam
        done = [a for a in sim.actions if a.at.date() == day and 200 <= a.status < 300]
        figures.posts = sum(1 for a in done if a.kind in ("post", "repost"))
        figures.follows = sum(1 for a in done if a.kind == "follow")
        figures.unfollows = sum(1 for a in done if a.kind == "unfollow")
        shown = [s for s in self.person.shown if s.day == day]
        figures.follow_suggestions = sum(1 for s in shown if s.kind == "follow")
        figures.prune_suggestions = sum(1 for s in shown if s.kind == "unfollow")

    def _sources(self, ledger: Ledger) -> list[dict[str, Any]]:
        """Each source's follow-back rate as Flockpilot estimates it, and as the world knows it."""
        sim = self.sim
        people = ledger.people_by_id(sorted(sim.ever_followed))
        by_source: dict[str, list[str]] = defaultdict(list)
        for uid, person in people.items():
            by_source[person.source_id or ""].append(uid)
        out = []
        for source in ledger.sources():
            followed = by_source.get(source.source_id, [])
            chances = [c for uid in followed if (c := sim.follow_back_chance(uid)) is not None]
            backs = sum(1 for uid in followed if uid in sim.followed_back)
            community = next((c for c, peer in sim.peers.items() if peer == source.source_id), None)
            out.append({"label": source.label, "kind": source.kind.value,
                        "hidden_rate": sim.communities[community].rate if community else None,
                        "true_rate": round(sum(chances) / len(chances), 3) if chances else None,
                        "world_rate": round(backs / len(followed), 3) if followed else None,
                        "estimated_rate": source.observed_rate, "prior_rate": round(source.rate, 3),
                        "followed": source.followed, "followed_back": source.followed_back, "followed_in_world": len(followed)})
        return out
