from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import pytest
from openpyxl import Workbook

from live.domain.question_import import (
    MAX_CONTENT_CHARS,
    MAX_ROWS,
    ImportedQuestion,
    PresenterRef,
    QuestionImportError,
    RowError,
    parse_questions,
)

PRESENTERS = [
    PresenterRef(1, "冯磊", "中卫市生态环境局", "局长"),
    PresenterRef(2, "王芳", "中卫市教育局", "局长"),
    PresenterRef(3, "李强", "沙坡头区人民政府", "区长"),
    PresenterRef(4, "李强", "海原县人民政府", "县长"),  # two presenters with one name
]

HEADER = ["来源", "内容", "述法人", "提问人"]
ROWS = [
    ["12345热线", "生态环境执法检查事项多，如何做到规范公正？", "冯磊", "张先生"],  # 2: good
    ["书记信箱", "校园欺凌怎么预防？", "中卫市教育局", ""],  # 3: good, matched by unit
    ["网络留言", "", "冯磊", ""],  # 4: no content
    ["信箱", "这位述法人不在名单里", "赵六", ""],  # 5: unknown presenter
    ["网络留言", "重名的述法人", "李强", ""],  # 6: ambiguous name
    ["网络留言", "用单位区分重名", "海原县人民政府 李强", "匿名"],  # 7: good
    ["", "没有来源", "王芳", ""],  # 8: no source
    ["", "", "", ""],  # 9: blank row, skipped silently
    ["12345热线", "生态环境执法检查事项多，如何做到规范公正？", "冯磊", ""],  # 10: duplicate of row 2
    ["信箱", "长" * (MAX_CONTENT_CHARS + 1), "王芳", ""],  # 11: too long
    ["网络留言", "第二个问题\n包含换行", "王芳", ""],  # 12: good
]


def check_mixed(result_rows: list[ImportedQuestion], errors: list[RowError]) -> None:
    assert [(q.row, q.presenter_key) for q in result_rows] == [(2, 1), (3, 2), (7, 4), (12, 2)]
    first = result_rows[0]
    assert (first.source, first.asker, first.presenter_name) == ("12345热线", "张先生", "冯磊")
    assert result_rows[3].content == "第二个问题\n包含换行"
    by_row = {e.row: e.message for e in errors}
    assert sorted(by_row) == [4, 5, 6, 8, 10, 11]
    assert "内容" in by_row[4] and "不能为空" in by_row[4]
    assert "找不到述法人「赵六」" in by_row[5]
    assert "对应多人" in by_row[6]
    assert "来源" in by_row[8]
    assert "与第 2 行重复" in by_row[10]
    assert "过长" in by_row[11]
    assert str(errors[0]).startswith("第 4 行：")


def csv_bytes(rows: list[list[str]], encoding: str, header: list[str] = HEADER) -> bytes:
    def quote(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v

    text = "\r\n".join(",".join(quote(v) for v in r) for r in [header, *rows]) + "\r\n"
    return text.encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]], header: list[str] = HEADER, title: str | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_good_and_bad_rows(encoding: str) -> None:
    result = parse_questions(csv_bytes(ROWS, encoding), PRESENTERS, filename="questions.csv")
    check_mixed(result.rows, result.errors)


def test_xlsx_good_and_bad_rows() -> None:
    result = parse_questions(xlsx_bytes(ROWS), PRESENTERS, filename="问题.xlsx")
    check_mixed(result.rows, result.errors)


def test_xlsx_title_row_numbers_and_typed_cells() -> None:
    data = xlsx_bytes([[12345, "数字来源的问题", "冯磊", None], ["信箱", "第二个", "王芳", 2024]],
                      header=["来源（必填）", "问题内容", "述法人", "提问人(可选)"], title="会前征集问题汇总")
    result = parse_questions(data, PRESENTERS)
    assert result.errors == []
    assert [(q.row, q.source, q.asker) for q in result.rows] == [(3, "12345", ""), (4, "信箱", "2024")]


