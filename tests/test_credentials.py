"""Public voting credentials end to end, through the HTTP and WebSocket layers in process:
stuffing in every mode, the open-mode cap, cookie scope, tickets, roster, release, the
mode lock and the role matrix of every route added."""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from conftest import DEMO, Conn, Seed, close_sockets, item_ids, login, open_ws, panel_ws, seed_meeting
from live.config import Settings
from live.store.db import make_engine
from live.store.models import Ballot, Credential, VoterIdentity
from live.web.app import create_app
from live.web.auth import Signer

TWO_PUBLIC_GROUPS = {
    "kind": "satisfaction",
    "options": [{"key": "满意", "score": "100", "satisfied": True},
                {"key": "基本满意", "score": "80", "satisfied": True},
                {"key": "不满意", "score": "0", "satisfied": False}],
    "groups": [{"key": "panel", "label": "评议团", "source": "panel", "weight": "60"},
               {"key": "cadre", "label": "干部职工", "source": "public", "weight": "25", "categories": ["干部职工"]},
               {"key": "masses", "label": "群众代表", "source": "public", "weight": "15", "categories": ["群众代表"]}],
    "bands": [{"label": "好", "min_score": "90"}, {"label": "一般", "min_score": "60"},
              {"label": "差", "min_score": "0"}],
}


@contextlib.contextmanager
def running(settings: Settings, mode: str) -> Iterator[tuple[TestClient, Seed]]:
    seed = seed_meeting(settings, {**DEMO, "public_mode": mode})
    with TestClient(create_app(settings)) as client:
        try:
            yield client, seed
        finally:
            close_sockets()


@pytest.fixture
def ticket_app(settings: Settings) -> Iterator[tuple[TestClient, Seed]]:
    with running(settings, "ticket") as app:
        yield app


def count(seed: Seed, model: Any, **where: Any) -> int:
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        n = int(s.exec(q).one())
    engine.dispose()
    return n


def host_to_voting(client: TestClient, seed: Seed) -> tuple[Conn, int]:
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    item = item_ids(h)[0]
    assert h.cmd("meeting.start")["type"] == "ack"
    assert h.cmd("item.open", item_id=item)["type"] == "ack"
    for _ in range(3):
        assert h.cmd("item.advance", item_id=item)["type"] == "ack"
    return h, item


def fresh_phone(client: TestClient, seed: Seed) -> dict[str, str]:
    """What a cookie-clearing script does: forget everything, load the join page again."""
    client.cookies.clear()
    r = client.get(f"/j/{seed.code}")
    assert r.status_code == 200
    jar = dict(r.cookies)
    client.cookies.clear()
    return jar


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


def phone_ws(client: TestClient, seed: Seed, jar: dict[str, str]) -> Conn:
    return Conn(open_ws(client, f"/ws/{seed.code}?role=audience", headers=cookie_header(jar)))


def vote(conn: Conn, item: int, n: int) -> dict[str, Any]:
    return conn.cmd("vote", item_id=item, ballot_id=f"b-{n:06d}-{conn.n}", choice={"option": "满意"})


def make_tickets(client: TestClient, seed: Seed, n: int, group: str = "群众代表") -> list[tuple[int, str]]:
    login(client, seed)
    r = client.post(f"/api/meetings/{seed.code}/tickets", json={"count": n, "group": group})
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = zf.namelist()
        assert any(x.endswith(".pdf") for x in names)
        text = zf.read(next(x for x in names if x.endswith(".csv"))).decode("utf-8-sig")
    rows = [line.split(",") for line in text.strip().splitlines()[1:]]
    return [(int(r[0]), r[1]) for r in rows]


def redeem(client: TestClient, seed: Seed, jar: dict[str, str], **body: str) -> Any:
    r = client.post(f"/api/meetings/{seed.code}/redeem", json=body, headers=cookie_header(jar))
    if r.status_code == 200:
        jar.update(dict(r.cookies))
    client.cookies.clear()
    return r


# --- ticket mode -----------------------------------------------------------------------


