"""The surface: the sync and asyncio clients have one typed method per RPC whose keyword
parameters are exactly the request's fields (so a field added to the contract and regenerated
fails here until the clients take it), and the package under test is the installed one."""

from __future__ import annotations

import importlib.metadata
import inspect
import os
from pathlib import Path
from typing import Any, List, NoReturn

import pytest

import otn_client
from otn_client import AsyncClient, Client
from otn_client._base import RPCS
from otn_client._gen.otn.v1 import service_pb2

PY_DIR = Path(__file__).resolve().parents[1]
HELPERS = {"ListEligible": ["iter_eligible", "iter_eligible_pages"], "ListNotifications": ["iter_notifications"]}


def keyword_params(fn: Any) -> List[str]:
    sig = inspect.signature(fn)
    return [p.name for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY]


def test_every_rpc_of_the_service_has_a_method() -> None:
    service = service_pb2.DESCRIPTOR.services_by_name["NotificationService"]
    assert sorted(m.name for m in service.methods) == sorted(RPCS)
    for m in service.methods:
        cls, _, response = RPCS[m.name]
        assert cls.DESCRIPTOR is m.input_type and response.DESCRIPTOR is m.output_type


@pytest.mark.parametrize("client", [Client, AsyncClient])
@pytest.mark.parametrize("rpc", sorted(RPCS))
def test_keyword_parameters_are_the_request_fields(client: Any, rpc: str) -> None:
    cls, name, response = RPCS[rpc]
    fields = [f.name for f in cls.DESCRIPTOR.fields]
    methods = [name] + HELPERS.get(rpc, [])
    for method in methods:
        fn = getattr(client, method)
        assert keyword_params(fn) == fields + ["timeout"], f"{client.__name__}.{method}"
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        assert params[1].name == "request" and params[1].kind == params[1].POSITIONAL_ONLY
        # **unknown: NoReturn, never **fields: Any: a type checker refuses any keyword that is not
        # a field, and at run time it becomes an OtnUsageError with a suggestion
        assert params[-1].kind == params[-1].VAR_KEYWORD and params[-1].annotation in ("NoReturn", NoReturn), params[-1]
        hinted = [p for p in params[1:-1] if p.annotation is inspect.Parameter.empty]
        assert not hinted, f"{client.__name__}.{method}: parameters without a type hint: {hinted}"
        assert sig.return_annotation is not inspect.Signature.empty
        if method == name and rpc != "StreamDeliveryEvents":
            assert response.__name__ in str(sig.return_annotation), sig.return_annotation
        if client is AsyncClient and method == name and rpc != "StreamDeliveryEvents":
            assert inspect.iscoroutinefunction(fn), f"AsyncClient.{method} is not async"


def test_both_clients_take_the_same_options() -> None:
    assert list(inspect.signature(Client).parameters) == list(inspect.signature(AsyncClient).parameters)


def test_one_version_for_the_workspace() -> None:
    assert otn_client.__version__ == "0.2.0"
    try:
        installed = importlib.metadata.version("otn-client")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("otn-client is not installed: run sdk/python/check.sh (or pip install sdk/python)")
    assert installed == otn_client.__version__


def test_py_typed_is_shipped() -> None:
    assert (Path(otn_client.__file__).parent / "py.typed").is_file()


def test_the_package_under_test_is_the_installed_wheel() -> None:
    """check.sh sets OTN_SDK_TEST_INSTALLED=1: then otn_client must come from site-packages."""
    here = Path(otn_client.__file__).resolve()
    if os.environ.get("OTN_SDK_TEST_INSTALLED") != "1":
        pytest.skip(f"not the installed-wheel run of check.sh: otn_client comes from {here}")
    assert "site-packages" in here.parts, here
    assert PY_DIR not in here.parents, f"otn_client imported from the source tree: {here}"
    dist = importlib.metadata.distribution("otn-client")
    assert dist.read_text("WHEEL") is not None, "installed from something else than a wheel"
    direct = dist.read_text("direct_url.json") or ""
    assert ".whl" in direct, f"not installed from a wheel file: {direct}"
