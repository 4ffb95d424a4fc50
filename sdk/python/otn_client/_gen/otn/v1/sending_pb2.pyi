import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from otn_client._gen.otn.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OverCapAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OVER_CAP_ACTION_UNSPECIFIED: _ClassVar[OverCapAction]
    OVER_CAP_ACTION_DEFER: _ClassVar[OverCapAction]
    OVER_CAP_ACTION_EXCLUDE: _ClassVar[OverCapAction]

class NotificationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTIFICATION_STATE_UNSPECIFIED: _ClassVar[NotificationState]
    NOTIFICATION_STATE_SCHEDULED: _ClassVar[NotificationState]
    NOTIFICATION_STATE_DISPATCHING: _ClassVar[NotificationState]
    NOTIFICATION_STATE_COMPLETED: _ClassVar[NotificationState]
    NOTIFICATION_STATE_CANCELLED: _ClassVar[NotificationState]
    NOTIFICATION_STATE_PLANNED: _ClassVar[NotificationState]

class DeliveryPath(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_PATH_UNSPECIFIED: _ClassVar[DeliveryPath]
    DELIVERY_PATH_GRANT: _ClassVar[DeliveryPath]
    DELIVERY_PATH_WINDOW: _ClassVar[DeliveryPath]
    DELIVERY_PATH_TAG: _ClassVar[DeliveryPath]

class DeliveryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATE_UNSPECIFIED: _ClassVar[DeliveryState]
    DELIVERY_STATE_QUEUED: _ClassVar[DeliveryState]
    DELIVERY_STATE_SENDING: _ClassVar[DeliveryState]
    DELIVERY_STATE_SENT: _ClassVar[DeliveryState]
    DELIVERY_STATE_DELIVERED: _ClassVar[DeliveryState]
    DELIVERY_STATE_READ: _ClassVar[DeliveryState]
    DELIVERY_STATE_FAILED: _ClassVar[DeliveryState]
    DELIVERY_STATE_CANCELLED: _ClassVar[DeliveryState]
    DELIVERY_STATE_UNCONFIRMED: _ClassVar[DeliveryState]

class DeliveryEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_EVENT_TYPE_UNSPECIFIED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_QUEUED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_SENT: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_DELIVERED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_READ: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_FAILED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_GRANT_CONSUMED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_OPT_IN_RECORDED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_ENGAGED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_CANCELLED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_RETRY_SCHEDULED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_GRANT_REVOKED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_RECIPIENT_FORGOTTEN: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_GRANT_STOPPED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_GRANT_RESUMED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_GRANT_ASSIGNED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_UNCONFIRMED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_OPT_IN_REQUESTED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_CLICKED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_GRANT_EXPIRED: _ClassVar[DeliveryEventType]
    DELIVERY_EVENT_TYPE_DEFERRED: _ClassVar[DeliveryEventType]
OVER_CAP_ACTION_UNSPECIFIED: OverCapAction
OVER_CAP_ACTION_DEFER: OverCapAction
OVER_CAP_ACTION_EXCLUDE: OverCapAction
NOTIFICATION_STATE_UNSPECIFIED: NotificationState
NOTIFICATION_STATE_SCHEDULED: NotificationState
NOTIFICATION_STATE_DISPATCHING: NotificationState
NOTIFICATION_STATE_COMPLETED: NotificationState
NOTIFICATION_STATE_CANCELLED: NotificationState
NOTIFICATION_STATE_PLANNED: NotificationState
DELIVERY_PATH_UNSPECIFIED: DeliveryPath
DELIVERY_PATH_GRANT: DeliveryPath
DELIVERY_PATH_WINDOW: DeliveryPath
DELIVERY_PATH_TAG: DeliveryPath
DELIVERY_STATE_UNSPECIFIED: DeliveryState
DELIVERY_STATE_QUEUED: DeliveryState
DELIVERY_STATE_SENDING: DeliveryState
DELIVERY_STATE_SENT: DeliveryState
DELIVERY_STATE_DELIVERED: DeliveryState
DELIVERY_STATE_READ: DeliveryState
DELIVERY_STATE_FAILED: DeliveryState
DELIVERY_STATE_CANCELLED: DeliveryState
DELIVERY_STATE_UNCONFIRMED: DeliveryState
DELIVERY_EVENT_TYPE_UNSPECIFIED: DeliveryEventType
DELIVERY_EVENT_TYPE_QUEUED: DeliveryEventType
DELIVERY_EVENT_TYPE_SENT: DeliveryEventType
DELIVERY_EVENT_TYPE_DELIVERED: DeliveryEventType
DELIVERY_EVENT_TYPE_READ: DeliveryEventType
DELIVERY_EVENT_TYPE_FAILED: DeliveryEventType
DELIVERY_EVENT_TYPE_GRANT_CONSUMED: DeliveryEventType
DELIVERY_EVENT_TYPE_OPT_IN_RECORDED: DeliveryEventType
DELIVERY_EVENT_TYPE_ENGAGED: DeliveryEventType
DELIVERY_EVENT_TYPE_CANCELLED: DeliveryEventType
DELIVERY_EVENT_TYPE_RETRY_SCHEDULED: DeliveryEventType
DELIVERY_EVENT_TYPE_GRANT_REVOKED: DeliveryEventType
DELIVERY_EVENT_TYPE_RECIPIENT_FORGOTTEN: DeliveryEventType
DELIVERY_EVENT_TYPE_GRANT_STOPPED: DeliveryEventType
DELIVERY_EVENT_TYPE_GRANT_RESUMED: DeliveryEventType
DELIVERY_EVENT_TYPE_GRANT_ASSIGNED: DeliveryEventType
DELIVERY_EVENT_TYPE_UNCONFIRMED: DeliveryEventType
DELIVERY_EVENT_TYPE_OPT_IN_REQUESTED: DeliveryEventType
DELIVERY_EVENT_TYPE_CLICKED: DeliveryEventType
DELIVERY_EVENT_TYPE_GRANT_EXPIRED: DeliveryEventType
DELIVERY_EVENT_TYPE_DEFERRED: DeliveryEventType

class Content(_message.Message):
    __slots__ = ("text", "button_template")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BUTTON_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    text: str
    button_template: ButtonTemplate
    def __init__(self, text: _Optional[str] = ..., button_template: _Optional[_Union[ButtonTemplate, _Mapping]] = ...) -> None: ...

class ButtonTemplate(_message.Message):
    __slots__ = ("text", "buttons")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BUTTONS_FIELD_NUMBER: _ClassVar[int]
    text: str
    buttons: _containers.RepeatedCompositeFieldContainer[Button]
    def __init__(self, text: _Optional[str] = ..., buttons: _Optional[_Iterable[_Union[Button, _Mapping]]] = ...) -> None: ...

class Button(_message.Message):
    __slots__ = ("title", "web_url", "postback_payload")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    WEB_URL_FIELD_NUMBER: _ClassVar[int]
    POSTBACK_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    title: str
    web_url: str
    postback_payload: str
    def __init__(self, title: _Optional[str] = ..., web_url: _Optional[str] = ..., postback_payload: _Optional[str] = ...) -> None: ...

class Audience(_message.Message):
    __slots__ = ("all_eligible", "tag_filter", "recipients")
    ALL_ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    TAG_FILTER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    all_eligible: AllEligible
    tag_filter: _resources_pb2.TagFilter
    recipients: RecipientList
    def __init__(self, all_eligible: _Optional[_Union[AllEligible, _Mapping]] = ..., tag_filter: _Optional[_Union[_resources_pb2.TagFilter, _Mapping]] = ..., recipients: _Optional[_Union[RecipientList, _Mapping]] = ...) -> None: ...

class AllEligible(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecipientList(_message.Message):
    __slots__ = ("psids",)
    PSIDS_FIELD_NUMBER: _ClassVar[int]
    psids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, psids: _Optional[_Iterable[str]] = ...) -> None: ...

class RollingConsent(_message.Message):
    __slots__ = ("title",)
    TITLE_FIELD_NUMBER: _ClassVar[int]
    title: str
    def __init__(self, title: _Optional[str] = ...) -> None: ...

class SendOptions(_message.Message):
    __slots__ = ("max_recipients", "include_window_recipients", "dry_run", "scheduled_time", "rolling_consent", "regions", "message_tag", "frequency_cap", "over_cap", "ignore_quiet_hours")
    MAX_RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_WINDOW_RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    ROLLING_CONSENT_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TAG_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_CAP_FIELD_NUMBER: _ClassVar[int]
    OVER_CAP_FIELD_NUMBER: _ClassVar[int]
    IGNORE_QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    max_recipients: int
    include_window_recipients: bool
    dry_run: bool
    scheduled_time: _timestamp_pb2.Timestamp
    rolling_consent: RollingConsent
    regions: _containers.RepeatedScalarFieldContainer[str]
    message_tag: str
    frequency_cap: _resources_pb2.FrequencyCap
    over_cap: OverCapAction
    ignore_quiet_hours: bool
    def __init__(self, max_recipients: _Optional[int] = ..., include_window_recipients: _Optional[bool] = ..., dry_run: _Optional[bool] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rolling_consent: _Optional[_Union[RollingConsent, _Mapping]] = ..., regions: _Optional[_Iterable[str]] = ..., message_tag: _Optional[str] = ..., frequency_cap: _Optional[_Union[_resources_pb2.FrequencyCap, _Mapping]] = ..., over_cap: _Optional[_Union[OverCapAction, str]] = ..., ignore_quiet_hours: _Optional[bool] = ...) -> None: ...

class SendPlan(_message.Message):
    __slots__ = ("grant_sends", "window_sends", "exclusions", "tag_sends", "deferred_by_frequency_cap", "deferred_by_quiet_hours", "frequency_cap", "quiet_hours", "quiet_hours_ignored")
    GRANT_SENDS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SENDS_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIONS_FIELD_NUMBER: _ClassVar[int]
    TAG_SENDS_FIELD_NUMBER: _ClassVar[int]
    DEFERRED_BY_FREQUENCY_CAP_FIELD_NUMBER: _ClassVar[int]
    DEFERRED_BY_QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_CAP_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_IGNORED_FIELD_NUMBER: _ClassVar[int]
    grant_sends: int
    window_sends: int
    exclusions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ExclusionCount]
    tag_sends: int
    deferred_by_frequency_cap: int
    deferred_by_quiet_hours: int
    frequency_cap: _resources_pb2.FrequencyCap
    quiet_hours: _resources_pb2.QuietHours
    quiet_hours_ignored: bool
    def __init__(self, grant_sends: _Optional[int] = ..., window_sends: _Optional[int] = ..., exclusions: _Optional[_Iterable[_Union[_resources_pb2.ExclusionCount, _Mapping]]] = ..., tag_sends: _Optional[int] = ..., deferred_by_frequency_cap: _Optional[int] = ..., deferred_by_quiet_hours: _Optional[int] = ..., frequency_cap: _Optional[_Union[_resources_pb2.FrequencyCap, _Mapping]] = ..., quiet_hours: _Optional[_Union[_resources_pb2.QuietHours, _Mapping]] = ..., quiet_hours_ignored: _Optional[bool] = ...) -> None: ...

