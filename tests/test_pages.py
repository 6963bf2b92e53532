"""The pages in a real browser against a real server.

A whole demo meeting driven through seven browser contexts (host console, two 评议团 tablets,
three phones, the big screen), checked against what the server stored in SQLite; and a short
accessibility check of the host console and the phone page.

Needs Debian's chromium at /usr/bin/chromium (Playwright cannot download its own browsers here).
Screenshots of every screen go to artifacts/screens/.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from live.domain.scoring import ItemResult, rank

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENS = ROOT / "artifacts" / "screens"
# What a browser logs by itself while its network is down: not a page bug.
NETWORK_NOISE = re.compile(r"ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED|WebSocket connection to .* failed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # both tests start a real server
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium "
                       "(apt-get install chromium); Playwright cannot download its own browser here"),
]


# ---- the server ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    base: str
    code: str
    password: str
    panel_paths: list[str]  # "/p/CODE#t=TOKEN", in the demo's panel order
    db: Path
    log: Path

    def assert_no_server_errors(self) -> None:
        text = self.log.read_text(errors="replace")
        assert "Traceback" not in text and "ERROR" not in text, text[-4000:]

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.db, timeout=10)) as conn:
            return conn.execute(sql, args).fetchall()


@contextlib.contextmanager
def serve(data: Path, env: dict[str, str], log: Path, start_s: float = 60) -> Iterator[str]:
    """`live serve` on a free port as a subprocess, until /healthz answers; yields the base URL.
    A loaded CI machine can take a while to import and migrate: it has ``start_s`` seconds."""
    port = free_port()
    with log.open("wb") as sink:  # a file, not a pipe: a full pipe would stall the server
        proc = subprocess.Popen([sys.executable, "-m", "live.cli", "serve", "--port", str(port),
                                 "--data-dir", str(data)], env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_s
        while True:
            assert proc.poll() is None, f"server exited: {log.read_text(errors='replace')}"
            assert time.monotonic() < deadline, f"server did not start: {log.read_text(errors='replace')}"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Live]:
    """`live demo --no-serve` to seed, then `live serve` on a free port, both as subprocesses."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}  # SQLite in `data`, nothing else
    env["LIVE_DATA_DIR"] = str(data)
    out = subprocess.run([sys.executable, "-m", "live.cli", "demo", "--data-dir", str(data), "--no-serve"],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env, timeout=60).stdout
    code = re.search(r"会议码 ([A-Z2-9]{6})", out)
    password = re.search(r"主持人密码\s+(\S+)", out)
    panel = re.findall(r"(/p/\S+)", out)
    assert code and password and len(panel) == 9, out
    log = tmp_path / "server.log"
    with serve(data, env, log) as base:
        yield Live(base, code[1], password[1], panel, data / "live.db", log)


# ---- the browser -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Devices:
    """One browser context per device; page errors and console errors are collected."""

    browser: Browser
    base: str
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(self, name: str, path: str, width: int, height: int, *, phone: bool = False,
             touch: bool = False, cookies: list[Any] | None = None,
             setup: Callable[[BrowserContext], None] | None = None) -> Page:
        """A new context at `path` (or a whole URL), optionally with another context's cookies;
        `setup` runs on the context before the page loads (init scripts, routes)."""
        ctx = self.browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone,
                                       has_touch=phone or touch, locale="zh-CN")
        ctx.set_default_timeout(15_000)
        if cookies:
            ctx.add_cookies(cookies)
        if setup is not None:
            setup(ctx)
        self.contexts.append(ctx)
        page = ctx.new_page()

        def on_error(err: Any) -> None:
            self.problems.append(f"{name}: uncaught {err}")

        def on_console(msg: Any) -> None:
            url = (msg.location or {}).get("url", "")
            # The one wrong password the test types is a 401 from /login, shown on the page.
            wrong_password = url.endswith("/login") and "401" in msg.text
            if msg.type == "error" and not NETWORK_NOISE.search(msg.text) and not wrong_password:
                self.problems.append(f"{name}: console error {msg.text} ({url})")

        page.on("pageerror", on_error)
        page.on("console", on_console)
        page.goto(path if path.startswith("http") else self.base + path)
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            with contextlib.suppress(Exception):
                ctx.close()


@pytest.fixture
def devices(browser: Browser, live_server: Live) -> Iterator[Devices]:
    d = Devices(browser, live_server.base)
    try:
        yield d
    finally:
        d.close()


def shot(page: Page, name: str, *, full: bool = True) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=full, animations="disabled")


# ---- page helpers ------------------------------------------------------------------------------

def vote_button(page: Page, label: str) -> Locator:
    # A selected button shows "✓ " before its label (CSS ::before).
    return page.locator(".btn-vote").filter(has_text=re.compile(rf"^(✓\s*)?{label}$"))


def vote(page: Page, label: str) -> None:
    vote_button(page, label).tap()
    expect(page.locator(".ballot-status")).to_have_text(f"✓ 已提交：{label}")


def next_button(host: Page) -> Locator:
    return host.locator(".btn-next")


def advance(host: Page, expected_before: str, expected_after: str) -> None:
    """Press the console's primary button and wait for its next label."""
    btn = next_button(host)
    expect(btn).to_have_text(expected_before)
    btn.click()
    expect(btn).to_have_text(expected_after)


def confirm(host: Page, label: str, body_part: str, expected_after: str, shot_name: str, *,
            cancel_first: bool = False) -> None:
    """A step behind a confirm dialog: optionally cancel it once, then confirm."""
    btn = next_button(host)
    dialog = host.locator("dialog.confirm")
    expect(btn).to_have_text(label)
    if cancel_first:
        btn.click()
        expect(dialog).to_be_visible()
        dialog.locator("button[value=cancel]").click()
        expect(dialog).to_have_count(0)
        expect(btn).to_have_text(label)
    btn.click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(body_part)
    shot(host, shot_name, full=False)
    dialog.locator("button[value=ok]").click()
    expect(dialog).to_have_count(0)
    expect(btn).to_have_text(expected_after)


def bar_value(page: Page, group: str, option: str) -> Locator:
    row = page.locator(f".tally-{group} .bar-row").filter(
        has=page.locator(".bar-label", has_text=re.compile(rf"^{option}$")))
    return row.locator(".bar-value")


def js_pct(votes: int, count: int) -> str:
    """The tally bar's figure as tally.js prints it: Math.round(v / n * 1000) / 10."""
    pct = math.floor(votes / max(count, 1) * 1000 + 0.5) / 10
    return f"{pct:g}"


def expect_tally(page: Page, counts: dict[str, Counter[str]], options: list[str], timeout: float | None = None) -> None:
    """The tally bars show exactly these counts per group ("panel"/"public") and option ("弃权" too)."""
    for group, c in counts.items():
        n = sum(c.values())
        expect(page.locator(f".tally-{group} .tally-count")).to_have_text(f"{n} 票", timeout=timeout)
        for opt in [*options, "弃权"]:
            text = f"{c[opt]}（{js_pct(c[opt], n)}%）" if n else "0"
            expect(bar_value(page, group, opt)).to_have_text(text)


def facts(page: Page, selector: str) -> dict[str, str]:
    """A <dl> of results as {dt: dd}."""
    return page.locator(selector).first.evaluate(
        "dl => Object.fromEntries([...dl.querySelectorAll('div')].map("
        "d => [d.querySelector('dt').textContent.trim(), d.querySelector('dd').textContent.trim()]))")


def result_facts(result: dict[str, Any]) -> dict[str, str]:
    """What ui.js resultFacts shows from a stored result (without 票数)."""
    out = {"总分": result["total_display"], "等次": result["grade"],
           "满意率": result["satisfaction_rate_display"]}
    return {k: v for k, v in out.items() if v}


# ---- slides -------------------------------------------------------------------------------------

# Where each screen shows the current page (slides.js sets data-slide-page / data-slide-shown-at on
# the view; the presenter's also carries data-slide-turned-page / data-slide-turned-at).
PRESENTER_SLIDE = "#slide-current .slide-view"
SCREEN_SLIDE = ".screen-slide"
CARD_SLIDE = ".slide-card .slide-view"  # phones and tablets
HOST_SLIDE = ".slide-now-view"


@dataclass
class SlideSync:
    """Page-turn delays (ms) from the presenter's key press to each screen showing that page."""

    delays: dict[str, list[float]] = field(default_factory=dict)
    late_joiner_ms: float | None = None  # a phone opened mid-述法: navigation start to the current page on show

    def report(self) -> str:
        lines = []
        every = [d for delays in self.delays.values() for d in delays]
        for who, ds in [*self.delays.items(), ("all", every)]:
            ordered = sorted(ds)
            p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
            lines.append(f"{who:>7}: n={len(ds)} median={statistics.median(ds):.1f} ms p90={p90:.1f} ms "
                         f"max={max(ds):.1f} ms")
        if self.late_joiner_ms is not None:
            lines.append(f"late joiner: current page on show {self.late_joiner_ms:.0f} ms after navigation start")
        return "slide sync, presenter's turn to page on show:\n" + "\n".join(lines)


def dataset(page: Page, selector: str) -> dict[str, str]:
    return page.locator(selector).first.evaluate("e => ({...e.dataset})")


