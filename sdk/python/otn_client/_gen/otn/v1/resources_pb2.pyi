import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GrantKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANT_KIND_UNSPECIFIED: _ClassVar[GrantKind]
    GRANT_KIND_ONE_TIME_NOTIFICATION: _ClassVar[GrantKind]
    GRANT_KIND_MARKETING_MESSAGES: _ClassVar[GrantKind]
    GRANT_KIND_MARKETING_SUBSCRIPTION: _ClassVar[GrantKind]

class GrantState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANT_STATE_UNSPECIFIED: _ClassVar[GrantState]
    GRANT_STATE_ACTIVE: _ClassVar[GrantState]
    GRANT_STATE_RESERVED: _ClassVar[GrantState]
    GRANT_STATE_CONSUMED: _ClassVar[GrantState]
    GRANT_STATE_EXPIRED: _ClassVar[GrantState]
    GRANT_STATE_STOPPED: _ClassVar[GrantState]
    GRANT_STATE_REVOKED: _ClassVar[GrantState]
    GRANT_STATE_INVALID: _ClassVar[GrantState]

class InteractionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERACTION_KIND_UNSPECIFIED: _ClassVar[InteractionKind]
    INTERACTION_KIND_MESSAGE: _ClassVar[InteractionKind]
    INTERACTION_KIND_POSTBACK: _ClassVar[InteractionKind]
    INTERACTION_KIND_REACTION: _ClassVar[InteractionKind]
    INTERACTION_KIND_REFERRAL: _ClassVar[InteractionKind]

class ExclusionReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCLUSION_REASON_UNSPECIFIED: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_NO_GRANT: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_EXPIRED: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_STOPPED: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_CONSUMED: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_RESERVED: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_REVOKED: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_INVALID: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_TAG_FILTER: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_REGION_FILTER: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_REGION_POLICY: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_COOLDOWN: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_MAX_RECIPIENTS: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_TAG_RETIRED: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_KIND_NOT_SUPPORTED: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_FREQUENCY_CAP: _ClassVar[ExclusionReason]
    EXCLUSION_REASON_QUIET_HOURS: _ClassVar[ExclusionReason]
GRANT_KIND_UNSPECIFIED: GrantKind
GRANT_KIND_ONE_TIME_NOTIFICATION: GrantKind
GRANT_KIND_MARKETING_MESSAGES: GrantKind
GRANT_KIND_MARKETING_SUBSCRIPTION: GrantKind
GRANT_STATE_UNSPECIFIED: GrantState
GRANT_STATE_ACTIVE: GrantState
GRANT_STATE_RESERVED: GrantState
GRANT_STATE_CONSUMED: GrantState
GRANT_STATE_EXPIRED: GrantState
GRANT_STATE_STOPPED: GrantState
GRANT_STATE_REVOKED: GrantState
GRANT_STATE_INVALID: GrantState
INTERACTION_KIND_UNSPECIFIED: InteractionKind
INTERACTION_KIND_MESSAGE: InteractionKind
INTERACTION_KIND_POSTBACK: InteractionKind
INTERACTION_KIND_REACTION: InteractionKind
INTERACTION_KIND_REFERRAL: InteractionKind
EXCLUSION_REASON_UNSPECIFIED: ExclusionReason
EXCLUSION_REASON_NO_GRANT: ExclusionReason
EXCLUSION_REASON_EXPIRED: ExclusionReason
EXCLUSION_REASON_STOPPED: ExclusionReason
EXCLUSION_REASON_CONSUMED: ExclusionReason
EXCLUSION_REASON_RESERVED: ExclusionReason
EXCLUSION_REASON_REVOKED: ExclusionReason
EXCLUSION_REASON_INVALID: ExclusionReason
EXCLUSION_REASON_TAG_FILTER: ExclusionReason
EXCLUSION_REASON_REGION_FILTER: ExclusionReason
EXCLUSION_REASON_REGION_POLICY: ExclusionReason
EXCLUSION_REASON_COOLDOWN: ExclusionReason
EXCLUSION_REASON_MAX_RECIPIENTS: ExclusionReason
EXCLUSION_REASON_TAG_RETIRED: ExclusionReason
EXCLUSION_REASON_KIND_NOT_SUPPORTED: ExclusionReason
EXCLUSION_REASON_FREQUENCY_CAP: ExclusionReason
EXCLUSION_REASON_QUIET_HOURS: ExclusionReason

class Recipient(_message.Message):
    __slots__ = ("page_id", "psid", "tags", "region", "last_interaction_time", "window_close_time", "time_zone")
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    LAST_INTERACTION_TIME_FIELD_NUMBER: _ClassVar[int]
    WINDOW_CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    page_id: str
    psid: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    region: str
    last_interaction_time: _timestamp_pb2.Timestamp
    window_close_time: _timestamp_pb2.Timestamp
    time_zone: str
    def __init__(self, page_id: _Optional[str] = ..., psid: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., region: _Optional[str] = ..., last_interaction_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ...) -> None: ...

class FrequencyCap(_message.Message):
    __slots__ = ("max_notifications", "window_seconds")
    MAX_NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_notifications: int
    window_seconds: int
    def __init__(self, max_notifications: _Optional[int] = ..., window_seconds: _Optional[int] = ...) -> None: ...

class QuietHours(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ("grant_id", "page_id", "psid", "topic_key", "kind", "payload", "opt_in_time", "expire_time", "state", "state_change_time", "revoked_by")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PSID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    page_id: str
    psid: str
    topic_key: str
    kind: GrantKind
    payload: str
    opt_in_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    state: GrantState
    state_change_time: _timestamp_pb2.Timestamp
    revoked_by: str
    def __init__(self, grant_id: _Optional[str] = ..., page_id: _Optional[str] = ..., psid: _Optional[str] = ..., topic_key: _Optional[str] = ..., kind: _Optional[_Union[GrantKind, str]] = ..., payload: _Optional[str] = ..., opt_in_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[GrantState, str]] = ..., state_change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_by: _Optional[str] = ...) -> None: ...

class Topic(_message.Message):
    __slots__ = ("topic_key", "title")
    TOPIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    topic_key: str
    title: str
    def __init__(self, topic_key: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class TagFilter(_message.Message):
    __slots__ = ("all_of", "any_of", "none_of")
    ALL_OF_FIELD_NUMBER: _ClassVar[int]
    ANY_OF_FIELD_NUMBER: _ClassVar[int]
    NONE_OF_FIELD_NUMBER: _ClassVar[int]
    all_of: _containers.RepeatedScalarFieldContainer[str]
    any_of: _containers.RepeatedScalarFieldContainer[str]
    none_of: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, all_of: _Optional[_Iterable[str]] = ..., any_of: _Optional[_Iterable[str]] = ..., none_of: _Optional[_Iterable[str]] = ...) -> None: ...

class ExclusionCount(_message.Message):
    __slots__ = ("reason", "count")
    REASON_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    reason: ExclusionReason
    count: int
    def __init__(self, reason: _Optional[_Union[ExclusionReason, str]] = ..., count: _Optional[int] = ...) -> None: ...
