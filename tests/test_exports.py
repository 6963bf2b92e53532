"""Scheme edits, eligibility, and the export → verify round trip on a real meeting."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import orjson
import pytest
from starlette.testclient import TestClient

from conftest import DEMO, Conn, Seed, close_sockets, login, open_ws, panel_ws, seed_meeting
from live.cli import main
from live.config import Settings
from live.domain.scheme import grade_scheme, rubric_scheme
from live.web.app import create_app


def run_meeting(client: TestClient, seed: Seed, votes: list[dict]) -> Conn:
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    h.cmd("meeting.start")
    phones = [Conn(open_ws(client, f"/ws/{seed.code}?role=audience",
                           headers={"cookie": f"live_dev={seed.device_cookie(f'device-export-{n}')}"}))
              for n in range(len(votes))]
    for item in h.state["items"]:
        h.cmd("item.open", item_id=item["id"])
        for _ in range(3):
            h.cmd("item.advance", item_id=item["id"])
        for n, (phone, choice) in enumerate(zip(phones, votes, strict=True)):
            ack = phone.cmd("vote", item_id=item["id"], ballot_id=f"x{item['id']}-ballot-{n}", choice=choice)
            assert ack["type"] == "ack", ack
        assert h.cmd("item.advance", item_id=item["id"])["phase"] == "done"
    h.cmd("meeting.end")
    return h


def test_scheme_can_be_set_before_voting_and_is_locked_after(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    bad = grade_scheme().to_dict()
    bad["groups"][0]["weight"] = "0"
    err = h.cmd("meeting.scheme", scheme=bad)
    assert err["code"] == "invalid_scheme" and "权重" in err["message"]
    ok = h.cmd("meeting.scheme", scheme=grade_scheme().to_dict())
    assert ok["type"] == "ack"
    assert h.expect(lambda m: m["type"] == "meeting.updated" and m["cause"] == "scheme")["meeting"]["scheme"][
        "kind"] == "grade"
    h.cmd("meeting.start")
    item = h.state["items"][0]["id"]
    h.cmd("item.open", item_id=item)
    for _ in range(3):
        h.cmd("item.advance", item_id=item)
    err = h.cmd("meeting.scheme", scheme=rubric_scheme().to_dict())
    assert err["code"] == "scheme_locked"
    # A grade ballot must use the grade options now.
    phone = Conn(open_ws(client, f"/ws/{seed.code}?role=audience",
                         headers={"cookie": f"live_dev={seed.device_cookie('device-grade-1')}"}))
    assert phone.cmd("vote", item_id=item, ballot_id="grade-ballot-1", choice={"option": "满意"})["code"] == \
        "invalid_ballot"
    assert phone.cmd("vote", item_id=item, ballot_id="grade-ballot-1", choice={"option": "较好"})["status"] == "stored"


def test_voters_outside_the_groups_are_refused(settings: Settings) -> None:
    scheme = rubric_scheme().to_dict()
    scheme["groups"] = [g for g in scheme["groups"] if g["source"] == "public"]
    seed = seed_meeting(settings, {**DEMO, "scheme": scheme})
    with TestClient(create_app(settings)) as client:
        try:
            run = Conn(open_ws(client, panel_ws(client, seed, 0)))
            login(client, seed)
            h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
            h.cmd("meeting.start")
            item = h.state["items"][0]["id"]
            h.cmd("item.open", item_id=item)
            for _ in range(3):
                h.cmd("item.advance", item_id=item)
            scores = {c["key"]: 20 for c in scheme["criteria"]}
            err = run.cmd("vote", item_id=item, ballot_id="panel-ballot-1", choice={"scores": scores})
            assert err["code"] == "not_eligible"
            over = dict(scores, 依法决策=26)
            phone = Conn(open_ws(client, f"/ws/{seed.code}?role=audience",
                                 headers={"cookie": f"live_dev={seed.device_cookie('device-rubric-1')}"}))
            assert phone.cmd("vote", item_id=item, ballot_id="pub-ballot-1", choice={"scores": over})["code"] == \
                "invalid_ballot"
            missing = {k: v for k, v in scores.items() if k != "依法决策"}
            assert phone.cmd("vote", item_id=item, ballot_id="pub-ballot-1", choice={"scores": missing})["code"] == \
                "invalid_ballot"
            assert phone.cmd("vote", item_id=item, ballot_id="pub-ballot-1",
                             choice={"scores": dict(scores, 依法决策="abc")})["code"] == "invalid_ballot"
            assert phone.cmd("vote", item_id=item, ballot_id="pub-ballot-1", choice={"scores": scores})["status"] == \
                "stored"
        finally:
            close_sockets()


def test_export_verify_round_trip_and_tampering(client: TestClient, seed: Seed, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    h = run_meeting(client, seed, [{"option": "满意"}, {"option": "基本满意"}, {"option": "不满意"},
                                   {"option": "满意"}, {"abstain": True}])
    ranking = h.state["meeting"]["ranking"]
    assert [r["rank"] for r in ranking] == [1, 1, 1]  # same ballots for everyone: a three-way tie
    db_args = ["--database-url", seed.settings.database_url]
    out = tmp_path / "ballots.json"
    assert main(["export", "ballots", seed.code, "-o", str(out), *db_args]) == 0
    assert main(["verify", str(out)]) == 0
    report = capsys.readouterr().out
    assert "马文亮" in report
    data = orjson.loads(out.read_bytes())
    assert data["counts"] == {"items": 3, "ballots": 15}
    assert all("voter" not in str(b) for i in data["items"] for b in i["ballots"])
    # Each of these must fail verify.
    changed = orjson.loads(out.read_bytes())
    changed["items"][0]["ballots"][0]["choice"] = {"option": "不满意"}
    removed = orjson.loads(out.read_bytes())
    removed["items"][1]["ballots"].pop()
    digest = orjson.loads(out.read_bytes())
    digest["items"][2]["digest"] = "0" * 64
    for n, bad in enumerate((changed, removed, digest)):
        path = tmp_path / f"bad{n}.json"
        path.write_bytes(orjson.dumps(bad))
        assert main(["verify", str(path)]) == 1
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(out.read_bytes()[: len(out.read_bytes()) // 2])
    assert main(["verify", str(truncated)]) == 2
    assert "无法核验" in capsys.readouterr().err
    # The workbook: a sheet per presenter with the frozen figures and digests.
    xlsx = tmp_path / "results.xlsx"
    assert main(["export", "results", seed.code, "-o", str(xlsx), *db_args]) == 0
    wb = openpyxl.load_workbook(xlsx)
    assert len(wb.sheetnames) >= 4
    text = " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert "马文亮" in text and data["items"][0]["digest"] in text
    # The host can download the same export over HTTP; nobody else can.
    assert client.get(f"/api/meetings/{seed.code}/export/ballots.json").json()["counts"]["ballots"] == 15
    assert client.get(f"/api/meetings/{seed.code}/export/results.xlsx").content[:2] == b"PK"
    client.post(f"/api/meetings/{seed.code}/logout")
    assert client.get(f"/api/meetings/{seed.code}/export/ballots.json").status_code == 401
