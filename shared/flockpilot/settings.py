"""Typed settings: the deployment's environment, and each account's tunables.

Account tunables start from the deployment's environment (template parameters) and can be
overridden per account in DynamoDB (`flockpilot settings set`). Both are validated on every
invocation; a bad value raises InvalidSetting naming the setting and what it accepts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flockpilot.domain.errors import InvalidSetting
from flockpilot.domain.follow import FilterRules
from flockpilot.domain.plan import ActiveHours, MixRules, check_fits


class Mode(StrEnum):
    DRY_RUN = "dry-run"
    LIVE = "live"


class FollowMode(StrEnum):
    SUGGEST = "suggest"
    API = "api"


class AccountSettings(BaseModel):
    """What one account's jobs do. Every field has a safe default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = Field(Mode.DRY_RUN, description="dry-run plans and reports; live writes to X")
    time_zone: str = Field("UTC", description="IANA time zone, e.g. Europe/London")
    active_hours: str = Field("08:00-22:00", description="local posting window HH:MM-HH:MM")
    posts_per_day: int = Field(10, ge=0, le=48)
    link_share: float = Field(0.5, ge=0.0, le=1.0)
    pitch_cap: int = Field(1, ge=0, le=3)
    reposts_per_day: int = Field(2, ge=0, le=20)
    min_gap_minutes: int = Field(30, ge=5, le=240)
    max_posts_per_run: int = Field(3, ge=1, le=10)
    catch_up_minutes: int = Field(120, ge=10, le=720)
    duplicate_cooldown_days: int = Field(14, ge=1, le=365)
    monthly_budget_usd: float = Field(60.0, ge=0.0, le=10000.0)
    digest_email: str | None = Field(None, description="where the daily digest and alerts go")

    digest_reply_template: str = Field(
        "Hi {first_name}, thanks for your message! {invite}",
        description="reply draft; {first_name}, {username} and {invite} are filled in", max_length=500)
    digest_invite: str = Field("Happy to keep talking here.", max_length=280,
                               description="e.g. an invitation to your site or Facebook page")

    # follow
    follow_mode: FollowMode = Field(FollowMode.SUGGEST, description="suggest (you tap follow) or api")
    follow_daily_cap: int = Field(30, ge=0, le=400)
    ratio_tolerance: float = Field(0.10, ge=0.0, le=0.5)
    follow_sources_per_run: int = Field(3, ge=1, le=10)
    follow_keywords: str = Field("", description="comma-separated words; bios with them rank higher")
    follow_exclude_keywords: str = Field("", description="comma-separated words that rule a bio out")
    follow_require_keyword: bool = Field(False, description="only suggest bios with a keyword")
    follow_min_followers: int = Field(10, ge=0, le=10_000_000)
    follow_max_followers: int = Field(50_000, ge=1, le=100_000_000)
    follow_min_ratio: float = Field(0.2, ge=0.0, le=100.0)
    follow_max_ratio: float = Field(10.0, ge=0.0, le=1000.0)
    follow_active_days: int = Field(30, ge=1, le=3650)
    follow_languages: str = Field("", description="comma-separated language codes, e.g. en,fr; empty: any")
    follow_skip_protected: bool = True
    follow_skip_default_avatar: bool = True
    follow_skip_empty_bio: bool = True
    follow_use_my_followers: bool = Field(True, description="also look among your own followers' followers")
    follow_use_mentions: bool = Field(True, description="also suggest people who mention you")

    # prune
    prune_mode: FollowMode = Field(FollowMode.SUGGEST, description="suggest (you tap unfollow) or api")
    prune_grace_days: int = Field(7, ge=3, le=90)
    prune_daily_cap: int = Field(30, ge=0, le=400)
    prune_outside_inactive_days: int = Field(0, ge=0, le=3650,
                                             description="0: never touch follows made outside Flockpilot; N: prune those silent N days")
    reconcile_every_days: int = Field(30, ge=1, le=365, description="re-verify each person who followed back this often")
    reconcile_monthly_usd: float | None = Field(
        None, ge=0.0, le=1000.0,
        description="X spend a month for re-verifying people who followed back; unset: one pass every "
                    "reconcile_every_days, within 8% of each day's budget")
    churn_max_quick_share: float = Field(0.5, ge=0.0, le=1.0)
    churn_max_ratio: float = Field(1.5, ge=0.1, le=10.0)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/London") from None
        return value

    @field_validator("active_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        try:
            ActiveHours.parse(value)
        except InvalidSetting as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _posts_fit_window(self) -> AccountSettings:
        try:
            check_fits(self.window, self.posts_per_day, self.min_gap_minutes)
        except InvalidSetting as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def window(self) -> ActiveHours:
        return ActiveHours.parse(self.active_hours)

    @property
    def follow_filters(self) -> FilterRules:
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


class Deployment(BaseModel):
    """Where things are: table, secret, endpoints. Comes from the Lambda environment."""

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=3, max_length=255)
    x_secret_id: str = Field(min_length=1)
    x_api_base_url: str | None = None
    x_timeout_seconds: float = Field(10.0, gt=0, le=60)
    secret_max_age_seconds: int = Field(300, ge=0, le=86400)
    region: str = "us-east-1"
    dynamodb_endpoint: str | None = None
    sender_email: str | None = None
    outbox_dir: str | None = None

    @field_validator("x_api_base_url", "dynamodb_endpoint")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")


