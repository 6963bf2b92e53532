"""WebSocket flows through starlette's TestClient."""

from __future__ import annotations

import orjson
import pytest
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from conftest import Conn, Seed, item_ids, login, open_ws, panel_ws
from live.store.db import make_engine
from live.store.models import Ballot, Event


def host(client: TestClient, seed: Seed) -> Conn:
    login(client, seed)
    return Conn(open_ws(client, f"/ws/{seed.code}?role=host"))


def panel(client: TestClient, seed: Seed, n: int) -> Conn:
    return Conn(open_ws(client, panel_ws(client, seed, n)))


def citizen(client: TestClient, seed: Seed, device: str, since: int | None = None) -> Conn:
    url = f"/ws/{seed.code}?role=audience" + (f"&since={since}" if since is not None else "")
    return Conn(open_ws(client, url, headers={"cookie": f"live_dev={seed.device_cookie(device)}"}))


def to_voting(h: Conn, item_id: int) -> None:
    assert h.cmd("item.open", item_id=item_id)["phase"] == "report"
    for expected in ("inquiry", "comment", "voting"):
        assert h.cmd("item.advance", item_id=item_id)["phase"] == expected


def stored_ballots(seed: Seed, item_id: int) -> list[Ballot]:
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        rows = list(s.exec(select(Ballot).where(Ballot.item_id == item_id)).all())
    engine.dispose()
    return rows


def test_whole_item_flow_tallies_match_store_and_frozen_result(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    assert h.cmd("meeting.start")["type"] == "ack"
    first = item_ids(h)[0]
    to_voting(h, first)
    # Three of each: a group of fewer (the small-group guard, k = 3) would show no split at all.
    voters = [panel(client, seed, 0), panel(client, seed, 1),
              citizen(client, seed, "device-aaaa-1"), citizen(client, seed, "device-bbbb-2"),
              citizen(client, seed, "device-cccc-3"), panel(client, seed, 2)]
    choices = ["满意", "基本满意", "满意", "不满意", "满意", "不满意"]
    for n, (v, choice) in enumerate(zip(voters, choices, strict=True)):
        ack = v.cmd("vote", item_id=first, ballot_id=f"ballot-{n:04d}", choice={"option": choice})
        assert ack["type"] == "ack" and ack["status"] == "stored", ack
    # One citizen changes their mind before 测评 closes: same ballot id, new choice.
    ack = voters[3].cmd("vote", item_id=first, ballot_id="ballot-0003", choice={"option": "基本满意"})
    assert ack["status"] == "replaced"
    tally = h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 6
                     and m["tally"]["groups"]["public"]["options"]["基本满意"] == 1)["tally"]
    assert tally["groups"]["panel"]["options"] == {"满意": 1, "基本满意": 1, "不满意": 1}
    assert tally["groups"]["public"]["options"] == {"满意": 2, "基本满意": 1, "不满意": 0}
    rows = stored_ballots(seed, first)
    assert len(rows) == 6
    stored = sorted((r.voter_group, orjson.loads(r.choice_json)["option"]) for r in rows)
    assert stored == sorted([("panel", "满意"), ("panel", "基本满意"), ("panel", "不满意"), ("public", "满意"),
                             ("public", "基本满意"), ("public", "满意")])
    assert h.cmd("item.advance", item_id=first, **{"from": "voting"})["phase"] == "done"
    done = h.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "done")["item"]
    assert done["digest"] and len(done["digest"]) == 64
    # The frozen result is computed from the stored ballots; it equals the last live tally.
    assert done["result"] == {**tally["result"], "guarded": []}
    assert done["result"]["satisfaction_rate_display"] == "83.33%"
    assert h.state["meeting"]["ranking"][0]["item_id"] == first
    # Voting after the close is refused and stores nothing.
    late = voters[4].cmd("vote", item_id=first, ballot_id="ballot-9999", choice={"option": "满意"})
    assert late["type"] == "error" and late["code"] == "not_voting"
    assert len(stored_ballots(seed, first)) == 6


