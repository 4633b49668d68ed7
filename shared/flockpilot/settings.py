"""Typed settings: the deployment's environment, and each account's tunables.

Account tunables start from the deployment's environment (template parameters) and can be
overridden per account in DynamoDB (`flockpilot settings set`). Both are validated on every
invocation; a bad value raises InvalidSetting naming the setting and what it accepts.
Plain frozen dataclasses, each field declared with its kind and bounds, checked by hand: a
cold start imports no validation library.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flockpilot.domain.errors import InvalidSetting
from flockpilot.domain.hours import ActiveHours, MixRules, check_fits

if TYPE_CHECKING:
    from flockpilot.domain.follow import FilterRules


class Mode(StrEnum):
    DRY_RUN = "dry-run"
    LIVE = "live"


class FollowMode(StrEnum):
    SUGGEST = "suggest"
    API = "api"


_KINDS = {"int": int, "float": float, "bool": bool, "str": str, "Mode": Mode, "FollowMode": FollowMode}
_TRUE, _FALSE = frozenset({"true", "1", "yes", "y", "on"}), frozenset({"false", "0", "no", "n", "off"})


def setting(default: Any = MISSING, *, ge: float | None = None, le: float | None = None, max_length: int | None = None,
            description: str = "", check: Callable[[Any], None] | None = None,
            set_check: Callable[[Any], None] | None = None) -> Any:
    """A settings field: its default, bounds, what it is for, and an extra check if any.
    `set_check` applies only to a new value (`settings set`), not to one already stored: a
    check added in a later release must not stop an account's runs after an upgrade."""
    return field(default=default, metadata={"ge": ge, "le": le, "max_length": max_length, "description": description,
                                            "check": check, "set_check": set_check})


def _zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/London") from None


def _hours(value: str) -> None:
    try:
        ActiveHours.parse(value)
    except InvalidSetting as exc:
        raise ValueError(str(exc)) from None


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # the template's DigestEmail pattern
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")  # BCP 47 as X reports it: en, pt, zh-cn, und


def _emails(value: str | None) -> None:
    """One address or several, comma-separated; each bare or as `Name <address>`."""
    for part in (p.strip() for p in (value or "").split(",")):
        address = part[part.rfind("<") + 1:-1].strip() if part.endswith(">") and "<" in part else part
        if not _EMAIL.fullmatch(address):
            raise ValueError(f"{part!r} is not an email address (use you@example.com, several separated by commas; "
                             "each verified in SES)")


def _languages(value: str) -> None:
    bad = [code for code in (c.strip() for c in value.split(",")) if code and not _LANGUAGE.fullmatch(code)]
    if bad:
        raise ValueError(f"{', '.join(repr(b) for b in bad)} {'is not a language code' if len(bad) == 1 else 'are not language codes'}"
                         " (use codes such as en, fr, pt-br)")


def _reply_template(value: str) -> None:
    from flockpilot.domain.digest import template_problem

    problem = template_problem(value)
    if problem:
        raise ValueError(f"{problem}; use {{first_name}}, {{username}} and {{invite}}")


def _url(value: str | None) -> None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")


