"""Python SDK of otn.v1.NotificationService (opt-in one-time notifications on Messenger).

    from otn_client import Client, AsyncClient, OtnError, RetryPolicy, v1

``v1`` holds every message and enum of the contract (generated from proto/otn/v1); ``limits``
holds the server's input limits (generated from proto/otn/v1/limits.json); ``client_rules`` how
both clients retry and reconnect (generated from sdk/client-rules.json).
"""

from ._base import DEFAULT_CHANNEL_OPTIONS, DEFAULT_TARGET, DEFAULT_TIMEOUT, SANDBOX_PAGE_ID
from ._gen import client_rules, limits
from ._gen.otn import v1
from .aio import AsyncClient
from .client import Client
from .errors import (
    ERROR_DOMAIN,
    ERRORS_BY_CODE,
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    OtnError,
    OtnUsageError,
    OtnValidationError,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    classify,
    error_class,
    reason_of,
)
from .retry import DEFAULT_RETRY, DEFAULT_STREAM_RETRY, NO_RETRY, OnRetry, RetryEvent, RetryPolicy, retryable_codes
from .stream import AsyncDeliveryEventStream, DeliveryEventStream
from .validate import (
    check_list_eligible,
    check_request_opt_in,
    check_send_notification,
    list_eligible_violations,
    request_opt_in_violations,
    send_notification_violations,
)

__version__ = "0.2.0"

__all__ = [
    "Client",
    "AsyncClient",
    "DeliveryEventStream",
    "AsyncDeliveryEventStream",
    "RetryPolicy",
    "RetryEvent",
    "OnRetry",
    "classify",
    "DEFAULT_RETRY",
    "DEFAULT_STREAM_RETRY",
    "NO_RETRY",
    "retryable_codes",
    "OtnError",
    "OtnUsageError",
    "OtnValidationError",
    "InvalidArgument",
    "NotFound",
    "AlreadyExists",
    "FailedPrecondition",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
    "Aborted",
    "DeadlineExceeded",
    "OutOfRange",
    "Internal",
    "ResourceExhausted",
    "Cancelled",
    "Unknown",
    "Unimplemented",
    "DataLoss",
    "ERRORS_BY_CODE",
    "error_class",
    "reason_of",
    "FieldViolation",
    "ERROR_DOMAIN",
    "send_notification_violations",
    "request_opt_in_violations",
    "check_send_notification",
    "check_request_opt_in",
    "list_eligible_violations",
    "check_list_eligible",
    "DEFAULT_TARGET",
    "DEFAULT_CHANNEL_OPTIONS",
    "DEFAULT_TIMEOUT",
    "SANDBOX_PAGE_ID",
    "limits",
    "client_rules",
    "v1",
    "__version__",
]