# Environment variable for each account setting that the template can set.
ENV_FOR_ACCOUNT = {name: name.upper() for name in AccountSettings.model_fields}
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


def _accepts(model: type[BaseModel], name: str) -> str:
    field = model.model_fields.get(name)
    if field is None:
        return f"known settings: {', '.join(sorted(model.model_fields))}"
    bounds = {type(m).__name__: m for m in field.metadata}
    lo = getattr(bounds.get("Ge"), "ge", None)
    hi = getattr(bounds.get("Le"), "le", None)
    kind = getattr(field.annotation, "__name__", str(field.annotation))
    if lo is not None and hi is not None:
        return f"accepts {kind} from {lo} to {hi}"
    if isinstance(field.annotation, type) and issubclass(field.annotation, StrEnum):
        return "accepts " + " or ".join(m.value for m in field.annotation)
    return f"accepts {field.description or kind}"


def _explain(model: type[BaseModel], error: ValidationError, names: Mapping[str, str], raw: Mapping[str, Any]) -> InvalidSetting:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        label = names.get(field, field) if field else "settings"
        value = raw.get(field, "<missing>") if field else ""
        if item["type"] == "extra_forbidden":
            problems.append(f"{label}: unknown setting; {_accepts(model, '')}")
        elif item["type"] == "missing":
            problems.append(f"{label} is not set")
        elif field:
            msg = item["msg"].removeprefix("Value error, ")
            problems.append(f"{label}={value!r} is invalid: {msg} ({_accepts(model, field)})")
        else:
            problems.append(item["msg"].removeprefix("Value error, "))
    return InvalidSetting("; ".join(problems))


def load_deployment(environ: Mapping[str, str] | None = None) -> Deployment:
    env = os.environ if environ is None else environ
    raw = {k: env[v] for k, v in ENV_FOR_DEPLOYMENT.items() if env.get(v) not in (None, "")}
    try:
        return Deployment(**raw)
    except ValidationError as exc:
        raise _explain(Deployment, exc, ENV_FOR_DEPLOYMENT, raw) from None


def account_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> AccountSettings:
    """Defaults, then the environment, then the account's own overrides from the store."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {k: env[v] for k, v in ENV_FOR_ACCOUNT.items() if env.get(v) not in (None, "")}
    names = dict(ENV_FOR_ACCOUNT)
    for key, value in (overrides or {}).items():
        raw[key] = value
        names[key] = f"account setting {key}"
    try:
        return AccountSettings(**raw)
    except ValidationError as exc:
        raise _explain(AccountSettings, exc, names, raw) from None


def validate_override(key: str, value: str) -> Any:
    """Parse one `settings set KEY VALUE` into the value to store, or say what is wrong."""
    if key not in AccountSettings.model_fields:
        raise InvalidSetting(f"{key}: unknown setting; {_accepts(AccountSettings, '')}")
    try:
        parsed = AccountSettings.model_validate({key: value}).model_dump(mode="json")[key]
    except ValidationError as exc:
        raise _explain(AccountSettings, exc, {key: key}, {key: value}) from None
    return parsed
