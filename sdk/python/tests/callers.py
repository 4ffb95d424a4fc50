"""One way to drive the sync and the asyncio client alike from a test: ``Caller("sync" | "asyncio",
target, ...)(method, **fields)`` makes a fresh client (closed afterwards), records every attempt
on the wire (tests/recording.py) and returns the response or raises what the client raised."""

from __future__ import annotations

import asyncio
from typing import Any, Optional, Union

from recording import AsyncRecorder, SyncRecorder

from otn_client import AsyncClient, Client

KINDS = ["sync", "asyncio"]


class Caller:
    def __init__(self, kind: str, target: str, api_key: Optional[str] = None, **client_kwargs: Any) -> None:
        assert kind in KINDS, kind
        self.kind = kind
        self.target = target
        self.api_key = api_key
        self.client_kwargs = client_kwargs
        self.recorder: Union[SyncRecorder, AsyncRecorder] = SyncRecorder() if kind == "sync" else AsyncRecorder()

    def __call__(self, method: str, **fields: Any) -> Any:
        if self.kind == "sync":
            return self._sync(method, fields)
        return asyncio.run(self.call_async(method, **fields))

    def _sync(self, method: str, fields: Any) -> Any:
        assert isinstance(self.recorder, SyncRecorder)
        channel = self.recorder.channel(self.target)
        try:
            with Client(self.target, api_key=self.api_key, channel=channel, **self.client_kwargs) as c:
                return getattr(c, method)(**fields)
        finally:
            channel.close()

    async def call_async(self, method: str, **fields: Any) -> Any:
        """The asyncio call itself, to await inside a running loop (``kind == "asyncio"``)."""
        assert isinstance(self.recorder, AsyncRecorder)
        channel = self.recorder.channel(self.target)
        try:
            async with AsyncClient(self.target, api_key=self.api_key, channel=channel, **self.client_kwargs) as c:
                return await getattr(c, method)(**fields)
        finally:
            await channel.close()

    def first_event(self, **filters: Any) -> Any:
        """Opens StreamDeliveryEvents with these filters and returns its first event (or raises
        what the stream raised); returns ``(event, stream)``."""
        if self.kind == "sync":
            with Client(self.target, api_key=self.api_key, **self.client_kwargs) as c:
                with c.stream_delivery_events(**filters) as stream:
                    return next(stream), stream

        async def go() -> Any:
            async with AsyncClient(self.target, api_key=self.api_key, **self.client_kwargs) as c:
                async with c.stream_delivery_events(**filters) as stream:
                    return await stream.__anext__(), stream

        return asyncio.run(go())