def expect_page(page: Page, selector: str, n: int, item_id: int | None = None) -> None:
    view = page.locator(selector).first
    expect(view).to_have_attribute("data-slide-page", str(n))
    if item_id is not None:
        expect(view).to_have_attribute("data-slide-item", str(item_id))


def wait_fetched(page: Page, item: str, version: str, n: int) -> None:
    """Page `n` of the deck (full size or thumbnail) has been downloaded (preloaded) by this page."""
    page.wait_for_function("([deck, n]) => performance.getEntriesByType('resource').some("
                           "e => e.name.includes(deck) && e.name.includes(n))",
                           arg=[f"/slides/{item}/{version}-", f"/{n}."])


def turn_slide(presenter: Page, key: str, target: int, followers: dict[str, tuple[Page, str]],
               sync: SlideSync) -> None:
    """Press `key` on the presenter view and time how long each follower takes to show `target`.

    A presenter talks for a while over each page, by which time the screens have preloaded the
    neighbouring pages (slides.js); wait for that first, so the figure is the sync, not a download.
    """
    shown = dataset(presenter, PRESENTER_SLIDE)
    item, version = shown["slideItem"], shown["slideVersion"]
    for page, _ in followers.values():
        wait_fetched(page, item, version, target)
    presenter.keyboard.press(key)
    view = presenter.locator(PRESENTER_SLIDE)
    expect(view).to_have_attribute("data-slide-turned-page", str(target))
    expect(view).to_have_attribute("data-slide-page", str(target))  # at once, optimistically
    turned_at = float(view.get_attribute("data-slide-turned-at") or "nan")
    for who, (page, selector) in followers.items():
        expect_page(page, selector, target)
        shown_at = float(page.locator(selector).first.get_attribute("data-slide-shown-at") or "nan")
        delay = shown_at - turned_at
        # Stamps of different tabs share the wall clock; allow a hair of clock skew below zero.
        assert -50 < delay < 2000, f"{who}: page {target} shown {delay:.1f} ms after the turn"
        sync.delays.setdefault(who, []).append(delay)


# ---- the big screen's QR code ------------------------------------------------------------------

