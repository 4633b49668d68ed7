"""The X API adapter: tweepy.Client with timeouts, a redirectable origin, error mapping,
bounded retries and a cost meter on every call."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from flockpilot.adapters.clock import Clock
from flockpilot.adapters.secrets import XCredentials
from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import (
    CredentialsRevoked,
    DuplicateContent,
    NotFound,
    NotPermitted,
    OutcomeUnknown,
    RateLimited,
    TransientError,
    XError,
)

TWEEPY_ORIGIN = "https://api.twitter.com"  # hard-coded in tweepy 4.17
MAX_ATTEMPTS = 3
# What the follow filters read about a person; all in spec 2.167's user.fields enum.
USER_FIELDS = "created_at,description,protected,public_metrics,profile_image_url,verified,connection_status"
# Never start a retry unless this much of the Lambda's time would still be left after it.
SAFETY_MARGIN_SECONDS = 5.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostRef:
    id: str
    text: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class RateWindow:
    limit: int
    remaining: int
    reset_at: datetime


class _Origin(HTTPAdapter):
    """Sends tweepy's requests to `base_url` (sandbox, tests) and always with a timeout."""

    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.base_url = base_url
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base_url and request.url and request.url.startswith(TWEEPY_ORIGIN):
            request.url = self.base_url + request.url[len(TWEEPY_ORIGIN):]
        if not kwargs.get("timeout"):
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def _problem_detail(exc: Any) -> str:
    """X's own words for a failure (never the request, so never a credential)."""
    messages = [str(m) for m in getattr(exc, "api_messages", []) if m]
    response = getattr(exc, "response", None)
    if not messages and response is not None:
        try:
            body = response.json()
            messages = [str(body.get("detail") or body.get("title") or "")]
        except ValueError:
            messages = []
    status = getattr(response, "status_code", "?")
    return f"HTTP {status}: " + ("; ".join(m for m in messages if m) or "no detail")


def map_error(exc: Exception) -> XError:
    """Translate tweepy/requests failures into the domain's X errors."""
    import tweepy

    if isinstance(exc, tweepy.TooManyRequests):
        reset = exc.reset_time if isinstance(getattr(exc, "reset_time", None), int) else None
        reset_at = datetime.fromtimestamp(reset, UTC) if reset else None
        return RateLimited(_problem_detail(exc), reset_at)
    if isinstance(exc, tweepy.Unauthorized):
        return CredentialsRevoked(
            _problem_detail(exc) + " (the X credentials are invalid or were revoked)"
        )
    if isinstance(exc, tweepy.Forbidden):
        detail = _problem_detail(exc)
        if "duplicate content" in detail.lower():
            return DuplicateContent(detail)
        return NotPermitted(detail)
    if isinstance(exc, tweepy.NotFound):
        return NotFound(_problem_detail(exc))
    if isinstance(exc, tweepy.TwitterServerError):
        return TransientError(_problem_detail(exc))
    if isinstance(exc, requests.Timeout):
        return TransientError("X did not answer in time")
    if isinstance(exc, requests.ConnectionError):
        return TransientError("could not connect to X")
    if isinstance(exc, tweepy.HTTPException):
        return XError(_problem_detail(exc))
    return XError(f"{type(exc).__name__}: {exc}")


