"""Mail through Amazon SES v2 (moto locally, via AWS_ENDPOINT_URL_SESV2)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flockpilot.domain.errors import FlockpilotError


class MailError(FlockpilotError):
    pass


@cache
def _client(region: str) -> Any:
    import boto3

    return boto3.client("sesv2", region_name=region)


def _header_safe(value: str) -> str:
    # No CR/LF (header injection) and a length mail servers accept.
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())[:200]


def send_email(*, region: str, sender: str, recipients: list[str], subject: str, html: str, text: str) -> str:
    """Send one message; return SES's message id."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = _client(region).send_email(
            FromEmailAddress=_header_safe(sender),
            Destination={"ToAddresses": [_header_safe(r) for r in recipients]},
            Content={"Simple": {
                "Subject": {"Data": _header_safe(subject), "Charset": "UTF-8"},
                "Body": {"Html": {"Data": html, "Charset": "UTF-8"}, "Text": {"Data": text, "Charset": "UTF-8"}},
            }},
        )
    except (BotoCoreError, ClientError) as exc:
        raise MailError(f"SES did not accept the digest: {exc}") from None
    return str(response["MessageId"])
