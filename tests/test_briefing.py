"""The interaction export and the 简报: contents, formula escaping, host-only routes, and
charts whose Chinese labels are drawn in the shipped font (also with the system fonts hidden)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pypdfium2 as pdfium
import pytest
from docx import Document
from PIL import Image
from playwright.sync_api import Browser, expect
from sqlmodel import Session
from starlette.testclient import TestClient
from test_interaction import citizen
from test_pages import CHROMIUM, Devices, Live, browser, next_button, serve  # noqa: F401

from conftest import Conn, Seed, close_sockets, item_ids, login, open_ws
from live.reports import charts, fonts
from live.reports.briefing import render_briefing_docx, render_briefing_pdf
from live.store.db import make_engine
from live.store.models import InteractionSample

ROOT = Path(__file__).resolve().parents[1]
SCREENS = ROOT / "artifacts" / "screens"
RARE = "\U0002CC56\u4dae"  # 𬱖 䶮: name characters outside GB 2312
T0 = 1_764_554_400_000


def sample_data() -> dict[str, Any]:
    """A finished meeting as live.store.briefing_data.briefing_data gives it."""
    series = [{"minute_ms": T0 + i * 60_000, "audience": [5, 40, 120, 180, 175, 160, 90, 30][i % 8], "screens": 2,
               "panel": 9, "hosts": 1, "likes": (i * 37) % 200, "comments": i % 5, "questions": i % 3}
              for i in range(40)]
    open_split = {"满意": 80, "基本满意": 15, "不满意": 5}
    items = [
        {"id": 1, "position": 1, "name": f"王{RARE}", "post": "县长", "unit": "某县", "phase": "done",
         "withheld": False,
         "result": {"total_display": "90.12", "grade": "好", "satisfaction_rate_display": "95.00%", "guarded": [],
                    "groups": [{"key": "panel", "label": "评议团", "ballots": 9, "guarded": False,
                                "options": {"满意": 7, "基本满意": 2, "不满意": 0}},
                               {"key": "public", "label": "群众", "ballots": 100, "guarded": False,
                                "options": open_split}]}},
        # A guarded result (2 panel ballots, k = 3): counts only, for every group.
        {"id": 2, "position": 2, "name": "李四", "post": "局长", "unit": "某局", "phase": "done", "withheld": False,
         "result": {"total_display": "85.50", "grade": "较好", "guarded": ["panel"],
                    "groups": [{"key": "panel", "label": "评议团", "ballots": 2, "guarded": True},
                               {"key": "public", "label": "群众", "ballots": 50, "guarded": False}]}},
        {"id": 3, "position": 3, "name": "赵五", "post": "主任", "unit": "某办", "phase": "done", "withheld": True,
         "result": None},
    ]
    return {
        "meeting": {"id": 1, "code": "AB12CD", "title": f"{RARE}市2025年度述法评议会议", "held_on": "2025-12-01",
                    "status": "ended", "status_label": "已结束", "secret": False, "visibility": "live",
                    "started_at_ms": T0, "ended_at_ms": T0 + 40 * 60_000},
        "questions": [], "comments": [], "series": series, "likes": 4321, "items": items,
        "ranking": [{"item_id": 1, "name": f"王{RARE}", "rank": 1, "total": "90.12"},
                    {"item_id": 2, "name": "李四", "rank": 2, "total": "85.50"},
                    {"item_id": 3, "name": "赵五", "rank": None, "total": None}],
        "problems": [("行政执法", 3), ("依法决策", 2), ("未分类", 1)],
        "headline": {"peak_audience": 180, "peak_screens": 2, "likes": 4321, "comments": 88, "comments_shown": 70,
                     "questions": 12, "questions_live": 9, "questions_answered": 6, "minutes": 40, "problems": 6},
    }


def pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        return "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace("\r", "").replace(
            "\n", "")
    finally:
        pdf.close()


def pdf_images(data: bytes) -> list[Image.Image]:
    """The chart PNGs as the PDF carries them."""
    pdf = pdfium.PdfDocument(data)
    out = []
    try:
        for i in range(len(pdf)):
            for obj in pdf[i].get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]):
                out.append(obj.get_bitmap().to_pil().convert("RGB"))
    finally:
        pdf.close()
    return out


# --- charts: the shipped font, real glyphs ------------------------------------------------------------


def _label_png(text: str, fname: str | None) -> np.ndarray:
    """One label drawn by matplotlib: in the font file ``fname``, or (None) in matplotlib's own
    default, which has no Chinese glyphs, as on a machine with no Chinese font."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 0.5), dpi=100)
    props = font_manager.FontProperties(fname=fname, size=20) if fname else font_manager.FontProperties(
        family="DejaVu Sans", size=20)
    fig.text(0.05, 0.2, text, fontproperties=props)
    canvas = FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        canvas.draw()  # type: ignore[no-untyped-call]
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def test_the_shipped_font_draws_distinct_chinese_glyphs_where_a_latin_font_draws_tofu() -> None:
    path, family = charts.chart_font()
    assert path == fonts.SHIPPED_FONT
    assert family  # the family name the charts ask for
    a, b = _label_png("述法评议", str(path)), _label_png("测评结果", str(path))
    assert (a != b).any() and (a < 128).any()
    # The check can fail: without the font, different Chinese words come out as the same boxes.
    ta, tb = _label_png("述法评议", None), _label_png("测评结果", None)
    assert (ta == tb).all()


