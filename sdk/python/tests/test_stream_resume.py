"""The event stream reconnects and resumes after the last event it yielded: against a scripted
server (exact after_sequence of every reconnection) and across a real otn-server restart (SIGKILL
or SIGTERM, then the same database and ports), checked against the durable log by sequence."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any, List

import grpc
import pytest
from conftest import OtnServer
from fakes import END, HANG, Events, Fail

from otn_client import AsyncClient, Client, DeadlineExceeded, PermissionDenied, RetryPolicy, reason_of, v1

FAST = RetryPolicy(max_attempts=None, initial_backoff=0.01, max_backoff=0.05)
U = grpc.StatusCode.UNAVAILABLE


@pytest.fixture(params=["sync", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def take(kind: str, target: str, n: int, stream_retry: RetryPolicy = FAST, **kw: Any) -> Any:
    """Reads n events through the client's stream, then cancels it; returns (sequences, stream)."""
    if kind == "sync":
        with Client(target, api_key="k-stream", stream_retry=stream_retry) as c:
            seen: List[int] = []
            with c.stream_delivery_events(**kw) as stream:
                for ev in stream:
                    seen.append(ev.sequence)
                    if len(seen) == n:
                        break
            assert stream.cancelled and next(stream, None) is None
            return seen, stream

    async def go() -> Any:
        async with AsyncClient(target, api_key="k-stream", stream_retry=stream_retry) as c:
            seen: List[int] = []
            async with c.stream_delivery_events(**kw) as stream:
                async for ev in stream:
                    seen.append(ev.sequence)
                    if len(seen) == n:
                        break
            assert stream.cancelled
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()
            return seen, stream

    return asyncio.run(go())


def test_reconnects_resume_after_the_last_event_without_gap_or_repeat(fake: Any, kind: str) -> None:
    fake.script("StreamDeliveryEvents",
                Events([1, 2], then=Fail(U, "connection reset")),  # dropped
                Events([3], then=END),                              # ended without cancel
                Events([3, 4, 6], then=HANG))                       # a repeat of 3: never yielded twice
    seen, stream = take(kind, fake.target, 4, page_id="fake-page")
    assert seen == [1, 2, 3, 4]
    attempts = fake.of("StreamDeliveryEvents")
    assert [a.request.after_sequence for a in attempts] == [0, 2, 3]
    assert all(a.request.page_id == "fake-page" for a in attempts)
    assert all(a.metadata.get("authorization") == "Bearer k-stream" for a in attempts)
    assert stream.last_sequence == 4 and stream.reconnects == 2 and stream.duplicates_dropped == 1


@pytest.mark.parametrize("code, message", [
    (grpc.StatusCode.CANCELLED, "Received RST_STREAM with code 8"),  # cancelled from the server side
    (grpc.StatusCode.INTERNAL, "Received RST_STREAM with code 2"),   # a transport reset
    (grpc.StatusCode.UNKNOWN, "Stream removed"),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),        # a proxy's, not the stream's own
])
def test_a_reset_or_a_cancel_from_the_server_reconnects(fake: Any, kind: str, code: grpc.StatusCode,
                                                        message: str) -> None:
    fake.script("StreamDeliveryEvents", Events([1], then=Fail(code, message)), Events([2], then=HANG))
    seen, stream = take(kind, fake.target, 2)
    assert seen == [1, 2] and stream.reconnects == 1
    assert stream.last_error is not None and stream.last_error.code == code
    assert [a.request.after_sequence for a in fake.of("StreamDeliveryEvents")] == [0, 1]


def test_an_internal_error_that_is_not_a_reset_ends_the_stream(fake: Any, kind: str) -> None:
    fake.script("StreamDeliveryEvents", Events([1], then=Fail(grpc.StatusCode.INTERNAL, "internal error")))
    with pytest.raises(Exception) as e:
        take(kind, fake.target, 2)
    assert getattr(e.value, "code", None) == grpc.StatusCode.INTERNAL
    assert len(fake.of("StreamDeliveryEvents")) == 1


