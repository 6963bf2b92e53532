"""The fan-out's hot loop (``client.fan_write``): a ready socket gets the frames written
straight to its transport; any other takes ``push``'s way (queued, in order, dropped past its
queue); a write that raises closes the socket as a failed send. Jobs waiting for the same
clients go out folded into one write per socket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from live.realtime import runtime as runtime_mod
from live.realtime.client import SEND_FAILED_CLOSE_CODE, SLOW_CLOSE_CODE, Client, Identity, fan_write
from live.realtime.frames import text_frame, text_frames
from live.realtime.runtime import MeetingRuntime
from live.web.ws_protocol import LiveWebSocketProtocol, _Flag


class _Transport:
    """What the protocol writes to: records writes, may be closing, may raise."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False
        self.broken = False

    def is_closing(self) -> bool:
        return self.closing

    def write(self, data: bytes) -> None:
        if self.broken:
            raise RuntimeError("handle is closed")
        self.writes.append(data)


def _protocol(transport: _Transport) -> LiveWebSocketProtocol:
    """The real socket protocol's state after a handshake, over ``transport``."""
    p = object.__new__(LiveWebSocketProtocol)
    p.handshake_complete = True
    p.close_sent = False
    p.disconnected = False
    p._writable = p.writable = _Flag()  # type: ignore[assignment]
    p.transport = transport  # type: ignore[assignment]
    return p


class _Phone:
    def __init__(self, queue_size: int = 8) -> None:
        self.transport = _Transport()
        self.protocol = _protocol(self.transport)
        self.sent: list[str] = []  # through the ASGI send (the path of a socket not ready)
        self.closed: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()

        async def send(wire: str) -> None:
            await self.gate.wait()
            self.sent.append(wire)

        async def close(code: int, reason: str) -> None:
            self.closed.append(code)

        self.client = Client(Identity(role="audience"), send, close, queue_size=queue_size, direct=self.protocol)
        self.client.start()


def _settle() -> Any:
    async def go() -> None:
        for _ in range(10):
            await asyncio.sleep(0)
    return go()


@pytest.mark.parametrize("state", ["ready", "handshake", "close_sent", "disconnected", "paused", "closing"])
def test_write_if_ready_is_direct_ok_and_write_frames_in_one_call(state: str) -> None:
    t = _Transport()
    p = _protocol(t)
    if state == "handshake":
        p.handshake_complete = False
    elif state == "close_sent":
        p.close_sent = True
    elif state == "disconnected":
        p.disconnected = True
    elif state == "paused":
        p.writable.clear()
    elif state == "closing":
        t.closing = True
    assert p.direct_ok is (state == "ready")
    assert p.write_if_ready(b"frame") is (state == "ready")
    assert t.writes == ([b"frame"] if state == "ready" else [])


def test_ready_sockets_get_the_frame_and_a_paused_one_queues_in_order() -> None:
    async def go() -> None:
        ready, paused = _Phone(), _Phone()
        paused.protocol.writable.clear()  # its transport's buffer is full
        paused.gate.clear()  # and the ASGI send waits for it
        fan_write((ready.client, paused.client), ("a",), text_frame("a"))
        fan_write((ready.client, paused.client), ("b", "c"), text_frames(("b", "c")))
        assert ready.transport.writes == [text_frame("a"), text_frames(("b", "c"))]
        assert ready.client.sent == 3 and ready.sent == [] and ready.client._task is None
        assert paused.transport.writes == [] and list(paused.client.queue) == ["b", "c"]
        paused.protocol.writable.set()
        paused.gate.set()
        await _settle()
        assert paused.sent == ["a", "b", "c"] and paused.client.sent == 3 and paused.client._task is None
        fan_write((paused.client,), ("d",), text_frame("d"))  # nothing waits any more: straight out
        assert paused.transport.writes == [text_frame("d")]
    asyncio.run(go())


def test_a_slow_socket_still_goes_to_its_queue_and_is_dropped_past_it() -> None:
    async def go() -> None:
        slow = _Phone(queue_size=4)
        slow.protocol.writable.clear()
        slow.gate.clear()
        for n in range(10):
            fan_write((slow.client,), (f"m{n}",), text_frame(f"m{n}"))
        await _settle()
        assert slow.client.dropped and slow.closed == [SLOW_CLOSE_CODE] and slow.transport.writes == []
        await slow.client.stop()
    asyncio.run(go())


def test_a_write_that_raises_closes_that_socket_and_the_others_get_theirs() -> None:
    async def go() -> None:
        broken, fine = _Phone(), _Phone()
        broken.transport.broken = True
        fan_write((broken.client, fine.client), ("a",), text_frame("a"))
        await _settle()
        assert broken.client.dropped and broken.closed == [SEND_FAILED_CLOSE_CODE] and broken.client.sent == 0
        assert fine.transport.writes == [text_frame("a")] and fine.closed == []
        fan_write((broken.client,), ("b",), text_frame("b"))  # gone: nothing more for it
        assert broken.transport.writes == [] and broken.sent == []
    asyncio.run(go())


def test_a_dropped_or_unstarted_client_gets_no_direct_write() -> None:
    async def go() -> None:
        dropped, early = _Phone(), _Phone()
        dropped.client.dropped = True
        early.client._started = False  # registered, its welcome not sent yet: waits in order
        fan_write((dropped.client, early.client), ("a",), text_frame("a"))
        assert dropped.transport.writes == [] and early.transport.writes == []
        assert list(early.client.queue) == ["a"]
    asyncio.run(go())


def _rt() -> MeetingRuntime:
    state = {"meeting": {"code": "ABCDEF", "scheme": {}}, "items": [], "panel": []}
    return MeetingRuntime(1, 0, state, {})


def _wire(seq: int) -> str:
    return json.dumps({"type": "meeting.updated", "seq": seq})


def _room(phones: int, seqs: tuple[int, ...]) -> tuple[MeetingRuntime, list[_Phone]]:
    """A runtime with ``phones`` ready phones and the events ``seqs`` queued for all of them."""
    rt = _rt()
    room = [_Phone() for _ in range(phones)]
    for p in room:
        rt.clients.add(p.client)
    for seq in seqs:
        rt.fan_out(_wire(seq))
    return rt, room


def test_jobs_waiting_for_the_same_clients_go_out_in_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_mod, "FAN_SLICE", 4)

    async def go() -> None:
        rt, phones = _room(10, (1, 2, 3))
        late = _Phone()
        rt.clients.add(late.client)  # other clients from here: not folded with the jobs before
        for seq in (4, 5):
            rt.fan_out(_wire(seq))
        for _ in range(50):
            await asyncio.sleep(0)
            if not rt.fan_backlog:
                break
        assert rt.fan_backlog == 0
        for p in phones:
            assert p.transport.writes == [text_frames((_wire(1), _wire(2), _wire(3))),
                                          text_frames((_wire(4), _wire(5)))]
            assert p.client.sent == 5
        assert late.transport.writes == [text_frames((_wire(4), _wire(5)))]
    asyncio.run(go())


def test_folding_stops_at_its_byte_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_mod, "FAN_SLICE", 4)
    monkeypatch.setattr(runtime_mod, "FOLD_BYTES", 2 * len(text_frame(_wire(1))))

    async def go() -> None:
        rt, phones = _room(6, (1, 2, 3))
        for _ in range(50):
            await asyncio.sleep(0)
        assert rt.fan_backlog == 0
        for p in phones:
            assert p.transport.writes == [text_frames((_wire(1), _wire(2))), text_frame(_wire(3))]
    asyncio.run(go())