class DeliveryCounts(_message.Message):
    __slots__ = ("queued", "sending", "sent", "delivered", "read", "failed", "cancelled", "unconfirmed")
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    SENDING_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    UNCONFIRMED_FIELD_NUMBER: _ClassVar[int]
    queued: int
    sending: int
    sent: int
    delivered: int
    read: int
    failed: int
    cancelled: int
    unconfirmed: int
    def __init__(self, queued: _Optional[int] = ..., sending: _Optional[int] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., read: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ..., unconfirmed: _Optional[int] = ...) -> None: ...

class Notification(_message.Message):
    __slots__ = ("notification_id", "request_id", "page_id", "topic_key", "state", "plan", "counts", "create_time", "scheduled_time", "complete_time", "created_by", "message_tag", "planning", "paused_reason")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TAG_FIELD_NUMBER: _ClassVar[int]
    PLANNING_FIELD_NUMBER: _ClassVar[int]
    PAUSED_REASON_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    request_id: str
    page_id: str
    topic_key: str
    state: NotificationState
    plan: SendPlan
    counts: DeliveryCounts
    create_time: _timestamp_pb2.Timestamp
    scheduled_time: _timestamp_pb2.Timestamp
    complete_time: _timestamp_pb2.Timestamp
    created_by: str
    message_tag: str
    planning: bool
    paused_reason: str
    def __init__(self, notification_id: _Optional[str] = ..., request_id: _Optional[str] = ..., page_id: _Optional[str] = ..., topic_key: _Optional[str] = ..., state: _Optional[_Union[NotificationState, str]] = ..., plan: _Optional[_Union[SendPlan, _Mapping]] = ..., counts: _Optional[_Union[DeliveryCounts, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., message_tag: _Optional[str] = ..., planning: _Optional[bool] = ..., paused_reason: _Optional[str] = ...) -> None: ...

class DeliveryFailure(_message.Message):
    __slots__ = ("reason", "code", "subcode", "message")
    REASON_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    SUBCODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    code: int
    subcode: int
    message: str
    def __init__(self, reason: _Optional[str] = ..., code: _Optional[int] = ..., subcode: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class DeliveryEvent(_message.Message):
    __slots__ = ("sequence", "event_time", "type", "page_id", "topic_key", "notification_id", "delivery_id", "psid", "grant_id", "message_id", "path", "rule", "failure", "actor", "interaction", "not_before_time")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    INTERACTION_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    event_time: _timestamp_pb2.Timestamp
    type: DeliveryEventType
    page_id: str
    topic_key: str
    notification_id: str
    delivery_id: str
    psid: str
    grant_id: str
    message_id: str
    path: DeliveryPath
    rule: str
    failure: DeliveryFailure
    actor: str
    interaction: _resources_pb2.InteractionKind
    not_before_time: _timestamp_pb2.Timestamp
    def __init__(self, sequence: _Optional[int] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[DeliveryEventType, str]] = ..., page_id: _Optional[str] = ..., topic_key: _Optional[str] = ..., notification_id: _Optional[str] = ..., delivery_id: _Optional[str] = ..., psid: _Optional[str] = ..., grant_id: _Optional[str] = ..., message_id: _Optional[str] = ..., path: _Optional[_Union[DeliveryPath, str]] = ..., rule: _Optional[str] = ..., failure: _Optional[_Union[DeliveryFailure, _Mapping]] = ..., actor: _Optional[str] = ..., interaction: _Optional[_Union[_resources_pb2.InteractionKind, str]] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
