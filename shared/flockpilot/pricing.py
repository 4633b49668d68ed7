"""X API pay-per-use prices, in US dollars. The one table to edit when X changes them.

Reads are charged per resource returned, writes per request (docs "X API pay-per-usage
pricing", checked 2026-11). Flockpilot meters every call against this table.
"""

from __future__ import annotations

from typing import Final

PRICES_USD: Final[dict[str, float]] = {
    # GET /2/users, /2/users/me, other accounts' followers/following: per user returned
    "user_read": 0.010,
    # the app owner's own followers, following, tweets, mentions: per resource returned
    "owned_read": 0.001,
    # GET /2/dm_events: per event returned
    "dm_event_read": 0.010,
    # post lookups: per post returned
    "post_read": 0.005,
    # POST /2/tweets without / with a URL in the text: per request
    "post_create": 0.015,
    "post_create_url": 0.200,
    # follow, repost: per request
    "interaction_create": 0.015,
    # unfollow, undo repost: per request
    "interaction_delete": 0.010,
}
# Assumption, to revisit if X's invoices say otherwise: objects returned under `includes`
# (a follower's most recent post, a mention's author) are not billed; only `data` is.


def price(kind: str) -> float:
    """Dollar price of one billable unit of `kind` (a key of PRICES_USD)."""
    try:
        return PRICES_USD[kind]
    except KeyError:
        raise KeyError(f"no X API price for {kind!r}; known: {', '.join(sorted(PRICES_USD))}") from None
