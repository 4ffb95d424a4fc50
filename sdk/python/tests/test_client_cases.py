"""Every case of sdk/client-cases.json (shared with the TypeScript client's suite) through this
client's own decisions: whether a failed attempt is retried and after how long, how a code is
classified, whether the event stream reconnects and after how long, the text of an error, the
"did you mean" suggestion. Also: the generated client_rules module is sdk/client-rules.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import grpc
import pytest
from google.rpc import error_details_pb2

from otn_client import OtnError, RetryPolicy, classify, client_rules, error_class, retryable_codes, v1
from otn_client._requests import closest
from otn_client.retry import DEFAULT_RETRY, DEFAULT_STREAM_RETRY
from otn_client.stream import reconnect_delay, reconnects

REPO_ROOT = Path(__file__).resolve().parents[3]
CASES: Dict[str, Any] = json.loads((REPO_ROOT / "sdk" / "client-cases.json").read_text(encoding="utf-8"))
RULES = json.loads((REPO_ROOT / "sdk" / "client-rules.json").read_text(encoding="utf-8"))


def ids(cases: List[Dict[str, Any]]) -> List[str]:
    return [str(c.get("name") or f"{c.get('message')}.{c.get('given')}") for c in cases]


def error(code: str, message: str = "", retry_info_ms: Optional[int] = None, **kw: Any) -> OtnError:
    c = grpc.StatusCode[code]
    return error_class(c)(c, message, retry_delay=None if retry_info_ms is None else retry_info_ms / 1000, **kw)


def policy(overrides: Dict[str, Any]) -> RetryPolicy:
    names = {"deadline_ms": "deadline", "max_attempts": "max_attempts", "initial_backoff_ms": "initial_backoff",
             "max_backoff_ms": "max_backoff", "multiplier": "multiplier",
             "max_retry_info_delay_ms": "max_retry_info_delay"}
    kw: Dict[str, Any] = {}
    for k, v in overrides.items():
        kw[names[k]] = v / 1000 if k.endswith("_ms") and v is not None else v
    return RetryPolicy(**{**DEFAULT_RETRY.__dict__, **kw})


def test_the_generated_rules_are_the_table() -> None:
    assert client_rules.TABLE == RULES
    assert DEFAULT_RETRY.deadline == RULES["retry"]["deadline_ms"] / 1000
    assert DEFAULT_STREAM_RETRY.max_backoff == RULES["stream"]["max_backoff_ms"] / 1000


def test_the_cases_cover_every_section() -> None:
    for section in ("retry", "classify", "stream", "error_text", "did_you_mean"):
        assert len(CASES[section]) >= 5, section


@pytest.mark.parametrize("case", CASES["retry"], ids=ids(CASES["retry"]))
def test_retry_case(case: Dict[str, Any]) -> None:
    p = policy(case.get("policy", {}))
    err = error(case["code"], retry_info_ms=case.get("retry_info_ms"))
    delay = p.delay_after(err, case["attempt"], retryable_codes(case["method"]),
                          elapsed=case.get("elapsed_ms", 0) / 1000, rand=lambda: float(case["random"]))
    if case["expect"].get("retry") is False:
        assert delay is None, f"retried after {delay} s"
    else:
        assert delay is not None and delay * 1000 == pytest.approx(case["expect"]["delay_ms"])


@pytest.mark.parametrize("case", CASES["classify"], ids=ids(CASES["classify"]))
def test_classify_case(case: Dict[str, Any]) -> None:
    got = classify(grpc.StatusCode[case["code"]], case["deadline_passed"], case["caller_cancelled"])
    assert got.name == case["expect"]


@pytest.mark.parametrize("case", CASES["stream"], ids=ids(CASES["stream"]))
def test_stream_case(case: Dict[str, Any]) -> None:
    err = None if case.get("end") == "clean" else error(case["code"], case["message"], case.get("retry_info_ms"))
    assert reconnects(err, case.get("own_deadline_passed", False)) is case["expect"]["reconnect"]
    if case["expect"]["reconnect"]:
        delay = reconnect_delay(DEFAULT_STREAM_RETRY, case["failures"], err, rand=lambda: float(case["random"]))
        assert delay * 1000 == pytest.approx(case["expect"]["delay_ms"])


@pytest.mark.parametrize("case", CASES["error_text"], ids=ids(CASES["error_text"]))
def test_error_text_case(case: Dict[str, Any]) -> None:
    violations = [error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                  for f, d in case.get("violations", [])]
    e = error(case["code"], case["message"], reason_name=case.get("reason", ""), field_violations=violations,
              attempts=case.get("attempts", 1))
    if "retry_deadline_ms" in case:
        e.retry_deadline = case["retry_deadline_ms"] / 1000
    assert str(e) == case["expect"]


@pytest.mark.parametrize("case", CASES["did_you_mean"], ids=ids(CASES["did_you_mean"]))
def test_did_you_mean_case(case: Dict[str, Any]) -> None:
    descriptor = getattr(v1, case["message"].removeprefix("otn.v1.")).DESCRIPTOR
    assert closest(case["given"], [f.name for f in descriptor.fields]) == case["expect"]
