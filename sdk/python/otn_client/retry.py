"""Retries: which calls are retried on which codes, how long to wait between attempts, and for how
long in all. The numbers and the rules come from sdk/client-rules.json (the generated
``otn_client._gen.client_rules``), the table the TypeScript client reads too."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Callable, FrozenSet, Iterable, Optional, Tuple

import grpc

from ._gen import client_rules as CR
from .errors import OtnError, OtnUsageError, classify  # noqa: F401 (classify: re-exported)


def _codes(names: Iterable[str]) -> FrozenSet[grpc.StatusCode]:
    return frozenset(grpc.StatusCode[n] for n in names)


#: Retried on every call: the request did not get through, or the service asked to be retried.
ALWAYS_RETRIED: FrozenSet[grpc.StatusCode] = _codes(CR.RETRY_RETRIED_CODES_EVERY_CALL)
#: Also retried on idempotent calls, where a second attempt cannot do the work twice.
IDEMPOTENT_RETRIED: FrozenSet[grpc.StatusCode] = _codes(CR.RETRY_RETRIED_CODES_IDEMPOTENT_CALLS)

#: The idempotent RPCs: reads, the calls that carry a request_id (kept across retries), and
#: RecordOptIn (idempotent on its token). The other mutations are retried on UNAVAILABLE only.
IDEMPOTENT_METHODS: FrozenSet[str] = frozenset(CR.RETRY_IDEMPOTENT_METHODS)

#: Where the clients log each retry (at INFO) unless given another ``logger=``.
LOGGER = logging.getLogger("otn_client")


def retryable_codes(method: str) -> FrozenSet[grpc.StatusCode]:
    """The codes on which ``method`` (an RPC name such as ``"SendNotification"``) is retried."""
    return IDEMPOTENT_RETRIED if method in IDEMPOTENT_METHODS else ALWAYS_RETRIED


@dataclass(frozen=True)
class RetryEvent:
    """What ``on_retry`` is called with, before the wait that precedes the next attempt."""

    #: The RPC name, e.g. ``"SendNotification"``.
    method: str
    #: The attempt that failed (1 for the first).
    attempt: int
    #: Its code, as classified (see :func:`classify`).
    code: grpc.StatusCode
    #: Seconds the client waits before the next attempt.
    delay: float
    #: The ``x-request-id`` every attempt of the call carries.
    request_id: str
    #: The error that ended the attempt.
    error: OtnError


#: A hook called with every retry (``Client(on_retry=...)``); what it raises ends the call.
OnRetry = Callable[[RetryEvent], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How a call is retried: exponential backoff with full jitter, within an overall deadline.

    Before attempt n+1 the client waits a uniformly random time in
    ``[0, min(max_backoff, initial_backoff * multiplier ** (n - 1))]`` ("full jitter"), or exactly
    the ``google.rpc.RetryInfo.retry_delay`` the server sent when there is one. A RetryInfo delay
    longer than ``max_retry_info_delay``, or a wait that would end past the ``deadline``, is not
    waited for: the error is raised. Defaults: sdk/client-rules.json.

    Attributes:
        max_attempts: attempts in all, the first included (1 = no retry); ``None`` (the default)
            = as many as the deadline allows.
        initial_backoff, max_backoff: seconds.
        multiplier: growth of the backoff bound per attempt.
        max_retry_info_delay: the longest server-asked delay honoured, in seconds.
        deadline: seconds from the first attempt within which every attempt and wait must fit
            (30 s); each attempt's timeout is cut to what is left of it. ``None`` = no overall
            bound (then ``max_attempts`` should be set).
    """

    max_attempts: Optional[int] = CR.RETRY_MAX_ATTEMPTS
    initial_backoff: float = CR.RETRY_INITIAL_BACKOFF_MS / 1000
    max_backoff: float = CR.RETRY_MAX_BACKOFF_MS / 1000
    multiplier: float = float(CR.RETRY_MULTIPLIER)
    max_retry_info_delay: float = CR.RETRY_MAX_RETRY_INFO_DELAY_MS / 1000
    deadline: Optional[float] = CR.RETRY_DEADLINE_MS / 1000

    def __post_init__(self) -> None:
        if self.max_attempts is not None and (isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int)
                                              or self.max_attempts < 1):
            raise OtnUsageError(f"RetryPolicy.max_attempts must be an int >= 1 or None, got {self.max_attempts!r}",
                                "max_attempts")
        for name in ("initial_backoff", "max_backoff", "multiplier", "max_retry_info_delay", "deadline"):
            value = getattr(self, name)
            if value is None and name == "deadline":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise OtnUsageError(f"RetryPolicy.{name} must be a number >= 0, got {value!r}", name)

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The jittered wait after failed attempt number ``attempt`` (1-based), in seconds."""
        bound = min(self.max_backoff, self.initial_backoff * self.multiplier ** max(0, min(attempt - 1, 1000)))
        return bound * rand()

    def decide(self, error: OtnError, attempt: int, retryable: FrozenSet[grpc.StatusCode], elapsed: float = 0.0,
               rand: Callable[[], float] = random.random) -> Tuple[Optional[float], bool]:
        """``(delay, deadline_reached)``: the seconds to wait before retrying after ``error`` ended
        attempt ``attempt``, ``elapsed`` seconds after the first began, or ``None`` to raise it;
        ``deadline_reached`` tells when the overall deadline is why."""
        reached = self.deadline is not None and elapsed >= self.deadline
        if error.code not in retryable or reached:
            return None, reached
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None, False
        if error.retry_delay is not None:
            if error.retry_delay > self.max_retry_info_delay:
                return None, False
            delay = error.retry_delay
        else:
            delay = self.backoff(attempt, rand)
        if self.deadline is not None and elapsed + delay >= self.deadline:
            return None, True
        return delay, False

    def delay_after(self, error: OtnError, attempt: int, retryable: FrozenSet[grpc.StatusCode],
                    elapsed: float = 0.0, rand: Callable[[], float] = random.random) -> Optional[float]:
        """The delay of :meth:`decide` alone."""
        return self.decide(error, attempt, retryable, elapsed, rand)[0]


#: Unary calls: within 30 s, 0.1 s doubling up to 5 s (sdk/client-rules.json).
DEFAULT_RETRY = RetryPolicy()
#: Event streams: reconnect without bound (the count restarts after every event received),
#: 0.2 s doubling up to 5 s; a RetryInfo delay is cut to 30 s.
DEFAULT_STREAM_RETRY = RetryPolicy(
    max_attempts=None, deadline=None, initial_backoff=CR.STREAM_INITIAL_BACKOFF_MS / 1000,
    max_backoff=CR.STREAM_MAX_BACKOFF_MS / 1000, multiplier=float(CR.STREAM_MULTIPLIER),
    max_retry_info_delay=CR.STREAM_MAX_RETRY_INFO_DELAY_MS / 1000,
)
#: No retry at all.
NO_RETRY = RetryPolicy(max_attempts=1)
