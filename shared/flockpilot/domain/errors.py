"""Domain errors. Adapters translate library and HTTP failures into these."""

from __future__ import annotations

from datetime import datetime


class FlockpilotError(Exception):
    """Base of every error Flockpilot raises on purpose."""


class InvalidSetting(FlockpilotError):
    """A setting has a value outside what it accepts; the message names it."""


class ContentRejected(FlockpilotError):
    """A content item cannot be posted as it stands (too long, empty, bad repost target)."""

    def __init__(self, message: str, weighted_length: int | None = None) -> None:
        super().__init__(message)
        self.weighted_length = weighted_length


class NotSent(FlockpilotError):
    """A call to X was stopped before it was sent: X did nothing and billed nothing. The run
    stops its calls there, gives back what it had taken for the call, and says why."""


class BudgetExhausted(NotSent):
    """The call would take the run past its dollar budget."""


class OutOfTime(NotSent):
    """Too little of the function's time is left to start another X call and record what it
    did (X's timeout plus a margin): the call was not sent, so X did nothing and billed
    nothing. The run stops there and says so; the next run goes on."""


class XError(FlockpilotError):
    """Base of errors coming from the X API."""

    retryable = False


class RateLimited(XError):
    """429, or an endpoint still waiting for the reset X gave: the next run tries again."""

    def __init__(self, message: str, reset_at: datetime | None, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at
        self.endpoint = endpoint


class CredentialsRevoked(XError):
    """401: the tokens are wrong or were revoked; nothing works until they are replaced."""


class NotPermitted(XError):
    """403: this app, tier or account may not do this (X's detail is kept)."""


class DuplicateContent(NotPermitted):
    """403: X refuses a post whose text it has seen from this account recently."""


class NotFound(XError):
    pass


class MailMaybeSent(FlockpilotError):
    """The request reached the mail service and its answer was lost (a read timeout, a dropped
    connection): the email may have gone out, and sending it again could mail it twice."""


class TransientError(XError):
    """5xx, timeout or connection failure on a call that is safe to repeat."""

    retryable = True


class OutcomeUnknown(XError):
    """A non-repeatable write (creating a post) failed in a way that may have succeeded."""
