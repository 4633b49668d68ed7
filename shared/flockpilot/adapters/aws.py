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
    """botocore's data loader, except in two ways that cost a cold start time for nothing:
    1. Before loading a service's model botocore checks the service exists by listing every
       service directory it ships (about 400, some 900 directory reads: roughly a third of a
       client's creation time). Flockpilot only ever asks for its own few services, so only
       those are looked for, in the same places; an unknown service still raises botocore's
       UnknownServiceError.
    2. botocore parses its JSON data into OrderedDicts; plain dicts keep the same order and
       parse twice as fast (the first client's 1.25 MB endpoints.json: 16 ms -> 7 ms). No
       botocore code depends on the type (tests/unit/test_aws_session.py compares the data,
       key order included, and the endpoints clients resolve, with botocore's own loader)."""
    import gzip
    import json
    import os

    from botocore.loaders import JSONFileLoader, Loader

    class PlainJSONFileLoader(JSONFileLoader):
        def load_file(self, file_path: str) -> Any:
            for extension, opener in ((".json", open), (".json.gz", gzip.open)):  # botocore's order
                if os.path.isfile(file_path + extension):
                    with opener(file_path + extension, "rb") as fh:
                        return json.loads(fh.read().decode("utf-8"))
            return None

    class FocusedLoader(Loader):
        def list_available_services(self, type_name: str) -> list[str]:
            found = {
                name for base in self.search_paths for name in SERVICES
                if os.path.isdir(os.path.join(base, name)) and any(
                    self.file_loader.exists(os.path.join(base, name, version, type_name))
                    for version in os.listdir(os.path.join(base, name)))
            }
            return sorted(found)

    return FocusedLoader(extra_search_paths=data_path.split(os.pathsep) if data_path else None,
                         file_loader=PlainJSONFileLoader())


# SES's SendEmail is not idempotent: botocore's own retry after a read timeout or a dropped
# connection could mail the digest twice. It gets one attempt; adapters/mail.py tells what may
# have gone out (MailMaybeSent) from what surely did not (retried by Lambda's retry of the run).
_ATTEMPTS = {"sesv2": 1}


@cache
def client(service: str, region: str) -> Any:
    """A botocore client on the shared session (endpoints follow AWS_ENDPOINT_URL_<SERVICE>)."""
    from botocore.config import Config

    retries: Any = {"mode": "standard", "total_max_attempts": _ATTEMPTS.get(service, 3)}
    return botocore_session().create_client(service, region_name=region,
                                            config=Config(connect_timeout=3, read_timeout=10, retries=retries))


def reset() -> None:
    """Forget the session and its clients (tests that restart local endpoints)."""
    client.cache_clear()
    botocore_session.cache_clear()
