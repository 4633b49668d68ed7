"""Composition root: builds a job's context from the environment, inside the handler.

Nothing here runs at import. Settings are validated on every invocation; the secret is
cached by Powertools for `SECRET_MAX_AGE_SECONDS`; the store binding is reused while the
table and endpoint stay the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flockpilot.adapters import store as store_module
from flockpilot.adapters.clock import Clock, SystemClock
from flockpilot.adapters.secrets import XCredentials, load_x_credentials
from flockpilot.adapters.x import XClient
from flockpilot.domain.cost import CostMeter
from flockpilot.jobs.digest import DigestContext
from flockpilot.jobs.follow import FollowContext
from flockpilot.jobs.post import PostContext
from flockpilot.jobs.prune import PruneContext
from flockpilot.settings import AccountSettings, Deployment, account_settings, load_deployment


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


@dataclass(frozen=True)
class _Parts:
    deployment: Deployment
    creds: XCredentials
    store: store_module.Store
    settings: AccountSettings
    clock: Clock
    x_client: Callable[[CostMeter], XClient]


def _parts(environ: Mapping[str, str] | None, clock: Clock | None,
           remaining_seconds: Callable[[], float] | None) -> _Parts:
    """What every job needs: validated settings, the secret, the store and an X factory."""
    deployment = load_deployment(environ)
    creds = credentials(deployment)
    store = open_store(deployment, creds.user_id)
    the_clock = clock or SystemClock()
    return _Parts(deployment, creds, store, account_settings(environ, store.overrides()), the_clock,
                  _x_factory(deployment, creds, the_clock, remaining_seconds))


def follow_context(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> FollowContext:
    p = _parts(environ, clock, remaining_seconds)
    return FollowContext(account_id=p.creds.user_id, settings=p.settings, store=p.store,
                         ledger=store_module.FollowLedger(p.creds.user_id), clock=p.clock, x_client=p.x_client)


def digest_context(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> DigestContext:
    from pathlib import Path

    from flockpilot.adapters.mail import send_email

    p = _parts(environ, clock, remaining_seconds)
    recipients = [r.strip() for r in (p.settings.digest_email or "").split(",") if r.strip()]

    def send(subject: str, html: str, text: str) -> str:
        return send_email(region=p.deployment.region, sender=p.deployment.sender_email or "", recipients=recipients,
                          subject=subject, html=html, text=text)

    outbox = p.deployment.outbox_dir
    return DigestContext(
        account_id=p.creds.user_id, settings=p.settings, store=p.store, ledger=store_module.FollowLedger(p.creds.user_id),
        inbox=store_module.Inbox(p.creds.user_id), clock=p.clock, x_client=p.x_client, send=send,
        sender=p.deployment.sender_email, outbox_dir=Path(outbox) if outbox else None,
        template=p.settings.digest_reply_template, invite=p.settings.digest_invite,
    )


def prune_context(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> PruneContext:
    p = _parts(environ, clock, remaining_seconds)
    return PruneContext(
        account_id=p.creds.user_id, settings=p.settings, store=p.store, ledger=store_module.FollowLedger(p.creds.user_id),
        inbox=store_module.Inbox(p.creds.user_id), clock=p.clock, x_client=p.x_client,
        remaining_seconds=remaining_seconds or (lambda: float("inf")),
    )


def post_context(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> PostContext:
    p = _parts(environ, clock, remaining_seconds)
    return PostContext(account_id=p.creds.user_id, settings=p.settings, store=p.store, clock=p.clock, x_client=p.x_client)
