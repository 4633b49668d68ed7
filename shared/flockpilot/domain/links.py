"""Links to X profiles, for suggestions and the digest."""

from __future__ import annotations

from urllib.parse import quote


def profile_url(username: str) -> str:
    return f"https://x.com/{quote(username)}"


def follow_url(username: str) -> str:
    return f"https://x.com/intent/follow?screen_name={quote(username)}"