def test_english_headers_and_other_column_order() -> None:
    data = csv_bytes([["王芳", "How are cases handled?", "website", "Li"]], "utf-8",
                     header=["Presenter", "Content", "Source", "Asker"])
    result = parse_questions(data, PRESENTERS)
    assert result.errors == []
    [q] = result.rows
    assert (q.presenter_key, q.content, q.source, q.asker) == (2, "How are cases handled?", "website", "Li")


def test_presenter_forms() -> None:
    rows = [["信箱", f"问题{i}", form, ""] for i, form in enumerate(
        ["冯磊", " 冯 磊 ", "中卫市生态环境局", "中卫市生态环境局冯磊", "中卫市生态环境局局长",
         "中卫市生态环境局局长冯磊", "中卫市生态环境局/冯磊", "冯磊（中卫市生态环境局）", "ＦＥＮＧ"])]
    result = parse_questions(csv_bytes(rows, "utf-8"), PRESENTERS)
    assert [q.presenter_key for q in result.rows] == [1] * 8
    assert [e.row for e in result.errors] == [10]


def test_optional_asker_column_and_tab_separated_utf16() -> None:
    text = "来源\t内容\t述法人\r\n12345热线\t怎么办\t冯磊\r\n"
    result = parse_questions(text.encode("utf-16"), PRESENTERS, filename="export.txt")
    assert [(q.content, q.asker) for q in result.rows] == [("怎么办", "")]


@pytest.mark.parametrize(
    "data,filename,code",
    [
        (b"", None, "empty_file"),
        ("内容,述法人\n问题,冯磊\n".encode(), None, "missing_column"),
        ("姓名,年龄\n张三,30\n".encode(), None, "no_header"),
        ("来源,内容,述法人\n".encode(), None, "no_rows"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls", "xls_unsupported"),
        (b"not a zip", "broken.xlsx", "bad_xlsx"),
        (b"PK\x03\x04garbage", "broken.xlsx", "bad_xlsx"),
    ],
)
def test_whole_file_errors(data: bytes, filename: str | None, code: str) -> None:
    with pytest.raises(QuestionImportError) as info:
        parse_questions(data, PRESENTERS, filename=filename)
    assert info.value.code == code and info.value.message


def test_missing_column_message_names_it() -> None:
    with pytest.raises(QuestionImportError) as info:
        parse_questions("内容,述法人\n问题,冯磊\n".encode(), PRESENTERS)
    assert "来源" in info.value.message


def test_no_presenters() -> None:
    with pytest.raises(QuestionImportError) as info:
        parse_questions(csv_bytes(ROWS, "utf-8"), [])
    assert info.value.code == "no_presenters"


def test_row_limit() -> None:
    rows = [["信箱", f"问题{i}", "冯磊", ""] for i in range(MAX_ROWS + 1)]
    with pytest.raises(QuestionImportError) as info:
        parse_questions(csv_bytes(rows, "utf-8"), PRESENTERS)
    assert info.value.code == "too_many_rows"
    ok = parse_questions(csv_bytes(rows[:MAX_ROWS], "utf-8"), PRESENTERS)
    assert len(ok.rows) == MAX_ROWS


def test_xlsx_that_inflates_too_far_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/big.xml", b"\0" * (70 * 1024 * 1024))
    with pytest.raises(QuestionImportError) as info:
        parse_questions(buf.getvalue(), PRESENTERS, filename="bomb.xlsx")
    assert info.value.code == "too_large"


def test_multiline_cell_in_csv_keeps_row_numbers() -> None:
    rows = [["信箱", "第一行\n第二行", "冯磊", ""], ["信箱", "", "冯磊", ""]]
    result = parse_questions(csv_bytes(rows, "utf-8"), PRESENTERS)
    assert [q.row for q in result.rows] == [2]
    assert [e.row for e in result.errors] == [3]


def test_control_characters_are_cleaned() -> None:
    result = parse_questions(csv_bytes([["信箱", "问\x07题\u200b", "冯磊", ""]], "utf-8"), PRESENTERS)
    assert result.rows[0].content == "问题"
