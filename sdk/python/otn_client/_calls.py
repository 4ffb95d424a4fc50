"""One unary call across its attempts, for both clients: each attempt's timeout (cut to the retry
deadline), the metadata every attempt carries (one ``x-request-id``), and what follows a failure
(the wait before the next attempt, reported to ``on_retry`` and the logger, or the error raised,
with its attempts and the server's request id)."""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import uuid
from typing import Any, FrozenSet, Optional, Tuple

import grpc

from ._gen import client_rules as CR
from ._gen.otn.v1 import sending_pb2
from .errors import DeadlineExceeded, OtnError, OtnUsageError
from .retry import OnRetry, RetryEvent, RetryPolicy, retryable_codes

REQUEST_ID_HEADER = CR.REQUEST_ID_HEADER
_HEADER_VALUE = re.compile(r"[!-~]{1,128}")  # printable ASCII, what the server keeps
#: The notification states wait_until_final stops at (sdk/client-rules.json).
FINAL_STATES: FrozenSet[int] = frozenset(sending_pb2.NotificationState.Value(s) for s in CR.WAIT_UNTIL_FINAL_FINAL_STATES)


def call_request_id(metadata: Tuple[Tuple[str, str], ...], request: Any) -> str:
    """The ``x-request-id`` of a call: the caller's (in the client's metadata), else the request's
    ``request_id`` (RequestOptIn, SendNotification), else a new uuid4."""
    for k, v in metadata:
        if k == REQUEST_ID_HEADER:
            return v
    fields = getattr(getattr(request, "DESCRIPTOR", None), "fields_by_name", {})
    rid = getattr(request, "request_id", "") if "request_id" in fields else ""
    # Only a value metadata can carry (with validate=False a request_id may be anything).
    return str(rid) if isinstance(rid, str) and _HEADER_VALUE.fullmatch(rid) else str(uuid.uuid4())


def with_request_id(metadata: Tuple[Tuple[str, str], ...], request_id: str) -> Tuple[Tuple[str, str], ...]:
    if any(k == REQUEST_ID_HEADER for k, _ in metadata):
        return metadata
    return metadata + ((REQUEST_ID_HEADER, request_id),)


class Attempts:
    """The state of one unary call: ``timeout()`` before each attempt, ``failed(e)`` after a
    failed one (returns the wait before the next, or raises)."""

    def __init__(self, rpc: str, request: Any, metadata: Tuple[Tuple[str, str], ...], per_attempt: Optional[float],
                 policy: RetryPolicy, wait_for_ready: bool, on_retry: Optional[OnRetry],
                 logger: Optional[logging.Logger]) -> None:
        self.rpc = rpc
        self.request_id = call_request_id(metadata, request)
        self.metadata = with_request_id(metadata, self.request_id)
        self._per_attempt = per_attempt
        self._policy = policy
        self._retryable = retryable_codes(rpc)
        self._wait_for_ready = wait_for_ready
        self._on_retry = on_retry
        self._logger = logger
        self._started = time.monotonic()
        self._attempt_deadline: Optional[float] = None
        self.attempt = 0

    def timeout(self) -> Optional[float]:
        """The next attempt's timeout: the client's, cut to what is left of the retry deadline."""
        self.attempt += 1
        t = self._per_attempt
        if self._policy.deadline is not None:
            left = max(0.001, self._policy.deadline - (time.monotonic() - self._started))
            t = left if t is None else min(t, left)
        self._attempt_deadline = None if t is None else time.monotonic() + t
        return t

    @property
    def wait_for_ready(self) -> bool:
        """Wait for the channel to connect, only when the attempt has a deadline."""
        return self._wait_for_ready and self._attempt_deadline is not None

    def failed(self, e: grpc.RpcError) -> float:
        """The seconds to wait before the next attempt after ``e``; raises the OtnError when the
        call must end."""
        now = time.monotonic()
        passed = self._attempt_deadline is not None and now >= self._attempt_deadline
        error = OtnError.from_rpc_error(e, deadline_passed=passed)
        delay, deadline_reached = self._policy.decide(error, self.attempt, self._retryable, now - self._started)
        if delay is None:
            error.attempts = self.attempt
            if deadline_reached:
                error.retry_deadline = self._policy.deadline
            raise error
        event = RetryEvent(self.rpc, self.attempt, error.code, delay, self.request_id, error)
        if self._logger is not None:
            # Never the metadata (it holds the API key): the method, the attempt, the code, the id.
            self._logger.info("otn %s attempt %d failed with %s; retrying in %.3f s (x-request-id %s)",
                              self.rpc, self.attempt, error.code.name, delay, self.request_id)
        if self._on_retry is not None:
            self._on_retry(event)
        return delay


class Finality:
    """wait_until_final's bookkeeping: when to stop, and the error when the timeout passes first."""

    def __init__(self, notification_id: str, timeout: Optional[float], poll_interval: Optional[float]) -> None:
        self.notification_id = notification_id
        self.timeout = CR.WAIT_UNTIL_FINAL_TIMEOUT_MS / 1000 if timeout is None else timeout
        self.poll_interval = CR.WAIT_UNTIL_FINAL_POLL_INTERVAL_MS / 1000 if poll_interval is None else poll_interval
        for name, value in (("timeout", self.timeout), ("poll_interval", self.poll_interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise OtnUsageError(f"{name} must be a positive number of seconds, got {value!r}", name)
        self._deadline = time.monotonic() + self.timeout

    def left(self) -> float:
        return self._deadline - time.monotonic()

    def policy(self, retry: RetryPolicy) -> RetryPolicy:
        """The client's retry policy for one poll, within what is left of the wait."""
        return dataclasses.replace(retry, deadline=max(0.001, self.left()))

    def done(self, n: sending_pb2.Notification) -> bool:
        return n.state in FINAL_STATES

    def not_final(self, state: int) -> DeadlineExceeded:
        name = sending_pb2.NotificationState.Name(state)
        return DeadlineExceeded(grpc.StatusCode.DEADLINE_EXCEEDED,
                                f"notification {self.notification_id} is not final after {self.timeout:g} s (state {name})")

    def next_wait(self, state: int) -> float:
        """The wait before the next poll, or raises DeadlineExceeded when the timeout passed."""
        left = self.left()
        if left <= 0:
            raise self.not_final(state)
        return min(self.poll_interval, left)
