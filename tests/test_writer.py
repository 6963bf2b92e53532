"""Durability: a server killed with SIGKILL mid-burst loses no acknowledged ballot,
and clients that resend their unacknowledged ballots with the same ids make no duplicates."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from conftest import ROOT, free_port_for_tests
from live.web.auth import Signer

N = 240


def _start(data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "live.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                            cwd=ROOT, env={k: v for k, v in os.environ.items() if not k.startswith("LIVE_")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60  # as tests/test_pages.py: a loaded CI machine can take a while to import and migrate
    while time.time() < deadline and proc.poll() is None:  # a server that exits fails at once, below
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not start")


async def _until(ws: Any, pred: Any, timeout: float = 20) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            if pred(msg):
                return msg


@pytest.mark.slow
def test_sigkill_mid_burst_loses_no_acknowledged_ballot(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = subprocess.run([sys.executable, "-m", "live.cli", "demo", "--data-dir", str(data), "--no-serve"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    code = re.search(r"会议码 ([A-Z2-9]{6})", out)
    password = re.search(r"主持人密码\s+(\S+)", out)
    assert code and password
    port = free_port_for_tests()
    signer = Signer((data / "secret.key").read_text().strip())
    proc = _start(data, port)
    ws_base = f"ws://127.0.0.1:{port}/ws/{code[1]}"
    acked: dict[int, str] = {}
    states: dict[int, str] = {}

    async def host_to_voting() -> int:
        cookie = httpx.post(f"http://127.0.0.1:{port}/api/meetings/{code[1]}/login",
                            json={"password": password[1]}).cookies["live_host"]
        async with connect(f"{ws_base}?role=host", additional_headers={"Cookie": f"live_host={cookie}"}) as ws:
            snap = await _until(ws, lambda m: m["type"] == "snapshot")
            item = int(snap["state"]["items"][0]["id"])
            for n, (t, f) in enumerate([("meeting.start", {}), ("item.open", {"item_id": item})]
                                       + [("item.advance", {"item_id": item})] * 3):
                await ws.send(json.dumps({"id": f"h{n}", "type": t, **f}))
                assert (await _until(ws, lambda m, n=n: m.get("id") == f"h{n}"))["type"] == "ack"
            return item

    async def phone(n: int, item: int, go: asyncio.Event) -> None:
        """Votes once; if the server dies before the ack, reconnects (jittered backoff)
        with its last seq and resends the same ballot id."""
        _, cookie = signer.device_cookie(1, f"kill-device-{n:05d}")  # the only meeting
        ballot = f"kill-ballot-{n:05d}"
        seq = None
        attempt = 0
        while n not in acked and attempt < 60:
            attempt += 1
            try:
                url = f"{ws_base}?role=audience" + (f"&since={seq}" if seq is not None else "")
                async with connect(url, additional_headers={"Cookie": f"live_dev={cookie}"}, open_timeout=5) as ws:
                    first = await _until(ws, lambda m: m["type"] in ("snapshot", "replay", "resync"))
                    states[n] = first["type"]
                    seq = first.get("seq", first.get("to_seq"))
                    await go.wait()
                    if attempt == 1:
                        await asyncio.sleep((n % 40) * 0.05)  # the burst is spread over two seconds
                    await ws.send(json.dumps({"id": "v", "type": "vote", "item_id": item, "ballot_id": ballot,
                                              "choice": {"option": "满意"}}))
                    reply = await _until(ws, lambda m: m.get("id") == "v")
                    assert reply["type"] == "ack", reply
                    acked[n] = reply["status"]
            except (TimeoutError, OSError, Exception) as exc:  # the server is down: try again
                if isinstance(exc, AssertionError):
                    raise
                await asyncio.sleep(0.1 + (n % 10) * 0.03)

    async def run() -> None:
        nonlocal proc
        item = await host_to_voting()
        go = asyncio.Event()
        tasks = [asyncio.create_task(phone(n, item, go)) for n in range(N)]
        await asyncio.sleep(1.5)
        go.set()
        while len(acked) < N // 3:
            await asyncio.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        acked_before_kill = dict(acked)
        con = sqlite3.connect(data / "live.db")
        stored_ids = {r[0] for r in con.execute("SELECT id FROM ballot")}
        con.close()
        # Every ballot acknowledged before the kill was durably stored.
        assert {f"kill-ballot-{n:05d}" for n in acked_before_kill} <= stored_ids
        proc = _start(data, port)
        await asyncio.wait_for(asyncio.gather(*tasks), 90)

    try:
        asyncio.run(run())
    finally:
        proc.kill()
        proc.wait()
    con = sqlite3.connect(data / "live.db")
    rows = con.execute("SELECT id FROM ballot").fetchall()
    con.close()
    assert len(acked) == N
    assert len(rows) == N == len({r[0] for r in rows})  # no duplicates, nothing lost
    # Ballots committed before the kill but not yet acknowledged came back as duplicates.
    assert set(acked.values()) <= {"stored", "duplicate"}
    resumed = sum(1 for v in states.values() if v in ("replay", "resync"))
    print(f"{N} phones; {sum(v == 'duplicate' for v in acked.values())} resends were already stored; "
          f"{resumed} reconnected by seq")
    assert resumed > 0


def test_registry_refuses_a_command_registered_twice() -> None:
    from live.store import panel_links
    from live.store import record as record_store
    from live.store.commands import HOST_COMMANDS
    from live.store.writer import COMMANDS, _registry

    # panel.revoke is live.store.panel_links' alone (the record branch had its own; one was kept).
    assert COMMANDS["panel.revoke"] is panel_links.COMMANDS["panel.revoke"]
    assert "panel.revoke" not in record_store.COMMANDS and "panel.revoke" not in HOST_COMMANDS
    with pytest.raises(RuntimeError, match="registered twice"):
        _registry({"panel.revoke": panel_links.revoke}, {"panel.revoke": panel_links.revoke})