def test_ticket_mode_stuffing_script_gets_no_ballot_in(ticket_app: tuple[TestClient, Seed]) -> None:
    client, seed = ticket_app
    tickets = make_tickets(client, seed, 5)
    h, item = host_to_voting(client, seed)
    refused = 0
    for n in range(150):  # 150 fresh phones, each clearing its cookies first
        jar = fresh_phone(client, seed)
        phone = phone_ws(client, seed, jar)
        assert phone.welcome["you"]["can_vote"] is False
        assert phone.welcome["you"]["refusal"]["code"] == "credential_required"
        reply = vote(phone, item, n)
        assert reply["type"] == "error" and reply["code"] == "credential_required"
        assert "票码" in reply["message"]
        refused += 1
        phone.ws.close()
    assert refused == 150
    assert count(seed, Ballot, item_id=item) == 0
    # A real ticket holder votes, once.
    jar = fresh_phone(client, seed)
    r = redeem(client, seed, jar, ticket=tickets[0][1].lower())
    assert r.status_code == 200 and r.json()["number"] == tickets[0][0] and r.json()["group"] == "群众代表"
    phone = phone_ws(client, seed, jar)
    assert phone.welcome["you"]["can_vote"] is True and phone.welcome["you"]["credential_id"]
    assert vote(phone, item, 1)["type"] == "ack"
    assert count(seed, Ballot, item_id=item) == 1
    h.ws.close()


def test_ticket_binds_to_its_first_device_and_release_frees_it(ticket_app: tuple[TestClient, Seed]) -> None:
    client, seed = ticket_app
    (number, code), *_ = make_tickets(client, seed, 3)
    first = fresh_phone(client, seed)
    assert redeem(client, seed, first, ticket=code).status_code == 200
    assert redeem(client, seed, first, ticket=code).status_code == 200  # a reload on the same phone
    second = fresh_phone(client, seed)
    r = redeem(client, seed, second, ticket=code)
    assert r.status_code == 409 and r.json()["error"]["code"] == "bound_elsewhere"
    assert "另一台手机" in r.json()["error"]["message"]
    # Copying the first phone's credential cookie onto another device does not help.
    stolen = {**second, **{k: v for k, v in first.items() if k.startswith("live_cred")}}
    assert phone_ws(client, seed, stolen).welcome["you"]["can_vote"] is False

    login(client, seed)
    listing = client.get(f"/api/meetings/{seed.code}/credentials?kind=ticket").json()
    cid = next(c["id"] for c in listing["credentials"] if c["number"] == number)
    assert listing["bound"] == 1
    old = phone_ws(client, seed, first)
    assert old.welcome["you"]["can_vote"] is True
    login(client, seed)
    r = client.post(f"/api/meetings/{seed.code}/credentials/{cid}/release")
    assert r.status_code == 200 and r.json()["bound"] is False
    # The old phone is told at once and cut off; its cookie no longer votes.
    assert old.expect(lambda m: m.get("code") == "released")
    assert phone_ws(client, seed, first).welcome["you"]["can_vote"] is False
    assert redeem(client, seed, second, ticket=code).status_code == 200
    assert phone_ws(client, seed, second).welcome["you"]["can_vote"] is True


def test_release_is_a_writer_command() -> None:
    from live.store.writer import COMMANDS

    assert {"credential.release", "credential.redeem", "tickets.create", "roster.import",
            "meeting.public_mode"} <= set(COMMANDS)


def test_wrong_guesses_engage_the_limiter(ticket_app: tuple[TestClient, Seed]) -> None:
    client, seed = ticket_app
    make_tickets(client, seed, 2)
    jar = fresh_phone(client, seed)
    codes = []
    for n in range(12):
        r = redeem(client, seed, jar, ticket=f"{n:011d}0")  # well-formed or not, all wrong
        codes.append(r.status_code)
    assert 429 not in codes[:10] and codes[10:] == [429, 429]  # ten free failures per address
    r = redeem(client, seed, jar, ticket="0000000000000")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "秒后再试" in r.json()["error"]["message"]


