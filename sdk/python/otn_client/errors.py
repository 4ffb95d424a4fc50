"""OtnError: a failed call, with the google.rpc details the service sends decoded."""

from __future__ import annotations

from typing import Dict, List, Optional

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "otn.v1"

FieldViolation = error_details_pb2.BadRequest.FieldViolation


class OtnError(Exception):
    """A call to otn.v1.NotificationService failed.

    Attributes:
        code: the gRPC status code (``grpc.StatusCode``).
        message: the status message.
        reason: ``google.rpc.ErrorInfo.reason`` (e.g. ``"INVALID_FIELD"``, ``"OUTSIDE_WINDOW"``),
            or ``None`` when the status carried no ErrorInfo (e.g. UNIMPLEMENTED, transport errors).
        domain: ``ErrorInfo.domain`` (``"otn.v1"`` for the service's own refusals).
        metadata: ``ErrorInfo.metadata`` (e.g. Meta's error code for GRAPH_API_REFUSED).
        field_violations: ``google.rpc.BadRequest.field_violations`` (``.field``, ``.description``),
            one per bad field for INVALID_ARGUMENT; empty otherwise.
        retry_delay_seconds: ``google.rpc.RetryInfo.retry_delay`` in seconds, when sent (UNAVAILABLE).
        details: every decoded detail message, in order.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: Optional[str] = None,
        domain: Optional[str] = None,
        metadata: Optional[Dict[str, str]] = None,
        field_violations: Optional[List[FieldViolation]] = None,
        retry_delay_seconds: Optional[float] = None,
        details: Optional[list] = None,
    ) -> None:
        super().__init__(f"{code.name}: {message}" + (f" [{reason}]" if reason else ""))
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata = dict(metadata or {})
        self.field_violations = list(field_violations or [])
        self.retry_delay_seconds = retry_delay_seconds
        self.details = list(details or [])

    @property
    def fields(self) -> List[str]:
        """The names of the bad fields (BadRequest), in order."""
        return [v.field for v in self.field_violations]

    @property
    def unimplemented(self) -> bool:
        return self.code == grpc.StatusCode.UNIMPLEMENTED

    @classmethod
    def from_rpc_error(cls, e: grpc.RpcError) -> "OtnError":
        """Builds an OtnError from a grpc.RpcError (which is also a grpc.Call)."""
        code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
        message = e.details() if hasattr(e, "details") else str(e)
        status: Optional[status_pb2.Status] = None
        try:
            status = rpc_status.from_call(e)  # reads the grpc-status-details-bin trailer
        except (ValueError, AttributeError):
            status = None  # details absent, or inconsistent with the status: keep code/message
        if status is None:
            return cls(code or grpc.StatusCode.UNKNOWN, message or "")
        return cls.from_status(status, code=code)

    @classmethod
    def from_status(cls, status: status_pb2.Status, code: Optional[grpc.StatusCode] = None) -> "OtnError":
        """Builds an OtnError from a google.rpc.Status (its details are decoded)."""
        if code is None:
            code = next((c for c in grpc.StatusCode if c.value[0] == status.code), grpc.StatusCode.UNKNOWN)
        reason = domain = None
        metadata: Dict[str, str] = {}
        violations: List[FieldViolation] = []
        retry: Optional[float] = None
        decoded = []
        for any_ in status.details:
            if any_.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                any_.Unpack(info)
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
                decoded.append(info)
            elif any_.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                br = error_details_pb2.BadRequest()
                any_.Unpack(br)
                violations.extend(br.field_violations)
                decoded.append(br)
            elif any_.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                ri = error_details_pb2.RetryInfo()
                any_.Unpack(ri)
                retry = ri.retry_delay.seconds + ri.retry_delay.nanos / 1e9
                decoded.append(ri)
            else:
                decoded.append(any_)
        return cls(
            code,
            status.message,
            reason=reason,
            domain=domain,
            metadata=metadata,
            field_violations=violations,
            retry_delay_seconds=retry,
            details=decoded,
        )
