"""A thin, synchronous client of otn.v1.NotificationService.

Every method takes either a request message (positional) or the request's fields as keyword
arguments (nested messages may be given as dicts, timestamps as ``datetime``), and returns the
response message of the contract. Failures raise :class:`otn_client.OtnError`.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import grpc

from ._gen.otn.v1 import resources_pb2, sending_pb2, service_pb2, service_pb2_grpc
from .errors import OtnError

DEFAULT_TARGET = "127.0.0.1:50051"
SANDBOX_PAGE_ID = "sandbox-page"


class DeliveryEventStream:
    """An iterator over ``otn.v1.DeliveryEvent`` from StreamDeliveryEvents.

    The stream is live: it does not end by itself. Stop it with :meth:`cancel` (or leave a
    ``with`` block); ``last_sequence`` is what to resume from (``after_sequence=``).
    """

    def __init__(self, call: Any) -> None:
        self._call = call
        self._cancelled = False
        self.last_sequence = 0

    def __iter__(self) -> "DeliveryEventStream":
        return self

    def __next__(self) -> sending_pb2.DeliveryEvent:
        try:
            msg = next(self._call)
        except grpc.RpcError as e:
            if self._cancelled and e.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise OtnError.from_rpc_error(e) from None
        self.last_sequence = msg.event.sequence
        return msg.event

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()

    def __enter__(self) -> "DeliveryEventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cancel()


class Client:
    """Client("127.0.0.1:50051", api_key=None, timeout=10.0)

    Args:
        target: ``host:port`` of the gRPC endpoint.
        api_key: when set, sent on every call as ``authorization: Bearer <api_key>``.
        timeout: default deadline in seconds of unary calls (streams have none unless given).
        credentials: ``grpc.ChannelCredentials`` for TLS; plaintext when omitted.
        channel: an existing ``grpc.Channel`` to use instead (target/credentials are ignored).
        metadata: extra metadata sent on every call.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        api_key: Optional[str] = None,
        timeout: Optional[float] = 10.0,
        *,
        credentials: Optional[grpc.ChannelCredentials] = None,
        channel: Optional[grpc.Channel] = None,
        metadata: Sequence[Tuple[str, str]] = (),
    ) -> None:
        self.target = target
        self.timeout = timeout
        self._own_channel = channel is None
        if channel is None:
            channel = (
                grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
            )
        self.channel = channel
        self.stub = service_pb2_grpc.NotificationServiceStub(channel)
        md: List[Tuple[str, str]] = list(metadata)
        if api_key:
            md.append(("authorization", f"Bearer {api_key}"))
        self._metadata = tuple(md)

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

    def _unary(self, method: Any, cls: Any, request: Any, fields: dict, timeout: Optional[float]) -> Any:
        if request is None:
            request = cls(**fields)
        elif fields:
            raise TypeError("give either a request message or keyword fields, not both")
        try:
            return method(
                request,
                timeout=self.timeout if timeout is None else timeout,
                metadata=self._metadata,
            )
        except grpc.RpcError as e:
            raise OtnError.from_rpc_error(e) from None

    @staticmethod
    def _with_request_id(request: Any, fields: dict) -> dict:
        if request is None and not fields.get("request_id"):
            fields["request_id"] = str(uuid.uuid4())
        return fields

    # -- consent ledger ---------------------------------------------------------------------

    def request_opt_in(self, request: Optional[service_pb2.RequestOptInRequest] = None, /, *,
                       timeout: Optional[float] = None, **fields: Any) -> service_pb2.RequestOptInResponse:
        """RequestOptIn (page_id, psid, topic_key, title, payload); request_id defaults to a uuid4."""
        return self._unary(self.stub.RequestOptIn, service_pb2.RequestOptInRequest, request,
                           self._with_request_id(request, fields), timeout)

    def record_opt_in(self, request: Optional[service_pb2.RecordOptInRequest] = None, /, *,
                      timeout: Optional[float] = None, **fields: Any) -> service_pb2.RecordOptInResponse:
        """RecordOptIn (page_id, psid, topic_key, token, ...); kind defaults to ONE_TIME_NOTIFICATION."""
        if request is None:
            fields.setdefault("kind", resources_pb2.GRANT_KIND_ONE_TIME_NOTIFICATION)
        return self._unary(self.stub.RecordOptIn, service_pb2.RecordOptInRequest, request, fields, timeout)

    def list_eligible(self, request: Optional[service_pb2.ListEligibleRequest] = None, /, *,
                      timeout: Optional[float] = None, **fields: Any) -> service_pb2.ListEligibleResponse:
        """One page of ListEligible (page_id, topic_key, tag_filter, regions, page_size, page_token)."""
        return self._unary(self.stub.ListEligible, service_pb2.ListEligibleRequest, request, fields, timeout)

    def iter_eligible(self, request: Optional[service_pb2.ListEligibleRequest] = None, /, *,
                      timeout: Optional[float] = None, **fields: Any) -> Iterator[service_pb2.EligibleRecipient]:
        """Every EligibleRecipient of every page (follows next_page_token)."""
        req = service_pb2.ListEligibleRequest()
        req.CopyFrom(request if request is not None else service_pb2.ListEligibleRequest(**fields))
        while True:
            page = self.list_eligible(req, timeout=timeout)
            yield from page.recipients
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    def iter_eligible_pages(self, request: Optional[service_pb2.ListEligibleRequest] = None, /, *,
                            timeout: Optional[float] = None,
                            **fields: Any) -> Iterator[service_pb2.ListEligibleResponse]:
        """Every ListEligibleResponse page, in order."""
        req = service_pb2.ListEligibleRequest()
        req.CopyFrom(request if request is not None else service_pb2.ListEligibleRequest(**fields))
        while True:
            page = self.list_eligible(req, timeout=timeout)
            yield page
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    def record_interaction(self, request: Optional[service_pb2.RecordInteractionRequest] = None, /, *,
                           timeout: Optional[float] = None,
                           **fields: Any) -> service_pb2.RecordInteractionResponse:
        """RecordInteraction (page_id, psid, kind, interaction_time)."""
        return self._unary(self.stub.RecordInteraction, service_pb2.RecordInteractionRequest, request, fields,
                           timeout)

    def update_recipient(self, request: Optional[service_pb2.UpdateRecipientRequest] = None, /, *,
                         timeout: Optional[float] = None, **fields: Any) -> service_pb2.UpdateRecipientResponse:
        """UpdateRecipient (page_id, psid, add_tags, remove_tags, region)."""
        return self._unary(self.stub.UpdateRecipient, service_pb2.UpdateRecipientRequest, request, fields,
                           timeout)

    def revoke_grant(self, request: Optional[service_pb2.RevokeGrantRequest] = None, /, *,
                     timeout: Optional[float] = None, **fields: Any) -> service_pb2.RevokeGrantResponse:
        """RevokeGrant (grant_id, or page_id + psid + topic_key)."""
        return self._unary(self.stub.RevokeGrant, service_pb2.RevokeGrantRequest, request, fields, timeout)

    def forget_recipient(self, request: Optional[service_pb2.ForgetRecipientRequest] = None, /, *,
                         timeout: Optional[float] = None, **fields: Any) -> service_pb2.ForgetRecipientResponse:
        """ForgetRecipient (page_id, psid)."""
        return self._unary(self.stub.ForgetRecipient, service_pb2.ForgetRecipientRequest, request, fields,
                           timeout)

    # -- sending ----------------------------------------------------------------------------

    def send_notification(self, request: Optional[service_pb2.SendNotificationRequest] = None, /, *,
                          timeout: Optional[float] = None,
                          **fields: Any) -> service_pb2.SendNotificationResponse:
        """SendNotification (page_id, topic_key, audience, content, options); request_id defaults to a uuid4.

        e.g. ``send_notification(page_id=..., topic_key=..., content={"text": "Back in stock!"},
        options={"max_recipients": 10})``
        """
        return self._unary(self.stub.SendNotification, service_pb2.SendNotificationRequest, request,
                           self._with_request_id(request, fields), timeout)

    def get_notification(self, request: Optional[service_pb2.GetNotificationRequest] = None, /, *,
                         timeout: Optional[float] = None, **fields: Any) -> service_pb2.GetNotificationResponse:
        """GetNotification (notification_id)."""
        return self._unary(self.stub.GetNotification, service_pb2.GetNotificationRequest, request, fields,
                           timeout)

    def cancel_notification(self, request: Optional[service_pb2.CancelNotificationRequest] = None, /, *,
                            timeout: Optional[float] = None,
                            **fields: Any) -> service_pb2.CancelNotificationResponse:
        """CancelNotification (notification_id)."""
        return self._unary(self.stub.CancelNotification, service_pb2.CancelNotificationRequest, request, fields,
                           timeout)

    def stream_delivery_events(self, request: Optional[service_pb2.StreamDeliveryEventsRequest] = None, /, *,
                               after_sequence: int = 0, timeout: Optional[float] = None,
                               **fields: Any) -> DeliveryEventStream:
        """StreamDeliveryEvents: iterate the returned stream for DeliveryEvents; cancel() it when done.

        Filters: page_id, topic_key, notification_id, from_now. ``timeout`` (seconds) bounds the
        whole stream; none by default.
        """
        if request is None:
            request = service_pb2.StreamDeliveryEventsRequest(after_sequence=after_sequence, **fields)
        elif fields or after_sequence:
            raise TypeError("give either a request message or keyword fields, not both")
        call = self.stub.StreamDeliveryEvents(request, timeout=timeout, metadata=self._metadata)
        return DeliveryEventStream(call)
