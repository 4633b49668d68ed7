"""X credentials, read from Secrets Manager at run time (botocore, on the shared session)
and kept for `max_age_seconds`, so warm invocations do not read the secret every time."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from flockpilot.domain.errors import InvalidSetting, TransientError

REQUIRED_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
_cache: dict[str, tuple[float, XCredentials]] = {}


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


def load_x_credentials(secret_id: str, max_age_seconds: int, region: str) -> XCredentials:
    """Fetch and check the secret (kept for `max_age_seconds`). What goes wrong is named; the
    secret's value never appears in a message (nor, through logsafety, in any log)."""
    hit = _cache.get(secret_id)
    if hit is not None and time.monotonic() - hit[0] < max_age_seconds:
        return hit[1]
    from botocore.exceptions import BotoCoreError, ClientError

    from flockpilot.adapters.aws import client

    try:
        raw = client("secretsmanager", region).get_secret_value(SecretId=secret_id).get("SecretString")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in ("ThrottlingException", "InternalServiceError"):
            raise TransientError(f"Secrets Manager is busy ({code}); a retry will read secret {secret_id}") from None
        if code == "ResourceNotFoundException" and "secret value" in str(error.get("Message", "")):
            raise InvalidSetting(f"the X credentials secret {secret_id} is empty: put your app's keys and your "
                                 "account's tokens in it (README, Deploy step 3)") from None
        raise InvalidSetting(f"cannot read secret {secret_id}: {code}: {error.get('Message', '')}") from None
    except BotoCoreError as exc:
        raise TransientError(f"cannot reach Secrets Manager for secret {secret_id}: {type(exc).__name__}") from None
    try:
        value = json.loads(raw or "")
    except ValueError:
        raise InvalidSetting(f"secret {secret_id} is not JSON; README shows its shape") from None
    if not isinstance(value, dict):
        raise InvalidSetting(f"secret {secret_id} must be a JSON object with {', '.join(REQUIRED_KEYS)}")
    missing = [k for k in REQUIRED_KEYS if not str(value.get(k) or "").strip()]
    if missing:
        raise InvalidSetting(f"secret {secret_id} lacks {', '.join(missing)}")
    credentials = XCredentials(**{k: str(value[k]).strip() for k in REQUIRED_KEYS})
    _cache[secret_id] = (time.monotonic(), credentials)
    return credentials


def forget_cached_secrets() -> None:
    """Drop kept secret values (tests; a replaced secret is read again after max_age anyway)."""
    _cache.clear()
