"""StreamDeliveryEvents as an iterator that reconnects and resumes after the last event it yielded.

When the connection drops, the server restarts (UNAVAILABLE, ABORTED, CANCELLED from the server
side, a transport reset, a proxy's DEADLINE_EXCEEDED) or the stream ends without being cancelled,
the stream reconnects with the stream retry policy's backoff and asks for
``after_sequence = last_sequence``: no gap, no repeat (an event at or before ``last_sequence`` is
never yielded twice). Any other error is raised as its OtnError subclass. The rules are
sdk/client-rules.json's `stream` section, shared with the TypeScript client.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, FrozenSet, Optional, Tuple

import grpc

from ._gen import client_rules as CR
from ._gen.otn.v1 import sending_pb2, service_pb2
from .errors import DeadlineExceeded, OtnError, Unavailable
from .retry import RetryPolicy

#: The codes on which a stream reconnects (a read, so ABORTED is safe too).
STREAM_RETRIED: FrozenSet[grpc.StatusCode] = frozenset(grpc.StatusCode[c] for c in CR.STREAM_RECONNECT_CODES)
#: The codes on which it reconnects when the message says the transport was reset.
STREAM_RESET_CODES: FrozenSet[grpc.StatusCode] = frozenset(grpc.StatusCode[c] for c in CR.STREAM_RESET_CODES)
STREAM_RESET = re.compile(CR.STREAM_RESET_PATTERN, re.IGNORECASE)


def reconnects(error: Optional[OtnError], own_deadline_passed: bool = False) -> bool:
    """Whether a connection's end is one a reconnection can cure (``None``: it ended cleanly)."""
    if error is None:
        return True
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED and own_deadline_passed:
        return False
    if error.code in STREAM_RETRIED:
        return True
    return error.code in STREAM_RESET_CODES and bool(STREAM_RESET.search(error.message))


def reconnect_delay(policy: RetryPolicy, failures: int, error: Optional[OtnError],
                    rand: Callable[[], float] = random.random) -> float:
    """The wait before reconnection after ``failures`` failed connections in a row: the server's
    RetryInfo (cut to ``max_retry_info_delay``), else the policy's jittered backoff."""
    if error is not None and error.retry_delay is not None:
        return min(error.retry_delay, policy.max_retry_info_delay)
    return policy.backoff(failures, rand)

OpenCall = Callable[[service_pb2.StreamDeliveryEventsRequest, Optional[float]], Any]


class _Resume:
    """What both streams share: the resume point, the reconnect count, the backoff decisions."""

    def __init__(self, request: service_pb2.StreamDeliveryEventsRequest, policy: RetryPolicy,
                 timeout: Optional[float]) -> None:
        self._request = request
        self._policy = policy
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._failures = 0
        #: The sequence of the last event yielded (the request's after_sequence before any).
        self.last_sequence: int = request.after_sequence
        #: How many times the stream reconnected.
        self.reconnects: int = 0
        #: Events the server sent again at or before last_sequence, dropped (0 when resuming works).
        self.duplicates_dropped: int = 0
        #: The error that ended the previous connection, if any.
        self.last_error: Optional[OtnError] = None
        #: Events of a batched message (``max_events_per_message``) not yielded yet.
        self._pending: Deque[sending_pb2.DeliveryEvent] = deque()

    def _take(self, msg: service_pb2.StreamDeliveryEventsResponse) -> Optional[sending_pb2.DeliveryEvent]:
        """The next event of ``msg`` (one event, or a batch kept in order), if it is new."""
        batch = list(msg.events) if len(msg.events) else [msg.event]
        for e in batch:
            if self._accept(e):
                self._pending.append(e)
        return self._pending.popleft() if self._pending else None

    def _next_request(self) -> Tuple[service_pb2.StreamDeliveryEventsRequest, Optional[float]]:
        req = service_pb2.StreamDeliveryEventsRequest()
        req.CopyFrom(self._request)
        req.after_sequence = self.last_sequence
        if self.last_sequence > self._request.after_sequence:
            req.from_now = False  # resume exactly after what was yielded, even if it began "from now"
        remaining = None
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded(grpc.StatusCode.DEADLINE_EXCEEDED, "the stream's timeout passed")
        return req, remaining

    def _accept(self, event: sending_pb2.DeliveryEvent) -> bool:
        if event.sequence <= self.last_sequence:
            self.duplicates_dropped += 1
            return False
        self.last_sequence = event.sequence
        self._failures = 0
        return True

    def _delay(self, error: Optional[OtnError]) -> float:
        """Seconds to wait before reconnecting, or raises ``error`` (or why it must stop)."""
        own_passed = self._deadline is not None and time.monotonic() >= self._deadline
        err = error or Unavailable(grpc.StatusCode.UNAVAILABLE, "the server ended the stream")
        self.last_error = err
        if not reconnects(error, own_passed):
            raise err
        self._failures += 1
        if self._policy.max_attempts is not None and self._failures >= self._policy.max_attempts:
            raise err
        delay = reconnect_delay(self._policy, self._failures, error)
        if self._deadline is not None and time.monotonic() + delay >= self._deadline:
            raise DeadlineExceeded(grpc.StatusCode.DEADLINE_EXCEEDED,
                                   f"the stream's timeout passed while reconnecting after: {err}")
        self.reconnects += 1
        return delay


