"""Retries against the real release server, sync and asyncio: the sandbox's simulator plays Meta
and is told to fail (``POST /_sim/faults``), so RequestOptIn answers what the server answers when
Meta does: UNAVAILABLE with RetryInfo, a stalled call past the client's deadline, ABORTED for a
concurrent attempt with the same request_id. And a server that is down, then back: with the
default policy a call simply waits for it (wait-for-ready, within the 30 s retry deadline);
without wait-for-ready, UNAVAILABLE without RetryInfo, where the client's own backoff with full
jitter applies. Every attempt is seen on the wire (tests/recording.py); what the client made of
each failure is seen through ``on_retry``."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any, List, Tuple

import pytest
from callers import KINDS, Caller
from conftest import OtnServer

from otn_client import NO_RETRY, FailedPrecondition, OtnError, RetryEvent, RetryPolicy, Unavailable, v1

PAGE = "sandbox-page"
TOPIC = "back-in-stock:sku-retry"
TITLE = "Tell me when Sneaker X is back"
SERVER_ERROR = {"kind": "server_error"}  # Graph API HTTP 500, code 2: Meta did not answer
#: No backoff of the client's own: every wait between attempts is the server's RetryInfo.
ONLY_RETRY_INFO = RetryPolicy(max_attempts=4, initial_backoff=0.0, max_backoff=0.0)
RETRY_INFO_S = 1.0  # what the server asks for when Meta did not answer


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def person_in_window(server: OtnServer) -> str:
    """A new person who just messaged the page (their 24-hour window is open)."""
    psid = f"py-retry-{uuid.uuid4().hex[:8]}"
    server.sim("message", {"page_id": PAGE, "psid": psid, "text": "Any news on Sneaker X?"})
    return psid


def opt_in_requests(server: OtnServer, psid: str) -> List[Any]:
    """The opt-in requests the simulated Meta accepted for this person."""
    return list(server.sim(f"opt_in_requests?page_id={PAGE}&psid={psid}"))


def ask(caller: Caller, psid: str, **kw: Any) -> Any:
    return caller("request_opt_in", page_id=PAGE, psid=psid, topic_key=TOPIC, title=TITLE, **kw)


def test_unavailable_is_retried_after_the_retry_info_delay_with_one_request_id(own_server: OtnServer,
                                                                               kind: str) -> None:
    psid = person_in_window(own_server)
    assert own_server.inject_faults(SERVER_ERROR, SERVER_ERROR) == 2
    caller = Caller(kind, own_server.target, own_server.api_key, retry=ONLY_RETRY_INFO)
    r = ask(caller, psid)  # no request_id given: the client makes one, once

    attempts = caller.recorder.of("RequestOptIn")
    assert caller.recorder.codes("RequestOptIn") == ["UNAVAILABLE", "UNAVAILABLE", "OK"]
    ids = {a.request_id for a in attempts}
    assert len(ids) == 1, f"the request_id changed across retries: {ids}"
    request_id = ids.pop()
    assert request_id and uuid.UUID(request_id).version == 4
    assert r.opt_in_request.request_id == request_id and not r.replayed
    waits = caller.recorder.waits("RequestOptIn")
    assert all(RETRY_INFO_S - 0.05 <= w < RETRY_INFO_S + 2 for w in waits), f"RetryInfo is 1 s; waited {waits}"
    assert own_server.queued_faults() == 0, "the server did not call Meta once per attempt"
    assert [x["title"] for x in opt_in_requests(own_server, psid)] == [TITLE]


def test_the_server_refuses_a_retry_under_another_request_id(own_server: OtnServer, kind: str) -> None:
    """Why the client keeps the request_id: after an attempt Meta did not answer, the server
    holds the request; the same id is a retry, another id is a second request of the same title."""
    psid = person_in_window(own_server)
    own_server.inject_faults(SERVER_ERROR)
    caller = Caller(kind, own_server.target, own_server.api_key, retry=NO_RETRY)
    with pytest.raises(Unavailable) as first:
        ask(caller, psid, request_id="py-retry-1")
    assert first.value.reason == v1.ERROR_REASON_GRAPH_API_UNAVAILABLE
    assert first.value.retry_delay == pytest.approx(RETRY_INFO_S)
    with pytest.raises(FailedPrecondition) as other:
        ask(caller, psid, request_id="py-retry-2")
    assert other.value.reason == v1.ERROR_REASON_OPT_IN_RECENTLY_REQUESTED
    again = ask(caller, psid, request_id="py-retry-1")
    assert again.opt_in_request.request_id == "py-retry-1"
    assert caller.recorder.codes("RequestOptIn") == ["UNAVAILABLE", "FAILED_PRECONDITION", "OK"]


def test_a_retry_info_delay_beyond_the_policy_is_raised_at_once(own_server: OtnServer, kind: str) -> None:
    psid = person_in_window(own_server)
    own_server.inject_faults(SERVER_ERROR)
    caller = Caller(kind, own_server.target, own_server.api_key, retry=RetryPolicy(max_retry_info_delay=0.5))
    t0 = time.monotonic()
    with pytest.raises(Unavailable) as e:
        ask(caller, psid)
    assert time.monotonic() - t0 < RETRY_INFO_S, "waited for a RetryInfo delay beyond max_retry_info_delay"
    assert e.value.retry_delay == pytest.approx(RETRY_INFO_S)
    assert caller.recorder.codes("RequestOptIn") == ["UNAVAILABLE"]


def test_attempts_are_bounded(own_server: OtnServer, kind: str) -> None:
    psid = person_in_window(own_server)
    own_server.inject_faults(*[SERVER_ERROR] * 4)
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.0, max_backoff=0.0)
    caller = Caller(kind, own_server.target, own_server.api_key, retry=policy)
    with pytest.raises(Unavailable) as e:
        ask(caller, psid)
    assert e.value.reason == v1.ERROR_REASON_GRAPH_API_UNAVAILABLE
    assert caller.recorder.codes("RequestOptIn") == ["UNAVAILABLE"] * 3
    assert own_server.queued_faults() == 1


def test_an_idempotent_call_is_retried_after_its_deadline(own_server: OtnServer, kind: str) -> None:
    """Meta stalls for 2 s; each attempt has 0.5 s: the first ends past its deadline and
    RequestOptIn (idempotent on its request_id) is tried again, with the same id. On the wire
    the first attempt ends DEADLINE_EXCEEDED (the client's deadline) or CANCELLED (the server's
    deadline enforcement got there first: tonic's "Timeout expired"); the client classifies
    both as DEADLINE_EXCEEDED, and that is what is checked."""
    psid = person_in_window(own_server)
    own_server.inject_faults({"kind": "timeout", "ms": 2000})
    policy = RetryPolicy(max_attempts=6, initial_backoff=0.05, max_backoff=0.2)
    retries: List[RetryEvent] = []
    caller = Caller(kind, own_server.target, own_server.api_key, retry=policy, timeout=0.5, on_retry=retries.append)
    r = ask(caller, psid)
    codes = caller.recorder.codes("RequestOptIn")
    assert codes[0] in ("DEADLINE_EXCEEDED", "CANCELLED") and codes[-1] == "OK", codes
    assert set(codes[1:-1]) <= {"ABORTED", "DEADLINE_EXCEEDED", "CANCELLED"}, codes
    classified = [e.code.name for e in retries]
    assert classified[0] == "DEADLINE_EXCEEDED", classified
    assert set(classified) <= {"ABORTED", "DEADLINE_EXCEEDED"}, classified
    assert len(classified) == len(codes) - 1
    ids = {a.request_id for a in caller.recorder.of("RequestOptIn")}
    assert ids == {r.opt_in_request.request_id}
    assert len(opt_in_requests(own_server, psid)) == 1


def test_aborted_is_retried_for_an_idempotent_call(own_server: OtnServer, kind: str) -> None:
    """Two callers send the same request_id while Meta stalls the first one for 1 s: the server
    answers the second ABORTED (CONCURRENT_REQUEST) until the first is done, and the client
    retries it; both end with the one opt-in request that was sent."""
    psid = person_in_window(own_server)
    own_server.inject_faults({"kind": "timeout", "ms": 1000})
    request_id = str(uuid.uuid4())
    first = Caller(kind, own_server.target, own_server.api_key)
    second = Caller(kind, own_server.target, own_server.api_key,
                    retry=RetryPolicy(max_attempts=40, initial_backoff=0.05, max_backoff=0.2))

    def meta_is_stalling() -> None:  # the first attempt has reached Meta (it took the fault)
        deadline = time.monotonic() + 10
        while own_server.queued_faults() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert own_server.queued_faults() == 0

    if kind == "sync":
        results: List[Any] = []
        t = threading.Thread(target=lambda: results.append(ask(first, psid, request_id=request_id)))
        t.start()
        meta_is_stalling()
        b = ask(second, psid, request_id=request_id)
        t.join(30)
        a = results[0]
    else:
        async def both() -> Tuple[Any, Any]:
            task = asyncio.ensure_future(first.call_async("request_opt_in", page_id=PAGE, psid=psid, topic_key=TOPIC,
                                                          title=TITLE, request_id=request_id))
            await asyncio.to_thread(meta_is_stalling)
            b = await second.call_async("request_opt_in", page_id=PAGE, psid=psid, topic_key=TOPIC, title=TITLE,
                                        request_id=request_id)
            return await task, b

        a, b = asyncio.run(both())

    codes = second.recorder.codes("RequestOptIn")
    assert codes[0] == "ABORTED" and codes[-1] == "OK", codes
    assert a.opt_in_request.opt_in_request_id == b.opt_in_request.opt_in_request_id
    assert a.opt_in_request.request_id == b.opt_in_request.request_id == request_id
    assert len(opt_in_requests(own_server, psid)) == 1


def test_the_default_policy_waits_out_a_restart(own_server: OtnServer, kind: str) -> None:
    """A deploy: the server is killed and back 3 s later. With the client's defaults (30 s retry
    deadline, wait-for-ready) a read and a mutation made meanwhile both succeed."""
    caller = Caller(kind, own_server.target, own_server.api_key)
    caller("list_eligible", page_id=PAGE, topic_key=TOPIC)  # the channel is up
    own_server.kill()
    restarted = threading.Timer(3.0, own_server.start)
    restarted.start()
    t0 = time.monotonic()
    try:
        r = caller("list_eligible", page_id=PAGE, topic_key=TOPIC)
        u = caller("update_recipient", page_id=PAGE, psid=f"py-deploy-{uuid.uuid4().hex[:6]}", add_tags=["vip"])
    finally:
        restarted.join(60)
    assert own_server.starts == 2
    assert isinstance(r, v1.ListEligibleResponse) and isinstance(u, v1.UpdateRecipientResponse)
    assert 2.5 < time.monotonic() - t0 < 25
    assert caller.recorder.codes("ListEligible")[-1] == "OK"


def test_a_retry_deadline_that_runs_out_names_the_attempts(own_server: OtnServer, kind: str) -> None:
    caller = Caller(kind, own_server.target, own_server.api_key, retry=RetryPolicy(deadline=2.0))
    caller("list_eligible", page_id=PAGE, topic_key=TOPIC)
    own_server.kill()  # and never back
    t0 = time.monotonic()
    with pytest.raises(OtnError) as e:
        caller("list_eligible", page_id=PAGE, topic_key=TOPIC)
    assert 1.5 < time.monotonic() - t0 < 10
    n = len(caller.recorder.of("ListEligible")) - 1
    assert e.value.attempts == n >= 1 and e.value.retry_deadline == 2.0
    word = "attempt" if n == 1 else "attempts"
    assert str(e.value).endswith(f" (after {n} {word}; retry deadline 2 s reached)"), str(e.value)
    assert e.value.code.name in ("DEADLINE_EXCEEDED", "UNAVAILABLE"), e.value


def test_a_server_that_is_down_is_retried_with_backoff_and_full_jitter(own_server: OtnServer, kind: str) -> None:
    """Without wait-for-ready, a call to a server that is down fails at once (UNAVAILABLE, no
    RetryInfo when nobody answers): between attempts the client waits a uniformly random time in
    [0, min(max_backoff, initial_backoff * multiplier^(n-1))]."""
    policy = RetryPolicy(initial_backoff=0.05, multiplier=2.0, max_backoff=0.2)
    caller = Caller(kind, own_server.target, own_server.api_key, retry=policy, timeout=2.0, wait_for_ready=False)
    caller("list_eligible", page_id=PAGE, topic_key=TOPIC)  # the channel is up
    own_server.kill()
    restarted = threading.Timer(3.0, own_server.start)
    restarted.start()
    try:
        r = caller("list_eligible", page_id=PAGE, topic_key=TOPIC)
    finally:
        restarted.join(60)
    assert own_server.starts == 2
    assert isinstance(r, v1.ListEligibleResponse)
    codes = caller.recorder.codes("ListEligible")[1:]
    assert codes[-1] == "OK" and set(codes[:-1]) == {"UNAVAILABLE"}, codes
    waits = caller.recorder.waits("ListEligible")[1:]
    assert len(waits) >= 10, f"{len(waits)} retries in 3 s"
    ceilings = [min(policy.max_backoff, policy.initial_backoff * policy.multiplier ** n) for n in range(len(waits))]
    late = [(w, c) for w, c in zip(waits, ceilings) if w > c + 0.15]
    assert not late, f"waits beyond their exponential ceiling (+0.15 s): {late}"
    full = [w / c for w, c in zip(waits, ceilings) if c == policy.max_backoff]
    # Full jitter spreads the waits over [0, ceiling]: some short, some long (a fixed or
    # half-jitter backoff would fail one of these; chance of a false alarm < 1e-4).
    assert min(full) < 0.4 and max(full) > 0.6, f"waits / ceiling: {[round(x, 2) for x in full]}"


def test_a_refusal_is_not_retried(own_server: OtnServer, kind: str) -> None:
    """What retrying cannot cure is raised after one attempt, typed, with its reason, and with
    the request id the server answered (the request's request_id, sent as x-request-id), which
    is also the id of the server's log line for the call."""
    caller = Caller(kind, own_server.target, own_server.api_key)
    with pytest.raises(FailedPrecondition) as e:  # nobody messaged: the window is closed
        ask(caller, f"py-closed-{uuid.uuid4().hex[:6]}", request_id=f"py-refused-{uuid.uuid4().hex[:8]}")
    assert e.value.reason == v1.ERROR_REASON_OUTSIDE_WINDOW
    assert isinstance(e.value, OtnError) and caller.recorder.codes("RequestOptIn") == ["FAILED_PRECONDITION"]
    assert e.value.attempts == 1
    rid = caller.recorder.of("RequestOptIn")[0].request_id
    assert rid and e.value.request_id == rid, (e.value.request_id, rid)
    deadline = time.monotonic() + 10
    while f'"request_id":"{rid}"' not in own_server.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f'"request_id":"{rid}"' in own_server.log_text(), "the server did not log the client's request id"
