"""Direct writes: a frame is encoded once and written as is to every ready socket; a paused
socket, or one with messages waiting, keeps the send-and-queue path and its order."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.frames import Frame, Opcode

from live.realtime.client import Client, Identity
from live.realtime.frames import text_frame, text_frames
from live.realtime.runtime import MeetingRuntime


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 1000, 65535, 65536, 70000])
def test_a_frame_is_what_websockets_would_write(size: int) -> None:
    wire = "述" * (size // 3) + "x" * (size % 3)
    assert text_frame(wire) == Frame(Opcode.TEXT, wire.encode()).serialize(mask=False)


def test_frames_back_to_back() -> None:
    assert text_frames(("a", "bc")) == text_frame("a") + text_frame("bc")


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.ok = True

    @property
    def direct_ok(self) -> bool:
        return self.ok

    def write_frames(self, data: bytes) -> None:
        self.writes.append(data)

    def write_if_ready(self, data: bytes) -> bool:
        if self.ok:
            self.writes.append(data)
        return self.ok


def _client(direct: _Transport, sent: list[str], gate: asyncio.Event | None = None) -> Client:
    async def send(wire: str) -> None:
        if gate is not None:
            await gate.wait()
        sent.append(wire)

    async def close(code: int, reason: str) -> None:
        return None

    return Client(Identity(role="audience"), send, close, queue_size=8, direct=direct)


def test_a_ready_socket_gets_frames_written_straight_to_it() -> None:
    async def go() -> None:
        t, sent = _Transport(), []
        c = _client(t, sent)
        c.start()
        assert c.push("a") and c.push_frames(("b", "c"), text_frames(("b", "c")))
        assert t.writes == [text_frame("a"), text_frame("b") + text_frame("c")]  # one write for b and c
        assert sent == [] and c.sent == 3 and c._task is None
    asyncio.run(go())


def test_a_paused_socket_queues_and_keeps_order_when_it_resumes() -> None:
    async def go() -> None:
        t, sent, gate = _Transport(), [], asyncio.Event()
        c = _client(t, sent, gate)
        c.start()
        t.ok = False  # the transport's buffer is full: the ASGI send waits
        c.push("a")
        t.ok = True  # ready again, but "a" is still in flight: the rest must queue behind it
        c.push_frames(("b", "c"), text_frames(("b", "c")))
        c.push("d")
        assert t.writes == [] and list(c.queue) == ["b", "c", "d"]
        gate.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert sent == ["a", "b", "c", "d"] and c._task is None
        c.push("e")  # nothing waits any more: straight to the transport again
        assert t.writes == [text_frame("e")]
    asyncio.run(go())


def test_a_slow_socket_is_still_dropped_past_its_queue() -> None:
    async def go() -> None:
        t, sent, gate = _Transport(), [], asyncio.Event()
        c = _client(t, sent, gate)
        c.start()
        t.ok = False
        for n in range(20):
            c.push(f"m{n}")
        assert c.dropped
        await c.stop()
    asyncio.run(go())


def test_a_commit_of_several_events_is_one_write_per_socket() -> None:
    async def go() -> None:
        state = {"meeting": {"code": "ABCDEF", "scheme": {}}, "items": [], "panel": []}
        rt = MeetingRuntime(1, 0, state, {})
        phones = [(_Transport(), []) for _ in range(5)]
        for t, sent in phones:
            c = _client(t, sent)
            c.start()
            rt.clients.add(c)
        wires = [json.dumps({"type": "meeting.updated", "seq": n}) for n in (1, 2, 3)]
        assert rt.fan_out_many(wires) == 15
        for t, sent in phones:
            assert t.writes == [text_frames(tuple(wires))] and sent == []
    asyncio.run(go())


def test_the_protocols_light_inbox_and_flag_behave_like_queue_and_event() -> None:
    from live.web.ws_protocol import _Flag, _Inbox

    async def go() -> None:
        inbox = _Inbox()
        getter = asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        inbox.put_nowait("a")
        inbox.put_nowait("b")
        assert await getter == "a" and not inbox.empty()
        assert await inbox.get() == "b" and inbox.empty()
        flag = _Flag()
        assert flag.is_set()
        await flag.wait()  # set: returns at once
        flag.clear()
        waiters = [asyncio.ensure_future(flag.wait()) for _ in range(2)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)
        flag.set()
        await asyncio.gather(*waiters)
    asyncio.run(go())
