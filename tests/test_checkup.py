from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from live.domain.rectification import PresenterSummary, RectStatus
from live.reports import fonts
from live.reports.checkup import (
    CheckupData,
    CheckupProblem,
    CheckupQuestion,
    CheckupScore,
    FontNotFoundError,
    checkup_filename,
    find_cjk_font,
    render_checkup_docx,
    render_checkup_pdf,
)
from live.reports.rectification_xlsx import PROBLEM_SHEET, SUMMARY_SHEET, ProblemRow, render_rectification_xlsx

LONG_COMMENT = "该同志履行法治建设第一责任人职责较好，但行政执法案卷评查中发现部分案件程序不规范、" * 12


def sample() -> CheckupData:
    return CheckupData(
        meeting_title="中卫市2024年度党政主要负责人述法评议会议",
        meeting_date=date(2024, 11, 30),
        presenter_name="冯磊",
        presenter_post="局长",
        presenter_unit="中卫市生态环境局",
        score=CheckupScore(total=Decimal("92.345"), grade="好", satisfaction_rate=Decimal("0.9524"), rank=2,
                           rank_of=12, digest="sha256:" + "0f" * 32, details=(("评议团满意率", "96.00%"),)),
        questions=[
            CheckupQuestion("生态环境系统执法检查事项多，如何推进严格规范公正文明执法？", "评议团", "人大代表王某",
                            answered=True),
            CheckupQuestion("校园周边噪声污染<script>alert(1)</script> & 投诉处理慢", "12345热线", "", False),
        ],
        comment=LONG_COMMENT + "\n希望下一步加强执法规范化建设。",
        commenter="市委书记",
        problems=[
            CheckupProblem("行政执法案卷程序不规范\x0b，部分案件未按规定告知陈述申辩权利", "行政执法", "点评"),
            CheckupProblem("重大行政决策合法性审查流于形式", "依法决策", "评议团意见", date(2025, 1, 15)),
        ],
        issuer="中共中卫市委全面依法治市委员会办公室",
        issued_on=date(2024, 12, 5),
    )


def pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def squash(text: str) -> str:
    # Line wrapping and table cells split text; compare without whitespace.
    return re.sub(r"\s+", "", text)


def flowing(text: str) -> str:
    """Squashed text without what a page break inserts: the footer and a repeated table header."""
    text = re.sub(r"[^\n]*法治体检单\s*第 \d+ 页\s*\n", "", text)
    return squash(text).replace("序号问题描述类别来源整改期限", "")


def test_pdf_contains_the_chinese_text() -> None:
    data = render_checkup_pdf(sample())
    assert data.startswith(b"%PDF")
    text = squash(pdf_text(data))
    for expected in ["法治体检单", "冯磊", "中卫市生态环境局", "局长", "2024年11月30日", "一、测评结果", "92.35",
                     "95.24%", "第2名（共12人）", "评议团满意率", "二、质询情况", "人大代表王某（评议团）",
                     "已答复", "未答复", "三、点评意见", "希望下一步加强执法规范化建设。", "四、问题清单及整改要求",
                     "重大行政决策合法性审查流于形式", "评议团意见", "2025年2月28日", "2025年1月15日",
                     "中共中卫市委全面依法治市委员会办公室", "2024年12月5日"]:
        assert squash(expected) in text, expected
    # User text is shown literally, not interpreted as markup.
    assert "<script>alert(1)</script>&投诉处理慢" in text


def test_pdf_wraps_long_cjk_text_and_embeds_the_font() -> None:
    data = render_checkup_pdf(sample())
    raw = pdf_text(data)
    lines = [line for line in raw.splitlines() if "该同志履行法治建设" in line or "程序不规范、" in line]
    # The long comment comes out on many lines, none running off the page.
    assert len(lines) >= 5
    assert squash(LONG_COMMENT) in flowing(raw)
    assert b"/FontFile2" in data  # an embedded TrueType font program
    pdf = pdfium.PdfDocument(data)
    try:
        width = pdf[0].get_width()
        page = pdf[0].get_textpage()
        for i in range(page.count_chars()):
            left, _, right, _ = page.get_charbox(i)
            assert left >= 0 and right <= width
    finally:
        pdf.close()


def test_pdf_survives_a_very_long_problem() -> None:
    data = sample()
    huge = CheckupProblem("超长问题描述" * 700, "其他", "质询")
    data = CheckupData(**{**data.__dict__, "problems": [huge], "score": None, "questions": ()})
    text = flowing(pdf_text(render_checkup_pdf(data)))
    # The row's short cells sit in its first part, in the middle of the long description.
    assert text.count("其他质询2025年2月28日") == 1
    assert text.replace("其他质询2025年2月28日", "").count("超长问题描述") == 700
    assert "本次会议未产生该述法人的测评结果" in text and "本次会议未对该述法人进行质询" in text


