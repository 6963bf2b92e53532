"""Questions collected before the meeting (12345热线, 信箱, 网络留言, …), imported from CSV or XLSX.

The host's spreadsheet is usually made by hand in Excel or WPS, so the parser is
forgiving about form (GBK or UTF-8, a title row above the header, header notes
such as "内容（必填）", English headers) and strict about content: a row that
cannot be attributed to exactly one presenter is reported, by its row number as
the spreadsheet shows it, and every good row is still returned.

Bytes in, values out: the caller reads the upload and stores the result.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from live.domain.errors import DomainError
from live.domain.moderation import QUESTION_MAX_CHARS, clean_text

MAX_FILE_BYTES = 5 * 1024 * 1024
# Inflated size of all parts of an XLSX; a small upload may unpack to gigabytes.
MAX_XLSX_UNPACKED_BYTES = 60 * 1024 * 1024
MAX_ROWS = 1000
MAX_COLUMNS = 50
# A title row or two often sits above the header; look this far down for it.
HEADER_SEARCH_ROWS = 5
MAX_SOURCE_CHARS = 30
MAX_ASKER_CHARS = 50
MAX_CONTENT_CHARS = QUESTION_MAX_CHARS

KNOWN_SOURCES: tuple[str, ...] = ("12345热线", "书记信箱", "市长信箱", "信箱", "网络留言", "来信来访", "现场征集")

FIELD_LABEL = {"source": "来源", "content": "内容", "presenter": "述法人", "asker": "提问人"}

_ALIASES: dict[str, tuple[str, ...]] = {
    "source": ("来源", "问题来源", "征集渠道", "渠道", "source", "channel"),
    "content": ("内容", "问题内容", "问题", "提问内容", "质询内容", "content", "question", "text"),
    "presenter": ("述法人", "述法主体", "提问对象", "被质询人", "presenter"),
    "asker": ("提问人", "提问者", "留言人", "asker", "author"),
}
_REQUIRED = ("source", "content", "presenter")


class QuestionImportError(DomainError):
    """The whole file is unusable (nothing was imported); ``message`` is shown to the host."""

    default_code = "invalid_file"


@dataclass(frozen=True)
class PresenterRef:
    """A presenter of the meeting as the caller knows them; ``key`` comes back on each row."""

    key: str | int
    name: str
    unit: str = ""
    post: str = ""


@dataclass(frozen=True)
class ImportedQuestion:
    row: int
    source: str
    content: str
    presenter_key: str | int
    presenter_name: str
    asker: str = ""


@dataclass(frozen=True)
class RowError:
    row: int
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.message}"


@dataclass(frozen=True)
class ImportResult:
    rows: list[ImportedQuestion]
    errors: list[RowError]


def _key(text: str) -> str:
    """Folded for comparison: full-width and case folded, spaces and punctuation gone."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


_HEADER_NOTE = re.compile(r"[（(【\[].*?[）)】\]]")
_HEADER_INDEX = {_key(alias): field for field, aliases in _ALIASES.items() for alias in aliases}


def _header_field(cell: str) -> str | None:
    return _HEADER_INDEX.get(_key(_HEADER_NOTE.sub("", cell)))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        # Excel stores a typed-in 12345 as 12345.0.
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return str(value)


class _PresenterIndex:
    """Matches what the host typed in the 述法人 column: the name, the unit, or both."""

    def __init__(self, presenters: Sequence[PresenterRef]) -> None:
        self._by_key: dict[str, set[int]] = {}
        self._presenters = list(presenters)
        for i, p in enumerate(self._presenters):
            name, unit, post = p.name.strip(), p.unit.strip(), p.post.strip()
            forms = {name, unit, unit + name, name + unit, unit + post, unit + post + name, post + name}
            if not post:
                forms -= {unit + post, post + name}
            for form in forms:
                k = _key(form)
                if k:
                    self._by_key.setdefault(k, set()).add(i)

    def match(self, text: str) -> PresenterRef | str:
        """The presenter, or the reason there is none."""
        hits = self._by_key.get(_key(text), set())
        if len(hits) == 1:
            return self._presenters[next(iter(hits))]
        if not hits:
            return f"找不到述法人「{text}」，请填写本次会议述法人的姓名或单位"
        return f"述法人「{text}」对应多人，请同时填写单位和姓名"


