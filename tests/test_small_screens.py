"""A whole meeting on small screens (issue 15): the console and the big screen at 1280×720 (a
common projector), the presenter view at 1280×720, and a 320 px phone with 大字 (large text)
switched on, which must never scroll sideways. Every screen is photographed at each step to
artifacts/screens/small-*.png.
"""
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

# The browser, server and device fixtures of test_pages (imported, so the tests below redefine their names).
from test_pages import (  # noqa: F401
    PRESENTERS,
    Devices,
    Live,
    advance,
    box,
    browser,
    confirm,
    devices,
    live_server,
    next_button,
    shot,
    vote,
)
from test_pages import pytestmark as BROWSER_MARKS

pytestmark = BROWSER_MARKS

OVERFLOW_JS = """() => {
  const s = document.scrollingElement;
  // elements that stick out to the right of the window (off-screen dialogs and hidden nodes aside)
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > s.clientWidth + 0.5 && getComputedStyle(e).position !== 'fixed';
  }).slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className}`
                          + ` right=${Math.round(e.getBoundingClientRect().right)}`);
  return {scrollWidth: s.scrollWidth, clientWidth: s.clientWidth, wide};
}"""


def assert_no_sideways_scroll(page: Page, where: str) -> None:
    m: dict[str, Any] = page.evaluate(OVERFLOW_JS)
    assert m["scrollWidth"] <= m["clientWidth"], f"{where}: scrolls sideways {m}"
    assert not m["wide"], f"{where}: elements run off the right edge {m['wide']}"


def font_px(page: Page, selector: str) -> float:
    """The rendered size of a text, CSS zoom included (zoom scales the box, not the computed font size)."""
    return float(page.locator(selector).first.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e);"
        " const h = r.getBoundingClientRect().height; const lines = Math.max(1, r.getClientRects().length);"
        " return h / lines; }"))


def snap_all(pages: dict[str, Page], step: str) -> None:
    for name, page in pages.items():
        shot(page, f"small-{step}-{name}", full=name in ("phone320", "host"))


@pytest.mark.timeout(420)
def test_meeting_at_1280x720_with_a_320px_phone_in_large_text(live_server: Live, devices: Devices) -> None:
    srv = live_server
    code = srv.code
    host = devices.open("host", f"/host/{code}", 1280, 720)
    host.fill("input[name=password]", srv.password)
    host.click("button[type=submit]")
    expect(next_button(host)).to_have_text("开始会议")
    screen = devices.open("screen", f"/screen/{code}", 1280, 720)
    presenter = devices.open("presenter", f"/presenter/{code}", 1280, 720, cookies=host.context.cookies())
    phone = devices.open("phone320", f"/j/{code}", 320, 640, phone=True)
    tablet = devices.open("panel", srv.panel_paths[0], 1024, 768, touch=True)
    # the console links the broadcast overlay; at a 1280×720 browser source it scales down whole
    link = host.locator(".overlay-link a")
    expect(link).to_have_attribute("href", f"{srv.base}/overlay/{code}?layers=lower,question,tally,likes")
    overlay = devices.open("overlay", link.get_attribute("href") or "", 1280, 720)
    pages = {"host": host, "screen": screen, "presenter": presenter, "phone320": phone, "overlay": overlay}

    # 大字: the switch enlarges the phone's text, and it still fits 320 px
    toggle = phone.get_by_role("button", name="大字")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(phone.locator(".stage h2")).to_be_visible()
    assert_no_sideways_scroll(phone, "phone, normal text")
    normal = font_px(phone, ".stage h2")
    shot(phone, "small-draft-phone320-normal-text")
    toggle.tap()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    large = font_px(phone, ".stage h2")
    assert large >= normal * 1.15, (normal, large)
    assert_no_sideways_scroll(phone, "phone, large text")
    assert_no_sideways_scroll(host, "console at 1280")
    snap_all(pages, "draft")

    advance(host, "开始会议", f"开始述法：{PRESENTERS[0]}")
    for n, name in enumerate(PRESENTERS):
        for label, after, phase in [(f"开始述法：{name}", "进入质询", "述法"), ("进入质询", "进入点评", "质询"),
                                    ("进入点评", "开始测评", "点评")]:
            advance(host, label, after)
            expect(screen.locator(".screen-name")).to_have_text(name)
            expect(screen.locator(".screen-phase .phase")).to_have_text(phase)
            expect(phone.locator(".stage .phase")).to_have_text(phase)
            assert_no_sideways_scroll(phone, f"phone, {name} {phase}")
            assert_no_sideways_scroll(host, f"console, {name} {phase}")
            expect(overlay.locator(".ov-lower-name")).to_have_text(name)
            lower = box(overlay, ".ov-lower")
            assert lower["x"] > 0 and lower["y"] + lower["h"] < 720 and lower["x"] + lower["w"] < 1280, lower
            if n == 0:
                snap_all(pages, f"{n + 1}-{phase}")
        advance(host, "开始测评", "结束测评")
        expect(phone.locator(".btn-vote")).to_have_count(4)
        vote(phone, "满意")
        vote(tablet, "基本满意")
        assert_no_sideways_scroll(phone, f"phone, {name} 测评 after voting")
        # the voting buttons stay inside the phone's width, in large text too
        for right in phone.locator(".btn-vote").evaluate_all("es => es.map(e => e.getBoundingClientRect().right)"):
            assert right <= 320.5, right
        expect(host.locator(".tally-public .tally-count")).to_have_text("1 票")
        # The dialog below counts what the console holds: the tablet's ballot must be there too
        # (the public count alone can arrive a tick before it on a loaded machine).
        expect(host.locator(".tally-panel .tally-count")).to_have_text("1 票")
        assert_no_sideways_scroll(host, f"console, {name} 测评")
        if n == 0:
            snap_all(pages, f"{n + 1}-测评")
        following = f"开始述法：{PRESENTERS[n + 1]}" if n + 1 < len(PRESENTERS) else "结束会议"
        confirm(host, "结束测评", "当前已收到 2 张选票", following, f"small-{n + 1}-confirm-close")
        expect(screen.locator(".screen-facts")).to_be_visible()
        # the result stays on the 720-line stage
        stage = box(screen, ".screen-stage")
        bottom = screen.locator(".screen-stage > *").evaluate_all(
            "es => Math.max(...es.map(e => e.getBoundingClientRect().bottom))")
        assert bottom <= stage["y"] + stage["h"] + 1, (name, stage, bottom)
        assert_no_sideways_scroll(phone, f"phone, {name} result")
        if n == 0:
            snap_all(pages, f"{n + 1}-结果")

    confirm(host, "结束会议", "大屏将显示排名", "会议已结束", "small-confirm-end")
    expect(screen.locator(".screen-ranking")).to_be_visible()
    rows = screen.locator(".screen-ranking tbody tr")
    expect(rows).to_have_count(len(PRESENTERS))
    stage = box(screen, ".screen-stage")
    table = box(screen, ".screen-ranking")
    assert table["y"] + table["h"] <= stage["y"] + stage["h"] + 1, (stage, table)
    assert_no_sideways_scroll(phone, "phone, ended")
    assert_no_sideways_scroll(host, "console, ended")
    snap_all(pages, "ended")

    # 大字 is kept on this phone, and switches off again
    phone.reload()
    toggle = phone.get_by_role("button", name="大字")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.tap()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert_no_sideways_scroll(phone, "phone, ended, normal text")
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()
