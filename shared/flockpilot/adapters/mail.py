"""Mail through Amazon SES v2 (moto locally, via AWS_ENDPOINT_URL_SESV2)."""

from __future__ import annotations

from flockpilot.domain.errors import FlockpilotError, MailMaybeSent, TransientError


class MailError(FlockpilotError):
    """SES refused the message for a reason a retry will not fix (e.g. an unverified sender)."""


RETRYABLE_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
                             "InternalFailure", "LimitExceededException"})


def _header_safe(value: str) -> str:
    # No CR/LF (header injection) and a length mail servers accept.
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())[:200]


def send_email(*, region: str, sender: str, recipients: list[str], subject: str, html: str, text: str) -> str:
    """Send one message; return SES's message id."""
    from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

    try:
        from flockpilot.adapters.aws import client

        response = client("sesv2", region).send_email(
            FromEmailAddress=_header_safe(sender),
            Destination={"ToAddresses": [_header_safe(r) for r in recipients]},
            Content={"Simple": {
                "Subject": {"Data": _header_safe(subject), "Charset": "UTF-8"},
                "Body": {"Html": {"Data": html, "Charset": "UTF-8"}, "Text": {"Data": text, "Charset": "UTF-8"}},
            }},
        )
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in RETRYABLE_CODES:
            raise TransientError(f"SES is busy ({code}); a retry will send the digest") from None
        raise MailError(f"SES did not accept the digest: {exc}") from None
    except (EndpointConnectionError, ConnectTimeoutError) as exc:  # no connection: nothing reached SES
        raise TransientError(f"could not reach SES: {exc}") from None
    except BotoCoreError as exc:  # sent, then the answer was lost (read timeout, connection closed...)
        raise MailMaybeSent(f"SES's answer was lost ({exc}): it may have sent the digest") from None
    return str(response["MessageId"])
