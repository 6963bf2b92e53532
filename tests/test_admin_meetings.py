"""The administrators' meetings: the wizard (every problem at once), imports, schemes,
locks once the meeting starts, duplicating, host passwords, the presenter's narrow link,
the list; and every admin route against every role."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook
from starlette.testclient import TestClient

from conftest import Conn, Seed, admin_login, login, open_ws, seed_meeting
from live.config import Settings


def _xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _new(client: TestClient, **basics: Any) -> dict[str, Any]:
    body = {"title": "2025年度述法评议会", "held_on": "2025-12-20", "venue": "市民中心", **basics}
    r = client.post("/api/admin/meetings", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _save(client: TestClient, code: str, **body: Any) -> Any:
    return client.put(f"/api/admin/meetings/{code}/setup", json=body)


PRESENTERS = [{"name": "马文亮", "post": "区委书记", "unit": "沙坡头区委", "kind": "党政主要负责人"},
              {"name": "李秀英", "post": "县长", "unit": "中宁县人民政府", "kind": "党政主要负责人"}]
ROSTER = [{"name": "张立华", "category": "人大代表", "unit": "市人大", "contact": "13900000000"},
          {"name": "吴婷", "category": "律师", "unit": "某律所", "contact": ""}]


def _ready(client: TestClient) -> str:
    code = str(_new(client)["code"])
    r = _save(client, code, sections=["presenters", "panel", "scheme", "options"], presenters=PRESENTERS,
              roster=ROSTER, scheme="grade", options={"secret": False, "public_mode": "open"})
    assert r.status_code == 200, r.text
    assert client.post(f"/api/admin/meetings/{code}/finish").status_code == 200
    return code


def test_wizard_steps_show_every_problem_at_once(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings)
    r = client.post("/api/admin/meetings", json={"title": " ", "held_on": "2025-13-40", "venue": "x" * 201})
    assert r.status_code == 400
    problems = r.json()["error"]["problems"]
    assert len(problems) == 3 and "会议名称不能为空" in problems
    created = _new(client)
    code, password = created["code"], created["password"]
    assert len(password) >= 12
    r = _save(client, code, sections=["presenters"], presenters=[{"name": "甲"}, {"post": "局长", "unit": "司法局"}])
    problems = r.json()["error"]["problems"]
    assert r.status_code == 400 and problems == ["第 1 位述法人缺少职务（post）", "第 1 位述法人缺少单位（unit）",
                                                 "第 2 位述法人缺少姓名（name）"]
    r = _save(client, code, sections=["panel", "options"], roster=[{"name": "某", "category": "外宾"}],
              options={"public_mode": "vote-by-fax", "secret": "yes"})
    assert r.status_code == 400 and len(r.json()["error"]["problems"]) == 3
    # A draft cannot be finished without presenters.
    r = client.post(f"/api/admin/meetings/{code}/finish")
    assert r.status_code == 400 and "至少需要一位述法人" in r.json()["error"]["problems"]
    r = _save(client, code, sections=["presenters", "panel", "scheme"], presenters=PRESENTERS, roster=ROSTER,
              scheme="rubric")
    assert r.status_code == 200, r.text
    setup = r.json()
    assert [p["name"] for p in setup["presenters"]] == ["马文亮", "李秀英"]
    assert setup["presenters"][0]["kind"] == "党政主要负责人" and setup["scheme"]["kind"] == "rubric"
    assert setup["roster"][0]["contact"] == "13900000000" and setup["state"] == "draft"
    # Editing keeps ids: reorder, rename one, drop one, add one.
    first, second = setup["presenters"]
    r = _save(client, code, sections=["presenters"], presenters=[
        {**second, "name": "李秀英（改）"}, {"name": "王建国", "post": "局长", "unit": "市场监管局"}])
    after = r.json()["presenters"]
    assert after[0]["id"] == second["id"] and after[0]["name"] == "李秀英（改）"
    assert first["id"] not in [p["id"] for p in after] and len(after) == 2
    assert client.post(f"/api/admin/meetings/{code}/finish").json()["state"] == "scheduled"
    # The host password shown at creation signs the host in.
    r = client.post(f"/api/meetings/{code}/login", json={"password": password})
    assert r.status_code == 200


def test_the_scripted_path_gives_the_same_errors(client: TestClient, settings: Settings, tmp_path: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from live.cli import main

    admin_login(client, settings)
    spec = {"title": "会", "presenters": [{"name": "甲"}], "panel": [{"name": "某", "category": "外宾"}]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    assert main(["meeting", "create", str(path), "--database-url", settings.database_url]) == 2
    cli_errors = [line.removeprefix("错误：") for line in capsys.readouterr().err.splitlines()]
    code = _new(client)["code"]
    r = _save(client, code, sections=["presenters", "panel"], presenters=spec["presenters"], roster=spec["panel"])
    assert r.json()["error"]["problems"] == cli_errors


def test_imports_report_bad_rows_and_keep_good_ones(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings)
    csv_gbk = "姓名,类别,单位,联系方式\n张立华,人大代表,市人大,139\n,律师,某所,1\n某某,外宾,某国,2\n赵晓梅,政协委员,,\n"
    r = client.post("/api/admin/import/roster?filename=r.csv", content=csv_gbk.encode("gbk"),
                    headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["name"] for m in body["roster"]] == ["张立华", "赵晓梅"]
    assert body["roster"][0] == {"name": "张立华", "category": "人大代表", "unit": "市人大", "contact": "139"}
    assert [e["row"] for e in body["errors"]] == [3, 4] and "类别「外宾」" in body["errors"][1]["message"]
    xlsx = _xlsx([["2025年度述法人名单"], ["姓名", "职务", "单位", "类别"],
                  ["马文亮", "区委书记", "沙坡头区委", "党政"], ["李秀英", "", "中宁县", ""]])
    r = client.post("/api/admin/import/presenters", files={"file": ("p.xlsx", xlsx)})
    assert r.status_code == 200, r.text
    assert r.json()["presenters"] == [{"name": "马文亮", "post": "区委书记", "unit": "沙坡头区委", "kind": "党政"}]
    assert r.json()["errors"] == [{"row": 4, "message": "缺少职务"}]
    r = client.post("/api/admin/import/presenters?filename=x.xlsx", content=b"PK\x03\x04broken")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_xlsx"
    r = client.post("/api/admin/import/roster?filename=x.csv", content="甲,乙\n1,2\n".encode())
    assert r.status_code == 400 and r.json()["error"]["code"] == "no_header"


def test_schemes_templates_and_saved(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings)
    body = client.get("/api/admin/schemes").json()
    assert [t["key"] for t in body["templates"]] == ["satisfaction", "grade", "rubric"] and body["saved"] == []
    grade = body["templates"][1]["scheme"]
    r = client.post("/api/admin/schemes", json={"name": "本市等次方案", "scheme": {**grade, "trim_k": 0}})
    assert r.status_code == 201
    saved_id = r.json()["id"]
    assert client.post("/api/admin/schemes", json={"name": "本市等次方案", "scheme": grade}).status_code == 409
    assert client.post("/api/admin/schemes", json={"name": "坏", "scheme": {"kind": "grade"}}).status_code == 400
    code = _new(client)["code"]
    r = _save(client, code, sections=["scheme"], scheme={"saved": saved_id})
    assert r.status_code == 200 and r.json()["scheme"]["kind"] == "grade" and r.json()["scheme"]["trim_k"] == 0


def test_locks_once_the_meeting_starts(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings)
    created = _new(client)
    code = created["code"]
    _save(client, code, sections=["presenters"], presenters=PRESENTERS)
    # The host's cookie joins the admin's in this jar (a socket needs the app's own client).
    assert client.post(f"/api/meetings/{code}/login", json={"password": created["password"]}).status_code == 200
    h = Conn(open_ws(client, f"/ws/{code}?role=host"))
    assert len(h.state["items"]) == 2
    # An open console follows an edit before the start (items.replaced).
    _save(client, code, sections=["presenters"], presenters=[*PRESENTERS, {"name": "王", "post": "局长", "unit": "局"}])
    h.expect(lambda m: m["type"] == "items.replaced")
    assert [i["presenter"]["name"] for i in h.state["items"]] == ["马文亮", "李秀英", "王"]
    assert h.cmd("meeting.start")["type"] == "ack"
    for section, value in (("presenters", PRESENTERS), ("roster", ROSTER), ("scheme", "grade"),
                           ("options", {"secret": True})):
        name = "panel" if section == "roster" else section
        r = _save(client, code, sections=[name], **{section: value})
        assert r.status_code == 409 and r.json()["error"]["code"] == "setup_locked", section
        assert "已锁定" in r.json()["error"]["message"]
    basics = {"title": "改名后的会", "held_on": "2025-12-21", "venue": "礼堂"}
    r = _save(client, code, sections=["basics"], basics=basics)
    assert r.status_code == 200
    h.expect(lambda m: m["type"] == "meeting.updated" and m["meeting"]["title"] == "改名后的会")
    assert h.state["meeting"]["title"] == "改名后的会"
    assert client.get(f"/api/admin/meetings/{code}").json()["locked"] is True
    # A live meeting cannot be archived.
    assert client.post(f"/api/admin/meetings/{code}/archive", json={"archived": True}).status_code == 409


def test_duplicate_for_next_year(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings)
    code = _ready(client)
    r = client.post(f"/api/admin/meetings/{code}/duplicate", json={})
    assert r.status_code == 201
    new = r.json()
    assert new["code"] != code and new["password"]
    old = client.get(f"/api/admin/meetings/{code}").json()
    copy = client.get(f"/api/admin/meetings/{new['code']}").json()
    assert copy["basics"]["title"] == "2026年度述法评议会" and copy["state"] == "draft"

    def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in ("id", "deck_pages")} for r in rows]

    assert strip(copy["presenters"]) == strip(old["presenters"]) and strip(copy["roster"]) == strip(old["roster"])
    assert copy["scheme"] == old["scheme"] and copy["options"] == old["options"]


def test_host_password_rotation_and_one_meeting_only(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings)
    code, other = _ready(client), _ready(client)
    new = client.post(f"/api/admin/meetings/{code}/host-password").json()["password"]
    host = TestClient(client.app)
    assert host.post(f"/api/meetings/{code}/login", json={"password": new}).status_code == 200
    assert host.get(f"/api/meetings/{code}/session").json()["host"] is True
    # The host of one meeting is no host of another.
    assert host.post(f"/api/meetings/{other}/login", json={"password": new}).status_code == 401
    assert host.get(f"/api/meetings/{other}/session").json() == {"host": False}
    # Rotating again ends that host's session.
    newer = client.post(f"/api/admin/meetings/{code}/host-password").json()["password"]
    assert host.get(f"/api/meetings/{code}/session").json() == {"host": False}
    assert host.post(f"/api/meetings/{code}/login", json={"password": new}).status_code == 401
    assert host.post(f"/api/meetings/{code}/login", json={"password": newer}).status_code == 200


def test_presenter_link_turns_slides_and_nothing_else(client: TestClient, settings: Settings, seed: Seed) -> None:
    from live.store.db import make_engine

    admin_login(client, settings)
    link = client.get(f"/api/admin/meetings/{seed.code}/presenter-link").json()["url"]
    path, token = link.split("#t=")
    assert path.endswith(f"/presenter/{seed.code}") and token
    # Give the first presenter a deck, as the host would.
    engine = make_engine(settings.database_url)
    from sqlmodel import Session, select

    from live.store.models import AgendaItem

    with Session(engine) as s:
        item = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == seed.meeting_id)).first()
        assert item is not None
        item.deck_pages, item.deck_version, item.slide_page, item.deck_key = 5, 1, 1, "k" * 16
        s.add(item)
        s.commit()
        item_id = item.id
    engine.dispose()
    presenter = TestClient(client.app)
    assert presenter.get(f"/presenter/{seed.code}").status_code == 200
    r = presenter.post(f"/api/meetings/{seed.code}/presenter/claim", json={"token": token})
    assert r.status_code == 200 and "HttpOnly" in r.headers["set-cookie"]
    jar = dict(client.cookies)
    client.cookies.clear()  # the socket, in the app's own client, with the presenter's cookie alone
    name = f"live_presenter_{seed.meeting_id}"
    client.cookies.set(name, presenter.cookies.get(name) or "")
    conn = Conn(open_ws(client, f"/ws/{seed.code}?role=presenter"))
    assert conn.cmd("slide.goto", item_id=item_id, page=3)["type"] == "ack"
    for cmd, args in (("meeting.start", {}), ("item.open", {"item_id": item_id}), ("words.add", {"words": ["x"]})):
        assert conn.cmd(cmd, **args)["code"] == "forbidden"
    with client.websocket_connect(f"/ws/{seed.code}?role=host") as ws:
        assert ws.receive_json()["code"] == "login_required"
    client.cookies.clear()
    for k, v in jar.items():
        client.cookies.set(k, v)
    # Nothing of the host's over HTTP.
    assert presenter.get(f"/api/meetings/{seed.code}/session").json() == {"host": False}
    assert presenter.get(f"/api/meetings/{seed.code}/panel").status_code == 401
    # Another meeting's presenter page does not take this link.
    other = seed_meeting(settings)
    assert presenter.post(f"/api/meetings/{other.code}/presenter/claim", json={"token": token}).status_code == 400
    # A new link stops the old one.
    client.post(f"/api/admin/meetings/{seed.code}/presenter-link")
    r = TestClient(client.app).post(f"/api/meetings/{seed.code}/presenter/claim", json={"token": token})
    assert r.status_code == 401 and r.json()["error"]["code"] == "revoked"
    client.cookies.clear()
    client.cookies.set(name, presenter.cookies.get(name) or "")
    with client.websocket_connect(f"/ws/{seed.code}?role=presenter") as ws:
        assert ws.receive_json()["code"] == "revoked"


def test_list_grouped_searchable_and_archive(client: TestClient, settings: Settings, seed: Seed) -> None:
    admin_login(client, settings)
    draft = _new(client, title="2024年度某县述法评议会", held_on="2024-03-01")["code"]
    ready = _ready(client)
    rows = {m["code"]: m for m in client.get("/api/admin/meetings").json()["meetings"]}
    assert rows[draft]["state"] == "draft" and rows[draft]["year"] == 2024
    assert rows[ready]["state"] == "scheduled" and rows[ready]["presenters"] == 2 and rows[ready]["panel"] == 2
    assert rows[seed.code]["state"] == "scheduled"
    found = client.get("/api/admin/meetings", params={"q": "某县"}).json()["meetings"]
    assert [m["code"] for m in found] == [draft]
    by_name = [m["code"] for m in client.get("/api/admin/meetings", params={"q": "李秀英 县长"}).json()["meetings"]]
    assert ready in by_name and draft not in by_name
    assert client.post(f"/api/admin/meetings/{draft}/archive", json={"archived": True}).status_code == 200
    rows = {m["code"]: m for m in client.get("/api/admin/meetings").json()["meetings"]}
    assert rows[draft]["state"] == "archived" and rows[draft]["state_label"] == "已归档"
    years = [m["year"] for m in client.get("/api/admin/meetings").json()["meetings"]]
    assert years == sorted(years, reverse=True)


# --- every admin route against every role ----------------------------------------------------

def _routes(code: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [("GET", "/api/admin/meetings", None),
            ("POST", "/api/admin/meetings", {"title": "t", "held_on": "2025-01-01"}),
            ("GET", f"/api/admin/meetings/{code}", None),
            ("PUT", f"/api/admin/meetings/{code}/setup", {"sections": ["basics"], "basics": {"title": "x"}}),
            ("POST", f"/api/admin/meetings/{code}/finish", None),
            ("POST", f"/api/admin/meetings/{code}/archive", {"archived": False}),
            ("POST", f"/api/admin/meetings/{code}/host-password", None),
            ("GET", f"/api/admin/meetings/{code}/presenter-link", None),
            ("POST", f"/api/admin/meetings/{code}/presenter-link", None),
            ("POST", f"/api/admin/meetings/{code}/duplicate", {}),
            ("POST", "/api/admin/import/presenters?filename=a.csv", None),
            ("POST", "/api/admin/import/roster?filename=a.csv", None),
            ("GET", "/api/admin/schemes", None),
            ("POST", "/api/admin/schemes", {"name": "n", "scheme": {}})]


def _as(client: TestClient, jar: dict[str, str], csrf: str | None) -> None:
    """Wear one role in the app's own client (the writer runs on its loop): that role's cookies and token."""
    client.cookies.clear()
    for k, v in jar.items():
        client.cookies.set(k, v)
    client.headers.pop("X-CSRF-Token", None)
    if csrf:
        client.headers["X-CSRF-Token"] = csrf


def _take(client: TestClient) -> tuple[dict[str, str], str | None]:
    jar, csrf = dict(client.cookies), client.headers.get("X-CSRF-Token")
    _as(client, {}, None)
    return jar, csrf


def test_role_matrix(client: TestClient, settings: Settings, seed: Seed) -> None:
    other = seed_meeting(settings)
    roles: dict[str, tuple[dict[str, str], str | None]] = {"anonymous": ({}, None)}
    login(client, seed)
    roles["this_host"] = _take(client)
    login(client, other)
    roles["other_host"] = _take(client)
    assert client.post("/api/panel/claim", json={"token": seed.panel_tokens[0]}).status_code == 200
    roles["panel"] = _take(client)
    admin_login(client, settings, "matrix")
    token = client.get(f"/api/admin/meetings/{seed.code}/presenter-link").json()["url"].split("#t=")[1]
    roles["admin"] = _take(client)
    assert client.post(f"/api/meetings/{seed.code}/presenter/claim", json={"token": token}).status_code == 200
    roles["presenter"] = (_take(client)[0], "not-a-token")
    seen: dict[tuple[str, str], int] = {}
    for role, (jar, csrf) in roles.items():
        _as(client, jar, csrf)
        for method, path, body in _routes(seed.code):
            kwargs: dict[str, Any] = {"json": body} if body is not None else {"content": b"a,b\n"}
            r = client.request(method, path, **kwargs)
            seen[(role, f"{method} {path}")] = r.status_code
            if role == "admin":
                assert r.status_code < 500 and r.status_code not in (401, 403), (method, path, r.text)
            else:
                assert r.status_code == 401 and r.json()["error"]["code"] == "login_required", (role, method, path)
    assert len(seen) == 6 * len(_routes(seed.code))
    # The admin page itself is public (its sign-in form); the data behind it is not.
    _as(client, {}, None)
    assert client.get("/admin").status_code == 200
    # The presenter's claim is the presenter's alone: no other role's cookie makes one.
    for role, (jar, csrf) in roles.items():
        _as(client, jar, csrf)
        r = client.post(f"/api/meetings/{seed.code}/presenter/claim", json={"token": "x" * 20})
        assert r.status_code in (400, 401), role


def test_admin_can_do_the_hosts_http_work_on_any_meeting(client: TestClient, settings: Settings,
                                                          seed: Seed) -> None:
    admin_login(client, settings)
    assert client.get(f"/api/meetings/{seed.code}/print/join-poster.pdf").status_code in (200, 503)
    r = client.post(f"/api/meetings/{seed.code}/questions/import?filename=q.csv",
                    content="来源,内容,述法人\n12345热线,道路何时修？,马文亮\n".encode())
    assert r.status_code == 200 and r.json()["imported"] == 1
    # …but an admin is not a host: the console's session check and socket still ask for the host login.
    assert client.get(f"/api/meetings/{seed.code}/session").json() == {"host": False}


def test_a_scheme_saved_alone_keeps_the_meetings_public_mode_label(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings)
    code = _new(client)["code"]
    assert _save(client, code, sections=["options"], options={"public_mode": "ticket"}).status_code == 200
    scheme = _save(client, code, sections=["scheme"], scheme="grade").json()["scheme"]
    public = [g for g in scheme["groups"] if g["source"] == "public"]
    assert public and all("未实名" not in g["label"] for g in public)
    scheme = _save(client, code, sections=["options"], options={"public_mode": "open"}).json()["scheme"]
    assert any("未实名" in g["label"] for g in scheme["groups"] if g["source"] == "public")
