"""One botocore session per process, shared by PynamoDB, Secrets Manager and SES.

Each botocore session loads and caches service models on its own; one session for every
client means each model file is read once per cold start, not once per client. Created on
first use (never at import), kept for the life of the container.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@cache
def boto3_session() -> Any:
    import boto3

    return boto3.Session(botocore_session=botocore_session())


@cache
def client(service: str, region: str) -> Any:
    """A boto3 client on the shared session (endpoints follow AWS_ENDPOINT_URL_<SERVICE>)."""
    return boto3_session().client(service, region_name=region)


def reset() -> None:
    """Forget the session and its clients (tests that restart local endpoints)."""
    client.cache_clear()
    boto3_session.cache_clear()
    botocore_session.cache_clear()
