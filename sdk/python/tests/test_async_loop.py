"""AsyncClient and event loops: made outside any running loop (at import time, say), it binds its
channel to the loop of its first use and works there; used later from another loop it raises a
clear OtnUsageError instead of grpc.aio's raw RuntimeError about futures of another loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from otn_client import AsyncClient, OtnUsageError, v1

OK = v1.GetNotificationResponse(notification=v1.Notification(notification_id="n-1"))


def test_made_outside_a_loop_it_binds_on_first_use(fake: Any) -> None:
    fake.script("GetNotification", OK, OK)
    client = AsyncClient(fake.target)  # no running loop here

    async def use() -> Any:
        first = await client.get_notification(notification_id="n-1")
        second = await client.get_notification(notification_id="n-1")
        await client.close()
        return first, second

    assert asyncio.run(use()) == (OK, OK)
    assert len(fake.of("GetNotification")) == 2


def test_another_loop_is_a_usage_error_naming_the_fix(fake: Any) -> None:
    fake.script("GetNotification", OK, repeat_last=True)
    client = AsyncClient(fake.target)
    assert asyncio.run(client.get_notification(notification_id="n-1")) == OK
    with pytest.raises(OtnUsageError) as e:
        asyncio.run(client.get_notification(notification_id="n-1"))
    assert "another event loop" in str(e.value) and "one AsyncClient per event loop" in str(e.value)
    assert e.value.field == "AsyncClient"
    assert len(fake.of("GetNotification")) == 1, "the second call went nowhere"


def test_the_channel_outside_a_loop_is_a_usage_error(fake: Any) -> None:
    client = AsyncClient(fake.target)
    with pytest.raises(OtnUsageError, match="outside a running event loop"):
        client.channel


def test_a_client_made_inside_the_loop_still_works_with_async_with(fake: Any) -> None:
    fake.script("GetNotification", OK)

    async def go() -> Any:
        async with AsyncClient(fake.target) as c:
            return await c.get_notification(notification_id="n-1")

    assert asyncio.run(go()) == OK
