"""HTTP endpoints: joining, host login and its rate limit, panel links, QR codes."""

from __future__ import annotations

import io
import time

import pytest
import zxingcpp
from itsdangerous.timed import TimestampSigner
from PIL import Image
from starlette.testclient import TestClient

from conftest import Conn, Seed, login, open_ws
from live.domain.scheme import PANEL_CATEGORIES


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found"
    return str(results[0].text)


def test_join_qr_decodes_to_a_working_join_url(client: TestClient, seed: Seed) -> None:
    r = client.get(f"/qr/join/{seed.code}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    url = decode_qr(r.content)
    assert url == f"http://testserver/j/{seed.code}"
    page = client.get(url.replace("http://testserver", ""))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f"live_dev_{seed.meeting_id}" in page.cookies  # one cookie per meeting
    # The device cookie it set lets the phone connect as audience.
    conn = Conn(open_ws(client, f"/ws/{seed.code}?role=audience"))
    assert conn.welcome["role"] == "audience" and conn.welcome["you"]["can_vote"] is True


def test_panel_qr_links_work_and_need_the_host(client: TestClient, seed: Seed,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # A panel token carries the second it was signed in; the listing and the QR image sign it
    # in two requests, which can fall in two seconds under load. Freeze the signer's clock so
    # the two must agree to the letter.
    now = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now)
    assert client.get(f"/api/meetings/{seed.code}/panel").status_code == 401
    login(client, seed)
    members = client.get(f"/api/meetings/{seed.code}/panel").json()["members"]
    assert len(members) == 9
    assert {m["category"] for m in members} == set(PANEL_CATEGORIES)
    png = client.get(members[0]["qr"]).content
    url = decode_qr(png)
    assert url == members[0]["url"]
    # The token rides in the fragment, which browsers never send: no log keeps it.
    path, token = url.replace("http://testserver", "").split("#t=")
    assert path == f"/p/{seed.code}"
    assert token not in members[0]["qr"]
    assert client.get(path).status_code == 200
    info = client.post("/api/panel/claim", json={"token": token}).json()
    assert info["code"] == seed.code and info["name"] == members[0]["name"]
    assert client.post("/api/panel/claim", json={"token": token + "x"}).json()["error"]["code"] == "bad_token"
    conn = Conn(open_ws(client, f"/ws/{seed.code}?role=panel&member={info['member_id']}"))
    assert conn.welcome["you"]["name"] == members[0]["name"]
    # The QR image needs the host too.
    client.cookies.delete("live_host")
    assert client.get(members[0]["qr"]).status_code == 401


def test_wrong_passwords_slow_down_but_never_wall_out_the_right_one(client: TestClient, seed: Seed) -> None:
    url = f"/api/meetings/{seed.code}/login"
    for _ in range(5):
        r = client.post(url, json={"password": "wrong"})
        assert r.status_code == 401 and r.json()["error"]["message"] == "密码错误"
    assert client.get(f"/api/meetings/{seed.code}/session").json() == {"host": False}
    started = time.monotonic()
    r = client.post(url, json={"password": seed.password})
    # 3 failures are free, then 0.25 s doubling: the 6th attempt waits 1 s, then gets in.
    assert r.status_code == 200 and time.monotonic() - started >= 0.9
    assert client.get(f"/api/meetings/{seed.code}/session").json()["host"] is True


def test_login_validates_its_body(client: TestClient, seed: Seed) -> None:
    url = f"/api/meetings/{seed.code}/login"
    assert client.post(url, content=b"not json").status_code == 415
    assert client.post(url, content=b"not json", headers={"content-type": "application/json"}).status_code == 400
    assert client.post(url, json={"password": 5}).status_code == 400
    assert client.post(url, json=[]).status_code == 400
    assert client.post("/api/meetings/ZZZZZZ/login", json={"password": "x"}).status_code == 404
    login(client, seed)
    assert client.get(f"/api/meetings/{seed.code}/session").json()["host"] is True
    client.post(f"/api/meetings/{seed.code}/logout")
    assert client.get(f"/api/meetings/{seed.code}/session").json()["host"] is False


def test_pages_and_meeting_info(client: TestClient, seed: Seed) -> None:
    for path in ("/", f"/host/{seed.code}", f"/screen/{seed.code}", f"/presenter/{seed.code}", f"/j/{seed.code}"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "script-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/j/NOPE22").status_code == 404
    assert client.get(f"/join?code={seed.code.lower()}", follow_redirects=False).headers["location"] == \
        f"/j/{seed.code}"
    info = client.get(f"/api/meetings/{seed.code.lower()}").json()
    assert info["title"] == "中卫市2024年度党政主要负责人述法评议会"
    assert client.get("/api/meetings/NOPE22").status_code == 404


def test_meeting_code_alphabet_has_no_ambiguous_characters() -> None:
    from live.passwords import CODE_ALPHABET, new_meeting_code

    assert not set("01OIL") & set(CODE_ALPHABET)
    codes = {new_meeting_code() for _ in range(200)}
    assert all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)


def test_host_password_is_argon2(seed: Seed) -> None:
    from sqlmodel import Session

    from live.store.db import make_engine
    from live.store.models import Meeting
    from live.web.auth import verify_password

    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        m = s.get(Meeting, seed.meeting_id)
        assert m is not None
        assert m.host_password_hash.startswith("$argon2")
        assert verify_password(m.host_password_hash, seed.password)
        assert not verify_password(m.host_password_hash, seed.password + "x")
    engine.dispose()


def test_metrics_count_connections_ballots_and_drops(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    h.cmd("meeting.start")
    item = h.state["items"][0]["id"]
    h.cmd("item.open", item_id=item)
    for _ in range(3):
        h.cmd("item.advance", item_id=item)
    phone = Conn(open_ws(client, f"/ws/{seed.code}?role=audience",
                         headers={"cookie": f"live_dev={seed.device_cookie('device-metrics-1')}"}))
    phone.cmd("vote", item_id=item, ballot_id="metrics-ballot-1", choice={"option": "满意"})
    assert client.get("/metrics").status_code == 404  # public unless a scraper token is configured
    seed.settings.metrics_token = "scrape-token-for-tests"
    assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 404
    text = client.get("/metrics", headers={"authorization": "Bearer scrape-token-for-tests"}).text
    assert 'live_connections{role="audience"} 1.0' in text
    assert 'live_connections{role="host"} 1.0' in text
    assert "live_ballots_committed_total 1.0" in text
    assert "live_client_drops_total 0.0" in text
    assert "live_broker_healthy 1.0" in text
