"""In Chromium: an administrator who has never seen the product signs in at /admin,
creates a meeting from an XLSX roster (every step's problems shown at once), finishes
it and duplicates it for next year. Screenshots of every admin page go to
artifacts/screens/admin-*.png."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect, sync_playwright

from conftest import make_admin, uvicorn_in_thread
from live.config import Settings

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENS = ROOT / "artifacts" / "screens"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())
    return path


def shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"admin-{name}.png"), full_page=True, animations="disabled")


def test_a_new_admin_creates_a_meeting_from_an_xlsx_roster_and_duplicates_it(settings: Settings,
                                                                                  tmp_path: Path) -> None:
    password = make_admin(settings, "司法局办公室")
    presenters = _xlsx(tmp_path / "述法人.xlsx", [["姓名", "职务", "单位", "类别"],
                                                  ["马文亮", "区委书记", "沙坡头区委", "党政主要负责人"],
                                                  ["李秀英", "县长", "中宁县人民政府", "党政主要负责人"]])
    roster = _xlsx(tmp_path / "评议团.xlsx", [["2025年度评议团名单"], ["姓名", "类别", "单位", "联系方式"],
                                             ["张立华", "人大代表", "市人大常委会", "13900000001"],
                                             ["刘振东", "政协委员", "市政协", "13900000002"],
                                             ["某某", "外宾", "某国使馆", ""],
                                             ["吴婷", "律师", "宁夏某律师事务所", "13900000003"]])
    problems: list[str] = []
    with uvicorn_in_thread(settings) as (host, _app), sync_playwright() as p:
        base = f"http://{host}"
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        page.on("pageerror", lambda err: problems.append(f"uncaught {err}"))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error"
                and not re.search(r"40[019]", msg.text) else None)
        page.goto(f"{base}/admin")
        expect(page.get_by_role("heading", name="组织单位管理员登录")).to_be_visible()
        shot(page, "login")
        page.get_by_label("管理员名称").fill("司法局办公室")
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        expect(page.locator("#who")).to_have_text("管理员：司法局办公室")
        shot(page, "list-empty")
        # Step 1, with every problem at once, then right.
        page.locator("#new-meeting").click()
        page.get_by_role("button", name="创建草稿并继续").click()
        expect(page.locator(".problems li")).to_have_count(2)  # no title, no date
        shot(page, "new-problems")
        page.get_by_label("会议名称").fill("中卫市2025年度党政主要负责人述法评议会")
        page.get_by_label("会议日期").fill("2025-12-20")
        page.get_by_label("会议地点").fill("市民大厦第一会议室")
        page.get_by_role("button", name="创建草稿并继续").click()
        expect(page.locator("#secret-once")).to_be_visible()
        host_password = page.locator("#secret-once").inner_text()
        shot(page, "host-password")
        page.locator("#continue").click()
        # Presenters from XLSX.
        page.get_by_label(re.compile("导入述法人")).set_input_files(str(presenters))
        expect(page.locator("table.grid tbody tr")).to_have_count(2)
        shot(page, "presenters")
        page.locator("#save-step").click()
        # The 评议团 from XLSX: the bad row is reported by its number, the good ones kept.
        page.get_by_label(re.compile("导入评议团名单")).set_input_files(str(roster))
        expect(page.locator(".import-report")).to_contain_text("第 5 行")
        expect(page.locator("table.grid tbody tr")).to_have_count(3)
        shot(page, "roster")
        page.locator("#save-step").click()
        # The scheme: a built-in template.
        page.get_by_label(re.compile("等次四档")).check()
        shot(page, "scheme")
        page.locator("#save-step").click()
        expect(page.get_by_label("公众投票方式")).to_be_visible()
        shot(page, "options")
        page.locator("#save-step").click()
        expect(page.get_by_text("述法材料（PDF，每位述法人一份）")).to_be_visible()
        shot(page, "materials")
        page.locator("#save-step").click()
        expect(page.get_by_text("打印材料")).to_be_visible()
        shot(page, "finish")
        page.locator("#save-step").click()
        expect(page.locator(".overview .status-tag")).to_have_text("已排期")
        code = re.search(r"会议码 ([A-Z0-9]{6})", page.locator(".overview").inner_text())
        assert code
        page.locator("#presenter-link").click()
        expect(page.locator("#presenter-url")).to_contain_text(f"/presenter/{code[1]}#t=")
        shot(page, "overview")
        # The presenter's narrow link opens the presenter view without the host's login,
        # and its token leaves the address bar.
        presenter = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        presenter.goto(page.locator("#presenter-url").inner_text())
        expect(presenter.locator("#title")).to_contain_text("述法人视图 · 中卫市2025年度")
        assert "#" not in presenter.url
        presenter.close()
        # The host password shown once signs the host in.
        r = httpx.post(f"{base}/api/meetings/{code[1]}/login", json={"password": host_password})
        assert r.status_code == 200
        # Duplicate for next year.
        page.locator("#duplicate").click()
        expect(page.locator("#secret-once")).to_be_visible()
        new_code = re.search(r"会议码 ([A-Z0-9]{6})", page.locator(".secret-card h2").inner_text())
        assert new_code and new_code[1] != code[1]
        shot(page, "duplicated")
        page.locator("#continue").click()
        expect(page.get_by_label("会议名称")).to_have_value("中卫市2026年度党政主要负责人述法评议会")
        shot(page, "duplicate-basics")
        page.goto(f"{base}/admin#/")
        expect(page.locator(".meeting-row")).to_have_count(2)
        expect(page.locator(f'.meeting-row[data-code="{new_code[1]}"] .status-tag')).to_have_text("草稿")
        expect(page.locator(f'.meeting-row[data-code="{code[1]}"] .status-tag')).to_have_text("已排期")
        shot(page, "list")
        page.get_by_placeholder(re.compile("搜索会议")).fill("2026")
        expect(page.locator(".meeting-row")).to_have_count(1)
        shot(page, "search")
        # What was saved: the duplicate has the roster of the first (three good rows).
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        with httpx.Client(base_url=base, cookies=cookies) as c:
            copy = c.get(f"/api/admin/meetings/{new_code[1]}").json()
        assert [m["name"] for m in copy["roster"]] == ["张立华", "刘振东", "吴婷"]
        assert [m["name"] for m in copy["presenters"]] == ["马文亮", "李秀英"] and copy["scheme"]["kind"] == "grade"
        browser.close()
    assert not problems, problems