def scan_join_qr(screen: Page, shot_name: str) -> str:
    """Screenshot the big screen as a phone camera would see it, and decode its join QR."""
    screen.wait_for_function("() => { const i = document.getElementById('qr'); "
                             "return i.complete && i.naturalWidth > 0; }")
    SCREENS.mkdir(parents=True, exist_ok=True)
    png = screen.screenshot(path=str(SCREENS / f"{shot_name}.png"), animations="disabled")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    texts = [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(texts) == 1, f"expected one QR code on the big screen, found {texts}"
    return texts[0]


# ---- questions -----------------------------------------------------------------------------------

def ask_on_tablet(tablet: Page, text: str) -> None:
    box = tablet.locator(".voice-panel")
    box.get_by_label("问题内容").fill(text)
    box.get_by_role("button", name="提交问题").click()
    expect(box.locator(".voice-status")).to_have_text("已提交，已列入质询问题")
    expect(box.locator(".voice-q-list .voice-q-text").filter(has_text=text)).to_have_count(1)


def ask_on_phone(phone: Page, text: str) -> None:
    box = phone.locator(".voice-questions")
    box.get_by_label("问题内容").fill(text)
    box.get_by_role("button", name="提交问题").tap()
    expect(box.locator(".voice-ask .voice-status")).to_have_text("已提交，待审核")


def phone_question(phone: Page, text: str) -> Locator:
    return phone.locator(".voice-questions .voice-q").filter(
        has=phone.locator(".voice-q-text", has_text=re.compile(rf"^{re.escape(text)}$")))


def host_question(host: Page, text: str) -> Locator:
    return host.locator(".voice-host-q .vq-row").filter(
        has=host.locator(".voice-q-text", has_text=re.compile(rf"^{re.escape(text)}$")))


def stored_questions(srv: Live, item_id: int) -> list[tuple[str, str, str, int]]:
    """(origin, status, content, upvotes) of an item's questions, oldest first."""
    return [tuple(r) for r in srv.query("SELECT origin, status, content, upvotes FROM question "
                                        "WHERE item_id = ? ORDER BY id", item_id)]


# ---- the stored truth ---------------------------------------------------------------------------

def stored_ballots(srv: Live, item_id: int) -> dict[str, Counter[str]]:
    """The ballots in the database for one item, per group, as option counts (abstain as 弃权)."""
    out: dict[str, Counter[str]] = {"panel": Counter(), "public": Counter()}
    for group, choice_json in srv.query("SELECT voter_group, choice_json FROM ballot WHERE item_id = ?", item_id):
        choice = json.loads(choice_json)
        out[group][("弃权" if choice.get("abstain") else choice["option"])] += 1
    return out


def stored_items(srv: Live) -> list[dict[str, Any]]:
    rows = srv.query("SELECT id, position, presenter_name, presenter_post, phase, result_json "
                     "FROM agenda_item ORDER BY position")
    return [{"id": r[0], "position": r[1], "name": r[2], "post": r[3], "phase": r[4],
             "result": json.loads(r[5]) if r[5] else None} for r in rows]


# ---- the demo meeting ----------------------------------------------------------------------------

PRESENTERS = ["马文亮", "李秀英", "王建国"]
OPTIONS = ["满意", "基本满意", "不满意"]
# Each presenter's ballots: tablets (panel 0, 1) and phones (0, 1, 2). Phone 1 first sends the
# choice in CHANGED and then changes it; phone 2 votes while offline during the first 测评.
VOTES = {
    "马文亮": (["满意", "基本满意"], ["满意", "基本满意", "满意"]),
    "李秀英": (["基本满意", "弃权"], ["满意", "不满意", "基本满意"]),
    "王建国": (["满意", "满意"], ["满意", "满意", "不满意"]),
}
CHANGED = {"马文亮": "不满意", "李秀英": "满意", "王建国": "基本满意"}


@pytest.mark.timeout(300)
def test_demo_meeting_across_seven_screens(live_server: Live, devices: Devices) -> None:
    srv = live_server
    code = srv.code

    # -- the host logs in, after one wrong password
    host = devices.open("host", f"/host/{code}", 1440, 1000)
    expect(host.locator("input[name=password]")).to_be_focused()
    shot(host, "01-host-login")
    host.fill("input[name=password]", "wrong-password-1")
    host.click("button[type=submit]")
    expect(host.locator(".form-error")).to_have_text("密码错误")
    shot(host, "02-host-wrong-password")
    host.fill("input[name=password]", srv.password)
    host.click("button[type=submit]")
    expect(next_button(host)).to_have_text("开始会议")

    # -- everyone else joins; phone 1 as a real phone would, by the QR code on the big screen
    screen = devices.open("screen", f"/screen/{code}", 1920, 1080)
    expect(screen.locator(".screen-wait")).to_have_text("会议即将开始")
    tablets = [devices.open(f"panel{i}", srv.panel_paths[i], 1024, 768, touch=True) for i in range(2)]
    join_url = scan_join_qr(screen, "03-screen-qr-scanned")
    assert join_url == f"{srv.base}/j/{code}", join_url
    phones = [devices.open("phone0", f"/j/{code}", 360, 740, phone=True),
              devices.open("phone1-by-qr", join_url, 360, 740, phone=True),
              devices.open("phone2", f"/j/{code}", 360, 740, phone=True)]
    # the presenter's page-turning view, logged in with the host's cookie, on a laptop at the lectern
    presenter = devices.open("presenter", f"/presenter/{code}", 1280, 800, cookies=host.context.cookies())
    expect(presenter.locator("#slide-current")).to_contain_text("尚无进行中的述法人")
    expect(presenter.get_by_role("button", name="下一页 ›")).to_be_disabled()
    expect(tablets[0].locator("#who")).to_have_text("评议团成员：张立华（人大代表）")
    expect(tablets[1].locator("#who")).to_have_text("评议团成员：赵晓梅（人大代表）")
    for p in phones:
        expect(p.locator(".stage h2")).to_have_text("会议尚未开始")
    expect(screen.locator(".screen-wait")).to_have_text("会议即将开始")
    expect(screen.locator("#code")).to_have_text(code)
    figure = host.locator(".figure")
    expect(figure.filter(has_text="群众在线").locator(".figure-value")).to_have_text("3")
    expect(figure.filter(has_text="评议团在线").locator(".figure-value")).to_have_text("2 / 9")
    expect(figure.filter(has_text="大屏").locator(".figure-value")).to_have_text("1")
    expect(screen.locator("#online")).to_have_text("群众在线 3 人　评议团 2/9")
    shot(host, "03-host-draft")
    shot(screen, "03-screen-draft", full=False)
    shot(tablets[0], "03-panel-draft")
    shot(phones[0], "03-phone-draft")
    shot(phones[1], "03-phone-joined-by-qr")
    shot(presenter, "03-presenter-draft")
    # -- results visibility, before 测评 begins: the demo's groups are small (2 tablets, 3 phones),
    # so the small-group guard is set to 2 here to keep the live split on screen.
    card = host.locator(".visibility-card")
    guard = card.get_by_label("小组保护人数")
    expect(guard).to_have_value("3")
    guard.fill("2")
    card.get_by_role("button", name="保存").click()
    expect(host.locator(".toast").filter(has_text="结果显示方式已保存")).to_be_visible()
    sync = SlideSync()

    advance(host, "开始会议", f"开始述法：{PRESENTERS[0]}")
    expect(screen.locator(".screen-wait")).to_have_text("请稍候，述法即将开始")

    for n, name in enumerate(PRESENTERS):
        first = n == 0
        item_id = next(i["id"] for i in stored_items(srv) if i["name"] == name)

        # -- 述法 · 质询 · 点评, followed by every screen
        for label, after, phase in [(f"开始述法：{name}", "进入质询", "述法"), ("进入质询", "进入点评", "质询"),
                                    ("进入点评", "开始测评", "点评")]:
            advance(host, label, after)
            expect(screen.locator(".screen-name")).to_have_text(name)
            expect(screen.locator(".screen-phase .phase")).to_have_text(phase)
            expect(phones[0].locator(".stage .phase")).to_have_text(phase)
            expect(tablets[0].locator(".stage .phase")).to_have_text(phase)
            if phase == "述法":
                # every screen shows the new presenter's deck from page 1
                for page, selector in [(presenter, PRESENTER_SLIDE), (screen, SCREEN_SLIDE), (phones[0], CARD_SLIDE),
                                       (tablets[0], CARD_SLIDE), (host, HOST_SLIDE)]:
                    expect_page(page, selector, 1, item_id)
                expect(presenter.locator("#slide-counter")).to_have_text("第 1 / 6 页")
            if first and phase == "述法":
                shot(host, "04-host-report")
                shot(screen, "04-screen-report", full=False)
                shot(phones[0], "04-phone-report")
                shot(tablets[0], "04-panel-report")
                shot(presenter, "04-presenter-report", full=False)
                timer_controls_once(host, screen)
                slides_during_report(srv, devices, presenter, screen, phones, tablets, host, sync)
                questions_during_report(srv, item_id, host, phones, tablets)
            elif phase == "述法":
                # one more turn per presenter, timed like the others
                turn_slide(presenter, "ArrowRight", 2, {"screen": (screen, SCREEN_SLIDE),
                                                       "phone": (phones[0], CARD_SLIDE)}, sync)
            if phase == "质询":
                # no slide outside 述法
                expect(screen.locator(SCREEN_SLIDE)).to_have_count(0)
                expect(phones[0].locator(".slide-card")).to_be_hidden()
                expect(presenter.locator("#slide-sync")).to_have_text("「质询」环节大屏不显示幻灯片")
            if first and phase == "质询":
                # one step back and forward again
                host.get_by_role("button", name="回退").click()
                expect(next_button(host)).to_have_text("进入质询")
                expect(screen.locator(".screen-phase .phase")).to_have_text("述法")
                advance(host, "进入质询", "进入点评")
                expect(screen.locator(".screen-phase .phase")).to_have_text("质询")
                question_on_stage(srv, item_id, host, screen, phones, tablets)

        # -- 测评
        advance(host, "开始测评", "结束测评")
        expect(screen.locator(".screen-phase .phase")).to_have_text("测评")
        for p in [*phones, *tablets]:
            expect(p.locator(".ballot-status")).to_have_text("尚未投票，请选择")
        panel_votes, phone_votes = VOTES[name]
        for tablet, choice in zip(tablets, panel_votes, strict=True):
            vote(tablet, choice)
        if first:
            # in the middle of 测评 phone 2 loses the network, votes twice, and comes back later
            phones[2].context.set_offline(True)
            expect(phones[2].locator(".offline-banner")).to_be_visible()
            expect(phones[2].locator(".offline-banner")).to_contain_text("网络已断开")
            vote_button(phones[2], "不满意").tap()  # then changes its mind, still offline
            vote_button(phones[2], phone_votes[2]).tap()
            expect(phones[2].locator(".ballot-status")).to_contain_text(
                f"网络已断开：「{phone_votes[2]}」尚未提交")
            shot(phones[2], "05-phone-offline-vote")
        vote(phones[0], phone_votes[0])
        vote(phones[1], CHANGED[name])
        vote(phones[1], phone_votes[1])  # the changed vote
        if first:
            # nothing from the offline phone has reached the server yet
            public_so_far = Counter(phone_votes[:2])
            # Four ballots: fewer than a batch (5), so the screen shows them at the catch-up (10 s).
            expect_tally(screen, {"panel": Counter(panel_votes), "public": public_so_far}, OPTIONS, timeout=15_000)
            expect_tally(host, {"panel": Counter(panel_votes), "public": public_so_far}, OPTIONS)
            assert sum(stored_ballots(srv, item_id)["public"].values()) == 2
            phones[2].context.set_offline(False)
            expect(phones[2].locator(".ballot-status")).to_have_text(f"✓ 已提交：{phone_votes[2]}")
            expect(phones[2].locator(".offline-banner")).to_be_hidden()
        else:
            vote(phones[2], phone_votes[2])

        # -- every ballot stored exactly once; the screen and the console show the stored counts
        expected = {"panel": Counter(panel_votes), "public": Counter(phone_votes)}
        # Screens get tallies in batches of 5 ballots, a straggler at the 10 s catch-up.
        expect_tally(screen, expected, OPTIONS, timeout=15_000)
        expect_tally(host, expected, OPTIONS)
        stored = stored_ballots(srv, item_id)
        assert stored == expected, (name, stored)
        keys = srv.query("SELECT voter_key, COUNT(*) FROM ballot WHERE item_id = ? GROUP BY voter_key", item_id)
        assert len(keys) == 5 and all(count == 1 for _, count in keys), keys
        if first:
            shot(screen, "06-screen-voting", full=False)
            shot(host, "06-host-voting")
            shot(phones[1], "06-phone-voting")
            shot(phones[2], "06-phone-back-online")
            shot(tablets[0], "06-panel-voting")
            shot(tablets[1], "06-panel2-voting")

        # -- close 测评 (a confirm dialog that names the ballot count), and the frozen result
        following = f"开始述法：{PRESENTERS[n + 1]}" if n + 1 < len(PRESENTERS) else "结束会议"
        confirm(host, "结束测评", "当前已收到 5 张选票", following, f"07-host-confirm-close-voting-{n + 1}",
                cancel_first=first)
        item = next(i for i in stored_items(srv) if i["id"] == item_id)
        assert item["phase"] == "done" and item["result"]["ballots"] == 5, item
        want = result_facts(item["result"])
        expect(screen.locator(".screen-facts")).to_be_visible()
        assert facts(screen, ".screen-facts") == want
        expect(phones[0].locator(".ballot-closed")).to_contain_text(f"「{name}」测评已结束")
        expect(phones[1].locator(".my-choice")).to_have_text(f"您的选择：{phone_votes[1]}")
        assert facts(phones[0], ".ballot-closed .facts") == {**want, "票数": "5"}
        expect(tablets[1].locator(".agenda li").nth(n).locator(".voted-mark")).to_have_text("✓ 已评")
        if first:
            shot(screen, "07-screen-result", full=False)
            shot(phones[0], "07-phone-result")
            shot(tablets[1], "07-panel-result")
            shot(host, "07-host-result")

    # -- end of the meeting: the big screen's ranking is the stored one
    confirm(host, "结束会议", "大屏将显示排名", "会议已结束", "08-host-confirm-end-meeting")
    expect(next_button(host)).to_be_disabled()
    expect(screen.locator(".screen-ranking")).to_be_visible()
    for p in [*phones, *tablets]:
        expect(p.locator(".stage h2")).to_have_text("会议已结束")
    items = stored_items(srv)
    assert all(i["phase"] == "done" and i["result"] for i in items), items
    by_id = {i["id"]: i for i in items}
    entries = rank({i["id"]: ItemResult.from_dict(i["result"]) for i in items})
    want_rows = [[str(e.rank), by_id[e.item]["name"], by_id[e.item]["post"], by_id[e.item]["result"]["total_display"],
                  by_id[e.item]["result"]["grade"] or "", by_id[e.item]["result"]["satisfaction_rate_display"] or ""]
                 for e in entries]
    shown_rows = screen.locator(".screen-ranking tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")
    assert shown_rows == want_rows
    for e in entries:
        assert e.total_display == by_id[e.item]["result"]["total_display"]
    # the console's agenda shows the same stored results
    for i in items:
        r = i["result"]
        parts = [f"{r['total_display']} 分", r["grade"], f"满意率 {r['satisfaction_rate_display']}"]
        text = " ".join(p for p in parts if p)
        row = host.locator(".agenda-table tbody tr").nth(i["position"] - 1)
        expect(row.locator("td").nth(4)).to_have_text(text)
    assert srv.query("SELECT COUNT(*) FROM ballot")[0][0] == 15
    assert srv.query("SELECT status FROM meeting")[0][0] == "ended"
    shot(screen, "08-screen-ranking", full=False)
    shot(host, "08-host-ended")
    shot(phones[0], "08-phone-ended")
    shot(tablets[0], "08-panel-ended")
    shot(presenter, "08-presenter-ended", full=False)
    expect(presenter.locator("#slide-current")).to_contain_text("会议已结束")

    # -- the signed record: the root in full with its QR under the final ranking; then the host
    # publishes and a 360 px phone reads /r/CODE
    root = srv.query("SELECT root FROM meeting_record")[0][0]
    assert srv.query("SELECT signature FROM meeting_record")[0][0]  # the demo made a signing key
    expect(screen.locator(".screen-record .record-root")).to_have_text(root)
    expect(screen.locator(".screen-record .record-qr")).to_have_js_property("complete", True)
    assert screen.locator(".screen-record .record-qr").evaluate("img => img.naturalWidth") > 0
    host.get_by_role("button", name="公开成绩（/r/ 页面）").click()
    expect(host.get_by_role("link", name="打开公开页面")).to_be_visible()
    public = devices.open("public", f"/r/{srv.code}", 360, 740, phone=True)
    expect(public.locator(".ranking-table tbody tr")).to_have_count(3)
    expect(public.locator(".record-root")).to_have_text(root)
    expect(public.locator(".presenter-card")).to_have_count(3)
    assert public.evaluate("document.documentElement.scrollWidth") <= 360
    shot(public, "09-public-results")

    # -- the slide sync figures: reported always; only a generous bound is asserted (in turn_slide)
    report = sync.report()
    print("\n" + report)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "slide-sync.txt").write_text(report + "\n", encoding="utf-8")
    assert len(sync.delays["screen"]) >= 8 and len(sync.delays["phone"]) >= 8, sync.delays
    if max(max(ds) for ds in sync.delays.values()) >= 200:
        print("note: some turns took 200 ms or more (the aim on loopback), see above")
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()


