"""Importing questions collected beforehand over HTTP: good rows stored, bad rows
reported by row number, host only, size-capped."""

from __future__ import annotations

import io

from openpyxl import Workbook
from starlette.testclient import TestClient

from conftest import Conn, Seed, login, open_ws

CSV = """来源,内容,述法人,提问人
12345热线,农村道路什么时候硬化？,马文亮,王女士
信箱,食品抽检结果为何不公开？,王建国,
网络留言,没有述法人的问题,张三,
12345热线,,李秀英,
信箱,你们就是一群傻逼,李秀英,
网络留言,农村道路什么时候硬化？,马文亮,
书记信箱,行政复议决定如何落实？,中宁县人民政府,李先生
"""


def upload(client: TestClient, seed: Seed, data: bytes, filename: str, query: str = "") -> dict:
    r = client.post(f"/api/meetings/{seed.code}/questions/import{query}",
                    files={"file": (filename, data, "application/octet-stream")})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_csv_import_keeps_good_rows_and_reports_bad_ones(client: TestClient, seed: Seed) -> None:
    assert client.post(f"/api/meetings/{seed.code}/questions/import", content=CSV.encode()).status_code == 401
    login(client, seed)
    big = Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))
    out = upload(client, seed, CSV.encode("utf-8"), "questions.csv")
    assert out["imported"] == 3 and out["status"] == "approved"
    errors = {e["row"]: e["message"] for e in out["errors"]}
    assert sorted(errors) == [4, 5, 6, 7]
    assert "张三" in errors[4] and "内容" in errors[5] and "不文明" in errors[6] and "重复" in errors[7]
    assert [q["row"] for q in out["questions"]] == [2, 3, 8]
    ev = big.expect(lambda m: m["type"] == "questions.updated" and m["cause"] == "imported")
    by_text = {q["content"]: q for q in ev["questions"]}
    assert by_text["农村道路什么时候硬化？"]["asker"] == "王女士"
    assert by_text["农村道路什么时候硬化？"]["source"] == "12345热线"
    assert by_text["行政复议决定如何落实？"]["origin"] == "import"
    items = {i["presenter"]["name"]: i["id"] for i in big.state["items"]}
    assert by_text["行政复议决定如何落实？"]["item_id"] == items["李秀英"]  # matched by unit
    # The same file again: every row is already there.
    again = upload(client, seed, CSV.encode("utf-8"), "questions.csv")
    assert again["imported"] == 0 and {e["row"] for e in again["errors"]} == {2, 3, 4, 5, 6, 7, 8}
    assert "已导入过" in {e["row"]: e["message"] for e in again["errors"]}[2]
    listed = client.get(f"/api/meetings/{seed.code}/questions").json()["questions"]
    assert len(listed) == 3 and {q["status"] for q in listed} == {"approved"}


def test_xlsx_import_into_the_moderation_queue(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["2024年述法评议会议 群众问题征集表"])
    ws.append(["问题来源", "问题内容（必填）", "述法人", "提问人"])
    ws.append(["12345热线", "市场监管投诉处理为何这么慢？", "王建国", 12345])
    ws.append(["信箱", "   ", "王建国", None])
    buf = io.BytesIO()
    wb.save(buf)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    out = upload(client, seed, buf.getvalue(), "征集.xlsx", "?status=pending")
    assert out["imported"] == 1 and [e["row"] for e in out["errors"]] == [4]
    queue = h.expect(lambda m: m["type"] == "moderation" and m["questions_pending"] == 1)
    assert queue["questions"][0]["asker"] == "12345" and queue["questions"][0]["origin"] == "import"
    assert h.state["questions"] == []
    assert client.get(f"/api/meetings/{seed.code}/moderation").json()["questions_pending"] == 1


def test_unusable_uploads_are_refused_whole(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    url = f"/api/meetings/{seed.code}/questions/import"
    r = client.post(url, content="来源,内容\n信箱,问题\n".encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_column"
    assert "述法人" in r.json()["error"]["message"]
    r = client.post(url + "?filename=old.xls", content=b"\xd0\xcf\x11\xe0rest")
    assert r.status_code == 400 and ".xls" in r.json()["error"]["message"]
    r = client.post(url, content=b"x" * (6 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = client.post(url + "?status=bogus", content=CSV.encode())
    assert r.status_code == 400
    r = client.post(url, files={"other": ("a.csv", CSV.encode(), "text/csv")})
    assert r.status_code == 400 and "file" in r.json()["error"]["message"]
    assert client.get(f"/api/meetings/{seed.code}/questions").json()["questions"] == []
