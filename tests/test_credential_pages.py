"""The phone's credential flow in a real browser (frontend/audience/credential.js): a ticket QR's
fragment is redeemed and removed, a phone without a ticket sees the code-entry box, types
its code and can vote; a second phone with the same code is refused in plain Chinese."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conftest import DEMO, PASSWORD, seed_meeting, uvicorn_in_thread
from live.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            yield b
        finally:
            b.close()


def phone(browser: Browser, url: str, problems: list[str]) -> Page:
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="zh-CN")
    page = ctx.new_page()
    page.on("pageerror", lambda err: problems.append(f"uncaught {err}"))
    page.goto(url)
    return page


def host_to_voting(http: httpx.Client, base: str, code: str) -> None:
    from websockets.sync.client import connect

    cookie = http.cookies.get("live_host")
    with connect(f"ws://{base}/ws/{code}?role=host", additional_headers={"Cookie": f"live_host={cookie}"}) as ws:
        def until(pred: Any) -> dict[str, Any]:
            while True:
                m = json.loads(ws.recv(timeout=10))
                if pred(m):
                    return m

        item = until(lambda m: m["type"] == "snapshot")["state"]["items"][0]["id"]
        for n, (t, f) in enumerate([("meeting.start", {}), ("item.open", {"item_id": item})]
                                   + [("item.advance", {"item_id": item})] * 3):
            ws.send(json.dumps({"id": f"h{n}", "type": t, **f}))
            assert until(lambda m, n=n: m.get("id") == f"h{n}")["type"] == "ack"


def test_ticket_fragment_and_code_entry_on_the_phone(browser: Browser, tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", secret_key="page-secret", data_dir=tmp_path,
                        tick_s=0.05)
    seed = seed_meeting(settings, {**DEMO, "public_mode": "ticket"})
    problems: list[str] = []
    with uvicorn_in_thread(settings) as (host, _app), httpx.Client(base_url=f"http://{host}") as http:
        login = http.post(f"/api/meetings/{seed.code}/login", json={"password": PASSWORD})
        assert login.status_code == 200
        http.headers["X-CSRF-Token"] = login.json()["csrf"]
        r = http.post(f"/api/meetings/{seed.code}/tickets", json={"count": 2, "group": "群众代表"})
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            rows = zf.read(next(n for n in zf.namelist() if n.endswith(".csv"))).decode("utf-8-sig").splitlines()
        (code1, link1), (code2, _link2) = [(r.split(",")[1], r.split(",")[3]) for r in rows[1:]]
        host_to_voting(http, host, seed.code)

        # Scanning the ticket's QR: the fragment is redeemed and removed, and the phone can vote.
        assert link1.startswith(f"http://{host}/j/{seed.code}#t=")
        scanned = phone(browser, link1, problems)
        expect(scanned.locator(".btn-vote").filter(has_text=re.compile("^(✓\\s*)?满意$"))).to_be_visible()
        assert "#" not in scanned.url
        scanned.locator(".btn-vote").filter(has_text=re.compile("^满意$")).click()
        expect(scanned.locator(".ballot-status")).to_contain_text("已提交")

        # A phone without a ticket: told to scan or type it, with a box to type it in.
        bare = phone(browser, f"http://{host}/j/{seed.code}", problems)
        expect(bare.locator(".credential")).to_be_visible()
        expect(bare.locator(".ballot")).to_contain_text("票码")
        assert bare.locator(".btn-vote").count() == 0
        box = bare.locator(".credential input[name=ticket]")
        box.fill(code1.lower())  # the first phone's ticket: refused, in Chinese
        bare.locator(".credential button[type=submit]").click()
        expect(bare.locator(".credential .ballot-status")).to_contain_text("另一台手机")
        box.fill(code2.replace("-", " ").lower())
        bare.locator(".credential button[type=submit]").click()
        expect(bare.locator(".btn-vote").filter(has_text=re.compile("^(✓\\s*)?满意$"))).to_be_visible()
        expect(bare.locator(".credential")).to_be_hidden()
    assert problems == []
