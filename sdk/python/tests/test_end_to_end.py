"""End to end: the SDK against the real otn-server (sandbox page, fresh SQLite)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any, Iterator, List, Set

import grpc
import pytest
from conftest import OtnServer

from otn_client import (
    AlreadyExists,
    Client,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OtnValidationError,
    send_notification_violations,
    v1,
)

PAGE = "sandbox-page"
TOPIC = "back-in-stock:sku-123"
PEOPLE = 28  # 25 tagged "vip" (3 pages of 10), 3 untagged
VIP = 25
MAX_RECIPIENTS = 5


@pytest.fixture(scope="module")
def client(server: OtnServer) -> Iterator[Client]:
    with server.client(timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def people(server: OtnServer, client: Client) -> List[str]:
    """Records PEOPLE opt-ins on TOPIC and tags the first VIP of them (mixed case: stored lower)."""
    run = uuid.uuid4().hex[:8]
    psids = [f"py-{run}-{i:02d}" for i in range(PEOPLE)]
    for psid in psids:
        r = client.record_opt_in(page_id=PAGE, psid=psid, topic_key=TOPIC, token=server.issue_otn_token(PAGE, psid),
                                 topic_title="Sneaker X back in stock")
        assert not r.replayed
        assert r.grant.grant_id and r.grant.psid == psid and r.grant.topic_key == TOPIC
        assert r.grant.kind == v1.GRANT_KIND_ONE_TIME_NOTIFICATION
        assert r.grant.state == v1.GRANT_STATE_ACTIVE
    for psid in psids[:VIP]:
        u = client.update_recipient(page_id=PAGE, psid=psid, add_tags=["VIP", "sneakers"], region="US")
        assert list(u.recipient.tags) == ["sneakers", "vip"]
        assert u.recipient.region == "US"
    return psids


def test_list_eligible_with_tag_filter_paginates(client: Client, people: List[str]) -> None:
    vip = v1.TagFilter(all_of=["vip"])
    # total_size is counted only when asked for (include_total_size)
    pages = list(client.iter_eligible_pages(page_id=PAGE, topic_key=TOPIC, tag_filter=vip, page_size=10,
                                            include_total_size=True))
    assert [len(p.recipients) for p in pages] == [10, 10, 5]
    assert all(p.total_size == VIP for p in pages)
    assert pages[-1].next_page_token == ""
    seen = [e.recipient.psid for p in pages for e in p.recipients]
    assert len(seen) == len(set(seen)), "a recipient was listed twice"
    assert set(seen) == set(people[:VIP])
    assert all(len(e.grants) == 1 and e.grants[0].topic_key == TOPIC for p in pages for e in p.recipients)

    # The flat iterator sees the same people; the other filters partition the rest.
    flat = client.iter_eligible(page_id=PAGE, topic_key=TOPIC, tag_filter=vip, page_size=10)
    assert [e.recipient.psid for e in flat] == seen
    others = client.list_eligible(page_id=PAGE, topic_key=TOPIC, tag_filter={"none_of": ["vip"]})
    assert {e.recipient.psid for e in others.recipients} == set(people[VIP:])
    everyone = v1.ListEligibleRequest(page_id=PAGE, topic_key=TOPIC, include_total_size=True)
    assert client.list_eligible(everyone).total_size == PEOPLE
    assert client.list_eligible(page_id=PAGE, topic_key=TOPIC).total_size == 0, "counted without being asked"


def test_record_opt_in_is_idempotent_and_tokens_conflict(client: Client) -> None:
    psid = f"py-{uuid.uuid4().hex[:8]}"
    token = f"otn-test-{uuid.uuid4()}"
    first = client.record_opt_in(page_id=PAGE, psid=psid, topic_key="back-in-stock:sku-999", token=token)
    again = client.record_opt_in(page_id=PAGE, psid=psid, topic_key="back-in-stock:sku-999", token=token)
    assert again.replayed and again.grant.grant_id == first.grant.grant_id
    with pytest.raises(AlreadyExists) as e:
        client.record_opt_in(page_id=PAGE, psid=psid + "-other", topic_key="back-in-stock:sku-999", token=token)
    assert e.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert (e.value.domain, e.value.reason) == ("otn.v1", v1.ERROR_REASON_TOKEN_CONFLICT)
    assert e.value.reason_name == "TOKEN_CONFLICT"
    assert client.forget_recipient(page_id=PAGE, psid=psid).found


def test_the_server_reports_every_bad_field_as_the_local_validator_does(client: Client, server: OtnServer) -> None:
    bad = v1.SendNotificationRequest(
        request_id="e2e-bad-1", page_id="bad page", topic_key="",
        content=v1.Content(button_template=v1.ButtonTemplate(text="x", buttons=[
            v1.Button(title="b" * 21, web_url="ftp://x"), v1.Button(title="p", postback_payload=""),
            v1.Button(title="none")])),
        options=v1.SendOptions(max_recipients=-1, regions=["DEU"], message_tag="HUMAN_AGENT",
                               rolling_consent=v1.RollingConsent(title="t" * 66)))
    local = [v.field for v in send_notification_violations(bad)]
    with pytest.raises(OtnValidationError) as mine:
        client.send_notification(bad)
    with server.client(validate=False) as raw, pytest.raises(InvalidArgument) as theirs:
        raw.send_notification(bad)
    assert not isinstance(theirs.value, OtnValidationError)
    assert theirs.value.reason == v1.ERROR_REASON_INVALID_FIELD and theirs.value.domain == "otn.v1"
    assert theirs.value.fields == local == mine.value.fields
    assert all(v.description for v in theirs.value.field_violations)

    with server.client(validate=False) as raw, pytest.raises(InvalidArgument) as e:
        raw.request_opt_in(page_id=PAGE, psid="py-someone", topic_key=TOPIC, title="x" * 66)
    assert e.value.fields == ["title"] and e.value.reason == v1.ERROR_REASON_INVALID_FIELD
    with pytest.raises(InvalidArgument) as e:
        client.record_opt_in(page_id=PAGE, psid="py-someone", topic_key="", token="t-1")
    assert "topic_key" in e.value.fields and e.value.reason == v1.ERROR_REASON_INVALID_FIELD


def test_refusals_carry_their_code_and_reason(client: Client, people: List[str]) -> None:
    with pytest.raises(NotFound) as nf:
        client.get_notification(notification_id=str(uuid.uuid4()))
    assert nf.value.reason == v1.ERROR_REASON_NOTIFICATION_NOT_FOUND
    with pytest.raises(NotFound) as page:
        client.record_opt_in(page_id="no-such-page", psid="u1", topic_key=TOPIC, token=f"t-{uuid.uuid4()}")
    assert page.value.reason == v1.ERROR_REASON_PAGE_NOT_FOUND
    # Nobody has interacted, so every window is closed.
    with pytest.raises(FailedPrecondition) as w:
        client.request_opt_in(page_id=PAGE, psid=people[0], topic_key=TOPIC, title="Sneaker X is back")
    assert w.value.reason == v1.ERROR_REASON_OUTSIDE_WINDOW and w.value.reason_name == "OUTSIDE_WINDOW"
    dry = client.send_notification(page_id=PAGE, topic_key=TOPIC, content={"text": "x"}, options={"dry_run": True})
    assert dry.notification.state == v1.NOTIFICATION_STATE_PLANNED
    with pytest.raises(FailedPrecondition) as final:
        client.cancel_notification(notification_id=dry.notification.notification_id)
    assert final.value.reason == v1.ERROR_REASON_NOTIFICATION_FINAL


def collect_sent(stream: Any, notification_id: str, want: int) -> Set[str]:
    sent: Set[str] = set()
    for ev in stream:
        assert ev.notification_id == notification_id
        if ev.type == v1.DELIVERY_EVENT_TYPE_SENT:
            sent.add(ev.psid)
        if len(sent) == want:
            break
    return sent


def test_send_notification_and_stream_delivery_events(client: Client, people: List[str]) -> None:
    sent = client.send_notification(page_id=PAGE, topic_key=TOPIC, audience={"tag_filter": {"all_of": ["vip"]}},
                                    content={"text": "Sneaker X is back in stock!"},
                                    options={"max_recipients": MAX_RECIPIENTS})
    n = sent.notification
    assert n.notification_id and not sent.replayed and n.request_id
    assert n.plan.grant_sends == MAX_RECIPIENTS, n.plan
    assert client.get_notification(notification_id=n.notification_id).notification.notification_id == n.notification_id

    t0 = time.monotonic()
    stream = client.stream_delivery_events(notification_id=n.notification_id, after_sequence=0, timeout=30)
    with stream:
        sent_to = collect_sent(stream, n.notification_id, MAX_RECIPIENTS)
    assert len(sent_to) == MAX_RECIPIENTS, f"{sent_to} after {time.monotonic() - t0:.1f}s"
    assert sent_to <= set(people[:VIP]) and stream.last_sequence > 0


def test_the_asyncio_client_end_to_end(server: OtnServer) -> None:
    topic = f"back-in-stock:aio-{uuid.uuid4().hex[:6]}"
    psids = [f"py-aio-{uuid.uuid4().hex[:6]}-{i}" for i in range(3)]

    async def go() -> Any:
        async with server.async_client(timeout=10) as c:
            for p in psids:
                await c.record_opt_in(page_id=PAGE, psid=p, topic_key=topic, token=server.issue_otn_token(PAGE, p))
            listed = [e.recipient.psid async for e in c.iter_eligible(page_id=PAGE, topic_key=topic, page_size=2)]
            assert sorted(listed) == sorted(psids)
            with pytest.raises(FailedPrecondition) as e:
                await c.request_opt_in(page_id=PAGE, psid=psids[0], topic_key=topic, title="Back?")
            assert e.value.reason == v1.ERROR_REASON_OUTSIDE_WINDOW
            n = (await c.send_notification(page_id=PAGE, topic_key=topic, content={"text": "Back!"})).notification
            sent: Set[str] = set()
            async with c.stream_delivery_events(notification_id=n.notification_id, timeout=30) as events:
                async for ev in events:
                    if ev.type == v1.DELIVERY_EVENT_TYPE_SENT:
                        sent.add(ev.psid)
                    if len(sent) == len(psids):
                        break
            return sent

    assert asyncio.run(go()) == set(psids)


def test_cancel_from_another_thread_ends_a_live_stream(client: Client) -> None:
    stream = client.stream_delivery_events(page_id=PAGE, from_now=True)
    timer = threading.Timer(0.5, stream.cancel)
    timer.start()
    t0 = time.monotonic()
    assert list(stream) == []
    assert time.monotonic() - t0 < 10 and stream.cancelled and stream.reconnects == 0
