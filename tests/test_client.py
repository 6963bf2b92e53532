"""A phone that stops reading never slows the room: bounded queue, dropped, resync on return."""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from conftest import PASSWORD, Seed, seed_meeting, uvicorn_in_thread
from live.config import Settings
from live.realtime.client import Client, Identity, TokenBucket


def _handshake(host: str, path: str) -> socket.socket:
    """A raw WebSocket client that will never read again after the handshake."""
    h, p = host.split(":")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((h, int(p)))
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(1)
    assert b" 101 " in buf.split(b"\r\n", 1)[0]
    return s


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.mark.slow
def test_stalled_client_is_dropped_and_others_keep_pace(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", secret_key="k", data_dir=tmp_path,
                        sqlite_synchronous="NORMAL", client_queue=16, socket_rate=2000, socket_burst=2000)
    seed: Seed = seed_meeting(settings)
    with uvicorn_in_thread(settings) as (host, app):
        import httpx

        cookie = httpx.post(f"http://{host}/api/meetings/{seed.code}/login",
                            json={"password": PASSWORD}).cookies["live_host"]
        stalled = _handshake(host, f"/ws/{seed.code}?role=screen")
        with connect(f"ws://{host}/ws/{seed.code}?role=host", additional_headers={"Cookie": f"live_host={cookie}"},
                     max_size=None) as ws, connect(f"ws://{host}/ws/{seed.code}?role=screen") as watcher:
            rss_before = _rss_kb()
            ws.send(json.dumps({"id": "s", "type": "meeting.start"}))
            last_seq = 0
            started = time.monotonic()
            lag: list[float] = []
            hub = app.state.services.hub
            # Keep the room busy in rounds; the watcher must see each round promptly meanwhile.
            for rnd in range(60):
                t0 = time.monotonic()
                for k in range(150):
                    n = rnd * 150 + k
                    ws.send(json.dumps({"id": f"d{n}", "type": "meeting.durations", "durations": {"report": 60 + n}}))
                want = 60 + rnd * 150 + 149
                while True:
                    msg = json.loads(watcher.recv(timeout=15))
                    if msg.get("type") == "meeting.updated" and msg["meeting"]["durations"]["report"] == want:
                        last_seq = msg["seq"]
                        break
                lag.append(time.monotonic() - t0)
                if hub.drops >= 1:
                    break
            print(f"stalled client dropped after {last_seq} events; round lag max {max(lag):.3f}s "
                  f"median {sorted(lag)[len(lag) // 2]:.3f}s; RSS growth {(_rss_kb() - rss_before) / 1024:.1f} MB")
            assert hub.drops >= 1, "the stalled client was never dropped"
            # 150 commands a round through the writer; a stalled peer must not slow a round down.
            assert max(lag) < 5.0
            assert time.monotonic() - started < 60
            # Memory stays bounded: the stalled socket's queue was capped, then released.
            assert _rss_kb() - rss_before < 100_000
        stalled.close()
        # On return it asks from its old seq: the server replays or says resync, never loses it.
        with connect(f"ws://{host}/ws/{seed.code}?role=screen&since=0") as back:
            kinds = [json.loads(back.recv(timeout=10))["type"] for _ in range(3)]
            assert kinds[0] == "welcome" and kinds[1] in ("replay", "resync")
            if kinds[1] == "replay":
                seqs = []
                while len(seqs) < last_seq:
                    m = json.loads(back.recv(timeout=10))
                    if "seq" in m and m["type"] not in ("ack",):
                        seqs.append(m["seq"])
                assert seqs == list(range(1, last_seq + 1))


def test_token_bucket_refills() -> None:
    b = TokenBucket(rate=2, burst=3, stamp=0.0)
    assert [b.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert b.take(0.5) is True and b.take(0.5) is False


def test_full_queue_drops_instead_of_growing() -> None:
    closed: list[int] = []

    async def go() -> None:
        async def send(_: str) -> None:
            await asyncio.sleep(3600)  # never finishes: a phone that stopped reading

        async def close(code: int, reason: str) -> None:
            closed.append(code)

        c = Client(Identity(role="audience"), send, close, queue_size=4)
        c.start()
        pushed = [c.push(f"m{n}") for n in range(10)]
        await asyncio.sleep(0.01)
        assert pushed[:4] == [True] * 4 and not any(pushed[6:])
        assert c.dropped and c.queue.qsize() <= 4
        await c.stop()

    asyncio.run(go())
    assert closed == [4008]
