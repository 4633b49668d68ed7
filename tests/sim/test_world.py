"""The simulator's world behaves as the model says and enforces what X enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from werkzeug.test import Client

from devtools.simulate.person import Mailbox, Person, suggestions_in
from devtools.simulate.world import ACCESS_TOKEN, CONSUMER_KEY, OWNER_ID, SimApp, SimWorld, hour_curve
from tests.conftest import FakeClock

AUTH = {"Authorization": f'OAuth oauth_consumer_key="{CONSUMER_KEY}", oauth_token="{ACCESS_TOKEN}"'}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, tzinfo=UTC))


def small_world(clock: FakeClock, *, seed: int = 7, followers: int = 100, following: int = 80) -> SimWorld:
    return SimWorld(seed=seed, followers=followers, following=following, community_size=400, clock=clock.now, follow_permitted=True)


def strangers(sim: SimWorld) -> list[str]:
    """People of a niche community: nobody the owner follows at the start."""
    return [uid for uid, p in sim.personas.items() if p.community == "ovenspring"]


def pass_hours(sim: SimWorld, clock: FakeClock, hours: int) -> None:
    for _ in range(hours):
        clock.advance(hours=1)
        sim.hour(clock.now())


def api(sim: SimWorld) -> Client:
    return Client(SimApp(sim, validate=False, local_hour=lambda at: at.hour))


def test_people_follow_back_at_their_community_hidden_rate(clock: FakeClock) -> None:
    sim = small_world(clock)
    crumbclub = [uid for uid, p in sim.personas.items() if p.community == "crumbclub"][:400]
    for uid in crumbclub:
        sim.world.follow(OWNER_ID, uid)
        sim.owner_followed(uid, clock.now())
    pass_hours(sim, clock, 24 * 6)
    rate = sum(1 for uid in crumbclub if sim.world.is_following(uid, OWNER_ID)) / len(crumbclub)
    assert abs(rate - sim.communities["crumbclub"].rate) < 0.08  # 400 draws: about 3 standard errors


def test_followers_leave_at_about_the_daily_churn_rate(clock: FakeClock) -> None:
    sim = small_world(clock, followers=1000, following=100)
    pass_hours(sim, clock, 24 * 10)
    churned = sum(t.churned for t in sim.tally.values())
    assert 5 <= churned <= 45  # expected 1000 x 0.2% x 10 = 20


def _organic_after_posting(clock: FakeClock, quality: float) -> int:
    sim = small_world(clock, seed=3)
    sim.quality["Crumb shot"] = quality
    clock.current = clock.current.replace(hour=12)
    api(sim).post("/2/tweets", json={"text": "Crumb shot"}, headers=AUTH)
    pass_hours(sim, clock, 48)
    return sum(t.organic for t in sim.tally.values())


def test_better_posts_bring_more_followers(clock: FakeClock) -> None:
    assert _organic_after_posting(clock, 9.0) > _organic_after_posting(FakeClock(clock.now()), 0.1)


def test_a_post_earns_its_figures_over_hours_and_more_at_peak_hours(clock: FakeClock) -> None:
    sim = small_world(clock)
    clock.current = clock.current.replace(hour=12)
    api(sim).post("/2/tweets", json={"text": "Steam is the secret"}, headers=AUTH)
    post = sim.world.latest_post(OWNER_ID)
    assert post is not None
    early = sim.metrics(post, clock.now() + timedelta(hours=1))["impressions"]
    late = sim.metrics(post, clock.now() + timedelta(hours=30))["impressions"]
    assert 0 < early < late
    assert hour_curve(12.5) > 2 * hour_curve(3)


def test_the_world_refuses_a_follow_past_x_daily_limit(clock: FakeClock) -> None:
    sim = small_world(clock)
    app = SimApp(sim, validate=False, local_hour=lambda at: at.hour)
    app.limits.follows += [clock.now() - timedelta(hours=1)] * 400
    target = strangers(sim)[0]
    response = Client(app).post(f"/2/users/{OWNER_ID}/following", json={"target_user_id": target}, headers=AUTH)
    assert response.status_code == 403
    assert not sim.world.is_following(OWNER_ID, target)


def test_the_world_refuses_follows_past_5000_unless_followers_keep_up(clock: FakeClock) -> None:
    sim = small_world(clock)
    sim.world.add_following(OWNER_ID, [str(10**18 + i) for i in range(5000)])
    target = strangers(sim)[0]
    response = api(sim).post(f"/2/users/{OWNER_ID}/following", json={"target_user_id": target}, headers=AUTH)
    assert response.status_code == 403


def test_a_duplicate_text_is_refused_within_the_window_and_accepted_after(clock: FakeClock) -> None:
    sim = small_world(clock)
    client = api(sim)
    assert client.post("/2/tweets", json={"text": "Knead less"}, headers=AUTH).status_code == 201
    clock.advance(days=3)
    assert client.post("/2/tweets", json={"text": "Knead less"}, headers=AUTH).status_code == 403
    clock.advance(days=5)
    assert client.post("/2/tweets", json={"text": "Knead less"}, headers=AUTH).status_code == 201


def test_a_follow_of_someone_already_followed_is_logged_as_redundant(clock: FakeClock) -> None:
    sim = small_world(clock)
    client, target = api(sim), strangers(sim)[0]
    for _ in range(2):
        client.post(f"/2/users/{OWNER_ID}/following", json={"target_user_id": target}, headers=AUTH)
    assert [a.redundant for a in sim.actions if a.kind == "follow"] == [False, True]


def test_everyone_outside_the_graph_shows_their_declared_audience(clock: FakeClock) -> None:
    sim = small_world(clock)
    uid = next(iter(sim.personas))
    body: Any = api(sim).get(f"/2/users?ids={uid}&user.fields=public_metrics", headers=AUTH).get_json()
    assert body["data"][0]["public_metrics"]["followers_count"] >= sim.personas[uid].followers_base


DIGEST = """Flockpilot digest - @flockpilot_sim - Monday 02 March 2026

FOLLOW SUGGESTIONS
- @{a}: https://x.com/intent/follow?screen_name={a}
    A · 10 followers (score 0.40)
- @{b}: https://x.com/intent/follow?screen_name={b}
    B · 12 followers (score 0.30)

PRUNE SUGGESTIONS
- @{c}: https://x.com/{c}
    C (followed 9 days ago, has not followed back)

POSTS: published today 0
"""


def test_the_person_reads_the_digest_and_acts_on_it_the_next_morning(clock: FakeClock) -> None:
    sim = small_world(clock)
    a, b, c = (sim.world.users[u].username for u in strangers(sim)[:3])
    sim.world.follow(OWNER_ID, sim.by_username[c])
    mailbox = Mailbox(clock)
    mailbox.send(region="", sender="", recipients=[], subject="digest", html="", text=DIGEST.format(a=a, b=b, c=c))
    assert suggestions_in(DIGEST.format(a=a, b=b, c=c)) == ([a, b], [c])
    person = Person(sim, mailbox, share=1.0, seed=1)
    assert person.act(clock.now() + timedelta(hours=9)) == (2, 1)
    assert sim.world.is_following(OWNER_ID, sim.by_username[a]) and not sim.world.is_following(OWNER_ID, sim.by_username[c])
    assert person.act(clock.now() + timedelta(days=1)) == (0, 0)  # each digest is read once
