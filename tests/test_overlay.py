"""The broadcast overlay ``/overlay/CODE`` in a real browser: a transparent 1920×1080 page whose
layers (?layers=lower,question,tally,likes) appear and hide with the meeting, showing only what
the public big screen shows. Screenshots go to artifacts/screens/overlay-*.png (transparent PNGs).
"""
# ruff: noqa: F811

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from starlette.testclient import TestClient

# The browser, server and device fixtures of test_pages (imported, so the tests below redefine their names).
from test_pages import PRESENTERS, SCREENS, Devices, Live, ask_on_phone, browser, devices, live_server, vote  # noqa: F401
from test_pages import pytestmark as BROWSER_MARKS

from conftest import Seed


def in_browser(test: Any) -> Any:
    """The marks of test_pages' browser tests: browser, slow, skipped without Debian's chromium."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


W, H = 1920, 1080
LAYERS = ("lower", "question", "tally", "likes")


class HostSocket:
    """The host's commands over its socket, as the console sends them."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.sent = 0

    def __call__(self, type_: str, **fields: Any) -> dict[str, Any]:
        self.sent += 1
        self.ws.send(json.dumps({"id": f"o-{self.sent}", "type": type_, **fields}))
        while True:
            msg = json.loads(self.ws.recv(timeout=15))
            if msg.get("id") == f"o-{self.sent}" and msg["type"] in ("ack", "error"):
                assert msg["type"] == "ack", msg
                return msg


@contextmanager
def host_socket(srv: Live) -> Iterator[HostSocket]:
    from websockets.sync.client import connect

    cookie = httpx.post(f"{srv.base}/api/meetings/{srv.code}/login", json={"password": srv.password}).cookies
    with connect(f"{srv.base.replace('http://', 'ws://')}/ws/{srv.code}?role=host",
                 additional_headers={"Cookie": f"live_host={cookie['live_host']}"}) as ws:
        yield HostSocket(ws)


def overlay(devices: Devices, srv: Live, layers: str | None, name: str) -> Page:
    query = "" if layers is None else f"?layers={layers}"
    page = devices.open(name, f"/overlay/{srv.code}{query}", W, H)
    page.wait_for_function("() => document.fonts.status === 'loaded'")
    return page


def expect_layers(page: Page, shown: set[str], where: str) -> None:
    """Exactly the layers in `shown` are visible; a layer left out of the URL is not even in the page."""
    chosen = set((page.locator("body").get_attribute("data-layers") or "").split(",")) - {""}
    for name in LAYERS:
        node = page.locator(f".ov-{name}")
        if name not in chosen:
            expect(node, f"{where}: {name} not chosen").to_have_count(0)
        elif name in shown:
            expect(node, f"{where}: {name}").to_be_visible()
        else:
            expect(node, f"{where}: {name}").to_be_hidden()


def overlay_shot(page: Page, name: str) -> Image.Image:
    """A transparent screenshot (no page background); it is also checked for transparency."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(SCREENS / f"overlay-{name}.png"), omit_background=True, animations="disabled")
    return Image.open(io.BytesIO(png)).convert("RGBA")


def assert_transparent(page: Page, img: Image.Image) -> None:
    colours = page.evaluate("() => [getComputedStyle(document.documentElement).backgroundColor,"
                            " getComputedStyle(document.body).backgroundColor,"
                            " getComputedStyle(document.getElementById('stage')).backgroundColor]")
    assert colours == ["rgba(0, 0, 0, 0)"] * 3, colours
    assert img.size == (W, H)
    # the middle of the picture (left of the tally) and the corners are see-through
    for xy in [(W * 2 // 5, H // 2), (2, 2), (W - 3, 2), (2, H - 3), (W - 3, H - 3)]:
        assert img.getpixel(xy)[3] == 0, (xy, img.getpixel(xy))
    alpha = img.getchannel("A")
    covered = alpha.point(lambda a: 255 if a > 128 else 0).histogram()[255] / (W * H)  # shadows aside
    assert covered < 0.35, f"the layers cover {covered:.0%} of the picture"


def visible_opaque(img: Image.Image, box: dict[str, float]) -> bool:
    """Whether the middle of a layer's box is drawn (not transparent) in the screenshot."""
    return img.getpixel((int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2)))[3] > 200


