"""Two workers serving one meeting over Redis pub/sub and PostgreSQL."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from conftest import Conn, Seed, close_sockets, login, open_ws, seed_meeting
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
            assert ack["status"] == "stored"
            tally = h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 1)["tally"]
            assert tally["groups"]["public"]["options"]["满意"] == 1
            # Presence adds up across workers.
            h.expect(lambda m: m["type"] == "presence" and m["audience"] == 1 and m["screens"] == 1)
        finally:
            close_sockets()
