"""Paper ballots (双轨制): keyed twice, compared, turned into ballots marked as paper,
counted, exported and recounted like the rest; and who may key them."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from conftest import DEMO, Conn, Seed, close_sockets, item_ids, login, open_ws, panel_ws, seed_meeting
from live.config import Settings
from live.domain import paper
from live.domain.scheme import BallotValue, rubric_scheme, satisfaction_scheme
from live.domain.scoring import score_item
from live.reports.verify import verify_export
from live.store.db import make_engine
from live.store.models import Ballot

# --- the pure rules ---------------------------------------------------------------------------


def test_counts_are_canonical_and_expand_to_one_ballot_per_sheet() -> None:
    s = satisfaction_scheme()
    figures = paper.canonical_figures(s, "public", {"counts": {"满意": 3, "不满意": 1}, "abstain": 2})
    assert figures == {"group": "public", "counts": {"满意": 3, "基本满意": 0, "不满意": 1}, "abstain": 2}
    # The same figures typed another way compare equal.
    assert figures == paper.canonical_figures(s, "public", {"counts": {"不满意": 1, "满意": 3, "基本满意": 0},
                                                            "abstain": 2})
    choices = paper.ballot_choices(figures)
    assert len(choices) == paper.sheets(figures) == 6
    assert choices.count({"option": "满意"}) == 3 and choices.count({"abstain": True}) == 2
    result = score_item(s, [BallotValue("public", c) for c in choices])
    assert result.group("public").options == (("满意", 3), ("基本满意", 0), ("不满意", 1))  # type: ignore[union-attr]
    assert result.abstain == 2 and result.ballots == 6


def test_bad_figures_are_refused_in_chinese() -> None:
    s = satisfaction_scheme()
    cases: list[tuple[Any, Any, str]] = [
        ("nobody", {"counts": {"满意": 1}}, "未知的投票组"),
        ("public", {"counts": {"非常满意": 1}}, "未知选项"),
        ("public", {"counts": {"满意": -1}}, "张数"),
        ("public", {"counts": {"满意": True}}, "张数"),
        ("public", {"counts": {"满意": 0}}, "至少录入一张"),
        ("public", {"counts": {"满意": 5000}, "abstain": 1}, "分批"),
        ("public", {"choice": {"option": "满意"}}, "按选项录入"),
        ("public", [1, 2], "应为对象"),
    ]
    for group, raw, words in cases:
        with pytest.raises(paper.PaperError, match=words):
            paper.canonical_figures(s, group, raw)
    r = rubric_scheme()
    with pytest.raises(paper.PaperError, match="逐张录入"):
        paper.canonical_figures(r, "public", {"counts": {"x": 1}})
    with pytest.raises(paper.PaperError, match="应在 0 至 25"):
        paper.canonical_figures(r, "public", {"choice": {"scores": {c.key: "26" for c in r.criteria}}})
    for sheet in ("", " ", "a" * 21, "1;DROP", None, 7):
        with pytest.raises(paper.PaperError):
            paper.check_sheet(sheet)


def test_differences_name_every_figure_that_differs() -> None:
    r = rubric_scheme()
    keys = [c.key for c in r.criteria]
    a = paper.canonical_figures(r, "public", {"choice": {"scores": dict.fromkeys(keys, "20")}})
    b = paper.canonical_figures(r, "panel", {"choice": {"scores": {**dict.fromkeys(keys, "20"), keys[1]: "21.5"}}})
    assert paper.differences(a, b) == [{"field": "投票组", "first": "public", "second": "panel"},
                                       {"field": keys[1], "first": "20", "second": "21.5"}]
    assert paper.differences(a, a) == []


# --- through the endpoints ------------------------------------------------------------------


def _host_ws(client: TestClient, seed: Seed) -> Conn:
    login(client, seed)
    return Conn(open_ws(client, f"/ws/{seed.code}?role=host"))


def _to_voting(h: Conn, item: int, start: bool = True) -> None:
    if start:
        assert h.cmd("meeting.start")["type"] == "ack"
    h.cmd("item.open", item_id=item)
    for _ in range(3):
        h.cmd("item.advance", item_id=item)
    assert h.item(item)["phase"] == "voting" or h.expect(
        lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "voting")


def _recorder_token(client: TestClient, seed: Seed) -> str:
    r = client.get(f"/api/meetings/{seed.code}/recorder")
    assert r.status_code == 200
    return str(r.json()["token"])


HOST_A = "host-tab-aaaaaaaa"
REC_A = "recorder-tab-bbbbbbbb"
REC_B = "recorder-tab-cccccccc"


class Keyer:
    """One keying page: the host's console (cookie) or a recorder's page (bearer)."""

    def __init__(self, client: TestClient, seed: Seed, session: str, token: str | None = None) -> None:
        self.client, self.seed, self.session = client, seed, session
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    def enter(self, item: int, sheet: str, figures: dict[str, Any], group: str = "public") -> Any:
        return self.client.post(f"/api/meetings/{self.seed.code}/paper", headers=self.headers, json={
            "item_id": item, "group": group, "sheet": sheet, "figures": figures, "session": self.session,
            "name": "录入员"})

    def discard(self, entry_id: int) -> Any:
        return self.client.post(f"/api/meetings/{self.seed.code}/paper/{entry_id}/discard", headers=self.headers,
                                json={"session": self.session})

    def entries(self, item: int) -> list[dict[str, Any]]:
        r = self.client.get(f"/api/meetings/{self.seed.code}/items/{item}/paper?session={self.session}",
                            headers=self.headers)
        assert r.status_code == 200, r.text
        return list(r.json()["entries"])


def _ballots(seed: Seed, item: int) -> list[Ballot]:
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        rows = list(s.exec(select(Ballot).where(Ballot.item_id == item)).all())
    engine.dispose()
    return rows


def test_double_entry_of_counts_mismatch_discard_match_close_and_verify(client: TestClient, seed: Seed) -> None:
    h = _host_ws(client, seed)
    item = item_ids(h)[0]
    host = Keyer(client, seed, HOST_A)
    recorder = Keyer(client, seed, REC_A, _recorder_token(client, seed))
    counts = {"counts": {"满意": 3, "基本满意": 1}, "abstain": 1}
    # Before 测评 opens nothing can be keyed.
    assert host.enter(item, "001", counts).json()["error"]["code"] == "not_voting"
    _to_voting(h, item)
    first = host.enter(item, "001", counts)
    assert first.status_code == 200 and first.json()["status"] == "pending"
    entry_id = first.json()["entry"]["id"]
    # The same page cannot confirm its own keying.
    same = host.enter(item, "001", counts)
    assert same.status_code == 409 and same.json()["error"]["code"] == "same_entrant"
    # Blind: the recorder sees that sheet 001 waits, not its figures.
    (waiting,) = recorder.entries(item)
    assert waiting["status"] == "pending" and "figures" not in waiting and waiting["first"]["role"] == "host"
    assert host.entries(item)[0]["figures"]["counts"]["满意"] == 3
    # A slip: the second keying differs; both see both figures, nothing counts.
    slip = recorder.enter(item, "001", {"counts": {"满意": 3, "基本满意": 2}, "abstain": 1})
    assert slip.json()["status"] == "mismatch"
    assert slip.json()["differences"] == [{"field": "基本满意", "first": 1, "second": 2}]
    for keyer in (host, recorder):
        (shown,) = keyer.entries(item)
        assert shown["status"] == "mismatch" and shown["second_figures"]["counts"]["基本满意"] == 2
    assert _ballots(seed, item) == []
    assert recorder.enter(item, "001", counts).json()["error"]["code"] == "paper_mismatch"
    # Closing 测评 now would freeze without these sheets: refused, naming the sheet.
    refused = h.cmd("item.advance", item_id=item, **{"from": "voting"})
    assert refused["code"] == "paper_pending" and "001" in refused["message"]
    assert recorder.discard(entry_id).json()["status"] == "discarded"
    assert recorder.discard(entry_id).json()["error"]["code"] == "not_open"
    assert recorder.entries(item) == []
    # Keyed afresh, twice alike: five ballots marked as paper, no voter.
    assert recorder.enter(item, "001", counts).json()["status"] == "pending"
    done = host.enter(item, "001", counts)
    assert done.status_code == 201 and done.json() == {**done.json(), "status": "confirmed", "ballots": 5}
    assert host.enter(item, "001", counts).json()["error"]["code"] == "sheet_confirmed"
    rows = _ballots(seed, item)
    assert len(rows) == 5 and {r.source for r in rows} == {"paper"} and {r.voter_key for r in rows} == {None}
    assert len({r.id for r in rows}) == 5 and all(r.id.startswith("paper-") for r in rows)
    # A second bundle into the panel, keyed by two recorder pages.
    other = Keyer(client, seed, REC_B, recorder.headers["authorization"][7:])
    bundle = {"counts": {"满意": 2, "不满意": 1}}
    assert other.enter(item, "批次2", bundle, group="panel").json()["status"] == "pending"
    assert recorder.enter(item, "批次2", bundle, group="panel").json()["ballots"] == 3
    # Counted by the live tally like any ballot (the host sees counts and, with ≥ 3, the split).
    tally = h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 8)["tally"]
    assert tally["groups"]["public"]["options"] == {"满意": 3, "基本满意": 1, "不满意": 0}
    assert tally["groups"]["public"]["abstain"] == 1
    assert h.cmd("item.advance", item_id=item, **{"from": "voting"})["phase"] == "done"
    frozen = h.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "done")["item"]["result"]
    assert frozen["ballots"] == 8 and frozen["abstain"] == 1
    # After the freeze nothing more can be keyed.
    assert host.enter(item, "003", counts).json()["error"]["code"] == "not_voting"
    export = client.get(f"/api/meetings/{seed.code}/export/ballots.json").json()
    ballots = export["items"][0]["ballots"]
    assert sorted(b["source"] for b in ballots) == ["paper"] * 8
    report = verify_export(export)
    assert report.ok, report.problems
    assert any("纸质测评表 8 张" in n for n in report.notes)


def test_rubric_sheets_are_keyed_one_by_one(client: TestClient, settings: Settings) -> None:
    seed = seed_meeting(settings, {**DEMO, "scheme": "rubric"})
    h = _host_ws(client, seed)
    item = item_ids(h)[0]
    _to_voting(h, item)
    host = Keyer(client, seed, HOST_A)
    recorder = Keyer(client, seed, REC_A, _recorder_token(client, seed))
    keys = [c.key for c in rubric_scheme().criteria]
    sheet = {"choice": {"scores": dict(zip(keys, ["24", "23.5", "22", "25"], strict=True))}}
    assert host.enter(item, "17", sheet).json()["status"] == "pending"
    typo = {"choice": {"scores": dict(zip(keys, ["24", "24.5", "22", "25"], strict=True))}}
    diff = recorder.enter(item, "17", typo).json()
    assert diff["status"] == "mismatch" and diff["differences"] == [
        {"field": keys[1], "first": "23.5", "second": "24.5"}]
    entry = recorder.entries(item)[0]
    assert recorder.discard(entry["id"]).status_code == 200
    assert recorder.enter(item, "17", sheet).json()["status"] == "pending"
    assert host.enter(item, "17", sheet).json()["ballots"] == 1
    (row,) = _ballots(seed, item)
    assert orjson.loads(row.choice_json) == {"scores": dict(zip(keys, ["24", "23.5", "22", "25"], strict=True))}
    assert row.source == "paper"
    bad = host.enter(item, "18", {"choice": {"scores": dict.fromkeys(keys, "30")}})
    assert bad.status_code == 400 and "评分项" in bad.json()["error"]["message"]


def test_who_may_key_paper(client: TestClient, seed: Seed, settings: Settings) -> None:
    h = _host_ws(client, seed)
    item = item_ids(h)[0]
    _to_voting(h, item)
    token_a = _recorder_token(client, seed)
    counts = {"counts": {"满意": 1}}
    body = {"item_id": item, "group": "public", "sheet": "9", "figures": counts, "session": HOST_A}
    url = f"/api/meetings/{seed.code}/paper"
    # Another meeting's host and recorder.
    other = seed_meeting(settings)
    login(client, other)
    token_b = _recorder_token(client, other)
    assert client.post(url, json=body).status_code == 401  # the cookie is meeting B's
    assert client.post(url, json=body, headers={"authorization": f"Bearer {token_b}"}).status_code == 401
    # Nor into meeting B's item through meeting B's own endpoint.
    r = client.post(f"/api/meetings/{other.code}/paper", json=body)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    client.cookies.clear()
    # A phone (device cookie), a panel link used as a bearer, a forged bearer, nothing.
    phone = {"cookie": f"live_dev={seed.device_cookie('device-paper-01')}"}
    assert client.post(url, json=body, headers=phone).status_code == 401
    assert client.post(url, json=body, headers={"authorization": f"Bearer {seed.panel_tokens[0]}"}).status_code == 401
    assert client.post(url, json=body, headers={"authorization": "Bearer x.y.z"}).status_code == 401
    assert client.get(f"/api/meetings/{seed.code}/items/{item}/paper").status_code == 401
    # The panel's and the phones' sockets have no paper command at all.
    tablet = Conn(open_ws(client, panel_ws(client, seed, 0)))
    assert tablet.cmd("paper.enter", item_id=item)["code"] == "unknown_type"
    # The meeting's recorder may; bad input is refused with a reason, never a 500.
    rec = {"authorization": f"Bearer {token_a}"}
    assert client.post(url, json=body, headers=rec).json()["status"] == "pending"
    for bad in ({**body, "session": "x"}, {**body, "item_id": "1"}, {**body, "sheet": "<b>"},
                {**body, "figures": None}, {**body, "name": "名" * 30}, {**body, "item_id": 99999}):
        r = client.post(url, json=bad, headers=rec)
        assert 400 <= r.status_code < 500 and r.json()["error"]["message"], (bad, r.text)
    assert client.post(url, content=b"{", headers={**rec, "content-type": "application/json"}).status_code == 400
    # The recorder's page: its session cookie (from /api/recorder/claim), and its CSRF token for changes.
    claimed = client.post("/api/recorder/claim", json={"token": token_a})
    assert claimed.status_code == 200, claimed.text
    csrf = {"x-csrf-token": claimed.json()["csrf"]}
    by_page = {**body, "sheet": "10", "session": REC_B}
    assert client.post(url, json=by_page).status_code == 403  # no CSRF token
    assert client.post(url, json=by_page, headers=csrf).json()["status"] == "pending"
    listed = client.get(f"/api/meetings/{seed.code}/items/{item}/paper?session={REC_B}")
    assert listed.status_code == 200 and any(e["sheet"] == "10" and e["mine"] for e in listed.json()["entries"])
    assert _ballots(seed, item) == []


def test_paper_on_postgres_across_two_workers(pg_url: str, redis_url: str) -> None:
    """PostgreSQL and two workers: the host keys on worker A, the recorder on worker B; the
    confirmed paper ballots reach the host's tally on A over the bus."""
    import uuid

    from live.web.app import create_app

    settings = Settings(database_url=pg_url, secret_key="k", redis_url=redis_url,
                        redis_channel=f"live:test:{uuid.uuid4().hex[:8]}", tick_s=0.05)
    seed = seed_meeting(settings)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        try:
            h = _host_ws(a, seed)
            for app in (a, b):
                for _ in range(100):
                    if app.get("/healthz").json()["broker"] == "redis":
                        break
                    time.sleep(0.05)
            item = item_ids(h)[0]
            _to_voting(h, item)
            host = Keyer(a, seed, HOST_A)
            recorder = Keyer(b, seed, REC_A, _recorder_token(a, seed))
            counts = {"counts": {"满意": 2, "不满意": 2}}
            assert recorder.enter(item, "P1", counts).json()["status"] == "pending"
            assert host.enter(item, "P1", counts).json()["ballots"] == 4
            tally = h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 4)["tally"]
            assert tally["groups"]["public"]["options"] == {"满意": 2, "基本满意": 0, "不满意": 2}
            assert h.cmd("item.advance", item_id=item, **{"from": "voting"})["phase"] == "done"
            report = verify_export(a.get(f"/api/meetings/{seed.code}/export/ballots.json").json())
            assert report.ok and report.items[0].ballots == 4
        finally:
            close_sockets()


def test_void_discards_the_keyed_sheets_so_they_can_be_keyed_again(client: TestClient, seed: Seed) -> None:
    """作废重测 deletes the paper ballots with the rest; their keyings are kept, discarded."""
    h = _host_ws(client, seed)
    item = item_ids(h)[0]
    host = Keyer(client, seed, HOST_A)
    recorder = Keyer(client, seed, REC_A, _recorder_token(client, seed))
    counts = {"counts": {"满意": 2}, "abstain": 0}
    _to_voting(h, item)
    assert host.enter(item, "001", counts).json()["status"] == "pending"
    assert recorder.enter(item, "001", counts).json()["status"] == "confirmed"
    assert h.cmd("item.advance", item_id=item)["phase"] == "done"
    ack = h.cmd("item.void", item_id=item, reason="纸质表重新清点")
    assert ack["type"] == "ack" and ack["voided_ballots"] == 2, ack
    assert _ballots(seed, item) == [] and recorder.entries(item) == []
    assert h.cmd("item.advance", item_id=item)["phase"] == "voting"
    assert host.enter(item, "001", counts).json()["status"] == "pending"
