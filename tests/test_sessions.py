"""A login that ends closes its open sockets at once (issue 13): a host's logout, a new host
password (hosts and the recorder's page), the idle timeout and a new presenter link. Real
uvicorn, real sockets, each read with a deadline: an idle socket that stays open fails."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
import websockets

from conftest import Seed, make_admin, uvicorn_in_thread
from live.config import Settings
from live.web.sessions import SocketSession

WAIT_S = 3.0


def _cookies(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)


async def _login(base: str, seed: Seed) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=f"http://{base}")
    r = await c.post(f"/api/meetings/{seed.code}/login", json={"password": seed.password})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


async def _admin(base: str, settings: Settings) -> httpx.AsyncClient:
    password = make_admin(settings)
    c = httpx.AsyncClient(base_url=f"http://{base}")
    r = await c.post("/api/admin/login", json={"name": "admin", "password": password})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


async def _open(base: str, seed: Seed, role: str, cookies: str = "") -> Any:
    ws = await websockets.connect(f"ws://{base}/ws/{seed.code}?role={role}",
                                  additional_headers={"Cookie": cookies} if cookies else None)
    while True:  # up to the snapshot: the socket is registered with the hub
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        assert msg["type"] != "error", msg
        if msg["type"] in ("snapshot", "replay"):
            return ws


async def _closed(ws: Any) -> tuple[list[str], int | None]:
    """The error codes sent before the server closed the socket, and the close code; fails
    (TimeoutError) if the socket is still open after ``WAIT_S`` without sending anything."""
    codes: list[str] = []
    try:
        while True:
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
            if msg.get("type") == "error":
                codes.append(msg["code"])
    except websockets.ConnectionClosed as exc:
        return codes, exc.rcvd.code if exc.rcvd else None


async def _still_open(ws: Any) -> bool:
    await ws.send(orjson.dumps({"id": "p", "type": "ping"}).decode())
    while True:
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        if msg.get("id") == "p":
            return bool(msg["type"] == "ack")


def test_logout_closes_the_idle_console_at_once(settings: Settings, seed: Seed) -> None:
    async def run(base: str) -> None:
        me, other = await _login(base, seed), await _login(base, seed)
        mine, theirs = await _open(base, seed, "host", _cookies(me)), await _open(base, seed, "host", _cookies(other))
        assert (await me.post(f"/api/meetings/{seed.code}/logout")).status_code == 200
        codes, close = await _closed(mine)  # the console sends nothing after the logout
        assert codes == ["login_required"] and close == 4401
        assert await _still_open(theirs)  # another device's login is untouched
        await theirs.close()
        await me.aclose()
        await other.aclose()

    with uvicorn_in_thread(settings) as (base, _app):
        asyncio.run(run(base))


def test_new_host_password_closes_host_and_recorder_sockets(settings: Settings, seed: Seed) -> None:
    async def run(base: str) -> None:
        host = await _login(base, seed)
        admin = await _admin(base, settings)
        console = await _open(base, seed, "host", _cookies(host))
        recorder = await _open(base, seed, "recorder")
        screen = await _open(base, seed, "screen")
        r = await admin.post(f"/api/admin/meetings/{seed.code}/host-password")
        assert r.status_code == 200, r.text
        assert await _closed(console) == (["login_required"], 4401)
        assert await _closed(recorder) == (["revoked"], 4401)
        assert await _still_open(screen)  # the big screen has no login to lose
        await screen.close()
        await host.aclose()
        await admin.aclose()

    with uvicorn_in_thread(settings) as (base, _app):
        asyncio.run(run(base))


def test_new_presenter_link_closes_the_old_links_socket(settings: Settings, seed: Seed) -> None:
    async def run(base: str) -> None:
        admin = await _admin(base, settings)
        url = (await admin.get(f"/api/admin/meetings/{seed.code}/presenter-link")).json()["url"]
        presenter = httpx.AsyncClient(base_url=f"http://{base}")
        claimed = await presenter.post(f"/api/meetings/{seed.code}/presenter/claim",
                                       json={"token": url.split("#t=")[1]})
        assert claimed.status_code == 200, claimed.text
        stage = await _open(base, seed, "presenter", _cookies(presenter))
        assert (await admin.post(f"/api/admin/meetings/{seed.code}/presenter-link")).status_code == 200
        assert await _closed(stage) == (["revoked"], 4401)
        await presenter.aclose()
        await admin.aclose()

    with uvicorn_in_thread(settings) as (base, _app):
        asyncio.run(run(base))


def test_idle_timeout_closes_an_unused_console(settings: Settings, seed: Seed,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SocketSession, "WATCH_S", 0.2)
    settings.session_idle_s = 1

    async def run(base: str) -> None:
        host = await _login(base, seed)
        console = await _open(base, seed, "host", _cookies(host))
        await asyncio.sleep(1.2)  # past the idle limit; the console sent nothing
        assert await _closed(console) == (["login_required"], 4401)
        await host.aclose()

    with uvicorn_in_thread(settings) as (base, _app):
        asyncio.run(run(base))
