"""The sandbox's WSGI app: X API v2 endpoints over a World, every request and response
validated against spec/openapi.json (X's own spec, vendored: see spec/README.md)."""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import re
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import parse_qs

from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools.xsandbox.world import DmEvent, Fault, Post, PostMetrics, User, World, snowflake_ms

SPEC_PATH = Path(__file__).resolve().parent / "spec" / "openapi.json"
PROBLEM = "https://api.x.com/2/problems/"
T = TypeVar("T")
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
REPLY_MISSING_DETAIL = "You attempted to reply to a Tweet that is deleted or not visible to you."
# X shows these only to a post's author, and only for posts from the last 30 days (X docs,
# "Metrics" and "Timelines: integrate"); timelines then keep to the last 30 days by themselves.
PRIVATE_METRICS = ("non_public_metrics", "organic_metrics", "promoted_metrics")
PRIVATE_METRICS_WINDOW = timedelta(days=30)
EARLIEST_TIME = datetime(2010, 11, 6, tzinfo=UTC)
URL_PATTERN = re.compile(r"https?://|\b[\w-]+\.(com|org|net|io|co|dev|app)\b")
# A link as X finds it in a post's text (a URL, or a bare domain of these endings), less any
# punctuation that ends the sentence around it.
LINK_PATTERN = re.compile(r"(?:https?://|\b(?:[\w-]+\.)+(?:com|org|net|io|co|dev|app)\b)[^\s]*?(?=[.,;:!?)\]]*(?:\s|$))")

# operationId -> (method, spec path, werkzeug rule)
ROUTES: dict[str, tuple[str, str, str]] = {
    "getUsersMe": ("GET", "/2/users/me", "/2/users/me"),
    "getUsersByIds": ("GET", "/2/users", "/2/users"),
    "getUsersByUsername": ("GET", "/2/users/by/username/{username}", "/2/users/by/username/<username>"),
    "getUsersFollowers": ("GET", "/2/users/{id}/followers", "/2/users/<id>/followers"),
    "getUsersFollowing": ("GET", "/2/users/{id}/following", "/2/users/<id>/following"),
    "followUser": ("POST", "/2/users/{id}/following", "/2/users/<id>/following"),
    "unfollowUser": ("DELETE", "/2/users/{source_user_id}/following/{target_user_id}",
                     "/2/users/<source_user_id>/following/<target_user_id>"),
    "getUsersPosts": ("GET", "/2/users/{id}/tweets", "/2/users/<id>/tweets"),
    "getUsersMentions": ("GET", "/2/users/{id}/mentions", "/2/users/<id>/mentions"),
    "createPosts": ("POST", "/2/tweets", "/2/tweets"),
    "deletePosts": ("DELETE", "/2/tweets/{id}", "/2/tweets/<id>"),
    "repostPost": ("POST", "/2/users/{id}/retweets", "/2/users/<id>/retweets"),
    "unrepostPost": ("DELETE", "/2/users/{id}/retweets/{source_tweet_id}",
                     "/2/users/<id>/retweets/<source_tweet_id>"),
    "getDirectMessagesEvents": ("GET", "/2/dm_events", "/2/dm_events"),
}


def spec_path() -> Path:
    """The vendored copy of X's spec: the only one the sandbox reads."""
    if not SPEC_PATH.exists():
        raise FileNotFoundError(f"X OpenAPI spec not found at {SPEC_PATH} (see spec/README.md)")
    return SPEC_PATH


@cache
def _spec() -> dict[str, Any]:
    return dict(json.loads(spec_path().read_text(encoding="utf-8")))


