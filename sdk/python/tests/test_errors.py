"""Exceptions: one class per gRPC code with the google.rpc details decoded (scripted server), and
usage errors and local validation raised before anything is sent."""

from __future__ import annotations

import asyncio
from typing import Any, List

import grpc
import pytest
from fakes import Fail

import otn_client
from otn_client import (
    ERRORS_BY_CODE,
    NO_RETRY,
    AsyncClient,
    Client,
    InvalidArgument,
    OtnError,
    OtnUsageError,
    OtnValidationError,
    v1,
)
from otn_client._base import RPCS
from otn_client._gen.otn.v1 import errors_pb2

CODES = [c for c in grpc.StatusCode if c != grpc.StatusCode.OK]


@pytest.mark.parametrize("code", CODES, ids=[c.name for c in CODES])
def test_every_code_has_its_class(fake: Any, code: grpc.StatusCode) -> None:
    fake.script("GetNotification", Fail(code, f"it is {code.name}", reason="NOTIFICATION_NOT_FOUND",
                                        metadata={"k": "v"}))
    with Client(fake.target, retry=NO_RETRY) as c, pytest.raises(OtnError) as e:
        c.get_notification(notification_id="n-1")
    cls = ERRORS_BY_CODE[code]
    name = "".join(w.capitalize() for w in code.name.split("_"))
    assert type(e.value) is cls and cls.__name__ == name and getattr(otn_client, name) is cls
    assert e.value.code == code and e.value.message == f"it is {code.name}"
    assert e.value.reason == v1.ERROR_REASON_NOTIFICATION_NOT_FOUND and e.value.metadata == {"k": "v"}


def test_every_reason_of_the_contract_is_looked_up_by_name(fake: Any) -> None:
    values = errors_pb2.ErrorReason.DESCRIPTOR.values
    assert len(values) > 10
    for value in values[1:]:
        name = value.name[len("ERROR_REASON_"):]
        fake.script("ListEligible", Fail(grpc.StatusCode.FAILED_PRECONDITION, reason=name))
        with Client(fake.target, retry=NO_RETRY) as c, pytest.raises(otn_client.FailedPrecondition) as e:
            c.list_eligible(page_id="p", topic_key="t")
        assert (e.value.reason, e.value.reason_name) == (value.number, name)
        assert errors_pb2.ErrorReason.Name(e.value.reason) == value.name


def test_an_unknown_reason_keeps_its_name(fake: Any) -> None:
    fake.script("ListEligible", Fail(grpc.StatusCode.FAILED_PRECONDITION, reason="SOMETHING_NEWER"))
    with Client(fake.target, retry=NO_RETRY) as c, pytest.raises(otn_client.FailedPrecondition) as e:
        c.list_eligible(page_id="p", topic_key="t")
    assert e.value.reason == v1.ERROR_REASON_UNSPECIFIED and e.value.reason_name == "SOMETHING_NEWER"
    assert "SOMETHING_NEWER" in str(e.value)


def test_details_are_decoded_in_asyncio_too(fake: Any) -> None:
    fake.script("SendNotification", Fail(grpc.StatusCode.INVALID_ARGUMENT, "bad", violations=[
        ("content.text", "too long"), ("options.regions[0]", "not a region")]))
    fake.script("GetNotification", Fail(grpc.StatusCode.UNAVAILABLE, "later", reason="GRAPH_API_UNAVAILABLE",
                                        retry_delay=1.5))

    async def go() -> Any:
        async with AsyncClient(fake.target, retry=NO_RETRY) as c:
            with pytest.raises(InvalidArgument) as e:
                await c.send_notification(page_id="p", topic_key="t", content={"text": "x"})
            with pytest.raises(otn_client.Unavailable) as u:
                await c.get_notification(notification_id="n")
            return e.value, u.value

    bad, later = asyncio.run(go())
    assert bad.fields == ["content.text", "options.regions[0]"]
    assert [v.description for v in bad.field_violations] == ["too long", "not a region"]
    assert bad.reason == v1.ERROR_REASON_INVALID_FIELD
    assert later.retry_delay == 1.5 and later.reason == v1.ERROR_REASON_GRAPH_API_UNAVAILABLE


def test_a_status_without_details_is_still_typed(fake: Any) -> None:
    fake.script("GetNotification", Fail(grpc.StatusCode.INTERNAL, "internal error"))
    with Client(fake.target, retry=NO_RETRY) as c, pytest.raises(otn_client.Internal) as e:
        c.get_notification(notification_id="n")
    assert e.value.reason_name == "" and e.value.field_violations == [] and e.value.retry_delay is None


# -- usage errors: raised before any network call, never a raw protobuf error --------------------

USAGE = [
    ("unknown keyword", "send_notification", dict(page_idd="p"), "page_idd", "did you mean 'page_id'"),
    ("wrong type", "send_notification", dict(page_id=123), "page_id", "page_id"),
    ("nested unknown key", "send_notification", dict(content={"txt": "x"}), "content.txt", "did you mean 'text'"),
    ("nested wrong type", "send_notification", dict(options={"max_recipients": "ten"}),
     "options.max_recipients", "options.max_recipients"),
    ("a str for a list", "update_recipient", dict(page_id="p", psid="u", add_tags="vip"), "add_tags", "expected a list"),
    ("a str for a nested list", "list_eligible", dict(page_id="p", topic_key="t", tag_filter={"all_of": "vip"}),
     "tag_filter.all_of", "expected a list"),
    ("unknown enum name", "record_opt_in", dict(page_id="p", psid="u", topic_key="t", token="x", kind="FOREVER"),
     "kind", "FOREVER"),
    ("int out of range", "list_eligible", dict(page_id="p", topic_key="t", page_size=2**40), "page_size", "range"),
    ("a message for a str", "get_notification", dict(notification_id=v1.Content()), "notification_id", "got Content"),
    ("wrong request message", "get_notification", dict(request=v1.ListEligibleRequest()), "request",
     "otn.v1.GetNotificationRequest"),
    ("message and fields", "get_notification", dict(request=v1.GetNotificationRequest(), notification_id="n"),
     "notification_id", "not both"),
    ("bad timeout", "get_notification", dict(notification_id="n", timeout=-1), "timeout", "timeout"),
]