def test_every_chart_text_is_in_the_shipped_font_with_no_missing_glyph() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" would fail here
        made = charts.briefing_charts(sample_data(), ["满意", "基本满意", "不满意"])
    assert [c.key for c in made] == ["participation", "votes", "ranking", "problems"]
    for c in made:
        assert c.font_files == {str(fonts.SHIPPED_FONT)}, (c.key, c.font_files)
        assert Image.open(io.BytesIO(c.png)).size[0] >= 1000
    texts = {c.key: " ".join(c.texts) for c in made}
    assert "在线人数（每分钟）" in texts["participation"] and "时间（北京时间）" in texts["participation"]
    assert "在线手机" in texts["participation"] and "点赞" in texts["participation"]
    assert f"王{RARE} · 评议团" in texts["votes"] and "满意" in texts["votes"]
    # The guarded result shows counts only: no share for 李四's groups, and says why.
    assert "2 票（人数较少，不公开分布）" in texts["votes"]
    assert "50 票（其他组人数较少，不公开分布）" in texts["votes"]
    assert "80%" in texts["votes"] and "78%" in texts["votes"]
    assert "第1名  王" + RARE in texts["ranking"] and "赵五" not in texts["ranking"]
    assert "行政执法" in texts["problems"]


def test_briefing_pdf_pages_and_charts(tmp_path: Path) -> None:
    made: list[charts.Chart] = []
    data = render_briefing_pdf(sample_data(), made)
    text = pdf_text(data)
    for expected in (f"{RARE}市2025年度述法评议会议简报", "一、基本情况", "二、参与情况", "三、测评结果",
                     "四、问题清单",
                     "最高同时在线手机", "180 部", "4321 次", f"王{RARE}", "85.50", "图1", "参与情况随时间变化",
                     "未列入排名（测评未结束或结果未揭晓）：赵五"):
        assert expected in text, expected
    # Each chart is in the PDF, pixel for pixel the PNG the shipped font drew.
    images = pdf_images(data)
    assert len(images) == len(made) == 4
    for img, chart in zip(images, made, strict=True):
        drawn = Image.open(io.BytesIO(chart.png)).convert("RGB")
        assert img.size == drawn.size and np.array_equal(np.asarray(img), np.asarray(drawn)), chart.key
    SCREENS.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(data)
    try:
        assert len(pdf) >= 2
        for i in range(len(pdf)):
            pdf[i].render(scale=1.4).to_pil().save(SCREENS / f"briefing-{i + 1}.png")
    finally:
        pdf.close()


def test_briefing_docx_has_the_charts_and_the_text() -> None:
    doc = Document(io.BytesIO(render_briefing_docx(sample_data())))
    words = "\n".join(p.text for p in doc.paragraphs) + "".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells)
    for expected in ("简报", "一、基本情况", "三、测评结果", "图4　问题按类别分布", f"王{RARE}", "最高同时在线手机"):
        assert expected in words, expected
    assert len(doc.inline_shapes) == 4
    # East Asian text is given a Chinese font, as in the 法治体检单.
    assert 'w:eastAsia="宋体"' in doc.element.xml or "宋体" in doc.styles.element.xml


def test_an_empty_meeting_still_gets_a_briefing() -> None:
    data = sample_data()
    data.update(series=[], items=[], ranking=[], problems=[])
    text = pdf_text(render_briefing_pdf(data))
    assert "本次会议没有按分钟的参与记录" in text and "暂无可公开的测评结果" in text and "本次会议未列出问题" in text


