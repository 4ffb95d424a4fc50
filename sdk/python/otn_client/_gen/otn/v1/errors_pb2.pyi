from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_FIELD: _ClassVar[ErrorReason]
    ERROR_REASON_PAGE_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_GRANT_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_RECIPIENT_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_NOTIFICATION_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_OUTSIDE_WINDOW: _ClassVar[ErrorReason]
    ERROR_REASON_OPT_IN_RECENTLY_REQUESTED: _ClassVar[ErrorReason]
    ERROR_REASON_REQUEST_ID_REUSED: _ClassVar[ErrorReason]
    ERROR_REASON_TOKEN_CONFLICT: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_PAGE_TOKEN: _ClassVar[ErrorReason]
    ERROR_REASON_GRAPH_API_REFUSED: _ClassVar[ErrorReason]
    ERROR_REASON_GRAPH_API_UNAVAILABLE: _ClassVar[ErrorReason]
    ERROR_REASON_PAGE_PAUSED: _ClassVar[ErrorReason]
    ERROR_REASON_NOTIFICATION_FINAL: _ClassVar[ErrorReason]
    ERROR_REASON_REGION_NOT_ALLOWED: _ClassVar[ErrorReason]
    ERROR_REASON_SHUTTING_DOWN: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
ERROR_REASON_INVALID_FIELD: ErrorReason
ERROR_REASON_PAGE_NOT_FOUND: ErrorReason
ERROR_REASON_GRANT_NOT_FOUND: ErrorReason
ERROR_REASON_RECIPIENT_NOT_FOUND: ErrorReason
ERROR_REASON_NOTIFICATION_NOT_FOUND: ErrorReason
ERROR_REASON_OUTSIDE_WINDOW: ErrorReason
ERROR_REASON_OPT_IN_RECENTLY_REQUESTED: ErrorReason
ERROR_REASON_REQUEST_ID_REUSED: ErrorReason
ERROR_REASON_TOKEN_CONFLICT: ErrorReason
ERROR_REASON_INVALID_PAGE_TOKEN: ErrorReason
ERROR_REASON_GRAPH_API_REFUSED: ErrorReason
ERROR_REASON_GRAPH_API_UNAVAILABLE: ErrorReason
ERROR_REASON_PAGE_PAUSED: ErrorReason
ERROR_REASON_NOTIFICATION_FINAL: ErrorReason
ERROR_REASON_REGION_NOT_ALLOWED: ErrorReason
ERROR_REASON_SHUTTING_DOWN: ErrorReason
