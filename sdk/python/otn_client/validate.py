"""Local validation of SendNotification, RequestOptIn and ListEligible with the server's limits.

The numbers and alphabets come from the generated ``otn_client._gen.limits`` (proto/otn/v1/limits.json,
the table the server reads too); the field paths, the order and the descriptions are the server's
(src/rules in the repository). Every bad field is reported at once, in the server's order, one
violation per field, up to the first ``VIOLATIONS_MAX`` (50). A repeated field is checked for its
count before its entries: a list over its maximum is one violation of the list, and its entries
are not looked at (so a hostile list costs one comparison).

    violations = send_notification_violations(request)   # [] when the server would accept it
    check_send_notification(request)                     # raises OtnValidationError
"""

from __future__ import annotations

import unicodedata
from typing import List, Sequence

from google.rpc import error_details_pb2

from ._gen import limits as L
from ._gen.otn.v1 import resources_pb2, sending_pb2, service_pb2
from .errors import FieldViolation, OtnValidationError

#: Message tags a send may name (limits.json; the dated policy decides which are still accepted
#: on a given day). HUMAN_AGENT is refused for automation with its own reason.
KNOWN_MESSAGE_TAGS = L.MESSAGE_TAGS

# Unicode White_Space, what the server's trim() removes (str.strip() also removes U+001C..U+001F).
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_MAX_TIMESTAMP_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def _trim(v: str) -> str:
    return v.strip(_WHITE_SPACE)


def _has_control(v: str) -> bool:
    return any(c != "\n" and unicodedata.category(c) == "Cc" for c in v)


class _Violations:
    def __init__(self) -> None:
        self.items: List[FieldViolation] = []

    def push(self, field: str, description: str) -> None:
        if len(self.items) < L.VIOLATIONS_MAX:  # the server lists the first ones only
            self.items.append(error_details_pb2.BadRequest.FieldViolation(field=field, description=description))

    def count(self, field: str, n: int, min_n: int, max_n: int) -> bool:
        """A repeated field's length, checked before its entries: False (one violation of the
        list) when it is out of range, and the entries must not be checked."""
        if n < min_n or n > max_n:
            what = f"must hold at most {max_n} entries" if min_n == 0 else f"must hold {min_n} to {max_n} entries"
            self.push(field, f"{what} (got {n})")
            return False
        return True

    def text(self, field: str, v: str, min_chars: int, max_chars: int) -> bool:
        """Free text: ``min_chars`` to ``max_chars`` characters, no control character but LF."""
        n = len(v)
        if n < min_chars or n > max_chars:
            if min_chars == 0:
                self.push(field, f"must be at most {max_chars} characters (got {n})")
            elif n == 0:
                self.push(field, "is required")
            else:
                self.push(field, f"must be {min_chars} to {max_chars} characters (got {n})")
            return False
        if _has_control(v):
            self.push(field, "must not contain control characters")
            return False
        return True

    def ident(self, field: str, v: str, max_chars: int, extra: str) -> None:
        """1 to ``max_chars`` ASCII letters, digits and ``extra``."""
        if self.text(field, v, 1, max_chars) and not all(c in _ASCII_ALNUM or c in extra for c in v):
            self.push(field, f"may only contain letters, digits and `{extra}`")

    def title(self, field: str, v: str) -> None:
        self.text(field, _trim(v), 1, L.TITLE_MAX_CHARS)

    def tags(self, field: str, tags: Sequence[str], max_n: int) -> None:
        if self.count(field, len(tags), 0, max_n):
            for i, t in enumerate(tags):
                self.ident(f"{field}[{i}]", _trim(t).lower(), L.TAG_MAX_CHARS, L.TAG_ALPHABET_EXTRA)

    def regions(self, field: str, regions: Sequence[str]) -> None:
        if self.count(field, len(regions), 0, L.REGIONS_MAX):
            for i, r in enumerate(regions):
                r = _trim(r).upper()
                if len(r) != 2 or not all("A" <= c <= "Z" for c in r):
                    self.push(f"{field}[{i}]", "must be an ISO 3166-1 alpha-2 code such as `DE`")

    def tag_filter(self, field: str, f: resources_pb2.TagFilter) -> None:
        for name in ("all_of", "any_of", "none_of"):
            self.tags(f"{field}.{name}", getattr(f, name), L.TAG_FILTER_TAGS_MAX)

    def timestamp(self, field: str, seconds: int, nanos: int) -> None:
        if not 0 <= nanos < 1_000_000_000 or not 0 <= seconds <= _MAX_TIMESTAMP_SECONDS:
            self.push(field, "must be a valid timestamp between 1970 and 9999")


