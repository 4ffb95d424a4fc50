"""Retries: which calls are retried on which codes, and how long to wait between attempts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, FrozenSet, Optional

import grpc

from .errors import OtnError, OtnUsageError

#: Retried on every call: the request did not get through, or the service asked to be retried.
ALWAYS_RETRIED: FrozenSet[grpc.StatusCode] = frozenset({grpc.StatusCode.UNAVAILABLE})
#: Also retried on idempotent calls, where a second attempt cannot do the work twice.
IDEMPOTENT_RETRIED: FrozenSet[grpc.StatusCode] = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED}
)

#: The idempotent RPCs: reads, the calls that carry a request_id (kept across retries), and
#: RecordOptIn (idempotent on its token). The other mutations are retried on UNAVAILABLE only.
IDEMPOTENT_METHODS: FrozenSet[str] = frozenset(
    {"ListEligible", "GetNotification", "ListNotifications", "StreamDeliveryEvents", "RequestOptIn",
     "SendNotification", "RecordOptIn"}
)


def retryable_codes(method: str) -> FrozenSet[grpc.StatusCode]:
    """The codes on which ``method`` (an RPC name such as ``"SendNotification"``) is retried."""
    return IDEMPOTENT_RETRIED if method in IDEMPOTENT_METHODS else ALWAYS_RETRIED


@dataclass(frozen=True)
class RetryPolicy:
    """How a call is retried: exponential backoff with full jitter, bounded attempts.

    Before attempt n+1 the client waits a uniformly random time in
    ``[0, min(max_backoff, initial_backoff * multiplier ** (n - 1))]`` ("full jitter"), or exactly
    the ``google.rpc.RetryInfo.retry_delay`` the server sent when there is one. A RetryInfo delay
    longer than ``max_retry_info_delay`` is not waited for: the error is raised.

    Attributes:
        max_attempts: attempts in all, the first included (1 = no retry); ``None`` = unbounded
            (only sensible for event streams).
        initial_backoff, max_backoff: seconds.
        multiplier: growth of the backoff bound per attempt.
        max_retry_info_delay: the longest server-asked delay honoured, in seconds.
    """

    max_attempts: Optional[int] = 4
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    max_retry_info_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts is not None and (not isinstance(self.max_attempts, int) or self.max_attempts < 1):
            raise OtnUsageError(f"RetryPolicy.max_attempts must be an int >= 1 or None, got {self.max_attempts!r}",
                                "max_attempts")
        for name in ("initial_backoff", "max_backoff", "multiplier", "max_retry_info_delay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise OtnUsageError(f"RetryPolicy.{name} must be a number >= 0, got {value!r}", name)

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The jittered wait after failed attempt number ``attempt`` (1-based), in seconds."""
        bound = min(self.max_backoff, self.initial_backoff * self.multiplier ** max(0, attempt - 1))
        return bound * rand()

    def delay_after(self, error: OtnError, attempt: int, retryable: FrozenSet[grpc.StatusCode]) -> Optional[float]:
        """Seconds to wait before retrying after ``error`` ended attempt ``attempt``; ``None``
        when the error must be raised (not retryable, attempts used up, or RetryInfo too long)."""
        if error.code not in retryable:
            return None
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None
        if error.retry_delay is not None:
            return error.retry_delay if error.retry_delay <= self.max_retry_info_delay else None
        return self.backoff(attempt)


#: Unary calls: 4 attempts, 0.1 s doubling up to 5 s.
DEFAULT_RETRY = RetryPolicy()
#: Event streams: reconnect without bound (the count restarts after every event received),
#: 0.2 s doubling up to 5 s.
DEFAULT_STREAM_RETRY = RetryPolicy(max_attempts=None, initial_backoff=0.2, max_backoff=5.0)
#: No retry at all.
NO_RETRY = RetryPolicy(max_attempts=1)