@dataclass(frozen=True, kw_only=True)
class AccountSettings:
    """What one account's jobs do. Every field has a safe default."""

    mode: Mode = setting(Mode.DRY_RUN, description="dry-run plans and reports; live writes to X")
    time_zone: str = setting("UTC", description="IANA time zone, e.g. Europe/London", check=_zone)
    active_hours: str = setting("08:00-22:00", description="local posting window HH:MM-HH:MM", check=_hours)
    posts_per_day: int = setting(10, ge=0, le=48)
    link_share: float = setting(0.5, ge=0.0, le=1.0)
    pitch_cap: int = setting(1, ge=0, le=3)
    reposts_per_day: int = setting(2, ge=0, le=20)
    min_gap_minutes: int = setting(30, ge=5, le=240)
    max_posts_per_run: int = setting(3, ge=1, le=10)
    catch_up_minutes: int = setting(120, ge=10, le=720)
    duplicate_cooldown_days: int = setting(14, ge=1, le=365)
    monthly_budget_usd: float = setting(60.0, ge=0.0, le=10000.0)
    digest_email: str | None = setting(None, description="where the daily digest goes (one address, or several separated "
                                                     "by commas)", set_check=_emails)
    plug_min_likes: int = setting(0, ge=0, le=1_000_000,
                                  description="0: off; N: reply once with your plug under a post past N likes within 24 hours")
    learn_from_results: bool = setting(True, description="choose items and hours from your posts' results")

    digest_reply_template: str = setting(
        "Hi {first_name}, thanks for your message! {invite}",
        description="reply draft; {first_name}, {username} and {invite} are filled in", max_length=500,
        set_check=_reply_template)
    digest_invite: str = setting("Happy to keep talking here.", max_length=280,
                               description="e.g. an invitation to your site or Facebook page")

    # follow
    follow_mode: FollowMode = setting(FollowMode.SUGGEST, description="suggest (you tap follow) or api")
    follow_daily_cap: int = setting(30, ge=0, le=400)
    ratio_tolerance: float = setting(0.10, ge=0.0, le=0.5)
    follow_sources_per_run: int = setting(3, ge=1, le=10)
    follow_keywords: str = setting("", description="comma-separated words; bios with them rank higher")
    follow_exclude_keywords: str = setting("", description="comma-separated words that rule a bio out")
    follow_require_keyword: bool = setting(False, description="only suggest bios with a keyword")
    follow_min_followers: int = setting(10, ge=0, le=10_000_000)
    follow_max_followers: int = setting(50_000, ge=1, le=100_000_000)
    follow_min_ratio: float = setting(0.2, ge=0.0, le=100.0)
    follow_max_ratio: float = setting(10.0, ge=0.0, le=1000.0)
    follow_active_days: int = setting(30, ge=1, le=3650)
    follow_languages: str = setting("", description="comma-separated language codes, e.g. en,fr; empty: any",
                                    set_check=_languages)
    follow_skip_protected: bool = setting(True)
    follow_skip_default_avatar: bool = setting(True)
    follow_skip_empty_bio: bool = setting(True)
    follow_use_my_followers: bool = setting(True, description="also look among your own followers' followers")
    follow_use_mentions: bool = setting(True, description="also suggest people who mention you")

    # prune
    prune_mode: FollowMode = setting(FollowMode.SUGGEST, description="suggest (you tap unfollow) or api")
    prune_grace_days: int = setting(7, ge=3, le=90)
    prune_daily_cap: int = setting(30, ge=0, le=400)
    prune_outside_inactive_days: int = setting(0, ge=0, le=3650,
                                             description="0: never touch follows made outside Flockpilot; N: prune those silent N days")
    reconcile_every_days: int = setting(30, ge=1, le=365, description="re-verify each person who followed back this often")
    reconcile_monthly_usd: float | None = setting(
        None, ge=0.0, le=1000.0,
        description="X spend a month for re-verifying people who followed back; unset: one pass every "
                    "reconcile_every_days, within 8% of each day's budget")
    churn_max_quick_share: float = setting(0.5, ge=0.0, le=1.0)
    churn_max_ratio: float = setting(1.5, ge=0.1, le=10.0)

    def __post_init__(self) -> None:
        try:
            check_fits(self.window, self.posts_per_day, self.min_gap_minutes)
        except InvalidSetting as exc:
            raise ValueError(str(exc)) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def window(self) -> ActiveHours:
        return ActiveHours.parse(self.active_hours)

    @property
    def follow_filters(self) -> FilterRules:
        from flockpilot.domain.follow import FilterRules

        def words(value: str) -> tuple[str, ...]:
            return tuple(w.strip() for w in value.split(",") if w.strip())

        return FilterRules(
            skip_protected=self.follow_skip_protected,
            skip_default_avatar=self.follow_skip_default_avatar,
            skip_empty_bio=self.follow_skip_empty_bio,
            min_followers=self.follow_min_followers,
            max_followers=self.follow_max_followers,
            min_ratio=self.follow_min_ratio,
            max_ratio=self.follow_max_ratio,
            active_within_days=self.follow_active_days,
            include_keywords=words(self.follow_keywords) if self.follow_require_keyword else (),
            exclude_keywords=words(self.follow_exclude_keywords),
            languages=words(self.follow_languages),
        )

    @property
    def keywords(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in self.follow_keywords.split(",") if w.strip())

    @property
    def mix(self) -> MixRules:
        return MixRules(
            posts_per_day=self.posts_per_day,
            link_share=self.link_share,
            pitch_cap=self.pitch_cap,
            reposts_per_day=self.reposts_per_day,
            min_gap_minutes=self.min_gap_minutes,
        )


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """Where things are: table, secret, endpoints. Comes from the Lambda environment."""

    table_name: str = setting(ge=3, le=255, description="the DynamoDB table (3 to 255 characters)")
    x_secret_id: str = setting(ge=1, description="the Secrets Manager secret with the X tokens")
    x_api_base_url: str | None = setting(None, description="an http(s) URL", check=_url)
    x_timeout_seconds: float = setting(10.0, ge=0.1, le=60)
    secret_max_age_seconds: int = setting(300, ge=0, le=86400)
    region: str = setting("us-east-1")
    dynamodb_endpoint: str | None = setting(None, description="an http(s) URL", check=_url)
    sender_email: str | None = setting(None)
    outbox_dir: str | None = setting(None)


