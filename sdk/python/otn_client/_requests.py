"""Builds request messages from keyword arguments, turning every protobuf complaint into an
:class:`OtnUsageError` that names the field, and fills in the defaults the clients promise."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Dict, Iterable, Optional, Tuple, Type, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf import message_factory
from google.protobuf.message import Message

from ._gen import client_rules as CR
from ._gen.otn.v1 import resources_pb2
from .errors import OtnUsageError

M = TypeVar("M", bound=Message)
_CAMEL = re.compile(r"(?<=[a-z0-9])[A-Z]")

#: Parameters of every client method that are not fields of the request.
NOT_FIELDS = frozenset({"self", "request", "timeout", "unknown"})


def call_fields(local_vars: Dict[str, Any]) -> Dict[str, Any]:
    """The request fields among a client method's ``locals()`` (its first statement)."""
    return {k: v for k, v in local_vars.items() if k not in NOT_FIELDS}


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, ASCII case ignored."""
    a, b = a.lower(), b.lower()
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[len(b)]


def closest(name: str, choices: Iterable[str]) -> Optional[str]:
    """The choice closest to ``name`` or to its snake_case form (``pageId`` -> ``page_id``), within
    max(2, len/3) edits; the first of equals (sdk/client-rules.json `errors`)."""
    snake = _CAMEL.sub(lambda m: "_" + m.group(0).lower(), name)
    limit = max(CR.ERRORS_DID_YOU_MEAN_MIN_DISTANCE, len(name) // CR.ERRORS_DID_YOU_MEAN_LENGTH_DIVISOR)
    best: Optional[Tuple[str, int]] = None
    for c in choices:
        d = min(_distance(name, c), _distance(snake, c))
        if best is None or d < best[1]:
            best = (c, d)
    return best[0] if best is not None and best[1] <= limit else None


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = closest(name, choices)
    return f"; did you mean {close!r}?" if close else ""


def _repeated(field: Any) -> bool:
    flag = getattr(field, "is_repeated", None)  # protobuf >= 6.31; `label` is deprecated there
    return bool(flag) if flag is not None else getattr(field, "label", 0) == FieldDescriptor.LABEL_REPEATED


def _check_value(field: Any, value: Any, path: str) -> None:
    """Refuses what protobuf would accept wrongly (a str for a repeated field, split into
    characters) and names unknown keys of nested dicts."""
    is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
    if _repeated(field) and not is_map:
        if isinstance(value, (str, bytes, Mapping)):
            raise OtnUsageError(f"{path}: expected a list, got {type(value).__name__} {value!r:.60}", path)
        if field.message_type is not None:
            for i, item in enumerate(value if isinstance(value, (list, tuple)) else ()):
                if isinstance(item, Mapping):
                    _check_mapping(field.message_type, item, f"{path}[{i}]")
        return
    if field.message_type is not None and isinstance(value, Mapping) and not is_map:
        if field.message_type.full_name != "google.protobuf.Timestamp":
            _check_mapping(field.message_type, value, path)


def _check_mapping(descriptor: Descriptor, value: Mapping[Any, Any], path: str) -> None:
    for key, item in value.items():
        field = descriptor.fields_by_name.get(key) if isinstance(key, str) else None
        if field is None:
            raise OtnUsageError(
                f"{path}: {descriptor.full_name} has no field {key!r}{_suggest(str(key), descriptor.fields_by_name)}",
                f"{path}.{key}",
            )
        if item is None:
            continue
        _check_value(field, item, f"{path}.{key}")
        if field.message_type is None:  # a scalar: name its own path when protobuf refuses it
            try:
                message_factory.GetMessageClass(descriptor)(**{key: item})
            except (TypeError, ValueError) as e:
                raise OtnUsageError(
                    f"bad value for {path}.{key} ({_kind(field)}): got {type(item).__name__} {item!r:.80}: {e}",
                    f"{path}.{key}",
                ) from None


def build(cls: Type[M], method: str, request: Optional[M], fields: Dict[str, Any], unknown: Dict[str, Any]) -> M:
    """A new ``cls`` from ``request`` (copied) or from ``fields`` (``None`` = not set)."""
    if unknown:
        name = sorted(unknown)[0]
        raise OtnUsageError(
            f"{method}() got an unexpected keyword argument {name!r}"
            f"{_suggest(name, list(fields) + ['timeout'])}",
            name,
        )
    out = cls()
    if request is not None:
        if not isinstance(request, cls):
            raise OtnUsageError(
                f"{method}() takes a {cls.DESCRIPTOR.full_name} (or keyword fields), got {type(request).__name__}",
                "request",
            )
        given = sorted(k for k, v in fields.items() if v is not None)
        if given:
            raise OtnUsageError(f"{method}(): give a request message or keyword fields, not both ({given})", given[0])
        out.CopyFrom(request)
        return out
    for name, value in fields.items():
        if value is None:
            continue
        field = cls.DESCRIPTOR.fields_by_name.get(name)
        if field is None:  # a client method out of step with the contract: a bug of this SDK
            raise OtnUsageError(f"{method}(): {cls.DESCRIPTOR.full_name} has no field {name!r}", name)
        _check_value(field, value, name)
        try:
            out.MergeFrom(cls(**{name: value}))
        except (TypeError, ValueError, AttributeError) as e:
            raise OtnUsageError(
                f"{method}(): bad value for {name} ({_kind(field)}): got {type(value).__name__} {value!r:.80}: {e}",
                name,
            ) from None
    return out


def _kind(field: Any) -> str:
    if field.message_type is not None:
        what = field.message_type.full_name
    elif field.enum_type is not None:
        what = field.enum_type.full_name
    else:
        what = {FieldDescriptor.CPPTYPE_STRING: "str", FieldDescriptor.CPPTYPE_BOOL: "bool"}.get(field.cpp_type, "int")
    return f"list of {what}" if _repeated(field) else what


def with_request_id(request: M) -> M:
    """Gives ``request`` (already a copy) a fresh uuid4 ``request_id`` when it has none, once,
    before the first attempt: every retry then carries the same id."""
    if not getattr(request, "request_id"):
        setattr(request, "request_id", str(uuid.uuid4()))
    return request


def with_default_kind(request: M) -> M:
    """RecordOptIn: ``kind`` defaults to ONE_TIME_NOTIFICATION (what the server assumes too)."""
    if not getattr(request, "kind"):
        setattr(request, "kind", resources_pb2.GRANT_KIND_ONE_TIME_NOTIFICATION)
    return request


def check_timeout(timeout: Optional[float], default: Optional[float]) -> Optional[float]:
    value = default if timeout is None else timeout
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
        raise OtnUsageError(f"timeout must be a positive number of seconds or None, got {value!r}", "timeout")
    return value
