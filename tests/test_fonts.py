"""The Chinese font shipped in the package: every PDF embeds it, rare name characters included,
and nothing looks for a system font."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest
from docx import Document
from reportlab.pdfbase import pdfmetrics

from live.reports import fonts
from live.reports.checkup import CheckupData, CheckupProblem, CheckupQuestion, render_checkup_docx, render_checkup_pdf
from live.reports.printables import Card, join_poster_pdf, panel_cards_pdf

# 𬱖 (U+2CC56, CJK Extension E) and 䶮 (U+4DAE, Extension A): in names, not in GB 2312.
RARE = "\U0002CC56\u4dae"
NAME = f"王{RARE}"
TITLE = f"{RARE}市2024年度党政主要负责人述法评议会议（第二场，扩大会议）"
ROOT = Path(__file__).resolve().parents[1]


def pdf_pages(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def checkup_sample() -> CheckupData:
    return CheckupData(
        meeting_title=TITLE, meeting_date=date(2024, 11, 30), presenter_name=NAME, presenter_unit=f"{RARE}县人民政府",
        questions=[CheckupQuestion(f"请{NAME}同志说明行政复议纠错率", "评议团", f"代表{RARE}", answered=True)],
        problems=[CheckupProblem(f"{RARE}镇执法案卷不规范", "行政执法", "质询", date(2025, 2, 28))],
        commenter=f"书记{RARE}", comment="好。",
    )


def test_the_shipped_font_has_the_whole_sc_set_and_its_licence() -> None:
    assert fonts.find_cjk_font() == fonts.SHIPPED_FONT
    assert fonts.SHIPPED_FONT.is_relative_to(ROOT / "live")  # inside the package, not the repository
    assert fonts.SHIPPED_FONT.stat().st_size < 25_000_000
    licence = fonts.FONT_LICENSE.read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Adobe" in licence
    face = pdfmetrics.getFont(fonts.register_cjk_font()).face
    cmap = face.charToGlyph
    assert len(cmap) > 44_000  # not a GB 2312 subset (about 7,500)
    for ch in RARE + "述法评议" + "A1，。":
        assert cmap.get(ord(ch)), f"U+{ord(ch):04X} has no glyph"
    # package-data takes the font and its licence into a wheel
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"assets/fonts/*"' in pyproject


def test_panel_cards_carry_rare_names_inside_each_card() -> None:
    cards = [Card(NAME, "人大代表", "https://example.org/p/" + "x" * 60),
             Card("欧阳秀英", f"行业群众代表{RARE}", "https://example.org/p/" + "y" * 60)] * 5
    data = panel_cards_pdf(TITLE, cards)
    assert NAME in pdf_pages(data)[0] and f"行业群众代表{RARE}" in pdf_pages(data)[0]
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        width, height = page.get_width(), page.get_height()
        margin = 12 * 72 / 25.4
        half = (width - 2 * margin) / 2
        text = page.get_textpage()
        assert text.count_chars() > 100
        for i in range(text.count_chars()):
            left, bottom, right, top = text.get_charbox(i)
            if right - left <= 0:
                continue
            # Each character stays inside its own column of cards (the card's footer used to run
            # under the neighbouring card's QR code and off the page).
            column_right = margin + half if left < margin + half else width - margin
            assert margin <= left and right <= column_right + 0.5, (text.get_text_range(i, 1), left, right)
            assert bottom >= 0 and top <= height
    finally:
        pdf.close()


def test_join_poster_renders_rare_characters() -> None:
    [text] = pdf_pages(join_poster_pdf(TITLE, "AB12CD", "https://example.org/j/AB12CD"))
    assert RARE in text and "扫码参与述法评议" in text


def test_checkup_pdf_and_docx_carry_rare_names() -> None:
    text = "".join(pdf_pages(render_checkup_pdf(checkup_sample()))).replace("\r", "").replace("\n", "")
    for expected in (NAME, f"{RARE}县人民政府", f"代表{RARE}", f"{RARE}镇执法案卷不规范"):
        assert expected in text, expected
    doc = Document(io.BytesIO(render_checkup_docx(checkup_sample())))
    words = "\n".join(p.text for p in doc.paragraphs) + "".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert NAME in words and f"{RARE}镇执法案卷不规范" in words


def test_to_unicode_maps_characters_beyond_the_bmp() -> None:
    # reportlab alone writes <2CC56>, which a reader takes as U+2CC5 "ⳅ".
    assert fonts._to_unicode_cmap("F", [0x41, 0x2CC56]).count("<01> <D873DC56>") == 1


HIDDEN_FONTS_SCRIPT = """
import json, sys
from datetime import date
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].lower().endswith((".ttf", ".ttc", ".otf")):
        opened.append(args[0])
