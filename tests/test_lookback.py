"""回头看: a presenter's open problems from earlier meetings, on the console and into the 质询 queue."""

from __future__ import annotations

from starlette.testclient import TestClient

from conftest import DEMO, Conn, Seed, login, open_ws, seed_meeting


def test_earlier_open_problems_are_listed_and_seeded_once(client: TestClient, seed: Seed) -> None:
    # seed: held 2025-01-16. An earlier meeting (2024) with the same presenters, and a later one.
    earlier = seed_meeting(seed.settings, {**DEMO, "title": "2023年度述法评议会", "held_on": "2024-01-10"})
    later = seed_meeting(seed.settings, {**DEMO, "title": "2025年度述法评议会", "held_on": "2026-01-10"})
    login(client, earlier)
    base = f"/api/meetings/{earlier.code}"
    # Items of the earlier meeting: 4.. (the seed's are 1..3); first presenter 马文亮.
    first_item = 4
    open_p = client.post(f"{base}/items/{first_item}/problems",
                         json={"description": "执法案卷归档不规范", "deadline": "2024-04-10"}).json()["id"]
    done = client.post(f"{base}/items/{first_item}/problems", json={"description": "已整改待销号的问题",
                                                                    "deadline": "2024-04-10"}).json()["id"]
    client.post(f"{base}/problems/{done}/status", json={"status": "整改中"})
    client.post(f"{base}/problems/{done}/status", json={"status": "已整改"})
    login(client, later)
    client.post(f"/api/meetings/{later.code}/items/7/problems", json={"description": "以后才会指出的问题"})

    login(client, seed)
    r = client.get(f"/api/meetings/{seed.code}/lookback")
    assert r.status_code == 200
    items = {i["item_id"]: i for i in r.json()["items"]}
    # Both are still open (not 已销号); the later meeting's problem is not listed.
    assert [p["id"] for p in items[1]["problems"]] == [open_p, done]
    row, waiting = items[1]["problems"]
    assert row["overdue"] and row["meeting_title"] == "2023年度述法评议会" and items[1]["overdue"] == 1
    assert waiting["status_label"] == "已整改" and not waiting["overdue"]
    assert items[2]["problems"] == [] and items[3]["problems"] == []

    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    r = client.post(f"/api/meetings/{seed.code}/items/1/lookback/seed")
    assert r.status_code == 200 and len(r.json()["imported"]) == 2
    q = h.expect(lambda m: m.get("type") == "questions.updated" or "question" in m.get("type", ""))
    assert q
    listed = client.get(f"/api/meetings/{seed.code}/questions").json()
    texts = [x["content"] for x in listed["questions"]] if "questions" in listed else str(listed)
    assert any("【回头看】" in t and "执法案卷归档不规范" in t and "已逾期" in t for t in texts)
    again = client.post(f"/api/meetings/{seed.code}/items/1/lookback/seed").json()
    assert again["imported"] == [] and len(again["skipped"]) == 2  # a second click adds nothing
    assert client.post(f"/api/meetings/{seed.code}/items/999/lookback/seed").status_code == 404


def test_lookback_is_the_hosts_only(client: TestClient, seed: Seed) -> None:
    other = seed_meeting(seed.settings, {**DEMO, "held_on": "2024-01-01"})
    assert client.get(f"/api/meetings/{seed.code}/lookback").status_code == 401
    assert client.post(f"/api/meetings/{seed.code}/items/1/lookback/seed").status_code == 401
    login(client, other)
    assert client.get(f"/api/meetings/{seed.code}/lookback").status_code == 401
    assert client.post(f"/api/meetings/{seed.code}/items/1/lookback/seed").status_code == 401


def test_a_closed_problem_is_not_looked_back_at(client: TestClient, seed: Seed) -> None:
    from conftest import admin_login

    earlier = seed_meeting(seed.settings, {**DEMO, "title": "2023年度述法评议会", "held_on": "2024-01-10"})
    login(client, earlier)
    r = client.post(f"/api/meetings/{earlier.code}/items/4/problems", json={"description": "已销号的问题"})
    pid = r.json()["id"]
    client.cookies.clear()
    admin_login(client, seed.settings)
    for status in ("整改中", "已整改", "已审核", "已销号"):
        assert client.post(f"/api/admin/problems/{pid}/status", json={"status": status}).status_code == 200
    client.cookies.clear()
    login(client, seed)
    items = {i["item_id"]: i for i in client.get(f"/api/meetings/{seed.code}/lookback").json()["items"]}
    assert items[1]["problems"] == []
    assert client.post(f"/api/meetings/{seed.code}/items/1/lookback/seed").json() == {"imported": [], "skipped": []}