class DeliveryEventStream(_Resume):
    """A live iterator of ``otn.v1.DeliveryEvent`` (sync). It does not end by itself: stop it with
    :meth:`cancel` (thread-safe) or by leaving a ``with`` block, and iteration ends cleanly."""

    def __init__(self, open_call: OpenCall, request: service_pb2.StreamDeliveryEventsRequest,
                 policy: RetryPolicy, timeout: Optional[float]) -> None:
        super().__init__(request, policy, timeout)
        self._open = open_call
        self._call: Any = None
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def __iter__(self) -> "DeliveryEventStream":
        return self

    def __next__(self) -> sending_pb2.DeliveryEvent:
        while True:
            if self._pending:
                return self._pending.popleft()
            call = self._connect()
            try:
                msg = next(call)
            except StopIteration:
                error: Optional[OtnError] = None
            except grpc.RpcError as e:
                error = OtnError.from_rpc_error(e)
            else:
                got = self._take(msg)
                if got is not None:
                    return got
                continue
            self._drop(call)
            if self._cancelled.is_set():
                raise StopIteration
            delay = self._delay(error)
            if self._cancelled.wait(delay):
                raise StopIteration

    def _connect(self) -> Any:
        with self._lock:
            if self._cancelled.is_set():
                raise StopIteration
            if self._call is None:
                req, remaining = self._next_request()
                self._call = self._open(req, remaining)
            return self._call

    def _drop(self, call: Any) -> None:
        with self._lock:
            if self._call is call:
                self._call = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Ends the stream: the iteration in progress (any thread) stops with StopIteration."""
        with self._lock:
            self._cancelled.set()
            call, self._call = self._call, None
        if call is not None:
            call.cancel()

    def close(self) -> None:
        self.cancel()

    def __enter__(self) -> "DeliveryEventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cancel()


class AsyncDeliveryEventStream(_Resume):
    """A live async iterator of ``otn.v1.DeliveryEvent`` (asyncio). Stop it with :meth:`cancel`
    or by leaving an ``async with`` block; ``async for`` then ends cleanly."""

    def __init__(self, open_call: OpenCall, request: service_pb2.StreamDeliveryEventsRequest,
                 policy: RetryPolicy, timeout: Optional[float]) -> None:
        super().__init__(request, policy, timeout)
        self._open = open_call
        self._call: Any = None
        self._cancelled = False
        self._wake: Optional[asyncio.Event] = None

    def __aiter__(self) -> "AsyncDeliveryEventStream":
        return self

    async def __anext__(self) -> sending_pb2.DeliveryEvent:
        while True:
            if self._cancelled:
                raise StopAsyncIteration
            if self._pending:
                return self._pending.popleft()
            if self._call is None:
                req, remaining = self._next_request()
                self._call = self._open(req, remaining)
            call = self._call
            error: Optional[OtnError] = None
            try:
                msg = await call.read()
            except asyncio.CancelledError:
                if self._cancelled:  # our cancel(): the call was cancelled under the read
                    raise StopAsyncIteration from None
                raise  # the task itself was cancelled: let it be
            except grpc.RpcError as e:
                error = OtnError.from_rpc_error(e)
            else:
                if msg is not grpc.aio.EOF:
                    got = self._take(msg)
                    if got is not None:
                        return got
                    continue
            if self._call is call:
                self._call = None
            if self._cancelled:
                raise StopAsyncIteration
            delay = self._delay(error)
            if await self._sleep(delay):
                raise StopAsyncIteration

    async def _sleep(self, delay: float) -> bool:
        """Waits ``delay`` seconds; True when cancel() came first."""
        self._wake = asyncio.Event()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass
        finally:
            self._wake = None
        return self._cancelled

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Ends the stream: the pending ``__anext__`` stops with StopAsyncIteration."""
        self._cancelled = True
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
        if self._wake is not None:
            self._wake.set()

    async def aclose(self) -> None:
        self.cancel()

    async def __aenter__(self) -> "AsyncDeliveryEventStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.cancel()
