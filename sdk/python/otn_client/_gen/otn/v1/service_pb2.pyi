import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from otn_client._gen.otn.v1 import funnel_pb2 as _funnel_pb2
from otn_client._gen.otn.v1 import resources_pb2 as _resources_pb2
from otn_client._gen.otn.v1 import sending_pb2 as _sending_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OptInTemplate(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPT_IN_TEMPLATE_UNSPECIFIED: _ClassVar[OptInTemplate]
    OPT_IN_TEMPLATE_ONE_TIME_NOTIFICATION: _ClassVar[OptInTemplate]
    OPT_IN_TEMPLATE_NOTIFICATION_MESSAGES: _ClassVar[OptInTemplate]

class ImageAspectRatio(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_ASPECT_RATIO_UNSPECIFIED: _ClassVar[ImageAspectRatio]
    IMAGE_ASPECT_RATIO_HORIZONTAL: _ClassVar[ImageAspectRatio]
    IMAGE_ASPECT_RATIO_SQUARE: _ClassVar[ImageAspectRatio]

class CtaText(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CTA_TEXT_UNSPECIFIED: _ClassVar[CtaText]
    CTA_TEXT_ALLOW: _ClassVar[CtaText]
    CTA_TEXT_GET: _ClassVar[CtaText]
    CTA_TEXT_GET_UPDATES: _ClassVar[CtaText]
    CTA_TEXT_OPT_IN: _ClassVar[CtaText]
    CTA_TEXT_SIGN_UP: _ClassVar[CtaText]
OPT_IN_TEMPLATE_UNSPECIFIED: OptInTemplate
OPT_IN_TEMPLATE_ONE_TIME_NOTIFICATION: OptInTemplate
OPT_IN_TEMPLATE_NOTIFICATION_MESSAGES: OptInTemplate
IMAGE_ASPECT_RATIO_UNSPECIFIED: ImageAspectRatio
IMAGE_ASPECT_RATIO_HORIZONTAL: ImageAspectRatio
IMAGE_ASPECT_RATIO_SQUARE: ImageAspectRatio
CTA_TEXT_UNSPECIFIED: CtaText
CTA_TEXT_ALLOW: CtaText
CTA_TEXT_GET: CtaText
CTA_TEXT_GET_UPDATES: CtaText
CTA_TEXT_OPT_IN: CtaText
CTA_TEXT_SIGN_UP: CtaText

class RequestOptInRequest(_message.Message):
    __slots__ = ("request_id", "page_id", "psid", "topic_key", "title", "payload", "template", "marketing")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    MARKETING_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    page_id: str
    psid: str
    topic_key: str
    title: str
    payload: str
    template: OptInTemplate
    marketing: MarketingOptIn
    def __init__(self, request_id: _Optional[str] = ..., page_id: _Optional[str] = ..., psid: _Optional[str] = ..., topic_key: _Optional[str] = ..., title: _Optional[str] = ..., payload: _Optional[str] = ..., template: _Optional[_Union[OptInTemplate, str]] = ..., marketing: _Optional[_Union[MarketingOptIn, _Mapping]] = ...) -> None: ...

class MarketingOptIn(_message.Message):
    __slots__ = ("image_url", "image_aspect_ratio", "cta_text", "timezone", "reoptin")
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ASPECT_RATIO_FIELD_NUMBER: _ClassVar[int]
    CTA_TEXT_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    REOPTIN_FIELD_NUMBER: _ClassVar[int]
    image_url: str
    image_aspect_ratio: ImageAspectRatio
    cta_text: CtaText
    timezone: str
    reoptin: bool
    def __init__(self, image_url: _Optional[str] = ..., image_aspect_ratio: _Optional[_Union[ImageAspectRatio, str]] = ..., cta_text: _Optional[_Union[CtaText, str]] = ..., timezone: _Optional[str] = ..., reoptin: _Optional[bool] = ...) -> None: ...

class OptInRequest(_message.Message):
    __slots__ = ("opt_in_request_id", "request_id", "page_id", "psid", "topic_key", "title", "payload", "message_id", "send_time", "template", "requested_by")
    OPT_IN_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    opt_in_request_id: str
    request_id: str
    page_id: str
    psid: str
    topic_key: str
    title: str
    payload: str
    message_id: str
    send_time: _timestamp_pb2.Timestamp
    template: OptInTemplate
    requested_by: str
    def __init__(self, opt_in_request_id: _Optional[str] = ..., request_id: _Optional[str] = ..., page_id: _Optional[str] = ..., psid: _Optional[str] = ..., topic_key: _Optional[str] = ..., title: _Optional[str] = ..., payload: _Optional[str] = ..., message_id: _Optional[str] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., template: _Optional[_Union[OptInTemplate, str]] = ..., requested_by: _Optional[str] = ...) -> None: ...

class RequestOptInResponse(_message.Message):
    __slots__ = ("opt_in_request", "replayed")
    OPT_IN_REQUEST_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    opt_in_request: OptInRequest
    replayed: bool
    def __init__(self, opt_in_request: _Optional[_Union[OptInRequest, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class RecordOptInRequest(_message.Message):
    __slots__ = ("page_id", "psid", "topic_key", "topic_title", "kind", "token", "payload", "opt_in_time", "expire_time")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TOPIC_TITLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    psid: str
    topic_key: str
    topic_title: str
    kind: _resources_pb2.GrantKind
    token: str
    payload: str
    opt_in_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, page_id: _Optional[str] = ..., psid: _Optional[str] = ..., topic_key: _Optional[str] = ..., topic_title: _Optional[str] = ..., kind: _Optional[_Union[_resources_pb2.GrantKind, str]] = ..., token: _Optional[str] = ..., payload: _Optional[str] = ..., opt_in_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordOptInResponse(_message.Message):
    __slots__ = ("grant", "replayed")
    GRANT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    grant: _resources_pb2.Grant
    replayed: bool
    def __init__(self, grant: _Optional[_Union[_resources_pb2.Grant, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ListEligibleRequest(_message.Message):
    __slots__ = ("page_id", "topic_key", "tag_filter", "regions", "page_size", "page_token", "explain_exclusions", "include_total_size")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TAG_FILTER_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_EXCLUSIONS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    topic_key: str
    tag_filter: _resources_pb2.TagFilter
    regions: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    explain_exclusions: bool
    include_total_size: bool
    def __init__(self, page_id: _Optional[str] = ..., topic_key: _Optional[str] = ..., tag_filter: _Optional[_Union[_resources_pb2.TagFilter, _Mapping]] = ..., regions: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., explain_exclusions: _Optional[bool] = ..., include_total_size: _Optional[bool] = ...) -> None: ...

class EligibleRecipient(_message.Message):
    __slots__ = ("recipient", "grants")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    recipient: _resources_pb2.Recipient
    grants: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Grant]
    def __init__(self, recipient: _Optional[_Union[_resources_pb2.Recipient, _Mapping]] = ..., grants: _Optional[_Iterable[_Union[_resources_pb2.Grant, _Mapping]]] = ...) -> None: ...

class ListEligibleResponse(_message.Message):
    __slots__ = ("recipients", "next_page_token", "total_size", "exclusions")
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIONS_FIELD_NUMBER: _ClassVar[int]
    recipients: _containers.RepeatedCompositeFieldContainer[EligibleRecipient]
    next_page_token: str
    total_size: int
    exclusions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ExclusionCount]
    def __init__(self, recipients: _Optional[_Iterable[_Union[EligibleRecipient, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., exclusions: _Optional[_Iterable[_Union[_resources_pb2.ExclusionCount, _Mapping]]] = ...) -> None: ...

class RecordInteractionRequest(_message.Message):
    __slots__ = ("page_id", "psid", "kind", "interaction_time")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    INTERACTION_TIME_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    psid: str
    kind: _resources_pb2.InteractionKind
    interaction_time: _timestamp_pb2.Timestamp
    def __init__(self, page_id: _Optional[str] = ..., psid: _Optional[str] = ..., kind: _Optional[_Union[_resources_pb2.InteractionKind, str]] = ..., interaction_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordInteractionResponse(_message.Message):
    __slots__ = ("recipient",)
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    recipient: _resources_pb2.Recipient
    def __init__(self, recipient: _Optional[_Union[_resources_pb2.Recipient, _Mapping]] = ...) -> None: ...

class UpdateRecipientRequest(_message.Message):
    __slots__ = ("page_id", "psid", "add_tags", "remove_tags", "region", "time_zone")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    ADD_TAGS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_TAGS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    psid: str
    add_tags: _containers.RepeatedScalarFieldContainer[str]
    remove_tags: _containers.RepeatedScalarFieldContainer[str]
    region: str
    time_zone: str
    def __init__(self, page_id: _Optional[str] = ..., psid: _Optional[str] = ..., add_tags: _Optional[_Iterable[str]] = ..., remove_tags: _Optional[_Iterable[str]] = ..., region: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class UpdateRecipientResponse(_message.Message):
    __slots__ = ("recipient",)
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    recipient: _resources_pb2.Recipient
    def __init__(self, recipient: _Optional[_Union[_resources_pb2.Recipient, _Mapping]] = ...) -> None: ...

class RevokeGrantRequest(_message.Message):
    __slots__ = ("grant_id", "page_id", "psid", "topic_key")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    page_id: str
    psid: str
    topic_key: str
    def __init__(self, grant_id: _Optional[str] = ..., page_id: _Optional[str] = ..., psid: _Optional[str] = ..., topic_key: _Optional[str] = ...) -> None: ...

class RevokeGrantResponse(_message.Message):
    __slots__ = ("revoked",)
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    revoked: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Grant]
    def __init__(self, revoked: _Optional[_Iterable[_Union[_resources_pb2.Grant, _Mapping]]] = ...) -> None: ...

class AssignGrantRequest(_message.Message):
    __slots__ = ("grant_id", "topic_key", "topic_title")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TOPIC_TITLE_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    topic_key: str
    topic_title: str
    def __init__(self, grant_id: _Optional[str] = ..., topic_key: _Optional[str] = ..., topic_title: _Optional[str] = ...) -> None: ...

class AssignGrantResponse(_message.Message):
    __slots__ = ("grant",)
    GRANT_FIELD_NUMBER: _ClassVar[int]
    grant: _resources_pb2.Grant
    def __init__(self, grant: _Optional[_Union[_resources_pb2.Grant, _Mapping]] = ...) -> None: ...

class ForgetRecipientRequest(_message.Message):
    __slots__ = ("page_id", "psid")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    psid: str
    def __init__(self, page_id: _Optional[str] = ..., psid: _Optional[str] = ...) -> None: ...

class ForgetRecipientResponse(_message.Message):
    __slots__ = ("found", "grants_erased", "opt_in_requests_erased", "deliveries_erased")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    GRANTS_ERASED_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_REQUESTS_ERASED_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_ERASED_FIELD_NUMBER: _ClassVar[int]
    found: bool
    grants_erased: int
    opt_in_requests_erased: int
    deliveries_erased: int
    def __init__(self, found: _Optional[bool] = ..., grants_erased: _Optional[int] = ..., opt_in_requests_erased: _Optional[int] = ..., deliveries_erased: _Optional[int] = ...) -> None: ...

class SendNotificationRequest(_message.Message):
    __slots__ = ("request_id", "page_id", "topic_key", "audience", "content", "options")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    page_id: str
    topic_key: str
    audience: _sending_pb2.Audience
    content: _sending_pb2.Content
    options: _sending_pb2.SendOptions
    def __init__(self, request_id: _Optional[str] = ..., page_id: _Optional[str] = ..., topic_key: _Optional[str] = ..., audience: _Optional[_Union[_sending_pb2.Audience, _Mapping]] = ..., content: _Optional[_Union[_sending_pb2.Content, _Mapping]] = ..., options: _Optional[_Union[_sending_pb2.SendOptions, _Mapping]] = ...) -> None: ...

class SendNotificationResponse(_message.Message):
    __slots__ = ("notification", "replayed")
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    notification: _sending_pb2.Notification
    replayed: bool
    def __init__(self, notification: _Optional[_Union[_sending_pb2.Notification, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetNotificationRequest(_message.Message):
    __slots__ = ("notification_id",)
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    def __init__(self, notification_id: _Optional[str] = ...) -> None: ...

class GetNotificationResponse(_message.Message):
    __slots__ = ("notification",)
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    notification: _sending_pb2.Notification
    def __init__(self, notification: _Optional[_Union[_sending_pb2.Notification, _Mapping]] = ...) -> None: ...

class CancelNotificationRequest(_message.Message):
    __slots__ = ("notification_id",)
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    def __init__(self, notification_id: _Optional[str] = ...) -> None: ...

class CancelNotificationResponse(_message.Message):
    __slots__ = ("notification", "cancelled_deliveries")
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    notification: _sending_pb2.Notification
    cancelled_deliveries: int
    def __init__(self, notification: _Optional[_Union[_sending_pb2.Notification, _Mapping]] = ..., cancelled_deliveries: _Optional[int] = ...) -> None: ...

class ListNotificationsRequest(_message.Message):
    __slots__ = ("page_id", "states", "page_size", "page_token")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    states: _containers.RepeatedScalarFieldContainer[_sending_pb2.NotificationState]
    page_size: int
    page_token: str
    def __init__(self, page_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_sending_pb2.NotificationState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNotificationsResponse(_message.Message):
    __slots__ = ("notifications", "next_page_token")
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    notifications: _containers.RepeatedCompositeFieldContainer[_sending_pb2.Notification]
    next_page_token: str
    def __init__(self, notifications: _Optional[_Iterable[_Union[_sending_pb2.Notification, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamDeliveryEventsRequest(_message.Message):
    __slots__ = ("page_id", "topic_key", "notification_id", "after_sequence", "from_now", "max_events_per_message")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FROM_NOW_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_PER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    topic_key: str
    notification_id: str
    after_sequence: int
    from_now: bool
    max_events_per_message: int
    def __init__(self, page_id: _Optional[str] = ..., topic_key: _Optional[str] = ..., notification_id: _Optional[str] = ..., after_sequence: _Optional[int] = ..., from_now: _Optional[bool] = ..., max_events_per_message: _Optional[int] = ...) -> None: ...

class StreamDeliveryEventsResponse(_message.Message):
    __slots__ = ("event", "events")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    event: _sending_pb2.DeliveryEvent
    events: _containers.RepeatedCompositeFieldContainer[_sending_pb2.DeliveryEvent]
    def __init__(self, event: _Optional[_Union[_sending_pb2.DeliveryEvent, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_sending_pb2.DeliveryEvent, _Mapping]]] = ...) -> None: ...

class ResumePageRequest(_message.Message):
    __slots__ = ("page_id",)
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    def __init__(self, page_id: _Optional[str] = ...) -> None: ...

class ResumePageResponse(_message.Message):
    __slots__ = ("resumed", "paused_reason")
    RESUMED_FIELD_NUMBER: _ClassVar[int]
    PAUSED_REASON_FIELD_NUMBER: _ClassVar[int]
    resumed: bool
    paused_reason: str
    def __init__(self, resumed: _Optional[bool] = ..., paused_reason: _Optional[str] = ...) -> None: ...
