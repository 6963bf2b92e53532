"""The fan-out hot path: sends go straight out when the socket takes them, keep their
order behind a send that waits, stay bounded, and presence and replays cost the same
whatever the size of the room."""

from __future__ import annotations

import asyncio

import pytest

from live.realtime.client import Client, Identity
from live.realtime.runtime import AUDIENCE_HOLD_S, HOLD_FROM_AUDIENCE, ClientSet, MeetingRuntime
from live.store.events import SeqEvent, encode


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_a_send_that_does_not_wait_needs_no_task() -> None:
    out: list[str] = []

    async def go() -> None:
        async def send(wire: str) -> None:
            out.append(wire)

        async def close(code: int, reason: str) -> None:
            raise AssertionError("not closed")

        c = Client(Identity(role="audience"), send, close, queue_size=4)
        c.start()
        assert all(c.push(f"m{n}") for n in range(100))  # far more than the queue holds
        assert out == [f"m{n}" for n in range(100)] and c.sent == 100
        assert c._task is None and c.queue.qsize() == 0 and not c.dropped
        await c.stop()

    _run(go())


def test_order_is_kept_behind_a_send_that_waits() -> None:
    out: list[str] = []

    async def go() -> None:
        open_ = asyncio.Event()

        async def send(wire: str) -> None:
            if not open_.is_set():
                await open_.wait()  # the socket's buffer is full for a while
            out.append(wire)

        async def close(code: int, reason: str) -> None:
            out.append(f"close {code}")

        c = Client(Identity(role="screen"), send, close, queue_size=8)
        c.start()
        assert all(c.push(f"m{n}") for n in range(6))
        assert out == [] and c.queue.qsize() == 5
        c.close_after_flush(4401, "revoked")
        assert c.push("after the close")  # queued behind the close: never sent
        open_.set()
        for _ in range(50):
            await asyncio.sleep(0)
        assert out == [f"m{n}" for n in range(6)] + ["close 4401"]
        assert c.dropped and c.sent == 6
        await c.stop()

    _run(go())


def test_a_send_that_fails_marks_the_client_gone() -> None:
    async def go() -> None:
        async def send(wire: str) -> None:
            raise ConnectionResetError

        async def close(code: int, reason: str) -> None:
            return None

        c = Client(Identity(role="audience"), send, close)
        c.start()
        assert c.push("x") is False and c.dropped and c.push("y") is False
        await c.stop()

    _run(go())


def test_a_waiting_send_is_cancelled_by_stop() -> None:
    cancelled: list[bool] = []

    async def go() -> None:
        async def send(wire: str) -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        async def close(code: int, reason: str) -> None:
            return None

        c = Client(Identity(role="audience"), send, close)
        c.start()
        assert c.push("x")
        await asyncio.sleep(0.01)
        await c.stop()

    _run(go())
    assert cancelled == [True]


def _client(role: str, member: int | None = None) -> Client:
    async def send(wire: str) -> None:
        return None

    async def close(code: int, reason: str) -> None:
        return None

    return Client(Identity(role=role, member_id=member), send, close)


def test_client_set_keeps_counts_by_role_and_member() -> None:
    s = ClientSet()
    a, b, p1, p1b, h = _client("audience"), _client("audience"), _client("panel", 1), _client("panel", 1), \
        _client("host")
    for c in (a, b, p1, p1b, h, a):
        s.add(c)
    assert len(s) == 5 and s.roles == {"audience": 2, "panel": 2, "host": 1} and s.members == {1: 2}
    assert s.audience == {a, b} and s.watchers == {p1, p1b, h}
    s.discard(p1)
    s.discard(p1)
    s.discard("not a client")
    assert s.members == {1: 1} and s.roles["panel"] == 1
    s -= {p1b, a}
    assert s.roles == {"audience": 1, "host": 1} and s.members == {} and s.audience == {b}
    s.pop()
    s.remove(next(iter(s)))
    assert len(s) == 0 and s.roles == {}
    with pytest.raises(TypeError):
        s &= {a}


def _runtime() -> MeetingRuntime:
    state = {"meeting": {"code": "ABCDEF", "scheme": {}}, "items": [], "panel": [{"id": 1}, {"id": 2}]}
    return MeetingRuntime(1, 10, state, {})


def test_presence_counts_match_the_clients() -> None:
    rt = _runtime()
    for c in [_client("audience") for _ in range(30)] + [_client("screen"), _client("panel", 2), _client("host")]:
        rt.clients.add(c)
    p = rt.presence()
    assert (p["audience"], p["screens"], p["hosts"], p["panel_online"], p["panel_total"]) == (30, 1, 1, [2], 2)


def test_replay_from_the_ring_is_every_event_after_since() -> None:
    rt = _runtime()
    for seq in range(11, 40):
        rt.ring.append(SeqEvent(1, seq, {"type": "x", "seq": seq}, encode({"seq": seq})))
    rt.seq = 39
    assert rt.replay_from_ring(39) == []
    assert rt.replay_from_ring(40) is None and rt.replay_from_ring(5) is None
    for since in range(10, 39):
        assert [e.seq for e in rt.replay_from_ring(since) or []] == list(range(since + 1, 40))


