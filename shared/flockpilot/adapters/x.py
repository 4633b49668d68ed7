"""The X API adapter: X's JSON in, domain values out; every call metered, gated by X's
rate-limit reset across runs, failures mapped to domain errors, bounded retries for reads.

Two layers: a Transport sends one signed request (OAuth 1.0a over HTTPS in production,
pointed at X_API_BASE_URL when set; tests use the sandbox in-process), and XClient turns
the port's calls into requests and the answers into domain values.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from flockpilot.domain.cost import CostMeter
from flockpilot.domain.errors import (
    CredentialsRevoked,
    DuplicateContent,
    NotFound,
    NotPermitted,
    OutcomeUnknown,
    OutOfTime,
    RateLimited,
    TransientError,
    XError,
)
from flockpilot.domain.x import (
    DEFAULT_AVATAR_MARK,
    DmEvent,
    DmPage,
    Page,
    PostMetrics,
    PostRef,
    RateWindow,
    XUser,
    snowflake_time,
)

if TYPE_CHECKING:
    from flockpilot.ports import Clock

X_ORIGIN = "https://api.x.com"
MAX_ATTEMPTS = 3
# What the follow filters read about a person; all in spec 2.167's user.fields enum.
USER_FIELDS = "created_at,description,protected,public_metrics,profile_image_url,verified,connection_status"
# Never start a call (or a retry) unless this much of the Lambda's time would still be left
# after it: enough to record what it did, and the run's spend, before Lambda stops the function.
SAFETY_MARGIN_SECONDS = 5.0
DEFAULT_GATE_SECONDS = 60  # a 429 without x-rate-limit-reset: wait a minute

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpResult:
    """An HTTP answer: status, headers (lower-case names) and the JSON body."""

    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class TransportError(Exception):
    """No answer. `sent`: the request may have reached X (a write may have happened)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class Transport(Protocol):
    def send(self, method: str, path: str, *, params: dict[str, Any] | None, json: Any) -> HttpResult: ...


class SignedTransport:
    """HTTPS to X with OAuth 1.0a user context: each request is signed (adapters/oauth1.py,
    HMAC-SHA1), urllib3 sends it (already loaded by botocore: no extra import at cold start)
    within `timeout` in all, connecting included (XClient's time-limit check counts on it), with
    no automatic retries; `base_url` redirects it (the sandbox). A JSON body is not part of the
    OAuth signature, as OAuth 1.0a specifies."""

    def __init__(self, *, consumer_key: str, consumer_secret: str, access_token: str, access_token_secret: str,
                 base_url: str | None, timeout: float) -> None:
        from functools import partial

        import urllib3

        from flockpilot.adapters.oauth1 import authorization
        from flockpilot.logsafety import install_log_redaction

        install_log_redaction()  # a library logging a request at DEBUG never shows the tokens
        self._sign = partial(authorization, consumer_key=consumer_key, consumer_secret=consumer_secret, token=access_token,
                             token_secret=access_token_secret)
        self._pool = urllib3.PoolManager(num_pools=2, maxsize=4, retries=False,
                                         timeout=urllib3.Timeout(total=timeout, connect=min(timeout, 5.0)))
        self._origin = (base_url or X_ORIGIN).rstrip("/")

    def send(self, method: str, path: str, *, params: dict[str, Any] | None, json: Any) -> HttpResult:
        import json as json_module
        from urllib.parse import quote, urlencode

        import urllib3

        query = [(str(k), str(v)) for k, v in (params or {}).items()]
        url = self._origin + path
        headers = {"Authorization": self._sign(method, url, query)}
        if json is not None:
            headers["Content-Type"] = "application/json"
        if query:
            url += "?" + urlencode(query, quote_via=quote)  # RFC 3986, as signed
        body = json_module.dumps(json).encode() if json is not None else None
        try:
            response = self._pool.request(method, url, body=body, headers=headers, preload_content=True)
        except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.NewConnectionError):
            raise TransportError("could not connect to X", sent=False) from None
        except urllib3.exceptions.TimeoutError:
            raise TransportError("X did not answer in time", sent=True) from None
        except urllib3.exceptions.HTTPError as exc:
            raise TransportError(f"the connection to X broke ({type(exc).__name__})", sent=True) from None
        try:
            parsed = json_module.loads(response.data) if response.data else {}
        except ValueError:
            parsed = {"detail": response.data[:300].decode(errors="replace")}
        return HttpResult(response.status, {k.lower(): v for k, v in response.headers.items()},
                          parsed if isinstance(parsed, dict) else {})