def slides_during_report(srv: Live, devices: Devices, presenter: Page, screen: Page, phones: list[Page],
                         tablets: list[Page], host: Page, sync: SlideSync) -> None:
    """The presenter turns pages with the keyboard; the big screen and a phone are timed; then a late joiner."""
    followers = {"screen": (screen, SCREEN_SLIDE), "phone": (phones[0], CARD_SLIDE)}
    for key, target in [("ArrowRight", 2), ("PageDown", 3), ("Space", 4), ("ArrowRight", 5), ("End", 6),
                        ("ArrowLeft", 5), ("PageUp", 4)]:
        turn_slide(presenter, key, target, followers, sync)
    expect(presenter.locator("#slide-counter")).to_have_text("第 4 / 6 页")
    expect(presenter.locator("#slide-sync")).to_have_text("大屏已同步")
    expect(presenter.locator("#slide-strip .thumb[aria-current=page]")).to_have_attribute("data-page", "4")
    for page, selector in [(phones[1], CARD_SLIDE), (phones[2], CARD_SLIDE), (tablets[0], CARD_SLIDE),
                           (tablets[1], CARD_SLIDE), (host, HOST_SLIDE)]:
        expect_page(page, selector, 4)
    expect(phones[0].locator(".slide-caption")).to_contain_text("第 4 / 6 页")
    shot(presenter, "04-presenter-turned", full=False)
    shot(screen, "04-screen-slide", full=False)
    shot(phones[0], "04-phone-slide")
    shot(tablets[1], "04-panel-slide")
    # a phone that arrives now sees the current page at once, then leaves again
    late = devices.open("phone-late", f"/j/{srv.code}", 360, 740, phone=True)
    expect_page(late, CARD_SLIDE, 4)
    expect(late.locator(".slide-caption")).to_contain_text("第 4 / 6 页")
    sync.late_joiner_ms = late.locator(CARD_SLIDE).evaluate(
        "e => Number(e.dataset.slideShownAt) - performance.timeOrigin")
    shot(late, "04-phone-late-joiner")
    late.context.close()


# The two questions of the first presenter: one from a tablet (public at once), one from a phone.
PANEL_QUESTION = "请介绍本单位行政复议纠错案件的整改情况。"
PUBLIC_QUESTION = "农村道路硬化什么时候能完成？"


def questions_during_report(srv: Live, item_id: int, host: Page, phones: list[Page], tablets: list[Page]) -> None:
    """A tablet and a phone ask; the host approves the phone's question; the phones list both; one upvote."""
    ask_on_tablet(tablets[0], PANEL_QUESTION)
    ask_on_phone(phones[0], PUBLIC_QUESTION)
    # the phone's question waits in the host's queue, not on any public screen
    row = host.locator(".voice-mod .mod-row").filter(has_text=PUBLIC_QUESTION)
    expect(row).to_have_count(1)
    expect(host.locator(".voice-mod .mod-total")).to_have_text("待审 1")
    expect(phone_question(phones[1], PUBLIC_QUESTION)).to_have_count(0)
    expect(phone_question(phones[1], PANEL_QUESTION)).to_have_count(1)
    shot(host, "04-host-moderation")
    row.get_by_role("button", name="通过").click()
    expect(row).to_have_count(0)
    expect(host.locator(".voice-mod .mod-total")).to_have_text("无待审")
    expect(host_question(host, PUBLIC_QUESTION)).to_have_count(1)
    # every phone lists the approved questions, in the host's order
    for phone in phones:
        expect(phone.locator(".voice-questions .voice-q-text")).to_have_text([PANEL_QUESTION, PUBLIC_QUESTION])
        expect(phone_question(phone, PANEL_QUESTION).locator(".voice-q-who")).to_have_text("张立华（评议团）")
        expect(phone_question(phone, PANEL_QUESTION).locator(".voice-upvote")).to_have_count(0)  # panel's: no upvotes
    expect(tablets[1].locator(".voice-panel .voice-q-text")).to_have_text([PANEL_QUESTION, PUBLIC_QUESTION])
    # phone 1 upvotes the public question, once
    up = phone_question(phones[1], PUBLIC_QUESTION).locator(".voice-upvote")
    expect(up).to_have_attribute("aria-pressed", "false")
    up.tap()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(up).to_be_disabled()
    expect(up).to_have_text("1")
    expect(phone_question(phones[2], PUBLIC_QUESTION).locator(".voice-upvote")).to_have_text("1")
    expect(host_question(host, PUBLIC_QUESTION).locator(".voice-q-votes")).to_have_text("赞 1")
    assert stored_questions(srv, item_id) == [("panel", "approved", PANEL_QUESTION, 0),
                                              ("public", "approved", PUBLIC_QUESTION, 1)]
    assert srv.query("SELECT COUNT(*) FROM question_upvote")[0][0] == 1
    shot(phones[1], "04-phone-questions")
    shot(tablets[0], "04-panel-questions")


def question_on_stage(srv: Live, item_id: int, host: Page, screen: Page, phones: list[Page],
                      tablets: list[Page]) -> None:
    """During 质询 the host picks the phone's question: the big screen shows it, phones mark it; then answered."""
    host_question(host, PUBLIC_QUESTION).get_by_role("button", name="开始质询").click()
    expect(host.locator(".vq-current .vq-current-text")).to_have_text(PUBLIC_QUESTION)
    question = screen.locator(".screen-question")
    expect(question).to_be_visible()
    expect(question.locator(".sq-tag")).to_have_text("正在质询")
    expect(question.locator(".sq-text")).to_have_text(PUBLIC_QUESTION)
    expect(question.locator(".sq-who")).to_have_text("来源 网络提问")
    expect(question.locator(".sq-clock")).to_have_text(re.compile(r"^答复 0[23]:\d\d$"))
    for phone in phones:
        expect(phone_question(phone, PUBLIC_QUESTION).locator(".voice-badge-current")).to_have_text("正在质询")
    expect(tablets[0].locator(".voice-panel .voice-q.is-current .voice-q-text")).to_have_text(PUBLIC_QUESTION)
    shot(screen, "05-screen-question", full=False)
    shot(host, "05-host-question")
    shot(phones[0], "05-phone-question")
    shot(tablets[0], "05-panel-question")
    picked = srv.query("SELECT q.content FROM meeting_interaction i JOIN question q ON q.id = i.current_question_id")
    assert picked == [(PUBLIC_QUESTION,)], picked
    # answered: it leaves the big screen and is marked on the phones
    host.locator(".vq-current").get_by_role("button", name="答复完毕").click()
    expect(question).to_be_hidden()
    expect(phone_question(phones[0], PUBLIC_QUESTION).locator(".voice-badge-done")).to_have_text("已答复")
    answered = srv.query("SELECT answered FROM question WHERE content = ?", PUBLIC_QUESTION)
    assert answered == [(1,)], answered


def timer_controls_once(host: Page, screen: Page) -> None:
    """Pause, +1 minute and resume the running 述法 timer; the big screen follows."""
    clock = host.locator(".control .countdown")
    controls = host.locator(".timer-controls")
    controls.get_by_role("button", name="暂停").click()
    expect(controls.get_by_role("button", name="继续")).to_be_visible()
    expect(clock).to_have_class(re.compile(r"\bpaused\b"))
    paused = clock.inner_text().strip()
    expect(screen.locator(".screen-clock")).to_have_text(paused)
    expect(screen.locator(".screen-clock")).to_have_class(re.compile(r"\bpaused\b"))
    mm, ss = (int(x) for x in paused.split(":"))
    longer = mm * 60 + ss + 60
    controls.get_by_role("button", name="+1分钟").click()
    expect(clock).to_have_text(f"{longer // 60:02d}:{longer % 60:02d}")
    expect(screen.locator(".screen-clock")).to_have_text(f"{longer // 60:02d}:{longer % 60:02d}")
    shot(screen, "04-screen-timer-paused", full=False)
    controls.get_by_role("button", name="继续").click()
    expect(controls.get_by_role("button", name="暂停")).to_be_visible()
    expect(screen.locator(".screen-clock")).not_to_have_class(re.compile(r"\bpaused\b"))