class _Phone:
    """A client whose send records what it got, synchronously."""

    def __init__(self, role: str = "audience") -> None:
        self.got: list[str] = []

        async def send(wire: str) -> None:
            self.got.append(wire)

        async def close(code: int, reason: str) -> None:
            return None

        self.client = Client(Identity(role=role), send, close)
        self.client.start()


def test_a_big_fan_out_goes_in_slices_in_order_and_only_to_those_there_when_it_happened() -> None:
    async def go() -> None:
        rt = _runtime()
        phones = [_Phone() for _ in range(2500)]
        for p in phones:
            rt.clients.add(p.client)
        assert rt.fan_out(encode({"type": "item.updated", "seq": 11})) == 2500
        late = _Phone()
        rt.clients.add(late.client)  # joined after seq 11 was applied: its snapshot has it
        rt.fan_out(encode({"type": "item.updated", "seq": 12}))
        assert rt.fan_backlog == 2  # served by a task, a slice at a time
        for _ in range(100):
            await asyncio.sleep(0)
            if not rt.fan_backlog:
                break
        assert rt.fan_backlog == 0
        want = [encode({"type": "item.updated", "seq": s}) for s in (11, 12)]
        assert all(p.got == want for p in phones)
        assert late.got == want[1:]

    _run(go())


def test_whole_values_reach_a_big_audience_paced_and_newest_last() -> None:
    async def go() -> None:
        rt = _runtime()
        phones = [_Phone() for _ in range(300)]
        screen = _Phone("screen")
        for p in [*phones, screen]:
            rt.clients.add(p.client)
        rt.send_cost_s = 0.01  # pretend sends are slow: 300 phones take 3 s, so pace them
        likes = [encode({"type": "likes", "total": n}) for n in range(1, 6)]
        rt.fan_out(likes[0])
        assert phones[0].got == likes[:1] and rt.volatile_interval_s > 1
        for wire in likes[1:]:
            rt.fan_out(wire)
        assert screen.got == likes  # the big screen gets each one
        assert phones[0].got == likes[:1]  # the phones wait for their turn
        late = _Phone()
        rt.clients.add(late.client)
        assert rt.flush_volatile(now=rt._volatile_next + 0.01) == 300  # not to the one who just came
        assert all(p.got == [likes[0], likes[-1]] for p in phones) and late.got == []
        rt.send_cost_s, rt._volatile_next = 1e-6, 0.0  # cheap again, and its time has come
        rt.fan_out(encode({"type": "likes", "total": 9}))
        assert late.got == [encode({"type": "likes", "total": 9})] and rt.flush_volatile() == 0

    _run(go())


def test_a_big_rooms_phones_get_presence_at_most_every_hold_and_the_newest() -> None:
    async def go() -> None:
        rt = _runtime()
        rt.send_cost_s = 1e-9  # pacing by cost out of the way: only the hold is tested
        phones = [_Phone() for _ in range(HOLD_FROM_AUDIENCE)]
        screen = _Phone("screen")
        for p in [*phones, screen]:
            rt.clients.add(p.client)
        hold = AUDIENCE_HOLD_S["presence"]
        counts = [encode({"type": "presence", "audience": n}) for n in (1000, 1001, 1002)]
        rt.fan_out_volatile("presence", counts[0])
        assert phones[0].got == counts[:1]
        t0 = rt._audience_sent["presence"]
        rt.fan_out_volatile("presence", counts[1])
        rt.fan_out_volatile("presence", counts[2])
        assert screen.got == counts  # the hall's screen gets each one at once
        assert rt.flush_volatile(now=t0 + hold - 0.1) == 0 and phones[0].got == counts[:1]  # held
        assert rt.flush_volatile(now=t0 + hold) == len(phones)
        assert all(p.got == [counts[0], counts[2]] for p in phones)  # the newest, once the hold is over
        # Likes are not held: the next one goes out as soon as the pacing allows.
        rt._volatile_next = 0.0
        rt.fan_out_volatile("likes", encode({"type": "likes", "total": 3}))
        assert phones[0].got[-1] == encode({"type": "likes", "total": 3})

    _run(go())


def test_a_small_rooms_phones_get_each_presence() -> None:
    async def go() -> None:
        rt = _runtime()
        rt.send_cost_s = 1e-9
        phones = [_Phone() for _ in range(20)]
        for p in phones:
            rt.clients.add(p.client)
        counts = [encode({"type": "presence", "audience": n}) for n in (20, 21)]
        for wire in counts:
            rt._volatile_next = 0.0
            rt.fan_out_volatile("presence", wire)
        assert all(p.got == counts for p in phones)

    _run(go())


def test_voting_open_follows_the_items_phases() -> None:
    rt = _runtime()
    assert rt.voting_open is False
    rt.state["items"] = [{"id": 1, "phase": "done"}, {"id": 2, "phase": "comment"}]
    assert rt.voting_open is False
    rt.state["items"][1]["phase"] = "voting"
    assert rt.voting_open is True
