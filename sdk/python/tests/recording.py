"""Client interceptors that record every attempt a client makes (method, request_id, status code,
start and end times), to see the SDK's retries from the wire side against the real server. They
observe only: the call goes through unchanged."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import grpc
import grpc.aio


@dataclass
class Attempt:
    method: str  # "RequestOptIn"
    request_id: Optional[str]  # the request's request_id, when it has one
    code: grpc.StatusCode
    start: float  # time.monotonic()
    end: float


class _Log:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: List[Attempt] = []

    def add(self, a: Attempt) -> None:
        with self._lock:
            self._attempts.append(a)

    def of(self, method: str) -> List[Attempt]:
        with self._lock:
            return [a for a in self._attempts if a.method == method]

    def codes(self, method: str) -> List[str]:
        return [a.code.name for a in self.of(method)]

    def waits(self, method: str) -> List[float]:
        """The time between the end of each attempt and the start of the next one."""
        attempts = self.of(method)
        return [b.start - a.end for a, b in zip(attempts, attempts[1:])]


def _method(details: Any) -> str:
    m = details.method
    m = m.decode() if isinstance(m, bytes) else str(m)
    return m.rsplit("/", 1)[-1]


class SyncRecorder(_Log, grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """``grpc.intercept_channel(grpc.insecure_channel(target), recorder)``."""

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        start = time.monotonic()
        outcome = continuation(details, request)
        self.add(Attempt(_method(details), getattr(request, "request_id", None), outcome.code(), start,
                         time.monotonic()))
        return outcome

    def channel(self, target: str) -> grpc.Channel:
        from otn_client import DEFAULT_CHANNEL_OPTIONS

        return grpc.intercept_channel(grpc.insecure_channel(target, options=DEFAULT_CHANNEL_OPTIONS), self)


class AsyncRecorder(_Log, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """``grpc.aio.insecure_channel(target, interceptors=[recorder])`` (inside the running loop)."""

    async def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        start = time.monotonic()
        call = await continuation(details, request)
        code = await call.code()
        self.add(Attempt(_method(details), getattr(request, "request_id", None), code, start, time.monotonic()))
        return call

    def channel(self, target: str) -> grpc.aio.Channel:
        from otn_client import DEFAULT_CHANNEL_OPTIONS

        return grpc.aio.insecure_channel(target, options=DEFAULT_CHANNEL_OPTIONS, interceptors=[self])