# Environment variable for each account setting that the template can set.
ENV_FOR_ACCOUNT = {f.name: f.name.upper() for f in fields(AccountSettings)}
ENV_FOR_DEPLOYMENT = {
    "table_name": "TABLE_NAME",
    "x_secret_id": "X_SECRET_ID",
    "x_api_base_url": "X_API_BASE_URL",
    "x_timeout_seconds": "X_TIMEOUT_SECONDS",
    "secret_max_age_seconds": "SECRET_MAX_AGE_SECONDS",
    "region": "AWS_REGION",
    "dynamodb_endpoint": "AWS_ENDPOINT_URL_DYNAMODB",
    "sender_email": "SENDER_EMAIL",
    "outbox_dir": "OUTBOX_DIR",
}


def _kind(spec: Any) -> tuple[type, bool]:
    """(the field's type, whether it may be None) from its annotation."""
    text = str(spec.type)
    nullable = text.endswith("| None")
    return _KINDS[text.removesuffix(" | None").strip()], nullable


def accepts(model: type, name: str) -> str:
    """What a setting accepts, in words (for error messages and `settings show`)."""
    spec = next((f for f in fields(model) if f.name == name), None)
    if spec is None:
        return f"known settings: {', '.join(sorted(f.name for f in fields(model)))}"
    kind, _ = _kind(spec)
    lo, hi = spec.metadata.get("ge"), spec.metadata.get("le")
    if issubclass(kind, StrEnum):
        return "accepts " + " or ".join(m.value for m in kind)
    if kind in (int, float) and lo is not None and hi is not None:
        return f"accepts {kind.__name__} from {kind(lo)} to {kind(hi)}"
    return f"accepts {spec.metadata.get('description') or kind.__name__}"


