"""Composition root: builds a job's context from the environment, inside the handler.

Nothing here runs at import. Settings are validated on every invocation; the secret is
cached by Powertools for `SECRET_MAX_AGE_SECONDS`; the store binding is reused while the
table and endpoint stay the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flockpilot.adapters import store as store_module
from flockpilot.adapters.clock import Clock, SystemClock
from flockpilot.adapters.secrets import XCredentials, load_x_credentials
from flockpilot.adapters.x import XClient
from flockpilot.domain.cost import CostMeter
from flockpilot.jobs.digest import DigestContext
from flockpilot.jobs.follow import FollowContext
from flockpilot.jobs.post import PostContext
from flockpilot.jobs.prune import PruneContext
from flockpilot.settings import Deployment, account_settings, load_deployment


def open_store(deployment: Deployment, account_id: str) -> store_module.Store:
    store_module.bind(deployment.table_name, deployment.region, deployment.dynamodb_endpoint)
    return store_module.Store(account_id)


def credentials(deployment: Deployment) -> XCredentials:
    return load_x_credentials(deployment.x_secret_id, deployment.secret_max_age_seconds)


def _x_factory(deployment: Deployment, creds: XCredentials, clock: Clock,
               remaining_seconds: Callable[[], float] | None) -> Callable[[CostMeter], XClient]:
    def x_client(meter: CostMeter) -> XClient:
        return XClient(
            creds, meter=meter, clock=clock, base_url=deployment.x_api_base_url,
            timeout=deployment.x_timeout_seconds, remaining_seconds=remaining_seconds,
        )

    return x_client


def follow_context(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> FollowContext:
    deployment = load_deployment(environ)
    creds = credentials(deployment)
    store = open_store(deployment, creds.user_id)
    the_clock = clock or SystemClock()
    return FollowContext(
        account_id=creds.user_id, settings=account_settings(environ, store.overrides()), store=store,
        ledger=store_module.FollowLedger(creds.user_id), clock=the_clock,
        x_client=_x_factory(deployment, creds, the_clock, remaining_seconds),
    )


def digest_context(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> DigestContext:
    from pathlib import Path

    from flockpilot.adapters.mail import send_email

    deployment = load_deployment(environ)
    creds = credentials(deployment)
    store = open_store(deployment, creds.user_id)
    settings = account_settings(environ, store.overrides())
    the_clock = clock or SystemClock()
    recipients = [r.strip() for r in (settings.digest_email or "").split(",") if r.strip()]

    def send(subject: str, html: str, text: str) -> str:
        return send_email(region=deployment.region, sender=deployment.sender_email or "", recipients=recipients,
                          subject=subject, html=html, text=text)

    return DigestContext(
        account_id=creds.user_id, settings=settings, store=store, ledger=store_module.FollowLedger(creds.user_id),
        inbox=store_module.Inbox(creds.user_id), clock=the_clock,
        x_client=_x_factory(deployment, creds, the_clock, remaining_seconds), send=send,
        sender=deployment.sender_email, outbox_dir=Path(deployment.outbox_dir) if deployment.outbox_dir else None,
        template=settings.digest_reply_template, invite=settings.digest_invite,
    )


def prune_context(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> PruneContext:
    deployment = load_deployment(environ)
    creds = credentials(deployment)
    store = open_store(deployment, creds.user_id)
    the_clock = clock or SystemClock()
    return PruneContext(
        account_id=creds.user_id, settings=account_settings(environ, store.overrides()), store=store,
        ledger=store_module.FollowLedger(creds.user_id), inbox=store_module.Inbox(creds.user_id), clock=the_clock,
        x_client=_x_factory(deployment, creds, the_clock, remaining_seconds),
        remaining_seconds=remaining_seconds or (lambda: float("inf")),
    )


def post_context(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> PostContext:
    deployment = load_deployment(environ)
    creds = credentials(deployment)
    store = open_store(deployment, creds.user_id)
    settings = account_settings(environ, store.overrides())
    the_clock = clock or SystemClock()
    return PostContext(
        account_id=creds.user_id, settings=settings, store=store, clock=the_clock,
        x_client=_x_factory(deployment, creds, the_clock, remaining_seconds),
    )
