"""A phone that lost the last event of a 测评 catches up at its next ping (frontend/shared/client.js).

The phone's socket runs through Playwright's WebSocket route, which drops the sequenced events
that close the 测评 on the phone's first connection only. Nothing follows them, so no later event
shows a hole: only the seq in the next ping's ack can tell the phone it is behind.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from playwright.sync_api import Browser, WebSocketRoute, expect
from test_pages import Live, browser, live_server  # noqa: F401  (fixtures)

PING_EVERY_S = 20.0  # frontend/shared/client.js PING_EVERY_MS
BEHIND_GRACE_S = 1.5  # frontend/shared/client.js BEHIND_GRACE_MS


def test_a_phone_that_missed_the_result_catches_up_at_its_next_ping(live_server: Live, browser: Browser) -> None:  # noqa: F811
    import httpx
    from websockets.sync.client import connect

    srv = live_server
    dropping = threading.Event()  # set: the first connection swallows sequenced events
    dropped: list[dict[str, Any]] = []
    connections: list[str] = []

    def route(ws: WebSocketRoute) -> None:
        index = len(connections)
        connections.append(ws.url)
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            if index == 0 and dropping.is_set() and isinstance(message, str):
                msg = json.loads(message)
                if isinstance(msg.get("seq"), int) and msg.get("type") not in ("snapshot", "resync", "ack"):
                    dropped.append(msg)
                    return
            ws.send(message)

        server.on_message(to_page)
        ws.on_message(lambda message: server.send(message))

    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        phone = ctx.new_page()
        problems: list[str] = []
        phone.on("pageerror", lambda err: problems.append(str(err)))
        phone.route_web_socket("**/ws/**", route)
        phone.goto(f"{srv.base}/j/{srv.code}")

        cookie = httpx.post(f"{srv.base}/api/meetings/{srv.code}/login", json={"password": srv.password}).cookies
        ws_base = srv.base.replace("http://", "ws://")
        with connect(f"{ws_base}/ws/{srv.code}?role=host",
                     additional_headers={"Cookie": f"live_host={cookie['live_host']}"}) as host:
            sent = 0

            def cmd(type_: str, **fields: Any) -> dict[str, Any]:
                nonlocal sent
                sent += 1
                host.send(json.dumps({"id": f"h-{sent}", "type": type_, **fields}))
                while True:
                    msg = json.loads(host.recv(timeout=15))
                    if msg.get("id") == f"h-{sent}" and msg["type"] in ("ack", "error"):
                        return msg

            first = srv.query("SELECT id FROM agenda_item ORDER BY position")[0][0]
            assert cmd("meeting.start")["type"] == "ack"
            assert cmd("item.open", item_id=first)["type"] == "ack"
            for _ in range(3):
                assert cmd("item.advance", item_id=first)["type"] == "ack"
            expect(phone.locator(".btn-vote").first).to_be_visible()

            dropping.set()
            cut = time.monotonic()
            assert cmd("item.advance", item_id=first)["phase"] == "done"
            server_seq = cmd("ping")["seq"]
            # The phone still shows the ballot: the closing events never reached it.
            phone.wait_for_timeout(1000)  # (the sync API forwards frames only while it is called)
            assert dropped and dropped[-1]["seq"] == server_seq, (dropped, server_seq)
            assert any(m["type"] == "item.updated" and m["item"]["phase"] == "done" for m in dropped), dropped
            expect(phone.locator(".stage")).not_to_contain_text("测评已结束")

            # Within one ping interval (plus the grace for an event still on its way, and the
            # reconnect) the phone is back at the server's seq and shows the result.
            bound = PING_EVERY_S + BEHIND_GRACE_S + 3.0
            expect(phone.locator(".stage")).to_contain_text("测评已结束", timeout=bound * 1000)
            took = time.monotonic() - cut
            assert took <= bound, took
            assert len(connections) == 2, connections  # one reconnect, with since=
            assert "since=" in connections[1], connections
        assert not problems, problems
    finally:
        ctx.close()
    srv.assert_no_server_errors()


def test_a_full_server_makes_the_phone_wait_its_retry_hint(live_server: Live, browser: Browser) -> None:  # noqa: F811
    """Close 4429 with ``full retry=N``: the phone waits N to 2N seconds before it tries again
    (the plain backoff would be 0.25-0.5 s), and then gets in."""
    srv = live_server
    opened: list[float] = []

    def route(ws: WebSocketRoute) -> None:
        opened.append(time.monotonic())
        if len(opened) == 1:
            ws.send(json.dumps({"type": "error", "id": None, "code": "server_full",
                                "message": "当前在线人数已满，稍后将自动重新连接", "retry_after_s": 2}))
            ws.close(code=4429, reason="full retry=2")
            return
        server = ws.connect_to_server()
        server.on_message(lambda message: ws.send(message))
        ws.on_message(lambda message: server.send(message))

    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    try:
        phone = ctx.new_page()
        phone.route_web_socket("**/ws/**", route)
        phone.goto(f"{srv.base}/j/{srv.code}")
        expect(phone.locator(".stage")).to_be_visible(timeout=20_000)
        deadline = time.monotonic() + 15
        while len(opened) < 2 and time.monotonic() < deadline:
            phone.wait_for_timeout(100)
        assert len(opened) >= 2, opened
        waited = opened[1] - opened[0]
        assert 2.0 <= waited <= 4.0 + 1.0, waited  # the hint, with up to as much again of jitter
        expect(phone.locator(".stage")).to_contain_text("请稍候")
    finally:
        ctx.close()
