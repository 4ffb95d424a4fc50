"""API keys against the real release server, sync and asyncio: a wrong key is UNAUTHENTICATED with
reason API_KEY_INVALID, a key without the scope is PERMISSION_DENIED with SCOPE_MISSING (naming
the scope), a key for other pages PERMISSION_DENIED with PAGE_NOT_ALLOWED; typed, never retried;
the event stream raises them too instead of reconnecting."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from callers import KINDS, Caller
from conftest import OtnServer

from otn_client import PermissionDenied, Unauthenticated, v1

PAGE = "sandbox-page"
TOPIC = "back-in-stock:sku-auth"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def read_only_key(server: OtnServer) -> str:
    """A key with the `read` scope only, made by the binary as the fixture makes the full one."""
    return server.create_api_key("python-read-only", ["read"])


def wrong_keys(server: OtnServer) -> Any:
    assert server.api_key
    valid = server.api_key
    yield valid[:-4] + ("0000" if not valid.endswith("0000") else "1111")  # well-formed, unknown secret
    yield "otn_not_a_key"


def test_a_wrong_api_key_is_unauthenticated_with_reason_api_key_invalid(server: OtnServer, kind: str) -> None:
    for key in wrong_keys(server):
        caller = Caller(kind, server.target, key)
        with pytest.raises(Unauthenticated) as e:
            caller("list_eligible", page_id=PAGE, topic_key=TOPIC)
        err = e.value
        assert err.code == grpc.StatusCode.UNAUTHENTICATED
        assert err.reason == v1.ERROR_REASON_API_KEY_INVALID and err.reason_name == "API_KEY_INVALID"
        assert err.domain == "otn.v1"
        assert caller.recorder.codes("ListEligible") == ["UNAUTHENTICATED"], "an auth refusal was retried"
        with pytest.raises(Unauthenticated) as s:
            caller("send_notification", page_id=PAGE, topic_key=TOPIC, content={"text": "Back!"})
        assert s.value.reason == v1.ERROR_REASON_API_KEY_INVALID


def test_the_event_stream_raises_a_wrong_key_instead_of_reconnecting(server: OtnServer, kind: str) -> None:
    key = next(wrong_keys(server))
    with pytest.raises(Unauthenticated) as e:
        Caller(kind, server.target, key).first_event(page_id=PAGE)
    assert e.value.reason == v1.ERROR_REASON_API_KEY_INVALID


def test_a_key_without_the_scope_is_permission_denied_with_reason_scope_missing(
    server: OtnServer, read_only_key: str, kind: str
) -> None:
    caller = Caller(kind, server.target, read_only_key)
    listed = caller("list_eligible", page_id=PAGE, topic_key=TOPIC)  # `read` is enough
    assert isinstance(listed, v1.ListEligibleResponse)
    for method, fields, scope in [
        ("record_opt_in", dict(page_id=PAGE, psid="py-auth-1", topic_key=TOPIC, token="py-auth-token"), "consent"),
        ("update_recipient", dict(page_id=PAGE, psid="py-auth-1", add_tags=["vip"]), "consent"),
        ("send_notification", dict(page_id=PAGE, topic_key=TOPIC, content={"text": "Back!"}), "send"),
        ("forget_recipient", dict(page_id=PAGE, psid="py-auth-1"), "erase"),
    ]:
        with pytest.raises(PermissionDenied) as e:
            caller(method, **fields)
        err = e.value
        assert err.code == grpc.StatusCode.PERMISSION_DENIED, method
        assert err.reason == v1.ERROR_REASON_SCOPE_MISSING and err.reason_name == "SCOPE_MISSING", method
        assert err.metadata.get("scope") == scope, (method, err.metadata)
    rpcs = ["RecordOptIn", "UpdateRecipient", "SendNotification", "ForgetRecipient"]
    assert [caller.recorder.codes(r) for r in rpcs] == [["PERMISSION_DENIED"]] * 4, "a refusal was retried"


def test_a_key_for_another_page_is_permission_denied_with_reason_page_not_allowed(server: OtnServer,
                                                                                 kind: str) -> None:
    key = server.create_api_key(f"python-other-page-{kind}", ["read", "consent"], pages=["another-page"])
    caller = Caller(kind, server.target, key)
    with pytest.raises(PermissionDenied) as e:
        caller("list_eligible", page_id=PAGE, topic_key=TOPIC)
    assert e.value.reason == v1.ERROR_REASON_PAGE_NOT_ALLOWED and e.value.metadata.get("page_id") == PAGE
    with pytest.raises(PermissionDenied) as s:
        Caller(kind, server.target, key).first_event(page_id=PAGE)
    assert s.value.reason == v1.ERROR_REASON_PAGE_NOT_ALLOWED
    assert caller.recorder.codes("ListEligible") == ["PERMISSION_DENIED"]


def test_the_full_key_and_the_read_key_both_stream(server: OtnServer, read_only_key: str, kind: str) -> None:
    token = server.issue_otn_token(PAGE, "py-auth-streamer")
    Caller(kind, server.target, server.api_key)(
        "record_opt_in", page_id=PAGE, psid="py-auth-streamer", topic_key=f"{TOPIC}-{kind}", token=token)
    ev, _ = Caller(kind, server.target, read_only_key, timeout=10).first_event(topic_key=f"{TOPIC}-{kind}", timeout=30)
    assert ev.type == v1.DELIVERY_EVENT_TYPE_OPT_IN_RECORDED and ev.psid == "py-auth-streamer"