class XClient:
    """The calls Flockpilot makes to X, metered and with predictable failures."""

    def __init__(
        self,
        credentials: XCredentials,
        *,
        meter: CostMeter,
        clock: Clock,
        base_url: str | None = None,
        timeout: float = 10.0,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> None:
        import tweepy

        # tweepy, requests-oauthlib and oauthlib log request headers and signing inputs at
        # DEBUG (Authorization included): keep them quiet whatever the root level is.
        for name in ("tweepy", "requests_oauthlib", "oauthlib"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.user_id = credentials.user_id
        self.meter = meter
        self.clock = clock
        self.timeout = timeout
        self.remaining_seconds = remaining_seconds or (lambda: float("inf"))
        self.rate_windows: dict[str, RateWindow] = {}
        self._client = tweepy.Client(
            consumer_key=credentials.consumer_key,
            consumer_secret=credentials.consumer_secret,
            access_token=credentials.access_token,
            access_token_secret=credentials.access_token_secret,
            return_type=requests.Response,
            wait_on_rate_limit=False,
        )
        origin = _Origin(base_url, timeout)
        self._client.session.mount(TWEEPY_ORIGIN, origin)

    # --- plumbing ------------------------------------------------------------------------
    def _send(
        self, method: str, route: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> requests.Response:
        # tweepy's request() signs with OAuth 1.0a and raises its typed errors; parameter
        # names are the spec's own (post.fields, not the older tweet.fields).
        response: requests.Response = self._client.request(method, route, params=params, json=json, user_auth=True)
        return response

    def _note_rate(self, operation: str, response: requests.Response | None) -> None:
        if response is None:
            return
        headers = response.headers
        try:
            self.rate_windows[operation] = RateWindow(
                limit=int(headers["x-rate-limit-limit"]),
                remaining=int(headers["x-rate-limit-remaining"]),
                reset_at=datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), UTC),
            )
        except (KeyError, ValueError):
            pass

    def _call(
        self,
        operation: str,
        send: Callable[[], requests.Response],
        *,
        price_kind: str | None,
        max_units: int,
        units: Callable[[dict[str, Any]], int],
        repeatable: bool,
    ) -> dict[str, Any]:
        """One metered call with bounded retries. A write that cannot be repeated safely
        turns a timeout or 5xx into OutcomeUnknown instead of trying again."""
        if price_kind:
            self.meter.authorize(operation, price_kind, max_units)
        delay = 0.5
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = send()
            except Exception as exc:  # noqa: BLE001 - every failure is mapped below
                error = map_error(exc)
                self.meter.record(operation, None, 0)
                self._note_rate(operation, getattr(exc, "response", None))
                if not error.retryable:
                    raise error from None
                if not repeatable:
                    raise OutcomeUnknown(f"{operation}: {error}; X may have acted") from None
                budget_left = self.remaining_seconds() - delay - self.timeout - SAFETY_MARGIN_SECONDS
                if attempt == MAX_ATTEMPTS or budget_left < 0:
                    raise error from None
                logger.warning("x call retried", extra={"operation": operation, "attempt": attempt, "error": str(error)})
                self.clock.sleep(delay * (1 + random.random() / 2))
                delay *= 2
                continue
            body: dict[str, Any] = response.json() if response.content else {}
            self._note_rate(operation, response)
            self.meter.record(operation, price_kind, units(body))
            return body
        raise AssertionError("unreachable")

    # --- reads -------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        body = self._call(
            "users_me",
            lambda: self._send("GET", "/2/users/me", params={"user.fields": "public_metrics,username,name"}),
            price_kind="user_read",
            max_units=1,
            units=lambda b: 1 if b.get("data") else 0,
            repeatable=True,
        )
        return dict(body.get("data") or {})

    def own_posts_since(self, since: datetime, max_results: int = 20) -> list[PostRef]:
        """The account's own posts created since `since` (an owned read, newest first)."""
        body = self._call(
            "own_posts",
            lambda: self._send(
                "GET",
                f"/2/users/{self.user_id}/tweets",
                params={
                    "max_results": max(5, min(100, max_results)),
                    "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "post.fields": "created_at",
                },
            ),
            price_kind="owned_read",
            max_units=max(5, min(100, max_results)),
            units=lambda b: len(b.get("data") or []),
            repeatable=True,
        )
        return [
            PostRef(
                id=str(p["id"]),
                text=str(p.get("text", "")),
                created_at=datetime.fromisoformat(p["created_at"].replace("Z", "+00:00"))
                if p.get("created_at")
                else None,
            )
            for p in body.get("data") or []
        ]

    def _page(self, operation: str, route: str, params: dict[str, Any], price_kind: str, max_results: int) -> dict[str, Any]:
        return self._call(
            operation,
            lambda: self._send("GET", route, params={k: v for k, v in params.items() if v is not None}),
            price_kind=price_kind,
            max_units=max_results,
            units=lambda b: len(b.get("data") or []),
            repeatable=True,
        )

    def followers_page(self, user_id: str, *, max_results: int, token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of `user_id`'s followers, newest first, with the fields the filters need.
        Your own list is an owned read; anyone else's is a user read."""
        own = user_id == self.user_id
        body = self._page(
            "own_followers" if own else "followers",
            f"/2/users/{user_id}/followers",
            {"max_results": max_results, "pagination_token": token, "user.fields": USER_FIELDS,
             "expansions": None if own else "most_recent_post_id", "post.fields": None if own else "lang"},
            "owned_read" if own else "user_read",
            max_results,
        )
        users = list(body.get("data") or [])
        # Each user's latest post comes back under includes: keep its language on the user.
        langs = {p["id"]: p.get("lang") for p in (body.get("includes") or {}).get("posts") or []}
        for user in users:
            if user.get("most_recent_post_id") in langs:
                user["most_recent_post_lang"] = langs[user["most_recent_post_id"]]
        return users, (body.get("meta") or {}).get("next_token")

    def own_following_page(self, *, max_results: int, token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        body = self._page(
            "own_following", f"/2/users/{self.user_id}/following",
            {"max_results": max_results, "pagination_token": token, "user.fields": "username"},
            "owned_read", max_results,
        )
        return list(body.get("data") or []), (body.get("meta") or {}).get("next_token")

    def mentions_authors(self, *, since_id: str | None, max_results: int) -> tuple[list[dict[str, Any]], str | None]:
        """Authors of posts that mention you (an owned read), newest first, and the newest id."""
        body = self._page(
            "own_mentions", f"/2/users/{self.user_id}/mentions",
            {"max_results": max(5, min(100, max_results)), "since_id": since_id, "expansions": "author_id",
             "user.fields": USER_FIELDS},
            "owned_read", max(5, min(100, max_results)),
        )
        users = list((body.get("includes") or {}).get("users") or [])
        return users, (body.get("meta") or {}).get("newest_id")

    def user_by_username(self, username: str) -> dict[str, Any]:
        body = self._call(
            "user_by_username",
            lambda: self._send("GET", f"/2/users/by/username/{username}", params={"user.fields": USER_FIELDS}),
            price_kind="user_read", max_units=1, units=lambda b: 1 if b.get("data") else 0, repeatable=True,
        )
        return dict(body.get("data") or {})

    def lookup_users(self, ids: list[str], *, latest_post: bool = False) -> list[dict[str, Any]]:
        """Up to 100 users with connection_status relative to you (user read per user)."""
        body = self._page(
            "users_lookup", "/2/users",
            {"ids": ",".join(ids[:100]), "user.fields": "connection_status,public_metrics,username",
             "expansions": "most_recent_post_id" if latest_post else None},
            "user_read", len(ids[:100]),
        )
        return list(body.get("data") or [])

    def dm_events_page(self, *, max_results: int, token: str | None = None) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], str | None]:
        """One page of your DM events, newest first (X keeps 30 days), senders expanded."""
        body = self._page(
            "dm_events", "/2/dm_events",
            {"max_results": max(1, min(100, max_results)), "pagination_token": token, "event_types": "MessageCreate",
             "dm_event.fields": "created_at,dm_conversation_id,text", "expansions": "sender_id",
             "user.fields": "description,public_metrics,connection_status"},
            "dm_event_read", max(1, min(100, max_results)),
        )
        users = {u["id"]: u for u in (body.get("includes") or {}).get("users") or []}
        return list(body.get("data") or []), users, (body.get("meta") or {}).get("next_token")

    # --- writes ------------------------------------------------------------------------
    def follow(self, user_id: str) -> None:
        """Follow through the API (not permitted on self-serve tiers since April 2026)."""
        self._call(
            "follow",
            lambda: self._send("POST", f"/2/users/{self.user_id}/following", json={"target_user_id": user_id}),
            price_kind="interaction_create", max_units=1, units=lambda b: 1, repeatable=True,
        )

    def unfollow(self, user_id: str) -> None:
        self._call(
            "unfollow",
            lambda: self._send("DELETE", f"/2/users/{self.user_id}/following/{user_id}"),
            price_kind="interaction_delete", max_units=1, units=lambda b: 1, repeatable=True,
        )

    def create_post(self, text: str, *, has_url: bool) -> PostRef:
        body = self._call(
            "create_post",
            lambda: self._send("POST", "/2/tweets", json={"text": text}),
            price_kind="post_create_url" if has_url else "post_create",
            max_units=1,
            units=lambda b: 1,
            repeatable=False,
        )
        data = body.get("data") or {}
        return PostRef(id=str(data["id"]), text=str(data.get("text", text)))

    def repost(self, post_id: str) -> bool:
        """Repost `post_id`; repeating it is harmless (X answers retweeted: true)."""
        body = self._call(
            "repost",
            lambda: self._send("POST", f"/2/users/{self.user_id}/retweets", json={"tweet_id": post_id}),
            price_kind="interaction_create",
            max_units=1,
            units=lambda b: 1,
            repeatable=True,
        )
        return bool((body.get("data") or {}).get("retweeted"))
