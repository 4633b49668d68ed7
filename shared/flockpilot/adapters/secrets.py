"""X credentials, read from Secrets Manager at run time through Powertools Parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flockpilot.domain.errors import InvalidSetting

REQUIRED_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


@dataclass(frozen=True)
class XCredentials:
    """OAuth 1.0a user context. repr() shows no secret, so logging one leaks nothing."""

    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)

    @property
    def user_id(self) -> str:
        """The account's X user id: an OAuth 1.0a access token starts with it ("<id>-...")."""
        prefix = self.access_token.partition("-")[0]
        if not prefix.isdigit():
            raise InvalidSetting(
                "the access_token in the X secret does not start with the account's user id; "
                "use the Access Token issued for your own account in the developer portal"
            )
        return prefix


@cache
def _provider() -> Any:
    """Powertools' Secrets Manager provider (it caches values) on the process's one session."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from flockpilot.adapters.aws import boto3_session

    return SecretsProvider(boto3_session=boto3_session())


def load_x_credentials(secret_id: str, max_age_seconds: int) -> XCredentials:
    """Fetch and check the secret (cached for `max_age_seconds` by Powertools)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import (
        GetParameterError,
        TransformParameterError,
    )

    try:
        value = _provider().get(secret_id, transform="json", max_age=max_age_seconds)
    except TransformParameterError:
        raise InvalidSetting(f"secret {secret_id} is not JSON; README shows its shape") from None
    except GetParameterError as exc:
        # The cause names the secret and the AWS error code; it never holds the secret value.
        raise InvalidSetting(f"cannot read secret {secret_id}: {exc.__cause__ or exc}") from None
    if not isinstance(value, dict):
        raise InvalidSetting(f"secret {secret_id} must be a JSON object with {', '.join(REQUIRED_KEYS)}")
    missing = [k for k in REQUIRED_KEYS if not str(value.get(k) or "").strip()]
    if missing:
        raise InvalidSetting(f"secret {secret_id} lacks {', '.join(missing)}")
    return XCredentials(**{k: str(value[k]).strip() for k in REQUIRED_KEYS})


def forget_cached_secrets() -> None:
    """Drop cached secret values (tests; a rotated secret is picked up after max_age anyway)."""
    if _provider.cache_info().currsize:
        _provider().clear_cache()
