"""The reference server for the benchmarks: a minimal ``websockets`` server with
``broadcast()`` and compression off, speaking just enough of docs/protocol.md for the
same load client to drive it (welcome, snapshot or replay by ``since``, sequenced
events broadcast to everyone, acks, coalesced ``tally`` and ``likes``). No database,
no validation, no per-client queue: the floor under what the live server does.

It does the same work per phase as the live server, so that each row compares one job:

- tallies are counted as ballots come in (O(1) a ballot) and go to the audience in the
  live server's coarse batches (``live.domain.visibility.TallyBatching``, the same rule);
- whole values (tally, likes, presence) go to screens at once and to the audience paced
  by the live server's rule (``VOLATILE_SHARE`` of the loop, from the measured cost of a
  send, and a big room's presence held as live holds it, ``take_due``), newest value per key;
- a join gets the last tally batch sent (never recomputed), the like count and presence.

Message sizes follow the live server's (given with ``--sizes``), so that both move
the same bytes. A helper, not a benchmark: without ``--serve`` it exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from live.domain.visibility import TallyBatcher, TallyBatching
from live.realtime.runtime import VOLATILE_SHARE, take_due

DEFAULT_SIZES = {"welcome": 260, "snapshot": 12000, "event": 900, "burst": 1500, "tally": 700, "likes": 30,
                 "presence": 90}


def padded(msg: dict[str, Any], size: int) -> str:
    """``msg`` with a pad field bringing its JSON to about ``size`` bytes."""
    base = len(orjson.dumps({**msg, "pad": ""}))
    return orjson.dumps({**msg, "pad": "x" * max(0, size - base)}).decode()


class Bare:
    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = {**DEFAULT_SIZES, **sizes}
        self.clients: set[Any] = set()
        self.seq = 0
        self.ring: deque[tuple[int, str]] = deque(maxlen=2048)
        self.snapshot = padded({"type": "snapshot", "seq": 0, "state": {}}, self.sizes["snapshot"])
        self.ballots: dict[int, dict[str, str]] = {}
        self.counts: dict[int, dict[str, int]] = {}  # per item: option -> ballots, kept as they come
        self.batching = TallyBatching()
        self.batchers: dict[int, TallyBatcher] = {}
        self.public_tally: dict[int, str] = {}  # the last batch sent to everyone: what a join gets
        self.likes = 0
        self.likes_dirty = False
        self.comments = 0
        self.watchers: set[Any] = set()  # screens (and the host): whole values at once
        self.audience: set[Any] = set()
        self.volatile: dict[str, str] = {}  # the newest whole value per key, not yet sent to the audience
        self.volatile_next = 0.0
        self.audience_sent: dict[str, float] = {}  # key -> when the audience last got it (held keys)
        self.send_cost_s = 20e-6
        self.loop_lag_s = 0.0

    def event(self, kind: str) -> str:
        self.seq += 1
        name = "meeting.updated" if kind == "burst" else "item.updated"
        wire = padded({"type": name, "seq": self.seq, "cause": kind}, self.sizes[kind])
        self.ring.append((self.seq, wire))
        self.snapshot = padded({"type": "snapshot", "seq": self.seq, "state": {}}, self.sizes["snapshot"])
        return wire

    def tally(self, item: int) -> str:
        counts = self.counts.get(item, {})
        return padded({"type": "tally", "item_id": item,
                       "tally": {"total": len(self.ballots.get(item, {})), "options": counts}},
                      self.sizes["tally"])

    def vote(self, item: int, ballot_id: str, choice: str) -> None:
        ballots = self.ballots.setdefault(item, {})
        counts = self.counts.setdefault(item, {})
        old = ballots.get(ballot_id)
        if old is not None:
            counts[old] -= 1
        ballots[ballot_id] = choice
        counts[choice] = counts.get(choice, 0) + 1
        batcher = self.batchers.get(item)
        if batcher is None:
            batcher = self.batchers[item] = self.batching.batcher()
        batcher.note(1, time.monotonic())

    def whole_value(self, key: str, wire: str) -> None:
        """As the live server's ``fan_out_volatile``: screens now, the audience paced."""
        from websockets.asyncio.server import broadcast

        broadcast(self.watchers, wire)
        self.volatile[key] = wire
        self.flush()

    def flush(self) -> None:
        from websockets.asyncio.server import broadcast

        if not self.volatile:
            return
        now = time.monotonic()
        if now < self.volatile_next:
            return
        waiting = take_due(self.volatile, self.audience_sent, now, len(self.audience))  # live's own rule
        if not waiting:
            return
        n = 0
        start = time.perf_counter()
        for wire in waiting:
            broadcast(self.audience, wire)
            n += len(self.audience)
        if n >= 100:
            self.send_cost_s += ((time.perf_counter() - start) / n - self.send_cost_s) * 0.2
        self.volatile_next = now + n * self.send_cost_s / VOLATILE_SHARE + 4 * self.loop_lag_s

    async def handler(self, ws: Any) -> None:
        from websockets.asyncio.server import broadcast

        query = parse_qs(urlsplit(ws.request.path).query)
        since_raw = query.get("since", [""])[0]
        since = int(since_raw) if since_raw.isdigit() else None
        await ws.send(padded({"type": "welcome", "role": query.get("role", ["audience"])[0]}, self.sizes["welcome"]))
        if since is not None and self.ring and (since == self.seq or self.ring[0][0] <= since + 1 <= self.seq + 1):
            events = [w for s, w in self.ring if s > since]
            await ws.send(orjson.dumps({"type": "replay", "from_seq": since, "to_seq": self.seq,
                                        "count": len(events)}).decode())
            for w in events:
                await ws.send(w)
        else:
            if since is not None:
                await ws.send(orjson.dumps({"type": "resync", "reason": "gap_too_old", "seq": self.seq}).decode())
            await ws.send(self.snapshot)
        for item in sorted(self.public_tally):
            await ws.send(self.public_tally[item])
        await ws.send(padded({"type": "presence", "audience": len(self.clients)}, self.sizes["presence"]))
        await ws.send(orjson.dumps({"type": "likes", "total": self.likes}).decode())
        self.clients.add(ws)
        role = query.get("role", ["audience"])[0]
        (self.audience if role == "audience" else self.watchers).add(ws)
        try:
            async for raw in ws:
                msg = orjson.loads(raw)
                t, mid = msg.get("type"), msg.get("id")
                if t == "vote":
                    self.vote(int(msg["item_id"]), str(msg["ballot_id"]), str(msg["choice"].get("option")))
                    await ws.send(orjson.dumps({"type": "ack", "id": mid, "ballot_id": msg["ballot_id"],
                                                "item_id": msg["item_id"], "status": "stored",
                                                "choice": msg["choice"]}).decode())
                elif t == "like":
                    self.likes += int(msg.get("count", 1))
                    self.likes_dirty = True
                    await ws.send(orjson.dumps({"type": "ack", "id": mid, "count": 1}).decode())
                elif t == "comment.send":
                    self.comments += 1
                    await ws.send(orjson.dumps({"type": "ack", "id": mid, "comment_id": self.comments,
                                                "status": "held"}).decode())
                elif t == "ping":
                    await ws.send(orjson.dumps({"type": "ack", "id": mid, "seq": self.seq}).decode())
                else:  # any host command: one sequenced event for everyone
                    kind = "burst" if t == "meeting.durations" else "event"
                    broadcast(self.clients, self.event(kind))
                    await ws.send(orjson.dumps({"type": "ack", "id": mid, "seq": self.seq}).decode())
        finally:
            self.clients.discard(ws)
            self.audience.discard(ws)
            self.watchers.discard(ws)

    async def ticker(self) -> None:
        beat = 0
        last_presence = -1
        while True:
            woke = time.monotonic()
            await asyncio.sleep(0.25)
            beat += 1
            now = time.monotonic()
            self.loop_lag_s += (max(0.0, now - woke - 0.25) - self.loop_lag_s) * 0.3
            for item, batcher in sorted(self.batchers.items()):
                if batcher.due(now):
                    batcher.sent(now)
                    wire = self.public_tally[item] = self.tally(item)
                    self.whole_value(f"tally:{item}", wire)
            if self.likes_dirty:
                self.likes_dirty = False
                self.whole_value("likes", orjson.dumps({"type": "likes", "total": self.likes}).decode())
            if beat % 4 == 0 and len(self.clients) != last_presence:
                last_presence = len(self.clients)
                self.whole_value("presence", padded({"type": "presence", "audience": last_presence},
                                                    self.sizes["presence"]))
            self.flush()


async def serve(port: int, sizes: dict[str, int], max_seconds: float) -> None:
    from websockets.asyncio.server import serve as ws_serve

    bare = Bare(sizes)
    async with ws_serve(bare.handler, "127.0.0.1", port, compression=None, max_size=65536,
                        backlog=8192):  # the listen backlog live serve uses
        ticker = asyncio.create_task(bare.ticker())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max_seconds):
                await asyncio.Future()
        ticker.cancel()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true", help="ignored: this is a helper, not a benchmark")
    p.add_argument("--serve", action="store_true")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--sizes", default="{}")
    p.add_argument("--max-seconds", type=float, default=3600)
    args = p.parse_args()
    if not args.serve:
        return 0
    from _harness import prepare_socket_process

    prepare_socket_process()
    asyncio.run(serve(args.port, json.loads(args.sizes), args.max_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