@pytest.mark.parametrize("case, method, kwargs, field, text", USAGE, ids=[u[0] for u in USAGE])
def test_usage_errors_name_the_field(fake: Any, case: str, method: str, kwargs: Any, field: str, text: str) -> None:
    request = kwargs.pop("request", None)
    args = (request,) if request is not None else ()
    with Client(fake.target) as c, pytest.raises(OtnUsageError) as e:
        getattr(c, method)(*args, **kwargs)
    assert isinstance(e.value, TypeError) and isinstance(e.value, ValueError)
    assert e.value.field == field and text in str(e.value), str(e.value)

    async def go() -> None:
        async with AsyncClient(fake.target) as a:
            with pytest.raises(OtnUsageError) as ae:
                await getattr(a, method)(*args, **kwargs)
            assert ae.value.field == field

    asyncio.run(go())
    assert fake.attempts == [], "a usage error reached the network"


def test_the_client_arguments_are_checked() -> None:
    for kwargs in (dict(target=""), dict(api_key=""), dict(credentials="tls"), dict(timeout=0)):
        with pytest.raises(OtnUsageError):
            Client(**{"target": "127.0.0.1:1", **kwargs})  # type: ignore[arg-type]


def test_local_validation_reports_every_bad_field_without_a_call(fake: Any) -> None:
    bad = dict(page_id="bad page", topic_key="", content={"button_template": {"text": "x", "buttons": [
        {"title": "b" * 21, "web_url": "ftp://x"}, {"title": "p", "postback_payload": ""}, {"title": "none"}]}},
        options={"max_recipients": -1, "regions": ["DEU"], "message_tag": "HUMAN_AGENT"})
    expected = ["page_id", "topic_key", "content.button_template.buttons[0].title",
                "content.button_template.buttons[0].web_url", "content.button_template.buttons[1].postback_payload",
                "content.button_template.buttons[2].action", "options.max_recipients", "options.regions[0]",
                "options.message_tag"]
    with Client(fake.target) as c:
        with pytest.raises(OtnValidationError) as e:
            c.send_notification(**bad)
        with pytest.raises(InvalidArgument) as o:
            c.request_opt_in(page_id="p", psid="a/b", topic_key="t", title=" " * 3, payload="\x07")
    assert e.value.fields == expected and e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.reason == v1.ERROR_REASON_INVALID_FIELD and e.value.domain == "otn.v1"
    assert all(v.description for v in e.value.field_violations)
    assert o.value.fields == ["psid", "title", "payload"]
    assert fake.attempts == []


def test_validation_can_be_left_to_the_server(fake: Any) -> None:
    fake.script("SendNotification", v1.SendNotificationResponse())
    with Client(fake.target, validate=False) as c:
        c.send_notification(page_id="bad page", topic_key="t", content={"text": "x"})
    assert [a.request.page_id for a in fake.of("SendNotification")] == ["bad page"]


class _Odd:
    """A value no field of any message takes."""

    def __repr__(self) -> str:
        return "<odd>"


def _calls(kind: str, target: str, method: str, cases: Any) -> List[BaseException]:
    """Calls ``method`` once per (args, kwargs) case through a fresh client; the errors raised."""
    raised: List[BaseException] = []
    if kind == "sync":
        with Client(target) as c:
            for args, kwargs in cases:
                try:
                    getattr(c, method)(*args, **kwargs)
                except BaseException as e:  # noqa: BLE001 - collected and checked by the test
                    raised.append(e)
        return raised

    async def go() -> None:
        async with AsyncClient(target) as a:
            for args, kwargs in cases:
                try:
                    result = getattr(a, method)(*args, **kwargs)
                    if asyncio.iscoroutine(result):
                        await result
                except BaseException as e:  # noqa: BLE001
                    raised.append(e)

    asyncio.run(go())
    return raised


@pytest.mark.parametrize("kind", ["sync", "asyncio"])
@pytest.mark.parametrize("rpc", sorted(RPCS))
def test_no_protobuf_error_escapes_from_any_rpc_method(fake: Any, rpc: str, kind: str) -> None:
    """Every field of every request, given a value of the wrong type; an unknown keyword; a
    request message of another type: each is an OtnUsageError naming the argument, nothing sent."""
    cls, method, _ = RPCS[rpc]
    fields = [f.name for f in cls.DESCRIPTOR.fields]
    other = v1.GetNotificationRequest() if cls is not v1.GetNotificationRequest else v1.ListEligibleRequest()
    cases = [((), {f: _Odd()}) for f in fields] + [((), {"no_such_field": 1}), ((other,), {})]
    raised = _calls(kind, fake.target, method, cases)
    assert len(raised) == len(cases), f"{method}: only {len(raised)} of {len(cases)} bad calls raised"
    for (args, kwargs), e in zip(cases, raised):
        assert isinstance(e, OtnUsageError), f"{method}({args}, {kwargs}) raised {type(e).__module__}.{e!r}"
        assert e.field == (next(iter(kwargs)) if kwargs else "request"), (kwargs, e.field, str(e))
    assert fake.attempts == [], "a bad call reached the network"
