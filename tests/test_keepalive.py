"""Dead sockets are found and closed within a bound: the server's WebSocket pings close a
socket that stops answering within ``ws_ping_interval_s + ws_ping_timeout_s``, and a socket
whose send raised is closed at once (live.realtime.client)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from conftest import Seed, free_port_for_tests
from live.config import WS_PING_INTERVAL_S, WS_PING_TIMEOUT_S, Settings, uvicorn_ws_options
from live.realtime.client import SEND_FAILED_CLOSE_CODE, Client, Identity
from live.web.app import create_app


def test_the_default_bound_is_twenty_seconds_and_serve_uses_it() -> None:
    s = Settings(database_url="sqlite://", secret_key="x" * 40)
    opts = uvicorn_ws_options(s)
    assert (opts["ws_ping_interval"], opts["ws_ping_timeout"]) == (WS_PING_INTERVAL_S, WS_PING_TIMEOUT_S) == (10, 10)
    assert opts["ws"] == "live.web.ws_protocol:LiveWebSocketProtocol"
    s.ws_ping_interval_s = 0
    assert uvicorn_ws_options(s)["ws_ping_interval"] is None


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[tuple[int, Any]]:
    port = free_port_for_tests()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            **uvicorn_ws_options(settings))  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield port, app
    finally:
        server.should_exit = True
        thread.join(15)


def silent_socket(port: int, path: str) -> socket.socket:
    """A WebSocket handshake, then nothing: no reads, no pongs (a phone whose Wi-Fi vanished)."""
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def test_a_socket_that_stops_answering_is_closed_within_the_bound(settings: Settings, seed: Seed) -> None:
    from websockets.sync.client import connect

    settings.ws_ping_interval_s, settings.ws_ping_timeout_s = 0.5, 0.5
    with serve(settings) as (port, app):
        admission = app.state.services.admission
        with connect(f"ws://127.0.0.1:{port}/ws/{seed.code}?role=screen") as live:  # answers pings by itself
            silent = silent_socket(port, f"/ws/{seed.code}?role=screen")
            try:
                deadline = time.monotonic() + 10
                while admission.open < 2 and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert admission.open == 2
                started = time.monotonic()
                while admission.open > 1 and time.monotonic() < deadline:
                    time.sleep(0.02)
                took = time.monotonic() - started
                assert admission.open == 1, "the silent socket was never closed"
                # Interval + timeout = 1 s; a loaded machine gets some slack.
                assert took <= 1.0 + 1.5, took
                # The live one is still served.
                time.sleep(1.5)
                assert admission.open == 1
                live.send('{"id": "p-1", "type": "ping"}')
                while True:
                    msg = live.recv(timeout=5)
                    if '"p-1"' in str(msg):
                        break
            finally:
                silent.close()


def test_a_send_that_raises_closes_the_socket_at_once() -> None:
    closed: list[tuple[int, str]] = []

    async def main() -> None:
        async def send(wire: str) -> None:
            raise RuntimeError("transport gone")

        async def close(code: int, reason: str) -> None:
            closed.append((code, reason))

        c = Client(Identity(role="audience"), send, close)
        c.start()
        assert c.push("one") is False
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert closed == [(SEND_FAILED_CLOSE_CODE, "send failed")]
        assert c.dropped and c.push("two") is False

        # A send that first waits (a full socket buffer) and then raises: closed too.
        gate = asyncio.Event()
        closed.clear()

        async def slow_then_fail(wire: str) -> None:
            await gate.wait()
            raise ConnectionResetError

        d = Client(Identity(role="audience"), slow_then_fail, close)
        d.start()
        assert d.push("one") is True and d.push("two") is True
        gate.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert closed == [(SEND_FAILED_CLOSE_CODE, "send failed")] and d.dropped

    asyncio.run(main())
