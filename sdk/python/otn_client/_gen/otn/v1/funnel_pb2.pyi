from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetFunnelRequest(_message.Message):
    __slots__ = ("page_id", "topic_key", "notification_id", "start_date", "end_date")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    topic_key: str
    notification_id: str
    start_date: str
    end_date: str
    def __init__(self, page_id: _Optional[str] = ..., topic_key: _Optional[str] = ..., notification_id: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class FunnelCounts(_message.Message):
    __slots__ = ("opt_in_requests", "opt_ins", "grants_used", "sent", "delivered", "read", "engaged", "engaged_message", "engaged_postback", "clicked", "queued", "failed", "unconfirmed", "cancelled", "grants_expired", "grants_stopped", "grants_resumed", "grants_revoked")
    OPT_IN_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    OPT_INS_FIELD_NUMBER: _ClassVar[int]
    GRANTS_USED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    ENGAGED_FIELD_NUMBER: _ClassVar[int]
    ENGAGED_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ENGAGED_POSTBACK_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    UNCONFIRMED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    GRANTS_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    GRANTS_STOPPED_FIELD_NUMBER: _ClassVar[int]
    GRANTS_RESUMED_FIELD_NUMBER: _ClassVar[int]
    GRANTS_REVOKED_FIELD_NUMBER: _ClassVar[int]
    opt_in_requests: int
    opt_ins: int
    grants_used: int
    sent: int
    delivered: int
    read: int
    engaged: int
    engaged_message: int
    engaged_postback: int
    clicked: int
    queued: int
    failed: int
    unconfirmed: int
    cancelled: int
    grants_expired: int
    grants_stopped: int
    grants_resumed: int
    grants_revoked: int
    def __init__(self, opt_in_requests: _Optional[int] = ..., opt_ins: _Optional[int] = ..., grants_used: _Optional[int] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., read: _Optional[int] = ..., engaged: _Optional[int] = ..., engaged_message: _Optional[int] = ..., engaged_postback: _Optional[int] = ..., clicked: _Optional[int] = ..., queued: _Optional[int] = ..., failed: _Optional[int] = ..., unconfirmed: _Optional[int] = ..., cancelled: _Optional[int] = ..., grants_expired: _Optional[int] = ..., grants_stopped: _Optional[int] = ..., grants_resumed: _Optional[int] = ..., grants_revoked: _Optional[int] = ...) -> None: ...

class FunnelRates(_message.Message):
    __slots__ = ("opt_in_rate", "use_rate", "send_rate", "delivery_rate", "read_rate", "engagement_rate", "click_rate")
    OPT_IN_RATE_FIELD_NUMBER: _ClassVar[int]
    USE_RATE_FIELD_NUMBER: _ClassVar[int]
    SEND_RATE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_RATE_FIELD_NUMBER: _ClassVar[int]
    READ_RATE_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_RATE_FIELD_NUMBER: _ClassVar[int]
    CLICK_RATE_FIELD_NUMBER: _ClassVar[int]
    opt_in_rate: float
    use_rate: float
    send_rate: float
    delivery_rate: float
    read_rate: float
    engagement_rate: float
    click_rate: float
    def __init__(self, opt_in_rate: _Optional[float] = ..., use_rate: _Optional[float] = ..., send_rate: _Optional[float] = ..., delivery_rate: _Optional[float] = ..., read_rate: _Optional[float] = ..., engagement_rate: _Optional[float] = ..., click_rate: _Optional[float] = ...) -> None: ...

class FunnelDay(_message.Message):
    __slots__ = ("date", "counts", "rates")
    DATE_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    date: str
    counts: FunnelCounts
    rates: FunnelRates
    def __init__(self, date: _Optional[str] = ..., counts: _Optional[_Union[FunnelCounts, _Mapping]] = ..., rates: _Optional[_Union[FunnelRates, _Mapping]] = ...) -> None: ...

class GetFunnelResponse(_message.Message):
    __slots__ = ("page_id", "topic_key", "notification_id", "start_date", "end_date", "counts", "rates", "days")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    topic_key: str
    notification_id: str
    start_date: str
    end_date: str
    counts: FunnelCounts
    rates: FunnelRates
    days: _containers.RepeatedCompositeFieldContainer[FunnelDay]
    def __init__(self, page_id: _Optional[str] = ..., topic_key: _Optional[str] = ..., notification_id: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., counts: _Optional[_Union[FunnelCounts, _Mapping]] = ..., rates: _Optional[_Union[FunnelRates, _Mapping]] = ..., days: _Optional[_Iterable[_Union[FunnelDay, _Mapping]]] = ...) -> None: ...