def _parse(spec: Any, value: Any) -> Any:
    """One raw value (an environment string, or a stored override) as the field's kind."""
    kind, nullable = _kind(spec)
    if value is None or (nullable and value == ""):
        if nullable:
            return None
        raise ValueError("must be set")
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError("must be true or false")
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("must be a whole number")
        try:
            number: float = int(value) if not isinstance(value, str) else int(value.strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    elif kind is float:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
    elif issubclass(kind, StrEnum):
        try:
            return kind(str(value).strip())
        except ValueError:
            raise ValueError("is not one of the choices") from None
    else:
        text = str(value)
        lo, hi, longest = spec.metadata.get("ge"), spec.metadata.get("le"), spec.metadata.get("max_length")
        if lo is not None and len(text) < lo or hi is not None and len(text) > hi:
            raise ValueError(f"must be {int(lo or 0)} to {int(hi or 10**9)} characters long")
        if longest is not None and len(text) > longest:
            raise ValueError(f"must be at most {longest} characters long")
        check = spec.metadata.get("check")
        if check is not None:
            check(text)
        return text.rstrip("/") if spec.name in ("x_api_base_url", "dynamodb_endpoint") else text
    lo, hi = spec.metadata.get("ge"), spec.metadata.get("le")
    if lo is not None and number < lo or hi is not None and number > hi:
        raise ValueError(f"must be from {kind(lo)} to {kind(hi)}")
    return number


def _build(model: type[Any], raw: Mapping[str, Any], labels: Mapping[str, str]) -> Any:
    """`model` from raw values, or InvalidSetting naming every bad one and what it accepts."""
    specs = {f.name: f for f in fields(model)}
    values: dict[str, Any] = {}
    problems = []
    for name, value in raw.items():
        spec = specs.get(name)
        label = labels.get(name, name)
        if spec is None:
            problems.append(f"{label}: unknown setting; {accepts(model, '')}")
            continue
        try:
            values[name] = _parse(spec, value)
        except ValueError as exc:
            problems.append(f"{label}={value!r} is invalid: {exc} ({accepts(model, name)})")
    for name, spec in specs.items():
        if name not in raw and spec.default is MISSING:
            problems.append(f"{labels.get(name, name)} is not set")
    if problems:
        raise InvalidSetting("; ".join(problems))
    try:
        return model(**values)
    except ValueError as exc:  # a rule across settings (posts that do not fit the window)
        raise InvalidSetting(str(exc)) from None


def load_deployment(environ: Mapping[str, str] | None = None) -> Deployment:
    env = os.environ if environ is None else environ
    raw = {k: env[v] for k, v in ENV_FOR_DEPLOYMENT.items() if env.get(v) not in (None, "")}
    deployment: Deployment = _build(Deployment, raw, ENV_FOR_DEPLOYMENT)
    return deployment


# Settings a stored override (`settings set`) may only make safer. Going live, or following
# and unfollowing through X's API, is the deployment's choice (the template's Mode, FollowMode
# and PruneMode: a deliberate `sam deploy`), so a stored "live" or "api" never outranks a
# deployment that says otherwise. A stored "dry-run" or "suggest" pauses writes to X at once,
# without a deploy (the follow and prune jobs store "suggest" themselves when X refuses them).
SAFER_ONLY: dict[str, tuple[str, str]] = {  # key -> (the one value an override may have, the template parameter)
    "mode": (Mode.DRY_RUN.value, "Mode"),
    "follow_mode": (FollowMode.SUGGEST.value, "FollowMode"),
    "prune_mode": (FollowMode.SUGGEST.value, "PruneMode"),
}
# Settings only the deployment sets: the schedules run on the template's TimeZone, so an
# account zone of its own would move the account's day away from them (the digest would go
# out at DigestHour of another zone, the day's plan would start at another midnight).
DEPLOYMENT_ONLY: dict[str, str] = {"time_zone": "TimeZone"}


def override_refused(key: str, value: Any) -> str | None:
    """Why a stored override of `key` is not applied (None: it is)."""
    if key in DEPLOYMENT_ONLY:
        return (f"{key} is the deployment's (the schedules run on it): change it with sam deploy "
                f"--parameter-overrides {DEPLOYMENT_ONLY[key]}=...")
    if key in SAFER_ONLY:
        safe, parameter = SAFER_ONLY[key]
        if (value.value if isinstance(value, StrEnum) else value) != safe:
            return (f"{key} {value} is the deployment's choice: sam deploy --parameter-overrides {parameter}={value}; "
                    f"an account setting can only pause it ({key} {safe}; `settings unset {key}` resumes)")
    return None


def ignored_overrides(overrides: Mapping[str, Any]) -> dict[str, str]:
    """The stored overrides the jobs do not apply, each with why (stored before this rule)."""
    return {key: why for key, value in overrides.items() if (why := override_refused(key, value)) is not None}


def account_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> AccountSettings:
    """Defaults, then the environment, then the account's own overrides from the store
    (except those `override_refused`: the deployment's settings, and a mode that is not the
    safer one)."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {k: env[v] for k, v in ENV_FOR_ACCOUNT.items() if env.get(v) not in (None, "")}
    labels = dict(ENV_FOR_ACCOUNT)
    for key, value in (overrides or {}).items():
        if override_refused(key, value) is not None:
            continue
        raw[key] = value
        labels[key] = f"account setting {key}"
    settings: AccountSettings = _build(AccountSettings, raw, labels)
    return settings


def deployment_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The account settings this process's environment sets (variable -> value): what a
    Lambda function records of its deployment, for the CLI to run with (see
    flockpilot.runtime.Wiring)."""
    env = os.environ if environ is None else environ
    return {var: env[var] for var in ENV_FOR_ACCOUNT.values() if env.get(var) not in (None, "")}


# Min/max pairs: a minimum above its maximum lets nothing through (the follow job would pay
# to read candidates every day and find none).
BOUNDS = (("follow_min_followers", "follow_max_followers"), ("follow_min_ratio", "follow_max_ratio"))


def crossed_bounds(settings: AccountSettings, key: str | None = None) -> list[str]:
    """Each min/max pair whose minimum is above its maximum, in words (only `key`'s pair, if given)."""
    return [f"{low} ({getattr(settings, low):g}) is above {high} ({getattr(settings, high):g}): no account could pass"
            for low, high in BOUNDS if key in (None, low, high) and getattr(settings, low) > getattr(settings, high)]


def check_new_setting(settings: AccountSettings, key: str) -> None:
    """Refuse a new value (`settings set`) that puts its min/max pair the wrong way round.
    Like `set_check`, only new values: a pair stored crossed before this check existed keeps
    the account's runs going (the follow job then reads no candidates and says why)."""
    crossed = crossed_bounds(settings, key)
    if crossed:
        raise InvalidSetting("; ".join(crossed))


def known_setting(key: str) -> None:
    """Refuse a name that is not a setting (naming the ones that are)."""
    if not any(f.name == key for f in fields(AccountSettings)):
        raise InvalidSetting(f"{key}: unknown setting; {accepts(AccountSettings, '')}")


def validate_override(key: str, value: str) -> Any:
    """Parse one `settings set KEY VALUE` into the value to store, or say what is wrong."""
    spec = next((f for f in fields(AccountSettings) if f.name == key), None)
    if spec is None:
        raise InvalidSetting(f"{key}: unknown setting; {accepts(AccountSettings, '')}")
    try:
        parsed = _parse(spec, value)
        refused = override_refused(key, parsed)
        if refused is not None:
            raise InvalidSetting(refused)
        set_check = spec.metadata.get("set_check")
        if set_check is not None and parsed is not None:
            set_check(parsed)
    except ValueError as exc:
        raise InvalidSetting(f"{key}={value!r} is invalid: {exc} ({accepts(AccountSettings, key)})") from None
    return parsed.value if isinstance(parsed, StrEnum) else parsed
