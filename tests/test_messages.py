"""The protocol document covers everything the server can send and accept."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from live.web import messages

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def server_sent_types() -> set[str]:
    """Every ``"type": "..."`` literal in the server code (client types live in messages.py)."""
    found: set[str] = set()
    for path in (ROOT / "live").rglob("*.py"):
        if path.name == "messages.py":
            continue
        found |= set(re.findall(r'"type":\s*"([a-z_.]+)"', path.read_text(encoding="utf-8")))
    return found


def test_scan_finds_the_core_types() -> None:
    assert {"welcome", "snapshot", "ack", "error", "tally", "item.updated"} <= server_sent_types()


@pytest.mark.parametrize("mtype", sorted(server_sent_types()))
def test_every_server_message_type_is_documented(mtype: str) -> None:
    assert f"### `{mtype}`" in DOC, f"docs/protocol.md has no section for {mtype}"


@pytest.mark.parametrize("mtype", sorted(messages.KNOWN_TYPES))
def test_every_client_message_type_is_documented(mtype: str) -> None:
    assert re.search(rf"^\| `{re.escape(mtype)}` \|", DOC, re.M), f"docs/protocol.md does not list {mtype}"


def test_host_types_are_refused_to_others_by_name() -> None:
    assert messages.HOST_TYPES <= messages.KNOWN_TYPES
    assert "vote" not in messages.HOST_TYPES and "ping" not in messages.HOST_TYPES


# --- the limits the document states are the server's ----------------------------------------


def _doc_number(label: str) -> int:
    m = re.search(rf"{label}:\s+(\d+)", DOC)
    assert m, f"docs/protocol.md does not state the {label}"
    return int(m.group(1))


def test_replay_window_and_size_limits_match_the_document() -> None:
    from live.config import UVICORN_WS_OPTIONS, WS_MAX_FRAME, Settings
    from live.realtime.runtime import RING_SIZE
    from live.realtime.sync import LOG_REPLAY_LIMIT

    assert _doc_number("replay window") == RING_SIZE
    assert _doc_number("log replay limit") == LOG_REPLAY_LIMIT
    assert _doc_number("message size limit") == Settings("sqlite://", "k").max_message_bytes
    assert _doc_number("frame size limit") == WS_MAX_FRAME == UVICORN_WS_OPTIONS["ws_max_size"]


def test_the_size_limit_counts_utf8_bytes_and_keeps_the_id(client: Any, seed: Any) -> None:
    from conftest import open_ws, reply

    ws = open_ws(client, f"/ws/{seed.code}?role=screen")
    limit = _doc_number("message size limit")
    ws.send_text(orjson.dumps({"id": "big", "type": "ping", "pad": "x" * limit}).decode())
    assert reply(ws, "big")["code"] == "too_large"
    # Under the limit in characters, over it in bytes.
    ws.send_text(orjson.dumps({"id": "wide", "type": "ping", "pad": "述" * (limit // 2)}).decode())
    assert reply(ws, "wide")["code"] == "too_large"
    ws.send_text('{"id": "ok", "type": "ping"}')
    assert reply(ws, "ok")["type"] == "ack"


def test_a_frame_over_the_frame_limit_closes_the_socket_with_1009(settings: Any, seed: Any) -> None:
    import asyncio
    import threading
    import time

    import uvicorn
    import websockets

    from conftest import free_port_for_tests
    from live.config import UVICORN_WS_OPTIONS
    from live.web.app import create_app

    port = free_port_for_tests()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                            **UVICORN_WS_OPTIONS)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    frame = _doc_number("frame size limit")

    async def go() -> int | None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/{seed.code}?role=screen", max_size=None) as ws:
            await ws.recv()  # welcome
            await ws.send("x" * (frame + 1))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    try:
        assert asyncio.run(go()) == 1009
    finally:
        server.should_exit = True
        thread.join(15)
