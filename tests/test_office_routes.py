"""The admin's 整改 office over HTTP: across meetings, 审核 → 确认销号, reopening, 督办, and who may."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient
from test_owner_routes import as_owner, link_token, new_problem

from conftest import DEMO, Seed, admin_login, login, seed_meeting
from live.store.db import make_engine
from live.store.models import AuditRow


def _problems(client: TestClient, seed: Seed) -> tuple[int, int, Seed]:
    other = seed_meeting(seed.settings, {**DEMO, "title": "第二场述法评议会"})
    login(client, seed)
    first = new_problem(client, seed)
    login(client, other)
    second = new_problem(client, other, 4, description="第二场的问题", owner="市交通局")
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    return first, second, other


def test_admin_sees_every_meeting_and_closes_in_two_steps(client: TestClient, seed: Seed) -> None:
    first, second, other = _problems(client, seed)
    admin_login(client, seed.settings)
    listing = client.get("/api/admin/rectification").json()["problems"]
    assert {p["id"] for p in listing} == {first, second}
    assert {p["meeting_code"] for p in listing} == {seed.code, other.code}
    by_unit = client.get("/api/admin/rectification", params={"unit": "市交通局"}).json()["problems"]
    assert [p["id"] for p in by_unit] == [second]
    assert client.get("/api/admin/rectification?overdue=maybe").status_code == 400

    def step(pid: int, status: str, **fields: str) -> tuple[int, dict]:
        r = client.post(f"/api/admin/problems/{pid}/status", json={"status": status, **fields})
        return r.status_code, r.json()

    assert step(first, "整改中")[0] == 200
    code, body = step(first, "已销号")
    assert code == 409 and "已整改" in body["error"]["message"]
    code, body = step(first, "已整改", text="整改报告已提交")
    assert code == 200 and [n["action"] for n in body["next"]] == ["审核通过", "退回整改"]
    code, body = step(first, "已审核", text="材料齐全")
    assert code == 200 and [n["action"] for n in body["next"]] == ["确认销号", "退回整改"]
    code, body = step(first, "已销号", on_date="2025-05-01")
    assert code == 200 and body["status_label"] == "已销号" and body["closed_on"] == "2025-05-01"
    assert [n["action"] for n in body["next"]] == ["重新打开"]
    code, body = step(first, "整改中")
    assert code == 400 and body["error"]["code"] == "reason_required"
    code, body = step(first, "整改中", reason="回头看发现问题反弹")
    assert code == 200 and body["status"] == "in_progress" and body["closed_on"] is None
    assert body["notes"][-1]["reason"] == "回头看发现问题反弹" and body["notes"][-1]["author"] == "admin"

    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        entries = s.exec(select(AuditRow).where(AuditRow.meeting_id == seed.meeting_id,
                                                AuditRow.action == "problem.status")).all()
    engine.dispose()
    assert [e.actor for e in entries] == ["admin"] * 5


def test_escalation_by_dated_steps(client: TestClient, seed: Seed) -> None:
    first, _, _ = _problems(client, seed)  # first is overdue since 2020-01-01
    admin_login(client, seed.settings)

    def esc(pid: int, **body: str) -> tuple[int, dict]:
        r = client.post(f"/api/admin/problems/{pid}/escalate", json=body)
        return r.status_code, r.json()

    code, body = esc(first, level="函询", note="跳级", on_date="2020-02-01")
    assert code == 409 and "提醒" in body["error"]["message"]
    code, body = esc(first, level="提醒", note="电话提醒", on_date="2020-02-01")
    assert code == 200 and body["escalation_label"] == "提醒" and body["escalated_on"] == "2020-02-01"
    code, body = esc(first, level="函询", note="倒填", on_date="2020-01-15")
    assert code == 400
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert esc(first, level="函询", note="未来", on_date=tomorrow)[0] == 400
    assert esc(first, level="函询", note="发函询问整改情况", on_date="2020-03-01")[0] == 200
    code, body = esc(first, level="挂牌督办", note="列入挂牌督办", on_date="2020-04-01")
    assert code == 200 and body["escalation"] == 3
    assert [(n["escalation_label"], n["on_date"]) for n in body["notes"]] == [
        ("提醒", "2020-02-01"), ("函询", "2020-03-01"), ("挂牌督办", "2020-04-01")]
    assert esc(first, level="挂牌督办", note="再来", on_date="2020-04-02")[0] == 409
    # A problem not yet overdue is not escalated.
    login(client, seed)
    fresh = new_problem(client, seed, deadline="2099-01-01")
    client.headers.pop("X-CSRF-Token", None)
    admin_login(client, seed.settings, name="admin2")
    assert esc(fresh, level="提醒", note="提前", on_date=date.today().isoformat())[0] == 409
    assert esc(999999, level="提醒", note="x")[0] == 404


ADMIN_GETS = ["/api/admin/rectification", "/api/admin/problems/{pid}", "/api/admin/problems/{pid}/owner-link"]
ADMIN_POSTS = [("/api/admin/problems/{pid}/status", {"status": "整改中"}),
               ("/api/admin/problems/{pid}/escalate", {"level": "提醒", "note": "x", "on_date": "2020-02-01"})]


@pytest.mark.parametrize("role", ["anonymous", "host", "other_host", "owner", "admin_without_csrf"])
def test_admin_routes_refuse_every_other_role(client: TestClient, seed: Seed, role: str) -> None:
    first, _, other = _problems(client, seed)
    if role == "host":
        login(client, seed)
    elif role == "other_host":
        login(client, other)
    elif role == "owner":
        login(client, seed)
        token = link_token(client, seed, first)
        client.cookies.clear()
        as_owner(client, first, token)
    elif role == "admin_without_csrf":
        admin_login(client, seed.settings)
        client.headers.pop("X-CSRF-Token")
    for path in ADMIN_GETS:
        r = client.get(path.format(pid=first))
        assert r.status_code == (200 if role == "admin_without_csrf" else 401), (role, path)
    for path, body in ADMIN_POSTS:
        r = client.post(path.format(pid=first), json=body)
        assert r.status_code == (403 if role == "admin_without_csrf" else 401), (role, path, r.text)
    # Nothing changed.
    client.cookies.clear()
    admin_login(client, seed.settings, name="checker")
    assert client.get(f"/api/admin/problems/{first}").json()["status"] == "pending"
