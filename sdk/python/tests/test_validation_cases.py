"""Every case of proto/otn/v1/validation-cases.json through the local validator: exactly the
expected violation fields, fast even for a list of 200,000 entries (its count is checked first).
Also checks the generated limits module against limits.json."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from otn_client import (
    limits,
    list_eligible_violations,
    request_opt_in_violations,
    send_notification_violations,
    v1,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
CASES_FILE = REPO_ROOT / "proto" / "otn" / "v1" / "validation-cases.json"
LIMITS_FILE = REPO_ROOT / "proto" / "otn" / "v1" / "limits.json"
CASES: List[Dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]

VALID_BUTTON = {"title": "Buy", "web_url": "https://shop.example/sku-1"}


CHECKS = {"SendNotification": send_notification_violations, "RequestOptIn": request_opt_in_violations,
          "ListEligible": list_eligible_violations}


def value_of(v: Any) -> Any:
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return v
    if set(v) == {"repeat", "times"}:
        return v["repeat"] * v["times"]
    if set(v) == {"list", "times"}:
        return [v["list"]] * v["times"]
    if set(v) == {"count"}:
        return [dict(VALID_BUTTON) for _ in range(v["count"])]
    raise AssertionError(f"unknown value form in validation-cases.json: {v!r}")


def expected(violations: Any) -> List[str]:
    """A list of field paths, or {"each": P, "count": N}: P with `{i}` as 0..N-1."""
    if isinstance(violations, list):
        return violations
    assert set(violations) == {"each", "count"}, violations
    return [violations["each"].replace("{i}", str(i)) for i in range(violations["count"])]


def base(rpc: str, set_path: str) -> Dict[str, Any]:
    """The base request of the cases' _doc, as a dict."""
    if rpc == "RequestOptIn":
        return {"request_id": "case-1", "page_id": "case-page", "psid": "case-psid",
                "topic_key": "back-in-stock:sku-1", "title": "Tell me when it is back", "payload": ""}
    if rpc == "ListEligible":
        return {"page_id": "case-page", "topic_key": "back-in-stock:sku-1"}
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
    assert {c["rpc"] for c in CASES} == set(CHECKS)
    assert any(expected(c["violations"]) for c in CASES) and any(not expected(c["violations"]) for c in CASES)


def test_the_base_requests_are_valid() -> None:
    for rpc, check in CHECKS.items():
        assert check(getattr(v1, f"{rpc}Request")(**base(rpc, "content.text"))) == [], rpc
    assert send_notification_violations(v1.SendNotificationRequest(**base("SendNotification", "content.button_template"))) == []


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_validation_case(case: Dict[str, Any]) -> None:
    req = request_of(case)
    t0 = time.perf_counter()
    violations = CHECKS[case["rpc"]](req)
    took = time.perf_counter() - t0
    got = [v.field for v in violations]
    want = expected(case["violations"])
    assert got == want, f"{case['name']}: {case['set']} -> {got}, expected {want}"
    assert all(v.description for v in violations)
    assert len(got) <= limits.VIOLATIONS_MAX
    assert took < 0.25, f"{case['name']}: validation took {took:.3f} s (a list's count is checked first)"


def test_descriptions_are_the_servers() -> None:
    """The words of src/rules (the server's), for the list rules and the page size."""
    r = v1.ListEligibleRequest(page_id="p", topic_key="t", regions=["DE"] * 65, page_size=1001,
                               tag_filter={"all_of": ["vip"] * 51})
    got = {v.field: v.description for v in list_eligible_violations(r)}
    assert got == {"tag_filter.all_of": "must hold at most 50 entries (got 51)",
                   "regions": "must hold at most 64 entries (got 65)",
                   "page_size": "must be between 0 (default 100) and 1000"}
    send = v1.SendNotificationRequest(request_id="r", page_id="p", topic_key="t",
                                      content={"button_template": {"text": "x", "buttons": []}})
    assert [(v.field, v.description) for v in send_notification_violations(send)] == [
        ("content.button_template.buttons", "must hold 1 to 3 entries (got 0)")]


def test_the_generated_limits_match_limits_json() -> None:
    table = json.loads(LIMITS_FILE.read_text(encoding="utf-8"))
    assert limits.LIMITS == {x["name"]: x["value"] for x in table["limits"]}
    assert limits.ALPHABETS == {x["name"]: x["extra"] for x in table["alphabets"]}
    assert list(limits.RULES) == table["rules"]
    assert limits.TEXT_MAX_CHARS == limits.LIMITS["text_max_chars"]