@in_browser
@pytest.mark.timeout(240)
def test_overlay_layers_follow_the_url_and_the_meeting(live_server: Live, devices: Devices) -> None:
    srv = live_server
    pages = {
        "all": (overlay(devices, srv, None, "overlay-all"), set(LAYERS)),
        "lower": (overlay(devices, srv, "lower", "overlay-lower"), {"lower"}),
        "question,tally": (overlay(devices, srv, "question,tally", "overlay-qt"), {"question", "tally"}),
        "likes": (overlay(devices, srv, "likes,bogus", "overlay-likes"), {"likes"}),
    }
    for key, (page, chosen) in pages.items():
        assert set(page.locator("body").get_attribute("data-layers").split(",")) - {""} == chosen, key

    def expect_all(visible: set[str], where: str) -> None:
        for key, (page, chosen) in pages.items():
            expect_layers(page, visible & chosen, f"{where} [{key}]")

    # before the meeting: only the like counter
    all_page = pages["all"][0]
    expect(all_page.locator(".ov-likes-value")).to_have_text("0")
    expect_all({"likes"}, "draft")
    assert_transparent(all_page, overlay_shot(all_page, "draft"))

    first = srv.query("SELECT id FROM agenda_item ORDER BY position")[0][0]
    phone = devices.open("phone", f"/j/{srv.code}", 390, 844, phone=True)
    with host_socket(srv) as host:
        host("meeting.visibility", mode="live", small_group_k=1)  # one phone ballot may show its split
        host("meeting.start")
        host("item.open", item_id=first)
        # 述法: the presenter's lower third
        expect_all({"lower", "likes"}, "report")
        lower = all_page.locator(".ov-lower")
        expect(lower.locator(".ov-lower-name")).to_have_text(PRESENTERS[0])
        expect(lower.locator(".ov-lower-label")).to_have_text("第 1 位述法人")
        expect(lower.locator(".ov-lower-phase")).to_have_text("述法")
        expect(lower.locator(".ov-lower-clock")).to_have_text(re.compile(r"^\d\d:\d\d$"))
        img = overlay_shot(all_page, "lower")
        assert_transparent(all_page, img)
        assert visible_opaque(img, lower.bounding_box())
        overlay_shot(pages["lower"][0], "lower-only")

        # likes from a phone reach the counter
        expect(phone.locator(".voice-like-btn")).to_be_visible()
        for _ in range(3):
            phone.locator(".voice-like-btn").tap()
        for key in ("all", "likes"):
            expect(pages[key][0].locator(".ov-likes-value")).to_have_text("3", timeout=15_000)

        # 质询: a phone's question, approved and picked, is 正在质询 on the overlay
        host("item.advance", item_id=first)
        ask_on_phone(phone, "行政复议纠错率为何偏高？")
        qid = srv.query("SELECT id FROM question WHERE content = ?", "行政复议纠错率为何偏高？")[0][0]
        host("question.approve", question_id=qid)
        host("question.pick", question_id=qid, seconds=120)
        expect_all({"lower", "question", "likes"}, "inquiry")
        q = all_page.locator(".ov-question")
        expect(q.locator(".ov-q-text")).to_have_text("行政复议纠错率为何偏高？")
        expect(q.locator(".ov-q-tag")).to_have_text("正在质询")
        expect(q.locator(".ov-q-clock")).to_contain_text("答复")
        img = overlay_shot(all_page, "question")
        assert_transparent(all_page, img)
        assert visible_opaque(img, q.bounding_box())
        # the likes move out of the question's way
        assert not _overlap(all_page.locator(".ov-likes").bounding_box(), q.bounding_box())
        overlay_shot(pages["question,tally"][0], "question-tally-question")

        # 点评: the question is no longer 正在质询 (the server cleared it)
        host("item.advance", item_id=first)
        expect_all({"lower", "likes"}, "comment")

        # 测评: the live tally, as the hall sees it
        host("item.advance", item_id=first)
        expect_all({"lower", "tally", "likes"}, "voting")
        tally = all_page.locator(".ov-tally")
        expect(tally.locator(".tally-public .tally-count")).to_have_text("0 票")
        vote(phone, "满意")
        # the hall's coarse batch: a lone ballot shows within the 10 s catch-up
        expect(tally.locator(".tally-public .tally-count")).to_have_text("1 票", timeout=20_000)
        expect(tally.locator(".tally-public .bar-row").first.locator(".bar-value")).to_contain_text("1")
        img = overlay_shot(all_page, "tally")
        assert_transparent(all_page, img)
        assert visible_opaque(img, tally.bounding_box())
        for key, (page, _) in pages.items():
            assert not _overlaps_any(page), key
        overlay_shot(pages["question,tally"][0], "question-tally-voting")

        # closed: the public result
        host("item.advance", item_id=first)
        expect_all({"lower", "tally", "likes"}, "done")
        expect(tally.locator(".ov-facts")).to_contain_text("满意率")
        overlay_shot(all_page, "result")

        # the meeting ends: nothing but the likes
        host("meeting.end")
        expect_all({"likes"}, "ended")
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()


