from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pytest

from flockpilot.events import DigestEvent, EventRejected, FollowEvent, PostEvent, PruneEvent, ScheduledTick, parse_event

EVENTS = Path(__file__).resolve().parents[2] / "events"
MODELS: dict[str, type[ScheduledTick]] = {"post": PostEvent, "follow": FollowEvent, "digest": DigestEvent, "prune": PruneEvent}


def refusal(model: type[ScheduledTick], event: Any) -> str:
    with pytest.raises(EventRejected) as caught:
        parse_event(model, event)
    return str(caught.value)


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_every_sample_event_validates(path: Path) -> None:
    event = json.loads(path.read_text())
    parsed = parse_event(MODELS[path.name.split("-")[0]], event)
    assert {k: v for k, v in asdict(parsed).items() if k in event} == event  # every field kept its name and value


def test_the_sample_events_cover_every_function() -> None:
    assert {p.name.split("-")[0] for p in EVENTS.glob("*.json")} == set(MODELS)


BAD_EVERYWHERE: list[tuple[dict[str, Any], str]] = [
    ({"trigger": "cron"}, "trigger"),
    ({"trigger": "Schedule"}, "trigger"),
    ({"trigger": 1}, "trigger"),
    ({"id": ""}, "id"),
    ({"id": "x" * 129}, "id"),
    ({"id": "has space"}, "id"),
    ({"id": "line\nbreak"}, "id"),
    ({"id": "tab\there"}, "id"),
    ({"id": "caf\u00e9"}, "id"),
    ({"id": 42}, "id"),
    ({"scheduled_time": "tomorrow"}, "scheduled_time"),
    ({"scheduled_time": "2026-11-25T09:10:00"}, "scheduled_time"),  # no zone
    ({"scheduled_time": "2026-11-25T09:10:00+01:00"}, "scheduled_time"),  # not UTC
    ({"scheduled_time": "2026-13-25T09:10:00Z"}, "scheduled_time"),  # no such month
    ({"scheduled_time": "2026-11-25T09:10:00." + "0" * 40 + "Z"}, "scheduled_time"),
    ({"scheduled_time": "\uff12026-11-25T09:10:00Z"}, "scheduled_time"),  # a full-width digit
    ({"scheduled_time": 1764061800}, "scheduled_time"),
    ({"surprise": True}, "surprise"),
]

BAD_PER_MODEL: list[tuple[type[ScheduledTick], dict[str, Any], str]] = [
    (PostEvent, {"dry_run": "true"}, "dry_run"),
    (PostEvent, {"dry_run": 1}, "dry_run"),
    (PostEvent, {"dry_run": "maybe"}, "dry_run"),
    (PostEvent, {"max_posts": "5"}, "max_posts"),
    (PostEvent, {"max_posts": 5.0}, "max_posts"),
    (PostEvent, {"max_posts": True}, "max_posts"),
    (PostEvent, {"max_posts": 11}, "max_posts"),
    (PostEvent, {"max_posts": -1}, "max_posts"),
    (PostEvent, {"max_post": 2}, "max_post"),
    (PostEvent, {"publish_next": "yes"}, "publish_next"),
    (PostEvent, {"publish_next": None}, "publish_next"),
    (FollowEvent, {"mode": "aggressive"}, "mode"),
    (FollowEvent, {"max": "5"}, "max"),
    (FollowEvent, {"max": 401}, "max"),
    (FollowEvent, {"sync": 0}, "sync"),
    (DigestEvent, {"dry-run": True}, "dry-run"),
    (DigestEvent, {"force": "true"}, "force"),
    (DigestEvent, {"dry_run": "false"}, "dry_run"),
    (PruneEvent, {"reconcile": 1}, "reconcile"),
    (PruneEvent, {"max": 5.5}, "max"),
    (PruneEvent, {"grace": 1}, "grace"),
]


@pytest.mark.parametrize("model", list(MODELS.values()), ids=lambda m: m.__name__)
@pytest.mark.parametrize(("event", "field"), BAD_EVERYWHERE, ids=lambda v: json.dumps(v, ensure_ascii=True)[:40] if isinstance(v, dict) else v)
def test_a_malformed_common_field_is_refused_naming_it(model: type[ScheduledTick], event: dict[str, Any], field: str) -> None:
    why = refusal(model, event)
    assert why.startswith(f"{field}: ") and "\n" not in why and "\r" not in why


