"""Composition root: the one place that picks implementations for the jobs' ports.

Nothing here runs at import. Settings are read and validated on every invocation (one
exception: a scheduled post tick that the container's last tick showed has nothing due
reuses the settings read within the last `SETTINGS_REUSE`, see Wiring); the secret is kept
for `SECRET_MAX_AGE_SECONDS`; the DynamoDB connection, the botocore session and the X
transport (its HTTP connection pool) are kept for the container's life. Each function
builds only its own job's parts, so a cold start loads only the modules that job uses.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flockpilot.adapters.clock import SystemClock
from flockpilot.adapters.secrets import XCredentials, load_x_credentials
from flockpilot.jobs.skeleton import Account
from flockpilot.settings import Deployment, account_settings, deployment_env, ignored_overrides, load_deployment

if TYPE_CHECKING:
    from flockpilot.adapters.dynamo.content import DynamoContentPlans
    from flockpilot.adapters.dynamo.inbox import DynamoInbox
    from flockpilot.adapters.dynamo.ledger import DynamoLedger
    from flockpilot.adapters.dynamo.records import DynamoRecords
    from flockpilot.adapters.x import SignedTransport
    from flockpilot.domain.cost import CostMeter
    from flockpilot.domain.feed import FeedEntry
    from flockpilot.jobs.digest import DigestDeps
    from flockpilot.jobs.follow import FollowDeps
    from flockpilot.jobs.post import PostDeps
    from flockpilot.jobs.prune import PruneDeps
    from flockpilot.ports import AccountRecords, Clock, XApi


@cache
def _transport(creds: XCredentials, base_url: str | None, timeout: float) -> SignedTransport:
    from flockpilot.adapters.x import SignedTransport

    return SignedTransport(consumer_key=creds.consumer_key, consumer_secret=creds.consumer_secret,
                           access_token=creds.access_token, access_token_secret=creds.access_token_secret,
                           base_url=base_url, timeout=timeout)


# What each function's first call would import: its job, the adapters it wires and the AWS SDK
# modules they use. A handler imports these while Lambda initialises the function (code only:
# no settings, secret or client is made before the first call), so the first call does only
# the first call's work.
FUNCTION_MODULES: dict[str, tuple[str, ...]] = {
    "post": ("flockpilot.jobs.post", "flockpilot.jobs.learn", "flockpilot.adapters.dynamo.content",
             "flockpilot.adapters.dynamo.records", "flockpilot.adapters.x"),
    "follow": ("flockpilot.jobs.follow", "flockpilot.adapters.dynamo.ledger", "flockpilot.adapters.dynamo.records",
               "flockpilot.adapters.x"),
    "prune": ("flockpilot.jobs.prune", "flockpilot.adapters.dynamo.ledger", "flockpilot.adapters.dynamo.records",
              "flockpilot.adapters.x"),
    "digest": ("flockpilot.jobs.digest", "flockpilot.adapters.dynamo.ledger", "flockpilot.adapters.dynamo.records",
               "flockpilot.adapters.dynamo.inbox", "flockpilot.adapters.dynamo.content", "flockpilot.adapters.x",
               "flockpilot.adapters.mail"),
}
# encodings.idna encodes host names on a connection's first request.
_COMMON_MODULES = ("flockpilot.adapters.secrets", "flockpilot.adapters.oauth1", "flockpilot.logsafety", "botocore.session",
                   "botocore.config", "encodings.idna")


_frozen = False  # init's objects were frozen once in this process (a container: once)


def import_function_code(function: str) -> None:
    """Import the code `function`'s runs use (see FUNCTION_MODULES), then freeze what that
    made and resume garbage collection. Nothing else happens: no setting, secret or client.

    A handler module calls `gc.disable()` before its first import and this at its end, so
    Lambda's init loads its ~360 modules without the collector walking them again and again
    (CPython's documented pattern: disable early, `gc.freeze()` when start-up is done). The
    freeze moves every object alive now (modules, classes, functions: they live as long as
    the container) out of the collector's generations, so later collections skip them too.
    Init leaves ~270 unreachable objects, which the freeze keeps (the bench counts them), with
    tracing on or off. (Outside Lambda, with tracing on, the X-Ray SDK also sets up a sampling
    client and leaves ~27,000: only the CLI could do that, in a process that ends soon.) A
    process that loads several handlers (the CLI, the simulator, tests) freezes at the first
    only, so what later loads leave stays collectable."""
    import gc
    import importlib

    global _frozen
    try:
        for name in (*FUNCTION_MODULES[function], *_COMMON_MODULES):
            importlib.import_module(name)
    finally:
        if not _frozen:
            gc.freeze()
            _frozen = True
        gc.enable()


def x_factory(deployment: Deployment, creds: XCredentials, records: AccountRecords, clock: Clock,
              remaining_seconds: Callable[[], float] | None) -> Callable[[CostMeter], XApi]:
    """X clients for one run: metered, and gated by the rate-limit resets X gave earlier runs."""
    def connect(meter: CostMeter) -> XApi:
        from flockpilot.adapters.x import XClient

        return XClient(_transport(creds, deployment.x_api_base_url, deployment.x_timeout_seconds), creds.user_id, meter, clock,
                       timeout=deployment.x_timeout_seconds, remaining_seconds=remaining_seconds or (lambda: float("inf")),
                       gates=records.gates(), on_gate=records.set_gate)

    return connect


class Stores:
    """One account's parts of the table; each aggregate is built (and imported) on first use."""

    def __init__(self, deployment: Deployment, account_id: str) -> None:
        from flockpilot.adapters.dynamo.base import bind

        bind(deployment.table_name, deployment.region, deployment.dynamodb_endpoint)
        self.deployment = deployment
        self.account_id = account_id

    @cached_property
    def records(self) -> DynamoRecords:
        from flockpilot.adapters.dynamo.records import DynamoRecords

        return DynamoRecords(self.account_id)

    @cached_property
    def content_plans(self) -> DynamoContentPlans:
        from flockpilot.adapters.dynamo.content import DynamoContentPlans

        return DynamoContentPlans(self.account_id)

    @cached_property
    def ledger(self) -> DynamoLedger:
        from flockpilot.adapters.dynamo.ledger import DynamoLedger

        return DynamoLedger(self.account_id)

    @cached_property
    def inbox(self) -> DynamoInbox:
        from flockpilot.adapters.dynamo.inbox import DynamoInbox

        return DynamoInbox(self.account_id)


# What this container read last of the account's settings, per store scope: (when, the
# overrides, the deployment as recorded).
_SETTINGS_READ: dict[str, tuple[datetime, dict[str, Any], dict[str, Any] | None]] = {}
SETTINGS_REUSE = timedelta(hours=1)
# Says whether a run at `now` over a store scope has nothing to do whatever the settings.
QuietCheck = Callable[[str, datetime], bool]


class Wiring(Stores):
    """The stores, the account's settings and its X connection: everything a job needs.

    The account's overrides are read from the table each time, except when `quiet` says the
    run has nothing to do (the post function's idle ticks: most of its 144 runs a day; the
    follow and prune ticks of a day this container saw done): then the overrides this
    container read within `settings_reuse` (SETTINGS_REUSE; follow and prune: as long as
    their done-day memo is trusted) are used again. A changed setting still applies to every
    run that has something to do; an idle tick would do nothing whatever it said.

    In a Lambda function, the same read also brings the deployment's account settings as
    the functions last recorded them; when this function's environment says otherwise (the
    stack was deployed with new parameters), it records what it has, once. The CLI runs with
    that record, so on a laptop it shows and does what the functions do (flockpilot.cli)."""

    def __init__(self, deployment: Deployment, creds: XCredentials, account_id: str, environ: Mapping[str, str] | None,
                 clock: Clock, remaining_seconds: Callable[[], float] | None, *, quiet: QuietCheck | None = None,
                 settings_reuse: timedelta = SETTINGS_REUSE) -> None:
        super().__init__(deployment, account_id)
        self.settings_reused = False
        now = clock.now()
        overrides, deployed = self._sources(now, quiet, settings_reuse)
        settings = account_settings(environ, overrides)
        env = os.environ if environ is None else environ
        if env.get("AWS_LAMBDA_FUNCTION_NAME"):  # the Lambda runtime sets it: the deployment itself
            current = deployment_env(env)
            if deployed is None or deployed.get("env") != current:
                self.records.record_deployment(current, now)
                kept = _SETTINGS_READ.get(self.records.scope)
                if kept is not None:
                    _SETTINGS_READ[self.records.scope] = (kept[0], kept[1], {"env": current, "at": now.isoformat()})
        ignored = ignored_overrides(overrides)
        if ignored:
            from flockpilot.observability import logger

            logger.warning("stored settings not applied: " + "; ".join(ignored.values()))
        self.account = Account(account_id, settings, self.records, clock,
                               x_factory(deployment, creds, self.records, clock, remaining_seconds))

    def _sources(self, now: datetime, quiet: QuietCheck | None,
                 reuse: timedelta) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if quiet is None:
            return self.records.settings_sources()
        scope = self.records.scope  # the same as the plan store's (adapters.dynamo.base.scope_of)
        kept = _SETTINGS_READ.get(scope)
        if kept is not None and timedelta(0) <= now - kept[0] < reuse and quiet(scope, now):
            self.settings_reused = True
            return dict(kept[1]), kept[2]
        overrides, deployed = self.records.settings_sources()
        _SETTINGS_READ[scope] = (now, dict(overrides), deployed)
        return overrides, deployed


def forget_container_state() -> None:
    """Forget what this process kept between runs (settings read, the post job's last plan
    and quiet time), as a new container would: for tests that reuse accounts and tables."""
    from flockpilot.jobs.follow import forget_built_days
    from flockpilot.jobs.post import forget_last_reads
    from flockpilot.jobs.skeleton import forget_done_days

    _SETTINGS_READ.clear()
    forget_last_reads()
    forget_done_days()
    forget_built_days()


def wire(environ: Mapping[str, str] | None = None, *, clock: Clock | None = None,
         remaining_seconds: Callable[[], float] | None = None, account_id: str | None = None,
         quiet: QuietCheck | None = None, settings_reuse: timedelta = SETTINGS_REUSE) -> Wiring:
    """Everything a job needs for the account of the deployment's X secret (`quiet` and
    `settings_reuse`: see Wiring)."""
    from flockpilot.logsafety import install_log_redaction

    install_log_redaction()
    deployment = load_deployment(environ)
    creds = load_x_credentials(deployment.x_secret_id, deployment.secret_max_age_seconds, deployment.region)
    return Wiring(deployment, creds, account_id or creds.user_id, environ, clock or SystemClock(), remaining_seconds,
                  quiet=quiet, settings_reuse=settings_reuse)


def stores(environ: Mapping[str, str] | None = None, *, account_id: str | None = None) -> Stores:
    """The table's stores for one account, without X (CLI commands that only read or write
    the table). The account is `account_id`, or the one of the deployment's X secret."""
    deployment = load_deployment(environ)
    owner = account_id or load_x_credentials(deployment.x_secret_id, deployment.secret_max_age_seconds, deployment.region).user_id
    return Stores(deployment, owner)


def read_feed(source: str) -> list[FeedEntry]:
    """A feed's entries (the feed fetcher and parser load only when a feed is read)."""
    from flockpilot.adapters.feeds import fetch_feed

    return fetch_feed(source)


def post_deps(w: Wiring) -> PostDeps:
    from flockpilot.jobs.post import PostDeps

    return PostDeps(w.account, w.content_plans, w.content_plans, read_feed=read_feed)


def follow_deps(w: Wiring) -> FollowDeps:
    from flockpilot.jobs.follow import FollowDeps

    return FollowDeps(w.account, w.ledger)


def prune_deps(w: Wiring, remaining_seconds: Callable[[], float] | None = None) -> PruneDeps:
    from flockpilot.jobs.prune import PruneDeps

    return PruneDeps(w.account, w.ledger, remaining_seconds or (lambda: float("inf")))


def digest_deps(w: Wiring) -> DigestDeps:
    from flockpilot.adapters.mail import send_email
    from flockpilot.jobs.digest import DigestDeps

    settings, deployment = w.account.settings, w.deployment
    recipients = [r.strip() for r in (settings.digest_email or "").split(",") if r.strip()]

    def send(subject: str, html: str, text: str) -> str:
        return send_email(region=deployment.region, sender=deployment.sender_email or "", recipients=recipients,
                          subject=subject, html=html, text=text)

    return DigestDeps(w.account, w.ledger, w.inbox, w.content_plans, w.content_plans, send, deployment.sender_email,
                      outbox_dir=Path(deployment.outbox_dir) if deployment.outbox_dir else None,
                      template=settings.digest_reply_template, invite=settings.digest_invite)