def test_redeem_refuses_bad_input_clearly(ticket_app: tuple[TestClient, Seed]) -> None:
    client, seed = ticket_app
    jar = fresh_phone(client, seed)
    for body in ({}, {"ticket": 5}, {"ticket": "x" * 500}, {"other": "x"}):
        r = client.post(f"/api/meetings/{seed.code}/redeem", json=body, headers=cookie_header(jar))
        assert r.status_code == 400 and r.json()["error"]["message"]
    r = client.post(f"/api/meetings/{seed.code}/redeem", content=b"[1",
                    headers={**cookie_header(jar), "Content-Type": "application/json"})
    assert r.status_code == 400
    client.cookies.clear()
    r = client.post(f"/api/meetings/{seed.code}/redeem", json={"ticket": "K7QM-3XP9-TR2W"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "join_required"
    assert client.post("/api/meetings/ZZZZZZ/redeem", json={"ticket": "x"}).status_code == 404


# --- open mode -------------------------------------------------------------------------


def test_open_mode_caps_new_identities_per_network(settings: Settings) -> None:
    settings.open_ids_per_ip = 5
    with running(settings, "open") as (client, seed):
        h, item = host_to_voting(client, seed)
        accepted = refused = 0
        for n in range(8):
            phone = phone_ws(client, seed, fresh_phone(client, seed))
            reply = vote(phone, item, n)
            if reply["type"] == "ack":
                accepted += 1
            else:
                assert reply["code"] == "identity_cap" and phone.welcome["you"]["can_vote"] is False
                refused += 1
            phone.ws.close()
        assert (accepted, refused) == (5, 3)
        assert count(seed, Ballot, item_id=item) == 5
        assert count(seed, VoterIdentity, meeting_id=seed.meeting_id) == 5
        engine = make_engine(settings.database_url)
        with Session(engine) as s:
            prefixes = {v.ip_prefix for v in s.exec(select(VoterIdentity)).all()}
        engine.dispose()
        assert prefixes == {"?"}  # the test client has no address; a real one keeps only its /24 or /48
        login(client, seed)
        figures = client.get(f"/api/meetings/{seed.code}/public/anomalies").json()
        assert figures["identities"] == 5 and figures["cap_per_prefix"] == 5
        assert figures["ballots_by_prefix"] == [{"prefix": "?", "count": 5}]
        assert sum(m["count"] for m in figures["identities_per_minute"]) == 5
        h.ws.close()


def test_ip_prefixes_keep_no_full_address() -> None:
    from live.store.credentials import ip_prefix

    assert ip_prefix("203.0.113.77") == "203.0.113.0/24"
    assert ip_prefix("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert ip_prefix("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert ip_prefix("testclient") == "?"


def test_cookie_of_another_meeting_is_refused(settings: Settings) -> None:
    b = seed_meeting(settings, {**DEMO, "title": "另一场会议"})
    with running(settings, "open") as (client, a):
        jar = fresh_phone(client, a)
        value = jar[f"live_dev_{a.meeting_id}"]
        for name in (f"live_dev_{b.meeting_id}", "live_dev"):
            ws = open_ws(client, f"/ws/{b.code}?role=audience", headers={"cookie": f"{name}={value}"})
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["code"] == "wrong_meeting"
        # A forged payload is refused by its signature.
        forged = Signer("not-the-key").device_cookie(b.meeting_id, "forged-device-1")[1]
        ws = open_ws(client, f"/ws/{b.code}?role=audience", headers={"cookie": f"live_dev_{b.meeting_id}={forged}"})
        assert ws.receive_json()["code"] == "bad_token"


def test_cookie_of_an_ended_meeting_no_longer_votes(settings: Settings) -> None:
    with running(settings, "open") as (client, seed):
        login(client, seed)
        h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
        item = item_ids(h)[0]
        jar = fresh_phone(client, seed)
        assert h.cmd("meeting.start")["type"] == "ack"
        assert h.cmd("meeting.end")["type"] == "ack"
        phone = phone_ws(client, seed, jar)
        assert phone.welcome["you"]["can_vote"] is False
        reply = vote(phone, item, 1)
        assert reply["type"] == "error" and reply["code"] == "meeting_ended"
        assert count(seed, Ballot) == 0


def test_device_cookie_lives_a_day_not_a_year(settings: Settings) -> None:
    with running(settings, "open") as (client, seed):
        r = client.get(f"/j/{seed.code}")
        header = r.headers["set-cookie"]
        assert f"live_dev_{seed.meeting_id}=" in header and "Max-Age=86400" in header and "HttpOnly" in header


def test_open_group_is_labelled_unverified(settings: Settings) -> None:
    with running(settings, "open") as (client, seed):
        login(client, seed)
        h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
        meeting = h.state["meeting"]
        assert meeting["public_mode"] == "open" and meeting["public_mode_label"] == "开放投票（未实名）"
        assert [g["label"] for g in meeting["scheme"]["groups"]] == ["评议团", "开放投票（未实名）"]
        assert h.cmd("meeting.public_mode", mode="ticket")["public_mode"] == "ticket"
        ev = h.expect(lambda m: m.get("type") == "meeting.updated" and m.get("cause") == "public_mode")
        assert [g["label"] for g in ev["meeting"]["scheme"]["groups"]] == ["评议团", "群众"]
        assert ev["meeting"]["public_mode_label"] == "票码投票"
        assert h.cmd("meeting.public_mode", mode="open")["type"] == "ack"
        export = client.get(f"/api/meetings/{seed.code}/export/ballots.json").json()
        assert "开放投票（未实名）" in str(export["scheme"])


def test_mode_is_locked_once_voting_begins(settings: Settings) -> None:
    with running(settings, "open") as (client, seed):
        h, _item = host_to_voting(client, seed)
        reply = h.cmd("meeting.public_mode", mode="ticket")
        assert reply["type"] == "error" and reply["code"] == "mode_locked"
        assert h.cmd("meeting.public_mode", mode="bogus")["code"] == "invalid"
        assert h.cmd("meeting.public_mode", mode="open")["type"] == "ack"  # no change is fine


def test_switching_mode_stops_identities_of_the_old_mode(settings: Settings) -> None:
    with running(settings, "open") as (client, seed):
        login(client, seed)
        h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
        phone = phone_ws(client, seed, fresh_phone(client, seed))
        assert h.cmd("meeting.public_mode", mode="ticket")["type"] == "ack"
        item = item_ids(h)[0]
        assert h.cmd("meeting.start")["type"] == "ack"
        assert h.cmd("item.open", item_id=item)["type"] == "ack"
        for _ in range(3):
            h.cmd("item.advance", item_id=item)
        assert vote(phone, item, 1)["code"] == "mode_changed"
        assert count(seed, Ballot) == 0


# --- roster mode -----------------------------------------------------------------------


ROSTER_CSV = ("姓名,单位,群体,手机/工号\n张三,市司法局,干部职工,13800000001\n"
              "李四,某社区,群众代表,13800000002\n王五,,外宾,3\n")


def test_roster_import_links_stuffing_and_a_recount(settings: Settings, tmp_path: Any) -> None:
    with running(settings, "roster") as (client, seed):
        login(client, seed)
        h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
        assert h.cmd("meeting.scheme", scheme=TWO_PUBLIC_GROUPS)["type"] == "ack"
        r = client.post(f"/api/meetings/{seed.code}/roster/import?filename=roster.csv",
                        content=ROSTER_CSV.encode("gbk"))
        assert r.status_code == 200, r.text
        assert r.json()["imported"] == 2 and [e["row"] for e in r.json()["errors"]] == [4]
        listing = client.get(f"/api/meetings/{seed.code}/credentials?kind=roster").json()["credentials"]
        assert [(c["name"], c["group"]) for c in listing] == [("张三", "干部职工"), ("李四", "群众代表")]
        pdf = client.get(f"/api/meetings/{seed.code}/print/roster-cards.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        csv_text = client.get(f"/api/meetings/{seed.code}/export/roster.csv").content.decode("utf-8-sig")
        assert "张三" in csv_text and "#r=" in csv_text
        item = item_ids(h)[0]
        h.cmd("meeting.start")
        h.cmd("item.open", item_id=item)
        for _ in range(3):
            h.cmd("item.advance", item_id=item)
        # No link, no vote: 50 fresh phones.
        for n in range(50):
            phone = phone_ws(client, seed, fresh_phone(client, seed))
            reply = vote(phone, item, n)
            assert reply["code"] == "credential_required" and "个人链接" in reply["message"]
            phone.ws.close()
        for n, entry in enumerate(listing):
            token = entry["url"].split("#r=", 1)[1]
            jar = fresh_phone(client, seed)
            got = redeem(client, seed, jar, roster=token)
            assert got.status_code == 200 and got.json()["name"] == entry["name"]
            other = fresh_phone(client, seed)
            assert redeem(client, seed, other, roster=token).status_code == 409
            phone = phone_ws(client, seed, jar)
            assert phone.welcome["you"]["category"] == entry["group"]
            assert vote(phone, item, 100 + n)["type"] == "ack"
        assert count(seed, Ballot, item_id=item) == 2
        bad = redeem(client, seed, fresh_phone(client, seed), roster="forged.token.x")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_token"
        login(client, seed)
        h.cmd("item.advance", item_id=item)
        export = client.get(f"/api/meetings/{seed.code}/export/ballots.json")
        path = tmp_path / "ballots.json"
        path.write_bytes(export.content)
        from live.reports.verify import verify_file

        report = verify_file(path)
        assert report.ok
        groups = {g["key"]: g["ballots"] for g in export.json()["items"][0]["result"]["groups"]}
        assert groups["cadre"] == 1 and groups["masses"] == 1


def test_tickets_need_a_group_of_the_scheme(settings: Settings) -> None:
    with running(settings, "ticket") as (client, seed):
        login(client, seed)
        h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
        assert h.cmd("meeting.scheme", scheme=TWO_PUBLIC_GROUPS)["type"] == "ack"
        r = client.post(f"/api/meetings/{seed.code}/tickets", json={"count": 2, "group": "外宾"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_group"
        for body in ({"count": 0, "group": "干部职工"}, {"count": "3", "group": "干部职工"}, {"count": 2}):
            assert client.post(f"/api/meetings/{seed.code}/tickets", json=body).status_code == 400
        assert [n for n, _ in make_tickets(client, seed, 2, "干部职工")] == [1, 2]
        assert [n for n, _ in make_tickets(client, seed, 2, "群众代表")] == [3, 4]
        engine = make_engine(settings.database_url)
        with Session(engine) as s:
            rows = s.exec(select(Credential)).all()
        engine.dispose()
        assert [(c.batch, c.voter_group) for c in rows] == [(1, "干部职工")] * 2 + [(2, "群众代表")] * 2
        assert all(c.code_hash and len(c.code_hash) == 64 for c in rows)


# --- who may call what -----------------------------------------------------------------


HOST_ROUTES = [
    ("post", "/tickets", {"json": {"count": 1, "group": "群众代表"}}),
    ("get", "/credentials?kind=ticket", {}),
    ("post", "/credentials/{cid}/release", {}),
    ("post", "/roster/import?filename=r.csv", {"content": ROSTER_CSV.encode()}),
    ("get", "/print/roster-cards.pdf", {}),
    ("get", "/export/roster.csv", {}),
    ("get", "/public/anomalies", {}),
]


def test_role_matrix_of_the_credential_routes(settings: Settings) -> None:
    b = seed_meeting(settings, {**DEMO, "title": "另一场会议", "public_mode": "ticket"})
    with running(settings, "ticket") as (client, a):
        make_tickets(client, b, 1)
        login(client, b)
        cid_b = client.get(f"/api/meetings/{b.code}/credentials?kind=ticket").json()["credentials"][0]["id"]
        host_b = dict(client.cookies)
        client.cookies.clear()
        phone = fresh_phone(client, a)
        panel_jar = {}  # a panel tablet carries only its token in the URL, no host cookie
        for method, path, kw in HOST_ROUTES:
            url = f"/api/meetings/{a.code}{path.format(cid=cid_b)}"
            for jar in (phone, panel_jar, host_b):
                client.cookies.clear()
                r = getattr(client, method)(url, headers=cookie_header(jar) if jar else None, **kw)
                assert r.status_code == 401, (method, path, jar.keys(), r.status_code)
        # A's host cannot release B's ticket through A's routes.
        client.cookies.clear()
        login(client, a)
        r = client.post(f"/api/meetings/{a.code}/credentials/{cid_b}/release")
        assert r.status_code == 404
        # The phone and panel cannot set the mode over their sockets.
        client.cookies.clear()
        conn = phone_ws(client, a, phone)
        assert conn.cmd("meeting.public_mode", mode="open")["code"] == "forbidden"
        p = Conn(open_ws(client, panel_ws(client, a, 0)))
        assert p.cmd("meeting.public_mode", mode="open")["code"] == "forbidden"


def test_open_cap_anomalies_and_tickets_on_postgresql(pg_url: str, tmp_path: Any) -> None:
    settings = Settings(database_url=pg_url, secret_key="test-secret-key", data_dir=tmp_path, tick_s=0.05,
                        open_ids_per_ip=3)
    with running(settings, "open") as (client, seed):
        h, item = host_to_voting(client, seed)
        replies = [vote(phone_ws(client, seed, fresh_phone(client, seed)), item, n)["type"] for n in range(4)]
        assert replies == ["ack", "ack", "ack", "error"]
        login(client, seed)
        figures = client.get(f"/api/meetings/{seed.code}/public/anomalies").json()
        assert figures["ballots_by_prefix"] == [{"prefix": "?", "count": 3}] and figures["busiest_minute"] >= 1
        h.ws.close()
    with running(settings, "ticket") as (client, seed):
        (_, code), *_ = make_tickets(client, seed, 2)
        first, second = fresh_phone(client, seed), fresh_phone(client, seed)
        assert redeem(client, seed, first, ticket=code).status_code == 200
        assert redeem(client, seed, second, ticket=code).status_code == 409
        login(client, seed)
        cid = client.get(f"/api/meetings/{seed.code}/credentials?kind=ticket").json()["credentials"][0]["id"]
        assert client.post(f"/api/meetings/{seed.code}/credentials/{cid}/release").status_code == 200
        assert redeem(client, seed, second, ticket=code).status_code == 200
