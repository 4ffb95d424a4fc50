"""A scripted, in-test gRPC server implementing otn.v1.NotificationService (grpc.server).

Each RPC plays the actions scripted for it, one per attempt, and records every attempt (method,
request, metadata, arrival time). Actions: a response message, ``Fail(...)`` (a status with
google.rpc details, as the real server sends them), ``Slow(seconds, then)``; streams play
``Events([...], then=Fail(...) | END | HANG)``. Like the real server, it answers the caller's
``x-request-id`` back (prefixed ``fake-``, so a test can tell the answer from the request).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional, Sequence, Union

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from otn_client import v1
from otn_client._gen.otn.v1 import service_pb2, service_pb2_grpc

#: Every unary RPC of the contract (read from the generated descriptor).
UNARY = [m.name for m in service_pb2.DESCRIPTOR.services_by_name["NotificationService"].methods
         if not m.server_streaming]


@dataclass
class Fail:
    code: grpc.StatusCode
    message: str = "scripted failure"
    reason: Optional[str] = None
    retry_delay: Optional[float] = None
    violations: Sequence[tuple] = ()
    metadata: Dict[str, str] = field(default_factory=dict)

    def status(self, request_id: Optional[str] = None) -> Any:
        details: List[any_pb2.Any] = []
        if self.reason is not None:
            info = error_details_pb2.ErrorInfo(reason=self.reason, domain="otn.v1", metadata=self.metadata)
            details.append(_pack(info))
        if self.violations:
            br = error_details_pb2.BadRequest(field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in self.violations])
            details.append(_pack(br))
        if self.retry_delay is not None:
            d = duration_pb2.Duration()
            d.FromNanoseconds(int(self.retry_delay * 1e9))
            details.append(_pack(error_details_pb2.RetryInfo(retry_delay=d)))
        st = rpc_status.to_status(status_pb2.Status(code=self.code.value[0], message=self.message, details=details))
        if request_id is None:
            return st
        return st._replace(trailing_metadata=tuple(st.trailing_metadata) + (("x-request-id", request_id),))


@dataclass
class Slow:
    """Answers ``then`` after ``seconds`` (or as soon as the server stops)."""
    seconds: float
    then: Any


END, HANG = "end", "hang"


@dataclass
class Events:
    """A stream attempt: these sequences, then the stream fails, ends (END) or stays open (HANG)."""
    sequences: Sequence[int]
    then: Union[Fail, str] = HANG


@dataclass
class Attempt:
    method: str
    request: Any
    metadata: Dict[str, str]
    at: float


def _pack(msg: Any) -> any_pb2.Any:
    a = any_pb2.Any()
    a.Pack(msg)
    return a


class FakeService(service_pb2_grpc.NotificationServiceServicer):
    def __init__(self) -> None:
        self.attempts: List[Attempt] = []
        self._scripts: Dict[str, Deque[Any]] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.target = ""

    def script(self, method: str, *actions: Any, repeat_last: bool = False) -> None:
        """The actions of the next attempts of ``method``; with ``repeat_last`` the last one is
        played for every further attempt."""
        with self._lock:
            self._scripts[method] = deque(actions)
            if repeat_last:
                self._scripts[method].append(("repeat", actions[-1]))

    def of(self, method: str) -> List[Attempt]:
        with self._lock:
            return [a for a in self.attempts if a.method == method]

    def _next(self, method: str, request: Any, context: grpc.ServicerContext) -> Any:
        with self._lock:
            self.attempts.append(Attempt(method, request, dict(context.invocation_metadata()), time.monotonic()))
            queue = self._scripts.get(method)
            if not queue:
                action: Any = Fail(grpc.StatusCode.UNIMPLEMENTED, f"{method} not scripted")
            elif isinstance(queue[0], tuple) and queue[0][0] == "repeat":
                action = queue[0][1]
            else:
                action = queue.popleft()
        return action

    def _answer(self, action: Any, context: grpc.ServicerContext) -> Any:
        while isinstance(action, Slow):
            self.stopping.wait(action.seconds)
            action = action.then
        sent = dict(context.invocation_metadata()).get("x-request-id")
        echo = None if sent is None else f"fake-{sent}"
        if isinstance(action, Fail):
            context.abort_with_status(action.status(echo))
        if echo is not None:
            context.send_initial_metadata((("x-request-id", echo),))
        return action

    def StreamDeliveryEvents(self, request: Any, context: grpc.ServicerContext) -> Any:
        script = self._answer(self._next("StreamDeliveryEvents", request, context), context)
        for seq in script.sequences:
            yield v1.StreamDeliveryEventsResponse(event=v1.DeliveryEvent(
                sequence=seq, type=v1.DELIVERY_EVENT_TYPE_OPT_IN_RECORDED, page_id="fake-page"))
        if isinstance(script.then, Fail):
            context.abort_with_status(script.then.status())
        if script.then == HANG:
            done = threading.Event()
            context.add_callback(done.set)
            while not done.is_set() and not self.stopping.is_set():
                done.wait(0.1)


def _unary(name: str) -> Any:
    def handler(self: FakeService, request: Any, context: grpc.ServicerContext) -> Any:
        return self._answer(self._next(name, request, context), context)

    handler.__name__ = name
    return handler


for _name in UNARY:
    setattr(FakeService, _name, _unary(_name))


class FakeServer:
    """Runs a FakeService on a free loopback port."""

    def __init__(self) -> None:
        self.service = FakeService()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        service_pb2_grpc.add_NotificationServiceServicer_to_server(self.service, self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self.target = self.service.target = f"127.0.0.1:{port}"
        self._server.start()

    def stop(self) -> None:
        self.service.stopping.set()
        self._server.stop(grace=None).wait(10)