sys.addaudithook(hook)
from live.reports.checkup import CheckupData, render_checkup_pdf
from live.reports.printables import Card, join_poster_pdf, panel_cards_pdf
name = sys.argv[1]
docs = {
    "cards": panel_cards_pdf("会", [Card(name, "人大代表", "https://example.org/p/x")]),
    "poster": join_poster_pdf(name, "AB12CD", "https://example.org/j/AB12CD"),
    "checkup": render_checkup_pdf(CheckupData(meeting_title="会", meeting_date=date(2024, 1, 1), presenter_name=name)),
}
out = sys.argv[2]
for k, v in docs.items():
    open(f"{out}/{k}.pdf", "wb").write(v)
print(json.dumps(opened))
"""


def test_pdfs_need_no_system_font(tmp_path: Path) -> None:
    """A machine with no font at all: fontconfig sees an empty directory, no font path is searched."""
    conf = tmp_path / "fonts.conf"
    empty = tmp_path / "nofonts"
    empty.mkdir()
    conf.write_text(f"<?xml version='1.0'?><fontconfig><dir>{empty}</dir><cachedir>{tmp_path}</cachedir></fontconfig>")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf), "FONTCONFIG_PATH": str(tmp_path), "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(empty)}
    env.pop(fonts.FONT_ENV, None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", HIDDEN_FONTS_SCRIPT, NAME, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    opened = json.loads(done.stdout.strip().splitlines()[-1])
    assert [Path(p).resolve() for p in opened] == [fonts.SHIPPED_FONT.resolve()], opened
    for kind in ("cards", "poster", "checkup"):
        assert NAME in "".join(pdf_pages((tmp_path / f"{kind}.pdf").read_bytes())), kind


SERVE_WITH_FONT_LOG = """
import sys
log = sys.argv.pop(1)
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].lower().endswith((".ttf", ".ttc", ".otf")):
        with open(log, "a", encoding="utf-8") as f:
            f.write(args[0] + "\\n")
sys.addaudithook(hook)
from live.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_live_demo_serves_every_pdf_without_system_fonts(tmp_path: Path) -> None:
    """`live demo`, then every PDF route of the running server, with no font on the machine's paths."""
    conf = tmp_path / "fonts.conf"
    empty = tmp_path / "nofonts"
    empty.mkdir()
    conf.write_text(f"<?xml version='1.0'?><fontconfig><dir>{empty}</dir><cachedir>{tmp_path}</cachedir></fontconfig>")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}
    env.update({"FONTCONFIG_FILE": str(conf), "FONTCONFIG_PATH": str(tmp_path), "HOME": str(tmp_path),
                "LIVE_DATA_DIR": str(data), "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])})
    out = subprocess.run([sys.executable, "-m", "live.cli", "demo", "--data-dir", str(data), "--no-serve"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True).stdout
    code = re.search(r"会议码 ([A-Z2-9]{6})", out)
    password = re.search(r"主持人密码\s+(\S+)", out)
    assert code and password, out
    with contextlib.closing(sqlite3.connect(data / "live.db")) as db:
        item = db.execute("SELECT id FROM agenda_item ORDER BY position LIMIT 1").fetchone()[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    font_log = tmp_path / "fonts-opened.txt"
    server_log = tmp_path / "server.log"
    with server_log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-c", SERVE_WITH_FONT_LOG, str(font_log), "serve", "--port", str(port),
                                 "--data-dir", str(data)], env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            deadline = time.monotonic() + 60  # as tests/test_pages.py: a loaded CI machine imports slowly
            while True:
                assert proc.poll() is None, server_log.read_text(errors="replace")
                assert time.monotonic() < deadline, server_log.read_text(errors="replace")
                try:
                    if http.get("/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            assert http.post(f"/api/meetings/{code[1]}/login", json={"password": password[1]}).status_code == 200
            for path, words in [(f"/api/meetings/{code[1]}/print/panel-cards.pdf", ["张立华", "人大代表"]),
                                (f"/api/meetings/{code[1]}/print/join-poster.pdf", ["扫码参与述法评议"]),
                                (f"/api/meetings/{code[1]}/items/{item}/checkup.pdf", ["法治体检单", "马文亮"])]:
                resp = http.get(path)
                assert resp.status_code == 200 and resp.content.startswith(b"%PDF"), (path, resp.text[:300])
                text = "".join(pdf_pages(resp.content))
                for w in words:
                    assert w in text, (path, w)
    finally:
        proc.terminate()
        proc.wait(10)
    opened = {Path(p).resolve() for p in font_log.read_text(encoding="utf-8").split()}
    assert opened == {fonts.SHIPPED_FONT.resolve()}, opened


@pytest.mark.parametrize("broken", ["missing", "garbage"])
def test_font_trouble_is_a_clear_chinese_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, broken: str) -> None:
    path = tmp_path / "f.ttf"
    if broken == "garbage":
        path.write_bytes(b"\0" * 64)
    monkeypatch.setenv(fonts.FONT_ENV, str(path))
    with pytest.raises(fonts.FontNotFoundError, match="字体"):
        panel_cards_pdf("会", [Card("王", "代表", "https://example.org/p/x")])