def test_from_now_becomes_after_sequence_once_events_were_seen(fake: Any, kind: str) -> None:
    fake.script("StreamDeliveryEvents", Events([], then=Fail(U)), Events([7], then=Fail(U)), Events([8]))
    seen, _ = take(kind, fake.target, 2, from_now=True, after_sequence=5)
    assert seen == [7, 8]
    reqs = [a.request for a in fake.of("StreamDeliveryEvents")]
    assert [(r.from_now, r.after_sequence) for r in reqs] == [(True, 5), (True, 5), (False, 7)]


def test_a_refusal_ends_the_stream_with_its_error(fake: Any, kind: str) -> None:
    fake.script("StreamDeliveryEvents", Events([5], then=Fail(grpc.StatusCode.PERMISSION_DENIED, "no",
                                                             reason="SCOPE_MISSING")))
    with pytest.raises(PermissionDenied) as e:
        take(kind, fake.target, 2)
    assert e.value.reason == reason_of("SCOPE_MISSING") and e.value.reason_name == "SCOPE_MISSING"
    assert len(fake.of("StreamDeliveryEvents")) == 1


def test_reconnects_are_bounded_by_the_stream_policy(fake: Any, kind: str) -> None:
    fake.script("StreamDeliveryEvents", Events([], then=Fail(U, "down")), repeat_last=True)
    with pytest.raises(Exception) as e:
        take(kind, fake.target, 1, stream_retry=RetryPolicy(max_attempts=3, initial_backoff=0.01))
    assert getattr(e.value, "code", None) == U
    assert len(fake.of("StreamDeliveryEvents")) == 3


def test_the_timeout_bounds_the_whole_stream(fake: Any, kind: str) -> None:
    fake.script("StreamDeliveryEvents", Events([1], then=HANG))
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        take(kind, fake.target, 2, timeout=0.5)
    assert 0.4 < time.monotonic() - t0 < 10


def wait_for(cond: Any, what: str, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_cancel_interrupts_a_reconnect_backoff_sync(fake: Any) -> None:
    fake.script("StreamDeliveryEvents", Events([], then=Fail(U, retry_delay=30)))
    with Client(fake.target) as c:
        stream = c.stream_delivery_events()
        # cancel() once the stream is waiting out the 30 s RetryInfo delay before reconnecting
        threading.Thread(target=lambda: (wait_for(lambda: stream.reconnects == 1, "the backoff"), stream.cancel()),
                         daemon=True).start()
        t0 = time.monotonic()
        assert list(stream) == []
        assert time.monotonic() - t0 < 10, "cancel() did not interrupt the 30 s backoff"


def test_cancel_interrupts_a_reconnect_backoff_asyncio(fake: Any) -> None:
    fake.script("StreamDeliveryEvents", Events([], then=Fail(U, retry_delay=30)))

    async def go() -> None:
        async with AsyncClient(fake.target) as c:
            stream = c.stream_delivery_events()
            task = asyncio.ensure_future(stream.__anext__())
            deadline = time.monotonic() + 10
            while stream.reconnects == 0 and time.monotonic() < deadline:  # in the 30 s backoff
                await asyncio.sleep(0.01)
            assert stream.reconnects == 1 and not task.done()
            stream.cancel()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(task, 10)

    asyncio.run(go())


def test_cancel_ends_a_pending_read_asyncio(fake: Any) -> None:
    fake.script("StreamDeliveryEvents", Events([1], then=HANG))

    async def go() -> None:
        async with AsyncClient(fake.target) as c:
            stream = c.stream_delivery_events()
            assert (await stream.__anext__()).sequence == 1
            task = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.2)
            assert not task.done()
            stream.cancel()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(task, 10)
            assert stream.reconnects == 0

    asyncio.run(go())


# -- across a real server restart ------------------------------------------------------------

PAGE = "sandbox-page"
BEFORE, AFTER = 4, 5  # opt-ins before the kill and after the restart


