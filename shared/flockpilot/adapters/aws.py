"""One botocore session per process, shared by PynamoDB, Secrets Manager and SES.

Each botocore session loads and caches service models on its own; one session for every
client means each model file is read once per cold start, not once per client. botocore is
used directly (not boto3, whose import costs a cold start about 30 ms for nothing we use).
Created on first use (never at import), kept for the life of the container.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@cache
def client(service: str, region: str) -> Any:
    """A botocore client on the shared session (endpoints follow AWS_ENDPOINT_URL_<SERVICE>)."""
    from botocore.config import Config

    return botocore_session().create_client(service, region_name=region,
                                            config=Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard"}))


def reset() -> None:
    """Forget the session and its clients (tests that restart local endpoints)."""
    client.cache_clear()
    botocore_session.cache_clear()
