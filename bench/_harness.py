"""Shared pieces for the benchmarks: a server in a subprocess, and a meeting at 测评."""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def raise_nofile() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    ws: str
    code: str
    password: str
    secret: str
    data_dir: Path

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_server(extra_env: dict[str, str] | None = None) -> Server:
    data = Path(tempfile.mkdtemp(prefix="live-bench-"))
    out = subprocess.run([sys.executable, "-m", "live.cli", "demo", "--data-dir", str(data), "--no-serve"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "live.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: raise_nofile() and None)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit("server did not start")
    code = re.search(r"会议码 ([A-Z2-9]{6})", out)
    password = re.search(r"主持人密码\s+(\S+)", out)
    assert code and password
    return Server(proc, base, f"ws://127.0.0.1:{port}", code[1], password[1],
                  (data / "secret.key").read_text().strip(), data)


def host_cookie(server: Server) -> str:
    req = urllib.request.Request(f"{server.base}/api/meetings/{server.code}/login",
                                 data=json.dumps({"password": server.password}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as resp:
        cookie = resp.headers.get("set-cookie", "")
    return cookie.split(";", 1)[0]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def table(rows: list[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)