def test_vote_outside_voting_and_second_ballot_id_are_refused(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    h.cmd("item.open", item_id=first)
    c = citizen(client, seed, "device-dddd-4")
    err = c.cmd("vote", item_id=first, ballot_id="ballot-early-1", choice={"option": "满意"})
    assert err["code"] == "not_voting" and "述法" in err["message"]
    for _ in range(3):
        h.cmd("item.advance", item_id=first)
    assert c.cmd("vote", item_id=first, ballot_id="ballot-real-1", choice={"option": "满意"})["status"] == "stored"
    err = c.cmd("vote", item_id=first, ballot_id="ballot-other-2", choice={"option": "不满意"})
    assert err["code"] == "already_voted" and err["ballot_id"] == "ballot-real-1"
    bad = c.cmd("vote", item_id=first, ballot_id="ballot-real-1", choice={"option": "非常满意"})
    assert bad["code"] == "invalid_ballot"
    rows = stored_ballots(seed, first)
    assert [(r.id, orjson.loads(r.choice_json)) for r in rows] == [("ballot-real-1", {"option": "满意"})]


def test_illegal_host_steps_change_nothing(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    first, second = item_ids(h)[:2]
    assert h.cmd("item.open", item_id=first)["code"] == "illegal_transition"  # meeting not started
    h.cmd("meeting.start")
    h.cmd("item.open", item_id=first)
    seq_before = h.cmd("ping")["seq"]
    assert h.cmd("item.open", item_id=second)["code"] == "illegal_transition"
    assert h.cmd("item.advance", item_id=second)["code"] == "illegal_transition"
    assert h.cmd("item.back", item_id=first)["code"] == "illegal_transition"
    assert h.cmd("item.advance", item_id=first, **{"from": "voting"})["code"] == "stale"
    assert h.cmd("item.advance", item_id=99999)["code"] == "not_found"
    assert h.cmd("ping")["seq"] == seq_before
    to = [h.cmd("item.advance", item_id=first)["phase"] for _ in range(3)]
    assert to == ["inquiry", "comment", "voting"]
    c = citizen(client, seed, "device-eeee-5")
    c.cmd("vote", item_id=first, ballot_id="ballot-back-1", choice={"option": "满意"})
    err = h.cmd("item.back", item_id=first)
    assert err["code"] == "illegal_transition" and "1 张选票" in err["message"]
    h.cmd("item.advance", item_id=first)
    err = h.cmd("item.back", item_id=first)
    assert "冻结" in err["message"]
    assert h.cmd("meeting.end")["type"] == "ack"
    assert h.cmd("meeting.start")["code"] == "illegal_transition"


def test_timer_controls(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    h.cmd("item.open", item_id=first)
    ev = h.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "report")
    assert ev["item"]["timer"]["duration_s"] == 600 and ev["item"]["timer"]["running"]
    paused = h.cmd("item.timer", item_id=first, action="pause")["timer"]
    assert not paused["running"] and 590_000 < paused["remaining_ms"] <= 600_000
    ext = h.cmd("item.timer", item_id=first, action="extend", seconds=60)["timer"]
    assert ext["remaining_ms"] == paused["remaining_ms"] + 60_000
    assert h.cmd("item.timer", item_id=first, action="resume")["timer"]["running"]
    assert h.cmd("item.timer", item_id=first, action="skip")["timer"]["remaining_ms"] == 0
    assert h.cmd("item.timer", item_id=first, action="set", seconds=90)["timer"]["duration_s"] == 90
    assert h.cmd("meeting.durations", durations={"inquiry": 240})["durations"]["inquiry"] == 240
    h.cmd("item.advance", item_id=first)
    assert h.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "inquiry")[
        "item"]["timer"]["duration_s"] == 240


def test_reconnect_with_old_seq_replays_and_resyncs(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    c = citizen(client, seed, "device-ffff-6")
    seq0 = c.seq
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    h.cmd("item.open", item_id=first)
    h.cmd("item.advance", item_id=first)
    back = citizen_raw(client, seed, "device-ffff-6", since=seq0)
    assert back[1]["type"] == "replay" and back[1]["from_seq"] == seq0
    events = back[2:2 + back[1]["count"]]
    assert [e["seq"] for e in events] == list(range(seq0 + 1, h.cmd("ping")["seq"] + 1))
    # A client claiming to be ahead of the server is told to resync and gets a snapshot.
    ahead = citizen_raw(client, seed, "device-ffff-6", since=10_000)
    assert ahead[1]["type"] == "resync" and ahead[2]["type"] == "snapshot"


def citizen_raw(client: TestClient, seed: Seed, device: str, since: int) -> list[dict]:
    ws = client.websocket_connect(f"/ws/{seed.code}?role=audience&since={since}",
                                  headers={"cookie": f"live_dev={seed.device_cookie(device)}"})
    with ws:
        out = [ws.receive_json() for _ in range(3)]
        while out[-1]["type"] not in ("presence",):
            out.append(ws.receive_json())
    return out


def test_snapshot_plus_events_equals_fresh_snapshot(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    watcher = Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))
    h.cmd("meeting.start")
    first, second = item_ids(h)[:2]
    to_voting(h, first)
    h.cmd("item.timer", item_id=first, action="pause")
    h.cmd("item.advance", item_id=first)
    h.cmd("item.open", item_id=second)
    h.cmd("meeting.durations", durations={"report": 300})
    last = h.cmd("ping")["seq"]
    watcher.expect(lambda m: m.get("seq") == last and m["type"] != "ack")
    fresh = Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))
    assert fresh.seq == watcher.seq == last
    assert fresh.state == watcher.state
    # The host console applied the same events too.
    h.expect(lambda m: m.get("seq") == last and m["type"] != "ack")
    assert h.state == fresh.state