# ---- accessibility ---------------------------------------------------------------------------------

# Every visible form control, button and link, with its accessible name computed the simple way:
# aria-labelledby, aria-label, <label>, text, alt of an image inside, title.
UNNAMED_JS = """
() => {
  const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"
    && !e.closest("[aria-hidden=true]");
  const name = (e) => {
    const by = e.getAttribute("aria-labelledby");
    if (by) return by.split(/\\s+/).map((id) => (document.getElementById(id) || {}).textContent || "").join(" ");
    if (e.getAttribute("aria-label")) return e.getAttribute("aria-label");
    if (e.labels && e.labels.length) return [...e.labels].map((l) => l.textContent).join(" ");
    if (e.matches("button, a")) {
      const t = e.textContent + [...e.querySelectorAll("img[alt]")].map((i) => i.alt).join(" ");
      if (t.trim()) return t;
    }
    if (e.matches("input[type=submit], input[type=button]")) return e.value;
    return e.getAttribute("title") || "";
  };
  return [...document.querySelectorAll("input:not([type=hidden]), button, select, textarea, a[href]")]
    .filter(visible).filter((e) => !name(e).trim()).map((e) => e.outerHTML.slice(0, 160));
}
"""

# Contrast (WCAG 2) of every visible text node's element and every filled-in field against the
# background it sits on (ancestor backgrounds blended down to the page). Disabled controls are
# exempt (WCAG 1.4.3: inactive user interface components).
CONTRAST_JS = """
(minimum) => {
  const parse = (s) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(s);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const blend = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const background = (e) => {
    const layers = [];
    for (let n = e; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    return layers.reverse().reduce((acc, c) => blend(c, acc), [255, 255, 255, 1]);
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const opacity = (e) => {
    let o = 1;
    for (let n = e; n; n = n.parentElement) o *= Number(getComputedStyle(n).opacity);
    return o;
  };
  const out = [];
  const seen = new Set();
  const check = (e, text) => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.closest(":disabled, [aria-hidden=true]") || !e.getClientRects().length) return;
    const cs = getComputedStyle(e);
    if (cs.visibility === "hidden") return;
    const bg = background(e);
    const fg = parse(cs.color);
    fg[3] *= opacity(e);
    const ratio = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const r = ratio(lum(blend(fg, bg)), lum(bg));
    if (r < minimum) out.push({ text: text.trim().slice(0, 40), ratio: Math.round(r * 100) / 100,
                                color: cs.color, background: `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})`,
                                element: e.outerHTML.slice(0, 120) });
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (t.textContent.trim() && t.parentElement) check(t.parentElement, t.textContent);
  }
  for (const e of document.querySelectorAll("input:not([type=hidden]):not([type=range]), textarea, select")) {
    if (e.value) check(e, e.value);
  }
  return out;
}
"""


def assert_accessible(page: Page, where: str) -> None:
    unnamed = page.evaluate(UNNAMED_JS)
    assert not unnamed, f"{where}: controls without an accessible name: {unnamed}"
    low = page.evaluate(CONTRAST_JS, 4.5)
    assert not low, f"{where}: text below 4.5:1 contrast: {low}"


def tab_to_primary(host: Page, label: str) -> None:
    """Move the focus to the console's primary button with Tab only."""
    btn = next_button(host)
    expect(btn).to_have_text(label)
    expect(btn).to_be_enabled()  # disabled for a moment after it changed meaning; Tab skips it then
    for _ in range(120):
        if btn.evaluate("b => b === document.activeElement"):
            return
        host.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached the primary button「{label}」")


def press_primary(host: Page, label: str, after: str) -> None:
    tab_to_primary(host, label)
    host.keyboard.press("Enter")
    expect(next_button(host)).to_have_text(after)


@pytest.mark.timeout(120)
def test_console_and_phone_accessibility(live_server: Live, devices: Devices) -> None:
    srv = live_server
    host = devices.open("host", f"/host/{srv.code}", 1440, 1000)
    expect(host.locator("input[name=password]")).to_be_focused()
    assert_accessible(host, "host login")
    host.keyboard.type(srv.password)
    host.keyboard.press("Enter")
    expect(next_button(host)).to_have_text("开始会议")
    phone = devices.open("phone", f"/j/{srv.code}", 360, 740, phone=True)
    expect(phone.locator(".stage h2")).to_have_text("会议尚未开始")

    # the console driven by the keyboard alone, through to 测评
    press_primary(host, "开始会议", "开始述法：马文亮")
    press_primary(host, "开始述法：马文亮", "进入质询")
    press_primary(host, "进入质询", "进入点评")
    press_primary(host, "进入点评", "开始测评")
    press_primary(host, "开始测评", "结束测评")
    expect(phone.locator(".btn-vote")).to_have_count(4)
    vote(phone, "满意")

    # names and contrast with everything on screen: timer controls, panel links, a selected ballot
    host.get_by_role("button", name="显示评议团个人链接").click()
    expect(host.locator(".panel-link")).to_have_count(9)
    expect(host.locator(".tally-public .tally-count")).to_have_text("1 票")
    shot(host, "a11y-host-voting")
    shot(phone, "a11y-phone-voting")
    assert_accessible(host, "host console")
    assert_accessible(phone, "phone")

    # the confirm dialog, by keyboard too: focus starts on 取消, Tab to the confirming button
    tab_to_primary(host, "结束测评")
    host.keyboard.press("Enter")
    dialog = host.locator("dialog.confirm")
    expect(dialog).to_be_visible()
    assert_accessible(host, "host confirm dialog")
    expect(dialog.locator("button[value=cancel]")).to_be_focused()
    host.keyboard.press("Tab")
    expect(dialog.locator("button[value=ok]")).to_be_focused()
    host.keyboard.press("Enter")
    expect(next_button(host)).to_have_text("开始述法：李秀英")
    expect(phone.locator(".ballot-closed")).to_be_visible()
    assert_accessible(phone, "phone after 测评")
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()



def test_panel_link_binds_and_secret_ballot_is_final(live_server: Live, devices: Devices) -> None:
    srv = live_server
    with contextlib.closing(sqlite3.connect(srv.db, timeout=10)) as conn:
        conn.execute("UPDATE meeting SET secret = 1")  # before anyone joins: the runtime loads it so
        conn.commit()
    tablet = devices.open("panel0", srv.panel_paths[0], 1024, 768, touch=True)
    expect(tablet.locator("#who")).to_have_text("评议团成员：张立华（人大代表）")
    # The token is gone from the address bar and from history once claimed.
    assert "#" not in tablet.url and "t=" not in tablet.url and re.search(r"/p/[A-Z2-9]+\?m=\d+$", tablet.url)
    # The same link, forwarded to a second device, is refused there.
    other = devices.open("panel0-forwarded", srv.panel_paths[0], 1024, 768, touch=True)
    expect(other.locator(".fatal-message")).to_have_text("该评议链接已在另一台设备上使用，请联系主持人解除绑定")
    host = devices.open("host", f"/host/{srv.code}", 1440, 1000)
    host.fill("input[name=password]", srv.password)
    host.click("button[type=submit]")
    for before, after in [("开始会议", "开始述法：马文亮"), ("开始述法：马文亮", "进入质询"), ("进入质询", "进入点评"),
                          ("进入点评", "开始测评"), ("开始测评", "结束测评")]:
        advance(host, before, after)
    expect(tablet.locator(".ballot-secret-note")).to_have_text("不记名测评：提交后不可更改，也无法查看本人选择。")
    vote_button(tablet, "满意").tap()  # a tap only picks: a secret ballot is sent by the confirm button
    confirm_button = tablet.locator(".btn-confirm")
    expect(confirm_button).to_have_text("确认提交「满意」")
    confirm_button.tap()
    status = tablet.locator(".ballot-status")
    expect(status).to_have_text("✓ 已提交。不记名测评：提交后不可更改，也无法查看本人选择")
    expect(vote_button(tablet, "不满意")).to_be_disabled()
    shot(tablet, "secret-panel-voted")
    # After a reload the tablet knows it voted, not what; nothing can be changed.
    tablet.reload()
    expect(status).to_have_text("✓ 已提交。不记名测评：提交后不可更改，也无法查看本人选择")
    expect(vote_button(tablet, "满意")).to_be_disabled()
    assert srv.query("SELECT voter_key, cast_at_ms FROM ballot") == [(None, None)]
    assert len(srv.query("SELECT * FROM participation")) == 1
    # The host can release the link; the next device to open it gets it.
    host.get_by_role("button", name="显示评议团个人链接").click()
    host.locator(".panel-link").first.get_by_role("button", name="解除设备绑定").click()
    host.locator("dialog.confirm button[value=ok]").click()
    expect(tablet.locator(".fatal-message")).to_contain_text("解除")
    third = devices.open("panel0-new-tablet", srv.panel_paths[0], 1024, 768, touch=True)
    expect(third.locator("#who")).to_have_text("评议团成员：张立华（人大代表）")
    expect(third.locator(".ballot-status")).to_have_text("✓ 已提交。不记名测评：提交后不可更改，也无法查看本人选择")
    assert not [p for p in devices.problems if "409" not in p], devices.problems
    srv.assert_no_server_errors()