HIDDEN = """
import json, sys, warnings
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].lower().endswith((".ttf", ".ttc", ".otf")):
        opened.append(args[0])
sys.addaudithook(hook)
sys.path.insert(0, sys.argv[2])
from test_briefing import sample_data
import live.reports.charts  # matplotlib builds its font list here, from whatever it finds
before = len(opened)
warnings.simplefilter("error")
from live.reports.briefing import render_briefing_pdf
made = []
open(sys.argv[1], "wb").write(render_briefing_pdf(sample_data(), made))
print(json.dumps({"while_drawing": opened[before:], "files": sorted({f for c in made for f in c.font_files})}))
"""


def test_briefing_needs_no_system_font(tmp_path: Path) -> None:
    """No font on the machine: fontconfig sees an empty directory, matplotlib starts with no cache,
    and (where the kernel lets us) the system font directories are mounted over with empty ones."""
    empty = tmp_path / "nofonts"
    empty.mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text(f"<?xml version='1.0'?><fontconfig><dir>{empty}</dir><cachedir>{tmp_path}</cachedir></fontconfig>")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf), "FONTCONFIG_PATH": str(tmp_path), "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(empty), "MPLCONFIGDIR": str(tmp_path / "mpl"), "MPLBACKEND": "Agg"}
    env.pop(fonts.FONT_ENV, None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    out = tmp_path / "briefing.pdf"
    cmd = [sys.executable, "-c", HIDDEN, str(out), str(ROOT / "tests")]
    dirs = [d for d in ("/usr/share/fonts", "/usr/local/share/fonts") if Path(d).is_dir()]
    unshare = shutil.which("unshare")
    hidden = False
    if unshare and dirs and subprocess.run([unshare, "-m", "true"], capture_output=True).returncode == 0:
        mounts = " && ".join(f"mount --bind {empty} {d}" for d in dirs)
        check = f'find {" ".join(dirs)} -mindepth 1 | grep -q . && exit 9'  # the mounts must leave them empty
        cmd = [unshare, "-m", "sh", "-c", f'{mounts} && {check}; exec "$@"', "sh", *cmd]
        hidden = True
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # Every font opened while drawing the charts and the PDF is the shipped file.
    assert {str(Path(p).resolve()) for p in report["while_drawing"]} == {str(fonts.SHIPPED_FONT.resolve())}, report
    assert report["files"] == [str(fonts.SHIPPED_FONT)]
    text = pdf_text(out.read_bytes())
    assert f"王{RARE}" in text and "一、基本情况" in text
    assert len(pdf_images(out.read_bytes())) == 4
    if not hidden:
        pytest.skip("system font directories could not be mounted over here; fontconfig alone was emptied")


# --- the routes and the interaction export, end to end -----------------------------------------------------


def _run_meeting(client: TestClient, seed: Seed) -> dict[str, Any]:
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    phones = [citizen(client, seed, f"device-brief-{n:03d}") for n in range(3)]
    risky_q = '=HYPERLINK("http://evil.example","点我")'
    qid = phones[0].cmd("question.ask", item_id=first, content=risky_q)["question_id"]
    h.cmd("question.approve", question_id=qid)
    assert phones[1].cmd("question.upvote", question_id=qid)["upvotes"] == 1
    h.cmd("question.pick", question_id=qid)
    h.cmd("question.answered", question_id=qid)
    other = phones[1].cmd("question.ask", item_id=first, content="执法案卷如何整改？")["question_id"]
    h.cmd("question.reject", question_id=other)
    shown = phones[2].cmd("comment.send", text="+1 讲得好")["comment_id"]
    h.cmd("comment.approve", comment_id=shown)
    hidden = phones[0].cmd("comment.send", text="@SUM(A1:A9)")["comment_id"]
    h.cmd("comment.hide", comment_id=hidden)
    phones[1].cmd("comment.send", text="-还在审核")
    for item in item_ids(h):
        h.cmd("item.open", item_id=item)
        for _ in range(3):
            h.cmd("item.advance", item_id=item)
        for n, phone in enumerate(phones):
            assert phone.cmd("vote", item_id=item, ballot_id=f"b{item}-brief-{n}",
                             choice={"option": ["满意", "基本满意", "满意"][n]})["type"] == "ack"
        assert h.cmd("item.advance", item_id=item)["phase"] == "done"
    r = client.post(f"/api/meetings/{seed.code}/items/{first}/problems",
                    json={"description": "执法案卷不规范", "category": "行政执法", "source": "质询"})
    assert r.status_code in (200, 201), r.text
    h.cmd("meeting.end")
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        s.add(InteractionSample(meeting_id=seed.meeting_id, minute_ms=T0, worker="a", audience=3, screens=1, likes=9))
        s.add(InteractionSample(meeting_id=seed.meeting_id, minute_ms=T0, worker="b", audience=4, likes=1))
        s.commit()
    engine.dispose()
    return {"question": qid, "risky": risky_q}


def test_interaction_export_and_briefing_routes(client: TestClient, seed: Seed) -> None:
    base = f"/api/meetings/{seed.code}"
    for path in ("/export/interaction.xlsx", "/briefing.pdf", "/briefing.docx"):
        assert client.get(base + path).status_code == 401  # host only
    try:
        facts = _run_meeting(client, seed)
    finally:
        close_sockets()
    r = client.get(base + "/export/interaction.xlsx")
    assert r.status_code == 200, r.text
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["质询问题", "弹幕评论", "每分钟数据"]
    qs = wb["质询问题"]
    rows = [[c.value for c in row] for row in qs.iter_rows(min_row=3)]
    by_content = {row[5]: row for row in rows}
    risky = by_content[facts["risky"]]
    assert risky[2] == "现场群众" and risky[6] == "已通过" and risky[7] == "已答复" and risky[8] == 1
    assert risky[9] == "是"
    assert by_content["执法案卷如何整改？"][6] == "未采纳"
    cell = qs.cell(row=3 + rows.index(risky), column=6)
    assert cell.data_type == "s" and cell.quotePrefix  # stays text in Excel and WPS
    comments = {row[2]: row[3] for row in ([c.value for c in row] for row in wb["弹幕评论"].iter_rows(min_row=3))}
    assert comments == {"+1 讲得好": "已上墙", "@SUM(A1:A9)": "已隐藏", "-还在审核": "待审核"}
    for row in wb["弹幕评论"].iter_rows(min_row=3):
        assert row[2].data_type == "s" and row[2].quotePrefix
    series = [[c.value for c in row] for row in wb["每分钟数据"].iter_rows(min_row=4)]
    assert series[0][1:3] == [7, 1] and series[0][5] == 10  # two workers' rows summed
    assert sum(row[6] for row in series) == 3  # every comment, in its minute
    assert sum(row[7] for row in series) == 2  # both live questions

    r = client.get(base + "/briefing.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.text[:300]
    text = pdf_text(r.content)
    for expected in ("简报", "最高同时在线手机", "7 部", "质询问题", "行政执法", "第"):
        assert expected in text, expected
    assert len(pdf_images(r.content)) == 4
    r = client.get(base + "/briefing.docx")
    assert r.status_code == 200 and r.content.startswith(b"PK")
    assert len(Document(io.BytesIO(r.content)).inline_shapes) == 4
    assert client.get(base + "/briefing.txt").status_code == 404
    assert client.post(base + "/briefing.pdf").status_code == 405


# --- the console offers them once the meeting has ended (a real server and Chromium) ---------------------


@pytest.fixture
def briefing_server(tmp_path: Path) -> Iterator[Live]:
    """`live demo --no-serve`, then `live serve` (as tests/test_pages.py does, with more time to start:
    a loaded 2-core box takes over 20 s to import the app)."""
    import re

    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}
    env["LIVE_DATA_DIR"] = str(data)
    out = subprocess.run([sys.executable, "-m", "live.cli", "demo", "--data-dir", str(data), "--no-serve"],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env, timeout=120).stdout
    code, password = re.search(r"会议码 ([A-Z2-9]{6})", out), re.search(r"主持人密码\s+(\S+)", out)
    assert code and password, out
    log = tmp_path / "server.log"
    with serve(data, env, log, start_s=120) as base:
        yield Live(base, code[1], password[1], [], data / "live.db", log)


@pytest.fixture
def briefing_devices(browser: Browser, briefing_server: Live) -> Iterator[Devices]:  # noqa: F811
    d = Devices(browser, briefing_server.base)
    try:
        yield d
    finally:
        d.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
def test_console_offers_the_briefing_and_the_export_after_the_meeting(
        briefing_server: Live, briefing_devices: Devices) -> None:
    srv, devices = briefing_server, briefing_devices
    host = devices.open("host", f"/host/{srv.code}", 1440, 1000)
    host.fill("input[name=password]", srv.password)
    host.click("button[type=submit]")
    btn = next_button(host)
    expect(btn).to_have_text("开始会议")
    after = host.locator(".after-meeting")
    expect(after.locator("a")).to_have_count(0)  # not before the meeting ends
    btn.click()
    expect(after).to_contain_text("会议结束后，可在此下载会议简报和互动数据")
    expect(after.locator("a")).to_have_count(0)
    dialog = host.locator("dialog.confirm")
    for _ in range(40):
        label = btn.inner_text().strip()
        if label == "结束会议":
            break
        btn.click()
        if label == "结束测评":
            dialog.locator("button[value=ok]").click()
            expect(dialog).to_have_count(0)
        expect(btn).not_to_have_text(label)
    btn.click()
    dialog.locator("button[value=ok]").click()
    expect(btn).to_have_text("会议已结束")
    expect(after.get_by_role("heading", name="会后材料")).to_be_visible()
    links = {a.inner_text(): a.get_attribute("href") for a in after.locator("a").all()}
    base = f"/api/meetings/{srv.code}"
    assert links == {"简报（Word）": f"{base}/briefing.docx", "简报（PDF）": f"{base}/briefing.pdf",
                     "互动数据（Excel：提问、评论、每分钟在线与互动）": f"{base}/export/interaction.xlsx"}
    with host.expect_download(timeout=180_000) as got:  # charts take seconds (tens on a loaded box)
        after.get_by_role("link", name="下载会议简报（PDF）").click()
    download = got.value
    # The server's Chinese name (Content-Disposition filename*) wins over the link's download name.
    assert download.suggested_filename.endswith("述法评议会_简报.pdf"), download.suggested_filename
    body = Path(download.path()).read_bytes()
    assert "一、基本情况" in pdf_text(body) and "三、测评结果" in pdf_text(body)
    for href in (links["简报（Word）"], links["互动数据（Excel：提问、评论、每分钟在线与互动）"]):
        resp = host.request.get(srv.base + href, timeout=180_000)
        assert resp.status == 200 and resp.body().startswith(b"PK"), href
    after.scroll_into_view_if_needed()
    SCREENS.mkdir(parents=True, exist_ok=True)
    host.locator(".results-card").screenshot(path=str(SCREENS / "briefing-console.png"), animations="disabled")
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()


def test_the_briefing_shows_only_what_the_public_result_shows(client: TestClient, seed: Seed) -> None:
    """A ``hidden`` meeting with k = 3: a revealed result, a revealed result with a group under the
    guard (its split, and every other group's, withheld), and a result never revealed."""
    from live.store.briefing_data import briefing_data

    login(client, seed)
    try:
        h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
        assert h.cmd("meeting.visibility", mode="hidden", small_group_k=3)["visibility"]["mode"] == "hidden"
        h.cmd("meeting.start")
        phones = [citizen(client, seed, f"device-vis-{n:03d}") for n in range(4)]
        items = item_ids(h)
        for item, voters, reveal in zip(items, (4, 2, 4), (True, True, False), strict=True):
            h.cmd("item.open", item_id=item)
            for _ in range(3):
                h.cmd("item.advance", item_id=item)
            for n in range(voters):
                assert phones[n].cmd("vote", item_id=item, ballot_id=f"v{item}-vis-{n}",
                                     choice={"option": "满意" if n else "不满意"})["type"] == "ack"
            assert h.cmd("item.advance", item_id=item)["phase"] == "done"
            if reveal:
                assert h.cmd("item.reveal", item_id=item)["revealed"] is True
        h.cmd("meeting.end")
    finally:
        close_sockets()
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        data = briefing_data(s, seed.meeting_id)
    engine.dispose()
    first, second, third = data["items"]
    public = {g["key"]: g for g in first["result"]["groups"]}
    assert public["public"]["options"] == {"满意": 3, "基本满意": 0, "不满意": 1}
    guarded = {g["key"]: g for g in second["result"]["groups"]}
    assert guarded["public"]["guarded"] and "options" not in guarded["public"] and "mean" not in guarded["public"]
    assert third["result"] is None and third["withheld"]
    assert [r["name"] for r in data["ranking"] if r["rank"] is not None] == [first["name"], second["name"]]
    made: list[charts.Chart] = []
    text = pdf_text(render_briefing_pdf(data, made))
    votes = " ".join(next(c for c in made if c.key == "votes").texts)
    assert first["name"] in votes and "2 票（人数较少，不公开分布）" in votes
    ranked = " ".join(next(c for c in made if c.key == "ranking").texts)
    assert third["name"] not in votes and third["name"] not in ranked
    assert f"未列入排名（测评未结束或结果未揭晓）：{third['name']}" in text
    assert "测评结果由主持人揭晓后公布" in text
