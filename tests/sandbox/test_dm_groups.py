"""Group DM conversations in the sandbox, as X's spec describes their events: one id with no
"-" for the conversation, MessageCreate, ParticipantsJoin and ParticipantsLeave (with the ids
of who joined or left), each read by the members of its moment. Every answer is checked
against the spec."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.test import Client

from devtools.xsandbox.app import SandboxApp
from devtools.xsandbox.seed import DEMO_CREDENTIALS, OWNER_ID, demo_world
from devtools.xsandbox.world import World
from tests.conftest import FakeClock

FAN, SPAMMER, QUIET = "1700000000000000210", "1700000000000000211", "1700000000000000213"
FIELDS = {"dm_event.fields": "created_at,dm_conversation_id,event_type,text", "expansions": "sender_id,participant_ids",
          "user.fields": "username"}


def read(app: SandboxApp, user_id: str, **params: Any) -> dict[str, Any]:
    token = f"token-of-{user_id}"
    app.world.grant(user_id, DEMO_CREDENTIALS["consumer_key"], token)
    response = Client(app).get("/2/dm_events", query_string=urlencode({**FIELDS, **params}), headers={
        "Authorization": f'OAuth oauth_consumer_key="{DEMO_CREDENTIALS["consumer_key"]}", oauth_token="{token}"'})
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


@pytest.fixture
def world(clock: FakeClock) -> World:
    w, _ = demo_world(clock=clock.now)
    return w


def test_a_groups_events_are_read_by_its_members_of_the_moment(world: World, clock: FakeClock) -> None:
    app = SandboxApp(world, validate=True)
    group = world.create_group(FAN, [OWNER_ID, SPAMMER], "Welcome to the bakers' circle")
    clock.advance(minutes=1)
    world.add_group_dm(SPAMMER, group, "Hi all")
    world.join_group(group, QUIET, added_by=FAN)
    world.leave_group(group, SPAMMER)
    world.add_group_dm(FAN, group, "Who bakes on Sunday?")

    owner = read(app, OWNER_ID)
    kinds = [(e["event_type"], e.get("text"), e.get("participant_ids")) for e in owner["data"]]
    assert kinds == [("MessageCreate", "Who bakes on Sunday?", None), ("ParticipantsLeave", None, [SPAMMER]),
                     ("ParticipantsJoin", None, [QUIET]), ("MessageCreate", "Hi all", None),
                     ("MessageCreate", "Welcome to the bakers' circle", None), ("ParticipantsJoin", None, [OWNER_ID, SPAMMER])]
    assert {e["dm_conversation_id"] for e in owner["data"]} == {group} and "-" not in group
    assert owner["data"][0]["sender_id"] == FAN and owner["data"][2]["sender_id"] == FAN  # who added QUIET
    assert {u["id"] for u in owner["includes"]["users"]} == {FAN, SPAMMER, QUIET, OWNER_ID}
    messages = read(app, OWNER_ID, event_types="MessageCreate")["data"]
    assert [e["text"] for e in messages] == ["Who bakes on Sunday?", "Hi all", "Welcome to the bakers' circle"]
    assert [e["event_type"] for e in read(app, QUIET)["data"]] == ["MessageCreate", "ParticipantsLeave", "ParticipantsJoin"]
    assert "Who bakes on Sunday?" not in [e.get("text") for e in read(app, SPAMMER)["data"]]  # gone before it
    assert world.violations == []


def test_a_group_needs_two_to_forty_nine_participants_and_only_members_write(world: World) -> None:
    with pytest.raises(ValueError, match="2 to 49"):
        world.create_group(FAN, [OWNER_ID], "just us")
    group = world.create_group(FAN, [OWNER_ID, SPAMMER], "hi")
    with pytest.raises(ValueError, match="not in group"):
        world.add_group_dm(QUIET, group, "let me in")


def test_one_to_one_messages_carry_no_participant_ids(world: World) -> None:
    world.add_dm(FAN, OWNER_ID, "hello")
    event = read(SandboxApp(world, validate=True), OWNER_ID)["data"][0]
    assert event["dm_conversation_id"] == f"{OWNER_ID}-{FAN}" and "participant_ids" not in event
