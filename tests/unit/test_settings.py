from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

import pytest

from flockpilot.domain.errors import InvalidSetting
from flockpilot.settings import (
    BOUNDS,
    AccountSettings,
    Mode,
    account_settings,
    check_new_setting,
    crossed_bounds,
    deployment_env,
    ignored_overrides,
    load_deployment,
    validate_override,
)


def test_defaults_are_safe() -> None:
    settings = account_settings({})
    assert settings.mode is Mode.DRY_RUN
    assert settings.posts_per_day == 10 and settings.pitch_cap == 1


@pytest.mark.parametrize(
    ("env", "named", "accepted"),
    [
        ({"POSTS_PER_DAY": "abc"}, "POSTS_PER_DAY='abc'", "from 0 to 48"),
        ({"POSTS_PER_DAY": "49"}, "POSTS_PER_DAY='49'", "from 0 to 48"),
        ({"MONTHLY_BUDGET_USD": "-1"}, "MONTHLY_BUDGET_USD='-1'", "from 0.0 to 10000.0"),
        ({"MODE": "yolo"}, "MODE='yolo'", "dry-run or live"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE='Mars/Olympus'", "IANA"),
        ({"ACTIVE_HOURS": "22:00-08:00"}, "ACTIVE_HOURS='22:00-08:00'", "end after they start"),
    ],
)
def test_bad_env_value_names_the_variable_and_what_it_accepts(env: dict[str, str], named: str, accepted: str) -> None:
    with pytest.raises(InvalidSetting) as caught:
        account_settings(env)
    assert named in str(caught.value) and accepted in str(caught.value)


def test_posts_that_do_not_fit_the_window_are_refused() -> None:
    with pytest.raises(InvalidSetting, match="do not fit active hours 08:00-10:00"):
        account_settings({"POSTS_PER_DAY": "10", "ACTIVE_HOURS": "08:00-10:00"})


def test_account_override_wins_and_is_named_when_bad() -> None:
    assert account_settings({"POSTS_PER_DAY": "10"}, {"posts_per_day": 4}).posts_per_day == 4
    with pytest.raises(InvalidSetting, match="account setting pitch_cap=9"):
        account_settings({}, {"pitch_cap": 9})


@pytest.mark.parametrize(("env", "stored", "key", "applied"), [
    ({"MODE": "dry-run"}, {"mode": "live"}, "mode", Mode.DRY_RUN),  # a stored live never goes live on its own
    ({"MODE": "live"}, {"mode": "dry-run"}, "mode", Mode.DRY_RUN),  # a stored dry-run pauses a live deployment
    ({"MODE": "live"}, {}, "mode", Mode.LIVE),
    ({"FOLLOW_MODE": "suggest"}, {"follow_mode": "api"}, "follow_mode", "suggest"),
    ({"FOLLOW_MODE": "api"}, {"follow_mode": "suggest"}, "follow_mode", "suggest"),  # what the job stores when X refuses
    ({"PRUNE_MODE": "suggest"}, {"prune_mode": "api"}, "prune_mode", "suggest"),
    ({"TIME_ZONE": "Asia/Tokyo"}, {"time_zone": "America/Los_Angeles"}, "time_zone", "Asia/Tokyo"),  # the schedules' zone
])
def test_a_stored_override_may_only_make_the_deployment_safer(env: dict[str, str], stored: dict[str, str], key: str,
                                                              applied: object) -> None:
    assert getattr(account_settings(env, stored), key) == applied
    assert (key in ignored_overrides(stored)) == (stored.get(key) not in (None, "dry-run", "suggest"))


def test_deployment_env_keeps_only_the_account_settings_it_sets() -> None:
    env = {"TABLE_NAME": "t", "X_SECRET_ID": "s", "TIME_ZONE": "Asia/Tokyo", "MODE": "", "POSTS_PER_DAY": "6", "HOME": "/root"}
    assert deployment_env(env) == {"TIME_ZONE": "Asia/Tokyo", "POSTS_PER_DAY": "6"}


def test_unknown_override_lists_known_settings() -> None:
    with pytest.raises(InvalidSetting, match="known settings: .*posts_per_day"):
        validate_override("post_per_day", "3")


def test_missing_deployment_variables_are_named() -> None:
    with pytest.raises(InvalidSetting, match="TABLE_NAME is not set; X_SECRET_ID is not set"):
        load_deployment({})


def test_endpoint_must_be_a_url() -> None:
    with pytest.raises(InvalidSetting, match="X_API_BASE_URL='localhost:9'"):
        load_deployment({"TABLE_NAME": "t-1", "X_SECRET_ID": "s", "X_API_BASE_URL": "localhost:9"})


@pytest.mark.parametrize("value", ["me@example.com", "me@example.com, partner@example.org", "Me <me@example.com>"])
def test_digest_email_takes_one_or_several_addresses(value: str) -> None:
    assert validate_override("digest_email", value) == value


@pytest.mark.parametrize(("key", "value", "named"), [
    ("digest_email", "notanemail", "'notanemail' is not an email address"),
    ("digest_email", "me@example.com,oops", "'oops' is not an email address"),
    ("follow_languages", "en,xx-!!", "'xx-!!' is not a language code"),
])
def test_a_new_value_is_checked_when_set(key: str, value: str, named: str) -> None:
    with pytest.raises(InvalidSetting, match=named):
        validate_override(key, value)


def test_a_value_stored_before_a_check_existed_does_not_stop_the_runs() -> None:
    settings = account_settings({}, {"follow_languages": "en fr", "digest_email": "Me me@example.com"})
    assert settings.follow_languages == "en fr"  # refused by `settings set` today, still read as stored


@pytest.mark.parametrize(
    ("stored", "key", "message"),
    [
        ({"follow_min_followers": 100_000, "follow_max_followers": 50_000}, "follow_min_followers",
         "follow_min_followers (100000) is above follow_max_followers (50000): no account could pass"),
        ({"follow_min_followers": 100_000, "follow_max_followers": 50_000}, "follow_max_followers",
         "follow_min_followers (100000) is above follow_max_followers (50000): no account could pass"),
        ({"follow_min_ratio": 5.0, "follow_max_ratio": 1.0}, "follow_max_ratio",
         "follow_min_ratio (5) is above follow_max_ratio (1): no account could pass"),
    ],
)
def test_a_new_value_crossing_its_min_max_pair_is_refused_naming_both(stored: dict[str, float], key: str, message: str) -> None:
    settings = account_settings({}, stored)  # a pair stored crossed before the check existed still loads
    with pytest.raises(InvalidSetting) as caught:
        check_new_setting(settings, key)
    assert str(caught.value) == message
    check_new_setting(settings, "posts_per_day")  # another setting's change is not held up by it


def test_every_min_max_pair_is_checked_and_equal_bounds_pass() -> None:
    names = {f.name for f in fields(AccountSettings)}
    pairs = sorted((n, n.replace("_min_", "_max_")) for n in names if "_min_" in n and n.replace("_min_", "_max_") in names)
    assert sorted(BOUNDS) == pairs  # every setting with a min and a max counterpart
    assert crossed_bounds(account_settings({})) == []
    assert crossed_bounds(account_settings({"FOLLOW_MIN_FOLLOWERS": "500", "FOLLOW_MAX_FOLLOWERS": "500",
                                            "FOLLOW_MIN_RATIO": "2", "FOLLOW_MAX_RATIO": "2"})) == []
    both = account_settings({}, {"follow_min_followers": 9, "follow_max_followers": 8, "follow_min_ratio": 3, "follow_max_ratio": 2})
    assert len(crossed_bounds(both)) == 2


@pytest.fixture
def no_system_zones() -> Iterator[None]:
    """A machine without /usr/share/zoneinfo (a minimal Lambda image may be one): zoneinfo
    finds nothing on its search path and falls back to the tzdata package."""
    import zoneinfo

    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        yield
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles", "Europe/London", "UTC"])
def test_time_zones_resolve_without_the_systems_zone_files(no_system_zones: None, zone: str) -> None:
    """The layer ships tzdata (shared/requirements.txt): a TIME_ZONE is accepted and its day has
    its offsets and DST on an image without zone files."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    assert account_settings({"TIME_ZONE": zone}).time_zone == zone
    summer, winter = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    offsets = {"Asia/Tokyo": (9, 9), "America/Los_Angeles": (-7, -8), "Europe/London": (1, 0), "UTC": (0, 0)}[zone]
    got = tuple(int(t.astimezone(ZoneInfo(zone)).utcoffset().total_seconds() // 3600) for t in (summer, winter))  # type: ignore[union-attr]
    assert got == offsets
