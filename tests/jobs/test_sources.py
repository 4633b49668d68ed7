"""Follow sources over time: a dry source removed and added again, the limit on your own
followers as sources. On fakes, in UTC, Tokyo and Los Angeles, counting X's requests and bill."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devtools.xsandbox.seed import OWNER_ID
from devtools.xsandbox.world import User
from flockpilot.domain.follow import Source, SourceKind
from flockpilot.jobs.follow import add_account_source
from tests.jobs.conftest import Harness
from tests.jobs.test_follow import DEAD, PEERS, crowd, dead_on_the_avatar_rule, with_sources
from tests.jobs.test_spend import billed, recorded


def test_a_dry_source_removed_and_added_again_is_read_on_and_nobody_is_paid_for_twice(h: Harness) -> None:
    """The other way a person brings a dry source back: `sources remove`, then `sources add`.
    Before, the new source started at its newest followers, the very 200 it was judged on (all
    known by then): 2 requests and $2.00 paid again, nobody found, set aside again. Now the
    removal keeps where it stopped, and adding it back is a take-back: read on from there."""
    dead_on_the_avatar_rule(h)
    h.at_local(10)
    first = h.follow()
    assert first.shortlisted == [] and next(s for s in h.store.sources() if s.source_id == DEAD).dry

    def reads() -> tuple[int, float, list[str]]:
        served = h.world.served_users.get(f"followers:{DEAD}", [])
        return (sum(1 for _, path, _ in h.world.requests_log if path == f"/2/users/{DEAD}/followers"),
                round(len(served) * 0.01, 2), served)

    assert reads()[:2] == (2, 2.0)
    h.env.update(FOLLOW_SKIP_DEFAULT_AVATAR="false")
    assert h.store.remove_source(DEAD, now=h.clock.now())  # sources remove @deadpeer
    assert h.store.sources() == []
    h.at_local(9, days=1)
    outcome = add_account_source(h.store, Source(DEAD, SourceKind.ACCOUNT, "@deadpeer", h.clock.now()))  # sources add
    back = next(s for s in h.store.sources() if s.source_id == DEAD)
    before = billed(h)
    h.at_local(10, days=1)
    second = h.follow()
    requests, usd, served = reads()
    assert len(second.shortlisted) == 30, (second.users_read, second.reasons_out, second.warnings)
    assert "known" not in second.reasons_out  # read on: the 200 it was judged on are not read again
    assert len(served) == len(set(served)) == 200 + second.users_read  # nobody served (and paid for) twice
    assert requests == 3 and usd == pytest.approx(2.0 + second.users_read * 0.01)
    assert billed(h) - before < second.users_read * 0.01 + 0.05  # the rest: the day's sync and users/me
    assert recorded(h) == pytest.approx(billed(h))
    assert outcome == "added back" and back.cursor and not back.dry and (back.read, back.suggested) == (0, 0)
    assert add_account_source(h.store, Source(DEAD, SourceKind.ACCOUNT, "@deadpeer", h.clock.now())) == "already"


def test_dry_follower_sources_give_their_place_to_new_followers(h: Harness) -> None:
    """30 of your followers are sources, all set aside as dry. Before, they filled the limit
    of 30 for good: new followers were never offered as sources and every run found nobody.
    Now the limit counts the sources that can still be read: the oldest dry ones give their
    place (removed, so remembered) to the new followers, who are read that day."""
    with_sources(h)
    for peer in PEERS:
        h.store.remove_source(peer, now=h.clock.now())
    h.env.update(FOLLOW_DAILY_CAP="30", MONTHLY_BUDGET_USD="500")
    crowd(h, 0)
    earlier = h.clock.now() - timedelta(days=60)
    for i in range(30):  # the 40 fans of with_sources follow you; 30 of them were read dry
        h.store.add_source(Source(f"18000000000000000{i:02d}", SourceKind.MY_FOLLOWER, f"@fan{i}",
                                  earlier + timedelta(minutes=i), cursor="1", read=200, suggested=1))
    h.at_local(9)
    h.follow(max=0)  # the first sync: its frontier
    h.env.update(FOLLOW_USE_MY_FOLLOWERS="true")
    new = [f"17100000000000000{k:02d}" for k in range(4)]
    for k, uid in enumerate(new):  # four new followers, each followed by people who pass your filters
        h.world.add_user(User(uid, f"newfan{k}", "New fan", description="bread"))
        h.world.follow(uid, OWNER_ID)
        for j in range(15):
            cid = f"1960000000000{k:02d}{j:04d}"
            h.world.add_user(User(cid, f"c{k}_{j}", "C", description="bread", profile_image_url="https://pbs.twimg.com/p.jpg"))
            h.world.follow(cid, uid)
            h.world.add_post(cid, "hi")
    h.at_local(10, days=1)
    second = h.follow()
    mine = [s for s in h.store.sources() if s.kind is SourceKind.MY_FOLLOWER]
    assert set(new) <= {s.source_id for s in mine} and len(mine) == 30  # never more than 30 of them to read per run
    assert {s.source_id for s in mine if not s.dry} == set(new)
    gone = {f"18000000000000000{i:02d}" for i in range(4)}  # the four oldest dry ones
    assert not gone & {s.source_id for s in mine}
    assert second.shortlisted and set(second.sources_used) <= {f"@newfan{k}" for k in range(4)}, second.sources_used
    # A source that gave its place comes back as it was (dry) if it is offered again: not read from the start.
    h.store.add_source(Source("1800000000000000000", SourceKind.MY_FOLLOWER, "@fan0", h.clock.now()))
    again = next(s for s in h.store.sources() if s.source_id == "1800000000000000000")
    assert again.dry and again.cursor == "1"
