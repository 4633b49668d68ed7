"""The shared botocore session's data loader (adapters.aws): faster, and the same data and
endpoints as botocore's own loader."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from flockpilot.adapters.aws import SERVICES, _focused_loader

TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1")


def ordered(data: Any) -> str:
    return json.dumps(data)  # not sorted: key order is part of what is compared


@pytest.fixture(scope="module")
def loaders() -> tuple[Any, Loader]:
    return _focused_loader(None), Loader()


@pytest.mark.parametrize("name", ["endpoints", "partitions", "sdk-default-configuration", "_retry"])
def test_shared_data_is_what_botocore_loads(loaders: tuple[Any, Loader], name: str) -> None:
    ours, stock = loaders
    assert ordered(ours.load_data(name)) == ordered(stock.load_data(name))


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("type_name", TYPES)
def test_service_models_are_what_botocore_loads(loaders: tuple[Any, Loader], service: str, type_name: str) -> None:
    ours, stock = loaders
    try:
        expected = stock.load_service_model(service, type_name)
    except Exception as exc:  # a model botocore does not ship: ours must fail the same way
        with pytest.raises(type(exc)):
            ours.load_service_model(service, type_name)
        return
    assert ordered(ours.load_service_model(service, type_name)) == ordered(expected)
    assert ours.list_available_services(type_name) == sorted(s for s in SERVICES if s in stock.list_available_services(type_name))


def test_an_unknown_service_is_still_refused(loaders: tuple[Any, Loader]) -> None:
    with pytest.raises(UnknownServiceError):
        loaders[0].load_service_model("s3", "service-2")


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1", "eu-central-2"])
@pytest.mark.parametrize("service", ["dynamodb", "secretsmanager", "sesv2"])
def test_clients_resolve_the_same_endpoints(monkeypatch: pytest.MonkeyPatch, region: str, service: str) -> None:
    for name in ("AWS_ENDPOINT_URL", f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    stock = botocore.session.get_session()
    ours = botocore.session.get_session()
    ours.register_component("data_loader", _focused_loader(None))
    keys = {"aws_access_key_id": "a", "aws_secret_access_key": "b", "region_name": region}
    assert ours.create_client(service, **keys).meta.endpoint_url == stock.create_client(service, **keys).meta.endpoint_url
