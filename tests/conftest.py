from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from sqlmodel import Session
from starlette.testclient import TestClient, WebSocketTestSession
from websockets.sync.client import ClientConnection

from live.config import Settings
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.seed import create_meeting, panel_members
from live.store.state import apply_event
from live.web.app import create_app
from live.web.auth import Signer

ROOT = Path(__file__).resolve().parents[1]
DEMO = {**json.loads((ROOT / "assets" / "demo_meeting.json").read_text(encoding="utf-8")), "held_on": "2025-01-16"}
PASSWORD = "test-pass-1234"


@dataclass
class Seed:
    code: str
    meeting_id: int
    password: str
    panel_tokens: list[str]
    settings: Settings

    def device_cookie(self, device_id: str) -> str:
        return Signer(self.settings.secret_key).device_cookie(self.meeting_id, device_id)[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'test.db'}", secret_key="test-secret-key",
                    data_dir=tmp_path, sqlite_synchronous="NORMAL", tick_s=0.05)


def seed_meeting(settings: Settings, spec: dict[str, Any] | None = None) -> Seed:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    signer = Signer(settings.secret_key)
    with Session(engine) as s:
        created = create_meeting(s, spec or DEMO, PASSWORD)
        s.commit()
        tokens = [signer.panel_token(created.meeting_id, p.id or 0, p.token_version)
                  for p in panel_members(s, created.meeting_id)]
    engine.dispose()
    return Seed(created.code, created.meeting_id, PASSWORD, tokens, settings)


@pytest.fixture
def seed(settings: Settings) -> Seed:
    return seed_meeting(settings)


OPEN_SOCKETS: list[WebSocketTestSession] = []


def close_sockets() -> None:
    while OPEN_SOCKETS:
        ws = OPEN_SOCKETS.pop()
        with contextlib.suppress(Exception):  # already closed by the server or the test
            ws.__exit__(None, None, None)


@pytest.fixture
def client(settings: Settings, seed: Seed) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        try:
            yield c
        finally:
            close_sockets()


def panel_ws(client: TestClient, seed: Seed, n: int, token: str | None = None) -> str:
    """Claim member n's link as its tablet does (the token once, in a JSON body; the session
    cookie lands in the client's jar) and return the tablet's socket URL."""
    r = client.post("/api/panel/claim", json={"token": token or seed.panel_tokens[n]})
    assert r.status_code == 200, r.text
    return f"/ws/{seed.code}?role=panel&member={r.json()['member_id']}"


def open_ws(client: TestClient, url: str, **kwargs: Any) -> WebSocketTestSession:
    """Enter a socket that the fixture closes at the end of the test."""
    ws = client.websocket_connect(url, **kwargs).__enter__()
    OPEN_SOCKETS.append(ws)
    return ws


def recv_until(ws: WebSocketTestSession, pred: Callable[[dict[str, Any]], bool], limit: int = 200) -> dict[str, Any]:
    """Read messages until one matches; the ones before it are dropped."""
    for _ in range(limit):
        msg = ws.receive_json()
        if pred(msg):
            return msg
    raise AssertionError("no matching message")


def reply(ws: WebSocketTestSession, msg_id: str) -> dict[str, Any]:
    return recv_until(ws, lambda m: m.get("type") in ("ack", "error") and m.get("id") == msg_id)


