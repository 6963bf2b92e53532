"""uvicorn's sans-I/O WebSocket protocol, with a way for the fan-out to write frames
straight to the socket.

Every socket of the meeting is sent the same bytes for an event: a server's frames are
not masked and per-message deflate is off, so a frame is encoded once (``frames.text_frame``)
and written to each transport as it is. The ASGI ``send`` (a coroutine per message, the
sans-I/O protocol's framing and buffers) stays for everything else: the handshake, closes,
and any socket whose transport is paused (its write buffer is full) keeps its bounded
queue (``live.realtime.client``). The socket endpoint finds the protocol in the scope's
``extensions`` under ``live.direct``.

Safe because uvicorn's own ``send`` frames and writes a whole message within one call (it
never leaves a partial frame in the transport), so a frame written here cannot land inside
another one.

Each socket also holds less than uvicorn's protocol does by itself: its inbox and its
writable flag are a list and a flag with a waiter or two (``asyncio.Queue`` and
``asyncio.Event`` hold four deques between them, ~0.6 KB each), and the handshake's
request and response are let go once the socket is accepted."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

DIRECT_EXTENSION = "live.direct"


class _Inbox:
    """What ``asyncio.Queue`` does for the protocol's received messages: unbounded, one
    reader (the socket's task). Reading pauses after each message, so it holds one or two."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class _Flag:
    """What ``asyncio.Event`` does for the protocol's "writable": set, clear, wait."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for w in waiters or ():
            if not w.done():
                w.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        while not self._set:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if self._waiters is not None and waiter in self._waiters:
                    self._waiters.remove(waiter)


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self._writable = _Flag()  # the same flag, typed as what it is (``write_if_ready`` reads it)
        self.writable = self._writable  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            scope["extensions"][DIRECT_EXTENSION] = self

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message.get("type") == "websocket.accept" and self.handshake_complete:
            # Only the handshake reads them; keeping them costs a few KB a socket.
            self.request = self.response = None  # type: ignore[assignment]

    @property
    def direct_ok(self) -> bool:
        """Open, accepted, not closing, and the transport takes more without pausing."""
        return (self.handshake_complete and not self.close_sent and not self.disconnected
                and self.writable.is_set() and not self.transport.is_closing())

    def write_frames(self, data: bytes) -> None:
        """One or more whole, pre-encoded frames (see ``direct_ok``)."""
        self.transport.write(data)

    def write_if_ready(self, data: bytes) -> bool:
        """``write_frames`` if ``direct_ok``, in one call: the fan-out makes it for every socket
        (``live.realtime.client.fan_write``). False, and nothing written, if not ready."""
        if self.handshake_complete and not self.close_sent and not self.disconnected and self._writable._set:
            transport = self.transport
            if not transport.is_closing():
                transport.write(data)
                return True
        return False
