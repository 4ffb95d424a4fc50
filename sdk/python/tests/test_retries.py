"""Retries of unary calls against a scripted gRPC server, for the sync and the asyncio client."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Dict

import grpc
import pytest
from fakes import Fail, Slow

from otn_client import (
    Aborted,
    AsyncClient,
    Client,
    DeadlineExceeded,
    InvalidArgument,
    OtnUsageError,
    RetryPolicy,
    Unavailable,
    v1,
)

KEY = "k-test-123"
FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.02)
U, A, D = grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED

ARGS: Dict[str, Dict[str, Any]] = {
    "SendNotification": dict(page_id="p", topic_key="t", content={"text": "Back in stock"}),
    "RequestOptIn": dict(page_id="p", psid="u", topic_key="t", title="Tell me"),
    "RecordOptIn": dict(page_id="p", psid="u", topic_key="t", token="tok"),
    "ListEligible": dict(page_id="p", topic_key="t"),
    "GetNotification": dict(notification_id="n-1"),
    "CancelNotification": dict(notification_id="n-1"),
    "UpdateRecipient": dict(page_id="p", psid="u", add_tags=["vip"]),
    "RecordInteraction": dict(page_id="p", psid="u", kind=v1.INTERACTION_KIND_MESSAGE),
    "RevokeGrant": dict(grant_id="g-1"),
    "ForgetRecipient": dict(page_id="p", psid="u"),
    "AssignGrant": dict(grant_id="g-1", topic_key="t"),
    "ListNotifications": dict(page_id="p", states=[v1.NOTIFICATION_STATE_COMPLETED]),
}
METHOD = {"SendNotification": "send_notification", "RequestOptIn": "request_opt_in", "RecordOptIn": "record_opt_in",
          "ListEligible": "list_eligible", "GetNotification": "get_notification",
          "CancelNotification": "cancel_notification", "UpdateRecipient": "update_recipient",
          "RecordInteraction": "record_interaction", "RevokeGrant": "revoke_grant",
          "ForgetRecipient": "forget_recipient", "AssignGrant": "assign_grant",
          "ListNotifications": "list_notifications"}
OK = {rpc: getattr(v1, f"{rpc}Response")() for rpc in ARGS}


@pytest.fixture(params=["sync", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def call(kind: str, target: str, rpc: str, retry: RetryPolicy = FAST, timeout: float = 5.0, **kw: Any) -> Any:
    """One call through the client a caller would use (a fresh one, closed afterwards)."""
    kw = {**ARGS[rpc], **kw}
    if kind == "sync":
        with Client(target, api_key=KEY, retry=retry, timeout=timeout) as c:
            return getattr(c, METHOD[rpc])(**kw)

    async def go() -> Any:
        async with AsyncClient(target, api_key=KEY, retry=retry, timeout=timeout) as c:
            return await getattr(c, METHOD[rpc])(**kw)

    return asyncio.run(go())


def test_unavailable_is_retried_with_one_generated_request_id(fake: Any, kind: str) -> None:
    done = v1.SendNotificationResponse(notification=v1.Notification(notification_id="n-42"))
    fake.script("SendNotification", Fail(U), Fail(U), done)
    r = call(kind, fake.target, "SendNotification")
    assert r.notification.notification_id == "n-42"
    attempts = fake.of("SendNotification")
    assert len(attempts) == 3
    ids = {a.request.request_id for a in attempts}
    assert len(ids) == 1, f"request_id changed across retries: {ids}"
    assert uuid.UUID(ids.pop()).version == 4
    assert all(a.metadata.get("authorization") == f"Bearer {KEY}" for a in attempts)
    assert all(a.request.content.text == "Back in stock" for a in attempts)


def test_a_given_request_id_is_kept_across_retries(fake: Any, kind: str) -> None:
    fake.script("RequestOptIn", Fail(U), Fail(U), OK["RequestOptIn"])
    call(kind, fake.target, "RequestOptIn", request_id="mine-7")
    assert [a.request.request_id for a in fake.of("RequestOptIn")] == ["mine-7"] * 3


def test_a_request_message_is_not_mutated_and_keeps_one_id(fake: Any, kind: str) -> None:
    fake.script("SendNotification", Fail(U), OK["SendNotification"])
    req = v1.SendNotificationRequest(page_id="p", topic_key="t", content=v1.Content(text="hi"))
    if kind == "sync":
        with Client(fake.target, retry=FAST) as c:
            c.send_notification(req)
    else:
        async def go() -> None:
            async with AsyncClient(fake.target, retry=FAST) as c:
                await c.send_notification(req)
        asyncio.run(go())
    assert req.request_id == ""
    ids = [a.request.request_id for a in fake.of("SendNotification")]
    assert len(ids) == 2 and ids[0] == ids[1] != ""


def test_retry_info_delay_is_honoured(fake: Any, kind: str) -> None:
    # No backoff of its own (0 s): the waits between attempts can only come from RetryInfo.
    policy = RetryPolicy(max_attempts=4, initial_backoff=0.0, max_backoff=0.0)
    fake.script("GetNotification", Fail(U, retry_delay=0.4), Fail(U, retry_delay=0.6), OK["GetNotification"])
    call(kind, fake.target, "GetNotification", retry=policy)
    at = [a.at for a in fake.of("GetNotification")]
    assert len(at) == 3
    gaps = [b - a for a, b in zip(at, at[1:])]
    assert gaps[0] >= 0.4 and gaps[1] >= 0.6, gaps
    assert gaps[0] < 3 and gaps[1] < 3, gaps


def test_without_retry_info_the_backoff_applies(fake: Any, kind: str) -> None:
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.0, max_backoff=0.0)
    fake.script("GetNotification", Fail(U), Fail(U), OK["GetNotification"])
    t0 = time.monotonic()
    call(kind, fake.target, "GetNotification", retry=policy)
    assert len(fake.of("GetNotification")) == 3
    assert time.monotonic() - t0 < 3.0


def test_a_retry_info_delay_beyond_the_policy_is_not_waited_for(fake: Any, kind: str) -> None:
    fake.script("GetNotification", Fail(U, retry_delay=120, reason="SHUTTING_DOWN"), OK["GetNotification"])
    t0 = time.monotonic()
    with pytest.raises(Unavailable) as e:
        call(kind, fake.target, "GetNotification", retry=RetryPolicy(max_retry_info_delay=60))
    assert time.monotonic() - t0 < 10
    assert e.value.retry_delay == 120 and e.value.reason_name == "SHUTTING_DOWN"
    assert len(fake.of("GetNotification")) == 1


@pytest.mark.parametrize("max_attempts", [4, 2, 1])
def test_attempts_are_bounded_when_max_attempts_is_set(fake: Any, kind: str, max_attempts: int) -> None:
    fake.script("SendNotification", Fail(U, "down"), repeat_last=True)
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.02, max_attempts=max_attempts)
    with pytest.raises(Unavailable) as e:
        call(kind, fake.target, "SendNotification", retry=policy)
    assert e.value.code == U and e.value.message == "down"
    assert e.value.attempts == max_attempts and e.value.retry_deadline is None
    assert len(fake.of("SendNotification")) == max_attempts
    suffix = f" (after {max_attempts} attempts)" if max_attempts > 1 else ""
    assert str(e.value) == f"UNAVAILABLE: down{suffix}"


@pytest.mark.parametrize(
    "rpc, code, attempts",
    [
        ("SendNotification", A, 2), ("RequestOptIn", A, 2), ("RecordOptIn", A, 2), ("ListEligible", A, 2),
        ("GetNotification", D, 2), ("SendNotification", D, 2), ("RecordOptIn", D, 2),
        ("RecordInteraction", U, 2), ("UpdateRecipient", U, 2), ("CancelNotification", U, 2),
        ("RevokeGrant", U, 2), ("ForgetRecipient", U, 2), ("AssignGrant", U, 2), ("ListNotifications", A, 2),
        ("ListNotifications", D, 2),
        # not idempotent: ABORTED / DEADLINE_EXCEEDED are raised at once
        ("UpdateRecipient", A, 1), ("CancelNotification", A, 1), ("RevokeGrant", D, 1),
        ("RecordInteraction", D, 1), ("ForgetRecipient", A, 1), ("AssignGrant", A, 1),
        # never retried
        ("SendNotification", grpc.StatusCode.INVALID_ARGUMENT, 1), ("GetNotification", grpc.StatusCode.NOT_FOUND, 1),
        ("RecordOptIn", grpc.StatusCode.ALREADY_EXISTS, 1), ("ListEligible", grpc.StatusCode.INTERNAL, 1),
    ],
)
def test_which_codes_are_retried(fake: Any, kind: str, rpc: str, code: grpc.StatusCode, attempts: int) -> None:
    fake.script(rpc, Fail(code), OK[rpc])
    if attempts == 2:
        assert call(kind, fake.target, rpc) == OK[rpc]
    else:
        with pytest.raises(Exception) as e:
            call(kind, fake.target, rpc)
        assert getattr(e.value, "code", None) == code, e.value
    assert len(fake.of(rpc)) == attempts


def test_a_real_deadline_is_retried_for_reads_only(fake: Any, kind: str) -> None:
    fake.script("GetNotification", Slow(2.0, OK["GetNotification"]), OK["GetNotification"])
    assert call(kind, fake.target, "GetNotification", timeout=0.3) == OK["GetNotification"]
    assert len(fake.of("GetNotification")) == 2
    fake.script("CancelNotification", Slow(2.0, OK["CancelNotification"]), OK["CancelNotification"])
    with pytest.raises(DeadlineExceeded):
        call(kind, fake.target, "CancelNotification", timeout=0.3)
    assert len(fake.of("CancelNotification")) == 1


def test_errors_are_typed_after_the_last_attempt(fake: Any, kind: str) -> None:
    fake.script("UpdateRecipient", Fail(A, "busy", reason="CONCURRENT_REQUEST"))
    with pytest.raises(Aborted) as e:
        call(kind, fake.target, "UpdateRecipient")
    assert e.value.reason_name == "CONCURRENT_REQUEST" and e.value.domain == "otn.v1"
    fake.script("SendNotification", Fail(grpc.StatusCode.INVALID_ARGUMENT, "bad",
                                          violations=[("content.text", "too long")]))
    with pytest.raises(InvalidArgument) as e2:
        call(kind, fake.target, "SendNotification")
    assert e2.value.fields == ["content.text"] and e2.value.reason == v1.ERROR_REASON_INVALID_FIELD


def test_full_jitter_stays_within_the_exponential_bound() -> None:
    p = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)
    assert [p.backoff(n, rand=lambda: 1.0) for n in (1, 2, 3, 4, 5, 6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert p.backoff(3, rand=lambda: 0.0) == 0.0
    samples = [p.backoff(3) for _ in range(500)]
    assert all(0.0 <= s <= 0.4 for s in samples)
    assert max(samples) > 0.3 and min(samples) < 0.1, "not spread over [0, bound]"


def test_a_bad_policy_is_a_usage_error() -> None:
    for bad in (dict(max_attempts=0), dict(initial_backoff=-1), dict(max_attempts="3")):
        with pytest.raises(OtnUsageError):
            RetryPolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(OtnUsageError):
        Client("127.0.0.1:1", retry=3)  # type: ignore[arg-type]
