"""The weekly 整改通报 as DOCX (to send round) and XLSX (to sort and file).

The DOCX uses the 体检单's styles (宋体 body, 黑体 headings, explicit East Asian fonts so
Word and WPS pick them); every text cell of the XLSX stays text (live.reports.xlsx_text),
so a problem written as ``=HYPERLINK(…)`` is never run as a formula.
"""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from live.domain.bulletin import Bulletin, BulletinProblem
from live.domain.rectification import Escalation, parse_status
from live.reports.checkup import (
    DOCX_HEADING_FONT,
    _clean,
    _docx_grid,
    _docx_run,
    _Grid,
    _prepare_styles,
    format_date,
)
from live.reports.xlsx_text import keep_text

COUNT_HEADER = ("责任单位", "新增问题", "逾期未改", "本周销号", "本周督办")


def bulletin_filename(b: Bulletin, ext: str) -> str:
    return f"整改通报_{b.start.isoformat()}至{b.end.isoformat()}.{ext}"


def _d(day: date | None) -> str:
    return day.isoformat() if day else "—"


def _detail_rows(b: Bulletin) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []

    def add(kind: str, p: BulletinProblem, extra: str) -> None:
        rows.append((kind, p.unit, p.presenter, p.meeting_title, p.description, _d(p.deadline),
                     parse_status(p.status).label, extra))

    for u in b.units:
        for p in u.new:
            add("新增", p, f"提出于 {_d(p.created_on)}")
        for p in u.overdue:
            add("逾期", p, f"逾期 {(b.end - p.deadline).days} 天" if p.deadline else "")
        for p in u.closed:
            add("销号", p, f"销号于 {_d(p.closed_on)}")
        for p, level, on in u.escalated:
            add("督办", p, f"{Escalation(level).label}（{_d(on)}）")
    return rows


DETAIL_HEADER = ("类别", "责任单位", "述法人", "会议", "问题", "整改期限", "状态", "说明")


def render_bulletin_docx(b: Bulletin) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(297), Mm(210)  # landscape: the detail table is wide
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(20)
    text_width = int(section.page_width - section.left_margin - section.right_margin)
    _prepare_styles(doc)
    doc.core_properties.title = "整改情况通报"
    heading = doc.add_paragraph(style="Title")
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_run(heading, "整改情况通报", font=DOCX_HEADING_FONT, bold=True)
    sub = doc.add_paragraph(style="Subtitle")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_run(sub, f"{format_date(b.start)}至{format_date(b.end)}")
    t = b.totals()
    para = doc.add_paragraph()
    para.paragraph_format.first_line_indent = Mm(8.5)
    _docx_run(para, f"本周新增问题{t['new']}个，逾期未整改{t['overdue']}个，销号{t['closed']}个，"
                    f"督办{t['escalated']}次。" if b.units else "本周没有新增、逾期、销号或督办的问题。")
    if b.units:
        h = doc.add_paragraph(style="Heading 1")
        _docx_run(h, "一、分单位情况", font=DOCX_HEADING_FONT, bold=True)
        rows = [tuple(str(u.counts()[k]) if k != "unit" else _clean(u.unit)
                      for k in ("unit", "new", "overdue", "closed", "escalated")) for u in b.units]
        _docx_grid(doc, _Grid(rows, (0.4, 0.15, 0.15, 0.15, 0.15), COUNT_HEADER), text_width)
        h = doc.add_paragraph(style="Heading 1")
        _docx_run(h, "二、问题明细", font=DOCX_HEADING_FONT, bold=True)
        detail = [tuple(_clean(c) for c in r) for r in _detail_rows(b)]
        _docx_grid(doc, _Grid(detail, (0.06, 0.13, 0.08, 0.15, 0.3, 0.09, 0.07, 0.12), DETAIL_HEADER), text_width)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render_bulletin_xlsx(b: Bulletin) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "分单位"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    ws.append([f"整改情况通报（{b.start.isoformat()} 至 {b.end.isoformat()}）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(COUNT_HEADER))
    for u in b.units:
        c = u.counts()
        ws.append([u.unit, c["new"], c["overdue"], c["closed"], c["escalated"]])
    t = b.totals()
    ws.append(["合计", t["new"], t["overdue"], t["closed"], t["escalated"]])
    for cell in ws[2]:
        cell.font, cell.fill = bold, fill
    for cell in ws[ws.max_row]:
        cell.font = bold
    ws.column_dimensions["A"].width = 30
    detail = wb.create_sheet("问题明细")
    detail.append(list(DETAIL_HEADER))
    for r in _detail_rows(b):
        detail.append(list(r))
    for cell in detail[1]:
        cell.font, cell.fill = bold, fill
    for col, width in zip("ABCDEFGH", (8, 20, 10, 24, 50, 12, 10, 18), strict=True):
        detail.column_dimensions[col].width = width
    for row in detail.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    keep_text(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
