"""Admission control (live.web.admission): a worker holds at most its cap of sockets, past it a
phone is told ``server_full`` with a retry hint and closed with 4429; the cap comes from
LIVE_MAX_SOCKETS or, unset, from the file limit less the headroom."""

from __future__ import annotations

import resource

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from conftest import Conn, Seed, close_sockets, open_ws
from live.config import FD_HEADROOM, Settings, socket_cap
from live.web.admission import FULL_CLOSE, RESERVE, Admission
from live.web.app import create_app


def test_the_cap_comes_from_the_setting_or_the_file_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    s = Settings(database_url="sqlite://", secret_key="x" * 40)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY:
        assert socket_cap(s) == max(100, soft - FD_HEADROOM)
        assert socket_cap(s) < soft
    s.max_sockets = 1234
    assert socket_cap(s) == 1234
    monkeypatch.setenv("LIVE_MAX_SOCKETS", "777")
    monkeypatch.setenv("LIVE_SECRET_KEY", "k" * 40)
    assert socket_cap(Settings.from_env(database_url="sqlite://")) == 777


def test_admission_counts_and_keeps_a_reserve_for_the_room() -> None:
    a = Admission(cap=2)
    assert a.enter("audience") and a.enter("audience")
    assert not a.enter("audience") and a.refused == 1
    assert a.enter("host") and a.enter("screen")  # the room is still run past the cap
    for _ in range(RESERVE - 2):
        assert a.enter("screen")
    assert not a.enter("host")
    a.leave()
    assert a.open == 2 + RESERVE - 1 and a.peak == 2 + RESERVE
    assert a.reason() == "full retry=10"


def phone(client: TestClient, seed: Seed, device: str) -> Conn:
    return Conn(open_ws(client, f"/ws/{seed.code}?role=audience",
                        headers={"cookie": f"live_dev={seed.device_cookie(device)}"}))


def test_past_the_cap_a_phone_is_told_when_to_come_back(settings: Settings, seed: Seed) -> None:
    settings.max_sockets = 2
    with TestClient(create_app(settings)) as client:
        try:
            first, second = phone(client, seed, "device-cap-0001"), phone(client, seed, "device-cap-0002")
            assert first.welcome["you"]["can_vote"] and second.welcome["you"]["can_vote"]
            cookie = {"cookie": f"live_dev={seed.device_cookie('device-cap-0003')}"}
            with client.websocket_connect(f"/ws/{seed.code}?role=audience", headers=cookie) as ws:
                refusal = ws.receive_json()
                assert refusal["type"] == "error" and refusal["code"] == "server_full", refusal
                assert refusal["retry_after_s"] == 10 and refusal["message"]
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive_json()
            assert closed.value.code == FULL_CLOSE == 4429
            assert closed.value.reason == "full retry=10"
            health = client.get("/healthz").json()
            assert health["sockets"] == 2 and health["socket_cap"] == 2 and health["sockets_refused"] == 1
            # A host console still gets in past the cap (the reserve).
            screen = Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))
            assert screen.welcome["role"] == "screen"
            # Every socket counts against the cap: with the screen and a phone gone, there is room.
            screen.ws.close()
            first.ws.close()
            for _ in range(200):
                if client.get("/healthz").json()["sockets"] == 1:
                    break
            third = phone(client, seed, "device-cap-0003")
            assert third.welcome["you"]["can_vote"]
        finally:
            close_sockets()
