"""In Chromium: an owner (责任单位) reports through the personal link with a PDF and applies
for 销号; the admin checks it (审核通过) and closes it (确认销号) in the 整改 office; the
owner's page then shows 已销号. The history page draws its chart. Screenshots go to
artifacts/screens/office-*.png."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_attachments import PDF
from test_pages import CHROMIUM, CHROMIUM_ARGS, ROOT, SCREENS, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium "
                       "(apt-get install chromium); Playwright cannot download its own browser here"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _run(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "live.cli", *args], capture_output=True, text=True, check=True,
                          cwd=ROOT, env=env, timeout=60).stdout


def _watch(page: Page, name: str, problems: list[str]) -> None:
    page.on("pageerror", lambda err: problems.append(f"{name}: uncaught {err}"))
    page.on("console", lambda msg: problems.append(f"{name}: {msg.text}") if msg.type == "error" else None)


def test_owner_link_report_then_admin_closes_in_two_steps(browser: Browser, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}
    env["LIVE_DATA_DIR"] = str(data)
    out = _run(env, "demo", "--data-dir", str(data), "--no-serve")
    code = re.search(r"会议码 ([A-Z2-9]{6})", out)
    host_password = re.search(r"主持人密码\s+(\S+)", out)
    assert code and host_password, out
    admin = re.search(r"密码\s+(\S+)", _run(env, "admin", "create", "组织处", "--data-dir", str(data)))
    assert admin
    # Last year's meeting with the same presenters, for 回头看.
    spec = json.loads((ROOT / "assets" / "demo_meeting.json").read_text(encoding="utf-8"))
    spec.update(title="中卫市2023年度党政主要负责人述法评议会", held_on="2024-01-10")
    (tmp_path / "earlier.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    earlier_out = _run(env, "meeting", "create", str(tmp_path / "earlier.json"), "--data-dir", str(data))
    earlier = re.search(r"会议码 ([A-Z2-9]{6})", earlier_out)
    earlier_password = re.search(r"主持人密码\s+(\S+)", earlier_out)
    assert earlier and earlier_password, earlier_out
    SCREENS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with serve(data, env, tmp_path / "server.log", start_s=90) as base:
        # Last year's host had named a problem of 马文亮 (item 4 of that meeting), still open and overdue.
        with httpx.Client(base_url=base, headers={"Origin": base}) as old:
            r = old.post(f"/api/meetings/{earlier[1]}/login", json={"password": earlier_password[1]})
            old.headers["X-CSRF-Token"] = r.json()["csrf"]
            r = old.post(f"/api/meetings/{earlier[1]}/items/4/problems",
                         json={"description": "规范性文件备案审查不及时", "deadline": "2024-04-10"})
            assert r.status_code == 201, r.text
        # The host records a problem with its owner, and gets the owner's link.
        with httpx.Client(base_url=base, headers={"Origin": base}) as host:
            r = host.post(f"/api/meetings/{code[1]}/login", json={"password": host_password[1]})
            host.headers["X-CSRF-Token"] = r.json()["csrf"]
            r = host.post(f"/api/meetings/{code[1]}/items/1/problems",
                          json={"description": "重大行政决策合法性审查流于形式", "owner": "区司法局",
                                "deadline": "2099-06-30"})
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            link = host.get(f"/api/meetings/{code[1]}/problems/{pid}/owner-link").json()["url"]
        token = link.split("#t=", 1)[1]

        # The owner opens the link: the token leaves the address bar and never rides in a request URL.
        octx = browser.new_context(viewport={"width": 900, "height": 1000}, locale="zh-CN")
        owner = octx.new_page()
        _watch(owner, "owner", problems)
        urls: list[str] = []
        owner.on("request", lambda req: urls.append(req.url))
        owner.goto(link)
        expect(owner.locator("#owner-status")).to_have_text("待整改")
        assert "#" not in owner.url and token not in owner.url
        pdf = tmp_path / "整改报告.pdf"
        pdf.write_bytes(PDF)
        owner.fill("#owner-text", "已建立重大行政决策合法性审查台账，完成整改。")
        owner.set_input_files("#owner-files", str(pdf))
        owner.check("#owner-close")
        owner.click("#owner-submit")
        expect(owner.locator("#owner-status")).to_have_text("已整改")
        expect(owner.locator("#owner-notes")).to_contain_text("整改报告.pdf")
        owner.screenshot(path=str(SCREENS / "office-owner-report.png"), full_page=True)
        assert not any(token in u for u in urls), "the link's token reached a request URL"

        # The admin signs in and closes it in two steps.
        actx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = actx.new_page()
        _watch(page, "admin", problems)
        page.goto(f"{base}/admin")
        page.fill("input[name=name]", "组织处")
        page.fill("input[name=password]", admin[1])
        page.click("button[type=submit]")
        expect(page.locator("#who")).to_contain_text("组织处")
        page.goto(f"{base}/admin/office")
        status = page.locator(f"[data-status-of='{pid}']")
        expect(status).to_have_text("已整改")
        page.screenshot(path=str(SCREENS / "office-admin-ledger.png"), full_page=True)
        page.click(f"[data-problem-row='{pid}'] [data-step='reviewed']")
        page.fill("dialog textarea[name=text]", "佐证材料齐全，审核通过")
        page.click("dialog button[type=submit]")
        expect(status).to_have_text("已审核")
        page.click(f"[data-problem-row='{pid}'] [data-step='closed']")
        page.click("dialog button[type=submit]")
        expect(status).to_have_text("已销号")
        page.click(f"[data-problem-row='{pid}'] [data-record='{pid}']")
        expect(page.locator(f"[data-problem-row='{pid}'] .office-notes")).to_contain_text("整改报告.pdf")
        page.screenshot(path=str(SCREENS / "office-admin-closed.png"), full_page=True)

        # The history of the presenter: a table and an SVG chart.
        page.select_option("#of-history-kind", "person")
        page.fill("#of-history-name", "马文亮")
        page.click("#of-history-name + datalist + button, form:has(#of-history-name) button[type=submit]")
        expect(page.locator("#of-history-chart svg rect").first).to_be_visible()
        expect(page.locator("#of-history-table")).to_contain_text("马文亮")
        page.locator("#of-history-chart").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENS / "office-history.png"), full_page=True)

        # 回头看 on this year's console: last year's open problem, seeded into the 质询 list in one click.
        hctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        console = hctx.new_page()
        _watch(console, "host", problems)
        r = hctx.request.post(f"{base}/api/meetings/{code[1]}/login", data={"password": host_password[1]},
                              headers={"Origin": base})
        assert r.ok
        console.goto(f"{base}/host/{code[1]}")
        card = console.locator(".lookback-card")
        expect(card).to_contain_text("规范性文件备案审查不及时")
        expect(card).to_contain_text("逾期")
        console.click("[data-lookback-seed='1']")
        expect(console.locator("body")).to_contain_text("已将 1 个问题纳入质询")
        card.scroll_into_view_if_needed()
        console.screenshot(path=str(SCREENS / "office-lookback-console.png"))
        asked = hctx.request.get(f"{base}/api/meetings/{code[1]}/questions").text()
        assert "【回头看】" in asked and "规范性文件备案审查不及时" in asked
        hctx.close()

        # The owner's page now says 已销号, and offers no more reporting.
        owner.reload()
        expect(owner.locator("#owner-status")).to_have_text("已销号")
        expect(owner.locator("body")).to_contain_text("该问题已销号")
        owner.screenshot(path=str(SCREENS / "office-owner-closed.png"), full_page=True)
        octx.close()
        actx.close()

    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
    assert token not in log  # the access log never saw the owner's token
    assert not problems, problems
    attachments = list((data / "attachments" / str(pid)).iterdir())
    assert len(attachments) == 1 and attachments[0].read_bytes() == PDF
