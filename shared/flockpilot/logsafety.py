"""Keep the X secret, AWS credentials, DM bodies and DynamoDB items out of every log, whatever
level anyone sets on the root logger or on the libraries' loggers, now or later.

The libraries that carry them log whole requests and responses below WARNING: botocore's
parsers (response bodies: GetSecretValue's SecretString), endpoint (request params and
headers), auth (canonical request with the session token), awsrequest (request bodies),
utils (instance and container metadata bodies: credentials), discovery and handlers (params);
boto3's resources (params and responses); pynamodb (DynamoDB items); tweepy (request headers
with Authorization, DM bodies); requests-oauthlib and oauthlib (Authorization, signing input,
tokens). A filter on each of those originating loggers drops their records below WARNING
before any handler sees them; a filter, unlike a level, survives a later setLevel(DEBUG).
Everything else still flows, botocore's other modules and urllib3's request lines included
(method, URL and status: no bodies or headers). Their WARNING and ERROR records carry no
bodies and still flow too.
"""

from __future__ import annotations

import importlib.util
import logging
from functools import cache
from pathlib import Path

# Modules whose records below WARNING hold request or response data.
_BODY_LOGGERS = (
    "botocore.parsers", "botocore.endpoint", "botocore.auth", "botocore.awsrequest", "botocore.utils",
    "botocore.discovery", "botocore.handlers",
)
# Packages where every module's records below WARNING are dropped: they carry little else.
_BODY_PACKAGES = ("boto3.resources", "pynamodb", "tweepy", "requests_oauthlib", "oauthlib")


class _DropBelowWarning(logging.Filter):
    """Drops a record below WARNING; used on loggers whose debug records hold request data."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_FILTER = _DropBelowWarning("flockpilot.logsafety")


def _modules(package: str) -> list[str]:
    """Every module name of an installed package, found on disk without importing anything
    (find_spec on a dotted name would import its parent)."""
    top, *sub = package.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    names = [package]
    for location in (spec.submodule_search_locations or []) if spec else []:
        root = Path(location, *sub)
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            names.append(".".join((package, *parts[:-1])) if parts[-1] == "__init__" else ".".join((package, *parts)))
    return names


@cache
def _guarded_names() -> tuple[str, ...]:
    return tuple(sorted({*_BODY_LOGGERS, *(name for package in _BODY_PACKAGES for name in _modules(package))}))


_installed_for = [-1]  # how many loggers existed when the filter was last put on every one


def install_log_redaction() -> None:
    """Put the filter on every logger that can carry a secret or a body (see the module
    docstring). Idempotent and cheap after the first call; imports none of the libraries.
    Call it before the first AWS or X call, e.g. at the top of each handler and CLI command."""
    existing = logging.root.manager.loggerDict
    if len(existing) == _installed_for[0]:
        return  # no logger was made since the last call: every one is covered already
    names = set(_guarded_names())
    # Loggers a library made for modules not on disk under its package (rare) are covered too.
    prefixes = tuple(f"{p}." for p in _BODY_PACKAGES)
    names.update(name for name in existing if name.startswith(prefixes))
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    _installed_for[0] = len(existing)  # getLogger above may have added some: counted after
