"""Secret meetings keep the choice apart from the voter: in every row, on every page of the
SQLite file and its -wal, in every PostgreSQL table; and panel links bind to one device."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from conftest import DEMO, Conn, Seed, close_sockets, login, open_ws, panel_ws, seed_meeting
from live.config import Settings
from live.store.ballots import BallotJob, store_batch, voted_members
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.seed import create_meeting
from live.store.writer import Writer
from live.web.app import create_app
from live.web.panel_auth import member_pin

SECRET = {**DEMO, "secret": True}
OPTIONS = ["满意", "基本满意", "不满意"]
# How a stored choice looks (its JSON keys); the option names alone also sit in the scheme.
CHOICE_MARKS = [b'"option"', b'"abstain"', b'"scores"']


def _citizen(client: TestClient, seed: Seed, device: str) -> Conn:
    return Conn(open_ws(client, f"/ws/{seed.code}?role=audience",
                        headers={"cookie": f"live_dev={seed.device_cookie(device)}"}))


def _to_voting(host: Conn, item_id: int) -> None:
    assert host.cmd("item.open", item_id=item_id)["phase"] == "report"
    for expected in ("inquiry", "comment", "voting"):
        assert host.cmd("item.advance", item_id=item_id)["phase"] == expected


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def secret_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'secret.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    return Settings(database_url=url, secret_key="test-secret-key", data_dir=tmp_path,
                    sqlite_synchronous="NORMAL", tick_s=0.05)


def _wal(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///") + "-wal")


def test_secret_meeting_leaves_no_voter_beside_a_choice(secret_settings: Settings) -> None:
    settings = secret_settings
    sqlite = settings.database_url.startswith("sqlite")
    seed = seed_meeting(settings, SECRET)
    devices = [f"secret-phone-{n:02d}" for n in range(6)]
    voters: list[str] = [f"d:{d}" for d in devices]
    with TestClient(create_app(settings)) as client:
        login(client, seed)
        host = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
        items = [i["id"] for i in host.state["items"]]
        tablets = [Conn(open_ws(client, panel_ws(client, seed, n))) for n in range(4)]
        members = [t.welcome["you"]["member_id"] for t in tablets]
        voters += [f"p:{m}" for m in members]
        phones = [_citizen(client, seed, d) for d in devices]
        assert host.cmd("meeting.start")["type"] == "ack"
        for item in items[:2]:
            _to_voting(host, item)
            client_ids = []
            for n, voter in enumerate([*tablets, *phones]):
                client_ids.append(f"client-made-{item}-{n:03d}")
                ack = voter.cmd("vote", item_id=item, ballot_id=client_ids[-1], choice={"option": OPTIONS[n % 3]})
                assert ack["type"] == "ack" and ack["secret"] is True, ack
                # The ack echoes the phone's own request id only: no stored id, so no receipt.
                assert ack["ballot_id"] == client_ids[-1]
            # Final once acknowledged: a second vote is refused, and the refusal shows no choice.
            again = tablets[0].cmd("vote", item_id=item, ballot_id=client_ids[0], choice={"option": "不满意"})
            assert again["type"] == "error" and again["code"] == "already_voted"
            assert "不可更改" in again["message"] and "choice" not in again and "ballot_id" not in again
            # While voting is open the host sees who voted (participation), never how.
            look = make_engine(settings.database_url)
            with Session(look) as s:
                assert voted_members(s, item) == sorted(members)
            look.dispose()
            export = client.get(f"/api/meetings/{seed.code}/export/ballots.json").json()
            assert all(not it["ballots"] for it in export["items"] if it["id"] == item)
            links = client.get(f"/api/meetings/{seed.code}/panel").json()
            assert not any("choice" in d or "option" in d for d in _walk(links))
            assert host.cmd("item.advance", item_id=item)["phase"] == "done"
            if sqlite:
                # The -wal was folded into the file and emptied when the 测评 closed.
                assert not _wal(settings).exists() or _wal(settings).stat().st_size == 0
        # A tablet that comes back learns it voted, never what.
        again_tablet = Conn(open_ws(client, panel_ws(client, seed, 0)))
        assert again_tablet.welcome["my_ballots"][str(items[0])] == {"voted": True}
        # Nothing the host's socket received carries a choice next to anyone.
        for msg in host.seen:
            for d in _walk(msg):
                assert "choice" not in d, msg
                assert not ({"member_id", "voter", "voter_key", "device_id"} & set(d) and "option" in d), msg
        assert host.cmd("meeting.end")["type"] == "ack"
        if sqlite:
            assert not _wal(settings).exists() or _wal(settings).stat().st_size == 0
        close_sockets()
    engine = make_engine(settings.database_url)
    identifiers = [v.encode() for v in voters] + [d.encode() for d in devices]
    with Session(engine) as s:
        bound = [r[0] for r in s.connection().execute(text("SELECT bound_device FROM panel_member")) if r[0]]
        ballots = s.connection().execute(text("SELECT id, voter_key, cast_at_ms FROM ballot")).all()
    identifiers += [b.encode() for b in bound]
    assert len(ballots) == 2 * 10
    assert all(b[1] is None and b[2] is None and not b[0].startswith("client-made") for b in ballots)
    # Every row of every table: a row holding a choice holds no voter, device or member identifier.
    rows_with_choice = 0
    for table in inspect(engine).get_table_names():
        with engine.connect() as conn:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                raw = "\x1f".join(str(v) for v in row).encode()
                if any(mark in raw for mark in CHOICE_MARKS):
                    rows_with_choice += 1
                    assert not any(i in raw for i in identifiers), (table, row)
    assert rows_with_choice >= 20
    engine.dispose()
    if sqlite:
        _scan_sqlite_pages(Path(settings.database_url.removeprefix("sqlite:///")), identifiers)


def _scan_sqlite_pages(db: Path, identifiers: list[bytes]) -> None:
    """Raw bytes, page by page, of the database file and its -wal: no page that holds a
    voter key, device id or device hash also holds a choice. Freed pages count too
    (secure_delete zeroes them), so nothing deleted or rewritten lingers."""
    with sqlite3.connect(db) as conn:
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    files = [db, Path(f"{db}-wal")]
    scanned = 0
    for f in files:
        if not f.exists():
            continue
        data = f.read_bytes()
        for start in range(0, len(data), page):
            chunk = data[start:start + page]
            scanned += 1
            if any(i in chunk for i in identifiers):
                assert not any(mark in chunk for mark in CHOICE_MARKS), (f.name, start // page)
    assert scanned > 10
    wal = Path(f"{db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_panel_link_binds_to_the_first_device_until_the_host_releases_it(client: TestClient, seed: Seed) -> None:
    first = Conn(open_ws(client, panel_ws(client, seed, 0)))
    member = first.welcome["you"]["member_id"]
    device_a = client.cookies.get(f"live_panel_{member}")
    assert device_a
    # A second device (no cookies of the first) opens the same, forwarded link: refused in
    # plain words, and its socket gets nothing.
    client.cookies.clear()
    r = client.post("/api/panel/claim", json={"token": seed.panel_tokens[0]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "bound_elsewhere"
    assert r.json()["error"]["message"] == "该评议链接已在另一台设备上使用，请联系主持人解除绑定"
    with client.websocket_connect(f"/ws/{seed.code}?role=panel&member={member}") as ws:
        assert ws.receive_json()["code"] == "claim_required"
    # Only the host may release; then the open tablet is closed and the next device binds.
    assert client.post(f"/api/meetings/{seed.code}/panel/{member}/release").status_code == 401
    login(client, seed)
    r = client.post(f"/api/meetings/{seed.code}/panel/{member}/release")
    assert r.status_code == 200 and r.json()["bound"] is False
    assert first.expect(lambda m: m["type"] == "error")["code"] == "released"
    with pytest.raises(WebSocketDisconnect):
        first.ws.receive_json()
    second = Conn(open_ws(client, panel_ws(client, seed, 0)))
    assert second.welcome["you"]["member_id"] == member
    # The first device's cookie no longer opens the link.
    device_b = client.cookies.get(f"live_panel_{member}")
    client.cookies.set(f"live_panel_{member}", device_a)
    with client.websocket_connect(f"/ws/{seed.code}?role=panel&member={member}") as ws:
        assert ws.receive_json()["code"] == "bound_elsewhere"
    assert device_b and device_b != device_a
    # Everyone's state shows that the link is bound, never to what.
    panel = Conn(open_ws(client, f"/ws/{seed.code}?role=screen")).state["panel"]
    state_member = next(p for p in panel if p["id"] == member)
    assert state_member["bound"] is True and "bound_device" not in state_member


def test_panel_pin_is_asked_for_and_guessing_is_limited(settings: Settings) -> None:
    seed = seed_meeting(settings, {**DEMO, "panel_pin": True})
    with TestClient(create_app(settings)) as client:
        token = seed.panel_tokens[0]
        r = client.post("/api/panel/claim", json={"token": token})
        assert r.status_code == 401 and r.json()["error"]["code"] == "pin_required"
        login(client, seed)
        listed = client.get(f"/api/meetings/{seed.code}/panel").json()["members"][0]
        pin = listed["pin"]
        assert pin == member_pin(settings.secret_key, seed.meeting_id, listed["id"], 1) and len(pin) == 6
        wrong = str((int(pin) + 1) % 10 ** 6).zfill(6)
        for _ in range(5):
            guess = client.post("/api/panel/claim", json={"token": token, "pin": wrong})
            assert guess.json()["error"]["code"] == "bad_pin"
        assert client.post("/api/panel/claim", json={"token": token, "pin": pin}).status_code == 429
        # Another member is not locked out by those guesses, and the right PIN lets it in.
        other = client.get(f"/api/meetings/{seed.code}/panel").json()["members"][1]
        right = client.post("/api/panel/claim", json={"token": seed.panel_tokens[1], "pin": other["pin"]})
        assert right.status_code == 200
        # A new PIN from the host replaces the old one; the printed card shows it.
        changed = client.post(f"/api/meetings/{seed.code}/panel/{other['id']}/pin", json={"on": True}).json()
        assert changed["pin"] != other["pin"]
        cards = client.get(f"/api/meetings/{seed.code}/print/panel-cards.pdf")
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(cards.content)
        page_text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        assert changed["pin"] in page_text.replace(" ", "")
        assert client.post(f"/api/meetings/{seed.code}/panel/{other['id']}/pin", content=b"[1]").status_code == 400
        close_sockets()


def test_panel_host_routes_reach_only_their_own_meeting(settings: Settings) -> None:
    mine = seed_meeting(settings)
    theirs = seed_meeting(settings)
    with TestClient(create_app(settings)) as client:
        login(client, mine)
        theirs_member = Conn(open_ws(client, panel_ws(client, theirs, 0))).welcome["you"]["member_id"]
        for path in ("release", "revoke", "pin"):
            r = client.post(f"/api/meetings/{mine.code}/panel/{theirs_member}/{path}")
            assert r.status_code == 404, path
            assert client.post(f"/api/meetings/{theirs.code}/panel/{theirs_member}/{path}").status_code == 401
        assert client.get(f"/api/meetings/{mine.code}/panel/{theirs_member}/qr.png").status_code == 404
        assert client.post("/api/panel/claim", content=b"nope").status_code == 400
        assert client.post("/api/panel/claim", json={"token": 5}).status_code == 400
        close_sockets()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def _voting_item(engine: Engine) -> tuple[int, int]:
    async def go() -> tuple[int, int]:
        with Session(engine) as s:
            created = create_meeting(s, SECRET, "pw-123456")
            s.commit()
        mid = created.meeting_id
        with Session(engine) as s:
            item = s.connection().execute(text("SELECT id FROM agenda_item WHERE meeting_id = :m ORDER BY position"),
                                          {"m": mid}).first()
        assert item is not None
        w = Writer(engine, lambda *_: None)
        await w.start()
        await w.command(mid, "meeting.start", {})
        await w.command(mid, "item.open", {"item_id": item[0]})
        for _ in range(3):
            await w.command(mid, "item.advance", {"item_id": item[0]})
        await w.stop()
        return mid, int(item[0])

    return asyncio.run(go())


def test_participation_allows_one_ballot_per_voter_in_a_batch_and_across_workers(engine: Engine) -> None:
    mid, item = _voting_item(engine)
    # One batch with the same voter three times: one stored, two refused.
    jobs = [BallotJob(mid, item, f"same-{n:02d}x", "d:twice-voter", "public", {"option": "满意"}) for n in range(3)]
    jobs += [BallotJob(mid, item, f"other-{n:02d}", f"d:voter-{n:03d}", "public", {"option": "不满意"})
             for n in range(30)]
    with Session(engine) as s:
        outcomes, changes = store_batch(s, jobs, 1)
        s.commit()
    assert [o.status for o in outcomes[:3]] == ["stored", "error", "error"]
    assert all(o.ok for o in outcomes[3:]) and len(changes) == 31
    assert {c.ballot_id for c in changes}.isdisjoint(j.ballot_id for j in jobs)  # server-made ids
    # Two workers (two writers, two engines) take the same new voters at once: the UNIQUE
    # key of participation lets exactly one ballot per voter in.
    other = make_engine(str(engine.url.render_as_string(hide_password=False)))

    async def race() -> list[str]:
        writers = [Writer(engine, lambda *_: None), Writer(other, lambda *_: None)]
        for w in writers:
            await w.start()
        try:
            batch = [BallotJob(mid, item, f"race-{n:03d}-{k}", f"d:racer-{n:03d}", "public", {"option": "满意"})
                     for n in range(40) for k in range(2)]
            results = await asyncio.gather(*(writers[n % 2].vote(j) for n, j in enumerate(batch)))
            return [o.status if o.ok else o.code for o in results]
        finally:
            for w in writers:
                await w.stop()

    statuses = asyncio.run(race())
    other.dispose()
    assert statuses.count("stored") == 40
    assert all(s in ("stored", "already_voted") for s in statuses)
    with engine.connect() as conn:
        n_part = conn.execute(text("SELECT COUNT(*) FROM participation WHERE item_id = :i"), {"i": item}).scalar()
        n_ballots = conn.execute(text("SELECT COUNT(*) FROM ballot WHERE item_id = :i"), {"i": item}).scalar()
        # Both tables hold the same number of rows, and the ballot rows hold no voter.
        assert n_part == n_ballots == 31 + 40
        assert conn.execute(text("SELECT COUNT(*) FROM ballot WHERE voter_key IS NOT NULL")).scalar() == 0
        direct = conn.execute(text("SELECT voter_key FROM participation WHERE item_id = :i"), {"i": item}).all()
    assert len({r[0] for r in direct}) == len(direct)


def test_voted_members_lists_who_voted_in_open_and_secret_meetings(engine: Engine) -> None:
    mid, item = _voting_item(engine)  # a secret meeting
    jobs = [BallotJob(mid, item, f"vm-{n:04d}-x", key, "panel", {"option": "满意"})
            for n, key in enumerate(["p:3", "p:1", "d:some-phone-1"])]
    with Session(engine) as s:
        store_batch(s, jobs, 1)
        s.commit()
        assert voted_members(s, item) == [1, 3]
        engine_open = s.connection().execute(text("UPDATE meeting SET secret = :f WHERE id = :m"),
                                             {"f": False, "m": mid})
        s.commit()
        assert engine_open.rowcount == 1
        # Open now: ballots carry their voter, and participation is not consulted.
        store_batch(s, [BallotJob(mid, item, "vm-open-0001", "p:7", "panel", {"option": "满意"})], 2)
        s.commit()
        assert voted_members(s, item) == [7]
        assert voted_members(s, 999_999) == []


def test_void_clears_participation_so_secret_voters_vote_again(engine: Engine) -> None:
    """作废重测 in a secret meeting: the item's participation rows go with its ballots."""
    mid, item = _voting_item(engine)
    jobs = [BallotJob(mid, item, f"void-{n:04d}-x", key, "panel", {"option": "满意"})
            for n, key in enumerate(["p:1", "d:phone-void-1"])]
    with Session(engine) as s:
        store_batch(s, jobs, 1)
        s.commit()

    async def void() -> dict[str, Any]:
        w = Writer(engine, lambda *_: None)
        await w.start()
        try:
            await w.command(mid, "item.advance", {"item_id": item})  # 测评 closes
            reply = await w.command(mid, "item.void", {"item_id": item, "reason": "计票设备故障，重新测评"})
            await w.command(mid, "item.advance", {"item_id": item})  # 测评 opens again
            return reply
        finally:
            await w.stop()

    assert asyncio.run(void())["voided_ballots"] == 2
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM participation WHERE item_id = :i"), {"i": item}).scalar() == 0
    with Session(engine) as s:
        assert voted_members(s, item) == []
        again = [BallotJob(mid, item, "void-again-0001", "p:1", "panel", {"option": "不满意"})]
        outcomes, _ = store_batch(s, again, 2)
        s.commit()
    assert outcomes[0].ok, outcomes
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM participation WHERE item_id = :i"), {"i": item}).scalar() == 1
