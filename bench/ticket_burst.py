"""Ticket burst: the vote burst of bench/vote_burst.py in 票码 mode beside 开放投票.

In ticket mode every phone holds a redeemed ticket: its socket's connect reads the
credential from the database (open mode is a signature check only), and its ballots
carry the ticket as voter key. Tickets are made through the host's HTTP route; a sample
of phones redeems over HTTP (the redeem latency is reported), the rest are bound
directly in the database before the run, since the per-address HTTP limit (1,200 a
minute) would otherwise make one benchmarking machine look like a flood.

Each mode runs --runs times (default 3) on a fresh server; the table shows the median
and the min–max of each figure.

    python bench/ticket_burst.py             # 10,000 phones per run
    python bench/ticket_burst.py -n 2000
    python bench/ticket_burst.py --smoke     # the small run CI does (200 phones, one run per mode)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vote_burst import host_to_voting, recv_until
from websockets.asyncio.client import connect

from _harness import Server, host_cookie, host_login, percentile, raise_nofile, table
from _harness import start_live as start_server
from live.web.auth import Signer

MEETING_ID = 1  # a bench server holds the demo meeting only
REDEEM_SAMPLE = 300


def _post(server: Server, path: str, body: dict[str, Any], cookie: str,
          csrf: str = "") -> tuple[int, bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json", "Cookie": cookie}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    req = urllib.request.Request(f"{server.base}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


async def set_mode(server: Server, mode: str) -> None:
    async with connect(f"{server.ws}/ws/{server.code}?role=host", compression=None,
                       additional_headers={"Cookie": host_cookie(server)}) as ws:
        await recv_until(ws, lambda m: m["type"] == "snapshot")
        await ws.send(json.dumps({"id": "m", "type": "meeting.public_mode", "mode": mode}))
        reply = await recv_until(ws, lambda m: m.get("id") == "m")
        if reply["type"] != "ack":
            raise SystemExit(f"mode change failed: {reply}")


def make_tickets(server: Server, n: int) -> list[tuple[int, str]]:
    """(number, code) of n fresh tickets, made through the host route in batches of 5,000."""
    cookie, csrf = host_login(server)
    out: list[tuple[int, str]] = []
    while len(out) < n:
        count = min(5000, n - len(out))
        status, body, _ = _post(server, f"/api/meetings/{server.code}/tickets", {"count": count, "group": "群众代表"},
                                cookie, csrf)
        if status != 200:
            raise SystemExit(f"ticket creation failed: {status} {body[:200]!r}")
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            text = zf.read(next(x for x in zf.namelist() if x.endswith(".csv"))).decode("utf-8-sig")
        out += [(int(r[0]), r[1]) for r in list(csv.reader(io.StringIO(text)))[1:]]
    return out


def bind_tickets(server: Server, signer: Signer, tickets: list[tuple[int, str]]) -> tuple[list[str], list[float]]:
    """Each phone's Cookie header; the first REDEEM_SAMPLE redeem over HTTP (latencies returned)."""
    db = sqlite3.connect(server.data_dir / "live.db")
    ids = dict(db.execute("SELECT number, id FROM credential WHERE kind = 'ticket'").fetchall())
    headers: list[str] = []
    redeem_lat: list[float] = []
    direct: list[tuple[str, int]] = []
    for n, (number, code) in enumerate(tickets):
        device = f"bench-device-{n:07d}"
        dev_cookie = signer.device_cookie(MEETING_ID, device, voter=False)[1]
        base = f"live_dev_{MEETING_ID}={dev_cookie}"
        cid = int(ids[number])
        if n < REDEEM_SAMPLE:
            t = time.monotonic()
            status, body, hdrs = _post(server, f"/api/meetings/{server.code}/redeem", {"ticket": code}, base)
            redeem_lat.append(time.monotonic() - t)
            if status != 200:
                raise SystemExit(f"redeem failed: {status} {body[:200]!r}")
            cred = hdrs.get("set-cookie", hdrs.get("Set-Cookie", "")).split(";", 1)[0]
            headers.append(f"{base}; {cred}")
        else:
            direct.append((device, cid))
            headers.append(f"{base}; live_cred_{MEETING_ID}={signer.cred_cookie(MEETING_ID, cid, 1, device)}")
    db.executemany("UPDATE credential SET device_id = ?, bound_at_ms = 0 WHERE id = ?", direct)
    db.commit()
    db.close()
    return headers, redeem_lat