@cache
def _openapi() -> Any:
    from openapi_core import Config, OpenAPI

    warnings.filterwarnings("ignore", "Unsupported scheme type")  # OAuth 1.0a: checked by us
    spec = dict(_spec())
    spec["servers"] = [{"url": "/"}]
    # X's own file fails strict spec validation (duplicate enum values); shapes still check.
    # openapi-core reads only application/json as JSON; X's problems use problem+json.
    config = Config(spec_validator_cls=None, extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(spec, config=config)


def _rebase(node: Any) -> Any:
    """Point the spec's local $refs at the registered spec document."""
    if isinstance(node, dict):
        return {k: (f"urn:x-spec{v}" if k == "$ref" and isinstance(v, str) and v.startswith("#/") else _rebase(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


@cache
def response_validator(method: str, spec_route: str, status: int, mimetype: str) -> Any:
    """A compiled OpenAPI 3.0 schema validator for one documented response, or a string
    saying why the response is not documented. (openapi-core checks requests; responses of
    1,000 users are checked this way, about 25x faster.)"""
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    responses = _spec()["paths"][spec_route][method.lower()]["responses"]
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        return f"status {status} is not documented"
    content = (response.get("content") or {}).get(mimetype)
    if content is None:
        return f"{mimetype} is not documented for status {status}"
    registry = Registry().with_resource("urn:x-spec", Resource.from_contents(_spec(), default_specification=DRAFT4))
    return OAS30Validator(_rebase(content["schema"]), registry=registry)


def known_query_params(method: str, path: str) -> set[str]:
    op = _spec()["paths"][path][method.lower()]
    names = set()
    for param in op.get("parameters", []):
        if "$ref" in param:
            param = _spec()["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        if param.get("in") == "query":
            names.add(param["name"])
    return names


class XError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("detail"))
        self.status, self.body, self.headers = status, body, headers or {}


def problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> XError:
    return XError(status, {"type": PROBLEM + kind, "title": title, "detail": detail, "status": status, **extra})


def _iso(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") if dt else ""


def _invalid(message: str) -> XError:
    return problem(400, "invalid-request", "Invalid Request", "One or more parameters to your request was invalid.",
                   errors=[{"message": message}])


def _time_arg(request: Request, name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"Invalid '{name}':'{raw}'. '{name}' must be a date-time (YYYY-MM-DDTHH:mm:ssZ)") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when < EARLIEST_TIME:
        raise _invalid(f"Invalid '{name}':'{raw}'. '{name}' must be on or after 2010-11-06T00:00Z")
    return when


def _field_error(post_id: str, field: str, section: str, parameter: str) -> dict[str, Any]:
    """X's entry for a post whose private metrics the caller may not see (the post is left out)."""
    name = f"{field}.impression_count"
    return {"type": PROBLEM + "not-authorized-for-field", "title": "Field Authorization Error",
            "detail": f"Sorry, you are not authorized to access '{name}' on the Post with {parameter}: [{post_id}].",
            "field": name, "parameter": parameter, "resource_id": post_id, "resource_type": "post",
            "section": section, "value": post_id}


def _has_url(text: str) -> bool:
    return bool(URL_PATTERN.search(text))


def shown_text(text: str) -> str:
    """A post's text as X shows it (in the answer to its creation and in every read): each link
    X finds, a bare domain too, is a t.co link, and &, < and > are HTML-escaped. The world keeps
    the text as it was sent."""
    def t_co(match: re.Match[str]) -> str:
        return "https://t.co/" + hashlib.sha256(match.group(0).encode()).hexdigest()[:10]

    return html.escape(LINK_PATTERN.sub(t_co, text), quote=False)


def drop_connection(environ: dict[str, Any]) -> NoReturn:
    """Close the client's connection without a byte of answer. werkzeug's server treats a
    ConnectionError from the app as a dropped connection: it writes nothing and, finding the
    socket shut, closes it; the client sees the connection end with no response."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("x sandbox: connection dropped (injected fault)")


def _csv(request: Request, name: str) -> list[str]:
    raw = request.args.get(name)
    return [v for v in raw.split(",") if v] if raw else []


def _token(offset: int) -> str:
    """An opaque-looking pagination token (the spec wants at least 16 characters)."""
    return f"7{offset:019d}"


def _offset(token: str | None) -> int:
    if not token:
        return 0
    if not re.fullmatch(r"7\d{19}", token):
        raise problem(400, "invalid-request", "Invalid Request", "One or more parameters to your request was invalid.",
                      errors=[{"message": f"The `pagination_token` query parameter value [{token}] is not valid"}])
    return int(token[1:])


class SandboxApp:
    """WSGI callable. `world` holds the state; `validate` turns spec checking on (default)."""

    def __init__(self, world: World, *, validate: bool = True) -> None:
        self.world = world
        self.validate = validate
        self.url_map = Map([Rule(rule, endpoint=op, methods=[method]) for op, (method, _, rule) in ROUTES.items()])

    # --- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/__sandbox__/"):
            return self.control(request)(environ, start_response)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            operation, args = adapter.match()
        except RouteNotFound:
            return self._problem_response(problem(404, "resource-not-found", "Not Found Error",
                                                  f"no sandbox route for {request.method} {request.path}",
                                                  resource_type="endpoint"), None)
        except Exception:  # MethodNotAllowed and friends
            return self._problem_response(problem(405, "invalid-request", "Invalid Request",
                                                  f"{request.method} is not allowed on {request.path}"), None)
        method, spec_route, _ = ROUTES[operation]
        world = self.world
        headers: dict[str, str] = {}
        try:
            user_id = self.authenticate(request)
            fault = world.take_fault(operation, request.get_data(as_text=True))
            self.check_request(request, method, spec_route)
            limit, remaining, reset, allowed = world.take_rate(user_id, operation)
            headers = {
                "x-rate-limit-limit": str(limit),
                "x-rate-limit-remaining": str(remaining),
                "x-rate-limit-reset": str(reset),
            }
            if not allowed:
                raise problem(429, "resource-unavailable", "Too Many Requests", "Too Many Requests",
                              resource_type="rate_limit")
            if fault is not None:
                self.pre_fault(fault, headers, request)
            handler = getattr(self, "op_" + operation)
            status, body, price_kind, units = handler(request, user_id, **args)
            world.charge(operation, price_kind, units)
            if fault is not None and fault.kind in ("commit_then_timeout", "commit_then_reset"):
                self._delay(request, fault.delay)
                if fault.kind == "commit_then_reset":
                    self._drop(request)
        except XError as err:
            world.charge(operation, None, 0)
            response = self._problem_response(err, request, extra_headers={**headers, **err.headers})
            world.requests_log.append((request.method, request.path, err.status))
            return response
        response = Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)
        self.check_response(request, response)
        world.requests_log.append((request.method, request.path, status))
        return response

    def _problem_response(self, err: XError, request: Request | None, extra_headers: dict[str, str] | None = None) -> Response:
        response = Response(json.dumps(err.body), status=err.status, mimetype="application/problem+json",
                            headers=extra_headers or {})
        if request is not None:
            self.check_response(request, response)
        return response

    # --- checks ------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("OAuth "):
            raise problem(401, "not-authorized-for-resource", "Unauthorized", "Unauthorized",
                          resource_type="user")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', auth))
        token = fields.get("oauth_token", "")
        consumer = fields.get("oauth_consumer_key", "")
        from urllib.parse import unquote

        token, consumer = unquote(token), unquote(consumer)
        with self.world.lock:
            user_id = self.world.tokens.get(token)
            if user_id is None or consumer not in self.world.consumer_keys or token in self.world.revoked:
                raise problem(401, "not-authorized-for-resource", "Unauthorized", "Unauthorized",
                              resource_type="user")
        return user_id

    def check_request(self, request: Request, method: str, spec_route: str) -> None:
        known = known_query_params(method, spec_route)
        unknown = sorted(set(parse_qs(request.query_string.decode())) - known)
        if unknown:
            raise problem(400, "invalid-request", "Invalid Request",
                          "One or more parameters to your request was invalid.",
                          errors=[{"message": f"The query parameter [{unknown[0]}] is not one of [{','.join(sorted(known))}]"}])
        if not self.validate:
            return
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest

        result = _openapi().unmarshal_request(WerkzeugOpenAPIRequest(request))
        if result.errors:
            messages = []
            for error in result.errors:
                cause = getattr(error, "__cause__", None)
                messages.append(f"{error!r}: {cause}" if cause else repr(error))
            raise problem(400, "invalid-request", "Invalid Request",
                          "One or more parameters to your request was invalid.",
                          errors=[{"message": m[:500]} for m in messages])

    def check_response(self, request: Request, response: Response) -> None:
        if not self.validate:
            return
        try:
            operation, _ = self.url_map.bind_to_environ(request.environ).match()
        except Exception:
            return  # an unrouted path: answered with a plain 404/405 problem, nothing to check
        method, spec_route, _ = ROUTES[operation]
        validator = response_validator(method, spec_route, response.status_code, response.mimetype)
        if isinstance(validator, str):
            problems = [validator]
        else:
            body = json.loads(response.get_data(as_text=True) or "null")
            problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"[:300] for e in validator.iter_errors(body)][:5]
        if problems:
            with self.world.lock:
                self.world.violations.append(f"{request.method} {request.path} -> {response.status_code}: {'; '.join(problems)}")

    @staticmethod
    def _delay(request: Request, seconds: float) -> None:
        """An injected slow answer. An in-process caller can pass a list as the WSGI environ's
        "xsandbox.delays" to learn of it, and judge its timeout without racing the wall clock."""
        delays = request.environ.get("xsandbox.delays")
        if isinstance(delays, list):
            delays.append(seconds)
        time.sleep(seconds)

    def _drop(self, request: Request) -> NoReturn:
        self.world.requests_log.append((request.method, request.path, 0))
        drop_connection(request.environ)

    def pre_fault(self, fault: Fault, headers: dict[str, str], request: Request) -> None:
        kind = fault.kind
        if kind == "connection_reset":
            self._delay(request, fault.delay)
            self._drop(request)
        if kind == "429":
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = str(int(self.world.clock().timestamp()) + fault.reset_in_seconds)
            raise problem(429, "resource-unavailable", "Too Many Requests", "Too Many Requests",
                          resource_type="rate_limit")
        if kind in ("500", "503"):
            raise problem(int(kind), "internal-error", "Service Unavailable" if kind == "503" else "Internal Error",
                          "Service Unavailable" if kind == "503" else "Internal Error")
        if kind == "timeout":
            self._delay(request, fault.delay)
            raise problem(503, "internal-error", "Service Unavailable", "Service Unavailable")
        if kind == "duplicate":
            raise problem(403, "disallowed-resource", "Forbidden", DUPLICATE_DETAIL, resource_type="post")
        if kind == "revoked":
            raise problem(401, "not-authorized-for-resource", "Unauthorized", "Unauthorized", resource_type="user")
        if kind == "forbidden":
            raise problem(403, "not-authorized-for-resource", "Forbidden",
                          "You are not permitted to perform this action.", resource_type="user")

    # --- serialisation -----------------------------------------------------------------
    def user_json(self, user: User, fields: list[str], viewer: str) -> dict[str, Any]:
        w = self.world
        out: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        for f in fields:
            if f == "created_at":
                out[f] = _iso(user.created_at)
            elif f in ("description", "protected", "verified"):
                out[f] = getattr(user, f)
            elif f in ("location", "url") and getattr(user, f):
                out[f] = getattr(user, f)
            elif f == "profile_image_url":
                out[f] = user.profile_image_url
            elif f == "public_metrics":
                out[f] = {
                    "followers_count": w.follower_count(user.id),
                    "following_count": w.following_count(user.id),
                    "post_count": w.post_count(user.id),
                    "listed_count": user.listed_count,
                }
            elif f == "connection_status":
                status = []
                if w.is_following(viewer, user.id):
                    status.append("following")
                if w.is_following(user.id, viewer):
                    status.append("followed_by")
                out[f] = status
        return out

    def _with_latest_posts(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add most_recent_post_id to each user that has posted; return those posts."""
        latest: list[Post] = []
        with self.world.lock:
            for u in users:
                post = self.world.posts.latest_by(u["id"])
                if post is not None:
                    u["most_recent_post_id"] = post.id
                    latest.append(post)
        return [self.post_json(p, ["lang", "created_at"]) for p in latest]

    def post_json(self, post: Post, fields: Iterable[str]) -> dict[str, Any]:
        """A post as X shows it. `fields` holds post.fields and expansions (author_id,
        in_reply_to_user_id and referenced_posts add fields). Private metrics are shown as
        asked: whether the caller may see them is decided before (see _timeline)."""
        wanted = set(fields)
        out: dict[str, Any] = {"id": post.id, "text": shown_text(post.text), "edit_history_post_ids": [post.id]}
        if "created_at" in wanted:
            out["created_at"] = _iso(post.created_at)
        if "author_id" in wanted:
            out["author_id"] = post.author_id
        if "lang" in wanted:
            out["lang"] = post.lang
        if "conversation_id" in wanted:
            out["conversation_id"] = post.conversation_id or post.id
        if "in_reply_to_user_id" in wanted and post.in_reply_to_user_id:
            out["in_reply_to_user_id"] = post.in_reply_to_user_id
        if "referenced_posts" in wanted:
            refs = [{"type": "retweeted", "id": post.reposted_id}] if post.reposted_id else []
            refs += [{"type": "replied_to", "id": post.in_reply_to_id}] if post.in_reply_to_id else []
            if refs:
                out["referenced_posts"] = refs
        if wanted & {"public_metrics", "non_public_metrics", "organic_metrics"}:
            out.update(self.metrics_json(post, self.world.metrics_of(post), wanted))
        return out

    @staticmethod
    def metrics_json(post: Post, m: PostMetrics, wanted: set[str]) -> dict[str, Any]:
        """public_metrics in the spec's shape (PostPublicMetrics); non_public_metrics and
        organic_metrics (plain objects in the spec) in the shapes X documents, with
        url_link_clicks only on posts that carry a link, as X does. promoted_metrics never
        appears: the sandbox does not promote posts."""
        out: dict[str, Any] = {}
        links = {"url_link_clicks": m.url_link_clicks} if _has_url(post.text) else {}
        if "public_metrics" in wanted:
            out["public_metrics"] = {"repost_count": m.reposts, "reply_count": m.replies, "like_count": m.likes,
                                     "quote_count": m.quotes, "bookmark_count": m.bookmarks, "impression_count": m.impressions}
        if "non_public_metrics" in wanted:
            out["non_public_metrics"] = {"impression_count": m.impressions, "user_profile_clicks": m.user_profile_clicks,
                                         "engagements": m.engagement_total, **links}
        if "organic_metrics" in wanted:
            out["organic_metrics"] = {"impression_count": m.impressions, "like_count": m.likes, "reply_count": m.replies,
                                      "retweet_count": m.reposts, "user_profile_clicks": m.user_profile_clicks, **links}
        return out

    def _page(self, ids: Sequence[T], request: Request, default: int) -> tuple[list[T], dict[str, Any]]:
        size = int(request.args.get("max_results", default))
        start = _offset(request.args.get("pagination_token"))
        page = list(ids[start:start + size])
        meta: dict[str, Any] = {"result_count": len(page)}
        if start + size < len(ids):
            meta["next_token"] = _token(start + size)
        if start:
            meta["previous_token"] = _token(max(0, start - size))
        return page, meta

    def _user(self, user_id: str) -> User:
        user = self.world.users.get(user_id)
        if user is None:
            raise problem(404, "resource-not-found", "Not Found Error", f"Could not find user with id: [{user_id}].",
                          resource_type="user", resource_id=user_id, parameter="id", value=user_id)
        return user

    def _owner(self, path_id: str, user_id: str) -> None:
        if path_id != user_id:
            raise problem(403, "not-authorized-for-resource", "Forbidden",
                          "You are not permitted to perform this action on behalf of another user.",
                          resource_type="user")

    # --- operations: (status, body, price kind, billable units) -------------------------
    def op_getUsersMe(self, request: Request, user_id: str) -> tuple[int, dict[str, Any], str, int]:
        user = self._user(user_id)
        return 200, {"data": self.user_json(user, _csv(request, "user.fields"), user_id)}, "user_read", 1

    def op_getUsersByUsername(self, request: Request, user_id: str, username: str) -> tuple[int, dict[str, Any], str, int]:
        with self.world.lock:
            user = next((u for u in self.world.users.values() if u.username.lower() == username.lower()), None)
        if user is None:
            raise problem(404, "resource-not-found", "Not Found Error", f"Could not find user with username: [{username}].",
                          resource_type="user", parameter="username", value=username)
        return 200, {"data": self.user_json(user, _csv(request, "user.fields"), user_id)}, "user_read", 1

    def op_getUsersByIds(self, request: Request, user_id: str) -> tuple[int, dict[str, Any], str, int]:
        ids = _csv(request, "ids")
        fields = _csv(request, "user.fields")
        data, errors = [], []
        for uid in ids:
            user = self.world.users.get(uid)
            if user is None:
                errors.append({"type": PROBLEM + "resource-not-found", "title": "Not Found Error",
                               "detail": f"Could not find user with ids: [{uid}].", "resource_type": "user",
                               "resource_id": uid, "parameter": "ids", "value": uid})
            else:
                data.append(self.user_json(user, fields, user_id))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
            if "most_recent_post_id" in _csv(request, "expansions"):
                posts = self._with_latest_posts(data)
                if posts:
                    body["includes"] = {"posts": posts}
        if errors:
            body["errors"] = errors
        return 200, body, "user_read", len(data)

    def _relation(self, request: Request, user_id: str, id: str, ids: Sequence[str]) -> tuple[int, dict[str, Any], str, int]:
        self._user(id)
        with self.world.lock:
            page, meta = self._page(ids, request, 100)
        fields = _csv(request, "user.fields")
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [self.user_json(self.world.users[u], fields, user_id) for u in page if u in self.world.users]
            if "most_recent_post_id" in _csv(request, "expansions"):
                posts = self._with_latest_posts(body["data"])
                if posts:
                    body["includes"] = {"posts": posts}
        # Expanded objects (includes) are assumed unbilled: X bills resources returned in data.
        kind = "owned_read" if id == user_id else "user_read"
        return 200, body, kind, len(page)

    def op_getUsersFollowers(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        result = self._relation(request, user_id, id, self.world.follower_ids(id))
        with self.world.lock:
            self.world.served_users[f"followers:{id}"] += [u["id"] for u in result[1].get("data", [])]
        return result

    def op_getUsersFollowing(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        return self._relation(request, user_id, id, self.world.following[id])

    def op_followUser(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        self._owner(id, user_id)
        if not self.world.follow_permitted:
            raise problem(403, "not-authorized-for-resource", "Forbidden",
                          "You are not permitted to perform this action.", resource_type="user")
        target = str((request.get_json(silent=True) or {}).get("target_user_id", ""))
        self._user(target)
        self.world.follow(user_id, target)
        return 200, {"data": {"following": True, "pending_follow": False}}, "interaction_create", 1

    def op_unfollowUser(self, request: Request, user_id: str, source_user_id: str, target_user_id: str) -> tuple[int, dict[str, Any], str, int]:
        self._owner(source_user_id, user_id)
        if not self.world.follow_permitted:
            raise problem(403, "not-authorized-for-resource", "Forbidden",
                          "You are not permitted to perform this action.", resource_type="user")
        self.world.unfollow(user_id, target_user_id)
        return 200, {"data": {"following": False}}, "interaction_delete", 1

    def op_getUsersPosts(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        self._user(id)
        with self.world.lock:
            posts = self.world.posts.by_author(id)
        exclude = set(_csv(request, "exclude"))
        if "retweets" in exclude:
            posts = [p for p in posts if p.reposted_id is None]
        if "replies" in exclude:
            posts = [p for p in posts if p.in_reply_to_id is None]
        # X serves the 3,200 most recent posts of a user's timeline, 800 without replies.
        return self._timeline(request, user_id, id, posts[:800 if "replies" in exclude else 3200])

    def op_getUsersMentions(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        user = self._user(id)
        handle = f"@{user.username}".lower()
        with self.world.lock:
            posts = [p for p in self.world.posts.values() if handle in p.text.lower() and p.author_id != id]
        posts.sort(key=lambda p: int(p.id), reverse=True)
        return self._timeline(request, user_id, id, posts[:800])

    def _timeline(self, request: Request, user_id: str, id: str, posts: list[Post]) -> tuple[int, dict[str, Any], str, int]:
        """A page of a newest-first post timeline: time and id bounds, X's rules for private
        metrics, expansions, and billing per post returned."""
        start, end = _time_arg(request, "start_time"), _time_arg(request, "end_time")
        since_id, until_id = request.args.get("since_id"), request.args.get("until_id")
        if start and end and start >= end:
            raise _invalid(f"Invalid 'start_time':'{request.args['start_time']}'. 'start_time' must be before 'end_time'")
        if since_id and until_id and int(since_id) >= int(until_id):
            raise _invalid(f"Invalid 'since_id':'{since_id}'. 'since_id' must be less than 'until_id'")
        fields = _csv(request, "post.fields")
        expansions = _csv(request, "expansions")
        private = [f for f in PRIVATE_METRICS if f in fields]
        if private:
            start = max(start or EARLIEST_TIME, self.world.clock() - PRIVATE_METRICS_WINDOW)
        posts = [
            p for p in posts
            if (start is None or p.created_at >= start)
            and (end is None or p.created_at.replace(microsecond=0) <= end)  # end_time is inclusive, to the second
            and (since_id is None or int(p.id) > int(since_id))
            and (until_id is None or int(p.id) < int(until_id))
        ]
        page, meta = self._page(posts, request, 10)
        shown = fields + expansions
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for post in page:
            if private and post.author_id != user_id:
                errors.append(_field_error(post.id, private[0], "data", "id"))
            else:
                data.append(self.post_json(post, shown))
        meta["result_count"] = len(data)
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
            meta["newest_id"], meta["oldest_id"] = data[0]["id"], data[-1]["id"]
            includes = self._post_includes(request, user_id, [p for p in page if p.author_id == user_id or not private],
                                           expansions, fields, private, errors)
            if includes:
                body["includes"] = includes
        if errors:
            body["errors"] = errors
        kind = "owned_read" if id == user_id else "post_read"
        return 200, body, kind, len(data)

    def _post_includes(self, request: Request, user_id: str, posts: list[Post], expansions: list[str], fields: list[str],
                       private: list[str], errors: list[dict[str, Any]]) -> dict[str, Any]:
        """includes.users for author_id / in_reply_to_user_id, includes.posts for referenced_posts."""
        w = self.world
        includes: dict[str, Any] = {}
        with w.lock:
            if "referenced_posts" in expansions:
                referenced: list[dict[str, Any]] = []
                for ref in dict.fromkeys(r for p in posts for r in (p.reposted_id, p.in_reply_to_id) if r):
                    target = w.posts.get(ref)
                    if target is None:
                        continue
                    if private and target.author_id != user_id:
                        errors.append(_field_error(ref, private[0], "includes", "referenced_posts"))
                    else:
                        referenced.append(self.post_json(target, fields))
                if referenced:
                    includes["posts"] = referenced
            user_ids: list[str] = []
            if "author_id" in expansions:
                user_ids += [p.author_id for p in posts]
            if "in_reply_to_user_id" in expansions:
                user_ids += [p.in_reply_to_user_id for p in posts if p.in_reply_to_user_id]
            user_fields = _csv(request, "user.fields")
            users = [self.user_json(w.users[u], user_fields, user_id) for u in sorted(set(user_ids)) if u in w.users]
        if users:
            includes["users"] = users
        return includes

    def op_createPosts(self, request: Request, user_id: str) -> tuple[int, dict[str, Any], str, int]:
        payload = request.get_json(silent=True) or {}
        text = str(payload.get("text", ""))
        reply_to = str((payload.get("reply") or {}).get("in_reply_to_tweet_id", "")) or None
        with self.world.lock:
            if reply_to is not None and reply_to not in self.world.posts:
                raise problem(403, "disallowed-resource", "Forbidden", REPLY_MISSING_DETAIL,
                              resource_type="post", resource_id=reply_to)
            window = self.world.duplicate_window
            since = self.world.clock() - window if window is not None else None
            if any(p.text == text and p.reposted_id is None and (since is None or p.created_at >= since)
                   for p in self.world.posts.by_author(user_id)):
                raise problem(403, "disallowed-resource", "Forbidden", DUPLICATE_DETAIL, resource_type="post")
            post = self.world.add_post(user_id, text, in_reply_to_id=reply_to)
        return 201, {"data": {"id": post.id, "text": shown_text(post.text)}}, ("post_create_url" if _has_url(text) else "post_create"), 1

    def op_deletePosts(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        with self.world.lock:
            post = self.world.posts.get(id)
            if post is None or post.author_id != user_id:
                raise problem(404, "resource-not-found", "Not Found Error", f"Could not find post with id: [{id}].",
                              resource_type="post", resource_id=id)
            del self.world.posts[id]
        return 200, {"data": {"deleted": True}}, "interaction_delete", 1

    def op_repostPost(self, request: Request, user_id: str, id: str) -> tuple[int, dict[str, Any], str, int]:
        self._owner(id, user_id)
        target = str((request.get_json(silent=True) or {}).get("tweet_id", ""))
        with self.world.lock:
            if target not in self.world.posts:
                raise problem(404, "resource-not-found", "Not Found Error", f"Could not find post with id: [{target}].",
                              resource_type="post", resource_id=target, parameter="tweet_id", value=target)
            if (user_id, target) not in self.world.reposts:
                self.world.reposts.add((user_id, target))
                original = self.world.posts[target]
                author = self.world.users.get(original.author_id)
                self.world.add_post(user_id, f"RT @{author.username if author else '?'}: {original.text}", reposted_id=target)
        return 200, {"data": {"rest_id": target, "retweeted": True}}, "interaction_create", 1

    def op_unrepostPost(self, request: Request, user_id: str, id: str, source_tweet_id: str) -> tuple[int, dict[str, Any], str, int]:
        self._owner(id, user_id)
        with self.world.lock:
            self.world.reposts.discard((user_id, source_tweet_id))
        return 200, {"data": {"retweeted": False}}, "interaction_delete", 1

    def op_getDirectMessagesEvents(self, request: Request, user_id: str) -> tuple[int, dict[str, Any], str, int]:
        now_ms = self.world.clock().timestamp() * 1000
        with self.world.lock:
            events = [e for e in self.world.dm_events
                      if user_id in e.audience and now_ms - snowflake_ms(e.id) <= 30 * 86400 * 1000]
        events.sort(key=lambda e: int(e.id), reverse=True)
        types = _csv(request, "event_types")
        if types:
            events = [e for e in events if e.event_type in types]
        page, meta = self._page([e.id for e in events], request, 100)
        by_id = {e.id: e for e in events}
        fields = set(_csv(request, "dm_event.fields"))
        expansions = set(_csv(request, "expansions"))
        data = [self.dm_json(by_id[i], fields, expansions) for i in page]
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
        people = {d["sender_id"] for d in data if "sender_id" in d and "sender_id" in expansions}
        people |= {p for d in data for p in d.get("participant_ids", ())}
        if people:
            body["includes"] = {"users": [self.user_json(self.world.users[s], _csv(request, "user.fields"), user_id)
                                          for s in sorted(people) if s in self.world.users]}
        return 200, body, "dm_event_read", len(data)

    def dm_json(self, event: DmEvent, fields: set[str], expansions: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": event.id, "event_type": event.event_type}
        if event.event_type == "MessageCreate":
            out["text"] = event.text
        if "created_at" in fields:
            out["created_at"] = _iso(event.created_at)
        if "dm_conversation_id" in fields:
            out["dm_conversation_id"] = event.conversation_id
        if "sender_id" in expansions or "sender_id" in fields:
            out["sender_id"] = event.sender_id
        if "participant_ids" in expansions and event.event_type != "MessageCreate":  # who joined or left
            out["participant_ids"] = list(event.participant_ids)
        return out

    # --- control API (not part of X) ---------------------------------------------------
    def control(self, request: Request) -> Response:
        w = self.world
        action = request.path.removeprefix("/__sandbox__/")
        if action == "bill":
            return Response(json.dumps(w.bill()), mimetype="application/json")
        if action == "reset-meter" and request.method == "POST":
            w.reset_meter()
            return Response("{}", mimetype="application/json")
        if action == "faults" and request.method == "POST":
            try:
                w.inject(Fault(**(request.get_json() or {})))
            except (TypeError, ValueError) as err:
                return Response(json.dumps({"error": str(err)}), status=400, mimetype="application/json")
            return Response("{}", mimetype="application/json")
        if action == "violations":
            return Response(json.dumps(w.violations), mimetype="application/json")
        if action == "state":
            with w.lock:
                state = {
                    "users": len(w.users),
                    "posts": [{"id": p.id, "author_id": p.author_id, "text": p.text, "in_reply_to_id": p.in_reply_to_id}
                              for p in w.posts.values()],
                    "reposts": sorted(list(r) for r in w.reposts),
                }
            return Response(json.dumps(state), mimetype="application/json")
        return Response(json.dumps({"error": f"unknown control {action}"}), status=404, mimetype="application/json")
