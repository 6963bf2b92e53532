"""The 法治体检单: written feedback to one presenter after the meeting, as DOCX and PDF.

Both formats are drawn from one list of blocks (headings, paragraphs, grids) so
that the Word file and the PDF can never say different things.

Word and WPS pick the font for Chinese characters from ``w:eastAsia`` and ignore
the Latin font name for them, and a theme font in the template would override an
explicit name; so the theme attributes are removed and ``w:eastAsia`` is set on
the document defaults, on every style used and on every run.

The PDF embeds the shipped CJK font (see :mod:`live.reports.fonts`) and wraps text
with reportlab's CJK rules, because Chinese text has no spaces to break at.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from live.domain.rectification import default_deadline
from live.domain.report_rows import CheckupData, CheckupProblem, CheckupQuestion, CheckupScore

# FontNotFoundError and find_cjk_font are re-exported for callers that imported them from here.
from live.reports.fonts import FontNotFoundError as FontNotFoundError
from live.reports.fonts import find_cjk_font as find_cjk_font
from live.reports.fonts import register_cjk_font as register_cjk_font

# Fonts present on every Chinese Windows and bundled with WPS.
DOCX_BODY_FONT = "宋体"
DOCX_HEADING_FONT = "黑体"
DOCX_LATIN_FONT = "Times New Roman"

OWNER_LINK_NOTE = ("责任单位可通过下列个人链接报送整改进展和佐证材料（PDF 或图片）、申请销号。"
                   "链接仅供本单位使用，请勿转发或公开；如有泄露，请联系组织单位更换。")
CLOSING_NOTE = (
    "请对照上述问题清单逐项制定整改措施，明确责任人，于整改期限前报送整改情况及佐证材料；"
    "整改完成经审核后予以销号，逾期未完成的将在下一次述法评议会议上通报。"
)


# ---------------------------------------------------------------- content


@dataclass(frozen=True)
class _Heading:
    text: str


@dataclass(frozen=True)
class _Para:
    text: str
    align_right: bool = False


@dataclass(frozen=True)
class _Grid:
    rows: list[tuple[str, ...]]
    widths: tuple[float, ...]  # fractions of the text width
    header: tuple[str, ...] | None = None  # None: a label/value table


_Block = _Heading | _Para | _Grid

# Characters XML 1.0 forbids; python-docx refuses them and reportlab chokes on them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: object) -> str:
    return _NOT_XML.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n").strip()


def format_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _fmt_number(value: Decimal | float | str) -> str:
    if isinstance(value, str):
        return value
    try:
        # 四舍五入, as score sheets are read; Decimal's default would round 92.345 down.
        return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return str(value)


def _fmt_rate(value: Decimal | float | str) -> str:
    if isinstance(value, str):
        return value
    try:
        return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"
    except InvalidOperation:
        return str(value)


def _score_rows(score: CheckupScore) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    if score.total is not None:
        rows.append(("综合得分", _fmt_number(score.total)))
    if score.grade:
        rows.append(("评定等次", score.grade))
    if score.satisfaction_rate is not None:
        rows.append(("满意率", _fmt_rate(score.satisfaction_rate)))
    if score.rank is not None:
        of = f"（共 {score.rank_of} 人）" if score.rank_of else ""
        rows.append(("排名", f"第 {score.rank} 名{of}"))
    rows.extend(score.details)
    if score.digest:
        rows.append(("结果摘要", score.digest))
    return rows


def _answer_state(q: CheckupQuestion) -> str:
    if q.answered:
        return "已答复"
    return "未答复" if q.asked else "未提出"


def _asked_by(q: CheckupQuestion) -> str:
    if q.asker and q.source:
        return f"{q.asker}（{q.source}）"
    return q.asker or q.source or "—"


def _blocks(data: CheckupData) -> list[_Block]:
    info: list[tuple[str, ...]] = [("述法人", data.presenter_name)]
    if data.presenter_post:
        info.append(("职务", data.presenter_post))
    if data.presenter_unit:
        info.append(("单位", data.presenter_unit))
    info += [("会议", data.meeting_title), ("会议日期", format_date(data.meeting_date))]
    info += list(data.extra.items())
    blocks: list[_Block] = [_Grid(info, (0.2, 0.8))]

    blocks.append(_Heading("一、测评结果"))
    score_rows = _score_rows(data.score) if data.score else []
    blocks.append(_Grid(score_rows, (0.2, 0.8)) if score_rows else _Para("本次会议未产生该述法人的测评结果。"))

    blocks.append(_Heading("二、质询情况"))
    if data.questions:
        answered = sum(1 for q in data.questions if q.answered)
        asked = sum(1 for q in data.questions if q.asked or q.answered)
        if asked == len(data.questions):
            summary = f"共接受质询 {asked} 个，当场答复 {answered} 个。"
        else:
            # The console lists every question received; say how many of them were put.
            summary = f"共收到质询问题 {len(data.questions)} 个，其中现场提出 {asked} 个，当场答复 {answered} 个。"
        blocks.append(_Para(summary))
        blocks.append(_Grid(
            [(str(i), q.text, _asked_by(q), _answer_state(q))
             for i, q in enumerate(data.questions, start=1)],
            (0.07, 0.6, 0.2, 0.13),
            header=("序号", "质询问题", "提问人/来源", "答复情况"),
        ))
    else:
        blocks.append(_Para("本次会议未对该述法人进行质询。"))

    blocks.append(_Heading("三、点评意见"))
    if data.commenter:
        blocks.append(_Para(f"点评人：{data.commenter}"))
    paragraphs = [p.strip() for p in data.comment.split("\n") if p.strip()]
    blocks.extend(_Para(p) for p in paragraphs or ["（无）"])

    blocks.append(_Heading("四、问题清单及整改要求"))
    if data.problems:
        blocks.append(_Grid(
            [(str(i), p.description, p.category or "—", p.source or "—",
              format_date(p.deadline or default_deadline(data.meeting_date)))
             for i, p in enumerate(data.problems, start=1)],
            (0.07, 0.49, 0.13, 0.13, 0.18),
            header=("序号", "问题描述", "类别", "来源", "整改期限"),
        ))
        blocks.append(_Para(CLOSING_NOTE))
        linked = [(i, p) for i, p in enumerate(data.problems, start=1) if p.link]
        if linked:
            blocks.append(_Para(OWNER_LINK_NOTE))
            blocks.append(_Grid([(str(i), p.owner or "—", p.link) for i, p in linked], (0.07, 0.2, 0.73),
                                header=("序号", "责任单位", "整改报送链接")))
    else:
        blocks.append(_Para("本次会议未列出需整改的问题。"))

    if data.record_root:
        blocks.append(_Para(f"会议记录根摘要（SHA-256）：{data.record_root}。可用 live verify 选票文件 --expect "
                            "根摘要 核对本次测评的全部选票与结果。"))
    if data.issuer:
        blocks.append(_Para(data.issuer, align_right=True))
    blocks.append(_Para(format_date(data.issued_on or data.meeting_date), align_right=True))
    return blocks


def _sanitised(data: CheckupData) -> CheckupData:
    """A copy with every user-supplied string made safe for XML."""
    score = data.score
    if score is not None:
        score = CheckupScore(
            total=_clean(score.total) if isinstance(score.total, str) else score.total,
            grade=_clean(score.grade),
            satisfaction_rate=(_clean(score.satisfaction_rate) if isinstance(score.satisfaction_rate, str)
                               else score.satisfaction_rate),
            rank=score.rank,
            rank_of=score.rank_of,
            digest=_clean(score.digest),
            details=tuple((_clean(k), _clean(v)) for k, v in score.details),
        )
    return CheckupData(
        meeting_title=_clean(data.meeting_title),
        meeting_date=data.meeting_date,
        presenter_name=_clean(data.presenter_name),
        presenter_post=_clean(data.presenter_post),
        presenter_unit=_clean(data.presenter_unit),
        score=score,
        questions=[CheckupQuestion(_clean(q.text), _clean(q.source), _clean(q.asker), q.answered, q.asked)
                   for q in data.questions],
        comment=_clean(data.comment),
        commenter=_clean(data.commenter),
        problems=[CheckupProblem(_clean(p.description), _clean(p.category), _clean(p.source), p.deadline,
                                 _clean(p.owner), _clean(p.link)) for p in data.problems],
        issuer=_clean(data.issuer),
        issued_on=data.issued_on,
        extra={_clean(k): _clean(v) for k, v in data.extra.items()},
        record_root=_clean(data.record_root),
    )


def _title_lines(data: CheckupData) -> tuple[str, str]:
    who = "　".join(x for x in (data.presenter_unit, data.presenter_post, data.presenter_name) if x)
    return "法治体检单", who


def checkup_filename(data: CheckupData, ext: str) -> str:
    """A download name such as ``法治体检单_张三_2024-11-29.pdf`` with path characters removed."""
    name = re.sub(r'[\\/:*?"<>|\s]+', "", _clean(data.presenter_name)) or "述法人"
    return f"法治体检单_{name}_{data.meeting_date.isoformat()}.{ext}"


# ---------------------------------------------------------------- DOCX


def _set_run_fonts(rpr_parent: Any, east_asia: str, latin: str = DOCX_LATIN_FONT) -> None:
    """Set explicit fonts on an element that holds (or may hold) ``w:rPr``."""
    # Runs and styles know where rPr goes in their schema order; rPrDefault is a plain element.
    getter = getattr(rpr_parent, "get_or_add_rPr", None)
    rpr = getter() if getter is not None else rpr_parent.find(qn("w:rPr"))
    if rpr is None:
        rpr = rpr_parent.makeelement(qn("w:rPr"), {})
        rpr_parent.insert(0, rpr)
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, rfonts)
    for theme_attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme_attr), None)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:cs"), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)


def _prepare_styles(doc: Any) -> None:
    styles_el = doc.styles.element
    rpr_default = styles_el.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault"))
    if rpr_default is not None:
        _set_run_fonts(rpr_default, DOCX_BODY_FONT)
        lang = rpr_default.find(qn("w:rPr") + "/" + qn("w:lang"))
        if lang is not None:
            # Lets Word treat ambiguous characters (quotes, dashes) as Chinese.
            lang.set(qn("w:eastAsia"), "zh-CN")
    for name, font, size in (("Normal", DOCX_BODY_FONT, 12), ("Title", DOCX_HEADING_FONT, 22),
                             ("Subtitle", DOCX_BODY_FONT, 12),
                             ("Heading 1", DOCX_HEADING_FONT, 14), ("Table Grid", DOCX_BODY_FONT, 10.5)):
        style = doc.styles[name]
        if style.type == WD_STYLE_TYPE.PARAGRAPH or name == "Table Grid":
            _set_run_fonts(style.element, font)
        style.font.size = Pt(size)
        if name != "Table Grid":
            style.font.color.rgb = RGBColor(0, 0, 0)
            # The template's Subtitle is italic, which Chinese fonts only fake, badly.
            style.font.italic = False
    doc.styles["Title"].font.bold = True


def _docx_run(paragraph: Any, text: str, *, font: str = DOCX_BODY_FONT, bold: bool = False) -> None:
    run = paragraph.add_run(text)
    run.bold = bold
    _set_run_fonts(run._r, font)


def _docx_grid(doc: Any, grid: _Grid, text_width: int) -> None:
    rows = ([grid.header] if grid.header else []) + grid.rows
    table = doc.add_table(rows=len(rows), cols=len(grid.widths))
    table.style = doc.styles["Table Grid"]
    table.autofit = False
    for r, values in enumerate(rows):
        is_header = grid.header is not None and r == 0
        is_label = grid.header is None
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.width = int(text_width * grid.widths[c])
            para = cell.paragraphs[0]
            para.paragraph_format.space_after = 0
            bold = is_header or (is_label and c == 0)
            _docx_run(para, value, font=DOCX_HEADING_FONT if bold else DOCX_BODY_FONT, bold=bold)
            if bold:
                shd = OxmlElement("w:shd")
                shd.set(qn("w:val"), "clear")
                shd.set(qn("w:color"), "auto")
                shd.set(qn("w:fill"), "EDEDED")
                cell._tc.get_or_add_tcPr().append(shd)
        if is_header:
            # Repeat the header row at the top of each page.
            tbl_header = OxmlElement("w:tblHeader")
            tbl_header.set(qn("w:val"), "true")
            table.rows[r]._tr.get_or_add_trPr().append(tbl_header)


def render_checkup_docx(data: CheckupData) -> bytes:
    data = _sanitised(data)
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    text_width = int(section.page_width - section.left_margin - section.right_margin)
    _prepare_styles(doc)
    doc.core_properties.title = f"法治体检单 - {data.presenter_name}"
    doc.core_properties.subject = data.meeting_title

    title, who = _title_lines(data)
    heading = doc.add_paragraph(style="Title")
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_run(heading, title, font=DOCX_HEADING_FONT, bold=True)
    sub = doc.add_paragraph(style="Subtitle")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_run(sub, who)

    for block in _blocks(data):
        if isinstance(block, _Heading):
            p = doc.add_paragraph(style="Heading 1")
            _docx_run(p, block.text, font=DOCX_HEADING_FONT, bold=True)
        elif isinstance(block, _Para):
            p = doc.add_paragraph()
            if block.align_right:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            else:
                p.paragraph_format.first_line_indent = Mm(8.5)
            _docx_run(p, block.text)
        else:
            _docx_grid(doc, block, text_width)
            doc.add_paragraph().paragraph_format.space_after = 0
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- PDF


def _markup(text: str) -> str:
    """User text as reportlab Paragraph markup: escaped, line breaks kept."""
    return escape(text).replace("\n", "<br/>")


def render_checkup_pdf(data: CheckupData) -> bytes:
    font = register_cjk_font()
    data = _sanitised(data)
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK",
                          firstLineIndent=21, spaceAfter=4)
    cell = ParagraphStyle("cell", parent=body, fontSize=9.5, leading=14, firstLineIndent=0, spaceAfter=0)
    cell_head = ParagraphStyle("cell_head", parent=cell, textColor=colors.black)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT, firstLineIndent=0)
    heading = ParagraphStyle("heading", parent=body, fontSize=13, leading=20, firstLineIndent=0,
                             spaceBefore=10, spaceAfter=6, keepWithNext=1)
    title_style = ParagraphStyle("title", parent=body, fontSize=22, leading=30, alignment=TA_CENTER,
                                 firstLineIndent=0, spaceAfter=4)
    sub_style = ParagraphStyle("sub", parent=body, fontSize=11, alignment=TA_CENTER, firstLineIndent=0,
                               spaceAfter=10, textColor=colors.HexColor("#333333"))

    buf = io.BytesIO()
    margin = 20 * mm
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin, bottomMargin=margin,
        title=f"法治体检单 - {data.presenter_name}", subject=data.meeting_title, creator="述法评议 Live",
    )
    title, who = _title_lines(data)
    story: list[Any] = [Paragraph(_markup(title), title_style), Paragraph(_markup(who), sub_style)]
    for block in _blocks(data):
        if isinstance(block, _Heading):
            story.append(Paragraph(_markup(block.text), heading))
        elif isinstance(block, _Para):
            story.append(Paragraph(_markup(block.text), right if block.align_right else body))
        else:
            story.append(_pdf_grid(block, doc.width, cell, cell_head))
            story.append(Spacer(1, 4))

    footer_title = data.meeting_title

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{footer_title}　法治体检单　第 {document.page} 页")
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


def _pdf_grid(grid: _Grid, width: float, cell: ParagraphStyle, cell_head: ParagraphStyle) -> Table:
    rows: Iterable[tuple[str, ...]] = ([grid.header] if grid.header else []) + grid.rows
    data = [[Paragraph(_markup(v), cell_head if grid.header and r == 0 else cell) for v in values]
            for r, values in enumerate(rows)]
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#808080")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    shade = colors.HexColor("#EDEDED")
    commands.append(("BACKGROUND", (0, 0), (-1, 0), shade) if grid.header
                    else ("BACKGROUND", (0, 0), (0, -1), shade))
    # splitInRow lets one very long problem description run onto the next page
    # instead of failing the whole document with a LayoutError.
    return Table(data, colWidths=[width * w for w in grid.widths], repeatRows=1 if grid.header else 0,
                     style=TableStyle(commands), splitInRow=1, hAlign="LEFT")

