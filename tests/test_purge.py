"""``live purge``: an ended meeting's personal data goes, its ballots, results, problems and
signed record stay, and ``live verify --expect ROOT --pubkey KEY`` passes before and after."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from live.cli import main
from live.config import Settings
from live.data_care import parse_age
from live.domain import record
from live.keys import create_key, load_key
from live.store.db import make_engine
from live.store.models import (
    AgendaItem,
    AuditRow,
    Ballot,
    Comment,
    Credential,
    DeviceBan,
    Meeting,
    Participation,
    Problem,
    Question,
    QuestionUpvote,
    VoterIdentity,
)
from live.store.purge import purge
from live.web.app import create_app
from tests.conftest import DEMO, Conn, Seed, close_sockets, item_ids, login, open_ws, panel_ws, seed_meeting

DAY_MS = 86_400_000
COMMENT = "我的电话13812345678请回电"
ASKER = "市民王某某"
CONTACT = "13987654321"
ROSTER_NAME = "赵名单"


def fresh_phone(client: TestClient, seed: Seed) -> dict[str, str]:
    client.cookies.clear()
    r = client.get(f"/j/{seed.code}")
    assert r.status_code == 200
    jar = dict(r.cookies)
    client.cookies.clear()
    return jar


def phone(client: TestClient, seed: Seed, jar: dict[str, str]) -> Conn:
    header = {"cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    return Conn(open_ws(client, f"/ws/{seed.code}?role=audience", headers=header))


@pytest.fixture
def signed(settings: Settings) -> Settings:
    settings.signing_key_path = settings.data_dir / "signing.key"
    create_key(settings.signing_key_path)
    return settings


def db_path(settings: Settings) -> Path:
    return Path(settings.database_url.split(":///", 1)[1])


def run_meeting(settings: Settings, secret: bool) -> Seed:
    """A meeting with everything the public leaves behind: comments (one shown, one banned),
    a public question (approved, upvoted) and one never approved, an imported question with a
    named asker, phones' and a panel member's ballots, then the end of the meeting."""
    seed = seed_meeting(settings, {**DEMO, "secret": secret, "title": "清除演练"})
    with TestClient(create_app(settings)) as client:
        try:
            jars = [fresh_phone(client, seed) for _ in range(4)]
            login(client, seed)
            h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
            ids = item_ids(h)
            assert h.cmd("meeting.start")["type"] == "ack"
            phones = [phone(client, seed, j) for j in jars]
            assert phones[0].cmd("comment.send", text=COMMENT)["type"] == "ack"
            assert phones[1].cmd("comment.send", text="第二条弹幕内容")["type"] == "ack"
            assert phones[2].cmd("question.ask", item_id=ids[0], content="为什么拖欠工程款？")["type"] == "ack"
            assert phones[3].cmd("question.ask", item_id=ids[0], content="未被采纳的提问")["type"] == "ack"
            panel = Conn(open_ws(client, panel_ws(client, seed, 0)))
            engine = make_engine(settings.database_url)
            with Session(engine) as s:
                comments = s.exec(select(Comment).order_by(col(Comment.id))).all()
                question = s.exec(select(Question).where(Question.content == "为什么拖欠工程款？")).one()
                first, second, qid = comments[0].id, comments[1].id, question.id
            assert h.cmd("comment.approve", comment_id=first)["type"] == "ack"
            assert h.cmd("device.ban", comment_id=second, reason="广告")["type"] == "ack"
            assert h.cmd("question.approve", question_id=qid)["type"] == "ack"
            assert phones[0].cmd("question.upvote", question_id=qid)["type"] == "ack"
            for item in ids:
                assert h.cmd("item.open", item_id=item)["type"] == "ack"
                for _ in range(3):
                    assert h.cmd("item.advance", item_id=item)["type"] == "ack"
                for n, p in enumerate(phones[:3]):
                    ack = p.cmd("vote", item_id=item, ballot_id=f"purge-{item}-{n:04d}", choice={"option": "满意"})
                    assert ack["type"] == "ack", ack
                ack = panel.cmd("vote", item_id=item, ballot_id=f"purge-{item}-panel", choice={"option": "基本满意"})
                assert ack["type"] == "ack", ack
                assert h.cmd("item.advance", item_id=item)["phase"] == "done"
            assert h.cmd("meeting.end")["type"] == "ack"
        finally:
            close_sockets()
    with Session(engine) as s:
        # What the database would hold from a question file and a roster (both go through
        # other routes, tested elsewhere): a named asker, a named voter with a phone number.
        s.add(Question(meeting_id=seed.meeting_id, item_id=ids[1], origin="import", source="12345热线",
                       content="小区噪音扰民", asker=ASKER, status="approved"))
        s.add(Credential(meeting_id=seed.meeting_id, kind="roster", number=1, voter_group="群众代表",
                         name=ROSTER_NAME, unit="某街道", contact=CONTACT, device_id="roster-device-0001"))
        s.add(Problem(meeting_id=seed.meeting_id, item_id=ids[0], description="工程款拖欠问题", owner="区住建局"))
        s.commit()
    engine.dispose()
    return seed


def age(settings: Settings, meeting_id: int, days: float) -> None:
    """Pretend the meeting ended ``days`` ago."""
    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        m = s.get(Meeting, meeting_id)
        assert m is not None
        m.ended_at_ms = int(time.time() * 1000 - days * DAY_MS)
        s.add(m)
        s.commit()
    engine.dispose()


def export_verify(settings: Settings, seed: Seed, name: str, capsys: pytest.CaptureFixture[str],
                  root: str | None = None) -> dict[str, Any]:
    out = settings.data_dir / f"{name}.json"
    args = ["--database-url", settings.database_url, "--data-dir", str(settings.data_dir)]
    assert main(["export", "ballots", seed.code, "-o", str(out), *args]) == 0
    export: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert settings.signing_key_path is not None
    key = load_key(settings.signing_key_path)
    assert key is not None
    capsys.readouterr()
    expect = root or export["record"]["root"]
    assert main(["verify", str(out), "--expect", expect, "--pubkey", record.public_key_b64(key)]) == 0, \
        capsys.readouterr().out
    assert "核验通过" in capsys.readouterr().out
    return export


def personal(settings: Settings, meeting_id: int) -> dict[str, Any]:
    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        items = [i.id for i in s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)).all()]
        out = {
            "comment_text": sorted(c.text for c in s.exec(select(Comment).where(Comment.meeting_id == meeting_id))),
            "comment_device": sorted(c.device_id for c in s.exec(
                select(Comment).where(Comment.meeting_id == meeting_id))),
            "question_device": [q.device_id for q in s.exec(select(Question).where(
                Question.meeting_id == meeting_id, col(Question.device_id).is_not(None)))],
            "asker": [q.asker for q in s.exec(select(Question).where(Question.meeting_id == meeting_id,
                                                                      col(Question.origin) == "import"))],
            "unapproved": [q.content for q in s.exec(select(Question).where(
                Question.meeting_id == meeting_id, col(Question.status) != "approved"))],
            "upvotes": len(s.exec(select(QuestionUpvote)).all()),
            "bans": len(s.exec(select(DeviceBan).where(DeviceBan.meeting_id == meeting_id)).all()),
            "identities": len(s.exec(select(VoterIdentity).where(VoterIdentity.meeting_id == meeting_id)).all()),
            "keys": sorted(str(b.voter_key) for b in s.exec(select(Ballot).where(Ballot.meeting_id == meeting_id))),
            "participation": len(s.exec(select(Participation).where(col(Participation.item_id).in_(items))).all()),
            "credential": [(c.name, c.contact, c.device_id, c.unit) for c in s.exec(
                select(Credential).where(Credential.meeting_id == meeting_id))],
            "ballots": len(s.exec(select(Ballot).where(Ballot.meeting_id == meeting_id)).all()),
            "problems": [p.description for p in s.exec(select(Problem).where(Problem.meeting_id == meeting_id))],
            "upvote_count": [q.upvotes for q in s.exec(select(Question).where(Question.meeting_id == meeting_id,
                                                                               col(Question.upvotes) > 0))],
        }
    engine.dispose()
    return out


def file_bytes(settings: Settings) -> bytes:
    db = db_path(settings)
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


@contextlib.contextmanager
def devices_of(settings: Settings, meeting_id: int) -> Iterator[list[str]]:
    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        found = [v.device_id for v in s.exec(select(VoterIdentity).where(VoterIdentity.meeting_id == meeting_id))]
    engine.dispose()
    yield found


@pytest.mark.parametrize("secret", [False, True], ids=["open-ballot", "secret"])
def test_purge_removes_personal_data_and_verify_still_passes(signed: Settings, secret: bool,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    seed = run_meeting(signed, secret)
    recent = seed_meeting(signed, {**DEMO, "title": "近期会议"})
    age(signed, seed.meeting_id, 200)
    engine = make_engine(signed.database_url)
    with Session(engine) as s:  # a meeting that ended ten days ago keeps everything
        m = s.get(Meeting, recent.meeting_id)
        assert m is not None
        m.status, m.ended_at_ms = "ended", int(time.time() * 1000 - 10 * DAY_MS)
        item = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == recent.meeting_id)).first()
        assert item is not None
        s.add(m)
        s.add(Comment(meeting_id=recent.meeting_id, item_id=item.id, device_id="recent-device-01", text="近期弹幕",
                      status="shown"))
        s.commit()
    engine.dispose()
    before = export_verify(signed, seed, "before", capsys)
    root = before["record"]["root"]
    found = personal(signed, seed.meeting_id)
    assert COMMENT in found["comment_text"] and found["question_device"] and found["bans"] == 1
    assert found["identities"] == 4 and found["upvotes"] == 1 and found["asker"] == [ASKER]
    if secret:
        assert found["participation"] == 12 and all(k == "None" for k in found["keys"])
    else:
        assert sum(k.startswith("d:") for k in found["keys"]) == 9
        assert sum(k.startswith("p:") for k in found["keys"]) == 3
    with devices_of(signed, seed.meeting_id) as devices:
        assert devices and all(d.encode() in file_bytes(signed) for d in devices)

    args = ["--database-url", signed.database_url, "--data-dir", str(signed.data_dir)]
    assert main(["purge", "--older-than", "180d", "--dry-run", *args]) == 0
    dry = capsys.readouterr().out
    assert "预演" in dry and seed.code in dry and recent.code not in dry
    assert "弹幕文字与设备号：2" in dry and "开放投票身份（设备号与网段）：4" in dry
    assert personal(signed, seed.meeting_id) == found  # nothing changed

    assert main(["purge", "--older-than", "180d", *args]) == 0
    said = capsys.readouterr().out
    assert "已清除" in said and "live verify 照常通过" in said
    after = personal(signed, seed.meeting_id)
    assert after["comment_text"] == ["", ""] and after["comment_device"] == ["", ""]
    assert after["question_device"] == [] and after["asker"] == [""] and after["unapproved"] == [""]
    assert (after["upvotes"], after["bans"], after["identities"], after["participation"]) == (0, 0, 0, 0)
    assert after["upvote_count"] == found["upvote_count"] == [1]
    assert after["credential"] == [("", "", None, "某街道")]
    assert all(k in ("None", f"p:{k[2:]}") for k in after["keys"])
    assert not any(k.startswith(("d:", "c:")) for k in after["keys"])
    assert (after["ballots"], after["problems"]) == (found["ballots"], found["problems"])
    # The same root as before the purge, with the signature: the record is untouched.
    again = export_verify(signed, seed, "after", capsys, root=root)
    assert again["record"] == before["record"]
    assert [i["digest"] for i in again["items"]] == [i["digest"] for i in before["items"]]
    last = again["audit"][-1]
    assert (last["actor"], last["action"]) == ("admin", "data.purge")
    assert last["details"]["removed"]["comments"] == 2 and last["seq"] == len(before["audit"]) + 1
    # Gone from the file itself, not only from the rows (secure_delete, WAL checkpointed).
    blob = file_bytes(signed)
    for gone in (COMMENT, ASKER, CONTACT, ROSTER_NAME, "未被采纳的提问", *devices):
        assert gone.encode() not in blob, gone
    # The recent meeting is untouched; purging again finds nothing more and logs nothing.
    assert personal(signed, recent.meeting_id)["comment_text"] == ["近期弹幕"]
    assert main(["purge", "--older-than", "180d", *args]) == 0
    capsys.readouterr()
    engine = make_engine(signed.database_url)
    with Session(engine) as s:
        assert len(s.exec(select(AuditRow).where(AuditRow.meeting_id == seed.meeting_id)).all()) == len(again["audit"])
    engine.dispose()


def test_purge_leaves_live_and_draft_meetings_alone(settings: Settings) -> None:
    seed = seed_meeting(settings)
    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        m = s.get(Meeting, seed.meeting_id)
        assert m is not None
        item = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == seed.meeting_id)).first()
        assert item is not None
        s.add(Comment(meeting_id=seed.meeting_id, item_id=item.id, device_id="dev-00000001", text="进行中",
                      status="shown"))
        for status in ("draft", "live"):
            m.status, m.ended_at_ms = status, 1  # even with an old end time
            s.add(m)
            s.flush()
            assert purge(s, int(time.time() * 1000), int(time.time() * 1000)) == []
        s.rollback()
    engine.dispose()


def test_age_parsing() -> None:
    assert parse_age("180d") == 180 * 86400
    assert parse_age("30d") == 30 * 86400
    assert parse_age("12h") == 12 * 3600
    assert parse_age("4W") == 28 * 86400
    for bad in ("", "180", "0d", "-3d", "1.5d", "12m", "d"):
        with pytest.raises(ValueError, match="无法识别"):
            parse_age(bad)


def test_purge_refuses_a_bad_age(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["purge", "--older-than", "half-a-year", "--data-dir", str(tmp_path)]) == 2
    assert "180d" in capsys.readouterr().err


@pytest.mark.postgres
def test_purge_on_postgresql(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url=pg_url, secret_key="x" * 40, data_dir=tmp_path, tick_s=0.05,
                        signing_key_path=tmp_path / "signing.key")
    create_key(tmp_path / "signing.key")
    seed = run_meeting(settings, secret=False)
    age(settings, seed.meeting_id, 200)
    before = export_verify(settings, seed, "before", capsys)
    assert main(["purge", "--older-than", "180d", "--database-url", pg_url, "--data-dir", str(tmp_path)]) == 0
    assert "已清除" in capsys.readouterr().out
    after = personal(settings, seed.meeting_id)
    assert after["comment_text"] == ["", ""] and after["identities"] == 0 and after["asker"] == [""]
    again = export_verify(settings, seed, "after", capsys, root=before["record"]["root"])
    assert again["audit"][-1]["action"] == "data.purge"


def test_sqlite_file_is_checked_by_the_helper(tmp_path: Path) -> None:
    # file_bytes must see a value that is there, or the "gone from the file" check proves nothing.
    db = tmp_path / "x.db"
    with contextlib.closing(sqlite3.connect(db)) as c:
        c.execute("CREATE TABLE t (x TEXT)")
        c.execute("INSERT INTO t VALUES (?)", (COMMENT,))
        c.commit()
    settings = Settings(database_url=f"sqlite:///{db}", secret_key="x" * 40, data_dir=tmp_path)
    assert COMMENT.encode() in file_bytes(settings)
