"""回头看: a presenter's open problems from earlier meetings, on the console and into the 质询 queue."""

from __future__ import annotations

from starlette.testclient import TestClient

from conftest import DEMO, Conn, Seed, login, open_ws, seed_meeting
from live.config import Settings


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


def test_presenter_link_reads_the_lookback_of_the_presenter_on_stage_only(client: TestClient, seed: Seed) -> None:
    """The presenter link's cookie may read this meeting's 回头看 for the presenter on stage, never
    seed it, never read another meeting's (issue 12)."""
    from sqlmodel import Session

    from conftest import admin_login
    from live.store.db import make_engine
    from live.store.models import Meeting

    earlier = seed_meeting(seed.settings, {**DEMO, "title": "2023年度述法评议会", "held_on": "2024-01-10"})
    login(client, earlier)
    for item in (4, 5):  # the earlier meeting's first two presenters = this meeting's items 1 and 2
        assert client.post(f"/api/meetings/{earlier.code}/items/{item}/problems",
                           json={"description": f"问题{item}", "deadline": "2024-04-10"}).status_code in (200, 201)
    client.cookies.clear()
    admin_login(client, seed.settings)
    token = client.get(f"/api/admin/meetings/{seed.code}/presenter-link").json()["url"].split("#t=")[1]
    presenter = TestClient(client.app)
    assert presenter.post(f"/api/meetings/{seed.code}/presenter/claim", json={"token": token}).status_code == 200
    url = f"/api/meetings/{seed.code}/lookback"
    r = presenter.get(url)
    assert r.status_code == 200 and r.json()["items"] == []  # nobody on stage yet

    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        m = s.get(Meeting, seed.meeting_id)
        assert m is not None
        m.current_item_id = 2
        s.add(m)
        s.commit()
    engine.dispose()
    items = presenter.get(url).json()["items"]
    assert [i["item_id"] for i in items] == [2] and [p["description"] for p in items[0]["problems"]] == ["问题5"]
    # Read-only: seeding the 质询 queue stays the host's.
    assert presenter.post(f"/api/meetings/{seed.code}/items/2/lookback/seed").status_code == 401
    # Another meeting's list: this cookie is not that meeting's.
    assert presenter.get(f"/api/meetings/{earlier.code}/lookback").status_code == 401
    stolen = TestClient(client.app)
    mine = presenter.cookies.get(f"live_presenter_{seed.meeting_id}") or ""
    stolen.cookies.set(f"live_presenter_{earlier.meeting_id}", mine)
    assert stolen.get(f"/api/meetings/{earlier.code}/lookback").status_code == 401
    # A new link (an administrator's) ends the old cookie here too.
    assert client.post(f"/api/admin/meetings/{seed.code}/presenter-link").status_code == 200
    assert presenter.get(url).status_code == 401



def test_presenter_view_shows_its_lookback_card(settings: Settings) -> None:
    """Chromium on the presenter link: the 述法 card lists the on-stage presenter's open problem
    of an earlier meeting, with the presenter cookie alone (no host login)."""
    import httpx
    from playwright.sync_api import expect, sync_playwright
    from sqlmodel import Session

    from conftest import make_admin, uvicorn_in_thread
    from live.store.db import make_engine
    from live.store.models import Meeting

    seed = seed_meeting(settings)
    earlier = seed_meeting(settings, {**DEMO, "title": "2023年度述法评议会", "held_on": "2024-01-10"})
    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        m = s.get(Meeting, seed.meeting_id)
        assert m is not None
        m.current_item_id = 1  # the first presenter on stage
        s.add(m)
        s.commit()
    engine.dispose()
    password = make_admin(settings)
    with uvicorn_in_thread(settings) as (host, _app):
        base = f"http://{host}"
        with httpx.Client(base_url=base) as h:
            r = h.post(f"/api/meetings/{earlier.code}/login", json={"password": earlier.password})
            h.headers["X-CSRF-Token"] = r.json()["csrf"]
            r = h.post(f"/api/meetings/{earlier.code}/items/4/problems",
                       json={"description": "执法案卷归档不规范", "deadline": "2024-04-10"})
            assert r.status_code in (200, 201), r.text
        with httpx.Client(base_url=base) as a:
            r = a.post("/api/admin/login", json={"name": "admin", "password": password})
            a.headers["X-CSRF-Token"] = r.json()["csrf"]
            link = a.get(f"/api/admin/meetings/{seed.code}/presenter-link").json()["url"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
                assert link.startswith(base)  # the link is made from the request's own address
                page.goto(link)
                card = page.locator(".lookback-presenter")
                expect(card).to_be_visible(timeout=15_000)
                expect(card).to_contain_text("执法案卷归档不规范")
                expect(card).to_contain_text("2023年度述法评议会")
            finally:
                browser.close()