def test_event_log_is_dense_and_persisted(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    to_voting(h, first)
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        seqs = list(s.exec(select(Event.seq).where(Event.meeting_id == seed.meeting_id).order_by(Event.seq)).all())
        n = s.exec(select(func.count()).select_from(Event)).one()
    engine.dispose()
    assert seqs == list(range(1, len(seqs) + 1)) and n == len(seqs) == h.cmd("ping")["seq"]


def test_bad_input_gets_clear_errors_and_the_socket_keeps_working(client: TestClient, seed: Seed) -> None:
    c = citizen(client, seed, "device-gggg-7")
    c.ws.send_text("{not json")
    assert c.expect(lambda m: m["type"] == "error")["code"] == "bad_json"
    c.ws.send_text("[1, 2]")
    assert c.expect(lambda m: m["type"] == "error")["code"] == "bad_message"
    err = c.cmd("launch.rockets")
    assert err["code"] == "unknown_type" and err["id"] == f"t-{c.n}"
    c.ws.send_text('{"id": "big", "type": "ping", "pad": "' + "x" * 5000 + '"}')
    big = c.expect(lambda m: m["type"] == "error")
    assert big["code"] == "too_large" and big["id"] == "big"
    err = c.cmd("vote", item_id="one", ballot_id="ballot-x-1", choice={"option": "满意"})
    assert err["code"] == "invalid" and "item_id" in err["message"]
    err = c.cmd("vote", item_id=1, ballot_id="bad id!", choice={"option": "满意"})
    assert err["code"] == "invalid" and "ballot_id" in err["message"]
    err = c.cmd("ping", extra=1)
    assert err["code"] == "invalid"
    # An audience socket sending host commands.
    for cmd in ("meeting.start", "meeting.end"):
        assert c.cmd(cmd)["code"] == "forbidden"
    assert c.cmd("item.advance", item_id=1)["code"] == "forbidden"
    # Still alive, and nothing changed.
    assert c.cmd("ping")["type"] == "ack"
    assert c.state["meeting"]["status"] == "draft"


def test_socket_rate_limit(client: TestClient, seed: Seed) -> None:
    c = citizen(client, seed, "device-hhhh-8")
    for _ in range(60):
        c.send("ping")
    replies = []
    for n in range(1, 61):
        want = f"t-{n}"
        replies.append(c.expect(lambda m, want=want: m["type"] in ("ack", "error") and m.get("id") == want))
    limited = [r for r in replies if r.get("code") == "rate_limited"]
    assert 20 <= len(limited) < 40, len(limited)
    assert "频繁" in limited[0]["message"]


def _rejected(client: TestClient, url: str, **kwargs: object) -> dict:
    with client.websocket_connect(url, **kwargs) as ws:  # type: ignore[arg-type]
        msg = ws.receive_json()
        assert msg["type"] == "error"
        return msg


def test_forged_expired_and_tampered_credentials(client: TestClient, seed: Seed) -> None:
    from itsdangerous import URLSafeTimedSerializer

    code = seed.code
    forged = URLSafeTimedSerializer("not-the-key", salt="live.panel").dumps({"m": seed.meeting_id, "p": 1, "v": 1})
    assert client.post("/api/panel/claim", json={"token": forged}).json()["error"]["code"] == "bad_token"
    tampered = seed.panel_tokens[0][:-3] + ("AAA" if not seed.panel_tokens[0].endswith("AAA") else "BBB")
    assert client.post("/api/panel/claim", json={"token": tampered}).json()["error"]["code"] == "bad_token"
    # The token itself opens no socket: only the session cookie a claim hands out does.
    assert _rejected(client, f"/ws/{code}?role=panel&token={seed.panel_tokens[0]}")["code"] == "bad_token"
    assert _rejected(client, f"/ws/{code}?role=panel&member=1")["code"] == "claim_required"
    forged_session = URLSafeTimedSerializer("not-the-key", salt="live.panel-session").dumps(
        {"m": seed.meeting_id, "p": 1, "v": 1, "d": "x" * 32})
    assert _rejected(client, f"/ws/{code}?role=panel&member=1",
                     headers={"cookie": f"live_panel_1={forged_session}"})["code"] == "bad_token"
    cookie = seed.device_cookie("device-iiii-9")
    bad_cookie = cookie.replace(cookie.split(".")[0], cookie.split(".")[0][:-2] + "xx")
    msg = _rejected(client, f"/ws/{code}?role=audience", headers={"cookie": f"live_dev={bad_cookie}"})
    assert msg["code"] == "bad_token"
    assert _rejected(client, f"/ws/{code}?role=audience")["code"] == "join_required"
    assert _rejected(client, f"/ws/{code}?role=host")["code"] == "login_required"
    assert _rejected(client, f"/ws/{code}?role=admin")["code"] == "bad_role"
    assert _rejected(client, "/ws/NOPE99?role=screen")["code"] == "not_found"
    # Expired: a panel token signed 61 days ago.
    import time
    from unittest import mock

    from live.web.auth import Signer

    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 61 * 86400):
        old = Signer(seed.settings.secret_key).panel_token(seed.meeting_id, 1, 1)
    assert client.post("/api/panel/claim", json={"token": old}).json()["error"]["code"] == "bad_token"
    # Revoked: the host issues a new link; the old one stops working, the new one works,
    # and a tablet still connected with the old link is closed.
    login(client, seed)
    tablet = Conn(open_ws(client, panel_ws(client, seed, 0)))
    r = client.post(f"/api/meetings/{code}/panel/1/revoke")
    assert r.status_code == 200
    assert tablet.expect(lambda m: m["type"] == "error")["code"] == "revoked"
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed:
        tablet.ws.receive_json()
    assert closed.value.code == 4401
    assert _rejected(client, f"/ws/{code}?role=panel&member=1")["code"] == "revoked"
    assert client.post("/api/panel/claim", json={"token": seed.panel_tokens[0]}).status_code == 403
    new_token = r.json()["url"].split("#t=", 1)[1]
    ok = Conn(open_ws(client, panel_ws(client, seed, 0, token=new_token)))
    assert ok.welcome["you"]["name"] == "张立华"
    # The server is still fine.
    assert client.get("/healthz").json()["ok"] is True