@pytest.mark.parametrize(("model", "event", "field"), BAD_PER_MODEL, ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
def test_a_malformed_field_is_refused_naming_it_and_what_it_accepts(model: type[ScheduledTick], event: dict[str, Any], field: str) -> None:
    why = refusal(model, event)
    assert why.startswith(f"{field}: ") and ("accepts" in why or "accepted fields are" in why)
    assert "\n" not in why


def test_explain_names_every_bad_field_in_one_line() -> None:
    why = refusal(PostEvent, {"dry_run": "true", "max_posts": "5", "trigger": "cron", "extra": 1})
    assert why.count("; ") == 3 and "\n" not in why
    assert 'dry_run: got "true", accepts true or false' in why
    assert 'max_posts: got "5", accepts a whole number 0..10' in why
    assert 'trigger: got "cron", accepts "schedule" or "manual"' in why
    assert "extra: unknown field, accepted fields are trigger, id, scheduled_time, dry_run, max_posts, publish_next" in why


def test_an_event_that_is_not_an_object_is_refused() -> None:
    assert refusal(PostEvent, ["dry_run"]).startswith('event: got ["dry_run"], accepts a JSON object with the fields trigger')


def test_explain_never_echoes_a_line_break_or_a_long_value() -> None:
    why = refusal(FollowEvent, {"mode": "x\r\nInjected: yes" + "y" * 200})
    assert "\n" not in why and "\r" not in why and len(why) < 200


@pytest.mark.parametrize("model", list(MODELS.values()), ids=lambda m: m.__name__)
def test_every_field_says_what_it_accepts(model: type[ScheduledTick]) -> None:
    for name in (f.name for f in fields(model)):
        why = refusal(model, {name: {"not": "this"}})
        assert why.startswith(f"{name}: got ") and "Input should" not in why


def test_good_values_still_pass() -> None:
    assert parse_event(PostEvent, {"trigger": "schedule", "id": "c4a0b1e2-0000-4000-8000-000000000001",
                                   "scheduled_time": "2026-11-25T09:10:00.123Z", "dry_run": False, "max_posts": 0}).max_posts == 0
    assert parse_event(FollowEvent, {"scheduled_time": "2026-11-25T09:10:00+00:00", "max": 400, "sync": None}).max == 400
    assert parse_event(DigestEvent, {}).force is False
    assert parse_event(PruneEvent, {"mode": "dry-run", "reconcile": True}).reconcile is True


@pytest.mark.parametrize("value", [10**400 - 1, 10**5000 - 1, 2**20000], ids=["400 digits", "5000 digits", "2**20000"])
def test_a_huge_number_is_refused_naming_the_field_not_crashing(value: int) -> None:
    with pytest.raises(EventRejected) as refused:
        parse_event(PostEvent, {"max_posts": value})
    assert "max_posts" in str(refused.value) and "digit" in str(refused.value) and len(str(refused.value)) < 400


@pytest.mark.parametrize(("model", "overrides"), [
    (PostEvent, [{"dry_run": False}, {"max_posts": 1}, {"publish_next": True}]),
    (FollowEvent, [{"mode": "suggest"}, {"max": 0}, {"sync": False}]),
    (PruneEvent, [{"mode": "api"}, {"max": 3}, {"reconcile": True}]),
    (DigestEvent, [{"dry_run": True}, {"force": True}]),
])
def test_only_the_schedulers_own_tick_is_plain(model: type[ScheduledTick], overrides: list[dict[str, object]]) -> None:
    tick = {"trigger": "schedule", "id": "e-1", "scheduled_time": "2026-11-26T08:05:00Z"}
    assert parse_event(model, tick).plain and parse_event(model, {"trigger": "schedule"}).plain
    assert not parse_event(model, {**tick, "trigger": "manual"}).plain and not parse_event(model, {}).plain
    for override in overrides:
        assert not parse_event(model, {**tick, **override}).plain, override
