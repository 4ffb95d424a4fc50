"""Deadlines against a scripted server, sync and asyncio: the overall retry deadline bounds a call
(its attempts and waits together) and is named in the error; an attempt's timeout is cut to what
is left of it; and a call that ends CANCELLED after its own deadline (the server's deadline
enforcement won the race, as tonic's "Timeout expired" does) is classified and retried as
DEADLINE_EXCEEDED, whatever code the wire showed."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import grpc
import grpc.aio
import pytest
from fakes import Fail, Slow

from otn_client import (
    AsyncClient,
    Cancelled,
    Client,
    DeadlineExceeded,
    OtnError,
    RetryPolicy,
    Unavailable,
    classify,
    v1,
)

U, C = grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED
OK = v1.GetNotificationResponse(notification=v1.Notification(notification_id="n-1"))


@pytest.fixture(params=["sync", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _stretched(details: Any) -> Any:
    """The call with 5 s more for the transport than the client's timeout: a server answering
    CANCELLED just after the client's own deadline is then what the client sees (the race
    tonic's "Timeout expired" sometimes wins)."""
    return details._replace(timeout=None if details.timeout is None else details.timeout + 5)


class _Stretch(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(_stretched(details), request)


class _AsyncStretch(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return await continuation(_stretched(details), request)


def call(kind: str, target: str, method: str, stretch: bool = False, **client_kw: Any) -> Any:
    """``method(notification_id="n-1")`` through a fresh client (closed afterwards)."""
    if kind == "sync":
        channel = grpc.insecure_channel(target)
        if stretch:
            channel = grpc.intercept_channel(channel, _Stretch())
        with channel, Client(target, channel=channel, **client_kw) as c:
            return getattr(c, method)(notification_id="n-1")

    async def go() -> Any:
        async with grpc.aio.insecure_channel(target, interceptors=[_AsyncStretch()] if stretch else None) as channel:
            async with AsyncClient(target, channel=channel, **client_kw) as c:
                return await getattr(c, method)(notification_id="n-1")

    return asyncio.run(go())


def test_the_overall_deadline_bounds_the_retries_and_is_named(fake: Any, kind: str) -> None:
    fake.script("GetNotification", Fail(U, "down"), repeat_last=True)
    policy = RetryPolicy(deadline=0.6, initial_backoff=0.02, max_backoff=0.05)
    retries: list = []
    t0 = time.monotonic()
    with pytest.raises(OtnError) as e:
        call(kind, fake.target, "get_notification", retry=policy, on_retry=retries.append)
    took = time.monotonic() - t0
    n = e.value.attempts
    assert 0.5 < took < 3.0, took
    assert n == len(retries) + 1 and n >= 5, (n, len(retries))
    # The last attempt, cut to what was left of the deadline, may end before it reaches the server.
    assert len(fake.of("GetNotification")) in (n, n - 1)
    assert e.value.retry_deadline == 0.6
    if isinstance(e.value, DeadlineExceeded):  # that last attempt ran out
        assert str(e.value).endswith(f" (after {n} attempts; retry deadline 0.6 s reached)")
        return
    assert isinstance(e.value, Unavailable)
    assert str(e.value) == f"UNAVAILABLE: down (after {n} attempts; retry deadline 0.6 s reached)"


def test_an_attempt_is_cut_to_what_is_left_of_the_deadline(fake: Any, kind: str) -> None:
    fake.script("GetNotification", Slow(5.0, OK), repeat_last=True)
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded) as e:
        call(kind, fake.target, "get_notification", timeout=10.0, retry=RetryPolicy(deadline=0.5))
    assert time.monotonic() - t0 < 3.0
    assert e.value.attempts == 1 and len(fake.of("GetNotification")) == 1
    assert str(e.value).endswith(" (after 1 attempt; retry deadline 0.5 s reached)"), str(e.value)


def test_cancelled_after_the_deadline_is_retried_as_deadline_exceeded(fake: Any, kind: str) -> None:
    # The server answers CANCELLED 0.5 s in, after the attempt's 0.2 s deadline.
    fake.script("GetNotification", Slow(0.5, Fail(C, "Timeout expired")), OK)
    events: list = []
    r = call(kind, fake.target, "get_notification", stretch=True, timeout=0.2, on_retry=events.append)
    assert r == OK
    assert len(fake.of("GetNotification")) == 2
    assert [(e.attempt, e.code) for e in events] == [(1, grpc.StatusCode.DEADLINE_EXCEEDED)]


def test_cancelled_after_the_deadline_is_a_deadline_exceeded_for_a_mutation(fake: Any, kind: str) -> None:
    fake.script("CancelNotification", Slow(0.5, Fail(C, "Timeout expired")), v1.CancelNotificationResponse())
    with pytest.raises(DeadlineExceeded) as e:
        call(kind, fake.target, "cancel_notification", stretch=True, timeout=0.2)
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED and e.value.message == "Timeout expired"
    assert len(fake.of("CancelNotification")) == 1, "a mutation is not retried after a deadline"


def test_cancelled_before_the_deadline_stays_cancelled(fake: Any, kind: str) -> None:
    fake.script("GetNotification", Fail(C, "Timeout expired"), OK)
    with pytest.raises(Cancelled) as e:
        call(kind, fake.target, "get_notification", timeout=5.0)
    assert e.value.code == C and len(fake.of("GetNotification")) == 1


def test_classify() -> None:
    assert classify(C, deadline_passed=True) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert classify(C, deadline_passed=False) == C
    assert classify(C, deadline_passed=True, caller_cancelled=True) == C
    assert classify(U, deadline_passed=True) == U


def test_the_default_policy_is_bounded_by_30_seconds_not_by_a_count() -> None:
    p = RetryPolicy()
    assert p.max_attempts is None and p.deadline == 30.0 and p.max_retry_info_delay == 30.0
    with Client("127.0.0.1:1") as c:
        assert c.retry == p and c.timeout == 10.0 and c.wait_for_ready