# --- the validation layer: hostile frames get documented errors, never ``internal`` -----------


def test_hostile_frames_get_documented_errors_with_their_id(client: TestClient, seed: Seed) -> None:
    from conftest import reply

    ws = open_ws(client, f"/ws/{seed.code}?role=screen")
    cases = [
        ({"id": "r1", "type": ["ping"]}, "r1", "bad_message"),
        ({"id": "r2", "type": None}, "r2", "bad_message"),
        ({"id": "r3", "type": "nope"}, "r3", "unknown_type"),
        ({"id": "r4", "type": "like", "count": True}, "r4", "invalid"),
        ({"id": "r5", "type": "vote", "item_id": 1, "ballot_id": "abcdefgh",
          "choice": {"option": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}}}, "r5", "too_deep"),
        ({"id": "r6", "type": "ping", "extra": 1}, "r6", "invalid"),
        ({"id": "r7", "type": "vote"}, "r7", "invalid"),  # validated before the role check
        ({"id": "r8", "type": "meeting.start"}, "r8", "forbidden"),
    ]
    for frame, mid, code in cases:
        ws.send_text(orjson.dumps(frame).decode())
        got = reply(ws, mid)
        assert got["code"] == code, (frame, got)
    # ~1000 levels: orjson's own limit is 1024, ours is 8.
    ws.send_text('{"id": "deep", "type": "vote", "item_id": 1, "ballot_id": "abcdefgh", "choice": {"option": '
                 + "[" * 1000 + "1" + "]" * 1000 + "}}")
    assert reply(ws, "deep")["code"] == "too_deep"
    # No readable id: the error's id is null.
    for raw in ('{"id": 5, "type": "ping"}', '{"id": "' + "x" * 65 + '", "type": "ping"}', "[1]", "{"):
        ws.send_text(raw)
        got = recv_any_error(ws)
        assert got["id"] is None and got["code"] in ("bad_message", "bad_json"), (raw, got)
    ws.send_bytes(b'{"id": "bin", "type": "ping"}')
    assert reply(ws, "bin")["type"] == "ack"
    ws.send_bytes(b"\xff\xfe")
    assert recv_any_error(ws)["code"] == "bad_json"


