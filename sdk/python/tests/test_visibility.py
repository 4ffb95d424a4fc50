"""Retries you can see, against a scripted server, sync and asyncio: one ``x-request-id`` on every
attempt of a call (the request's request_id where it has one), the server's answer and the attempt
count kept on the raised error, and every retry reported to ``on_retry`` and the logger, never
with the API key."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, List

import grpc
import pytest
from fakes import Fail

from otn_client import AsyncClient, Client, FailedPrecondition, RetryEvent, RetryPolicy, Unavailable, v1

KEY = "k-secret-visible-never"
FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.02)
U = grpc.StatusCode.UNAVAILABLE


@pytest.fixture(params=["sync", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def call(kind: str, target: str, method: str, fields: Any, **client_kw: Any) -> Any:
    client_kw.setdefault("retry", FAST)
    if kind == "sync":
        with Client(target, api_key=KEY, **client_kw) as c:
            return getattr(c, method)(**fields)

    async def go() -> Any:
        async with AsyncClient(target, api_key=KEY, **client_kw) as c:
            return await getattr(c, method)(**fields)

    return asyncio.run(go())


def sent_ids(fake: Any, rpc: str) -> List[str]:
    return [a.metadata.get("x-request-id", "") for a in fake.of(rpc)]


def test_one_request_id_on_every_attempt_kept_on_the_error(fake: Any, kind: str) -> None:
    fake.script("GetNotification", Fail(U, "down"), Fail(U, "down"), Fail(grpc.StatusCode.NOT_FOUND, "no"))
    with pytest.raises(Exception) as e:
        call(kind, fake.target, "get_notification", {"notification_id": "n-1"})
    ids = sent_ids(fake, "GetNotification")
    assert len(ids) == 3 and len(set(ids)) == 1, ids
    assert uuid.UUID(ids[0]).version == 4
    assert getattr(e.value, "attempts", None) == 3
    assert getattr(e.value, "request_id", None) == f"fake-{ids[0]}", "the server's answer is kept"


def test_a_send_uses_its_request_id_as_the_request_id_header(fake: Any, kind: str) -> None:
    fake.script("SendNotification", Fail(U), v1.SendNotificationResponse())
    call(kind, fake.target, "send_notification", {"page_id": "p", "topic_key": "t", "content": {"text": "hi"},
                                                   "request_id": "send-42"})
    assert sent_ids(fake, "SendNotification") == ["send-42", "send-42"]


def test_a_request_id_metadata_cannot_carry_gets_a_uuid_header(fake: Any, kind: str) -> None:
    fake.script("SendNotification", v1.SendNotificationResponse())
    call(kind, fake.target, "send_notification", {"page_id": "p", "topic_key": "t", "content": {"text": "hi"},
                                                   "request_id": "not a header value é"}, validate=False)
    [sent] = sent_ids(fake, "SendNotification")
    assert uuid.UUID(sent).version == 4
    assert fake.of("SendNotification")[0].request.request_id == "not a header value é"


def test_the_callers_own_request_id_header_wins(fake: Any, kind: str) -> None:
    fake.script("ListEligible", v1.ListEligibleResponse())
    call(kind, fake.target, "list_eligible", {"page_id": "p", "topic_key": "t"}, metadata=[("x-request-id", "mine")])
    assert sent_ids(fake, "ListEligible") == ["mine"]


def test_the_stream_sends_one_request_id_on_every_connection(fake: Any) -> None:
    from fakes import END, HANG, Events

    fake.script("StreamDeliveryEvents", Events([1], then=END), Events([2], then=HANG))
    with Client(fake.target, stream_retry=RetryPolicy(max_attempts=None, deadline=None, initial_backoff=0.01)) as c:
        with c.stream_delivery_events() as s:
            assert [next(s).sequence, next(s).sequence] == [1, 2]
    ids = sent_ids(fake, "StreamDeliveryEvents")
    assert len(ids) == 2 and ids[0] == ids[1] and uuid.UUID(ids[0])


def test_on_retry_is_called_with_method_attempt_code_and_delay(fake: Any, kind: str) -> None:
    fake.script("GetNotification", Fail(U, retry_delay=0.05), Fail(grpc.StatusCode.ABORTED), v1.GetNotificationResponse())
    events: List[RetryEvent] = []
    call(kind, fake.target, "get_notification", {"notification_id": "n-1"}, on_retry=events.append,
         retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0))
    assert [(e.method, e.attempt, e.code, e.delay) for e in events] == [
        ("GetNotification", 1, U, pytest.approx(0.05)), ("GetNotification", 2, grpc.StatusCode.ABORTED, 0.0)]
    assert {e.request_id for e in events} == set(sent_ids(fake, "GetNotification"))
    assert all(isinstance(e.error, Unavailable) for e in events[:1])


def test_an_on_retry_hook_that_raises_ends_the_call(fake: Any, kind: str) -> None:
    fake.script("GetNotification", Fail(U), v1.GetNotificationResponse())

    def stop(e: RetryEvent) -> None:
        raise RuntimeError(f"no retry of {e.method}")

    with pytest.raises(RuntimeError, match="no retry of GetNotification"):
        call(kind, fake.target, "get_notification", {"notification_id": "n-1"}, on_retry=stop)
    assert len(fake.of("GetNotification")) == 1


def test_retries_are_logged_without_the_api_key(fake: Any, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    fake.script("RequestOptIn", Fail(U, "down"), Fail(grpc.StatusCode.FAILED_PRECONDITION, "closed",
                                                           reason="OUTSIDE_WINDOW"))
    with caplog.at_level(logging.INFO, logger="otn_client"), pytest.raises(FailedPrecondition) as e:
        call(kind, fake.target, "request_opt_in", {"page_id": "p", "psid": "u", "topic_key": "t", "title": "Tell me",
                                                   "request_id": "opt-7"})
    lines = [r.getMessage() for r in caplog.records if r.name == "otn_client"]
    assert len(lines) == 1 and "RequestOptIn attempt 1 failed with UNAVAILABLE" in lines[0], lines
    assert "x-request-id opt-7" in lines[0]
    assert str(e.value) == "FAILED_PRECONDITION: closed [OUTSIDE_WINDOW] (after 2 attempts)"
    assert KEY not in caplog.text and KEY not in str(e.value) and KEY not in repr(e.value)


def test_the_logger_can_be_turned_off(fake: Any, caplog: pytest.LogCaptureFixture) -> None:
    fake.script("GetNotification", Fail(U), v1.GetNotificationResponse())
    with caplog.at_level(logging.DEBUG), Client(fake.target, retry=FAST, logger=None) as c:
        c.get_notification(notification_id="n-1")
    assert not [r for r in caplog.records if r.name == "otn_client"]
