"""The bench's X worlds and ledgers, built fast and described exactly, so every lower bound
is computed from what was built (the world), never from Flockpilot's code.

Ids: `ident(account, role, i)`; each account of a world has its own owner, followers,
source accounts, candidates (the sources' followers), history people and passers-by.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devtools.xsandbox.world import DEFAULT_AVATAR, User, World

# Roles inside an account's id space.
OWNER, FOLLOWER, SOURCE, CANDIDATE, HISTORY, PASSERBY, NEWCOMER, FILLER = range(8)
BENCH_SECRET_PREFIX = "flockpilot-bench/"
AVATAR = "https://pbs.twimg.com/profile_images/1/bench_normal.jpg"
CANDIDATE_FRIENDS = 12  # each candidate is followed by the next 12 candidates of its source
# README "How following works": the filters' defaults, applied here to the world's own data.
MIN_FOLLOWERS, MAX_FOLLOWERS, MIN_RATIO, MAX_RATIO, ACTIVE_DAYS = 10, 50_000, 0.2, 10.0, 30


def ident(account: int, role: int, i: int) -> str:
    """A numeric X-style user id, unique per (account, role, i)."""
    return str(1_100_000_000_000_000_000 + account * 10**16 + role * 10**13 + i)


@dataclass
class Account:
    """One Flockpilot account in a bench world and what was built around it."""

    index: int
    owner_id: str
    username: str
    creds: dict[str, str]
    followers: list[str] = field(default_factory=list)  # oldest first
    sources: list[str] = field(default_factory=list)
    candidates: dict[str, list[str]] = field(default_factory=dict)  # source -> its followers, newest first

    @property
    def secret_id(self) -> str:
        return f"{BENCH_SECRET_PREFIX}{self.index}"


def candidate_fails(position: int) -> str | None:
    """Why the candidate at `position` (0 = a source's newest follower) fails the default
    filters, or None: it passes. 11 of every 16 pass."""
    if position % 8 == 0:
        return "empty bio"
    if position % 8 == 5:
        return "default avatar"
    if position % 16 == 3:
        return "no post in 30 days"
    return None


def add_account(world: World, index: int, *, followers: int, following_share: float = 0.95, sources: int = 3,
                candidates_per_source: int = 1500, now: datetime) -> Account:
    """An owner with `followers` followers (following `following_share` of them back), and
    `sources` niche accounts whose followers are candidates in a known pass/fail pattern."""
    owner_id = ident(index, OWNER, 0)
    username = f"bench_owner{index}"
    creds = {"consumer_key": f"bench-consumer-{index}", "consumer_secret": "bench-consumer-secret",
             "access_token": f"{owner_id}-benchAccessToken{index}", "access_token_secret": "bench-token-secret"}
    world.add_user(User(owner_id, username, f"Bench Bakery {index}", description="Small-batch sourdough.", profile_image_url=AVATAR))
    world.grant(owner_id, creds["consumer_key"], creds["access_token"])
    account = Account(index, owner_id, username, creds)
    account.followers = [ident(index, FOLLOWER, i) for i in range(followers)]
    world.add_users(User(uid, f"f{index}_{i}", "Follower", description="reads about bread", profile_image_url=AVATAR)
                    for i, uid in enumerate(account.followers))
    world.add_followers(owner_id, account.followers)
    world.add_following(owner_id, account.followers[: round(followers * following_share)])
    for s in range(sources):
        source_id = ident(index, SOURCE, s)
        world.add_user(User(source_id, f"niche{index}_{s}", f"Niche {s}", description="Baking community.", profile_image_url=AVATAR))
        newest_first = [ident(index, CANDIDATE, s * 1_000_000 + p) for p in range(candidates_per_source)]
        users = []
        for p, uid in enumerate(newest_first):
            why = candidate_fails(p)
            users.append(User(uid, f"c{index}_{s}_{p}", f"Candidate {p}",
                              description="" if why == "empty bio" else "I bake bread at home",
                              profile_image_url=DEFAULT_AVATAR if why == "default avatar" else AVATAR))
        world.add_users(users)
        world.add_followers(source_id, list(reversed(newest_first)))  # the last added is the newest
        for p, uid in enumerate(newest_first):
            friends = [newest_first[(p + k) % candidates_per_source] for k in range(1, CANDIDATE_FRIENDS + 1)]
            world.add_followers(uid, friends)
            if candidate_fails(p) != "no post in 30 days":
                world.add_post(uid, f"Today's bake #{p}", at=now - timedelta(days=2))
        account.sources.append(source_id)
        account.candidates[source_id] = newest_first
    return account


def passes_filters(world: World, user_id: str, owner_id: str, now: datetime) -> bool:
    """README's default follow filters, applied to the world's own data for this user."""
    user = world.users[user_id]
    followers = world.follower_count(user_id)
    following = world.following_count(user_id)
    latest = world.latest_post(user_id)
    return (not user.protected and bool(user.description.strip()) and user.profile_image_url != DEFAULT_AVATAR
            and MIN_FOLLOWERS <= followers <= MAX_FOLLOWERS and MIN_RATIO <= following / max(followers, 1) <= MAX_RATIO
            and latest is not None and now - latest.created_at <= timedelta(days=ACTIVE_DAYS)
            and not world.is_following(owner_id, user_id))


def passersby(world: World, account: Account, start: int, count: int) -> list[str]:
    """People who mention you or write to you: default avatar, so never candidates."""
    ids = [ident(account.index, PASSERBY, start + i) for i in range(count)]
    world.add_users(User(uid, f"p{account.index}_{start + i}", f"Passer {start + i}") for i, uid in enumerate(ids))
    return ids


def add_mentions(world: World, account: Account, start: int, count: int, at: datetime) -> list[str]:
    """`count` new posts mentioning the account, by new passers-by; returns the post ids."""
    return [world.add_post(uid, f"@{account.username} your crumb shots are great", at=at).id
            for uid in passersby(world, account, start, count)]


def newcomers(world: World, account: Account, start: int, count: int) -> list[str]:
    """New organic followers (they follow the account now)."""
    ids = [ident(account.index, NEWCOMER, start + i) for i in range(count)]
    world.add_users(User(uid, f"n{account.index}_{start + i}", "Newcomer", description="hi", profile_image_url=AVATAR) for i, uid in enumerate(ids))
    for uid in ids:
        world.follow(uid, account.owner_id)
    return ids


def store_secrets(accounts: Iterable[Account], region: str) -> None:
    """Each account's X credentials as a Secrets Manager secret (moto), as a deployment has."""
    import boto3

    client = boto3.client("secretsmanager", region_name=region)
    for account in accounts:
        try:
            client.create_secret(Name=account.secret_id, SecretString=json.dumps(account.creds))
        except client.exceptions.ResourceExistsException:  # moto keeps its state for the process
            client.put_secret_value(SecretId=account.secret_id, SecretString=json.dumps(account.creds))


def account_environ(account: Account, **settings: str) -> dict[str, str]:
    """The Lambda environment for `account`: the running stack's, its own secret, and settings."""
    import os

    return {**os.environ, "X_SECRET_ID": account.secret_id, **settings}


# --- the ledger ----------------------------------------------------------------------------
def bulk_people(account_id: str, people: Sequence[Any], *, threads: int = 8) -> None:
    """Write many Person records fast: the exact items DynamoLedger.add_person writes (the
    first one is written through add_person and compared), in batches of 25 on 8 threads."""
    from flockpilot.adapters.dynamo.base import Row, connection, raw_query
    from flockpilot.adapters.dynamo.ledger import DynamoLedger

    if not people:
        return
    ledger = DynamoLedger(account_id)
    first, rest = people[0], people[1:]
    if not ledger.add_person(first):
        raise RuntimeError(f"bench ledger: {first.user_id} already stored")
    stored = raw_query(ledger.pk, Row.sk == f"PERSON#{first.user_id}", consistent_read=True)
    built = ledger._person_row(first).serialize()  # the item add_person writes (private: the fast path needs it)
    if stored != [built]:
        raise RuntimeError("bench ledger: DynamoLedger's item shape changed; the bulk writer no longer writes what add_person does")
    items = [ledger._person_row(p).serialize() for p in rest]
    client: Any = connection().client
    table = Row.Meta.table_name

    def write(chunk: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, [items[i:i + 25] for i in range(0, len(items), 25)]))