# ---- the host's health banner ------------------------------------------------------------------

class RedisServer:
    """A private, throwaway redis-server (no persistence) that the test can kill and restart."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                          "--save", "", "--appendonly", "no"], stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.ping():
            assert self.proc.poll() is None, f"redis-server exited: {self.log.read_text(errors='replace')}"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def key_paper(page: Page, sheet: str, counts: dict[str, int]) -> Locator:
    """Key one bundle of paper sheets into 群众 on a console or recorder page; the outcome line."""
    card = page.locator(".paper-card")
    card.get_by_label("投票组").select_option(label="开放投票（未实名）")
    card.get_by_label("表号（或批次号）").fill(sheet)
    for option, n in counts.items():
        card.get_by_label(f"「{option}」张数").fill(str(n))
    card.get_by_role("button", name="录入").click()
    return card.locator(".paper-outcome")


@pytest.mark.timeout(180)
def test_paper_sheets_keyed_twice_on_console_and_recorder_page(live_server: Live, devices: Devices) -> None:
    srv = live_server
    host = devices.open("host", f"/host/{srv.code}", 1440, 1000)
    host.fill("input[name=password]", srv.password)
    host.click("button[type=submit]")
    card = host.locator(".paper-card")
    expect(card).to_contain_text("当前没有述法人处于测评中")
    advance(host, "开始会议", "开始述法：马文亮")
    advance(host, "开始述法：马文亮", "进入质询")
    advance(host, "进入质询", "进入点评")
    advance(host, "进入点评", "开始测评")
    advance(host, "开始测评", "结束测评")
    expect(card).to_contain_text("正在录入：第 1 位述法人 马文亮")
    link = host.request.get(f"{srv.base}/api/meetings/{srv.code}/recorder").json()["url"]
    recorder = devices.open("recorder", link, 1280, 900)
    expect(recorder.locator(".paper-card")).to_contain_text("正在录入：第 1 位述法人 马文亮")

    # First keying on the console, a slip on the recorder's page: both see both figures.
    expect(key_paper(host, "001", {"满意": 3, "基本满意": 1})).to_contain_text("须由另一人")
    expect(recorder.locator(".paper-entry")).to_contain_text("待复核：请按原表再录入一次", timeout=8_000)
    expect(recorder.locator(".paper-entry")).not_to_contain_text("满意")  # blind: no figures before keying
    expect(key_paper(recorder, "001", {"满意": 3, "基本满意": 2})).to_contain_text("不一致")
    for page in (host, recorder):
        row = page.locator(".paper-entry.paper-mismatch .paper-diff tbody tr")
        expect(row).to_have_count(1, timeout=8_000)
        expect(row).to_contain_text("基本满意")
    shot(recorder, "09-recorder-paper-mismatch")
    # Closing now is refused, naming the sheet.
    next_button(host).click()
    host.locator("dialog.confirm button[value=ok]").click()
    expect(host.locator(".toast").filter(has_text="表号 001")).to_be_visible()
    # Discarded on the recorder's page, keyed afresh twice alike: it counts.
    recorder.locator(".paper-entry").get_by_role("button", name="作废").click()
    expect(recorder.locator(".paper-entry")).to_have_count(0)
    expect(key_paper(recorder, "001", {"满意": 3, "基本满意": 1})).to_contain_text("须由另一人")
    expect(key_paper(host, "001", {"满意": 3, "基本满意": 1})).to_contain_text("已计入 4 张")
    expect(host.locator(".tally-public .tally-count")).to_have_text("4 票")
    expect(bar_value(host, "public", "满意")).to_have_text("3（75%）")
    shot(host, "09-host-paper-confirmed")
    keys = srv.query("SELECT source, voter_key, COUNT(*) FROM ballot GROUP BY source, voter_key")
    assert keys == [("paper", None, 4)], keys
    assert not devices.problems, devices.problems


@pytest.mark.timeout(180)
def test_hidden_results_wait_for_the_reveal_and_small_groups_stay_unsplit(live_server: Live, devices: Devices) -> None:
    srv = live_server
    host = devices.open("host", f"/host/{srv.code}", 1440, 1000)
    host.fill("input[name=password]", srv.password)
    host.click("button[type=submit]")
    card = host.locator(".visibility-card")
    card.get_by_label("显示方式").select_option(label="结果待主持人揭晓")
    card.get_by_role("button", name="保存").click()
    expect(host.locator(".toast").filter(has_text="结果显示方式已保存")).to_be_visible()
    screen = devices.open("screen", f"/screen/{srv.code}", 1920, 1080)
    phones = [devices.open(f"phone{i}", f"/j/{srv.code}", 360, 740, phone=True) for i in range(2)]
    advance(host, "开始会议", "开始述法：马文亮")
    advance(host, "开始述法：马文亮", "进入质询")
    advance(host, "进入质询", "进入点评")
    advance(host, "进入点评", "开始测评")
    advance(host, "开始测评", "结束测评")
    expect(card.get_by_label("显示方式")).to_be_disabled()
    for phone, choice in zip(phones, ["满意", "不满意"], strict=True):
        vote(phone, choice)
    # The host sees how many voted, never the split; the big screen sees nothing at all.
    expect(host.locator(".tally-public .tally-count")).to_have_text("2 票")
    expect(host.locator(".tally-public .tally-note")).to_have_text("投票中仅显示票数")
    expect(screen.locator(".screen-wait")).to_have_text("测评进行中，结果将于测评结束后由主持人公布")
    expect(screen.locator(".tally")).to_have_count(0)
    confirm(host, "结束测评", "当前已收到 2 张选票", "开始述法：李秀英", "10-host-close-hidden")
    expect(screen.locator(".screen-wait")).to_have_text("测评已结束，结果待主持人揭晓")
    expect(phones[0].locator(".ballot-closed .facts")).to_have_count(0)
    # The host's results card has the whole result; the screen gets the public one on reveal.
    expect(host.locator(".results-card .item-result-sum")).to_contain_text("未揭晓")
    shot(screen, "10-screen-hidden", full=False)
    host.get_by_role("button", name="揭晓「马文亮」的测评结果").click()
    expect(screen.locator(".screen-facts")).to_be_visible()
    # Two phone ballots: under the guard (3), no group's split or mean is on the screen.
    expect(screen.locator(".guard-note")).to_be_visible()
    public_row = screen.locator(".group-table tbody tr").filter(has_text="开放投票（未实名）")
    expect(public_row).to_contain_text("人数较少")
    expect(public_row.locator("td").nth(1)).to_have_text("—")
    shot(screen, "10-screen-revealed", full=False)
    assert not devices.problems, devices.problems


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_host_health_banner_while_redis_is_down(tmp_path: Path, pg_url: str, browser: Browser) -> None:
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server on PATH (apt-get install redis-server) to kill and restart the bus")
    redis = RedisServer(free_port(), tmp_path / "redis.log")
    redis.start()
    try:
        data = tmp_path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}
        env.update(LIVE_DATA_DIR=str(data), LIVE_DATABASE_URL=pg_url,
                   LIVE_REDIS_URL=f"redis://127.0.0.1:{redis.port}/0", LIVE_REDIS_CHANNEL=f"live:test:{redis.port}")
        spec = ROOT / "assets" / "demo_meeting.json"
        out = subprocess.run([sys.executable, "-m", "live.cli", "meeting", "create", str(spec),
                              "--database-url", pg_url, "--data-dir", str(data)],
                             capture_output=True, text=True, check=True, cwd=ROOT, env=env, timeout=60).stdout
        code = re.search(r"会议码 ([A-Z2-9]{6})", out)
        password = re.search(r"主持人密码\s+(\S+)", out)
        assert code and password, out
        log = tmp_path / "server.log"
        with serve(data, env, log) as base:
            devices = Devices(browser, base)
            try:
                host = devices.open("host", f"/host/{code[1]}", 1440, 1000)
                host.fill("input[name=password]", password[1])
                host.click("button[type=submit]")
                expect(next_button(host)).to_have_text("开始会议")
                banner = host.locator(".health-banner")
                expect(banner).to_be_hidden()
                assert httpx.get(f"{base}/healthz").json()["broker"] == "redis"

                redis.kill()
                # the console polls /healthz every 5 s; the broker notices at once (its subscription drops)
                expect(banner).to_be_visible(timeout=20_000)
                expect(banner).to_contain_text("降级")
                assert httpx.get(f"{base}/healthz").json()["broker"] == "degraded"
                shot(host, "09-host-degraded", full=False)
                # the console still works while degraded: the meeting starts and is stored
                advance(host, "开始会议", "开始述法：马文亮")

                redis.start()  # the same port: the broker reconnects by itself (backoff up to 5 s)
                expect(banner).to_be_hidden(timeout=20_000)
                assert httpx.get(f"{base}/healthz").json()["broker"] == "redis"
                shot(host, "09-host-recovered", full=False)
                assert not devices.problems, devices.problems
            finally:
                devices.close()
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, text[-4000:]
    finally:
        redis.kill()


# ---- the shipped web font and the error pages -------------------------------------------------

FONT_LOADED_JS = """async () => {
  await document.fonts.ready;
  const family = getComputedStyle(document.body).fontFamily;
  const faces = [...document.fonts].filter(f => f.family.replace(/"/g, '') === 'Noto Sans SC Live');
  const loaded = faces.filter(f => f.status === 'loaded').length;
  const files = performance.getEntriesByType('resource').map(e => e.name).filter(n => n.endsWith('.woff2'));
  return {family, faces: faces.length, loaded, files};
}"""


@pytest.mark.timeout(120)
def test_web_font_and_error_pages(live_server: Live, devices: Devices) -> None:
    srv = live_server
    woff2 = httpx.get(f"{srv.base}/static/fonts/noto-sans-sc-everyday.woff2")
    assert woff2.status_code == 200 and woff2.headers["content-type"] == "font/woff2"
    assert woff2.content[:4] == b"wOF2"
    # the big screen and the console draw Chinese with the shipped font, whatever the PC has
    screen = devices.open("screen", f"/screen/{srv.code}", 1280, 720)
    host = devices.open("host", f"/host/{srv.code}", 1440, 900)
    for page in (screen, host):
        expect(page.locator("h1").first).not_to_be_empty()
        font = page.evaluate(FONT_LOADED_JS)
        assert font["family"].startswith('"Noto Sans SC Live"'), font
        assert font["faces"] == 2 and font["loaded"] >= 1, font
        # only the everyday part is fetched for everyday text
        assert [f.rsplit("/", 1)[1] for f in font["files"]] == ["noto-sans-sc-everyday.woff2"], font
    # a rare character in a name fetches the second part, and it has the glyph
    rare = screen.evaluate("""async () => {
      await document.fonts.load('32px "Noto Sans SC Live"', '\\u{2CC56}\\u4DAE');
      return document.fonts.check('32px "Noto Sans SC Live"', '\\u{2CC56}\\u4DAE');
    }""")
    assert rare is True
    # a wrong meeting code on a small phone: a styled Chinese page that fits, with a way back
    for width in (360, 320):
        phone = devices.open(f"phone{width}", "/j/ZZZZZZ", width, 640, phone=True)
        expect(phone.locator("h2")).to_have_text("会议码不存在")
        assert phone.evaluate("document.documentElement.scrollWidth") <= width
        size = phone.locator(".error-box p").nth(1).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 16
        back = phone.get_by_role("link", name="返回首页，输入会议码")
        expect(back).to_be_visible()
        shot(phone, f"error-404-phone-{width}")
        back.click()
        expect(phone.locator("input[name=code]")).to_be_visible()
    wrong = devices.open("wrong-screen", "/screen/ZZZZZZ", 1280, 720)
    expect(wrong.locator("h2")).to_have_text("会议码不存在")
    # the browser logs each 404 answer itself; nothing else may go wrong
    unexpected = [p for p in devices.problems if "status of 404 (Not Found)" not in p]
    assert not unexpected, unexpected
    srv.assert_no_server_errors()


# ---- the hall's screens: defects found in a run-through (issue 15) --------------------------------

BOX_JS = "e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; }"


def box(page: Page, selector: str) -> dict[str, float]:
    return page.locator(selector).first.evaluate(BOX_JS)


def assert_centred_lobby(screen: Page, text: str, where: str) -> None:
    """The lobby's message sits in the middle of the stage, not bottom-left with the rest empty."""
    expect(screen.locator(".screen-lobby .screen-wait")).to_have_text(text)
    stage, wait = box(screen, ".screen-stage"), box(screen, ".screen-lobby .screen-wait")
    cx, cy = wait["x"] + wait["w"] / 2, wait["y"] + wait["h"] / 2
    assert abs(cx - (stage["x"] + stage["w"] / 2)) < stage["w"] * 0.1, (where, stage, wait)
    assert stage["y"] + stage["h"] * 0.15 < cy < stage["y"] + stage["h"] * 0.6, (where, stage, wait)
    # the lobby's content (message, date, agenda) spans much of the stage's height
    lobby = box(screen, ".screen-lobby .screen-agenda")
    assert lobby["y"] + lobby["h"] - wait["y"] > stage["h"] * 0.35, (where, stage, wait, lobby)


def assert_sidebar_phrases_on_one_line(screen: Page, where: str) -> None:
    heights = screen.locator(".join-hint span, .join-online span").evaluate_all(
        "spans => spans.map(s => [s.textContent, s.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(s).fontSize)])")
    assert len(heights) == 5, (where, heights)  # 扫码参与测评 / 或访问 host / 输入会议码; 群众在线 / 评议团
    for text, lines in heights:
        assert lines < 1.9, f"{where}: 「{text}」 wraps ({lines:.1f} lines)"


def assert_bars(page: Page, width_share: float | None, where: str) -> list[str]:
    """Each bar's fill width (as set); with a share, the bars' track is that part of the window wide at least."""
    widths = page.locator(".tally .bar-fill").evaluate_all("fs => fs.map(f => f.style.width)")
    if width_share is not None:
        vw = page.viewport_size["width"]  # type: ignore[index]
        track = page.locator(".tally .bar").first.evaluate("b => b.getBoundingClientRect().width")
        assert track >= vw * width_share, f"{where}: bars {track:.0f} px wide in a {vw} px window"
        tally, stage = box(page, ".tally"), box(page, ".screen-stage")
        assert tally["y"] + tally["h"] <= stage["y"] + stage["h"] + 1, f"{where}: the tally runs off the stage"
    return widths


@pytest.mark.timeout(240)
def test_hall_screens_defects(live_server: Live, devices: Devices) -> None:
    srv = live_server
    code = srv.code
    host = devices.open("host", f"/host/{code}", 1440, 1000)
    host.fill("input[name=password]", srv.password)
    host.click("button[type=submit]")
    expect(next_button(host)).to_have_text("开始会议")
    screens = {size: devices.open(f"screen{size[0]}", f"/screen/{code}", *size) for size in ((1920, 1080), (1280, 720))}
    tablet = devices.open("panel", srv.panel_paths[0], 1024, 768, touch=True)
    presenter = devices.open("presenter", f"/presenter/{code}", 1280, 800, cookies=host.context.cookies())
    expect(tablet.locator("#who")).to_contain_text("张立华")

    # the lobby, before and after 开始会议: centred, and the sidebar's phrases do not wrap
    for size, screen in screens.items():
        assert_centred_lobby(screen, "会议即将开始", f"draft {size}")
        expect(screen.locator("#online")).to_contain_text("评议团 1/9")
        assert_sidebar_phrases_on_one_line(screen, f"{size}")
        shot(screen, f"hall-lobby-draft-{size[0]}", full=False)
    # the presenter view has no empty 下一页 box when there is no deck on show
    expect(presenter.locator("#slide-current")).to_contain_text("尚无进行中的述法人")
    expect(presenter.locator(".presenter-next-card")).to_be_hidden()
    advance(host, "开始会议", f"开始述法：{PRESENTERS[0]}")
    for size, screen in screens.items():
        assert_centred_lobby(screen, "请稍候，述法即将开始", f"live lobby {size}")
        shot(screen, f"hall-lobby-live-{size[0]}", full=False)

    # 质询: a question picked and never answered does not stay 正在质询 through later presenters
    advance(host, f"开始述法：{PRESENTERS[0]}", "进入质询")
    expect(presenter.locator(".presenter-next-card")).to_be_visible()  # a deck is on show: its next page
    advance(host, "进入质询", "进入点评")
    ask_on_tablet(tablet, "行政复议纠错率为何偏高？")
    host_question(host, "行政复议纠错率为何偏高？").get_by_role("button", name="开始质询").click()
    expect(host.locator(".vq-current")).to_be_visible()
    expect(screens[(1920, 1080)].locator(".screen-question")).to_be_visible()
    advance(host, "进入点评", "开始测评")
    expect(host.locator(".vq-current")).to_be_hidden()
    expect(screens[(1920, 1080)].locator(".screen-question")).to_be_hidden()
    # and the server itself no longer keeps it: no stale 正在质询 for any client or export
    assert srv.query("SELECT current_question_id FROM meeting_interaction") == [(None,)]

    # 点评: after adding a problem the form is fresh, not carrying the last 类别 / 来源 / 责任人
    host.locator("summary").filter(has_text="点评与问题清单").click()
    rec = host.locator(".rec-add")
    rec.get_by_label("问题描述（必填）").fill("行政执法案卷不规范")
    rec.get_by_label("类别").fill("规范执法")
    rec.get_by_label("来源").select_option("评议团意见")
    rec.get_by_label("责任人").fill("市司法局")
    rec.get_by_role("button", name="添加问题").click()
    expect(rec.locator(".voice-status, .status-line").first).to_contain_text("已添加")
    expect(rec.get_by_label("问题描述（必填）")).to_have_value("")
    expect(rec.get_by_label("类别")).to_have_value("")
    expect(rec.get_by_label("来源")).to_have_value("点评")
    expect(rec.get_by_label("责任人")).to_have_value("")

    # One ballot is cast below: lower the small-group guard to 1 before 测评 begins, so the
    # screens may show its split (with the default k = 3 they rightly show the count only).
    card = host.locator(".visibility-card")
    card.get_by_label("小组保护人数").fill("1")
    card.get_by_role("button", name="保存").click()
    expect(host.locator(".toast").filter(has_text="结果显示方式已保存")).to_be_visible()
    # 测评 of the first presenter, then closed
    advance(host, "开始测评", "结束测评")
    vote(tablet, "满意")
    for size, screen in screens.items():
        # A lone ballot reaches the hall screens with the coarse batch's catch-up (10 s), never per tap.
        expect(screen.locator(".tally-panel .tally-count")).to_have_text("1 票", timeout=20_000)
        shot(screen, f"hall-voting-{size[0]}", full=False)
        # the tally uses most of the stage: bars at least 40 % of the window wide (they were ~180 px)
        widths = assert_bars(screen, 0.4, f"voting {size}")
        assert "100%" in widths, widths
    confirm(host, "结束测评", "当前已收到 1 张选票", f"开始述法：{PRESENTERS[1]}", "hall-confirm-close")
    for size, screen in screens.items():
        # the result uses most of the stage and stays on it
        expect(screen.locator(".screen-facts")).to_be_visible()
        shot(screen, f"hall-result-{size[0]}", full=False)
        stage = box(screen, ".screen-stage")
        bottom = screen.locator(".screen-stage > *").evaluate_all(
            "es => Math.max(...es.map(e => e.getBoundingClientRect().bottom))")
        assert stage["y"] + stage["h"] * 0.8 <= bottom <= stage["y"] + stage["h"] + 1, (size, stage, bottom)
    # the presenter view between presenters: no "正在述法" heading over 测评已结束, no empty preview
    expect(presenter.locator(".stage h2")).to_have_text("测评已结束")
    expect(presenter.locator(".stage")).to_contain_text(f"「{PRESENTERS[0]}」的测评已结束")
    expect(presenter.locator(".presenter-next-card")).to_be_hidden()
    shot(presenter, "hall-presenter-between", full=False)

    # the next presenter's 测评 opens at zero: no bar left over from the last presenter
    advance(host, f"开始述法：{PRESENTERS[1]}", "进入质询")
    expect(host.locator(".vq-current")).to_be_hidden()
    advance(host, "进入质询", "进入点评")
    advance(host, "进入点评", "开始测评")
    advance(host, "开始测评", "结束测评")
    for page, where in [(screens[(1920, 1080)], "screen"), (screens[(1280, 720)], "screen 720"), (host, "console")]:
        expect(page.locator(".tally-panel .tally-count")).to_have_text("0 票")
        widths = assert_bars(page, 0.4 if page is not host else None, where)
        assert widths and set(widths) == {"0%"}, (where, widths)
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()


@pytest.mark.timeout(120)
def test_phone_large_text_at_320_px(live_server: Live, devices: Devices) -> None:
    """适老化: a 大字 switch on the phone page; at 320 px, with or without it, nothing runs off the side."""
    srv = live_server
    host = devices.open("host", f"/host/{srv.code}", 1440, 1000)
    host.fill("input[name=password]", srv.password)
    host.click("button[type=submit]")
    for label, after in [("开始会议", f"开始述法：{PRESENTERS[0]}"), (f"开始述法：{PRESENTERS[0]}", "进入质询"),
                         ("进入质询", "进入点评"), ("进入点评", "开始测评"), ("开始测评", "结束测评")]:
        advance(host, label, after)
    phone = devices.open("phone320", f"/j/{srv.code}", 320, 640, phone=True)
    expect(phone.locator(".btn-vote")).to_have_count(4)
    toggle = phone.get_by_role("button", name="大字")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    overflow = "document.documentElement.scrollWidth"
    assert phone.evaluate(overflow) <= 320
    before = box(phone, ".btn-vote")
    shot(phone, "phone-320")
    toggle.tap()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    after = box(phone, ".btn-vote")
    assert after["h"] >= before["h"] * 1.2, (before, after)  # the text really is larger
    assert phone.evaluate(overflow) <= 320
    for selector in (".btn-vote", ".stage h2", ".ballot-status"):
        for b in phone.locator(selector).evaluate_all("es => es.map(e => e.getBoundingClientRect().right)"):
            assert b <= 320 + 0.5, (selector, b)
    vote(phone, "满意")
    shot(phone, "phone-320-large-text")
    phone.reload()  # kept on this device
    expect(phone.get_by_role("button", name="大字")).to_have_attribute("aria-pressed", "true")
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()


def test_void_clears_the_phones_vote(live_server: Live, devices: Devices) -> None:
    """作废重测: the phone must stop showing its voided ballot as counted, and can vote again."""
    from websockets.sync.client import connect

    srv = live_server
    cookie = httpx.post(f"{srv.base}/api/meetings/{srv.code}/login", json={"password": srv.password}).cookies
    ws_base = srv.base.replace("http://", "ws://")
    with connect(f"{ws_base}/ws/{srv.code}?role=host",
                 additional_headers={"Cookie": f"live_host={cookie['live_host']}"}) as ws:
        sent = 0

        def cmd(type_: str, **fields: Any) -> dict[str, Any]:
            nonlocal sent
            sent += 1
            ws.send(json.dumps({"id": f"v-{sent}", "type": type_, **fields}))
            while True:
                msg = json.loads(ws.recv(timeout=15))
                if msg.get("id") == f"v-{sent}" and msg["type"] in ("ack", "error"):
                    return msg

        first = srv.query("SELECT id FROM agenda_item ORDER BY position")[0][0]
        phone = devices.open("phone", f"/j/{srv.code}", 390, 844, phone=True)
        assert cmd("meeting.start")["type"] == "ack"
        assert cmd("item.open", item_id=first)["type"] == "ack"
        for _ in range(3):
            assert cmd("item.advance", item_id=first)["type"] == "ack"
        vote(phone, "满意")
        assert cmd("item.advance", item_id=first)["phase"] == "done"
        ack = cmd("item.void", item_id=first, reason="计票设备故障，重新测评")
        assert ack["type"] == "ack" and ack["voided_ballots"] == 1, ack
        assert cmd("item.advance", item_id=first)["phase"] == "voting"
        expect(vote_button(phone, "满意")).to_be_visible()
        expect(phone.locator(".ballot-status")).not_to_contain_text("已提交")
        vote(phone, "基本满意")
    assert srv.query("SELECT COUNT(*) FROM ballot WHERE item_id = ?", first)[0][0] == 1
    voids = srv.query("SELECT details FROM audit_entry WHERE action = 'item.void'")
    reasons = [json.loads(d)["reason"] for (d,) in voids]
    assert reasons == ["计票设备故障，重新测评"]
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()


def test_watch_only_phone_polls_live_json_without_a_socket(live_server: Live, devices: Devices) -> None:
    """/j/CODE?watch=1: the stage follows the meeting from live.json; no WebSocket is opened."""
    from websockets.sync.client import connect

    srv = live_server
    doc = httpx.get(f"{srv.base}/api/meetings/{srv.code}/live.json").json()
    first = doc["snapshot"]["state"]["items"][0]
    title = doc["snapshot"]["state"]["meeting"]["title"]
    phone = devices.open("watcher", f"/j/{srv.code}?watch=1", 390, 844, phone=True)
    sockets: list[str] = []
    polls: list[str] = []
    phone.on("websocket", lambda ws: sockets.append(ws.url))
    phone.on("request", lambda r: polls.append(r.url) if r.url.endswith("/live.json") else None)
    expect(phone.locator("#title")).to_have_text(title)
    expect(phone.locator(".watch-note")).to_contain_text("仅观看")
    cookie = httpx.post(f"{srv.base}/api/meetings/{srv.code}/login", json={"password": srv.password}).cookies
    ws_base = srv.base.replace("http://", "ws://")
    with connect(f"{ws_base}/ws/{srv.code}?role=host",
                 additional_headers={"Cookie": f"live_host={cookie['live_host']}"}) as ws:
        for n, (type_, fields) in enumerate((("meeting.start", {}), ("item.open", {"item_id": first["id"]}))):
            ws.send(json.dumps({"id": f"w-{n}", "type": type_, **fields}))
            while True:
                msg = json.loads(ws.recv(timeout=15))
                if msg.get("id") == f"w-{n}":
                    assert msg["type"] == "ack", msg
                    break
    # Within the documented worst case (9 s; no CDN here, so one poll plus a second).
    expect(phone.locator(".stage")).to_contain_text(first["presenter"]["name"], timeout=12_000)
    assert polls, "the page never asked for live.json"
    assert sockets == [], sockets
    phone.locator(".watch-note a").click()
    expect(phone.locator(".ballot-status, .btn-vote, .stage").first).to_be_visible()
    assert devices.problems == []
