"""The weekly 整改通报: what counts as new, overdue, closed and escalated in a week."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from starlette.testclient import TestClient
from test_owner_routes import new_problem
from test_problems import docx_text

from conftest import Seed, admin_login, login
from live.domain.bulletin import BulletinProblem, build, week_of


def P(unit: str, created: date, deadline: date | None, status: str, closed: date | None = None,
      esc: tuple[tuple[int, date], ...] = ()) -> BulletinProblem:
    return BulletinProblem(unit, "某某", "会议", f"{unit}的问题", created, deadline, status, closed, esc)


def test_week_of_is_monday_to_sunday() -> None:
    assert week_of(date(2025, 3, 12)) == (date(2025, 3, 10), date(2025, 3, 16))
    assert week_of(date(2025, 3, 16)) == (date(2025, 3, 10), date(2025, 3, 16))
    assert week_of(date(2025, 3, 17))[0] == date(2025, 3, 17)


def test_counts_by_unit() -> None:
    week = date(2025, 3, 10)
    rows = [
        P("区司法局", date(2025, 3, 11), date(2025, 6, 11), "pending"),  # new
        P("区司法局", date(2025, 1, 2), date(2025, 3, 1), "in_progress", esc=((1, date(2025, 3, 12)),)),  # late, 督办
        P("区司法局", date(2025, 1, 2), date(2025, 3, 1), "rectified"),  # finished: not overdue
        P("市交通局", date(2025, 1, 2), date(2025, 3, 1), "closed", closed=date(2025, 3, 14)),  # closed this week
        P("市交通局", date(2025, 1, 2), date(2025, 3, 1), "closed", closed=date(2025, 3, 3)),  # closed before
        P("市交通局", date(2025, 3, 20), date(2025, 3, 21), "pending"),  # made after the week: nothing
        P("市公安局", date(2025, 1, 2), date(2025, 3, 16), "pending"),  # due on Sunday: not yet overdue
    ]
    b = build(rows, week)
    assert (b.start, b.end) == (date(2025, 3, 10), date(2025, 3, 16))
    assert [u.counts() for u in b.units] == [
        {"unit": "区司法局", "new": 1, "overdue": 1, "closed": 0, "escalated": 1},
        {"unit": "市交通局", "new": 0, "overdue": 0, "closed": 1, "escalated": 0},
    ]
    assert b.totals() == {"new": 1, "overdue": 1, "closed": 1, "escalated": 1}
    assert build([], week).units == []


def test_bulletin_docx_and_xlsx_for_admins_only(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    new_problem(client, seed, description="=HYPERLINK(\"http://evil\",\"点我\")", owner="区司法局",
                deadline="2099-01-01")
    new_problem(client, seed, 2, description="逾期未整改的问题", owner="市交通局", deadline="2020-01-01")
    for path in ("/api/admin/bulletin", "/api/admin/bulletin.docx", "/api/admin/bulletin.xlsx"):
        assert client.get(path).status_code == 401  # a host is not an admin
    client.cookies.clear()
    admin_login(client, seed.settings)
    summary = client.get("/api/admin/bulletin").json()
    assert summary["totals"]["new"] == 2 and summary["totals"]["overdue"] == 1
    assert {u["unit"] for u in summary["units"]} == {"区司法局", "市交通局"}
    assert client.get("/api/admin/bulletin?week=上周").status_code == 400
    assert client.get("/api/admin/bulletin.pdf").status_code == 404
    assert client.get("/api/admin/bulletin?week=2000-01-05").json()["units"] == []

    r = client.get("/api/admin/bulletin.xlsx")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["分单位", "问题明细"]
    cells = [c for row in wb["问题明细"].iter_rows() for c in row if isinstance(c.value, str)]
    evil = next(c for c in cells if c.value.startswith("=HYPERLINK"))
    assert evil.data_type == "s" and evil.quotePrefix  # text, never a formula
    counts = [[c.value for c in row] for row in wb["分单位"].iter_rows(min_row=3)]
    assert ["市交通局", 1, 1, 0, 0] in counts and counts[-1][0] == "合计"

    r = client.get("/api/admin/bulletin.docx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    text = docx_text(r.content)
    assert "整改情况通报" in text and "区司法局" in text and "逾期未整改的问题" in text and "本周新增问题2个" in text