def produce(server: OtnServer, topic: str, n: int, tag: str) -> None:
    with server.client(timeout=10) as c:
        for i in range(n):
            c.record_opt_in(page_id=PAGE, psid=f"py-{tag}-{i}", topic_key=topic, token=f"otn-{uuid.uuid4()}")


def logged_sequences(server: OtnServer, topic: str, n: int) -> List[int]:
    """The sequences of the topic's events as the log holds them (a fresh read from 0)."""
    with server.client() as c, c.stream_delivery_events(topic_key=topic, timeout=30) as s:
        out = []
        for ev in s:
            out.append(ev.sequence)
            if len(out) == n:
                return out
    raise AssertionError("unreachable")


def check_across_restart(server: OtnServer, topic: str, seen: List[int], stream: Any) -> None:
    expected = logged_sequences(server, topic, BEFORE + AFTER)
    assert seen == expected, f"seen {seen}, log {expected}"
    assert seen == sorted(set(seen)), "repeat or disorder"
    assert server.starts == 2, "the server was not restarted"
    assert stream.reconnects >= 1 and stream.duplicates_dropped == 0
    assert isinstance(stream.last_error, Exception)
    print(f"seen {seen} across the restart; {stream.reconnects} reconnect(s), last error: {stream.last_error}")


RESTARTS = pytest.mark.parametrize("graceful", [False, True], ids=["sigkill", "sigterm"])


@RESTARTS
def test_sync_stream_resumes_across_a_server_restart(own_server: OtnServer, graceful: bool) -> None:
    topic = f"restart:sync-{uuid.uuid4().hex[:8]}"
    seen: List[int] = []
    failure: List[BaseException] = []
    with own_server.client(stream_retry=RetryPolicy(max_attempts=None, initial_backoff=0.05, max_backoff=0.5)) as c:
        stream = c.stream_delivery_events(topic_key=topic, timeout=120)

        def read() -> None:
            try:
                for ev in stream:
                    assert ev.topic_key == topic and ev.type == v1.DELIVERY_EVENT_TYPE_OPT_IN_RECORDED
                    seen.append(ev.sequence)
                    if len(seen) == BEFORE + AFTER:
                        return
            except BaseException as e:  # reported by the main thread
                failure.append(e)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            produce(own_server, topic, BEFORE, "before")
            wait_for(lambda: len(seen) == BEFORE or failure, f"{BEFORE} events before the kill", 30)
            own_server.restart(graceful)  # SIGKILL (or SIGTERM), then the same database and port
            produce(own_server, topic, AFTER, "after")
            reader.join(60)
        finally:
            stream.cancel()
        assert not failure, failure
        assert not reader.is_alive(), f"saw {seen} only"
        check_across_restart(own_server, topic, seen, stream)


@RESTARTS
def test_asyncio_stream_resumes_across_a_server_restart(own_server: OtnServer, graceful: bool) -> None:
    topic = f"restart:aio-{uuid.uuid4().hex[:8]}"
    seen: List[int] = []

    async def go() -> Any:
        policy = RetryPolicy(max_attempts=None, initial_backoff=0.05, max_backoff=0.5)
        async with own_server.async_client(stream_retry=policy) as c:
            async with c.stream_delivery_events(topic_key=topic, timeout=120) as stream:
                async def read() -> None:
                    async for ev in stream:
                        assert ev.topic_key == topic
                        seen.append(ev.sequence)
                        if len(seen) == BEFORE + AFTER:
                            return

                reader = asyncio.ensure_future(read())
                await asyncio.to_thread(produce, own_server, topic, BEFORE, "before")
                deadline = time.monotonic() + 30
                while len(seen) < BEFORE and not reader.done() and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                assert len(seen) == BEFORE, f"before the kill: {seen}"
                await asyncio.to_thread(own_server.restart, graceful)
                await asyncio.to_thread(produce, own_server, topic, AFTER, "after")
                await asyncio.wait_for(reader, 60)
                return stream

    stream = asyncio.run(go())
    check_across_restart(own_server, topic, seen, stream)
