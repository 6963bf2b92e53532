"""Redis down: each worker follows the PostgreSQL event log (live.realtime.fallback), so the
phones of both workers see the same 测评 close and the same final tally before Redis returns.

Two `live serve` processes (two workers, as on two hosts) share a fresh PostgreSQL schema and a
private redis-server on a free port, which the test kills in the middle of a vote.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_pages import ROOT, RedisServer, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


class Phone(threading.Thread):
    """A socket that applies what it gets the way the page does: items by id, tallies by item."""

    def __init__(self, base: str, code: str) -> None:
        from websockets.sync.client import connect

        super().__init__(daemon=True)
        with httpx.Client() as http:
            http.get(f"{base}/j/{code}")
            cookies = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        self.ws = connect(f"{base.replace('http', 'ws')}/ws/{code}?role=audience",
                          additional_headers={"Cookie": cookies})
        self.items: dict[int, dict[str, Any]] = {}
        self.tallies: dict[int, dict[str, Any]] = {}
        self.seq = -1
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.n = 0
        self.start()

    def run(self) -> None:
        try:
            for raw in self.ws:
                msg = json.loads(raw)
                kind = msg["type"]
                if kind == "snapshot":
                    self.seq = msg["seq"]
                    self.items = {it["id"]: it for it in msg["state"]["items"]}
                elif kind == "item.updated":
                    assert msg["seq"] == self.seq + 1 or self.seq < 0, (msg["seq"], self.seq)
                    self.items[msg["item"]["id"]] = msg["item"]
                elif kind == "tally":
                    self.tallies[msg["item_id"]] = msg["tally"]
                elif kind in ("ack", "error"):
                    self.replies.put(msg)
                if isinstance(msg.get("seq"), int) and kind not in ("ack", "snapshot", "resync"):
                    self.seq = msg["seq"]
        except Exception:
            return

    def vote(self, item_id: int, choice: str) -> dict[str, Any]:
        self.n += 1
        self.ws.send(json.dumps({"id": f"v{self.n}", "type": "vote", "item_id": item_id,
                                 "ballot_id": f"b-{id(self):x}-{self.n}", "choice": {"option": choice}}))
        while True:
            msg = self.replies.get(timeout=15)
            if msg.get("id") == f"v{self.n}":
                return msg


@contextlib.contextmanager
def workers(data: Path, env: dict[str, str], logs: list[Path]) -> Iterator[list[str]]:
    """One `live serve` per log, started together (a loaded machine takes a while), until each
    answers /healthz; yields their base URLs."""
    procs: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for log in logs:
            port = free_port()
            with log.open("wb") as sink:
                procs.append(subprocess.Popen([sys.executable, "-m", "live.cli", "serve", "--port", str(port),
                                               "--data-dir", str(data)], env=env, cwd=ROOT, stdout=sink,
                                              stderr=subprocess.STDOUT))
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 90
        for proc, base, log in zip(procs, bases, logs, strict=True):
            while True:
                assert proc.poll() is None, f"server exited: {log.read_text(errors='replace')}"
                assert time.monotonic() < deadline, f"server did not start: {log.read_text(errors='replace')}"
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_both_workers_phones_agree_on_the_final_tally_while_redis_is_down(tmp_path: Path, pg_url: str) -> None:
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server on PATH (apt-get install redis-server) to kill the bus")
    from websockets.sync.client import connect

    redis = RedisServer(free_port(), tmp_path / "redis.log")
    redis.start()
    try:
        data = tmp_path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}
        env.update(LIVE_DATA_DIR=str(data), LIVE_DATABASE_URL=pg_url, LIVE_SECRET_KEY="s" * 48,
                   LIVE_REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
                   LIVE_REDIS_CHANNEL=f"live:test:fallback:{redis.port}")
        out = subprocess.run([sys.executable, "-m", "live.cli", "meeting", "create",
                              str(ROOT / "assets" / "demo_meeting.json"), "--database-url", pg_url,
                              "--data-dir", str(data)],
                             capture_output=True, text=True, check=True, cwd=ROOT, env=env, timeout=60).stdout
        code_m, password_m = re.search(r"会议码 ([A-Z2-9]{6})", out), re.search(r"主持人密码\s+(\S+)", out)
        assert code_m and password_m, out
        code, password = code_m[1], password_m[1]
        with workers(data, env, [tmp_path / "a.log", tmp_path / "b.log"]) as (a, b):
            for base in (a, b):
                wait_for(lambda base=base: httpx.get(f"{base}/healthz").json()["broker"] == "redis", 15, "bus up")
            cookie = httpx.post(f"{a}/api/meetings/{code}/login", json={"password": password}).cookies
            with connect(f"{a.replace('http', 'ws')}/ws/{code}?role=host",
                         additional_headers={"Cookie": f"live_host={cookie['live_host']}"}) as host:
                sent = 0

                def cmd(type_: str, **fields: Any) -> dict[str, Any]:
                    nonlocal sent
                    sent += 1
                    host.send(json.dumps({"id": f"h{sent}", "type": type_, **fields}))
                    while True:
                        msg = json.loads(host.recv(timeout=15))
                        if msg.get("id") == f"h{sent}" and msg["type"] in ("ack", "error"):
                            return msg

                phones = [Phone(base, code) for base in (a, b) for _ in range(4)]
                wait_for(lambda: all(p.seq >= 0 for p in phones), 15, "every phone has its snapshot")
                assert cmd("meeting.start")["type"] == "ack"
                first = min(phones[0].items)
                assert cmd("item.open", item_id=first)["type"] == "ack"
                for _ in range(3):
                    assert cmd("item.advance", item_id=first)["type"] == "ack"
                wait_for(lambda: all(p.items[first]["phase"] == "voting" for p in phones), 15, "voting everywhere")
                choices = ["满意", "基本满意", "不满意", "满意"]
                for n, p in enumerate(phones):
                    if n % 4 < 2:
                        assert p.vote(first, choices[n % 4])["status"] == "stored"

                redis.kill()
                for base in (a, b):
                    wait_for(lambda base=base: httpx.get(f"{base}/healthz").json()["broker"] == "degraded", 20,
                             "both workers see the bus down")
                for n, p in enumerate(phones):
                    if n % 4 >= 2:
                        assert p.vote(first, choices[n % 4])["status"] == "stored"
                assert cmd("item.advance", item_id=first)["phase"] == "done"

                # Worker B's phones get the close (and the final tally) from the log, not the bus.
                wait_for(lambda: all(p.items[first]["phase"] == "done" for p in phones), 15,
                         "a phone never saw the 测评 close: " + str([p.items[first]["phase"] for p in phones]))
                wait_for(lambda: all(p.tallies.get(first, {}).get("view") == "final"
                                     and p.tallies[first]["total"] == len(phones) for p in phones), 15,
                         "a phone lacks the final tally: " + str([p.tallies.get(first) for p in phones]))
                finals = {json.dumps(p.tallies[first], sort_keys=True) for p in phones}
                results = {json.dumps(p.items[first]["result"], sort_keys=True) for p in phones}
                assert len(finals) == 1 and len(results) == 1, (finals, results)
                assert json.loads(finals.pop())["total"] == 8
                assert not redis.ping(), "Redis came back before the check"
                assert httpx.get(f"{b}/healthz").json()["broker"] == "degraded"
                for p in phones:
                    p.ws.close()
        for name in ("a.log", "b.log"):
            text = (tmp_path / name).read_text(errors="replace")
            assert "Traceback" not in text, text[-4000:]
    finally:
        redis.kill()
