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
