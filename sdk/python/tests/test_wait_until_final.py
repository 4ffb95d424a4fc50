"""wait_until_final against a scripted server, sync and asyncio: it polls GetNotification at its
interval until the notification is final (COMPLETED, CANCELLED, or PLANNED for a dry run), and
raises DeadlineExceeded naming the last state when its timeout passes first. (The examples use it
against the real server.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from otn_client import AsyncClient, Client, DeadlineExceeded, OtnUsageError, v1


@pytest.fixture(params=["sync", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def state(s: int) -> Any:
    return v1.GetNotificationResponse(notification=v1.Notification(notification_id="n-1", state=s))


def wait(kind: str, target: str, **kw: Any) -> Any:
    if kind == "sync":
        with Client(target) as c:
            return c.wait_until_final("n-1", **kw)

    async def go() -> Any:
        async with AsyncClient(target) as c:
            return await c.wait_until_final("n-1", **kw)

    return asyncio.run(go())


@pytest.mark.parametrize("final", [v1.NOTIFICATION_STATE_COMPLETED, v1.NOTIFICATION_STATE_CANCELLED,
                                   v1.NOTIFICATION_STATE_PLANNED])
def test_polls_until_the_notification_is_final(fake: Any, kind: str, final: int) -> None:
    fake.script("GetNotification", state(v1.NOTIFICATION_STATE_SCHEDULED), state(v1.NOTIFICATION_STATE_DISPATCHING),
                state(final))
    n = wait(kind, fake.target, poll_interval=0.1)
    assert n.state == final and n.notification_id == "n-1"
    at = [a.at for a in fake.of("GetNotification")]
    assert len(at) == 3 and all(b - a >= 0.09 for a, b in zip(at, at[1:])), at
    assert all(a.request.notification_id == "n-1" for a in fake.of("GetNotification"))


def test_the_timeout_names_the_last_state(fake: Any, kind: str) -> None:
    fake.script("GetNotification", state(v1.NOTIFICATION_STATE_DISPATCHING), repeat_last=True)
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded) as e:
        wait(kind, fake.target, timeout=0.5, poll_interval=0.1)
    assert 0.4 < time.monotonic() - t0 < 3
    assert str(e.value) == "DEADLINE_EXCEEDED: notification n-1 is not final after 0.5 s (state NOTIFICATION_STATE_DISPATCHING)"
    assert 3 <= len(fake.of("GetNotification")) <= 8


def test_bad_arguments_are_usage_errors(fake: Any) -> None:
    with Client(fake.target) as c:
        for kw in ({"timeout": 0}, {"poll_interval": -1}, {"timeout": "soon"}):
            with pytest.raises(OtnUsageError):
                c.wait_until_final("n-1", **kw)
    assert fake.attempts == []