def _detail(result: HttpResult) -> str:
    """X's own words for a failure (never the request, so never a credential)."""
    body = result.body
    messages = [str(body.get("detail") or body.get("title") or "")]
    messages += [str(e.get("message") or e.get("detail") or "") for e in body.get("errors") or [] if isinstance(e, dict)]
    return f"HTTP {result.status}: " + ("; ".join(m for m in messages if m) or "no detail")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def parse_user(data: dict[str, Any], latest_posts: dict[str, dict[str, Any]] | None = None) -> XUser:
    """X's user object as an XUser; the latest post (an expansion) dates their activity."""
    metrics = data.get("public_metrics") or {}
    latest_id = data.get("most_recent_post_id")
    latest = (latest_posts or {}).get(latest_id) if latest_id else None
    connection = data.get("connection_status")
    return XUser(
        id=str(data["id"]), username=str(data.get("username", "")), name=str(data.get("name", "")),
        description=str(data.get("description", "")), protected=bool(data.get("protected", False)),
        default_avatar=DEFAULT_AVATAR_MARK in str(data.get("profile_image_url", DEFAULT_AVATAR_MARK)),
        followers=int(metrics.get("followers_count", 0)), following=int(metrics.get("following_count", 0)),
        posts=int(metrics.get("post_count", metrics.get("tweet_count", 0))), created_at=_time(data.get("created_at")),
        last_post_at=snowflake_time(latest_id) if latest_id else None,
        last_post_lang=latest.get("lang") if latest else None,
        connection=tuple(str(c) for c in connection) if isinstance(connection, list) else None,
    )


def parse_metrics(data: dict[str, Any]) -> PostMetrics | None:
    """A post's figures from the spec's three metric objects: `public_metrics` (anyone;
    `repost_count`), `non_public_metrics` and `organic_metrics` (your own posts in user
    context; organic says `retweet_count`). The private figures win where both give one."""
    public = data.get("public_metrics") or {}
    private = data.get("non_public_metrics") or {}
    organic = data.get("organic_metrics") or {}
    if not public and not private and not organic:
        return None

    def figure(*names: str) -> int | None:
        for source in (private, organic, public):
            for name in names:
                if source.get(name) is not None:
                    return int(source[name])
        return None

    return PostMetrics(
        likes=figure("like_count") or 0, reposts=figure("repost_count", "retweet_count") or 0,
        replies=figure("reply_count") or 0, quotes=figure("quote_count") or 0,
        bookmarks=figure("bookmark_count") or 0,
        impressions=figure("impression_count"), link_clicks=figure("url_link_clicks"),
        profile_clicks=figure("user_profile_clicks"),
    )


def parse_post(data: dict[str, Any]) -> PostRef:
    reply_to = next((str(r["id"]) for r in data.get("referenced_posts") or [] if r.get("type") == "replied_to"), None)
    return PostRef(id=str(data["id"]), text=str(data.get("text", "")), created_at=_time(data.get("created_at")),
                   reply_to=reply_to, metrics=parse_metrics(data))


