"""Shared pieces for the benchmarks: servers in subprocesses (the live server on
SQLite, two live workers over PostgreSQL and Redis, the bare websockets reference),
process figures from /proc, a pool of load-client processes, and the host console.

A helper, not a benchmark: the CI loop runs ``python3 bench/<each>.py --smoke`` and
this file exits 0 at once when run as a script.

Every process started here stops by itself: servers get SIGTERM when the bench dies
(PR_SET_PDEATHSIG) and are killed at exit; load clients exit on EOF of their stdin
and after their own time limit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PG_URL = os.environ.get("LIVE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LIVE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

_CHILDREN: list[subprocess.Popen[Any]] = []


def hold_netns_lock(name: str) -> None:
    """One run at a time of a bench that builds fixed-name network namespaces (``lvb-*``,
    ``lvh-*``): a second run would tear down or reuse the first one's namespaces. Takes an
    exclusive lock on /tmp/live-bench-<name>.lock for the life of the process, waiting (and
    saying so) while another run holds it."""
    import fcntl

    f = open(f"/tmp/live-bench-{name}.lock", "w")  # noqa: SIM115 - held until the process exits
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another bench/{name}.py is running (its namespaces have fixed names): waiting for it",
              file=sys.stderr, flush=True)
        fcntl.flock(f, fcntl.LOCK_EX)
    _held_locks.append(f)


_held_locks: list[Any] = []


def raise_nofile() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def prepare_socket_process() -> None:
    """For a bench child that holds thousands of sockets: every file it may open, and uvloop."""
    raise_nofile()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _child_setup() -> None:
    """In the child before exec: all the sockets it may have, and SIGTERM if the bench dies."""
    raise_nofile()
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(cmd: list[str], **kw: Any) -> subprocess.Popen[Any]:
    proc = subprocess.Popen(cmd, cwd=ROOT, preexec_fn=_child_setup, **kw)
    _CHILDREN.append(proc)
    return proc


def stop_proc(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    with contextlib.suppress(ValueError):
        _CHILDREN.remove(proc)


@atexit.register
def _kill_children() -> None:
    for proc in list(_CHILDREN):
        if proc.poll() is None:
            proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 120, log: Path | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise SystemExit(f"no answer from {url}\n{tail}")


def proc_cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def table(rows: list[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


# --- servers ---------------------------------------------------------------------------


@dataclass
class Server:
    """One or more server processes serving one meeting (one port each)."""

    procs: list[subprocess.Popen[Any]]
    ports: list[int]
    code: str
    password: str
    secret: str
    data_dir: Path
    kind: str = "live"  # live | bare
    database_url: str | None = None
    cleanup: list[Any] = field(default_factory=list)

    @property
    def proc(self) -> subprocess.Popen[Any]:
        return self.procs[0]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.ports[0]}"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def rss_kb(self) -> int:
        return sum(proc_rss_kb(pid) for pid in self.pids)

    def cpu_s(self) -> float:
        return sum(proc_cpu_s(pid) for pid in self.pids)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            stop_proc(p, 60)
        for fn in self.cleanup:
            with contextlib.suppress(Exception):
                fn()


def _meeting_from_output(out: str) -> tuple[str, str]:
    code = re.search(r"会议码 ([A-Z2-9]{6})", out)
    password = re.search(r"主持人密码\s+(\S+)", out)
    assert code and password, out
    return code[1], password[1]


def _serve(data: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[Any]:
    return spawn([sys.executable, "-m", "live.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                 env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def start_live(extra_env: dict[str, str] | None = None) -> Server:
    """``live demo --no-serve`` then ``live serve``: one worker, embedded SQLite, in-process bus."""
    data = Path(tempfile.mkdtemp(prefix="live-bench-"))
    out = subprocess.run([sys.executable, "-m", "live.cli", "demo", "--data-dir", str(data), "--no-serve"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    code, password = _meeting_from_output(out)
    port = free_port()
    proc = _serve(data, port, extra_env or {}, data / "server.log")
    wait_http(f"http://127.0.0.1:{port}/healthz", log=data / "server.log")
    return Server([proc], [port], code, password, (data / "secret.key").read_text().strip(), data,
                  database_url=f"sqlite:///{data / 'live.db'}")


@dataclass
class PgMeeting:
    """The demo meeting in a fresh PostgreSQL schema: the servers' environment (that database,
    Redis on a channel of its own, one secret key) and the function that drops the schema."""

    url: str
    secret: str
    env: dict[str, str]
    code: str
    password: str
    drop: Callable[[], None]


def pg_meeting(data: Path) -> PgMeeting:
    """Create a schema and the demo meeting in it (``live meeting create``, data dir ``data``);
    the schema is dropped again if that fails."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop_schema() -> None:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    env = {"LIVE_DATABASE_URL": url, "LIVE_REDIS_URL": REDIS_URL, "LIVE_SECRET_KEY": secret,
           "LIVE_REDIS_CHANNEL": f"live:bench:{schema}"}
    try:
        out = subprocess.run([sys.executable, "-m", "live.cli", "meeting", "create",
                              str(ROOT / "assets" / "demo_meeting.json"), "--data-dir", str(data)],
                             capture_output=True, text=True, check=True, cwd=ROOT, env={**os.environ, **env}).stdout
    except BaseException:
        drop_schema()
        raise
    code, password = _meeting_from_output(out)
    return PgMeeting(url, secret, env, code, password, drop_schema)


