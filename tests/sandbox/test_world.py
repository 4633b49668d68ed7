"""The World's indexes answer exactly what a scan of its edges and posts would, only faster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.xsandbox import Fault, Post, PostMetrics, User, World

T0 = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
IDS = [str(1_800_000_000_000_000_000 + i) for i in range(6)]


class ReferenceGraph:
    """The follow graph as the sandbox first kept it: lists newest first and stamped edges, scanned."""

    def __init__(self) -> None:
        self.following: dict[str, list[str]] = {}
        self.stamp: dict[tuple[str, str], int] = {}
        self.newest = 0
        self.oldest = 0

    def follow(self, source: str, target: str) -> None:
        out = self.following.setdefault(source, [])
        if target not in out:
            out.insert(0, target)
            self.newest += 1
            self.stamp[(source, target)] = self.newest

    def append(self, source: str, target: str) -> None:
        out = self.following.setdefault(source, [])
        if target not in out:
            out.append(target)
            self.oldest -= 1
            self.stamp[(source, target)] = self.oldest

    def unfollow(self, source: str, target: str) -> None:
        if target in self.following.get(source, []):
            self.following[source].remove(target)
            del self.stamp[(source, target)]

    def followers_of(self, user_id: str) -> list[str]:
        return [s for _, s in sorted(((n, s) for (s, t), n in self.stamp.items() if t == user_id), reverse=True)]


operations = st.lists(st.tuples(st.sampled_from(["follow", "unfollow", "append", "bulk_followers", "bulk_following"]),
                                st.sampled_from(IDS), st.sampled_from(IDS), st.lists(st.sampled_from(IDS), max_size=4)),
                      max_size=60)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_indexed_graph_matches_a_scan_of_its_edges(ops: list[tuple[str, str, str, list[str]]]) -> None:
    world, ref = World(), ReferenceGraph()
    for op, a, b, many in ops:
        if op == "follow":
            world.follow(a, b)
            ref.follow(a, b)
        elif op == "unfollow":
            world.unfollow(a, b)
            ref.unfollow(a, b)
        elif op == "append":
            world.following[a].append(b)
            ref.append(a, b)
        elif op == "bulk_followers":
            world.add_followers(b, many)
            for source in many:
                ref.follow(source, b)
        else:
            world.add_following(a, many)
            for target in many:
                ref.follow(a, target)
    for user in IDS:
        assert world.followers_of(user) == ref.followers_of(user)
        assert list(world.following[user]) == ref.following.get(user, [])
        assert world.follower_count(user) == len(ref.followers_of(user))
        assert world.following_count(user) == len(ref.following.get(user, []))


def test_refollowing_makes_the_follower_newest_again() -> None:
    world = World()
    world.add_followers("1", ["10", "11", "12"])
    assert world.followers_of("1") == ["12", "11", "10"]
    assert world.unfollow("10", "1") and world.follow("10", "1")
    assert world.followers_of("1") == ["10", "12", "11"]
    assert not world.follow("10", "1")


def test_bulk_builders_skip_existing_edges_and_count_new_ones() -> None:
    world = World()
    world.follow("10", "1")
    assert world.add_followers("1", ["10", "11", "11"]) == 1
    assert world.add_following("1", ["10", "11"]) == 2
    assert world.followers_of("1") == ["11", "10"] and list(world.following["1"]) == ["11", "10"]


def test_following_lists_refuse_writes_that_would_bypass_the_index() -> None:
    world = World()
    with pytest.raises(TypeError):
        world.following["1"] = ["2"]  # type: ignore[assignment]
    world.follow("1", "2")
    with pytest.raises(ValueError):
        world.following["1"].remove("3")
    world.following["1"].remove("2")
    assert world.followers_of("2") == []


def test_posts_are_indexed_per_author_newest_first_whatever_the_insertion_order() -> None:
    world = World(clock=lambda: T0)
    late = world.add_post("1", "late", at=T0)
    early = world.add_post("1", "early", at=T0 - timedelta(days=2))
    world.add_post("2", "someone else")
    assert [p.text for p in world.posts_by("1")] == ["late", "early"]
    assert world.post_count("1") == 2 and world.latest_post("1") is late
    del world.posts[late.id]
    assert world.latest_post("1") is early and world.post_count("1") == 1
    world.posts.clear()
    assert world.posts_by("1") == [] and world.latest_post("2") is None


def test_posts_written_straight_into_the_table_are_indexed() -> None:
    world = World()
    post = Post("1460000000000000000", "7", "by hand", T0)
    world.posts[post.id] = post
    assert world.latest_post("7") is post and world.post_count("7") == 1


def test_a_reply_joins_the_thread_of_the_post_it_answers() -> None:
    world = World(clock=lambda: T0)
    root = world.add_post("1", "root")
    first = world.add_post("2", "first reply", in_reply_to_id=root.id)
    second = world.add_post("1", "reply to the reply", in_reply_to_id=first.id)
    assert (first.in_reply_to_id, first.in_reply_to_user_id, first.conversation_id) == (root.id, "1", root.id)
    assert (second.in_reply_to_user_id, second.conversation_id) == ("2", root.id)
    assert world.replies_to(root.id) == [first]
    del world.posts[first.id]
    assert world.replies_to(root.id) == []


def test_set_metrics_changes_only_the_figures_named() -> None:
    world = World(clock=lambda: T0)
    post = world.add_post("1", "hello")
    world.set_metrics(post.id, likes=3, impressions=100)
    world.set_metrics(post.id, replies=1)
    assert world.metrics_of(post) == PostMetrics(likes=3, replies=1, impressions=100)
    assert world.metrics_of(post).engagement_total == 4
    with pytest.raises(TypeError, match="retweets"):
        world.set_metrics(post.id, retweets=2)
    with pytest.raises(KeyError):
        world.set_metrics("404", likes=1)


def test_metrics_model_computes_figures_at_read_time_over_the_stored_ones() -> None:
    now = [T0]
    world = World(clock=lambda: now[0])
    post = world.add_post("1", "hello")
    world.set_metrics(post.id, bookmarks=2)
    world.metrics_model = lambda p, at: {"impressions": int((at - p.created_at).total_seconds() // 60)}
    now[0] = T0 + timedelta(hours=1)
    assert world.metrics_of(post) == PostMetrics(bookmarks=2, impressions=60)
    assert post.metrics == PostMetrics(bookmarks=2)  # the model never writes back


def test_bulk_users_are_added_at_once() -> None:
    world = World()
    assert world.add_users(User(str(i), f"u{i}", "U") for i in range(5)) == 5
    assert len(world.users) == 5


def test_faults_know_their_kinds_and_default_delays() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("reset")
    assert Fault("timeout").delay == 2.0 and Fault("commit_then_timeout").delay == 2.0
    assert Fault("connection_reset").delay == 0.0 and Fault("commit_then_reset").delay == 0.0
    assert Fault("connection_reset", delay_seconds=0.05).delay == 0.05
