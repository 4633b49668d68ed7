"""One botocore session per process, shared by PynamoDB, Secrets Manager and SES.

Each botocore session loads and caches service models on its own; one session for every
client means each model file is read once per cold start, not once per client. botocore is
used directly (not boto3, whose import costs a cold start about 30 ms for nothing we use).
Created on first use (never at import), kept for the life of the container.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# The AWS services Flockpilot calls (and STS, which credential providers may call).
SERVICES = ("dynamodb", "secretsmanager", "sesv2", "sts")


@cache
def botocore_session() -> Any:
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", _focused_loader(session.get_config_variable("data_path")))
    return session


def _focused_loader(data_path: str | None) -> Any:
    """botocore's data loader, except for one question: before loading a service's model it
    checks the service exists by listing every service directory it ships (about 400, some
    900 directory reads: roughly a third of a client's creation time in a cold start).
    Flockpilot only ever asks for its own few services, so only those are looked for, in the
    same places; an unknown service still raises botocore's UnknownServiceError."""
    import os

    from botocore.loaders import Loader

    class FocusedLoader(Loader):
        def list_available_services(self, type_name: str) -> list[str]:
            found = {
                name for base in self.search_paths for name in SERVICES
                if os.path.isdir(os.path.join(base, name)) and any(
                    self.file_loader.exists(os.path.join(base, name, version, type_name))
                    for version in os.listdir(os.path.join(base, name)))
            }
            return sorted(found)

    return FocusedLoader(extra_search_paths=data_path.split(os.pathsep) if data_path else None)


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