async def burst(server: Server, headers: list[str], spread: float) -> dict[str, float]:
    item = await host_to_voting(server)
    n = len(headers)
    lat: list[float] = []
    errors: list[str] = []
    ready = asyncio.Event()
    connected = [0]
    start_at = [0.0]

    async def phone(i: int) -> None:
        async with connect(f"{server.ws}/ws/{server.code}?role=audience", compression=None,
                           additional_headers={"Cookie": headers[i]}, open_timeout=120, max_queue=None) as ws:
            welcome = await recv_until(ws, lambda m: m["type"] == "welcome", timeout=120)
            if not welcome["you"]["can_vote"]:
                raise SystemExit(f"phone {i} may not vote: {welcome['you']}")
            await recv_until(ws, lambda m: m["type"] in ("snapshot", "replay"), timeout=120)
            connected[0] += 1
            await ready.wait()
            await asyncio.sleep(max(0.0, start_at[0] - time.monotonic()) + random.random() * spread)
            sent = time.monotonic()
            await ws.send(json.dumps({"id": "v", "type": "vote", "item_id": item, "ballot_id": f"bench-{i:08d}",
                                      "choice": {"option": random.choice(["满意", "基本满意", "不满意"])}}))
            reply = await recv_until(ws, lambda m: m.get("id") == "v", timeout=120)
            if reply["type"] == "ack":
                lat.append(time.monotonic() - sent)
            else:
                errors.append(reply.get("code", "?"))

    sem = asyncio.Semaphore(200)

    async def guarded(i: int) -> None:
        async with sem:
            pass
        await phone(i)

    t_conn = time.monotonic()
    tasks = [asyncio.create_task(guarded(i)) for i in range(n)]
    while connected[0] < n:
        await asyncio.sleep(0.05)
        failed = [t.exception() for t in tasks if t.done() and t.exception()]
        if failed:
            raise SystemExit(f"a phone failed: {failed[0]!r}")
    connect_s = time.monotonic() - t_conn
    t0 = time.monotonic()
    start_at[0] = t0
    ready.set()
    await asyncio.gather(*tasks)
    wall = time.monotonic() - t0
    db = sqlite3.connect(server.data_dir / "live.db")
    stored = db.execute("SELECT count(*) FROM ballot WHERE item_id = ?", (item,)).fetchone()[0]
    db.close()
    if errors or stored != len(lat):
        raise SystemExit(f"errors {errors[:5]} or stored {stored} != acks {len(lat)}")
    return {"connect all (s)": connect_s, "ballots/s": len(lat) / wall,
            "ack p50 (ms)": percentile(lat, 50) * 1000, "ack p99 (ms)": percentile(lat, 99) * 1000,
            "stored": float(stored)}


async def one_run(mode: str, n: int, spread: float) -> dict[str, float]:
    server = start_server()
    try:
        signer = Signer(server.secret)
        extra: dict[str, float] = {}
        if mode == "ticket":
            await set_mode(server, "ticket")
            t = time.monotonic()
            tickets = make_tickets(server, n)
            extra["make tickets (s)"] = time.monotonic() - t
            headers, redeem_lat = bind_tickets(server, signer, tickets)
            extra["redeem p50 (ms)"] = percentile(redeem_lat, 50) * 1000
        else:
            headers = [f"live_dev_{MEETING_ID}={signer.device_cookie(MEETING_ID, f'bench-device-{i:07d}')[1]}"
                       for i in range(n)]
        return {**await burst(server, headers, spread), **extra}
    finally:
        server.stop()


def summarise(runs: list[dict[str, float]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        digits = 0 if key in ("ballots/s", "stored") else 2 if key.endswith("(s)") else 1
        out[key] = (f"{statistics.median(values):.{digits}f} "
                    f"({min(values):.{digits}f}–{max(values):.{digits}f})")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=10_000, help="phones per run (default 10,000)")
    p.add_argument("--runs", type=int, default=3, help="runs per mode (default 3; the median is shown)")
    p.add_argument("--spread", type=float, default=2.0, help="seconds over which the votes are sent")
    p.add_argument("--smoke", action="store_true", help="a small, quick run (200 phones, one run per mode: every phase "
                   "once, the same checks; a median needs the full run)")
    args = p.parse_args()
    n = 200 if args.smoke else args.n
    runs = 1 if args.smoke else max(3, args.runs)
    raise_nofile()
    results = {mode: summarise([asyncio.run(one_run(mode, n, args.spread)) for _ in range(runs)])
               for mode in ("open", "ticket")}
    keys = list(results["ticket"])
    rows: list[tuple[str, Any]] = [
        ("machine", f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"),
        ("phones per run, runs per mode", f"{n}, {runs}"),
        ("figure: median (min–max)", "open  |  ticket"),
    ]
    rows += [(k, f"{results['open'].get(k, '—')}  |  {results['ticket'][k]}") for k in keys]
    print("ticket burst beside open burst")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
