"""The results workbook: a ranking summary plus one sheet per presenter.

It is written from a ballots export (see verify.py) and only after that export
has been recounted: a workbook that officials file must never carry numbers the
ballots do not support.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from live.domain.scheme import decimal_str
from live.domain.scoring import ItemResult, display, display_percent
from live.reports.verify import ExportError, ItemCheck, VerifyReport, scheme_summary, verify_export
from live.reports.xlsx_text import keep_text

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_LEFT_OUT_FILL = PatternFill("solid", fgColor="FCE4D6")
_SCORE = "0.00"
_PERCENT = "0.00%"
_BAD_TITLE_CHARS = re.compile(r"[\[\]:*?/\\]")


def _score_cell(value: Decimal | None) -> Decimal | None:
    # The cell holds the published (half-up) value, so Excel shows and sums
    # exactly what the screen showed; the exact value is written beside it.
    return None if value is None else Decimal(display(value))


def _percent_cell(ratio: Decimal | None) -> Decimal | None:
    if ratio is None:
        return None
    return Decimal(display_percent(ratio).removesuffix("%")) / 100


def _sheet_title(position: int, name: str, taken: set[str]) -> str:
    base = _BAD_TITLE_CHARS.sub("_", f"{position} {name}".strip())[:31]
    title, n = base, 2
    while title.lower() in taken or title == "汇总":
        suffix = f"~{n}"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(title.lower())
    return title


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, 1):
        cell = ws.cell(row=row, column=col, value=label)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _widths(ws: Worksheet, widths: list[int]) -> None:
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _flags_text(result: ItemResult) -> str:
    return "；".join(f.message for f in result.flags)


def _write_summary(ws: Worksheet, report: VerifyReport, digests: dict[Any, str | None]) -> None:
    title = str(report.meeting.get("title") or "述法评议")
    ws.cell(row=1, column=1, value=f"{title} 测评结果汇总").font = _TITLE
    ws.cell(row=2, column=1, value=scheme_summary(report.scheme))
    headers = ["名次", "序号", "述法人", "职务", "单位", "总分", "等次", "满意率",
               "有效票", "总票数", "状态", "标记", "选票摘要（SHA-256）"]
    _header(ws, 4, headers)
    ordered = sorted(report.items, key=lambda c: (c.rank is None, c.rank or 0, c.position))
    for row, c in enumerate(ordered, 5):
        r = c.result if c.frozen else None
        values: list[Any] = [
            c.rank, c.position, c.presenter["name"], c.presenter["post"], c.presenter["unit"],
            _score_cell(r.total) if r else None, r.grade if r else None,
            _percent_cell(r.satisfaction_rate) if r else None,
            c.result.valid, c.ballots, "已冻结" if c.frozen else "测评未结束",
            _flags_text(r) if r else "", digests.get(c.id) or "",
        ]
        for col, value in enumerate(values, 1):
            ws.cell(row=row, column=col, value=value)
        ws.cell(row=row, column=6).number_format = _SCORE
        ws.cell(row=row, column=8).number_format = _PERCENT
    ws.freeze_panes = "A5"
    _widths(ws, [6, 6, 12, 18, 24, 10, 8, 10, 8, 8, 10, 40, 68])


def _write_item(ws: Worksheet, c: ItemCheck, digest: str | None) -> None:
    r = c.result
    frozen = c.frozen
    ws.cell(row=1, column=1, value=f"{c.presenter['name']} 测评结果").font = _TITLE
    facts: list[tuple[str, Any, str | None]] = [
        ("述法人", c.presenter["name"], None),
        ("职务", c.presenter["post"], None),
        ("单位", c.presenter["unit"], None),
        ("议程序号", c.position, None),
        ("状态", "已冻结" if frozen else "测评未结束，结果未冻结", None),
        ("总分", _score_cell(r.total) if frozen else None, _SCORE),
        ("总分（精确值）", decimal_str(r.total) if frozen and r.total is not None else None, None),
        ("等次", r.grade if frozen else None, None),
        ("满意率", _percent_cell(r.satisfaction_rate) if frozen else None, _PERCENT),
        ("名次", c.rank, None),
        ("总票数", r.ballots, None),
        ("有效票", r.valid, None),
        ("弃权票", r.abstain, None),
        ("无效票", r.invalid, None),
        ("标记", _flags_text(r) if frozen else "", None),
        ("选票摘要（SHA-256）", digest or "", None),
    ]
    for row, (label, value, fmt) in enumerate(facts, 3):
        ws.cell(row=row, column=1, value=label).font = _BOLD
        cell = ws.cell(row=row, column=2, value=value)
        if fmt:
            cell.number_format = fmt

    top = 3 + len(facts) + 1
    ws.cell(row=top, column=1, value="各投票组得分").font = _BOLD
    headers = ["投票组", "权重", "折算权重", "最低有效票", "总票数", "有效票", "弃权", "无效",
               "去掉最高最低", "计分票数", "平均分", "平均分（精确值）", "满意率", "是否计入总分", "说明"]
    _header(ws, top + 1, headers)
    for row, g in enumerate(r.groups, top + 2):
        values: list[Any] = [
            g.label, g.weight, _percent_cell(g.effective_weight),
            g.min_ballots, g.ballots, g.valid, g.abstain, g.invalid, g.trimmed, g.counted,
            _score_cell(g.mean), None if g.mean is None else decimal_str(g.mean),
            _percent_cell(g.satisfaction_rate), "是" if g.included else "否（未计入）", g.reason or "",
        ]
        for col, value in enumerate(values, 1):
            cell = ws.cell(row=row, column=col, value=value)
            if not g.included:
                cell.fill = _LEFT_OUT_FILL
        ws.cell(row=row, column=3).number_format = _PERCENT
        ws.cell(row=row, column=11).number_format = _SCORE
        ws.cell(row=row, column=13).number_format = _PERCENT

    options = [k for k, _ in r.groups[0].options] if r.groups else []
    if options:
        top = top + 2 + len(r.groups) + 1
        ws.cell(row=top, column=1, value="选项分布").font = _BOLD
        _header(ws, top + 1, ["投票组", *options])
        for row, g in enumerate(r.groups, top + 2):
            counts = dict(g.options)
            ws.cell(row=row, column=1, value=g.label)
            for col, key in enumerate(options, 2):
                ws.cell(row=row, column=col, value=counts.get(key, 0))
    _widths(ws, [20, 24, 10, 10, 8, 8, 8, 8, 12, 10, 10, 20, 10, 14, 12])


RECORD_SHEET = "记录与签名"


def _write_record(ws: Worksheet, rec: dict[str, Any] | None, report: VerifyReport) -> None:
    """The signed record root: what anyone checks the ballots file against (live verify --expect)."""
    ws.cell(row=1, column=1, value="会议记录根摘要与签名").font = _TITLE
    rc = report.record
    rows: list[tuple[str, Any]] = [
        ("会议记录根摘要（SHA-256）", (rec or {}).get("root") or "尚未封存"),
        ("签名（Ed25519，base64）", (rec or {}).get("signature") or "未签名"),
        ("签名公钥（base64）", (rec or {}).get("public_key") or ""),
        ("公钥指纹", (rec or {}).get("key_fingerprint") or ""),
        ("根摘要覆盖的审计日志条数", (rec or {}).get("audit_seq")),
        ("本表生成时核对", "根摘要与选票文件一致" if rc is not None and rc.root_ok else "无根摘要可核对"),
        ("如何核对", "live verify 选票文件.json --expect 根摘要 --pubkey 主办方公钥"),
    ]
    for row, (label, value) in enumerate(rows, 3):
        ws.cell(row=row, column=1, value=label).font = _BOLD
        # Text cells: a root or signature must never be read as a number or a formula.
        cell = ws.cell(row=row, column=2, value=value)
        cell.data_type = "s" if isinstance(value, str) else cell.data_type
    _widths(ws, [28, 96])


def write_results_xlsx(export: dict[str, Any], path: str | Path) -> VerifyReport:
    """Recount the export, then write the workbook. Returns the recount.

    Raises ExportError when the export is unreadable or does not verify.
    """
    report = verify_export(export)
    if not report.ok:
        shown = "；".join(report.problems[:3])
        raise ExportError(f"选票文件未通过核验，不能生成成绩表：{shown}")
    digests = {item["id"]: item.get("digest") for item in export["items"]}

    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "汇总"
    _write_summary(summary, report, digests)
    taken: set[str] = {RECORD_SHEET.lower()}
    for c in report.items:
        ws = wb.create_sheet(_sheet_title(c.position, c.presenter["name"] or str(c.id), taken))
        _write_item(ws, c, digests.get(c.id))
    _write_record(wb.create_sheet(RECORD_SHEET), export.get("record"), report)
    keep_text(wb)  # names, titles and problems are text, never formulas
    wb.save(str(path))
    return report
