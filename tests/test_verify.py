"""The ballots export, its recount (tampering, malformed files) and the results workbook."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from live.domain.record import item_digest
from live.domain.scheme import PUBLIC, BallotValue, Scheme, grade_scheme, panel_split_scheme, satisfaction_scheme
from live.domain.scoring import ItemResult, score_item
from live.reports.results_xlsx import write_results_xlsx
from live.reports.verify import (
    EXPORT_FORMAT,
    ExportError,
    build_export,
    format_report,
    load_export,
    parse_export_text,
    verify_export,
)

OPTIONS = ["好", "较好", "一般", "差"]


def scheme() -> Scheme:
    # Split panel with a minimum, so that the export also carries a left-out group.
    return panel_split_scheme(grade_scheme(), ["人大代表", "律师"], min_ballots=3)


def item(item_id: int, position: int, name: str, votes: list[tuple[str, dict[str, Any]]], first_id: int,
         frozen: bool = True) -> dict[str, Any]:
    s = scheme()
    ballots: list[dict[str, Any]] = [
        {"id": first_id + n, "group": g, "choice": c, "voter_id": 900 + n}  # the voter must not reach the file
        for n, (g, c) in enumerate(votes)
    ]
    result = score_item(s, [BallotValue(b["group"], b["choice"]) for b in ballots]).to_dict()
    result["tally"] = {"cached": True}  # stored beside the result by the store; not part of it
    return {
        "id": item_id,
        "position": position,
        "presenter": {"name": name, "post": "局长", "unit": f"{name}所在单位"},
        "ballots": ballots,
        "result": result if frozen else None,
        "digest": item_digest(item_id, position, {"name": name, "post": "局长", "unit": f"{name}所在单位"},
                              s.to_dict(), [{k: b[k] for k in ("id", "group", "choice")} for b in ballots])
        if frozen else None,
    }


def votes(*spec: tuple[str, str, int]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for group, option, count in spec:
        choice = {"abstain": True} if option == "弃权" else {"option": option}
        out += [(group, choice)] * count
    return out


def make_export() -> dict[str, Any]:
    rdb, lawyer = "panel:人大代表", "panel:律师"
    items = [
        item(11, 1, "张三", votes((rdb, "好", 3), (rdb, "较好", 1), (lawyer, "较好", 3), (PUBLIC, "好", 4),
                                  (PUBLIC, "一般", 2), (PUBLIC, "弃权", 1)), 100),
        # 律师 has two valid ballots, under its minimum of 3: left out.
        item(12, 2, "李四", votes((rdb, "较好", 4), (lawyer, "好", 2), (PUBLIC, "较好", 3), (PUBLIC, "好", 2),
                                  (PUBLIC, "差", 1)), 200),
        # The same ballots as 张三: a tie for first place.
        item(13, 3, "王五", votes((rdb, "好", 3), (rdb, "较好", 1), (lawyer, "较好", 3), (PUBLIC, "好", 4),
                                  (PUBLIC, "一般", 2), (PUBLIC, "弃权", 1)), 300),
        item(14, 4, "赵六", votes((PUBLIC, "好", 1)), 400, frozen=False),
    ]
    meeting = {"id": 1, "title": "2024 年度述法评议", "secret": True}
    return build_export(meeting, scheme().to_dict(), list(reversed(items)))


def round_trip(export: dict[str, Any]) -> Any:
    return parse_export_text(json.dumps(export, ensure_ascii=False, indent=2))


def test_export_verify_round_trip() -> None:
    export = make_export()
    assert export["format"] == EXPORT_FORMAT and export["version"] == 2
    assert [i["position"] for i in export["items"]] == [1, 2, 3, 4]
    assert export["counts"] == {"items": 4, "ballots": 14 + 12 + 14 + 1}
    # 张三: 人大代表 95, 律师 85, 群众 (70, 95, 95, 95) 88.75; (35·95 + 35·85 + 30·88.75) / 100 = 89.625.
    # 李四: 律师 left out; (35·85 + 30·87.5) / 65 = 86.1538…
    assert export["ranking"] == [
        {"item": 11, "rank": 1, "total": "89.625", "total_display": "89.63"},
        {"item": 13, "rank": 1, "total": "89.625", "total_display": "89.63"},
        {"item": 12, "rank": 3, "total": "86.15384615384615384615384615384615384615", "total_display": "86.15"},
        {"item": 14, "rank": None, "total": None, "total_display": None},
    ]
    report = verify_export(round_trip(export))
    assert report.ok, report.problems
    assert report.ranking_ok
    assert [(c.presenter["name"], c.rank, c.digest_ok, c.result_ok) for c in report.items] == [
        ("张三", 1, True, True), ("李四", 3, True, True), ("王五", 1, True, True), ("赵六", None, None, None),
    ]
    text = format_report(report)
    assert "核验通过" in text
    assert "张三" in text and "89.63" in text and export["items"][0]["digest"][:12] in text
    assert "律师有效票不足" in text
    assert "测评未结束" in text


def test_export_carries_no_voter_identity_nor_stray_result_keys() -> None:
    text = json.dumps(make_export(), ensure_ascii=False)
    assert "voter" not in text and "900" not in text
    assert "tally" not in text and "cached" not in text
    for it in make_export()["items"]:
        for b in it["ballots"]:
            assert set(b) <= {"id", "group", "choice", "source"}


def test_frozen_result_equals_recount_of_the_left_out_case() -> None:
    export = make_export()
    li = export["items"][1]
    result = ItemResult.from_dict(li["result"])
    lawyer = result.group("panel:律师")
    assert lawyer is not None and not lawyer.included and lawyer.valid == 2
    assert [f.code for f in result.flags] == ["insufficient_ballots", "weights_renormalised"]


def problems_after(change: Any) -> tuple[str, ...]:
    export = make_export()
    change(export)
    report = verify_export(round_trip(export))
    assert not report.ok
    assert "核验未通过" in format_report(report)
    return report.problems


def test_tamper_one_changed_ballot() -> None:
    def change(e: dict[str, Any]) -> None:
        e["items"][0]["ballots"][0]["choice"] = {"option": "差"}

    problems = problems_after(change)
    assert any("张三：摘要不符" in p for p in problems)
    assert any("张三：冻结结果与按选票重算不符" in p for p in problems)
    assert any("名次不符" in p for p in problems)


def test_tamper_one_removed_ballot() -> None:
    def change(e: dict[str, Any]) -> None:
        del e["items"][1]["ballots"][-1]

    problems = problems_after(change)
    assert any("李四：摘要不符" in p for p in problems)
    assert any("文件声明" in p for p in problems)


def test_tamper_removed_ballot_with_counts_fixed_up() -> None:
    def change(e: dict[str, Any]) -> None:
        del e["items"][1]["ballots"][-1]
        e["counts"]["ballots"] -= 1

    problems = problems_after(change)
    assert any("李四：摘要不符" in p for p in problems)


def test_tamper_edited_digest() -> None:
    def change(e: dict[str, Any]) -> None:
        d = e["items"][2]["digest"]
        e["items"][2]["digest"] = ("0" if d[0] != "0" else "1") + d[1:]

    problems = problems_after(change)
    assert problems == (next(p for p in problems if "王五：摘要不符" in p),)


def test_tamper_edited_displayed_total_only() -> None:
    def change(e: dict[str, Any]) -> None:
        e["items"][1]["result"]["total_display"] = "96.15"

    problems = problems_after(change)
    expected = '李四：冻结结果与按选票重算不符：总分（显示）：冻结值 "96.15"，重算值 "86.15"'
    assert any(expected in p for p in problems)


def test_tamper_edited_ranking() -> None:
    def change(e: dict[str, Any]) -> None:
        e["ranking"][2]["rank"] = 2

    assert any("李四 文件为第 2 名" in p for p in problems_after(change))


def test_tamper_ballot_moved_to_another_group() -> None:
    def change(e: dict[str, Any]) -> None:
        e["items"][0]["ballots"][-1]["group"] = "panel:人大代表"

    assert any("摘要不符" in p for p in problems_after(change))


def test_tamper_duplicated_ballot_id() -> None:
    def change(e: dict[str, Any]) -> None:
        e["items"][0]["ballots"][1]["id"] = e["items"][0]["ballots"][0]["id"]

    assert any("选票编号重复" in p for p in problems_after(change))


def test_tamper_removed_frozen_result_and_digest() -> None:
    def change(e: dict[str, Any]) -> None:
        e["items"][0]["digest"] = None

    assert any("缺少摘要" in p for p in problems_after(change))

    def drop_result(e: dict[str, Any]) -> None:
        e["items"][0]["result"] = None

    assert any("缺少冻结结果" in p for p in problems_after(drop_result))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_single_changed_ballot_fails(data: st.DataObject) -> None:
    export = make_export()
    frozen = [i for i in export["items"] if i["result"] is not None]
    target = data.draw(st.sampled_from(frozen))
    ballot = data.draw(st.sampled_from(target["ballots"]))
    current = ballot["choice"].get("option", "弃权")
    ballot["choice"] = data.draw(
        st.sampled_from([*OPTIONS, "弃权"]).filter(lambda o: o != current).map(
            lambda o: {"abstain": True} if o == "弃权" else {"option": o}
        )
    )
    assert not verify_export(round_trip(export)).ok


# --- malformed files ---------------------------------------------------------------


def test_truncated_file_at_every_cut(tmp_path: Path) -> None:
    text = json.dumps(make_export(), ensure_ascii=False)
    for cut in range(0, len(text), max(1, len(text) // 150)):
        with pytest.raises(ExportError):
            parse_export_text(text[:cut])
    path = tmp_path / "ballots.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ExportError, match="文件不完整或不是有效的 JSON"):
        load_export(path)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="无法读取文件"):
        load_export(tmp_path / "missing.json")
    bad = tmp_path / "gbk.json"
    bad.write_bytes("{\"title\": \"述法\"}".encode("gbk"))
    with pytest.raises(ExportError, match="UTF-8"):
        load_export(bad)
    empty = tmp_path / "empty.json"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ExportError, match="文件为空"):
        load_export(empty)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_export(), ensure_ascii=False), encoding="utf-8")
    assert verify_export(load_export(good)).ok


def test_duplicate_keys_and_nan_are_refused() -> None:
    with pytest.raises(ExportError, match="重复出现"):
        parse_export_text('{"format": "a", "format": "b"}')
    with pytest.raises(ExportError, match="NaN"):
        parse_export_text('{"x": NaN}')


def broken(path: str, value: Any) -> dict[str, Any]:
    export = copy.deepcopy(make_export())
    node: Any = export
    keys = path.split("/")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return export


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "顶层 应为对象"),
        ({"format": "other"}, "不是述法评议选票导出文件"),
        ({"format": EXPORT_FORMAT, "version": 3}, "不支持的导出版本"),
        (broken("ranking", KeyError), "缺少字段 ranking"),
        (broken("items", {}), "items 应为列表"),
        (broken("counts", {"items": 1}), "counts"),
        (broken("scheme/trim_k", -1), "trim_k"),
        (broken("scheme/kind", "vote"), "scheme"),
        (broken("items/0/ballots/0/choice", "好"), r"items\[0\].ballots\[0\].choice 应为对象"),
        (broken("items/0/ballots/0/id", True), "应为整数或文字"),
        (broken("items/0/ballots/0/group", KeyError), "缺少字段 group"),
        (broken("items/1/digest", "ABC"), "SHA-256"),
        (broken("items/1/presenter", "李四"), "presenter 应为对象"),
        (broken("items/1/position", "2"), "position 应为整数"),
        (broken("items/2/id", 11), "编号重复"),
        (broken("ranking/0", 5), "ranking"),
        (broken("items/0/result", "89.50"), "result"),
    ],
)
def test_malformed_exports(data: Any, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        verify_export(data)


def test_unreadable_frozen_result_is_a_mismatch() -> None:
    export = broken("items/0/result/total", 89.5)
    report = verify_export(export)
    assert not report.ok
    assert any("张三：冻结结果与按选票重算不符" in p for p in report.problems)


# --- results workbook ------------------------------------------------------------------


def test_results_workbook(tmp_path: Path) -> None:
    export = make_export()
    path = tmp_path / "results.xlsx"
    report = write_results_xlsx(round_trip(export), path)
    assert report.ok
    wb = load_workbook(path)
    assert wb.sheetnames == ["汇总", "1 张三", "2 李四", "3 王五", "4 赵六", "记录与签名"]
    # This export was never sealed: the record sheet says so rather than showing a root.
    assert wb["记录与签名"]["B3"].value == "尚未封存"

    summary = wb["汇总"]
    assert "2024 年度述法评议" in str(summary["A1"].value)
    header = [c.value for c in summary[4]]
    assert header[:8] == ["名次", "序号", "述法人", "职务", "单位", "总分", "等次", "满意率"]
    rows = [[c.value for c in row] for row in summary.iter_rows(min_row=5, max_row=8)]
    assert [(r[0], r[2], r[5], r[6]) for r in rows] == [
        (1, "张三", 89.63, "较好"), (1, "王五", 89.63, "较好"), (3, "李四", 86.15, "较好"), (None, "赵六", None, None),
    ]
    assert rows[0][12] == export["items"][0]["digest"]
    assert summary.cell(row=5, column=6).number_format == "0.00"

    sheet = wb["2 李四"]
    facts = {sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=2).value for r in range(3, 19)}
    li = export["items"][1]
    assert facts["述法人"] == "李四" and facts["职务"] == "局长"
    assert facts["总分"] == 86.15 and facts["总分（精确值）"] == li["result"]["total"]
    assert facts["等次"] == "较好" and facts["名次"] == 3
    assert Decimal(str(facts["满意率"])) == Decimal("0.9167")
    assert (facts["总票数"], facts["有效票"], facts["弃权票"], facts["无效票"]) == (12, 12, 0, 0)
    assert facts["选票摘要（SHA-256）"] == li["digest"]
    assert "律师有效票不足" in str(facts["标记"])

    head = next(r for r in range(1, 40) if sheet.cell(row=r, column=1).value == "投票组")
    assert sheet.cell(row=head - 1, column=1).value == "各投票组得分"
    table = [[c.value for c in row] for row in sheet.iter_rows(min_row=head, max_row=head + 3)]
    assert table[0][:3] == ["投票组", "权重", "折算权重"]
    by_group = {r[0]: r for r in table[1:]}
    assert set(by_group) == {"人大代表", "律师", "群众"}
    lawyer = by_group["律师"]
    assert (lawyer[5], lawyer[13], lawyer[14]) == (2, "否（未计入）", "有效票不足")
    assert lawyer[2] is None
    assert by_group["人大代表"][13] == "是"
    assert by_group["人大代表"][10] == 85

    open_item = wb["4 赵六"]
    assert open_item["B7"].value == "测评未结束，结果未冻结"


def test_results_workbook_refuses_a_tampered_export(tmp_path: Path) -> None:
    export = make_export()
    export["items"][0]["ballots"][0]["choice"] = {"option": "差"}
    path = tmp_path / "results.xlsx"
    with pytest.raises(ExportError, match="未通过核验"):
        write_results_xlsx(export, path)
    assert not path.exists()


def test_version_1_files_are_still_read_with_a_note() -> None:
    from live.domain.scoring import ballots_digest

    export = make_export()
    v1 = copy.deepcopy(export)
    v1["version"] = 1
    del v1["audit"], v1["record"]
    s = scheme()
    for item in v1["items"]:
        if item["digest"] is not None:
            item["digest"] = ballots_digest(s, item["id"], item["ballots"])
    report = verify_export(v1)
    assert report.ok, report.problems
    assert report.record is None and any("版本 1" in n and "没有会议记录根摘要" in n for n in report.notes)
    assert not verify_export(v1, expect="0" * 64).ok
    # A version 2 item digest covers the presenter: renaming fails even with no record at all.
    renamed = copy.deepcopy(export)
    renamed["items"][0]["presenter"]["name"] = "别人"
    assert not verify_export(renamed).ok


def test_version_2_export_carries_audit_and_record_blocks() -> None:
    export = make_export()
    assert export["audit"] == [] and export["record"] is None
    report = verify_export(export)
    assert report.ok and report.record is not None and report.record.root is None
    assert any("尚未封存" in n for n in report.notes)
    assert not verify_export(export, expect="0" * 64).ok
    broken = copy.deepcopy(export)
    broken["record"] = {"root": "xyz", "audit_seq": 0}
    with pytest.raises(ExportError):
        verify_export(broken)


def test_a_float_in_a_ballot_is_a_format_error_not_a_crash() -> None:
    export = make_export()
    export["items"][0]["ballots"][0]["choice"] = {"option": "好", "weight": 1.5}
    with pytest.raises(ExportError, match="规范编码"):
        verify_export(export)


def test_export_source_is_checked_by_verify() -> None:
    """Paper ballots carry ``source: paper`` through the export; a stray source is refused."""
    s = satisfaction_scheme().to_dict()
    ballots = [{"id": "paper-1", "group": "public", "choice": {"option": "满意"}, "source": "paper"},
               {"id": "b-00000002", "group": "public", "choice": {"option": "不满意"}}]
    values = [BallotValue(b["group"], b["choice"]) for b in ballots]  # type: ignore[arg-type]
    result = score_item(satisfaction_scheme(), values).to_dict()
    presenter = {"name": "甲", "post": "", "unit": ""}
    # The digest covers a ballot as the export carries it: an online ballot has no marker.
    digest = item_digest(1, 1, presenter, s, sorted(ballots, key=lambda b: b["id"]))
    export = build_export({"id": 1, "code": "ABCDEF", "title": "t", "held_on": "2025-01-16", "secret": False,
                           "status": "ended"}, s,
                          [{"id": 1, "position": 1, "presenter": presenter,
                            "ballots": ballots, "result": result, "digest": digest}])
    assert [b.get("source", "online") for b in export["items"][0]["ballots"]] == ["online", "paper"]
    assert verify_export(export).ok
    export["items"][0]["ballots"][0]["source"] = "fax"
    with pytest.raises(ExportError, match="source"):
        verify_export(export)
