"""Installation administrators: ``live admin create|reset``, the /admin sign-in, its
session (CSRF, Origin, idle timeout, sign-out that holds) and the login limiter."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from conftest import Seed, admin_login, login, make_admin
from live.cli import main
from live.config import Settings
from live.store.admins import AdminError, authenticate, create_admin, reset_admin
from live.store.db import make_engine
from live.web.app import create_app


def test_create_prints_a_one_time_password_that_signs_in(settings: Settings, seed: Seed,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["admin", "create", "司法局张三", "--database-url", settings.database_url]) == 0
    out = capsys.readouterr().out
    password = out.split("密码")[1].split()[0]
    assert "仅显示这一次" in out and len(password.replace("-", "")) == 16
    engine = make_engine(settings.database_url)
    try:
        assert authenticate(engine, "司法局张三", password) is not None
        assert authenticate(engine, "司法局张三", password + "x") is None
        assert authenticate(engine, "nobody", password) is None
        from sqlmodel import Session, select

        from live.store.models import AdminUser

        with Session(engine) as s:
            row = s.exec(select(AdminUser)).one()
            assert password not in row.password_hash and row.password_hash.startswith("$argon2")
    finally:
        engine.dispose()
    # The same name twice is refused; a bad name too.
    assert main(["admin", "create", "司法局张三", "--database-url", settings.database_url]) == 2
    assert main(["admin", "create", "a b<c>", "--database-url", settings.database_url]) == 2
    assert "已存在" in capsys.readouterr().err


def test_reset_gives_a_new_password_and_ends_open_sessions(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings, "ops")
    assert client.get("/api/admin/session").json()["admin"] is True
    engine = make_engine(settings.database_url)
    try:
        new = reset_admin(engine, "ops")
        with pytest.raises(AdminError):
            reset_admin(engine, "nobody")
    finally:
        engine.dispose()
    assert client.get("/api/admin/session").json() == {"admin": False}
    r = client.post("/api/admin/login", json={"name": "ops", "password": new})
    assert r.status_code == 200


def test_sign_in_page_and_session(client: TestClient, settings: Settings) -> None:
    page = client.get("/admin")
    assert page.status_code == 200 and "组织单位" in page.text
    assert client.get("/api/admin/session").json() == {"admin": False}
    password = make_admin(settings, "ops")
    r = client.post("/api/admin/login", json={"name": "ops", "password": "wrong-pass"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_password"
    r = client.post("/api/admin/login", json={"name": "ops", "password": password})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("live_admin=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert password not in cookie
    info = client.get("/api/admin/session").json()
    assert info["admin"] is True and info["name"] == "ops" and info["csrf"] == r.json()["csrf"]


def test_bad_bodies_are_4xx(client: TestClient) -> None:
    assert client.post("/api/admin/login", content=b"name=x", headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/api/admin/login", json={"name": "", "password": "x"}).status_code == 400
    assert client.post("/api/admin/login", json={"name": "x" * 41, "password": "x"}).status_code == 400
    assert client.post("/api/admin/login", json=[1]).status_code == 400


def test_changes_need_the_csrf_token_and_our_origin(client: TestClient, settings: Settings) -> None:
    token = admin_login(client, settings)
    del client.headers["X-CSRF-Token"]
    r = client.post("/api/admin/logout")
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    assert client.get("/api/admin/session").json()["admin"] is True  # not signed out
    r = client.post("/api/admin/logout", headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_origin"
    r = client.post("/api/admin/login", json={"name": "admin", "password": "x"},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_sign_out_ends_the_session_on_the_server(client: TestClient, settings: Settings) -> None:
    admin_login(client, settings)
    kept = client.cookies.get("live_admin")
    assert kept
    assert client.post("/api/admin/logout").status_code == 200
    assert client.get("/api/admin/session").json() == {"admin": False}
    client.cookies.set("live_admin", kept)  # a copy kept by whoever had the cookie
    assert client.get("/api/admin/session").json() == {"admin": False}
    r = client.get("/api/admin/meetings")
    assert r.status_code == 401 and r.json()["error"]["code"] == "login_required"


def test_a_forged_or_host_cookie_is_not_an_admin(client: TestClient, settings: Settings, seed: Seed) -> None:
    client.cookies.set("live_admin", "forged.value.here")
    assert client.get("/api/admin/meetings").status_code == 401
    client.cookies.clear()
    login(client, seed)  # the host of a meeting is no administrator
    client.cookies.set("live_admin", client.cookies.get("live_host") or "")
    assert client.get("/api/admin/meetings").status_code == 401


def test_idle_timeout(settings: Settings, seed: Seed) -> None:
    settings.session_idle_s = 1
    with TestClient(create_app(settings)) as c:
        admin_login(c, settings)
        assert c.get("/api/admin/meetings").status_code == 200
        time.sleep(1.3)
        r = c.get("/api/admin/meetings")
        assert r.status_code == 401 and "未操作" in r.json()["error"]["message"]


def test_wrong_passwords_slow_the_next_attempts(client: TestClient, settings: Settings) -> None:
    password = make_admin(settings, "ops")
    svc = client.app.state.services  # type: ignore[attr-defined]
    for _ in range(4):
        assert client.post("/api/admin/login", json={"name": "ops", "password": "nope"}).status_code == 401
    assert svc.login_throttle.delay(["m:admin:ops"]) > 0
    started = time.monotonic()
    assert client.post("/api/admin/login", json={"name": "ops", "password": password}).status_code == 200
    assert time.monotonic() - started >= svc.login_throttle.base * 0.9  # it waited, and still got in


def test_store_refuses_duplicates(settings: Settings, seed: Seed) -> None:
    engine = make_engine(settings.database_url)
    try:
        create_admin(engine, "a1")
        with pytest.raises(AdminError):
            create_admin(engine, "a1")
        with pytest.raises(AdminError):
            create_admin(engine, "")
    finally:
        engine.dispose()
