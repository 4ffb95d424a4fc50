"""The synchronous client of otn.v1.NotificationService.

Every method takes the request's fields as typed keyword arguments (nested messages as messages
or dicts, timestamps as ``Timestamp`` or ``datetime``, enums as values or names) or the request
message itself, plus ``timeout=`` (seconds, per attempt), and returns the response message of
the contract. Failures raise the :class:`otn_client.OtnError` subclass of their gRPC code.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterator, NoReturn, Optional, Sequence, Tuple, Type, TypeVar, Union, cast

import grpc

from . import _requests
from ._base import DEFAULT_TARGET, DEFAULT_TIMEOUT, ClientBase, MessageLike, TimeLike
from ._calls import Finality, call_request_id, with_request_id
from ._gen import client_rules as CR
from ._gen.otn.v1 import funnel_pb2, resources_pb2, sending_pb2, service_pb2, service_pb2_grpc
from .errors import DeadlineExceeded
from .retry import DEFAULT_RETRY, DEFAULT_STREAM_RETRY, LOGGER, OnRetry, RetryPolicy
from .stream import DeliveryEventStream

F = _requests.call_fields
R = TypeVar("R")


class Client(ClientBase):
    """Client("127.0.0.1:50051", api_key=None, timeout=10.0, *, retry=DEFAULT_RETRY, ...)

    Args:
        target: ``host:port`` of the gRPC endpoint.
        api_key: sent on every call as ``authorization: Bearer <api_key>``.
        timeout: default deadline of each unary attempt, in seconds (streams have none unless
            given); the retry policy's overall ``deadline`` (30 s) bounds the attempts together.
        credentials: ``grpc.ChannelCredentials`` (``grpc.ssl_channel_credentials()``) for TLS;
            plaintext when omitted.
        channel: an existing ``grpc.Channel`` (target, credentials and options are then unused).
        metadata: extra metadata sent on every call.
        retry: how unary calls are retried (default: within 30 s, see :class:`RetryPolicy`).
        stream_retry: how the event stream reconnects (default: without bound).
        validate: check SendNotification, RequestOptIn and ListEligible locally with the
            server's limits.
        options: extra grpc channel options (``DEFAULT_CHANNEL_OPTIONS`` unless overridden).
        wait_for_ready: unary attempts wait for the channel to connect, within their timeout,
            instead of failing at once while the server is away (gRPC's wait-for-ready).
        on_retry: called with a :class:`RetryEvent` (method, attempt, code, delay, request id)
            before each wait between attempts; what it raises ends the call.
        logger: where each retry is logged at INFO (default ``logging.getLogger("otn_client")``;
            ``None``: not logged). Neither the API key nor any metadata is ever logged.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        api_key: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        *,
        credentials: Optional[grpc.ChannelCredentials] = None,
        channel: Optional[grpc.Channel] = None,
        metadata: Sequence[Tuple[str, str]] = (),
        retry: RetryPolicy = DEFAULT_RETRY,
        stream_retry: RetryPolicy = DEFAULT_STREAM_RETRY,
        validate: bool = True,
        options: Sequence[Tuple[str, Any]] = (),
        wait_for_ready: bool = CR.RETRY_WAIT_FOR_READY,
        on_retry: Optional[OnRetry] = None,
        logger: Optional[logging.Logger] = LOGGER,
    ) -> None:
        super().__init__(target, api_key, timeout, credentials=credentials, metadata=metadata, retry=retry,
                         stream_retry=stream_retry, validate=validate, options=options, wait_for_ready=wait_for_ready,
                         on_retry=on_retry, logger=logger)
        self._own_channel = channel is None
        if channel is None:
            if credentials is not None:
                channel = grpc.secure_channel(target, credentials, options=self._options)
            else:
                channel = grpc.insecure_channel(target, options=self._options)
        self.channel: grpc.Channel = channel
        self.stub = service_pb2_grpc.NotificationServiceStub(channel)  # type: ignore[no-untyped-call]

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        if self._own_channel:
            self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Blocks until the channel is connected (raises grpc.FutureTimeoutError)."""
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    def _unary(self, rpc: str, request: Any, timeout: Optional[float], response: Type[R],
               policy: Optional[RetryPolicy] = None) -> R:
        method = getattr(self.stub, rpc)
        call = self._attempts(rpc, request, timeout, policy)
        while True:
            attempt_timeout = call.timeout()
            try:
                return cast(R, method(request, timeout=attempt_timeout, metadata=call.metadata,
                                      wait_for_ready=call.wait_for_ready))
            except grpc.RpcError as e:
                delay = call.failed(e)  # or raises the OtnError
            time.sleep(delay)

    def wait_until_final(self, notification_id: str, *, timeout: Optional[float] = None,
                         poll_interval: Optional[float] = None) -> sending_pb2.Notification:
        """Polls GetNotification every ``poll_interval`` seconds (0.5) until the notification is
        COMPLETED, CANCELLED or PLANNED (a dry run), and returns it; raises
        :class:`DeadlineExceeded` naming the last state when ``timeout`` (60 s) passes first."""
        final = Finality(notification_id, timeout, poll_interval)
        request: service_pb2.GetNotificationRequest = self._prepare(
            "GetNotification", None, {"notification_id": notification_id}, {})
        state = 0  # NOTIFICATION_STATE_UNSPECIFIED until a poll answers
        while True:
            per_call = max(0.001, min(self.timeout or final.left(), final.left()))
            try:
                got = self._unary("GetNotification", request, per_call, service_pb2.GetNotificationResponse,
                                  final.policy(self.retry))
            except DeadlineExceeded:
                if final.left() > 0:
                    raise
                raise final.not_final(state) from None
            if final.done(got.notification):
                return got.notification
            state = got.notification.state
            time.sleep(final.next_wait(state))

    # -- consent ledger ---------------------------------------------------------------------

    def request_opt_in(
        self, request: Optional[service_pb2.RequestOptInRequest] = None, /, *, request_id: Optional[str] = None,
        page_id: Optional[str] = None, psid: Optional[str] = None, topic_key: Optional[str] = None,
        title: Optional[str] = None, payload: Optional[str] = None,
        template: Optional[Union[service_pb2.OptInTemplate, str]] = None, marketing: Optional[MessageLike] = None,
        timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.RequestOptInResponse:
        """RequestOptIn: asks a person inside their 24-hour window. ``request_id`` defaults to a
        uuid4 (kept across retries); validated locally first."""
        req = self._prepare("RequestOptIn", request, F(locals()), unknown)
        return self._unary("RequestOptIn", req, timeout, service_pb2.RequestOptInResponse)

    def record_opt_in(
        self, request: Optional[service_pb2.RecordOptInRequest] = None, /, *, page_id: Optional[str] = None,
        psid: Optional[str] = None, topic_key: Optional[str] = None, topic_title: Optional[str] = None,
        kind: Optional[Union[resources_pb2.GrantKind, str]] = None, token: Optional[str] = None,
        payload: Optional[str] = None, opt_in_time: Optional[TimeLike] = None,
        expire_time: Optional[TimeLike] = None, timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.RecordOptInResponse:
        """RecordOptIn: records a grant (idempotent on the token); ``kind`` defaults to
        GRANT_KIND_ONE_TIME_NOTIFICATION."""
        req = self._prepare("RecordOptIn", request, F(locals()), unknown)
        return self._unary("RecordOptIn", req, timeout, service_pb2.RecordOptInResponse)

    def list_eligible(
        self, request: Optional[service_pb2.ListEligibleRequest] = None, /, *, page_id: Optional[str] = None,
        topic_key: Optional[str] = None, tag_filter: Optional[MessageLike] = None,
        regions: Optional[Sequence[str]] = None, page_size: Optional[int] = None, page_token: Optional[str] = None,
        explain_exclusions: Optional[bool] = None, include_total_size: Optional[bool] = None,
        timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.ListEligibleResponse:
        """One page of ListEligible (follow ``next_page_token``, or use :meth:`iter_eligible`)."""
        req = self._prepare("ListEligible", request, F(locals()), unknown)
        return self._unary("ListEligible", req, timeout, service_pb2.ListEligibleResponse)

    def iter_eligible_pages(
        self, request: Optional[service_pb2.ListEligibleRequest] = None, /, *, page_id: Optional[str] = None,
        topic_key: Optional[str] = None, tag_filter: Optional[MessageLike] = None,
        regions: Optional[Sequence[str]] = None, page_size: Optional[int] = None, page_token: Optional[str] = None,
        explain_exclusions: Optional[bool] = None, include_total_size: Optional[bool] = None,
        timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> Iterator[service_pb2.ListEligibleResponse]:
        """Every ListEligibleResponse page, in order (follows ``next_page_token``)."""
        return self._pages(self._prepare("ListEligible", request, F(locals()), unknown), timeout)

    def _pages(self, req: service_pb2.ListEligibleRequest,
               timeout: Optional[float]) -> Iterator[service_pb2.ListEligibleResponse]:
        while True:
            page = self._unary("ListEligible", req, timeout, service_pb2.ListEligibleResponse)
            yield page
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    def iter_eligible(
        self, request: Optional[service_pb2.ListEligibleRequest] = None, /, *, page_id: Optional[str] = None,
        topic_key: Optional[str] = None, tag_filter: Optional[MessageLike] = None,
        regions: Optional[Sequence[str]] = None, page_size: Optional[int] = None, page_token: Optional[str] = None,
        explain_exclusions: Optional[bool] = None, include_total_size: Optional[bool] = None,
        timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> Iterator[service_pb2.EligibleRecipient]:
        """Every EligibleRecipient of every page."""
        pages = self._pages(self._prepare("ListEligible", request, F(locals()), unknown), timeout)
        return (r for page in pages for r in page.recipients)

    def record_interaction(
        self, request: Optional[service_pb2.RecordInteractionRequest] = None, /, *,
        page_id: Optional[str] = None, psid: Optional[str] = None,
        kind: Optional[Union[resources_pb2.InteractionKind, str]] = None, interaction_time: Optional[TimeLike] = None,
        timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.RecordInteractionResponse:
        """RecordInteraction: opens the person's 24-hour window."""
        req = self._prepare("RecordInteraction", request, F(locals()), unknown)
        return self._unary("RecordInteraction", req, timeout, service_pb2.RecordInteractionResponse)

    def update_recipient(
        self, request: Optional[service_pb2.UpdateRecipientRequest] = None, /, *, page_id: Optional[str] = None,
        psid: Optional[str] = None, add_tags: Optional[Sequence[str]] = None,
        remove_tags: Optional[Sequence[str]] = None, region: Optional[str] = None,
        time_zone: Optional[str] = None, timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.UpdateRecipientResponse:
        """UpdateRecipient: tags to add/remove; ``region`` and ``time_zone`` (IANA) None keep them,
        ``""`` clears them."""
        req = self._prepare("UpdateRecipient", request, F(locals()), unknown)
        return self._unary("UpdateRecipient", req, timeout, service_pb2.UpdateRecipientResponse)

    def revoke_grant(
        self, request: Optional[service_pb2.RevokeGrantRequest] = None, /, *, grant_id: Optional[str] = None,
        page_id: Optional[str] = None, psid: Optional[str] = None, topic_key: Optional[str] = None,
        timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.RevokeGrantResponse:
        """RevokeGrant: ``grant_id``, or ``page_id`` + ``psid`` + ``topic_key``."""
        req = self._prepare("RevokeGrant", request, F(locals()), unknown)
        return self._unary("RevokeGrant", req, timeout, service_pb2.RevokeGrantResponse)

    def assign_grant(
        self, request: Optional[service_pb2.AssignGrantRequest] = None, /, *, grant_id: Optional[str] = None,
        topic_key: Optional[str] = None, topic_title: Optional[str] = None, timeout: Optional[float] = None,
        **unknown: NoReturn,
    ) -> service_pb2.AssignGrantResponse:
        """AssignGrant: moves a grant of the reserved topic ``otn:unassigned`` to a topic."""
        req = self._prepare("AssignGrant", request, F(locals()), unknown)
        return self._unary("AssignGrant", req, timeout, service_pb2.AssignGrantResponse)

    def forget_recipient(
        self, request: Optional[service_pb2.ForgetRecipientRequest] = None, /, *, page_id: Optional[str] = None,
        psid: Optional[str] = None, timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.ForgetRecipientResponse:
        """ForgetRecipient: erases a person on a page."""
        req = self._prepare("ForgetRecipient", request, F(locals()), unknown)
        return self._unary("ForgetRecipient", req, timeout, service_pb2.ForgetRecipientResponse)

    # -- sending ----------------------------------------------------------------------------

    def send_notification(
        self, request: Optional[service_pb2.SendNotificationRequest] = None, /, *,
        request_id: Optional[str] = None, page_id: Optional[str] = None, topic_key: Optional[str] = None,
        audience: Optional[MessageLike] = None, content: Optional[MessageLike] = None,
        options: Optional[MessageLike] = None, timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.SendNotificationResponse:
        """SendNotification, e.g. ``send_notification(page_id=..., topic_key=...,
        content={"text": "Back in stock!"}, options={"max_recipients": 10})``. ``request_id``
        defaults to a uuid4 (kept across retries); validated locally first."""
        req = self._prepare("SendNotification", request, F(locals()), unknown)
        return self._unary("SendNotification", req, timeout, service_pb2.SendNotificationResponse)

    def get_notification(
        self, request: Optional[service_pb2.GetNotificationRequest] = None, /, *,
        notification_id: Optional[str] = None, timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.GetNotificationResponse:
        """GetNotification: the notification with its counts."""
        req = self._prepare("GetNotification", request, F(locals()), unknown)
        return self._unary("GetNotification", req, timeout, service_pb2.GetNotificationResponse)

    def get_funnel(
        self, request: Optional[funnel_pb2.GetFunnelRequest] = None, /, *, page_id: Optional[str] = None,
        topic_key: Optional[str] = None, notification_id: Optional[str] = None,
        start_date: Optional[str] = None, end_date: Optional[str] = None, timeout: Optional[float] = None,
        **unknown: NoReturn,
    ) -> funnel_pb2.GetFunnelResponse:
        """GetFunnel: the consent funnel of a topic (``page_id`` and ``topic_key``) or of one
        notification (``notification_id``), over UTC days ``start_date`` to ``end_date``."""
        req = self._prepare("GetFunnel", request, F(locals()), unknown)
        return self._unary("GetFunnel", req, timeout, funnel_pb2.GetFunnelResponse)

    def resume_page(
        self, request: Optional[service_pb2.ResumePageRequest] = None, /, *, page_id: Optional[str] = None,
        timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.ResumePageResponse:
        """ResumePage: resumes a page whose circuit breaker tripped (pause ``negative_feedback``)."""
        req = self._prepare("ResumePage", request, F(locals()), unknown)
        return self._unary("ResumePage", req, timeout, service_pb2.ResumePageResponse)

    def cancel_notification(
        self, request: Optional[service_pb2.CancelNotificationRequest] = None, /, *,
        notification_id: Optional[str] = None, timeout: Optional[float] = None, **unknown: NoReturn,
    ) -> service_pb2.CancelNotificationResponse:
        """CancelNotification: cancels what is still queued."""
        req = self._prepare("CancelNotification", request, F(locals()), unknown)
        return self._unary("CancelNotification", req, timeout, service_pb2.CancelNotificationResponse)

    def list_notifications(
        self, request: Optional[service_pb2.ListNotificationsRequest] = None, /, *, page_id: Optional[str] = None,
        states: Optional[Sequence[Union[sending_pb2.NotificationState, str]]] = None,
        page_size: Optional[int] = None, page_token: Optional[str] = None, timeout: Optional[float] = None,
        **unknown: NoReturn,
    ) -> service_pb2.ListNotificationsResponse:
        """One page of ListNotifications, newest first (or use :meth:`iter_notifications`)."""
        req = self._prepare("ListNotifications", request, F(locals()), unknown)
        return self._unary("ListNotifications", req, timeout, service_pb2.ListNotificationsResponse)

    def iter_notifications(
        self, request: Optional[service_pb2.ListNotificationsRequest] = None, /, *, page_id: Optional[str] = None,
        states: Optional[Sequence[Union[sending_pb2.NotificationState, str]]] = None,
        page_size: Optional[int] = None, page_token: Optional[str] = None, timeout: Optional[float] = None,
        **unknown: NoReturn,
    ) -> Iterator[sending_pb2.Notification]:
        """Every Notification of every page, newest first."""
        return self._notifications(self._prepare("ListNotifications", request, F(locals()), unknown), timeout)

    def _notifications(self, req: service_pb2.ListNotificationsRequest,
                       timeout: Optional[float]) -> Iterator[sending_pb2.Notification]:
        while True:
            page = self._unary("ListNotifications", req, timeout, service_pb2.ListNotificationsResponse)
            yield from page.notifications
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    def stream_delivery_events(
        self, request: Optional[service_pb2.StreamDeliveryEventsRequest] = None, /, *,
        page_id: Optional[str] = None, topic_key: Optional[str] = None, notification_id: Optional[str] = None,
        after_sequence: Optional[int] = None, from_now: Optional[bool] = None,
        max_events_per_message: Optional[int] = None, timeout: Optional[float] = None,
        **unknown: NoReturn,
    ) -> DeliveryEventStream:
        """StreamDeliveryEvents as a live iterator of DeliveryEvent that reconnects and resumes
        after ``last_sequence``; ``cancel()`` it (or leave its ``with`` block) to stop.
        ``timeout`` bounds the whole stream, reconnections included; none by default."""
        req = self._prepare("StreamDeliveryEvents", request, F(locals()), unknown)
        bound = _requests.check_timeout(timeout, None)

        metadata = with_request_id(self._metadata, call_request_id(self._metadata, req))

        def open_call(r: service_pb2.StreamDeliveryEventsRequest, remaining: Optional[float]) -> Any:
            return self.stub.StreamDeliveryEvents(r, timeout=remaining, metadata=metadata)

        return DeliveryEventStream(open_call, req, self.stream_retry, bound)
