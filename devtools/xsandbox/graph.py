"""The sandbox's follow graph, indexed both ways: who a user follows and who follows them,
each newest first, with O(1) membership and counts, so a 100,000-follower account stays fast."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload


class Edges(Sequence[str]):
    """One user's side of the graph: user ids, newest edge first.

    Each id carries its edge's rank (the world's sequence number when the follow happened).
    Ids sit in a dict in rank order as long as edges arrive newest last, the usual case, so
    the newest-first view is a reversed copy, built once after each change.
    """

    __slots__ = ("_in_order", "_rank", "_top", "_view")

    def __init__(self) -> None:
        self._rank: dict[str, int] = {}
        self._top = 0
        self._in_order = True
        self._view: list[str] | None = None

    def __len__(self) -> int:
        return len(self._rank)

    def __contains__(self, item: object) -> bool:
        return item in self._rank

    def __iter__(self) -> Iterator[str]:
        return iter(self.newest_first())

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self.newest_first()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Edges | list | tuple):
            return self.newest_first() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like list

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.newest_first()!r})"

    def newest_first(self) -> list[str]:
        """The ids, newest edge first. The list is shared until the next change: do not mutate it."""
        view = self._view
        if view is None:
            rank = self._rank
            view = list(reversed(rank)) if self._in_order else sorted(rank, key=rank.__getitem__, reverse=True)
            self._view = view
        return view

    def _put(self, user_id: str, rank: int) -> None:
        if not self._rank:
            self._in_order, self._top = True, rank
        elif rank > self._top:
            self._top = rank
        else:
            self._in_order = False
        self._rank[user_id] = rank
        self._view = None

    def _drop(self, user_id: str) -> bool:
        if self._rank.pop(user_id, None) is None:
            return False
        self._view = None
        return True


class FollowingList(Edges):
    """`world.following[source]`: reads like the newest-first list it used to be, and its few
    list-style writes (insert at 0, append, remove) keep the followers side indexed too."""

    __slots__ = ("_graph", "_source")

    def __init__(self, graph: FollowGraph, source: str) -> None:
        super().__init__()
        self._graph = graph
        self._source = source

    def insert(self, index: int, target: str) -> None:
        """insert(0, id) follows now (newest); insert(len, id) is append. Other positions are refused."""
        if index == 0:
            self._graph.add(self._source, target)
        elif index >= len(self):
            self.append(target)
        else:
            raise ValueError("the sandbox's following lists take new ids at the front (newest) or the end (oldest) only")

    def append(self, target: str) -> None:
        """Add `target` as the oldest follow (followed before anything recorded so far)."""
        self._graph.add(self._source, target, oldest=True)

    def extend(self, targets: Iterable[str]) -> None:
        for target in targets:
            self.append(target)

    def remove(self, target: str) -> None:
        if not self._graph.remove(self._source, target):
            raise ValueError(f"{target} is not followed by {self._source}")

    def clear(self) -> None:
        for target in list(self._rank):
            self._graph.remove(self._source, target)


class Following(dict[str, FollowingList]):
    """user id -> FollowingList, created on first access like the defaultdict it replaces."""

    def __init__(self, graph: FollowGraph) -> None:
        super().__init__()
        self._graph = graph

    def __missing__(self, source: str) -> FollowingList:
        edges = FollowingList(self._graph, source)
        dict.__setitem__(self, source, edges)
        return edges

    def __setitem__(self, source: str, value: FollowingList) -> None:
        raise TypeError("change the follow graph through World.follow/unfollow or the list's insert/append/remove")

    def __delitem__(self, source: str) -> None:
        raise TypeError("change the follow graph through World.follow/unfollow or the list's remove/clear")


EMPTY = Edges()


class FollowGraph:
    """Both directions of "who follows whom". Ranks come from `next_rank` (the world's
    sequence), so edges made by follow(), bulk builders and list writes interleave in time."""

    def __init__(self, next_rank: Callable[[], int], lock: threading.RLock) -> None:
        self.lock = lock
        self.next_rank = next_rank
        self.following = Following(self)
        self.followers: dict[str, Edges] = {}
        self._oldest = 0  # appended edges rank below everything: 0, -1, -2, ...

    def add(self, source: str, target: str, *, oldest: bool = False) -> bool:
        """`source` follows `target` (now, or before every recorded edge if `oldest`); False if it already did."""
        with self.lock:
            out = self.following[source]
            if target in out:
                return False
            if oldest:
                self._oldest -= 1
                rank = self._oldest
            else:
                rank = self.next_rank()
            out._put(target, rank)
            into = self.followers.get(target)
            if into is None:
                into = self.followers[target] = Edges()
            into._put(source, rank)
            return True

    def remove(self, source: str, target: str) -> bool:
        with self.lock:
            if not self.following[source]._drop(target):
                return False
            self.followers.get(target, EMPTY)._drop(source)
            return True

    def followers_of(self, target: str) -> Edges:
        return self.followers.get(target, EMPTY)

    def add_followers(self, target: str, sources: Iterable[str]) -> int:
        """Each of `sources`, in order, follows `target`: the last is the newest follower."""
        with self.lock:
            return sum(1 for source in sources if self.add(source, target))

    def add_following(self, source: str, targets: Iterable[str]) -> int:
        """`source` follows each of `targets`, in order: the last is the newest follow."""
        with self.lock:
            return sum(1 for target in targets if self.add(source, target))