def start_live_cluster(workers: int = 2) -> Server:
    """``workers`` separate ``live serve`` processes on their own ports, sharing one meeting
    through PostgreSQL (a fresh schema, dropped at stop) and Redis (a fresh channel)."""
    data = Path(tempfile.mkdtemp(prefix="live-bench-pg-"))
    pg = pg_meeting(data)
    procs: list[subprocess.Popen[Any]] = []
    ports: list[int] = []
    server = Server(procs, ports, pg.code, pg.password, pg.secret, data, database_url=pg.url, cleanup=[pg.drop])
    try:
        for _ in range(workers):  # one after the other: the first runs the migrations
            port = free_port()
            procs.append(_serve(data, port, pg.env, data / f"server-{port}.log"))
            ports.append(port)
            wait_http(f"http://127.0.0.1:{port}/healthz", log=data / f"server-{port}.log")
    except BaseException:
        server.stop()
        raise
    return server


def start_bare(sizes: dict[str, int]) -> Server:
    """The reference: a minimal ``websockets`` server with broadcast(), compression off."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="live-bench-bare-"))
    proc = spawn([sys.executable, str(BENCH / "_bare.py"), "--serve", "--port", str(port),
                  "--sizes", json.dumps(sizes)], stdout=subprocess.DEVNULL, stderr=(data / "bare.log").open("ab"))
    deadline = time.time() + 120  # a loaded, shared box can take long to start a process
    while time.time() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        time.sleep(0.1)
    else:
        raise SystemExit(f"the bare server did not listen within 120 s (log: {data / 'bare.log'})")
    return Server([proc], [port], "BARE00", "", "", data, kind="bare")


def host_login(server: Server) -> tuple[str, str]:
    """The host's session cookie and the CSRF token its page sends with every HTTP change."""
    req = urllib.request.Request(f"{server.base}/api/meetings/{server.code}/login",
                                 data=json.dumps({"password": server.password}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as resp:
        cookie = resp.headers.get("set-cookie", "")
        csrf = str(json.loads(resp.read()).get("csrf", ""))
    return cookie.split(";", 1)[0], csrf


def host_cookie(server: Server) -> str:
    return host_login(server)[0]


# --- the host console ------------------------------------------------------------------


class Host:
    """The host's socket (websockets client): sends commands, keeps the seq."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.ws: Any = None
        self.seq = 0
        self.state: dict[str, Any] = {}
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.sizes: dict[str, list[int]] = {}
        self.n = 0
        self._task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        headers = {"Cookie": host_cookie(self.server)} if self.server.kind == "live" else {}
        self.ws = await connect(f"{self.server.ws}/ws/{self.server.code}?role=host", additional_headers=headers,
                                compression=None, max_size=None, max_queue=None, open_timeout=30)
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), 30)
            msg = json.loads(raw)
            self._size(msg["type"], raw)
            if msg["type"] == "snapshot":
                self.seq, self.state = msg["seq"], msg["state"]
                break
        self._task = asyncio.create_task(self._read())

    def _size(self, kind: str, raw: str | bytes) -> None:
        self.sizes.setdefault(kind, []).append(len(raw.encode() if isinstance(raw, str) else raw))

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                msg = json.loads(raw)
                t = msg.get("type")
                self._size(t, raw)
                if t in ("ack", "error"):
                    fut = self.replies.pop(msg.get("id"), None)
                    if fut and not fut.done():
                        fut.set_result(msg)
                elif "seq" in msg and t not in ("resync", "replay", "snapshot"):
                    self.seq = max(self.seq, int(msg["seq"]))

    async def send(self, type_: str, **fields: Any) -> asyncio.Future[dict[str, Any]]:
        self.n += 1
        mid = f"h{self.n}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[mid] = fut
        await self.ws.send(json.dumps({"id": mid, "type": type_, **fields}))
        return fut

    async def cmd(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await asyncio.wait_for(await self.send(type_, **fields), 60)
        if reply["type"] != "ack":
            raise RuntimeError(f"host command {type_} failed: {reply}")
        return reply

    def size(self, kind: str) -> int:
        got = self.sizes.get(kind) or [0]
        return int(sum(got) / len(got))

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()


# --- load-client processes -------------------------------------------------------------


class LoadClient:
    """One ``_wsload.py`` process, spoken to in JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process, src: str, port: int) -> None:
        self.proc = proc
        self.src = src
        self.port = port
        self.rid = 0
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        why = "exited"
        try:
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    break
                msg = json.loads(line)
                fut = self.waiting.pop(int(msg.get("rid", -1)), None)
                if fut and not fut.done():
                    fut.set_result(msg)
        except Exception as exc:
            why = f"unreadable: {exc!r}"
        for fut in self.waiting.values():
            if not fut.done():
                fut.set_exception(RuntimeError(f"load client {self.src} {why}"))

    async def call(self, op: str, timeout: float = 600, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.rid += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[self.rid] = fut
        self.proc.stdin.write(json.dumps({"op": op, "rid": self.rid, **args}).encode() + b"\n")
        await self.proc.stdin.drain()
        reply = await asyncio.wait_for(fut, timeout)
        if "error" in reply:
            raise RuntimeError(f"load client {self.src}: {op}: {reply['error']}")
        return reply

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write(b'{"op": "exit"}\n')
            await self.proc.stdin.drain()
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


class LoadPool:
    """Several load-client processes (each under the 20,000 open-file limit, each with its own
    source address 127.0.0.x so no (source, destination) pair runs out of ephemeral ports).
    Client ``i`` talks to ``server.ports[i % len(ports)]``."""

    def __init__(self, clients: list[LoadClient]) -> None:
        self.clients = clients

    @staticmethod
    async def start(server: Server, n: int, first_src: int = 10, max_seconds: float = 3600) -> LoadPool:
        clients = []
        for i in range(n):
            src = f"127.0.0.{first_src + i}"
            port = server.ports[i % len(server.ports)]
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(BENCH / "_wsload.py"), "--serve", "--port", str(port), "--code", server.code,
                "--src", src, "--max-seconds", str(max_seconds), cwd=ROOT, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, preexec_fn=_child_setup, limit=256 * 1024 * 1024)
            clients.append(LoadClient(proc, src, port))
        pool = LoadPool(clients)
        for c in clients:  # the hello line
            c.waiting[0] = asyncio.get_running_loop().create_future()
        await asyncio.gather(*[asyncio.wait_for(c.waiting[0], 30) for c in clients])
        return pool

    def split(self, items: list[Any]) -> list[list[Any]]:
        n = len(self.clients)
        return [items[i::n] for i in range(n)]

    async def each(self, op: str, per_client: list[dict[str, Any]] | None = None, timeout: float = 600,
                   **common: Any) -> list[dict[str, Any]]:
        per = per_client or [{} for _ in self.clients]
        return list(await asyncio.gather(*[c.call(op, timeout=timeout, **common, **extra)
                                           for c, extra in zip(self.clients, per, strict=True)]))

    async def close(self) -> None:
        await asyncio.gather(*[c.close() for c in self.clients], return_exceptions=True)


def device_cookies(secret: str, devices: list[int], meeting_id: int = 1) -> list[tuple[int, str | None]]:
    """Signed ``live_dev`` cookies, as ``/j/{code}`` would set them (a bench server holds one meeting, id 1)."""
    if not secret:
        return [(d, None) for d in devices]
    sys.path.insert(0, str(ROOT))
    from live.web.auth import Signer

    signer = Signer(secret)
    return [(d, signer.device_cookie(meeting_id, f"bench-device-{d:07d}")[1]) for d in devices]


if __name__ == "__main__":
    # A helper module: the CI loop calls every bench/*.py with --smoke; nothing to do here.
    raise SystemExit(0)
