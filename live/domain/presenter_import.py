"""Presenters (述法人) from the organiser's XLSX or CSV: 姓名, 职务, 单位 and an optional
类别. Forgiving about form as the question import is (GBK or UTF-8, a title row above the
header); each bad row is reported by its spreadsheet row number and good rows are kept."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from live.domain.meeting_spec import MAX_PRESENTERS
from live.domain.question_import import MAX_FILE_BYTES, QuestionImportError, _rows

_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "述法人", "名字", "name"),
    "post": ("职务", "职位", "post", "title"),
    "unit": ("单位", "工作单位", "所在单位", "unit"),
    "kind": ("类别", "类型", "述法类别", "kind"),
}
_REQUIRED = ("name", "post", "unit")
_LIMITS = {"name": 50, "post": 100, "unit": 100, "kind": 30}
_LABEL = {"name": "姓名", "post": "职务", "unit": "单位", "kind": "类别"}


def _fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


_INDEX = {_fold(a): f for f, aliases in _ALIASES.items() for a in aliases}


@dataclass(frozen=True)
class PresenterRows:
    presenters: list[dict[str, str]]
    errors: list[dict[str, object]]  # {"row": 4, "message": "..."}


def parse_presenters(data: bytes, filename: str | None) -> PresenterRows:
    """Raises QuestionImportError (code ``too_large``, ``bad_xlsx``, ``no_header``, …) when the
    file as a whole is unusable."""
    if len(data) > MAX_FILE_BYTES:
        raise QuestionImportError("文件过大（上限 5 MB）", code="too_large")
    if not data.strip():
        raise QuestionImportError("文件是空的", code="empty_file")
    rows = list(_rows(data, filename))
    header, columns = 0, {}
    for n, cells in enumerate(rows[:5], start=1):
        found: dict[str, int] = {}
        for col, text in enumerate(cells):
            f = _INDEX.get(_fold(text.split("（")[0].split("(")[0]))
            if f and f not in found:
                found[f] = col
        if all(f in found for f in _REQUIRED):
            header, columns = n, found
            break
    if not header:
        raise QuestionImportError("找不到表头：应包含「姓名」「职务」「单位」列（「类别」可选）", code="no_header")
    presenters: list[dict[str, str]] = []
    errors: list[dict[str, object]] = []
    for n, cells in enumerate(rows[header:], start=header + 1):
        if not any(c.strip() for c in cells):
            continue
        if len(presenters) >= MAX_PRESENTERS:
            errors.append({"row": n, "message": f"超过 {MAX_PRESENTERS} 位述法人的上限，其后各行未导入"})
            break
        row = {f: " ".join(cells[c].split()) if c < len(cells) else "" for f, c in columns.items()}
        row.setdefault("kind", "")
        missing = [_LABEL[f] for f in _REQUIRED if not row.get(f)]
        if missing:
            errors.append({"row": n, "message": "缺少" + "、".join(missing)})
            continue
        long = [_LABEL[f] for f, limit in _LIMITS.items() if len(row.get(f, "")) > limit]
        if long:
            errors.append({"row": n, "message": "、".join(long) + "过长"})
            continue
        presenters.append({"name": row["name"], "post": row["post"], "unit": row["unit"], "kind": row["kind"]})
    if not presenters and not errors:
        raise QuestionImportError("文件中没有述法人数据", code="no_rows")
    return PresenterRows(presenters, errors)
