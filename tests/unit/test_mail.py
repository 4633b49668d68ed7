"""What the SES adapter says when a send fails: whether the digest may have gone out."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from flockpilot.adapters import aws, mail
from flockpilot.domain.errors import MailMaybeSent, TransientError

URL = "https://email.us-east-1.amazonaws.com"


class FailingSes:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def send_email(self, **_: Any) -> dict[str, str]:
        self.calls += 1
        raise self.exc


def send(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> FailingSes:
    ses = FailingSes(exc)
    monkeypatch.setattr(aws, "client", lambda service, region: ses)
    mail.send_email(region="us-east-1", sender="a@example.com", recipients=["b@example.com"], subject="s", html="h", text="t")
    return ses


@pytest.mark.parametrize("exc", [ReadTimeoutError(endpoint_url=URL), ConnectionClosedError(endpoint_url=URL)])
def test_a_lost_answer_says_the_email_may_have_gone(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    """The request reached SES: a retry (Lambda's) could mail the digest twice."""
    with pytest.raises(MailMaybeSent, match="may have sent"):
        send(monkeypatch, exc)


@pytest.mark.parametrize("exc", [EndpointConnectionError(endpoint_url=URL), ConnectTimeoutError(endpoint_url=URL),
                                 ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")])
def test_nothing_reached_ses_or_it_said_no_so_a_retry_may_send(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    with pytest.raises(TransientError) as caught:
        send(monkeypatch, exc)
    assert not isinstance(caught.value, MailMaybeSent)


def test_botocore_itself_never_sends_the_email_twice() -> None:
    """botocore's standard retry would resend SendEmail after a read timeout: one attempt."""
    aws.client.cache_clear()
    try:
        ses = aws.client("sesv2", "us-east-1")
        assert ses.meta.config.retries["total_max_attempts"] == 1
        assert aws.client("dynamodb", "us-east-1").meta.config.retries["total_max_attempts"] == 3
    finally:
        aws.client.cache_clear()
