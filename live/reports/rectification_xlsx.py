"""XLSX export of the 问题清单 across meetings, with the 通报 summary per presenter.

The caller has already filtered the problems (by presenter, status, overdue);
this module only lays them out. Overdue rows are tinted so that the 通报 can be
read at a glance, and the header row carries a filter for further sorting in Excel.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from live.domain.rectification import (
    PresenterSummary,
    RectStatus,
    days_overdue,
    is_overdue,
    parse_status,
    summarise,
)
from live.domain.report_rows import ProblemRow
from live.reports.xlsx_text import keep_text

PROBLEM_SHEET = "问题清单"
SUMMARY_SHEET = "整改通报"
DATE_FORMAT = "yyyy-mm-dd"


_PROBLEM_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6),
    ("会议", 28),
    ("会议日期", 12),
    ("述法人", 10),
    ("单位", 20),
    ("问题描述", 50),
    ("类别", 12),
    ("来源", 11),
    ("责任人", 12),
    ("整改期限", 12),
    ("状态", 9),
    ("是否逾期", 9),
    ("逾期天数", 9),
    ("最新进展", 40),
    ("更新日期", 12),
)

_SUMMARY_COLUMNS: tuple[tuple[str, float], ...] = (
    ("述法人", 14),
    ("问题总数", 10),
    ("已销号", 10),
    ("已整改待销号", 14),
    ("未完成", 10),
    ("其中逾期", 10),
    ("销号率", 10),
)

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_OVERDUE_FILL = PatternFill("solid", fgColor="FDE9E7")
_OVERDUE_FONT = Font(color="C00000")
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")


def _put(ws: Worksheet, row: int, col: int, value: object) -> Cell:
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        # openpyxl would store "=…" as a formula; user text must stay text.
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
    else:
        cell.value = value
        if isinstance(value, date):
            cell.number_format = DATE_FORMAT
    cell.border = _BORDER
    return cell


def _header(ws: Worksheet, row: int, columns: Sequence[tuple[str, float]]) -> None:
    for col, (label, width) in enumerate(columns, start=1):
        cell = _put(ws, row, col, label)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width


def _status_label(status: RectStatus | str) -> str:
    try:
        return parse_status(status).label
    except ValueError:
        return str(status)


def _write_problems(ws: Worksheet, rows: Sequence[ProblemRow], today: date) -> None:
    _header(ws, 1, _PROBLEM_COLUMNS)
    wrapped = {"会议", "单位", "问题描述", "最新进展"}
    for i, p in enumerate(rows, start=1):
        late = is_overdue(p, today)
        values: tuple[object, ...] = (
            i, p.meeting_title, p.meeting_date, p.presenter, p.unit, p.description, p.category, p.source,
            p.owner, p.deadline, _status_label(p.status), "是" if late else "否",
            days_overdue(p, today) if late else None, p.latest_note, p.updated_on,
        )
        r = i + 1
        for col, value in enumerate(values, start=1):
            cell = _put(ws, r, col, value)
            cell.alignment = _WRAP if _PROBLEM_COLUMNS[col - 1][0] in wrapped else _TOP
            if late:
                cell.fill = _OVERDUE_FILL
                cell.font = _OVERDUE_FONT
    ws.freeze_panes = "A2"
    last_col = get_column_letter(len(_PROBLEM_COLUMNS))
    ws.auto_filter.ref = f"A1:{last_col}{max(1, len(rows)) + 1}"


def _write_summary(ws: Worksheet, summary: Sequence[PresenterSummary], today: date) -> None:
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(_SUMMARY_COLUMNS))
    title = ws.cell(row=1, column=1, value=f"整改情况通报（截至 {today.year}年{today.month}月{today.day}日）")
    title.font = Font(bold=True, size=14)
    title.alignment = Alignment(horizontal="center")
    _header(ws, 3, _SUMMARY_COLUMNS)
    totals = [0, 0, 0, 0, 0]
    r = 3
    for r, s in enumerate(summary, start=4):
        counts = (s.total, s.closed, s.rectified, s.open, s.overdue)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        _put(ws, r, 1, s.presenter)
        for col, n in enumerate(counts, start=2):
            _put(ws, r, col, n)
        rate = _put(ws, r, 7, s.closure_rate)
        rate.number_format = "0.0%"
        if s.overdue:
            ws.cell(row=r, column=6).font = _OVERDUE_FONT
    total_row = r + 1
    _put(ws, total_row, 1, "合计").font = _HEADER_FONT
    for col, n in enumerate(totals, start=2):
        _put(ws, total_row, col, n).font = _HEADER_FONT
    rate = _put(ws, total_row, 7, totals[1] / totals[0] if totals[0] else 0.0)
    rate.number_format = "0.0%"
    rate.font = _HEADER_FONT
    ws.cell(row=total_row + 2, column=1,
            value="说明：未完成 = 待整改 + 整改中；逾期指超过整改期限仍未完成整改；销号率 = 已销号 ÷ 问题总数。")
    ws.freeze_panes = "A4"


def render_rectification_xlsx(
    rows: Sequence[ProblemRow],
    today: date,
    *,
    summary: Sequence[PresenterSummary] | None = None,
) -> bytes:
    """The workbook as bytes: the problem list first, then the 通报 summary
    (computed from ``rows`` unless the caller passes its own)."""
    wb = Workbook()
    problems_ws = wb.active
    assert problems_ws is not None
    problems_ws.title = PROBLEM_SHEET
    _write_problems(problems_ws, rows, today)
    _write_summary(wb.create_sheet(SUMMARY_SHEET), summary if summary is not None else summarise(rows, today),
                   today)
    wb.properties.title = "问题清单及整改情况"
    out = io.BytesIO()
    keep_text(wb)  # names, titles and problems are text, never formulas
    wb.save(out)
    return out.getvalue()