@in_browser
@pytest.mark.timeout(180)
def test_overlay_tally_keeps_to_a_hidden_meeting(live_server: Live, devices: Devices) -> None:
    """In a meeting whose results are hidden until revealed, the overlay shows no count while
    测评 runs and no result until the host reveals it, exactly like the big screen."""
    srv = live_server
    page = overlay(devices, srv, "tally,lower", "overlay-hidden")
    screen = devices.open("screen", f"/screen/{srv.code}", 1280, 720)
    tablet = devices.open("panel", srv.panel_paths[0], 1024, 768, touch=True)
    first = srv.query("SELECT id FROM agenda_item ORDER BY position")[0][0]
    with host_socket(srv) as host:
        host("meeting.visibility", mode="hidden", small_group_k=1)
        host("meeting.start")
        host("item.open", item_id=first)
        for _ in range(3):
            host("item.advance", item_id=first)
        expect(screen.locator(".screen-wait")).to_have_text("测评进行中，结果将于测评结束后由主持人公布")
        vote(tablet, "满意")
        expect_layers(page, {"lower"}, "hidden voting")
        page.wait_for_timeout(11_000)  # past the hall's catch-up: still nothing
        expect_layers(page, {"lower"}, "hidden voting, later")
        assert page.locator(".tally-count").count() == 0 or not page.locator(".ov-tally").is_visible()
        host("item.advance", item_id=first)
        expect(screen.locator(".screen-wait")).to_have_text("测评已结束，结果待主持人揭晓")
        expect_layers(page, {"lower"}, "closed, not revealed")
        overlay_shot(page, "hidden-before-reveal")
        host("item.reveal", item_id=first)
        expect(screen.locator(".screen-facts")).to_be_visible()
        expect_layers(page, {"lower", "tally"}, "revealed")
        expect(page.locator(".ov-facts")).to_contain_text("满意率")
        overlay_shot(page, "hidden-revealed")
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()


def _overlap(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    assert a and b
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def _overlaps_any(page: Page) -> bool:
    boxes = [page.locator(f".ov-{n}").bounding_box() for n in LAYERS
             if page.locator(f".ov-{n}").count() and page.locator(f".ov-{n}").is_visible()]
    return any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_overlay_page_route(client: TestClient, seed: Seed) -> None:
    """The page for any meeting code that exists; a wrong code gets the styled 404 page."""
    r = client.get(f"/overlay/{seed.code}?layers=lower,likes")
    assert r.status_code == 200 and 'src="/static/overlay/overlay.js"' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    wrong = client.get("/overlay/NOPE22")
    assert wrong.status_code == 404 and "会议码不存在" in wrong.text
    for asset in ("/static/overlay/overlay.js", "/static/overlay/overlay.css"):
        assert client.get(asset).status_code == 200, asset
