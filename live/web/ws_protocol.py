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
another one."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

DIRECT_EXTENSION = "live.direct"


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            scope["extensions"][DIRECT_EXTENSION] = self

    @property
    def direct_ok(self) -> bool:
        """Open, accepted, not closing, and the transport takes more without pausing."""
        return (self.handshake_complete and not self.close_sent and not self.disconnected
                and self.writable.is_set() and not self.transport.is_closing())

    def write_frames(self, data: bytes) -> None:
        """One or more whole, pre-encoded frames (see ``direct_ok``)."""
        self.transport.write(data)
