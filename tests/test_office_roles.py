"""Who may touch which meeting's 整改: every problem route against every role.

The attack this file exists for: meeting 2's host deleted meeting 1's problems with
HTTP 200. A host password opens one meeting; another meeting's problem is 404 through
the host's own code and 401 through the other meeting's code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from conftest import DEMO, Seed, login, seed_meeting

Call = Callable[[TestClient, str, int], Any]

# (name, how to call it against meeting code, problem id)
PROBLEM_ROUTES: list[tuple[str, Call]] = [
    ("read", lambda c, code, pid: c.get(f"/api/meetings/{code}/problems/{pid}")),
    ("edit", lambda c, code, pid: c.patch(f"/api/meetings/{code}/problems/{pid}", json={"owner": "攻击者"})),
    ("delete", lambda c, code, pid: c.delete(f"/api/meetings/{code}/problems/{pid}")),
    ("status", lambda c, code, pid: c.post(f"/api/meetings/{code}/problems/{pid}/status",
                                           json={"status": "整改中"})),
    ("note", lambda c, code, pid: c.post(f"/api/meetings/{code}/problems/{pid}/notes", json={"text": "篡改"})),
]

LIST_ROUTES = ["/rectification", "/rectification/summary", "/rectification.xlsx"]


@pytest.fixture
def two(client: TestClient, seed: Seed) -> tuple[Seed, Seed, int, int]:
    other = seed_meeting(seed.settings, {**DEMO, "title": "第二场述法评议会"})
    login(client, seed)
    first = client.post(f"/api/meetings/{seed.code}/items/1/problems", json={"description": "第一场的问题"}).json()
    login(client, other)
    items = client.get(f"/api/meetings/{other.code}/rectification").json()
    assert items["problems"] == []
    second = client.post(f"/api/meetings/{other.code}/items/4/problems", json={"description": "第二场的问题"}).json()
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    return seed, other, int(first["id"]), int(second["id"])


def _recorder(client: TestClient, s: Seed) -> dict[str, str]:
    login(client, s)
    token = client.get(f"/api/meetings/{s.code}/recorder").json()["token"]
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("name", "call"), PROBLEM_ROUTES, ids=[n for n, _ in PROBLEM_ROUTES])
def test_meeting_2_host_cannot_touch_meeting_1_problems(client: TestClient, two: tuple[Seed, Seed, int, int],
                                                         name: str, call: Call) -> None:
    first, second, pid1, pid2 = two
    login(client, second)
    # Through its own code: the other meeting's problem does not exist.
    r = call(client, second.code, pid1)
    assert r.status_code == 404, (name, r.status_code, r.text)
    # Through the other meeting's code: not signed in there.
    r = call(client, first.code, pid1)
    assert r.status_code == 401, (name, r.status_code, r.text)
    # Its own problem still works for it.
    assert call(client, second.code, pid2).status_code in (200, 409), name
    # And meeting 1's problem is untouched.
    login(client, first)
    after = client.get(f"/api/meetings/{first.code}/problems/{pid1}").json()
    assert after["description"] == "第一场的问题" and after["owner"] == "" and after["status"] == "pending"
    assert after["notes"] == []


def test_the_recorded_cross_meeting_delete_now_fails(client: TestClient,
                                                    two: tuple[Seed, Seed, int, int]) -> None:
    """The confirmed attack, step by step: meeting 2's host, DELETE meeting 1's problem."""
    first, second, pid1, _ = two
    login(client, second)
    r = client.delete(f"/api/meetings/{second.code}/problems/{pid1}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    login(client, first)
    assert client.get(f"/api/meetings/{first.code}/problems/{pid1}").status_code == 200


@pytest.mark.parametrize(("name", "call"), PROBLEM_ROUTES, ids=[n for n, _ in PROBLEM_ROUTES])
def test_recorder_and_anonymous_matrix(client: TestClient, two: tuple[Seed, Seed, int, int],
                                       name: str, call: Call) -> None:
    first, second, pid1, pid2 = two
    rec2 = _recorder(client, second)
    client.headers.update(rec2)
    assert call(client, second.code, pid1).status_code == 404, name
    assert call(client, first.code, pid1).status_code == 401, name
    own = call(client, second.code, pid2).status_code
    # A recorder reads, edits and deletes its meeting's entries; 整改 steps are the host's.
    assert own == (403 if name in ("status", "note") else 200), (name, own)
    client.headers.pop("authorization")
    assert call(client, first.code, pid1).status_code == 401, name


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_list_views_are_one_meeting_for_every_role(client: TestClient, two: tuple[Seed, Seed, int, int],
                                                   path: str) -> None:
    first, second, _, _ = two
    assert client.get(f"/api/meetings/{first.code}{path}").status_code == 401
    rec = _recorder(client, first)
    assert client.get(f"/api/meetings/{first.code}{path}", headers=rec).status_code == 401
    login(client, second)
    assert client.get(f"/api/meetings/{first.code}{path}").status_code == 401
    assert client.get(f"/api/meetings/{second.code}{path}?scope=all").status_code == 403
    r = client.get(f"/api/meetings/{second.code}{path}")
    assert r.status_code == 200
    if path == "/rectification":
        assert [p["description"] for p in r.json()["problems"]] == ["第二场的问题"]


# --- every 整改 office route × every role ------------------------------------------------------

ROLES = ["anonymous", "host", "other_host", "recorder", "owner", "other_owner", "admin"]


@pytest.fixture
def office(client: TestClient, seed: Seed) -> dict[str, Any]:
    """Meeting 1 with problem P (owner report with one PDF: attachment A) and a second problem Q."""
    from test_attachments import PDF
    from test_owner_routes import as_owner, link_token

    other = seed_meeting(seed.settings, {**DEMO, "title": "第二场述法评议会"})
    login(client, seed)
    p = client.post(f"/api/meetings/{seed.code}/items/1/problems",
                    json={"description": "问题P", "owner": "区司法局", "deadline": "2099-01-01"}).json()["id"]
    q = client.post(f"/api/meetings/{seed.code}/items/2/problems",
                    json={"description": "问题Q", "owner": "区司法局"}).json()["id"]
    p_token, q_token = link_token(client, seed, p), link_token(client, seed, q)
    rec = client.get(f"/api/meetings/{seed.code}/recorder").json()["token"]
    client.cookies.clear()
    as_owner(client, p, p_token)
    r = client.post(f"/api/owner/{p}/report", data={"text": "第一次报送"},
                    files=[("file", ("a.pdf", PDF, "application/pdf"))])
    a = r.json()["attachments"][0]
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    return {"seed": seed, "other": other, "p": p, "q": q, "a": a, "p_token": p_token, "q_token": q_token,
            "rec": rec}


def _become(client: TestClient, role: str, o: dict[str, Any]) -> None:
    from test_owner_routes import as_owner

    from conftest import admin_login

    if role == "host":
        login(client, o["seed"])
    elif role == "other_host":
        login(client, o["other"])
    elif role == "recorder":
        client.headers["authorization"] = f"Bearer {o['rec']}"
    elif role == "owner":
        as_owner(client, o["p"], o["p_token"])
    elif role == "other_owner":
        as_owner(client, o["q"], o["q_token"])
    elif role == "admin":
        admin_login(client, o["seed"].settings)


# (method, path, body kind, roles allowed); {c} meeting 1's code, {p} problem, {a} attachment
OFFICE_ROUTES: list[tuple[str, str, str | None, set[str]]] = [
    ("GET", "/api/meetings/{c}/problems/{p}/owner-link", None, {"host"}),
    ("GET", "/api/meetings/{c}/problems/{p}/attachments/{a}", None, {"host"}),
    ("GET", "/api/meetings/{c}/lookback", None, {"host"}),
    ("GET", "/api/meetings/{c}/items/1/checkup.docx?links=1", None, {"host"}),
    ("GET", "/api/owner/{p}", None, {"owner"}),
    ("GET", "/api/owner/{p}/attachments/{a}", None, {"owner"}),
    ("POST", "/api/owner/{p}/report", "form", {"owner"}),
    ("GET", "/api/admin/rectification", None, {"admin"}),
    ("GET", "/api/admin/problems/{p}", None, {"admin"}),
    ("GET", "/api/admin/problems/{p}/attachments/{a}", None, {"admin"}),
    ("GET", "/api/admin/problems/{p}/owner-link", None, {"admin"}),
    ("GET", "/api/admin/bulletin.xlsx", None, {"admin"}),
    ("GET", "/api/admin/history?person=马文亮", None, {"admin"}),
    ("POST", "/api/admin/problems/{p}/escalate", "json", set()),  # not overdue: refused even for the admin
    ("POST", "/api/meetings/{c}/problems/{p}/owner-link/rotate", "json", {"host"}),
    ("POST", "/api/admin/problems/{p}/status", "json", {"admin"}),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_office_route_against_every_role(client: TestClient, office: dict[str, Any], role: str) -> None:
    _become(client, role, office)
    for method, template, body, allowed in OFFICE_ROUTES:
        path = template.format(c=office["seed"].code, p=office["p"], a=office["a"])
        if method == "GET":
            r = client.get(path)
        elif body == "form":
            r = client.post(path, data={"text": f"{role} 的报送"})
        elif "escalate" in path:
            r = client.post(path, json={"level": "提醒", "note": "x"})
        elif "status" in path:
            r = client.post(path, json={"status": "已整改"})
        else:
            r = client.post(path, json={})
        # An installation admin may use every host-only route of any meeting (docs/security.md, roles).
        admin_as_host = role == "admin" and "host" in allowed and path.startswith("/api/meetings/")
        if role in allowed or admin_as_host:
            assert r.status_code in (200, 201), (role, path, r.status_code, r.text[:200])
        elif role == "admin" and "escalate" in path:
            assert r.status_code == 409, (role, path, r.status_code)
        else:
            # Not signed in for this: 401; a recorder on host-only steps of its own meeting: 403.
            expected = {403} if role == "recorder" and "/problems/" in path and "/api/meetings/" in path else {401}
            assert r.status_code in expected, (role, path, r.status_code, r.text[:200])
