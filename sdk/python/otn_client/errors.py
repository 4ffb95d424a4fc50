"""The exceptions of the SDK: one class per gRPC code, with the google.rpc details decoded.

    OtnError                      a failed call (``.code``, ``.reason``, ``.field_violations``, …)
    ├── InvalidArgument           INVALID_ARGUMENT
    │   └── OtnValidationError    refused locally, before any network call
    ├── NotFound, AlreadyExists, FailedPrecondition, PermissionDenied, Unauthenticated,
    ├── Unavailable, Aborted, DeadlineExceeded, OutOfRange, Internal, ResourceExhausted,
    └── Cancelled, Unknown, Unimplemented, DataLoss
    OtnUsageError                 a wrong keyword, type or value in the call (TypeError, ValueError)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple, Type, cast

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from ._gen import client_rules as CR
from ._gen.otn.v1 import errors_pb2

if TYPE_CHECKING:
    from typing_extensions import TypeAlias

ERROR_DOMAIN = "otn.v1"
REASON_PREFIX = "ERROR_REASON_"
STATUS_DETAILS_KEY = "grpc-status-details-bin"

#: ``google.rpc.BadRequest.FieldViolation`` (``.field``, ``.description``).
FieldViolation: TypeAlias = error_details_pb2.BadRequest.FieldViolation
ErrorReason = errors_pb2.ErrorReason

_CODES_BY_NUMBER = {c.value[0]: c for c in grpc.StatusCode}


def reason_of(name: str) -> errors_pb2.ErrorReason:  # an int at run time
    """The ErrorReason value of an ErrorInfo reason string (``"OUTSIDE_WINDOW"`` ->
    ``ERROR_REASON_OUTSIDE_WINDOW``), looked up by name in the generated enum; unknown or empty ->
    ``ERROR_REASON_UNSPECIFIED``."""
    value = errors_pb2.ErrorReason.DESCRIPTOR.values_by_name.get(REASON_PREFIX + name) if name else None
    return cast(errors_pb2.ErrorReason, value.number if value else errors_pb2.ERROR_REASON_UNSPECIFIED)


class OtnUsageError(TypeError, ValueError):
    """The call itself is wrong (unknown keyword, wrong type, bad value): a bug in the caller.

    ``.field`` names the offending argument (dotted for nested messages) when there is one.
    """

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.field = field


class OtnError(Exception):
    """A call to otn.v1.NotificationService failed.

    Attributes:
        code: the gRPC status code (``grpc.StatusCode``).
        message: the status message.
        reason: the ``otn.v1.ErrorReason`` of the ``google.rpc.ErrorInfo`` (compare with
            ``v1.ERROR_REASON_OUTSIDE_WINDOW``); ``ERROR_REASON_UNSPECIFIED`` without one or when
            this SDK's contract does not know the reason (``reason_name`` keeps the string).
        reason_name: the raw ``ErrorInfo.reason`` string (``"OUTSIDE_WINDOW"``), ``""`` if none.
        domain: ``ErrorInfo.domain`` (``"otn.v1"`` for the service's own refusals).
        metadata: ``ErrorInfo.metadata`` (e.g. Meta's error code for GRAPH_API_REFUSED).
        field_violations: ``google.rpc.BadRequest`` violations (``.field``, ``.description``), one
            per bad field for INVALID_ARGUMENT; empty otherwise.
        retry_delay: ``google.rpc.RetryInfo.retry_delay`` in seconds, or ``None`` when not sent.
        details: every detail message of the status, decoded where known, in order.
        attempts: how many attempts the client made before raising it (0: refused locally).
        request_id: the server's ``x-request-id`` of the call (the id of its log line), when it
            answered one; every attempt of a call sends the same one.
        retry_deadline: the overall retry deadline (seconds), when reaching it ended the call.
    """

    #: The code this class stands for (``None`` on the base class).
    grpc_code: Optional[grpc.StatusCode] = None

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason_name: str = "",
        domain: str = "",
        metadata: Optional[Dict[str, str]] = None,
        field_violations: Optional[Iterable[FieldViolation]] = None,
        retry_delay: Optional[float] = None,
        details: Optional[Sequence[Any]] = None,
        attempts: int = 1,
        request_id: Optional[str] = None,
    ) -> None:
        self.code = code
        self.message = message
        self.reason_name = reason_name
        self.reason = reason_of(reason_name)
        self.domain = domain
        self.metadata: Dict[str, str] = dict(metadata or {})
        self.field_violations: List[FieldViolation] = list(field_violations or [])
        self.retry_delay = retry_delay
        self.details: List[Any] = list(details or [])
        #: How many attempts the client made (set by the retry loop; 0 when refused locally).
        self.attempts = attempts
        #: The server's ``x-request-id`` for the call (its log line's id), when it answered one.
        self.request_id = request_id
        #: The overall retry deadline in seconds, when reaching it is why the call ended.
        self.retry_deadline: Optional[float] = None
        super().__init__(self._text())

    def _text(self) -> str:
        """The text of sdk/client-rules.json's `errors` (also what ``str(e)`` gives)."""
        text = f"{self.code.name}: {self.message}"
        if self.reason_name:
            text += f" [{self.reason_name}]"
        if self.field_violations:
            text += " (" + "; ".join(f"{v.field}: {v.description}" for v in self.field_violations) + ")"
        n = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        if self.retry_deadline is not None:
            text += f" (after {n}; retry deadline {self.retry_deadline:g} s reached)"
        elif self.attempts > 1:
            text += f" (after {n})"
        return text

    def __str__(self) -> str:
        return self._text()

    @property
    def fields(self) -> List[str]:
        """The paths of the bad fields (BadRequest), in order."""
        return [v.field for v in self.field_violations]

    @property
    def retry_delay_seconds(self) -> Optional[float]:
        """Alias of :attr:`retry_delay` (0.1 name)."""
        return self.retry_delay

    @property
    def unimplemented(self) -> bool:
        return self.code == grpc.StatusCode.UNIMPLEMENTED

    @classmethod
    def from_rpc_error(cls, e: grpc.RpcError, deadline_passed: bool = False) -> "OtnError":
        """The OtnError subclass of a ``grpc.RpcError`` (sync) or ``grpc.aio.AioRpcError``.

        ``deadline_passed``: the call's own deadline had passed when it failed; then CANCELLED is
        DEADLINE_EXCEEDED (sdk/client-rules.json `cancelled_after_deadline`)."""
        wire = _call(e, "code") or grpc.StatusCode.UNKNOWN
        code = classify(wire, deadline_passed)
        message = _call(e, "details") or ""
        trailers = tuple(_call(e, "trailing_metadata") or ())
        headers = tuple(_call(e, "initial_metadata") or ())
        request_id = next((str(v) for k, v in trailers + headers if k == REQUEST_ID_HEADER), None)
        status = _status_of(trailers)
        if status is None or status.code != wire.value[0]:
            return error_class(code)(code, message, request_id=request_id)
        error = from_status(status, code=code, message=message or status.message)
        error.request_id = request_id
        return error

    @classmethod
    def from_status(cls, status: status_pb2.Status, code: Optional[grpc.StatusCode] = None) -> "OtnError":
        return from_status(status, code=code)


#: The metadata key of the call's request id (sent by the client, answered by the server).
REQUEST_ID_HEADER = CR.REQUEST_ID_HEADER


def classify(code: grpc.StatusCode, deadline_passed: bool, caller_cancelled: bool = False) -> grpc.StatusCode:
    """The code a failed call is treated as: CANCELLED after the call's own deadline passed (and
    not cancelled by the caller) is DEADLINE_EXCEEDED, whatever the wire said (the server's
    deadline enforcement raced the client's); anything else is itself (sdk/client-rules.json)."""
    if code == grpc.StatusCode.CANCELLED and deadline_passed and not caller_cancelled:
        return grpc.StatusCode[CR.RETRY_CANCELLED_AFTER_DEADLINE]
    return code


def _call(e: Any, name: str) -> Any:
    f = getattr(e, name, None)
    try:
        return f() if callable(f) else None
    except Exception:  # a half-built error object: keep what can be read
        return None


def _status_of(trailers: Iterable[Tuple[str, Any]]) -> Optional[status_pb2.Status]:
    for key, value in trailers:
        if key == STATUS_DETAILS_KEY and isinstance(value, (bytes, bytearray)):
            try:
                return status_pb2.Status.FromString(bytes(value))
            except DecodeError:
                return None
    return None


def from_status(
    status: status_pb2.Status, code: Optional[grpc.StatusCode] = None, message: Optional[str] = None
) -> OtnError:
    """The OtnError subclass of a ``google.rpc.Status``, its details decoded."""
    if code is None:
        code = _CODES_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
    reason = domain = ""
    metadata: Dict[str, str] = {}
    violations: List[FieldViolation] = []
    retry: Optional[float] = None
    decoded: List[Any] = []
    for any_ in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo):
            if any_.Is(kind.DESCRIPTOR):
                msg = kind()
                any_.Unpack(msg)
                break
        else:
            decoded.append(any_)
            continue
        decoded.append(msg)
        if isinstance(msg, error_details_pb2.ErrorInfo):
            reason, domain, metadata = msg.reason, msg.domain, dict(msg.metadata)
        elif isinstance(msg, error_details_pb2.BadRequest):
            violations.extend(msg.field_violations)
        else:
            retry = msg.retry_delay.seconds + msg.retry_delay.nanos / 1e9
    if violations and not reason and code == grpc.StatusCode.INVALID_ARGUMENT:
        reason = "INVALID_FIELD"
    return error_class(code)(
        code,
        status.message if message is None else message,
        reason_name=reason,
        domain=domain,
        metadata=metadata,
        field_violations=violations,
        retry_delay=retry,
        details=decoded,
    )


class InvalidArgument(OtnError):
    """INVALID_ARGUMENT: a field is malformed; ``field_violations`` names every bad field."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(OtnError):
    """NOT_FOUND: no such page, grant, recipient or notification (see ``reason``)."""

    grpc_code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(OtnError):
    """ALREADY_EXISTS: a request_id reused with another body, or a token recorded elsewhere."""

    grpc_code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(OtnError):
    """FAILED_PRECONDITION: the state forbids it now (window closed, notification final, …)."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(OtnError):
    """PERMISSION_DENIED: the API key lacks the scope or the page."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(OtnError):
    """UNAUTHENTICATED: no API key, or an unknown one."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED


class Unavailable(OtnError):
    """UNAVAILABLE: the service (or Meta) cannot be reached now; retried by the client."""

    grpc_code = grpc.StatusCode.UNAVAILABLE


class Aborted(OtnError):
    """ABORTED: a concurrent request got in the way; retried for idempotent calls."""

    grpc_code = grpc.StatusCode.ABORTED


class DeadlineExceeded(OtnError):
    """DEADLINE_EXCEEDED: the call's timeout passed; retried for idempotent calls."""

    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED


class OutOfRange(OtnError):
    """OUT_OF_RANGE: e.g. a stream resumed before the oldest sequence kept."""

    grpc_code = grpc.StatusCode.OUT_OF_RANGE


class Internal(OtnError):
    """INTERNAL: the service failed; it never says why on the wire."""

    grpc_code = grpc.StatusCode.INTERNAL


class ResourceExhausted(OtnError):
    """RESOURCE_EXHAUSTED: a quota or a size limit of the transport."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Cancelled(OtnError):
    """CANCELLED: the call was cancelled."""

    grpc_code = grpc.StatusCode.CANCELLED


class Unknown(OtnError):
    """UNKNOWN: an error without a known code."""

    grpc_code = grpc.StatusCode.UNKNOWN


class Unimplemented(OtnError):
    """UNIMPLEMENTED: the server does not serve this method."""

    grpc_code = grpc.StatusCode.UNIMPLEMENTED


class DataLoss(OtnError):
    """DATA_LOSS."""

    grpc_code = grpc.StatusCode.DATA_LOSS


class OtnValidationError(InvalidArgument):
    """Refused locally with the server's limits, before any network call (same shape as the
    server's INVALID_ARGUMENT: reason INVALID_FIELD, one violation per bad field)."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        super().__init__(
            grpc.StatusCode.INVALID_ARGUMENT,
            "the request is invalid (checked locally, not sent)",
            reason_name="INVALID_FIELD",
            domain=ERROR_DOMAIN,
            field_violations=violations,
            attempts=0,
        )


ERRORS_BY_CODE: Dict[grpc.StatusCode, Type[OtnError]] = {
    c.grpc_code: c
    for c in (InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, PermissionDenied, Unauthenticated,
              Unavailable, Aborted, DeadlineExceeded, OutOfRange, Internal, ResourceExhausted, Cancelled,
              Unknown, Unimplemented, DataLoss)
    if c.grpc_code is not None
}


def error_class(code: grpc.StatusCode) -> Type[OtnError]:
    """The OtnError subclass of a gRPC code (OtnError itself for OK, which is never raised)."""
    return ERRORS_BY_CODE.get(code, OtnError)