def recv_any_error(ws: object) -> dict[str, object]:
    from conftest import recv_until

    return recv_until(ws, lambda m: m.get("type") == "error")  # type: ignore[arg-type]


def test_since_takes_ascii_digits_only(client: TestClient, seed: Seed) -> None:
    from live.web.socket import parse_since

    assert parse_since("12") == 12 and parse_since("0") == 0
    for raw in ("١٢", "-1", "1e3", "", " 12", "9" * 19, None):
        assert parse_since(raw) is None, raw


def test_host_words_are_cleaned_and_comments_close_with_the_item(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    added = h.cmd("words.add", words=["坏\x00词\u202e语"])
    assert added["type"] == "ack" and added["words"] == ["坏词语"], added
    assert h.cmd("words.add", words=["\u202e"])["code"] in ("invalid", "term_too_short")
    h.cmd("comment.mode", mode="show")
    assert h.cmd("meeting.start")["type"] == "ack"
    first = item_ids(h)[0]
    phone = citizen(client, seed, "device-closed-1")
    to_voting(h, first)
    assert phone.cmd("comment.send", text="支持")["type"] == "ack"
    assert h.cmd("item.advance", item_id=first)["phase"] == "done"
    refused = phone.cmd("comment.send", text="还能评论吗")
    assert refused["code"] == "closed" and "评议已结束" in refused["message"], refused
    assert phone.cmd("question.ask", item_id=first, content="还能提问吗")["code"] == "closed"


def test_problem_question_id_must_be_a_real_id(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    first = item_ids(host(client, seed))[0]
    for bad in ([], True, "1", 1.5, 0):
        r = client.post(f"/api/meetings/{seed.code}/items/{first}/problems",
                        json={"description": "制度不健全", "question_id": bad})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid", (bad, r.text)