def is_web_url(url: str) -> bool:
    """An http(s) URL with a host: the scheme, then not empty, not ``/``-first, no whitespace."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            rest = url[len(scheme):]
            return bool(rest) and not rest.startswith("/") and not any(c in _WHITE_SPACE for c in rest)
    return False


def _button(v: _Violations, field: str, b: sending_pb2.Button) -> None:
    v.text(f"{field}.title", b.title, 1, L.BUTTON_TITLE_MAX_CHARS)
    action = b.WhichOneof("action")
    if action == "web_url":
        if not is_web_url(b.web_url) or len(b.web_url) > L.WEB_URL_MAX_CHARS:
            v.push(f"{field}.web_url", f"must be an http(s) URL with a host, at most {L.WEB_URL_MAX_CHARS} characters")
    elif action == "postback_payload":
        v.text(f"{field}.postback_payload", b.postback_payload, 1, L.POSTBACK_PAYLOAD_MAX_CHARS)
    else:
        v.push(f"{field}.action", "a web_url or a postback_payload is required")


def _content(v: _Violations, r: service_pb2.SendNotificationRequest) -> None:
    body = r.content.WhichOneof("body") if r.HasField("content") else None
    if body == "text":
        v.text("content.text", r.content.text, 1, L.TEXT_MAX_CHARS)
    elif body == "button_template":
        t = r.content.button_template
        v.text("content.button_template.text", t.text, 1, L.TEMPLATE_TEXT_MAX_CHARS)
        if v.count("content.button_template.buttons", len(t.buttons), 1, L.BUTTONS_MAX):
            for i, b in enumerate(t.buttons):
                _button(v, f"content.button_template.buttons[{i}]", b)
    else:
        v.push("content", "one text or one button template is required")


def _audience(v: _Violations, r: service_pb2.SendNotificationRequest) -> None:
    which = r.audience.WhichOneof("selection") if r.HasField("audience") else None
    if which == "tag_filter":
        v.tag_filter("audience.tag_filter", r.audience.tag_filter)
    elif which == "recipients":
        psids = r.audience.recipients.psids
        if v.count("audience.recipients.psids", len(psids), 1, L.RECIPIENTS_LIST_MAX):
            for i, p in enumerate(psids):
                v.ident(f"audience.recipients.psids[{i}]", p, L.PSID_MAX_CHARS, L.ID_ALPHABET_EXTRA)


def send_notification_violations(r: service_pb2.SendNotificationRequest) -> List[FieldViolation]:
    """Every field of a SendNotificationRequest the server would refuse (empty: none)."""
    v = _Violations()
    v.ident("request_id", r.request_id, L.REQUEST_ID_MAX_CHARS, L.REQUEST_ID_ALPHABET_EXTRA)
    v.ident("page_id", r.page_id, L.PAGE_ID_MAX_CHARS, L.ID_ALPHABET_EXTRA)
    v.ident("topic_key", r.topic_key, L.TOPIC_KEY_MAX_CHARS, L.TOPIC_KEY_ALPHABET_EXTRA)
    _audience(v, r)
    _content(v, r)
    o = r.options
    if o.max_recipients < 0:
        v.push("options.max_recipients", "must not be negative")
    if o.HasField("scheduled_time"):
        v.timestamp("options.scheduled_time", o.scheduled_time.seconds, o.scheduled_time.nanos)
    if o.HasField("rolling_consent"):
        v.title("options.rolling_consent.title", o.rolling_consent.title)
    v.regions("options.regions", o.regions)
    if o.message_tag == "HUMAN_AGENT":
        v.push("options.message_tag", "HUMAN_AGENT is for a human's replies, never for automation")
    elif o.message_tag and o.message_tag not in KNOWN_MESSAGE_TAGS:
        v.push("options.message_tag", "must be one of " + ", ".join(KNOWN_MESSAGE_TAGS))
    return v.items


def request_opt_in_violations(r: service_pb2.RequestOptInRequest) -> List[FieldViolation]:
    """Every field of a RequestOptInRequest the server would refuse (empty: none)."""
    v = _Violations()
    v.ident("request_id", r.request_id, L.REQUEST_ID_MAX_CHARS, L.REQUEST_ID_ALPHABET_EXTRA)
    v.ident("page_id", r.page_id, L.PAGE_ID_MAX_CHARS, L.ID_ALPHABET_EXTRA)
    v.ident("psid", r.psid, L.PSID_MAX_CHARS, L.ID_ALPHABET_EXTRA)
    v.ident("topic_key", r.topic_key, L.TOPIC_KEY_MAX_CHARS, L.TOPIC_KEY_ALPHABET_EXTRA)
    v.title("title", r.title)
    v.text("payload", r.payload, 0, L.PAYLOAD_MAX_CHARS)
    if r.template not in service_pb2.OptInTemplate.values():
        v.push("template", f"unknown template {r.template}")
    if r.HasField("marketing"):
        m = r.marketing
        if m.image_url and (not m.image_url.startswith("https://") or not is_web_url(m.image_url)
                            or len(m.image_url) > L.OPT_IN_IMAGE_URL_MAX_CHARS):
            v.push("marketing.image_url",
                   f"must be an https URL with a host, at most {L.OPT_IN_IMAGE_URL_MAX_CHARS} characters")
        if m.image_aspect_ratio not in service_pb2.ImageAspectRatio.values():
            v.push("marketing.image_aspect_ratio", "unknown aspect ratio")
        if m.cta_text not in service_pb2.CtaText.values():
            v.push("marketing.cta_text", "unknown call-to-action text")
        if m.timezone:
            v.ident("marketing.timezone", m.timezone, 64, "/_-+")
    return v.items


def list_eligible_violations(r: service_pb2.ListEligibleRequest) -> List[FieldViolation]:
    """Every field of a ListEligibleRequest the server would refuse (empty: none); the page token
    is the server's to judge."""
    v = _Violations()
    v.ident("page_id", r.page_id, L.PAGE_ID_MAX_CHARS, L.ID_ALPHABET_EXTRA)
    v.ident("topic_key", r.topic_key, L.TOPIC_KEY_MAX_CHARS, L.TOPIC_KEY_ALPHABET_EXTRA)
    if r.HasField("tag_filter"):
        v.tag_filter("tag_filter", r.tag_filter)
    v.regions("regions", r.regions)
    if not 0 <= r.page_size <= L.PAGE_SIZE_MAX:
        v.push("page_size", f"must be between 0 (default {L.PAGE_SIZE_DEFAULT}) and {L.PAGE_SIZE_MAX}")
    return v.items


def check_send_notification(r: service_pb2.SendNotificationRequest) -> None:
    """Raises :class:`OtnValidationError` with every violation, if any."""
    violations = send_notification_violations(r)
    if violations:
        raise OtnValidationError(violations)


def check_request_opt_in(r: service_pb2.RequestOptInRequest) -> None:
    """Raises :class:`OtnValidationError` with every violation, if any."""
    violations = request_opt_in_violations(r)
    if violations:
        raise OtnValidationError(violations)


def check_list_eligible(r: service_pb2.ListEligibleRequest) -> None:
    """Raises :class:`OtnValidationError` with every violation, if any."""
    violations = list_eligible_violations(r)
    if violations:
        raise OtnValidationError(violations)
