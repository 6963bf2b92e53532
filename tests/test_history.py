"""A unit's or person's results, rank and problems across meetings (admin only)."""

from __future__ import annotations

from starlette.testclient import TestClient
from test_owner_routes import new_problem

from conftest import DEMO, Conn, Seed, admin_login, item_ids, login, open_ws, panel_ws, seed_meeting


def test_history_of_a_person_and_a_unit(client: TestClient, seed: Seed) -> None:
    later = seed_meeting(seed.settings, {**DEMO, "title": "2025年度述法评议会", "held_on": "2026-01-10"})
    # The first meeting: 马文亮 goes through 测评 with three ballots.
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    h.cmd("item.open", item_id=first)
    for _ in range(3):
        h.cmd("item.advance", item_id=first)  # 质询, 点评, 测评
    for n in range(3):
        voter = Conn(open_ws(client, panel_ws(client, seed, n)))
        assert voter.cmd("vote", item_id=first, ballot_id=f"ballot-h-{n}", choice={"option": "满意"})["status"] \
            == "stored"
    h.cmd("item.advance", item_id=first)
    h.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "done")
    new_problem(client, seed, first, description="老问题", deadline="2020-01-01")
    login(client, later)
    new_problem(client, later, 4, description="新问题", deadline="2099-01-01")
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    assert client.get("/api/admin/history?person=马文亮").status_code == 401

    admin_login(client, seed.settings)
    rows = client.get("/api/admin/history", params={"person": "马文亮"}).json()["rows"]
    assert [(r["year"], r["meeting_title"]) for r in rows] == [
        (2025, DEMO["title"]), (2026, "2025年度述法评议会")]
    assert rows[0]["total"] == "100.00" and rows[0]["rank"] == 1 and rows[0]["rank_of"] == 1
    assert (rows[0]["problems"], rows[0]["open"], rows[0]["overdue"]) == (1, 1, 1)
    assert rows[1]["total"] is None and rows[1]["rank"] is None and rows[1]["problems"] == 1
    unit = DEMO["presenters"][0]["unit"]
    by_unit = client.get("/api/admin/history", params={"unit": unit}).json()["rows"]
    assert len(by_unit) == 2 and {r["presenter"] for r in by_unit} == {"马文亮"}
    names = client.get("/api/admin/history/names").json()
    assert "马文亮" in names["people"] and unit in names["units"]
    assert client.get("/api/admin/history").status_code == 400
    assert client.get("/api/admin/history?unit=a&person=b").status_code == 400
    assert client.get("/api/admin/history?person=无此人").json()["rows"] == []
