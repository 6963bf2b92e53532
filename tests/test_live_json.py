"""live.json: the public state for watchers behind a CDN. Same content as a screen socket
gets, cache headers, ETag and 304, built once per change, visibility and the small-group
guard respected, nothing secret."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from conftest import Conn, Seed, item_ids, login, open_ws, panel_ws
from live.config import Settings
from live.realtime.live_doc import MAX_AGE_S, S_MAXAGE_S, STALE_WHILE_REVALIDATE_S, WORST_STALENESS_S


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'test.db'}", secret_key="test-secret-key",
                    data_dir=tmp_path, sqlite_synchronous="NORMAL", tick_s=0.05,
                    tally_interval_s=0.3, tally_min_ballots=5, tally_catchup_s=1.0)


def _url(seed: Seed) -> str:
    return f"/api/meetings/{seed.code}/live.json"


def _get(client: TestClient, seed: Seed, **headers: str) -> httpx.Response:
    return client.get(_url(seed), headers=headers)


def _doc(client: TestClient, seed: Seed) -> dict[str, Any]:
    r = _get(client, seed)
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = orjson.loads(r.content)
    return doc


def _host(client: TestClient, seed: Seed) -> Conn:
    login(client, seed)
    return Conn(open_ws(client, f"/ws/{seed.code}?role=host"))


def _phone(client: TestClient, seed: Seed, n: int) -> Conn:
    cookie = seed.device_cookie(f"device-lj-{n:04d}")
    return Conn(open_ws(client, f"/ws/{seed.code}?role=audience", headers={"cookie": f"live_dev={cookie}"}))


def _to_voting(h: Conn) -> int:
    first = item_ids(h)[0]
    assert h.cmd("meeting.start")["type"] == "ack"
    assert h.cmd("item.open", item_id=first)["phase"] == "report"
    for _ in ("inquiry", "comment", "voting"):
        assert h.cmd("item.advance", item_id=first)["type"] == "ack"
    return first


def _vote(conn: Conn, item: int, n: int, option: str) -> None:
    ack = conn.cmd("vote", item_id=item, ballot_id=f"lj-ballot-{n:04d}", choice={"option": option})
    assert ack["type"] == "ack", ack


def _tallies(doc: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {t["item_id"]: t["tally"] for t in doc["tallies"]}


def _wait_doc(client: TestClient, seed: Seed, pred: Any, limit: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        doc = _doc(client, seed)
        if pred(doc):
            return doc
        assert time.monotonic() < deadline, f"live.json never matched: {doc['seq']} {doc['tallies']}"
        time.sleep(0.05)


def test_same_public_state_as_a_screen_socket(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    h.cmd("meeting.start")
    screen = Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))
    doc = _wait_doc(client, seed, lambda d: d["seq"] == screen.seq)
    assert doc["type"] == "live" and doc["snapshot"]["type"] == "snapshot"
    assert doc["snapshot"]["seq"] == doc["seq"] == screen.seq
    assert doc["snapshot"]["state"] == screen.state
    assert doc["likes"] == 0 and doc["tallies"] == []
    assert doc["max_staleness_s"] == WORST_STALENESS_S
    assert abs(doc["generated_ms"] - time.time() * 1000) < 60_000


def test_cache_headers_etag_and_304(client: TestClient, seed: Seed) -> None:
    r = _get(client, seed, **{"accept-encoding": "identity"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    cc = r.headers["cache-control"]
    assert "public" in cc and f"max-age={MAX_AGE_S}" in cc and f"s-maxage={S_MAXAGE_S}" in cc
    assert f"stale-while-revalidate={STALE_WHILE_REVALIDATE_S}" in cc
    assert r.headers["vary"] == "Accept-Encoding" and "set-cookie" not in r.headers
    etag = r.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    for tag in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        again = _get(client, seed, **{"accept-encoding": "identity", "if-none-match": tag})
        assert again.status_code == 304 and again.content == b"", tag
        assert again.headers["etag"] == etag and again.headers["cache-control"] == cc
    assert _get(client, seed, **{"if-none-match": '"0-stale"'}).status_code == 200
    # gzip: another representation, another tag; the same document inside.
    z = client.get(_url(seed), headers={"accept-encoding": "gzip"})
    assert z.headers["content-encoding"] == "gzip" and z.headers["etag"] != etag
    raw = client.send(client.build_request("GET", _url(seed), headers={"accept-encoding": "gzip"}), stream=True)
    assert gzip.decompress(b"".join(raw.iter_raw())) == r.content
    raw.close()
    assert _get(client, seed, **{"if-none-match": z.headers["etag"]}).status_code == 304
    # A change makes a new document, a new tag, and the old tag no longer matches.
    h = _host(client, seed)
    h.cmd("meeting.start")
    newer = _wait_doc(client, seed, lambda d: d["seq"] == h.seq)
    r2 = _get(client, seed, **{"accept-encoding": "identity", "if-none-match": etag})
    assert r2.status_code == 200 and r2.headers["etag"] != etag and orjson.loads(r2.content)["seq"] == newer["seq"]
    assert r2.headers["x-live-seq"] == str(newer["seq"])
    assert client.head(_url(seed)).status_code == 200


def test_built_once_per_change_not_per_request(client: TestClient, seed: Seed) -> None:
    docs = client.app.state.services.live_docs  # type: ignore[attr-defined]
    _doc(client, seed)
    built = docs.builds
    for _ in range(25):
        _get(client, seed)
    assert docs.builds == built
    h = _host(client, seed)
    h.cmd("meeting.start")
    _wait_doc(client, seed, lambda d: d["seq"] == h.seq)
    after = docs.builds
    assert after > built
    for _ in range(10):
        _get(client, seed)
    assert docs.builds == after


def test_unknown_meeting_is_404(client: TestClient) -> None:
    for code in ("ZZZZZZ", "bad%20code", "x" * 40):
        r = client.get(f"/api/meetings/{code}/live.json")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_live_mode_guards_a_small_group_and_hides_nothing_more(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    item = _to_voting(h)
    _vote(Conn(open_ws(client, panel_ws(client, seed, 0))), item, 0, "不满意")
    _vote(Conn(open_ws(client, panel_ws(client, seed, 1))), item, 1, "满意")
    for n in range(5):
        _vote(_phone(client, seed, n), item, 10 + n, "满意" if n % 2 else "基本满意")
    doc = _wait_doc(client, seed, lambda d: _tallies(d).get(item, {}).get("total") == 7)
    t = _tallies(doc)[item]
    assert t["view"] == "live" and t["result"] is None and t["guarded"] == ["panel"]
    assert set(t["groups"]["panel"]) == {"label", "count", "guarded"}
    assert t["groups"]["public"]["options"] == {"满意": 2, "基本满意": 3, "不满意": 0}
    assert h.cmd("item.advance", item_id=item, **{"from": "voting"})["phase"] == "done"
    done = _wait_doc(client, seed, lambda d: _tallies(d).get(item, {}).get("view") == "final")
    final = _tallies(done)[item]
    assert final["guarded"] == ["panel"] and "options" not in final["groups"]["panel"]
    assert all("mean" not in g and "options" not in g for g in final["result"]["groups"])


def test_counts_mode_gives_counts_only(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    assert h.cmd("meeting.visibility", mode="counts")["type"] == "ack"
    item = _to_voting(h)
    for n in range(6):
        _vote(_phone(client, seed, n), item, 10 + n, "不满意")
    doc = _wait_doc(client, seed, lambda d: _tallies(d).get(item, {}).get("total") == 6)
    t = _tallies(doc)[item]
    assert t["view"] == "counts" and t["result"] is None
    assert all(set(g) == {"label", "count"} for g in t["groups"].values())
    assert b"\\u4e0d\\u6ee1\\u610f" not in orjson.dumps(t) and "不满意" not in orjson.dumps(t).decode()


def test_hidden_mode_shows_nothing_until_revealed(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    assert h.cmd("meeting.visibility", mode="hidden")["type"] == "ack"
    item = _to_voting(h)
    for n in range(6):
        _vote(_phone(client, seed, n), item, 10 + n, "满意")
    h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 6)  # the host's own view
    time.sleep(0.5)
    assert _tallies(_doc(client, seed)) == {}
    assert h.cmd("item.advance", item_id=item, **{"from": "voting"})["phase"] == "done"
    _wait_doc(client, seed, lambda d: d["seq"] >= h.seq)
    time.sleep(0.3)  # a tick or more: a public tally, if any were let out, would be here by now
    closed = _doc(client, seed)
    assert _tallies(closed) == {}
    shown = next(i for i in closed["snapshot"]["state"]["items"] if i["id"] == item)
    assert shown["result"] is None and shown["result_hidden"] is True
    assert h.cmd("item.reveal", item_id=item)["revealed"] is True
    revealed = _wait_doc(client, seed, lambda d: _tallies(d).get(item, {}).get("view") == "final")
    assert _tallies(revealed)[item]["result"]["total"] is not None


def test_no_secret_in_the_document(client: TestClient, seed: Seed, settings: Settings) -> None:
    h = _host(client, seed)
    item = _to_voting(h)
    phones = [_phone(client, seed, n) for n in range(6)]
    for n, p in enumerate(phones):
        _vote(p, item, 10 + n, "满意")
    tablet = Conn(open_ws(client, panel_ws(client, seed, 0)))
    _vote(tablet, item, 0, "满意")
    h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 7)
    body = _wait_doc(client, seed, lambda d: _tallies(d).get(item, {}).get("total") == 7)
    raw = orjson.dumps(body)
    for secret in (seed.password, settings.secret_key, *seed.panel_tokens, "device-lj-", "lj-ballot-",
                   "voter_key", "my_ballots", '"view":"full"', "csrf"):
        assert secret.encode() not in raw, secret
    # Nothing the host alone gets (who has voted, the moderation queue).
    assert b"participation" not in raw and b"moderation" not in raw


def test_a_voided_round_leaves_no_tally_behind(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    item = _to_voting(h)
    for n in range(6):
        _vote(_phone(client, seed, n), item, 10 + n, "满意")
    assert h.cmd("item.advance", item_id=item, **{"from": "voting"})["phase"] == "done"
    _wait_doc(client, seed, lambda d: _tallies(d).get(item, {}).get("view") == "final")
    assert h.cmd("item.void", item_id=item, reason="计票设备故障，重新测评")["type"] == "ack"
    voided = _wait_doc(client, seed, lambda d: d["seq"] >= h.seq)
    time.sleep(0.3)  # past a tick
    voided = _doc(client, seed)
    assert next(i for i in voided["snapshot"]["state"]["items"] if i["id"] == item)["phase"] == "comment"
    assert item not in _tallies(voided)
    # A screen connecting now gets no tally of the voided round either.
    screen = Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))
    screen.expect(lambda m: m["type"] == "presence")
    assert not [m for m in screen.seen if m["type"] == "tally"]