class Conn:
    """A test socket that keeps every message and applies events the way the browser client does."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.n = 0
        self.seen: list[dict[str, Any]] = []
        self._used: set[int] = set()
        self.seq = -1
        self.state: dict[str, Any] = {}
        self.tallies: dict[int, dict[str, Any]] = {}
        self.welcome = self.expect(lambda m: m["type"] == "welcome")
        self.expect(lambda m: m["type"] in ("snapshot", "replay"))

    def _read(self) -> dict[str, Any]:
        msg = self.ws.receive_json()
        self.seen.append(msg)
        t = msg["type"]
        if t == "snapshot":
            self.seq, self.state = msg["seq"], msg["state"]
        elif "seq" in msg and t not in ("ack", "resync"):
            assert msg["seq"] == self.seq + 1, f"seq gap: {self.seq} -> {msg['seq']}"
            apply_event(self.state, msg)
            self.seq = msg["seq"]
        elif t == "tally":
            self.tallies[msg["item_id"]] = msg["tally"]
        return msg

    def expect(self, pred: Callable[[dict[str, Any]], bool], limit: int = 500) -> dict[str, Any]:
        """The first message not matched before that fits ``pred``, reading more as needed."""
        for i, msg in enumerate(self.seen):
            if i not in self._used and pred(msg):
                self._used.add(i)
                return msg
        for _ in range(limit):
            msg = self._read()
            if pred(msg):
                self._used.add(len(self.seen) - 1)
                return msg
        raise AssertionError("no matching message")

    def send(self, type_: str, **fields: Any) -> str:
        self.n += 1
        mid = f"t-{self.n}"
        self.ws.send_json({"id": mid, "type": type_, **fields})
        return mid

    def cmd(self, type_: str, **fields: Any) -> dict[str, Any]:
        mid = self.send(type_, **fields)
        return self.expect(lambda m: m.get("type") in ("ack", "error") and m.get("id") == mid)

    def item(self, item_id: int) -> dict[str, Any]:
        return next(i for i in self.state["items"] if i["id"] == item_id)


def login(client: TestClient, seed: Seed) -> None:
    r = client.post(f"/api/meetings/{seed.code}/login", json={"password": seed.password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf"]  # what host.js sends with every change


def make_admin(settings: Settings, name: str = "admin") -> str:
    """An installation administrator (``live admin create``); returns its one-time password."""
    from live.store.admins import create_admin

    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        return create_admin(engine, name)
    finally:
        engine.dispose()


def admin_login(client: TestClient, settings: Settings, name: str = "admin") -> str:
    """Create the administrator ``name`` and sign in as it, as admin.js does: the session
    cookie lands in the client's jar and ``X-CSRF-Token`` rides on every later request.
    Returns the CSRF token."""
    password = make_admin(settings, name)
    r = client.post("/api/admin/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf"]
    return str(r.json()["csrf"])


def item_ids(conn: Conn) -> list[int]:
    return [i["id"] for i in conn.state["items"]]


PG_URL = os.environ.get("LIVE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LIVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_URL}: {exc}"


def _redis_reachable() -> str | None:
    try:
        import redis

        redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    reason = _pg_reachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def redis_url() -> str:
    reason = _redis_reachable()
    if reason:
        pytest.skip(reason)
    return REDIS_URL


@contextlib.contextmanager
def uvicorn_in_thread(settings: Settings) -> Iterator[tuple[str, Any]]:
    """A real uvicorn on a free port, in this process, so a test can tune Settings
    and look at the hub. Yields the base URL and the Starlette app."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(settings)
    from live.config import UVICORN_WS_OPTIONS

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           **UVICORN_WS_OPTIONS))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(15)


def free_port_for_tests() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_cli(data: Path, wait_s: float = 90) -> tuple[subprocess.Popen[bytes], str]:
    """``live serve`` in a child process on a free port, once /healthz answers: the process and
    its base URL. A server that exits or does not answer within ``wait_s`` fails with its output."""
    port = free_port_for_tests()
    env = {**os.environ, "LIVE_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "live.cli", "serve", "--port", str(port), "--data-dir", str(data)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + wait_s
    while time.time() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.stdout.read().decode() if proc.stdout else "server did not start")


class Sock:
    """A client of a real server's WebSocket (websockets' sync client) that keeps the messages
    it did not wait for, for a later :meth:`until`."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.n = 0
        self.msgs: list[dict[str, Any]] = []

    def until(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 15) -> dict[str, Any]:
        for m in self.msgs:
            if pred(m):
                self.msgs.remove(m)
                return m
        end = time.time() + timeout
        while time.time() < end:
            m = json.loads(self.ws.recv(timeout=max(0.01, end - time.time())))
            if pred(m):
                return m
            self.msgs.append(m)
        raise AssertionError("timed out")

    def cmd(self, type_: str, **fields: Any) -> dict[str, Any]:
        self.n += 1
        mid = f"s-{self.n}"
        self.ws.send(json.dumps({"id": mid, "type": type_, **fields}))
        return self.until(lambda m: m.get("id") == mid and m["type"] in ("ack", "error"))


# Hypothesis checks properties, not speed (speed is bench/'s job): a loaded CI machine
# must not fail a test because one example took longer than hypothesis's default 200 ms.
hypothesis.settings.register_profile("live", deadline=None)
hypothesis.settings.load_profile("live")
