"""The 简报: the meeting summary organisers send to 上级, as DOCX and PDF, with charts.

Content (from live.store.briefing_data.briefing_data): the headline figures, participation
over time, each presenter's vote distribution per voter group as the public result shows
it, the ranking, and the problems by category. Both formats are drawn from one list of
blocks, so the Word file and the PDF never say different things; the charts are the same
PNGs (live.reports.charts) in both. Fonts follow the 法治体检单 (live.reports.checkup): the
PDF embeds the shipped CJK font, the Word file names 宋体/黑体 for East Asian text.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer

from live.reports.charts import Chart, briefing_charts
from live.reports.checkup import (
    DOCX_HEADING_FONT,
    _clean,
    _docx_grid,
    _docx_run,
    _Grid,
    _Heading,
    _markup,
    _Para,
    _pdf_grid,
    _prepare_styles,
    register_cjk_font,
)
from live.reports.interaction_xlsx import local_time

TITLE_SUFFIX = "简报"
VISIBILITY_NOTE = {
    "live": "测评结果按公开规则显示",
    "counts": "测评进行中只公布票数，结果在测评结束后公布",
    "hidden": "测评结果由主持人揭晓后公布，未揭晓的结果不列入本简报",
}


@dataclass(frozen=True)
class _Figure:
    chart: Chart


_Block = _Heading | _Para | _Grid | _Figure


def _hm(ms: int | None) -> str:
    t = local_time(ms)
    return t.strftime("%H:%M") if t else ""


def _overview(data: dict[str, Any]) -> str:
    m, h = data["meeting"], data["headline"]
    parts = []
    start, end = _hm(m.get("started_at_ms")), _hm(m.get("ended_at_ms"))
    when = m.get("held_on") or ""
    if start and end and m.get("started_at_ms") and m.get("ended_at_ms"):
        minutes = max(1, round((m["ended_at_ms"] - m["started_at_ms"]) / 60000))
        parts.append(f"会议于{when} {start}开始，{end}结束，历时约 {minutes} 分钟")
    elif start:
        parts.append(f"会议于{when} {start}开始（{m['status_label']}）")
    presenters = len(data["items"])
    done = sum(1 for it in data["items"] if it["phase"] == "done")
    parts.append(f"共安排 {presenters} 位述法人述法，{done} 位完成测评")
    parts.append(f"直播期间最多 {h['peak_audience']} 部手机同时在线，收到点赞 {h['likes']} 次、"
                 f"评论 {h['comments']} 条、质询问题 {h['questions']} 个（当场答复 {h['questions_answered']} 个）")
    return "；".join(parts) + "。"


def _options(data: dict[str, Any]) -> list[str]:
    for it in data["items"]:
        for g in (it.get("result") or {}).get("groups", []):
            if isinstance(g.get("options"), dict) and g["options"]:
                return list(g["options"])
    return []


def _blocks(data: dict[str, Any], charts: dict[str, Chart]) -> list[_Block]:
    h = data["headline"]
    blocks: list[_Block] = [_Heading("一、基本情况"), _Para(_overview(data))]
    blocks.append(_Grid([
        ("最高同时在线手机", f"{h['peak_audience']} 部"),
        ("最高同时在线大屏", f"{h['peak_screens']} 块"),
        ("点赞", f"{h['likes']} 次"),
        ("评论", f"{h['comments']} 条（上墙 {h['comments_shown']} 条）"),
        ("质询问题", f"{h['questions']} 个（现场提出 {h['questions_live']} 个，"
                     f"当场答复 {h['questions_answered']} 个）"),
        ("问题清单", f"{h['problems']} 个"),
    ], (0.3, 0.7)))

    blocks.append(_Heading("二、参与情况"))
    if "participation" in charts:
        blocks.append(_Para(f"按分钟记录的在线与互动情况，共 {h['minutes']} 分钟（北京时间）。"))
        blocks.append(_Figure(charts["participation"]))
    else:
        blocks.append(_Para("本次会议没有按分钟的参与记录。"))

    blocks.append(_Heading("三、测评结果"))
    visibility = VISIBILITY_NOTE.get(str(data["meeting"].get("visibility")), VISIBILITY_NOTE["live"])
    blocks.append(_Para(f"{visibility}。某一投票组票数较少时不公开该组的选项分布，只列票数，以免推知个人投票。"))
    if "votes" in charts:
        blocks.append(_Figure(charts["votes"]))
    else:
        blocks.append(_Para("暂无可公开的测评结果。"))
    results = {it["id"]: it.get("result") or {} for it in data["items"]}
    ranked = [r for r in data["ranking"] if r.get("rank") is not None]
    if ranked:
        blocks.append(_Grid(
            [(str(r["rank"]), r["name"], str(r.get("total") or "—"),
              str(results.get(r["item_id"], {}).get("grade") or "—"),
              str(results.get(r["item_id"], {}).get("satisfaction_rate_display") or "—")) for r in ranked],
            (0.12, 0.3, 0.2, 0.18, 0.2), header=("名次", "述法人", "综合得分", "等次", "满意率")))
        if "ranking" in charts:
            blocks.append(_Figure(charts["ranking"]))
    unranked = [it["name"] for it in data["items"] if it["id"] not in {r["item_id"] for r in ranked}]
    if unranked:
        blocks.append(_Para(f"未列入排名（测评未结束或结果未揭晓）：{'、'.join(unranked)}。"))

    blocks.append(_Heading("四、问题清单"))
    if data["problems"]:
        blocks.append(_Para(f"会议共梳理问题 {h['problems']} 个，按类别分布如下。"))
        blocks.append(_Figure(charts["problems"]))
        blocks.append(_Grid([(c, str(n)) for c, n in data["problems"]], (0.6, 0.4), header=("类别", "问题数")))
    else:
        blocks.append(_Para("本次会议未列出问题。"))
    return blocks


def _clean_data(data: dict[str, Any]) -> dict[str, Any]:
    """Names, titles and categories made safe for XML (python-docx and reportlab refuse some characters)."""
    out = dict(data)
    out["meeting"] = {**data["meeting"], "title": _clean(data["meeting"]["title"])}
    out["items"] = [{**it, "name": _clean(it["name"])} for it in data["items"]]
    out["ranking"] = [{**r, "name": _clean(r["name"])} for r in data["ranking"]]
    out["problems"] = [(_clean(c), n) for c, n in data["problems"]]
    return out


def _prepare(data: dict[str, Any]) -> tuple[dict[str, Any], list[Chart], list[_Block]]:
    data = _clean_data(data)
    charts = briefing_charts(data, _options(data))
    return data, charts, _blocks(data, {c.key: c for c in charts})


def briefing_filename(data: dict[str, Any], ext: str) -> str:
    title = re.sub(r'[\\/:*?"<>|\s]+', "", _clean(data["meeting"]["title"]))[:60] or "述法评议"
    return f"{title}_{TITLE_SUFFIX}.{ext}"


def _subtitle(data: dict[str, Any]) -> str:
    m = data["meeting"]
    return "　".join(x for x in (m.get("held_on") or "", f"会议码 {m['code']}", m["status_label"]) if x)


def render_briefing_pdf(data: dict[str, Any], charts_out: list[Chart] | None = None) -> bytes:
    font = register_cjk_font()
    data, charts, blocks = _prepare(data)
    if charts_out is not None:
        charts_out.extend(charts)
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK", firstLineIndent=21,
                          spaceAfter=4)
    cell = ParagraphStyle("cell", parent=body, fontSize=9.5, leading=14, firstLineIndent=0, spaceAfter=0)
    heading = ParagraphStyle("heading", parent=body, fontSize=13, leading=20, firstLineIndent=0, spaceBefore=10,
                             spaceAfter=6, keepWithNext=1)
    title_style = ParagraphStyle("title", parent=body, fontSize=20, leading=28, alignment=TA_CENTER,
                                 firstLineIndent=0, spaceAfter=4)
    sub_style = ParagraphStyle("sub", parent=body, fontSize=10.5, alignment=TA_CENTER, firstLineIndent=0,
                               spaceAfter=10, textColor=colors.HexColor("#333333"))
    caption = ParagraphStyle("caption", parent=body, fontSize=9, alignment=TA_CENTER, firstLineIndent=0,
                             textColor=colors.HexColor("#555555"))
    buf = io.BytesIO()
    margin = 20 * mm
    title = data["meeting"]["title"]
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=f"{title} {TITLE_SUFFIX}", creator="述法评议 Live")
    story: list[Any] = [Paragraph(_markup(f"{title}{TITLE_SUFFIX}"), title_style),
                        Paragraph(_markup(_subtitle(data)), sub_style)]
    n = 0
    for block in blocks:
        if isinstance(block, _Heading):
            story.append(Paragraph(_markup(block.text), heading))
        elif isinstance(block, _Para):
            story.append(Paragraph(_markup(block.text), body))
        elif isinstance(block, _Grid):
            story.append(_pdf_grid(block, doc.width, cell, cell))
            story.append(Spacer(1, 6))
        else:
            n += 1
            c = block.chart
            width = doc.width
            height = min(width * c.height_in / c.width_in, doc.height - 30 * mm)
            story.append(KeepTogether([Image(io.BytesIO(c.png), width=height * c.width_in / c.height_in,
                                             height=height),
                                       Paragraph(_markup(f"图{n}　{c.title}"), caption), Spacer(1, 6)]))

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{title}　{TITLE_SUFFIX}　第 {document.page} 页")
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


def render_briefing_docx(data: dict[str, Any]) -> bytes:
    data, _charts, blocks = _prepare(data)
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    text_width = int(section.page_width - section.left_margin - section.right_margin)
    _prepare_styles(doc)
    title = data["meeting"]["title"]
    doc.core_properties.title = f"{title} {TITLE_SUFFIX}"
    head = doc.add_paragraph(style="Title")
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_run(head, f"{title}{TITLE_SUFFIX}", font=DOCX_HEADING_FONT, bold=True)
    sub = doc.add_paragraph(style="Subtitle")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_run(sub, _subtitle(data))
    n = 0
    for block in blocks:
        if isinstance(block, _Heading):
            p = doc.add_paragraph(style="Heading 1")
            _docx_run(p, block.text, font=DOCX_HEADING_FONT, bold=True)
        elif isinstance(block, _Para):
            p = doc.add_paragraph()
            p.paragraph_format.first_line_indent = Mm(8.5)
            _docx_run(p, block.text)
        elif isinstance(block, _Grid):
            _docx_grid(doc, block, text_width)
            doc.add_paragraph().paragraph_format.space_after = 0
        else:
            n += 1
            doc.add_picture(io.BytesIO(block.chart.png), width=Mm(160))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap = doc.add_paragraph()
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _docx_run(cap, f"图{n}　{block.chart.title}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


__all__ = ["briefing_filename", "render_briefing_docx", "render_briefing_pdf"]
