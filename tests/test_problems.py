"""点评, the 问题清单, 整改 to closure and the 法治体检单, over HTTP (and the socket for
the meeting itself)."""

from __future__ import annotations

import io
import re
from typing import Any

import pypdfium2 as pdfium
from docx import Document
from openpyxl import load_workbook
from starlette.testclient import TestClient

from conftest import DEMO, Conn, Seed, item_ids, login, open_ws, panel_ws, seed_meeting


def api(seed: Seed, path: str) -> str:
    return f"/api/meetings/{seed.code}{path}"


def recorder_headers(client: TestClient, seed: Seed) -> dict[str, str]:
    link = client.get(api(seed, "/recorder")).json()
    assert link["url"].endswith("/recorder#" + link["token"])
    return {"authorization": f"Bearer {link['token']}"}


def add_problem(client: TestClient, seed: Seed, item_id: int, headers: dict[str, str] | None = None,
                **fields: Any) -> dict[str, Any]:
    body = {"description": "执法程序不规范", "category": "规范执法", "source": "点评", **fields}
    r = client.post(api(seed, f"/items/{item_id}/problems"), json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    return dict(r.json())


def step(client: TestClient, seed: Seed, pid: int, status: str, **fields: Any) -> Any:
    return client.post(api(seed, f"/problems/{pid}/status"), json={"status": status, **fields})


def test_review_and_problems_by_host_and_recorder(client: TestClient, seed: Seed) -> None:
    first = 1
    assert client.get(api(seed, f"/items/{first}/record")).status_code == 401
    login(client, seed)
    rec = recorder_headers(client, seed)
    token = rec["authorization"].split()[1]
    assert client.post("/api/recorder/claim", json={"token": token}).json()["code"] == seed.code
    assert client.post("/api/recorder/claim", json={"token": "forged"}).status_code == 401
    client.cookies.delete("live_rec")
    client.post(api(seed, "/logout"))  # from here the recorder works on its token alone

    r = client.put(api(seed, f"/items/{first}/review"), headers=rec,
                   json={"text": "述法报告较全面。\n\n但重大决策合法性审查不到位。", "commenter": "市委副书记"})
    assert r.status_code == 200 and r.json()["review"]["commenter"] == "市委副书记"
    p = add_problem(client, seed, first, rec, description="重大行政决策合法性审查流于形式")
    assert p["deadline"] == "2025-04-16"  # three months after held_on 2025-01-16
    assert p["status"] == "pending" and p["status_label"] == "待整改" and p["presenter"] == "马文亮"
    assert p["next"] == [{"status": "in_progress", "label": "整改中", "action": "开始整改", "needs_reason": False}]
    second = add_problem(client, seed, first, rec, source="评议团意见", owner="区司法局", deadline="2025-03-01")
    assert second["deadline"] == "2025-03-01" and second["owner"] == "区司法局"
    bad = client.post(api(seed, f"/items/{first}/problems"), headers=rec, json={"description": "x", "source": "网友"})
    assert bad.status_code == 400 and "来源" in bad.json()["error"]["message"]
    bad = client.post(api(seed, f"/items/{first}/problems"), headers=rec, json={"description": " "})
    assert bad.status_code == 400 and "问题描述" in bad.json()["error"]["message"]
    bad = client.post(api(seed, f"/items/{first}/problems"), headers=rec,
                      json={"description": "x", "deadline": "明年"})
    assert bad.status_code == 400
    assert client.post(api(seed, "/items/999/problems"), headers=rec, json={"description": "x"}).status_code == 404
    record = client.get(api(seed, f"/items/{first}/record"), headers=rec).json()
    assert record["review"]["text"].startswith("述法报告较全面") and len(record["problems"]) == 2
    # The recorder may correct its own entry, never step 整改.
    r = client.patch(api(seed, f"/problems/{second['id']}"), headers=rec, json={"owner": "区委依法治区办"})
    assert r.status_code == 200 and r.json()["owner"] == "区委依法治区办"
    assert client.post(api(seed, f"/problems/{p['id']}/status"), headers=rec,
                       json={"status": "整改中"}).status_code == 403
    assert client.delete(api(seed, f"/problems/{second['id']}"), headers=rec).json()["deleted"] is True
    bad_token = {"authorization": "Bearer nope"}
    assert client.put(api(seed, f"/items/{first}/review"), headers=bad_token, json={"text": "x"}).status_code == 401


def test_rectification_steps_through_http(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    pid = add_problem(client, seed, 2)["id"]
    r = step(client, seed, pid, "已整改")
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "不能从「待整改」直接变为「已整改」，下一步应为「整改中」"
    assert step(client, seed, pid, "bogus").json()["error"]["code"] == "unknown_status"
    r = step(client, seed, pid, "整改中", text="已制定整改方案", on_date="2025-02-01")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    r = client.post(api(seed, f"/problems/{pid}/notes"),
                    json={"text": "完成执法案卷评查 120 卷", "evidence": "评查报告.pdf", "on_date": "2025-02-20"})
    assert r.status_code == 200
    assert step(client, seed, pid, "rectified").json()["status"] == "rectified"
    r = step(client, seed, pid, "整改中")
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    r = step(client, seed, pid, "整改中", reason="抽查发现仍有案卷未规范归档")
    assert r.status_code == 200 and [n["action"] for n in r.json()["next"]] == ["申请销号"]
    done = step(client, seed, pid, "已整改").json()
    # 销号 is the admin's, in two steps: the host may only send the problem back.
    assert [(n["status"], n["action"], n["needs_reason"]) for n in done["next"]] == [
        ("in_progress", "退回整改", True)]
    r = step(client, seed, pid, "已审核")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert "管理员" in r.json()["error"]["message"]
    assert step(client, seed, pid, "已销号").status_code == 409  # not the next step either
    r = client.post(api(seed, f"/problems/{pid}/notes"), json={"text": "补充材料"})
    assert r.status_code == 200
    assert client.delete(api(seed, f"/problems/{pid}")).status_code == 409  # a history stays
    notes = client.get(api(seed, f"/problems/{pid}")).json()["notes"]
    assert [(n["from_status"], n["to_status"]) for n in notes] == [
        ("pending", "in_progress"), (None, None), ("in_progress", "rectified"), ("rectified", "in_progress"),
        ("in_progress", "rectified"), (None, None)]
    assert notes[0]["on_date"] == "2025-02-01" and notes[0]["text"] == "已制定整改方案"
    assert notes[1]["evidence"] == "评查报告.pdf"
    assert notes[3]["reason"] == "抽查发现仍有案卷未规范归档"
    assert client.get(api(seed, "/problems/9999")).status_code == 404


def test_host_views_filters_summary_and_xlsx_of_its_own_meeting(client: TestClient, seed: Seed) -> None:
    other = seed_meeting(seed.settings, {**DEMO, "title": "中卫市2025年度述法评议会", "held_on": "2098-01-10",
                                         "presenters": [DEMO["presenters"][0]]})
    # One host cookie at a time: the later meeting's host records its problem first.
    login(client, other)
    r = client.post(f"/api/meetings/{other.code}/items/4/problems", json={"description": "新一年的问题"})
    assert r.status_code == 201
    theirs = r.json()["id"]
    login(client, seed)
    old = add_problem(client, seed, 1, description="逾期未改的问题", deadline="2020-01-01")["id"]
    add_problem(client, seed, 1, description="按期整改的问题", deadline="2099-01-01")
    closed = add_problem(client, seed, 3, description="已整改的问题", deadline="2020-01-01")["id"]
    for status in ("整改中", "已整改"):
        step(client, seed, closed, status)
    # The host sees its own meeting's problems only; asking for every meeting is refused.
    mine = client.get(api(seed, "/rectification")).json()["problems"]
    assert len(mine) == 3 and {p["meeting_code"] for p in mine} == {seed.code}
    assert client.get(api(seed, "/rectification?scope=meeting")).json()["problems"] == mine
    r = client.get(api(seed, "/rectification?scope=all"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get(api(seed, "/rectification/summary?scope=all")).status_code == 403
    assert client.get(api(seed, "/rectification.xlsx?scope=all")).status_code == 403
    overdue = client.get(api(seed, "/rectification?overdue=true")).json()["problems"]
    assert [p["id"] for p in overdue] == [old] and overdue[0]["days_overdue"] > 0
    by_name = client.get(api(seed, "/rectification?presenter=王建国")).json()["problems"]
    assert [p["id"] for p in by_name] == [closed]
    by_status = client.get(api(seed, "/rectification?status=已整改")).json()["problems"]
    assert [p["id"] for p in by_status] == [closed]
    assert client.get(api(seed, "/rectification?status=bogus")).status_code == 400
    assert client.get(api(seed, "/rectification?overdue=maybe")).status_code == 400
    summary = {row["presenter"]: row for row in client.get(api(seed, "/rectification/summary")).json()["summary"]}
    assert summary["马文亮"] == {"presenter": "马文亮", "total": 2, "open": 2, "rectified": 0, "closed": 0,
                              "overdue": 1, "closure_rate": 0.0}
    assert summary["王建国"]["rectified"] == 1
    # Another meeting's problem does not exist for this host, through either meeting's code.
    assert step(client, seed, theirs, "整改中").status_code == 404
    assert client.get(f"/api/meetings/{other.code}/problems/{theirs}").status_code == 401

    r = client.get(api(seed, "/rectification.xlsx?overdue=false"))
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["问题清单", "整改通报"]
    cells = [str(c.value) for row in wb["问题清单"].iter_rows() for c in row if c.value is not None]
    assert "按期整改的问题" in cells and "已整改的问题" in cells
    assert "逾期未改的问题" not in cells and "新一年的问题" not in cells
    client.post(api(seed, "/logout"))
    assert client.get(api(seed, "/rectification")).status_code == 401
    assert client.get(api(seed, "/rectification.xlsx")).status_code == 401


def docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return re.sub(r"\s+", "", "".join(parts))


def pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        return re.sub(r"\s+", "", "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))))
    finally:
        pdf.close()


def test_checkup_from_stored_data_as_docx_and_pdf(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    h.cmd("item.open", item_id=first)
    tablet = Conn(open_ws(client, panel_ws(client, seed, 0)))
    asked = tablet.cmd("question.ask", item_id=first, content="如何落实法治政府建设第一责任人职责？")["question_id"]
    tablet.cmd("question.ask", item_id=first, content="这个问题没有被提出")
    h.cmd("item.advance", item_id=first)
    h.cmd("question.pick", question_id=asked)
    h.cmd("question.answered", question_id=asked)
    h.cmd("item.advance", item_id=first)  # 点评
    client.put(api(seed, f"/items/{first}/review"),
               json={"text": "述法内容翔实，但<规范性文件>备案审查不及时。", "commenter": "市委副书记"})
    add_problem(client, seed, first, description="规范性文件备案审查不及时", category="制度建设")
    h.cmd("item.advance", item_id=first)  # 测评
    for n in range(3):
        voter = Conn(open_ws(client, panel_ws(client, seed, n)))
        assert voter.cmd("vote", item_id=first, ballot_id=f"ballot-ck-{n}", choice={"option": "满意"})["status"] \
            == "stored"
    h.cmd("item.advance", item_id=first)  # 完成: the result is frozen
    done = h.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "done")["item"]

    r = client.get(api(seed, f"/items/{first}/checkup.docx"))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    text = docx_text(r.content)
    expected = ["法治体检单", "马文亮", "沙坡头区委书记", "中共中卫市沙坡头区委员会",
                "中卫市2024年度党政主要负责人述法评议会",
                "2025年1月16日", "100.00", "第1名（共1人）", done["digest"], "如何落实法治政府建设第一责任人职责？",
                "张立华（评议团）", "已答复", "市委副书记", "述法内容翔实，但<规范性文件>备案审查不及时。",
                "规范性文件备案审查不及时", "制度建设", "2025年4月16日"]
    for want in expected:
        assert want in text, want
    # The console lists both questions; the 体检单 counts them the same way and says which was put.
    assert "共收到质询问题2个，其中现场提出1个，当场答复1个。" in text
    assert "这个问题没有被提出" in text and "未提出" in text

    r = client.get(api(seed, f"/items/{first}/checkup.pdf"))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = pdf_text(r.content)
    for want in expected:
        if want != done["digest"]:  # a long hex digest wraps inside its table cell
            assert want in text, want

    # A presenter without results or records still gets a sheet that says so.
    empty = docx_text(client.get(api(seed, "/items/2/checkup.docx")).content)
    assert "本次会议未产生该述法人的测评结果" in empty and "本次会议未对该述法人进行质询" in empty
    assert client.get(api(seed, f"/items/{first}/checkup.txt")).status_code == 404
    assert client.get(api(seed, "/items/999/checkup.pdf")).status_code == 404
    client.post(api(seed, "/logout"))
    assert client.get(api(seed, f"/items/{first}/checkup.pdf")).status_code == 401