def _decode_csv(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode 文本" export.
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of the GBK that Excel on Chinese Windows writes.
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise QuestionImportError("无法识别文件编码，请以 UTF-8 或 GBK 编码保存 CSV", code="bad_encoding") from exc


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode_csv(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", "\t", ";"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise QuestionImportError(f"CSV 格式错误（第 {reader.line_num} 行附近）：{exc}", code="bad_csv") from exc


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(info.file_size for info in zf.infolist()) > MAX_XLSX_UNPACKED_BYTES:
                raise QuestionImportError("Excel 文件内容过大", code="too_large")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except QuestionImportError:
        raise
    except Exception as exc:  # openpyxl raises a zoo of types on damaged files
        raise QuestionImportError("无法读取 Excel 文件，请确认是 .xlsx 格式且未加密", code="bad_xlsx") from exc
    try:
        ws = wb.worksheets[0]
        for values in ws.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            yield [_cell_text(v) for v in values]
    finally:
        wb.close()


def _rows(data: bytes, filename: str | None) -> Iterator[list[str]]:
    name = (filename or "").lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise QuestionImportError("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV 后再导入", code="xls_unsupported")
    if data.startswith(b"PK\x03\x04"):
        return _xlsx_rows(data)
    if name.endswith((".xlsx", ".xlsm")):
        raise QuestionImportError("文件扩展名为 .xlsx，但内容不是有效的 Excel 文件", code="bad_xlsx")
    return _csv_rows(data)


def _find_header(rows: Iterator[list[str]]) -> tuple[int, dict[str, int]]:
    """The header's row number and the column of each field."""
    best: dict[str, int] = {}
    for row_no, cells in enumerate(rows, start=1):
        columns: dict[str, int] = {}
        for col, cell in enumerate(cells):
            field = _header_field(cell)
            if field and field not in columns:
                columns[field] = col
        if all(f in columns for f in _REQUIRED):
            return row_no, columns
        if len(columns) > len(best):
            best = columns
        if row_no >= HEADER_SEARCH_ROWS:
            break
    if not best:
        raise QuestionImportError(
            "找不到表头：第一行应包含「来源」「内容」「述法人」列（「提问人」可选）", code="no_header"
        )
    missing = "、".join(f"「{FIELD_LABEL[f]}」" for f in _REQUIRED if f not in best)
    raise QuestionImportError(f"表头缺少{missing}列", code="missing_column")


def _field(cells: list[str], columns: dict[str, int], name: str) -> str:
    col = columns.get(name)
    if col is None or col >= len(cells):
        return ""
    return cells[col]


def parse_questions(
    data: bytes, presenters: Sequence[PresenterRef], *, filename: str | None = None
) -> ImportResult:
    """Parse an upload. Raises :class:`QuestionImportError` only when no row can be read at all."""
    if not data.strip():
        raise QuestionImportError("文件为空", code="empty_file")
    if len(data) > MAX_FILE_BYTES:
        raise QuestionImportError(f"文件过大，最大 {MAX_FILE_BYTES // (1024 * 1024)} MB", code="too_large")
    if not presenters:
        raise QuestionImportError("本次会议还没有述法人，请先添加述法人再导入问题", code="no_presenters")
    rows = _rows(data, filename)
    header_row, columns = _find_header(rows)
    return _parse_body(enumerate(rows, start=header_row + 1), columns, _PresenterIndex(presenters))


def _parse_body(
    numbered: Iterable[tuple[int, list[str]]], columns: dict[str, int], index: _PresenterIndex
) -> ImportResult:
    good: list[ImportedQuestion] = []
    errors: list[RowError] = []
    seen: dict[tuple[str | int, str], int] = {}
    count = 0
    for row_no, cells in numbered:
        if not any(c.strip() for c in cells):
            continue  # Excel keeps formatted but empty rows at the end of a sheet.
        count += 1
        if count > MAX_ROWS:
            raise QuestionImportError(f"问题超过 {MAX_ROWS} 条，请分批导入", code="too_many_rows")
        source = clean_text(_field(cells, columns, "source"))
        content = clean_text(_field(cells, columns, "content"), multiline=True)
        presenter_text = clean_text(_field(cells, columns, "presenter"))
        asker = clean_text(_field(cells, columns, "asker"))
        problems: list[str] = []
        if not content:
            problems.append("「内容」不能为空")
        elif len(content) > MAX_CONTENT_CHARS:
            problems.append(f"「内容」过长（{len(content)} 字），最多 {MAX_CONTENT_CHARS} 字")
        if not source:
            problems.append("「来源」不能为空（如 12345热线、信箱、网络留言）")
        elif len(source) > MAX_SOURCE_CHARS:
            problems.append(f"「来源」过长，最多 {MAX_SOURCE_CHARS} 字")
        if len(asker) > MAX_ASKER_CHARS:
            problems.append(f"「提问人」过长，最多 {MAX_ASKER_CHARS} 字")
        presenter: PresenterRef | None = None
        if not presenter_text:
            problems.append("「述法人」不能为空")
        else:
            matched = index.match(presenter_text)
            if isinstance(matched, str):
                problems.append(matched)
            else:
                presenter = matched
        if presenter is not None and not problems:
            dup_key = (presenter.key, _key(content))
            if dup_key in seen:
                problems.append(f"与第 {seen[dup_key]} 行重复，已跳过")
            else:
                seen[dup_key] = row_no
        if problems or presenter is None:
            errors.append(RowError(row_no, "；".join(problems)))
            continue
        good.append(ImportedQuestion(row_no, source, content, presenter.key, presenter.name, asker))
    if not good and not errors:
        raise QuestionImportError("表头下没有任何问题", code="no_rows")
    return ImportResult(good, errors)
