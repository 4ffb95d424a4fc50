"""Every case of proto/otn/v1/validation-cases.json through the local validator: exactly the
expected violation fields. Also checks the generated limits module against limits.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from otn_client import limits, request_opt_in_violations, send_notification_violations, v1

REPO_ROOT = Path(__file__).resolve().parents[3]
CASES_FILE = REPO_ROOT / "proto" / "otn" / "v1" / "validation-cases.json"
LIMITS_FILE = REPO_ROOT / "proto" / "otn" / "v1" / "limits.json"
CASES: List[Dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]

VALID_BUTTON = {"title": "Buy", "web_url": "https://shop.example/sku-1"}


def value_of(v: Any) -> Any:
    if isinstance(v, str):
        return v
    if set(v) == {"repeat", "times"}:
        return v["repeat"] * v["times"]
    if set(v) == {"count"}:
        return [dict(VALID_BUTTON) for _ in range(v["count"])]
    raise AssertionError(f"unknown value form in validation-cases.json: {v!r}")


def base(rpc: str, set_path: str) -> Dict[str, Any]:
    """The base request of the cases' _doc, as a dict."""
    if rpc == "RequestOptIn":
        return {"request_id": "case-1", "page_id": "case-page", "psid": "case-psid",
                "topic_key": "back-in-stock:sku-1", "title": "Tell me when it is back", "payload": ""}
    assert rpc == "SendNotification", f"no base request for rpc {rpc!r}"
    content: Dict[str, Any] = {"text": "Back in stock"}
    if set_path.startswith("content.button_template"):
        content = {"button_template": {"text": "Back in stock", "buttons": [dict(VALID_BUTTON)]}}
    return {"request_id": "case-1", "page_id": "case-page", "topic_key": "back-in-stock:sku-1", "content": content}


def assign(obj: Dict[str, Any], path: str, value: Any) -> None:
    """Sets a dotted path with `name[i]` indexes, creating dicts on the way; setting one member of
    a oneof (web_url / postback_payload) replaces the other."""
    parts = path.split(".")
    for part in parts[:-1]:
        name, _, index = part.partition("[")
        obj = obj.setdefault(name, {})
        if index:
            obj = obj[int(index.rstrip("]"))]
    last = parts[-1]
    for a, b in (("web_url", "postback_payload"), ("postback_payload", "web_url")):
        if last == a:
            obj.pop(b, None)
    obj[last] = value


def request_of(case: Dict[str, Any]) -> Any:
    req = base(case["rpc"], case["set"])
    assign(req, case["set"], value_of(case["value"]))
    cls = getattr(v1, f"{case['rpc']}Request")
    return cls(**req)


def test_the_cases_file_is_not_empty() -> None:
    assert len(CASES) >= 40, len(CASES)
    assert {c["rpc"] for c in CASES} == {"SendNotification", "RequestOptIn"}
    assert any(c["violations"] for c in CASES) and any(not c["violations"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_validation_case(case: Dict[str, Any]) -> None:
    req = request_of(case)
    check = send_notification_violations if case["rpc"] == "SendNotification" else request_opt_in_violations
    got = [v.field for v in check(req)]
    assert got == case["violations"], f"{case['name']}: {case['set']} -> {got}, expected {case['violations']}"


def test_the_generated_limits_match_limits_json() -> None:
    table = json.loads(LIMITS_FILE.read_text(encoding="utf-8"))
    assert limits.LIMITS == {x["name"]: x["value"] for x in table["limits"]}
    assert limits.ALPHABETS == {x["name"]: x["extra"] for x in table["alphabets"]}
    assert list(limits.RULES) == table["rules"]
    assert limits.TEXT_MAX_CHARS == limits.LIMITS["text_max_chars"]