def test_docx_content_and_east_asian_font() -> None:
    doc = Document(io.BytesIO(render_checkup_docx(sample())))
    body = "\n".join(p.text for p in doc.paragraphs)
    cells = "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    everything = body + "\n" + cells
    for expected in ["法治体检单", "一、测评结果", "三、点评意见", "希望下一步加强执法规范化建设。", "点评人：市委书记",
                     "冯磊", "中卫市生态环境局", "92.35", "95.24%", "第 2 名（共 12 人）",
                     "校园周边噪声污染<script>alert(1)</script> & 投诉处理慢", "人大代表王某（评议团）",
                     "行政执法案卷程序不规范，部分案件未按规定告知陈述申辩权利", "2025年2月28日", "2025年1月15日",
                     "中共中卫市委全面依法治市委员会办公室"]:
        assert expected in everything, expected
    # Word and WPS take the font for Chinese from w:eastAsia: on the styles, the defaults and every run.
    for name in ("Normal", "Title", "Heading 1"):
        rfonts = doc.styles[name].element.rPr.find(qn("w:rFonts"))
        assert rfonts.get(qn("w:eastAsia")) and rfonts.get(qn("w:eastAsiaTheme")) is None
    defaults = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
    assert defaults.get(qn("w:eastAsia")) == "宋体"
    runs = [r for p in doc.paragraphs for r in p.runs]
    runs += [r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert runs
    for run in runs:
        rpr = run._r.rPr
        assert rpr is not None
        rfonts = rpr.find(qn("w:rFonts"))
        assert rfonts.get(qn("w:eastAsia")) in ("宋体", "黑体")
    section = doc.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297


def test_from_dict() -> None:
    data = CheckupData.from_dict({
        "meeting_title": "述法评议会",
        "meeting_date": "2024-11-29",
        "presenter_name": "王芳",
        "score": {"total": "88.50", "rank": 3, "details": [["群众满意率", "90%"]]},
        "questions": [{"text": "问题", "answered": True}],
        "problems": [{"description": "问题一", "deadline": "2025-01-31T00:00:00"}],
        "issued_on": datetime(2024, 12, 1, 9, 0),
    })
    assert data.meeting_date == date(2024, 11, 29)
    assert data.problems[0].deadline == date(2025, 1, 31)
    assert data.issued_on == date(2024, 12, 1)
    assert data.score is not None and data.score.details == (("群众满意率", "90%"),)
    assert "88.50" in squash(pdf_text(render_checkup_pdf(data)))


def test_filename_is_safe() -> None:
    data = CheckupData(meeting_title="会", meeting_date=date(2024, 11, 29), presenter_name="../王 芳")
    assert checkup_filename(data, "pdf") == "法治体检单_..王芳_2024-11-29.pdf"


def test_font_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert find_cjk_font() == fonts.SHIPPED_FONT  # the package's own, never a system path
    monkeypatch.setenv(fonts.FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(FontNotFoundError, match="LIVE_CJK_FONT"):
        find_cjk_font()
    monkeypatch.delenv(fonts.FONT_ENV)
    monkeypatch.setattr(fonts, "SHIPPED_FONT", tmp_path / "none.ttf")
    with pytest.raises(FontNotFoundError, match="缺少内置中文字体"):
        find_cjk_font()
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    monkeypatch.setenv(fonts.FONT_ENV, str(bad))
    assert find_cjk_font() == bad
    with pytest.raises(FontNotFoundError, match="无法使用"):
        render_checkup_pdf(sample())


def test_rectification_xlsx() -> None:
    today = date(2025, 3, 15)
    rows = [
        ProblemRow("2024年度述法评议", date(2024, 11, 30), "冯磊", "生态环境局", "=HYPERLINK(\"http://x\")执法不规范",
                   "行政执法", "点评", "执法科", date(2025, 2, 28), RectStatus.IN_PROGRESS, "已完成案卷自查\x01",
                   date(2025, 3, 1)),
        ProblemRow("2024年度述法评议", date(2024, 11, 30), "冯磊", "生态环境局", "决策审查形式化", "依法决策",
                   "评议团意见", "法规科", date(2025, 2, 28), "closed"),
        ProblemRow("2024年度述法评议", date(2024, 11, 30), "王芳", "教育局", "校园欺凌处置慢", "执法", "质询",
                   "", date(2025, 6, 1), RectStatus.PENDING),
    ]
    wb = load_workbook(io.BytesIO(render_rectification_xlsx(rows, today)))
    assert wb.sheetnames == [PROBLEM_SHEET, SUMMARY_SHEET]
    ws = wb[PROBLEM_SHEET]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["序号", "会议", "会议日期", "述法人", "单位", "问题描述"]
    assert "整改期限" in header and "是否逾期" in header
    first = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert first["问题描述"].data_type == "s" and first["问题描述"].value.startswith("=HYPERLINK")
    assert first["状态"].value == "整改中" and first["是否逾期"].value == "是" and first["逾期天数"].value == 15
    assert first["最新进展"].value == "已完成案卷自查"
    assert first["整改期限"].value.date() == date(2025, 2, 28)
    assert [ws.cell(row=r, column=header.index("状态") + 1).value for r in (3, 4)] == ["已销号", "待整改"]
    assert ws.cell(row=4, column=header.index("是否逾期") + 1).value == "否"

    summary = wb[SUMMARY_SHEET]
    assert "2025年3月15日" in summary["A1"].value
    table = [[c.value for c in row] for row in summary.iter_rows(min_row=3, max_row=6)]
    assert table[0] == ["述法人", "问题总数", "已销号", "已整改待销号", "未完成", "其中逾期", "销号率"]
    assert table[1] == ["冯磊", 2, 1, 0, 1, 1, 0.5]
    assert table[2] == ["王芳", 1, 0, 0, 1, 0, 0]
    assert table[3] == ["合计", 3, 1, 0, 2, 1, pytest.approx(1 / 3)]


def test_rectification_xlsx_with_given_summary_and_no_rows() -> None:
    summary = [PresenterSummary("冯磊", total=2, closed=2)]
    wb = load_workbook(io.BytesIO(render_rectification_xlsx([], date(2025, 1, 1), summary=summary)))
    assert wb[PROBLEM_SHEET].max_row == 1
    assert [c.value for c in wb[SUMMARY_SHEET][4]] == ["冯磊", 2, 2, 0, 0, 0, 1]
