"""The interaction export: every question, every comment with its moderation state, and the
meeting minute by minute (online phones and screens, likes, comments, questions).

Questions and comments are people's text: every cell is made a text cell and one that
starts like a formula keeps its quote prefix (live.reports.xlsx_text.keep_text).
Times are 北京时间 (UTC+8), the time of the hall.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from live.reports.xlsx_text import keep_text

BEIJING = timezone(timedelta(hours=8), "北京时间")
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_TIME = "yyyy-mm-dd hh:mm:ss"
_MINUTE = "yyyy-mm-dd hh:mm"

QUESTION_HEADERS = ["编号", "述法人", "渠道", "来源", "提问人", "问题内容", "审核状态", "质询状态", "点赞数",
                    "是否答复", "提交时间（北京时间）", "提出时间", "答复时间"]
COMMENT_HEADERS = ["编号", "述法人", "评论内容", "审核状态", "发送时间（北京时间）"]
SERIES_HEADERS = ["时间（北京时间）", "在线手机", "在线大屏", "在线评议平板", "主持人控制台", "点赞", "评论",
                  "现场提问"]
SERIES_KEYS = ["audience", "screens", "panel", "hosts", "likes", "comments", "questions"]


def local_time(ms: int | None) -> datetime | None:
    """A stored time (ms since the epoch) as a naive 北京时间 datetime, as a spreadsheet cell takes it."""
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(BEIJING).replace(tzinfo=None)


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    for c, label in enumerate(labels, 1):
        cell = ws.cell(row=row, column=c, value=label)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _rows(ws: Worksheet, top: int, rows: list[list[Any]], formats: dict[int, str], widths: list[int]) -> None:
    for r, values in enumerate(rows, top):
        for c, value in enumerate(values, 1):
            cell = ws.cell(row=r, column=c, value=value)
            if c in formats:
                cell.number_format = formats[c]
    for c, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = ws.cell(row=top, column=1)


def write_interaction_xlsx(data: dict[str, Any]) -> bytes:
    """``data`` as live.store.briefing_data.interaction_data returns it."""
    meeting = data["meeting"]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "质询问题"
    ws.cell(row=1, column=1, value=f"{meeting['title']} 质询问题").font = _TITLE
    _header(ws, 2, QUESTION_HEADERS)
    _rows(ws, 3, [[q["id"], q["presenter"], q["origin"], q["source"], q["asker"], q["content"], q["status"], q["state"],
                   q["upvotes"], "是" if q["answered"] else "否", local_time(q["created_at_ms"]),
                   local_time(q["picked_at_ms"]), local_time(q["answered_at_ms"])] for q in data["questions"]],
          {11: _TIME, 12: _TIME, 13: _TIME}, [6, 12, 10, 14, 12, 60, 10, 14, 8, 8, 20, 20, 20])

    ws = wb.create_sheet("弹幕评论")
    ws.cell(row=1, column=1, value=f"{meeting['title']} 弹幕评论").font = _TITLE
    _header(ws, 2, COMMENT_HEADERS)
    _rows(ws, 3, [[c["id"], c["presenter"], c["text"], c["status"], local_time(c["created_at_ms"])]
                  for c in data["comments"]], {5: _TIME}, [6, 12, 60, 10, 20])

    ws = wb.create_sheet("每分钟数据")
    ws.cell(row=1, column=1, value=f"{meeting['title']} 每分钟参与情况").font = _TITLE
    ws.cell(row=2, column=1, value="在线数为该分钟结束时各服务进程的连接数之和；点赞为该分钟内收到的点赞；"
                                   f"评论与现场提问按提交时间计。点赞总数 {data['likes']}。")
    _header(ws, 3, SERIES_HEADERS)
    _rows(ws, 4, [[local_time(r["minute_ms"]), *(r[k] for k in SERIES_KEYS)] for r in data["series"]],
          {1: _MINUTE}, [18, 10, 10, 12, 12, 8, 8, 10])
    keep_text(wb)  # questions and comments are text, never formulas
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = ["BEIJING", "COMMENT_HEADERS", "QUESTION_HEADERS", "SERIES_HEADERS", "local_time", "write_interaction_xlsx"]
