"""What the sync and asyncio clients share: options, metadata, request preparation."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from . import _requests
from ._calls import Attempts
from ._gen import client_rules as CR
from ._gen.otn.v1 import funnel_pb2, service_pb2
from .errors import OtnUsageError
from .retry import OnRetry, RetryPolicy
from .validate import check_list_eligible, check_request_opt_in, check_send_notification

DEFAULT_TARGET = "127.0.0.1:50051"
SANDBOX_PAGE_ID = "sandbox-page"

#: A Timestamp field: a ``Timestamp`` or a ``datetime`` (naive = UTC).
TimeLike = Union[Timestamp, datetime]
#: A nested message field: the message, or a dict of its fields.
MessageLike = Union[Message, Mapping[str, Any]]

#: Channel options the clients set unless given: reconnect quickly after a server restart
#: (grpc's own default backs off up to 120 s while the server is away; sdk/client-rules.json).
DEFAULT_CHANNEL_OPTIONS: Tuple[Tuple[str, Any], ...] = (
    ("grpc.initial_reconnect_backoff_ms", CR.CHANNEL_INITIAL_RECONNECT_BACKOFF_MS),
    ("grpc.min_reconnect_backoff_ms", CR.CHANNEL_INITIAL_RECONNECT_BACKOFF_MS),
    ("grpc.max_reconnect_backoff_ms", CR.CHANNEL_MAX_RECONNECT_BACKOFF_MS),
)
#: The default timeout of each unary attempt, in seconds.
DEFAULT_TIMEOUT: float = CR.RETRY_ATTEMPT_TIMEOUT_MS / 1000

M = TypeVar("M", bound=Message)

#: RPC name -> (request class, Python method name, response class).
RPCS: Dict[str, Tuple[Type[Message], str, Type[Message]]] = {
    "RequestOptIn": (service_pb2.RequestOptInRequest, "request_opt_in", service_pb2.RequestOptInResponse),
    "RecordOptIn": (service_pb2.RecordOptInRequest, "record_opt_in", service_pb2.RecordOptInResponse),
    "ListEligible": (service_pb2.ListEligibleRequest, "list_eligible", service_pb2.ListEligibleResponse),
    "RecordInteraction": (service_pb2.RecordInteractionRequest, "record_interaction",
                          service_pb2.RecordInteractionResponse),
    "UpdateRecipient": (service_pb2.UpdateRecipientRequest, "update_recipient", service_pb2.UpdateRecipientResponse),
    "RevokeGrant": (service_pb2.RevokeGrantRequest, "revoke_grant", service_pb2.RevokeGrantResponse),
    "AssignGrant": (service_pb2.AssignGrantRequest, "assign_grant", service_pb2.AssignGrantResponse),
    "ForgetRecipient": (service_pb2.ForgetRecipientRequest, "forget_recipient", service_pb2.ForgetRecipientResponse),
    "SendNotification": (service_pb2.SendNotificationRequest, "send_notification",
                         service_pb2.SendNotificationResponse),
    "GetNotification": (service_pb2.GetNotificationRequest, "get_notification", service_pb2.GetNotificationResponse),
    "CancelNotification": (service_pb2.CancelNotificationRequest, "cancel_notification",
                           service_pb2.CancelNotificationResponse),
    "ListNotifications": (service_pb2.ListNotificationsRequest, "list_notifications",
                          service_pb2.ListNotificationsResponse),
    "StreamDeliveryEvents": (service_pb2.StreamDeliveryEventsRequest, "stream_delivery_events",
                             service_pb2.StreamDeliveryEventsResponse),
    "GetFunnel": (funnel_pb2.GetFunnelRequest, "get_funnel", funnel_pb2.GetFunnelResponse),
    "ResumePage": (service_pb2.ResumePageRequest, "resume_page", service_pb2.ResumePageResponse),
}


class ClientBase:
    """Options common to :class:`otn_client.Client` and :class:`otn_client.AsyncClient`."""

    def __init__(
        self,
        target: str,
        api_key: Optional[str],
        timeout: Optional[float],
        *,
        credentials: Optional[grpc.ChannelCredentials],
        metadata: Sequence[Tuple[str, str]],
        retry: RetryPolicy,
        stream_retry: RetryPolicy,
        validate: bool,
        options: Sequence[Tuple[str, Any]],
        wait_for_ready: bool,
        on_retry: Optional[OnRetry],
        logger: Optional[logging.Logger],
    ) -> None:
        if not isinstance(target, str) or not target:
            raise OtnUsageError(f"target must be a non-empty 'host:port' string, got {target!r}", "target")
        if api_key is not None and (not isinstance(api_key, str) or not api_key or "\n" in api_key):
            raise OtnUsageError("api_key must be a non-empty one-line string or None", "api_key")
        if credentials is not None and not isinstance(credentials, grpc.ChannelCredentials):
            raise OtnUsageError("credentials must be grpc.ChannelCredentials (e.g. grpc.ssl_channel_credentials())",
                                "credentials")
        for name, policy in (("retry", retry), ("stream_retry", stream_retry)):
            if not isinstance(policy, RetryPolicy):
                raise OtnUsageError(f"{name} must be an otn_client.RetryPolicy, got {type(policy).__name__}", name)
        if on_retry is not None and not callable(on_retry):
            raise OtnUsageError("on_retry must be a callable taking an otn_client.RetryEvent", "on_retry")
        if logger is not None and not isinstance(logger, logging.Logger):
            raise OtnUsageError("logger must be a logging.Logger or None", "logger")
        self.target = target
        self.timeout = _requests.check_timeout(None, timeout)
        self.retry = retry
        self.stream_retry = stream_retry
        self.validate = validate
        self.wait_for_ready = bool(wait_for_ready)
        self.on_retry = on_retry
        self.logger = logger
        self._credentials = credentials
        given = {k for k, _ in options}
        self._options = tuple(options) + tuple(o for o in DEFAULT_CHANNEL_OPTIONS if o[0] not in given)
        md = [(str(k).lower(), v) for k, v in metadata]
        if api_key:
            md.append(("authorization", f"Bearer {api_key}"))
        self._metadata: Tuple[Tuple[str, str], ...] = tuple(md)

    def _prepare(self, rpc: str, request: Optional[M], fields: Dict[str, Any], unknown: Dict[str, Any]) -> M:
        """The request to send: built and checked once, before the first attempt."""
        cls, name, _ = RPCS[rpc]
        msg: Any = _requests.build(cls, name, request, fields, unknown)
        if rpc in ("RequestOptIn", "SendNotification"):
            _requests.with_request_id(msg)
            if self.validate:
                (check_request_opt_in if rpc == "RequestOptIn" else check_send_notification)(msg)
        elif rpc == "ListEligible" and self.validate:
            check_list_eligible(msg)
        elif rpc == "RecordOptIn":
            _requests.with_default_kind(msg)
        return msg  # type: ignore[no-any-return]

    def _attempts(self, rpc: str, request: Any, timeout: Optional[float],
                  policy: Optional[RetryPolicy] = None) -> Attempts:
        """The bookkeeping of one unary call across its attempts (see otn_client._calls)."""
        per_attempt = _requests.check_timeout(timeout, self.timeout)
        return Attempts(rpc, request, self._metadata, per_attempt, policy or self.retry, self.wait_for_ready,
                        self.on_retry, self.logger)