@dataclass
class XClient:
    """The XApi port over a Transport: metered, gated, mapped, retried where safe."""

    transport: Transport
    owner_id: str
    meter: CostMeter
    clock: Clock
    timeout: float = 10.0
    remaining_seconds: Callable[[], float] = lambda: float("inf")
    gates: dict[str, datetime] = field(default_factory=dict)  # endpoint -> blocked until (X's reset)
    on_gate: Callable[[str, datetime], None] = lambda endpoint, until: None
    rate_windows: dict[str, RateWindow] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return self.owner_id

    def rate_window(self, operation: str) -> RateWindow | None:
        return self.rate_windows.get(operation)

    # --- plumbing ------------------------------------------------------------------------
    def _note_rate(self, operation: str, headers: dict[str, str]) -> None:
        try:
            self.rate_windows[operation] = RateWindow(
                limit=int(headers["x-rate-limit-limit"]), remaining=int(headers["x-rate-limit-remaining"]),
                reset_at=datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), UTC))
        except (KeyError, ValueError):
            pass

    def _rate_limited(self, operation: str, endpoint: str, result: HttpResult) -> RateLimited:
        try:
            reset_at = datetime.fromtimestamp(int(result.headers["x-rate-limit-reset"]), UTC)
        except (KeyError, ValueError):
            reset_at = self.clock.now() + timedelta(seconds=DEFAULT_GATE_SECONDS)
        self.gates[endpoint] = reset_at
        self.on_gate(endpoint, reset_at)
        return RateLimited(f"{operation}: {_detail(result)}; X's limit resets {reset_at:%H:%M:%S} UTC", reset_at, endpoint)

    def _error(self, operation: str, endpoint: str, result: HttpResult) -> XError:
        status, detail = result.status, _detail(result)
        if status == 429:
            return self._rate_limited(operation, endpoint, result)
        if status == 401:
            return CredentialsRevoked(detail + " (the X credentials are invalid or were revoked)")
        if status == 403:
            return DuplicateContent(detail) if "duplicate content" in detail.lower() else NotPermitted(detail)
        if status == 404:
            return NotFound(detail)
        if status >= 500:
            return TransientError(detail)
        return XError(detail)

    def _call(self, operation: str, endpoint: str, method: str, path: str, *, params: dict[str, Any] | None = None,
              json: Any = None, price_kind: str | None, max_units: int, units: Callable[[dict[str, Any]], int],
              write: bool = False) -> dict[str, Any]:
        """One metered call. Reads retry a few times; a write whose request may have reached X
        turns a timeout, a broken connection or a 5xx into OutcomeUnknown instead. A read whose
        answer was lost after it was sent is charged as if X billed it in full (`unconfirmed`),
        and each retry must fit the money left after that. No call
        starts so near the function's time limit that Lambda could stop it mid-call
        (OutOfTime: not sent, so nothing done or billed)."""
        until = self.gates.get(endpoint)
        if until is not None and until > self.clock.now():
            raise RateLimited(f"{operation}: waiting for X's rate limit to reset at {until:%H:%M:%S} UTC", until, endpoint)
        self._ensure_time(operation)
        if price_kind:
            self.meter.authorize(operation, price_kind, max_units)
        query = {k: v for k, v in (params or {}).items() if v is not None} or None
        delay = 0.5
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                result = self.transport.send(method, path, params=query, json=json)
            except TransportError as exc:
                if write and exc.sent:
                    # X may have acted, and billed: charged at its price (an upper bound, as
                    # every price here), so the budget checks never count it as free.
                    self.meter.record_unknown(operation, price_kind, max_units)
                    raise OutcomeUnknown(f"{operation}: {exc}; X may have acted") from None
                if exc.sent:  # a read whose answer was lost: X may have billed what it sent, so it is charged so
                    self.meter.record_unknown(operation, price_kind, max_units)
                else:
                    self.meter.record(operation, None, 0)
                error: XError = TransientError(str(exc))
            else:
                self._note_rate(operation, result.headers)
                if 200 <= result.status < 300:
                    self.meter.record(operation, price_kind, units(result.body))
                    return result.body
                error = self._error(operation, endpoint, result)
                if write and isinstance(error, TransientError):  # a 5xx: X may have acted before failing
                    self.meter.record_unknown(operation, price_kind, max_units)
                    raise OutcomeUnknown(f"{operation}: {error}; X may have acted") from None
                self.meter.record(operation, None, 0)
            if not error.retryable or write:
                raise error
            # The back-off is drawn first: a retry is tried only if the very sleep it takes, X's
            # timeout and the margin fit; after the sleep the deadline is checked again (a
            # sleep can last longer than asked), so no retry is ever sent into the margin.
            pause = delay * (1 + random.random() / 2)
            if attempt == MAX_ATTEMPTS or self.remaining_seconds() - pause - self.timeout < SAFETY_MARGIN_SECONDS:
                raise error
            logger.warning("x call retried", extra={"operation": operation, "attempt": attempt, "error": str(error)})
            self.clock.sleep(pause)
            delay *= 2
            self._ensure_time(operation, after=error)
            if price_kind:  # the retry must fit what is left, a lost answer's charge taken off
                self.meter.authorize(operation, price_kind, max_units)
        raise AssertionError("unreachable")

    def _ensure_time(self, operation: str, *, after: XError | None = None) -> None:
        """OutOfTime (not sent) unless X's timeout plus the margin fit before the function's
        time limit: a kill mid-call would lose what it did and the run's spend."""
        left = self.remaining_seconds()
        if left - self.timeout < SAFETY_MARGIN_SECONDS:
            retry = f" (its retry after {after})" if after is not None else ""
            raise OutOfTime(f"{operation}{retry} not sent: the function's time limit is {max(left, 0.0):.1f} s away, too "
                            f"near for X's timeout ({self.timeout:g} s) plus {SAFETY_MARGIN_SECONDS:g} s to record the result")

    def _page_of_users(self, operation: str, endpoint: str, path: str, params: dict[str, Any], price_kind: str,
                       max_results: int) -> Page[XUser]:
        body = self._call(operation, endpoint, "GET", path, params=params, price_kind=price_kind, max_units=max_results,
                          units=lambda b: len(b.get("data") or []))
        posts = {p["id"]: p for p in (body.get("includes") or {}).get("posts") or []}
        return Page([parse_user(u, posts) for u in body.get("data") or []], (body.get("meta") or {}).get("next_token"))

    # --- reads -------------------------------------------------------------------------
    def me(self) -> XUser:
        body = self._call("users_me", "GET /2/users/me", "GET", "/2/users/me",
                          params={"user.fields": "public_metrics,username,name"}, price_kind="user_read", max_units=1,
                          units=lambda b: 1 if b.get("data") else 0)
        return parse_user(dict(body["data"]))

    def own_posts(self, *, since: datetime, max_results: int = 100, token: str | None = None,
                  metrics: bool = False, originals_only: bool = True) -> Page[PostRef]:
        """Your own posts created since `since`, newest first (an owned read); by default
        without replies and reposts."""
        size = max(5, min(100, max_results))
        fields = "created_at" + (",public_metrics,non_public_metrics,organic_metrics" if metrics else "")
        body = self._call("own_posts", "GET /2/users/:id/tweets", "GET", f"/2/users/{self.owner_id}/tweets",
                          params={"max_results": size, "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                  "post.fields": fields, "pagination_token": token,
                                  "exclude": "replies,retweets" if originals_only else None},
                          price_kind="owned_read", max_units=size, units=lambda b: len(b.get("data") or []))
        return Page([parse_post(p) for p in body.get("data") or []], (body.get("meta") or {}).get("next_token"))

    def followers_page(self, user_id: str, *, max_results: int, token: str | None = None) -> Page[XUser]:
        """One page of `user_id`'s followers, newest first. Yours is an owned read; anyone
        else's a user read, with each follower's latest post (its time and language)."""
        own = user_id == self.owner_id
        return self._page_of_users(
            "own_followers" if own else "followers", "GET /2/users/:id/followers", f"/2/users/{user_id}/followers",
            {"max_results": max_results, "pagination_token": token, "user.fields": "username" if own else USER_FIELDS,
             "expansions": None if own else "most_recent_post_id", "post.fields": None if own else "lang"},
            "owned_read" if own else "user_read", max_results)

    def own_following_page(self, *, max_results: int, token: str | None = None) -> Page[XUser]:
        return self._page_of_users("own_following", "GET /2/users/:id/following", f"/2/users/{self.owner_id}/following",
                                   {"max_results": max_results, "pagination_token": token, "user.fields": "username"},
                                   "owned_read", max_results)

    def mentions(self, *, since_id: str | None, max_results: int) -> tuple[list[XUser], str | None]:
        """Authors of posts that mention you (an owned read), newest first, and the newest id."""
        size = max(5, min(100, max_results))
        body = self._call("own_mentions", "GET /2/users/:id/mentions", "GET", f"/2/users/{self.owner_id}/mentions",
                          params={"max_results": size, "since_id": since_id, "expansions": "author_id", "user.fields": USER_FIELDS},
                          price_kind="owned_read", max_units=size, units=lambda b: len(b.get("data") or []))
        newest = (body.get("meta") or {}).get("newest_id")
        posts = body.get("data") or []
        # The author just posted: that mention dates their activity.
        latest = {str(p.get("author_id")): str(p["id"]) for p in reversed(posts) if p.get("author_id")}
        users = []
        for u in (body.get("includes") or {}).get("users") or []:
            user = parse_user(u)
            if user.last_post_at is None and user.id in latest:
                user = replace(user, last_post_at=snowflake_time(latest[user.id]))
            users.append(user)
        return users, newest

    def user_by_username(self, username: str) -> XUser:
        body = self._call("user_by_username", "GET /2/users/by/username/:username", "GET", f"/2/users/by/username/{username}",
                          params={"user.fields": USER_FIELDS}, price_kind="user_read", max_units=1,
                          units=lambda b: 1 if b.get("data") else 0)
        return parse_user(dict(body["data"]))

    def lookup_users(self, ids: Sequence[str], *, latest_post: bool = False) -> list[XUser]:
        """Up to 100 users with connection_status relative to you (user read per user).
        Anyone X does not return (suspended, deleted) is simply absent."""
        batch = list(ids)[:100]
        page = self._page_of_users(
            "users_lookup", "GET /2/users", "/2/users",
            {"ids": ",".join(batch), "user.fields": "connection_status,public_metrics,username",
             "expansions": "most_recent_post_id" if latest_post else None}, "user_read", len(batch))
        return page.items

    def dm_events_page(self, *, max_results: int, token: str | None = None) -> DmPage:
        """One page of your DM events, newest first (X keeps 30 days), senders expanded: the
        messages of one-to-one conversations ("<id>-<id>") and of groups (one id) alike."""
        size = max(1, min(100, max_results))
        body = self._call("dm_events", "GET /2/dm_events", "GET", "/2/dm_events",
                          params={"max_results": size, "pagination_token": token, "event_types": "MessageCreate",
                                  "dm_event.fields": "created_at,dm_conversation_id,text", "expansions": "sender_id",
                                  "user.fields": "description,public_metrics,connection_status"},
                          price_kind="dm_event_read", max_units=size, units=lambda b: len(b.get("data") or []))
        events = []
        for ev in body.get("data") or []:
            if ev.get("event_type", "MessageCreate") != "MessageCreate":
                continue  # a group's join or leave (asked for only messages): nobody's words
            sender = str(ev.get("sender_id", ""))
            conversation = ev.get("dm_conversation_id") or "-".join(sorted([sender, self.owner_id], key=int))
            created = _time(ev.get("created_at")) or snowflake_time(str(ev["id"]))
            events.append(DmEvent(str(ev["id"]), str(conversation), sender, str(ev.get("text", "")), created))
        senders = {str(u["id"]): parse_user(u) for u in (body.get("includes") or {}).get("users") or []}
        return DmPage(events, senders, (body.get("meta") or {}).get("next_token"))

    # --- writes ------------------------------------------------------------------------
    def follow(self, user_id: str) -> None:
        """Follow through the API (not permitted on self-serve tiers since April 2026)."""
        self._call("follow", "POST /2/users/:id/following", "POST", f"/2/users/{self.owner_id}/following",
                   json={"target_user_id": user_id}, price_kind="interaction_create", max_units=1, units=lambda b: 1, write=True)

    def unfollow(self, user_id: str) -> None:
        self._call("unfollow", "DELETE /2/users/:id/following/:target", "DELETE",
                   f"/2/users/{self.owner_id}/following/{user_id}", price_kind="interaction_delete", max_units=1,
                   units=lambda b: 1, write=True)

    def create_post(self, text: str, *, has_url: bool, reply_to: str | None = None) -> PostRef:
        payload: dict[str, Any] = {"text": text}
        if reply_to:
            payload["reply"] = {"in_reply_to_tweet_id": reply_to}
        body = self._call("create_post", "POST /2/tweets", "POST", "/2/tweets", json=payload,
                          price_kind="post_create_url" if has_url else "post_create", max_units=1, units=lambda b: 1, write=True)
        data = body.get("data") or {}
        return PostRef(id=str(data["id"]), text=str(data.get("text", text)), reply_to=reply_to)

    def repost(self, post_id: str) -> None:
        self._call("repost", "POST /2/users/:id/retweets", "POST", f"/2/users/{self.owner_id}/retweets",
                   json={"tweet_id": post_id}, price_kind="interaction_create", max_units=1, units=lambda b: 1, write=True)
