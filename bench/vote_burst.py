"""Vote burst: N phones vote within a few seconds; every ballot is acknowledged
only after its transaction committed.

Prints ballots per second, ack latency p50/p99, the time until the big screen's
tally shows the full count, and stored ballots against acks (they must be equal).

    python bench/vote_burst.py            # 2,000 phones
    python bench/vote_burst.py -n 5000
    python bench/vote_burst.py --smoke    # the small run CI does
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import ClientConnection, connect

from _harness import Server, host_cookie, percentile, raise_nofile, table
from _harness import start_live as start_server
from live.web.auth import Signer


async def recv_until(ws: ClientConnection, pred: Any, timeout: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            if pred(msg):
                return msg


async def host_to_voting(server: Server) -> int:
    cookie = host_cookie(server)
    async with connect(f"{server.ws}/ws/{server.code}?role=host", additional_headers={"Cookie": cookie},
                       compression=None) as ws:
        snap = await recv_until(ws, lambda m: m["type"] == "snapshot")
        item = snap["state"]["items"][0]["id"]
        steps = [("meeting.start", {}), ("item.open", {"item_id": item})] + \
            [("item.advance", {"item_id": item})] * 3
        for n, (t, f) in enumerate(steps):
            await ws.send(json.dumps({"id": f"h{n}", "type": t, **f}))
            reply = await recv_until(ws, lambda m, n=n: m.get("id") == f"h{n}")
            if reply["type"] != "ack":
                raise SystemExit(f"host command failed: {reply}")
        return int(item)


async def phone(server: Server, signer: Signer, n: int, item: int, start_at: list[float], spread: float,
                lat: list[float], errors: list[str], ready: asyncio.Event, connected: list[int]) -> None:
    _, cookie = signer.device_cookie(1, f"bench-device-{n:07d}")  # the bench serves one meeting
    async with connect(f"{server.ws}/ws/{server.code}?role=audience", compression=None,
                       additional_headers={"Cookie": f"live_dev={cookie}"}, open_timeout=60,
                       max_queue=None) as ws:
        await recv_until(ws, lambda m: m["type"] in ("snapshot", "replay"), timeout=60)
        connected[0] += 1
        await ready.wait()
        await asyncio.sleep(max(0.0, start_at[0] - time.monotonic()) + random.random() * spread)
        sent = time.monotonic()
        await ws.send(json.dumps({"id": "v", "type": "vote", "item_id": item, "ballot_id": f"bench-{n:08d}",
                                  "choice": {"option": random.choice(["满意", "基本满意", "不满意"])}}))
        reply = await recv_until(ws, lambda m: m.get("id") == "v", timeout=60)
        if reply["type"] == "ack":
            lat.append(time.monotonic() - sent)
        else:
            errors.append(reply.get("code", "?"))


async def run(n: int, spread: float) -> list[tuple[str, Any]]:
    server = start_server()
    try:
        item = await host_to_voting(server)
        signer = Signer(server.secret)
        lat: list[float] = []
        errors: list[str] = []
        ready = asyncio.Event()
        connected = [0]
        rss_before = server.rss_kb()
        t_conn = time.monotonic()
        sem = asyncio.Semaphore(200)  # connect in waves, as phones scanning a QR would

        async def guarded(i: int, start_at: list[float]) -> None:
            async with sem:
                pass
            await phone(server, signer, i, item, start_at, spread, lat, errors, ready, connected)

        screen = await connect(f"{server.ws}/ws/{server.code}?role=screen", compression=None, max_queue=None)
        start_at = [0.0]  # set once every phone is in
        tasks = [asyncio.create_task(guarded(i, start_at)) for i in range(n)]
        while connected[0] < n:
            await asyncio.sleep(0.05)
            failed = [t.exception() for t in tasks if t.done() and t.exception()]
            if failed:
                raise SystemExit(f"a phone failed: {failed[0]!r}")
        connect_s = time.monotonic() - t_conn
        rss_connected = server.rss_kb()
        t0 = time.monotonic()
        start_at[0] = t0
        ready.set()
        tally_full = None
        async with asyncio.timeout(120):
            while tally_full is None:
                msg = json.loads(await screen.recv())
                if msg["type"] == "tally" and msg["tally"]["total"] == n:
                    tally_full = time.monotonic() - t0
        await asyncio.gather(*tasks)
        burst_s = max(lat) if lat else float("nan")
        await screen.close()
        db = sqlite3.connect(server.data_dir / "live.db")
        stored = db.execute("SELECT count(*) FROM ballot WHERE item_id = ?", (item,)).fetchone()[0]
        db.close()
        acks = len(lat)
        return [
            ("machine", f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"),
            ("phones", n),
            ("connect all (s)", f"{connect_s:.2f}"),
            ("server RSS connected (MB)",
             f"{rss_connected / 1024:.1f} (+{(rss_connected - rss_before) / max(n, 1):.1f} KB/conn)"),
            ("votes sent over (s)", f"{spread:.1f}"),
            ("ballots/s (acks / wall time to last ack)", f"{acks / (time.monotonic() - t0):.0f}"),
            ("ack latency p50 (ms)", f"{percentile(lat, 50) * 1000:.1f}"),
            ("ack latency p99 (ms)", f"{percentile(lat, 99) * 1000:.1f}"),
            ("ack latency max (ms)", f"{burst_s * 1000:.1f}"),
            ("big screen shows full count after (s)", f"{tally_full:.2f}"),
            ("acks", acks),
            ("errors", len(errors)),
            ("stored ballots", stored),
            ("stored == acks", stored == acks),
        ]
    finally:
        server.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=2000, help="phones (default 2000)")
    p.add_argument("--spread", type=float, default=2.0, help="seconds over which the votes are sent")
    p.add_argument("--smoke", action="store_true", help="a small, quick run (200 phones)")
    args = p.parse_args()
    n = 200 if args.smoke else args.n
    raise_nofile()
    rows = asyncio.run(run(n, args.spread))
    print("vote burst")
    print(table(rows))
    ok = dict(rows)["stored == acks"] and dict(rows)["errors"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
