"""Two workers serving one meeting over Redis pub/sub and PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest
import redis
from starlette.testclient import TestClient

from conftest import Conn, Seed, close_sockets, free_port_for_tests, login, open_ws, seed_meeting
from live.config import Settings
from live.realtime.broker import LocalBroker, make_broker
from live.web.app import create_app


def test_make_broker_picks_by_url() -> None:
    assert isinstance(make_broker(None), LocalBroker)
    assert make_broker("redis://127.0.0.1:6379").__class__.__name__ == "RedisBroker"


def test_two_workers_share_one_meeting(pg_url: str, redis_url: str) -> None:
    channel = f"live:test:{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=pg_url, secret_key="k", redis_url=redis_url, redis_channel=channel,
                        tick_s=0.05)
    seed: Seed = seed_meeting(settings)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        try:
            login(a, seed)
            h = Conn(open_ws(a, f"/ws/{seed.code}?role=host"))
            screen_b = Conn(open_ws(b, f"/ws/{seed.code}?role=screen"))
            # Wait until both workers' subscriptions are live before publishing.
            for app in (a, b):
                for _ in range(100):
                    if app.get("/healthz").json()["broker"] == "redis":
                        break
                    import time

                    time.sleep(0.05)
            h.cmd("meeting.start")
            item = h.state["items"][0]["id"]
            h.cmd("item.open", item_id=item)
            for _ in range(3):
                h.cmd("item.advance", item_id=item)
            last = h.cmd("ping")["seq"]
            # Worker B's client saw every event, in order (Conn asserts there is no gap).
            screen_b.expect(lambda m: m.get("seq") == last and m["type"] != "ack")
            assert screen_b.state == h.state
            # A ballot cast on worker B shows in worker A's tally.
            phone = Conn(open_ws(b, f"/ws/{seed.code}?role=audience",
                                 headers={"cookie": f"live_dev={seed.device_cookie('device-redis-1')}"}))
            ack = phone.cmd("vote", item_id=item, ballot_id="ballot-redis-1", choice={"option": "满意"})
            assert ack.get("status") == "stored", ack
            tally = h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 1)["tally"]
            # One ballot: its group's split is guarded (fewer than k = 3), its count is shown.
            assert tally["groups"]["public"] == {"label": "开放投票（未实名）", "count": 1, "guarded": True}
            # Presence adds up across workers.
            h.expect(lambda m: m["type"] == "presence" and m["audience"] == 1 and m["screens"] == 1)
        finally:
            close_sockets()


def _redis_on(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if redis.Redis(port=port, socket_connect_timeout=0.2).ping():
                return proc
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("redis-server did not start")


def _wait_status(client: TestClient, status: str, timeout: float = 15) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if client.get("/healthz").json()["broker"] == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"broker never became {status}: {client.get('/healthz').json()}")


@pytest.mark.slow
def test_losing_redis_degrades_then_recovers_by_itself(pg_url: str) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server binary not installed")
    port = free_port_for_tests()
    server = _redis_on(port)
    settings = Settings(database_url=pg_url, secret_key="k", redis_url=f"redis://127.0.0.1:{port}/0",
                        redis_channel="live:loss", tick_s=0.05)
    seed = seed_meeting(settings)
    try:
        with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
            try:
                _wait_status(a, "redis")
                _wait_status(b, "redis")
                login(a, seed)
                h = Conn(open_ws(a, f"/ws/{seed.code}?role=host"))
                screen_b = Conn(open_ws(b, f"/ws/{seed.code}?role=screen"))
                h.cmd("meeting.start")
                screen_b.expect(lambda m: m["type"] == "meeting.updated" and m["cause"] == "started")
                server.kill()
                server.wait()
                _wait_status(a, "degraded")
                # Worker A keeps serving its own clients while the bus is down.
                item = h.state["items"][0]["id"]
                assert h.cmd("item.open", item_id=item)["phase"] == "report"
                h.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "report")
                server = _redis_on(port)
                _wait_status(a, "redis")
                _wait_status(b, "redis")
                # Worker B catches up from the event log, in seq order, without a reconnect.
                last = h.cmd("ping")["seq"]
                screen_b.expect(lambda m: m.get("seq") == last and m["type"] != "ack")
                assert screen_b.state["items"][0]["phase"] == "report"
                h.expect(lambda m: m.get("seq") == last and m["type"] != "ack")
                assert screen_b.state == h.state
            finally:
                close_sockets()
    finally:
        server.kill()
        server.wait()
