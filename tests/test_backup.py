"""``live backup`` and ``live restore``: an online copy taken mid-meeting while ballots are cast
against a real ``live serve``, restored after the server was killed, and every result verified."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from live.cli import main
from live.store.backup import BackupError, inspect
from live.store.server_lock import ServerRunning, exclusive, hold_for_server, lock_path
from tests.conftest import PG_URL, Sock, free_port_for_tests, serve_cli

ROOT = Path(__file__).resolve().parents[1]


def connect(url: str, **kwargs: Any) -> ClientConnection:
    return ws_connect(url, ping_interval=None, close_timeout=1, **kwargs)


@contextlib.contextmanager
def sockets() -> Iterator[list[Sock]]:
    opened: list[Sock] = []
    try:
        yield opened
    finally:
        for s in opened:
            with contextlib.suppress(Exception):
                s.ws.close()


def host_sock(base: str, code: str, password: str, opened: list[Sock]) -> Sock:
    login = httpx.post(f"{base}/api/meetings/{code}/login", json={"password": password})
    assert login.status_code == 200, login.text
    ws = base.replace("http://", "ws://")
    host = Sock(connect(f"{ws}/ws/{code}?role=host",
                        additional_headers={"Cookie": f"live_host={login.cookies['live_host']}"}))
    opened.append(host)
    host.until(lambda m: m["type"] == "snapshot")
    return host


def voters(base: str, code: str, panel_tokens: list[str], phones: int, opened: list[Sock]) -> list[Sock]:
    ws = base.replace("http://", "ws://")
    out: list[Sock] = []
    for _ in range(phones):
        name, dev = next(iter(httpx.get(f"{base}/j/{code}").cookies.items()))
        out.append(Sock(connect(f"{ws}/ws/{code}?role=audience", additional_headers={"Cookie": f"{name}={dev}"})))
    for token in panel_tokens:
        claimed = httpx.post(f"{base}/api/panel/claim", json={"token": token})
        assert claimed.status_code == 200, claimed.text
        member = claimed.json()["member_id"]
        cookie = claimed.cookies[f"live_panel_{member}"]
        out.append(Sock(connect(f"{ws}/ws/{code}?role=panel&member={member}",
                                additional_headers={"Cookie": f"live_panel_{member}={cookie}"})))
    opened.extend(out)
    return out


def to_voting(host: Sock, item_id: int) -> None:
    assert host.cmd("item.open", item_id=item_id)["type"] == "ack"
    for expected in ("inquiry", "comment", "voting"):
        assert host.cmd("item.advance", item_id=item_id)["phase"] == expected


OPTIONS = ("满意", "基本满意", "不满意")


def cast(socks: list[Sock], item_id: int, tag: str, acked: list[str], pause: float = 0.0) -> None:
    for n, v in enumerate(socks):
        ballot = f"ballot-{tag}-{n:03d}"
        ack = v.cmd("vote", item_id=item_id, ballot_id=ballot, choice={"option": OPTIONS[n % 3]})
        assert ack["type"] == "ack" and ack["status"] == "stored", ack
        acked.append(ballot)
        time.sleep(pause)


def ballot_ids(db: Path, item_id: int) -> set[str]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return {r[0] for r in c.execute("SELECT id FROM ballot WHERE item_id = ?", (item_id,))}


def export_and_verify(tmp: Path, db_url: str, code: str, pubkey: str, capsys: pytest.CaptureFixture[str],
                      name: str) -> dict[str, Any]:
    out = tmp / f"{name}.json"
    assert main(["export", "ballots", code, "-o", str(out), "--database-url", db_url, "--data-dir", str(tmp)]) == 0
    export: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    root = export["record"]["root"]
    capsys.readouterr()
    assert main(["verify", str(out), "--expect", root, "--pubkey", pubkey]) == 0, capsys.readouterr().out
    report = capsys.readouterr().out
    assert "核验通过" in report and "真实性已核对" in report, report
    return export


def make_data(data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str, list[str], str]:
    """A data directory with a signing key and the demo meeting (without its slide decks):
    the meeting code, the host password, the panel tokens and the public key."""
    assert main(["keys", "create", "--data-dir", str(data)]) == 0
    pub = re.search(r"公钥（base64）(\S+)", capsys.readouterr().out)
    assert main(["meeting", "create", str(ROOT / "assets" / "demo_meeting.json"), "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    code = re.search(r"会议码 ([A-Z2-9]{6})", out)
    password = re.search(r"主持人密码\s+(\S+)", out)
    tokens = re.findall(r"/p/[A-Z2-9]+#t=(\S+)", out)
    assert pub and code and password and len(tokens) == 9, out
    return code[1], password[1], tokens, pub[1]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_backup_mid_meeting_restore_after_a_kill_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    db = data / "live.db"
    code, password, tokens, pubkey = make_data(data, capsys)
    backup = tmp_path / "mid-meeting.db"

    proc, base = serve_cli(data)
    try:
        with sockets() as opened:
            host = host_sock(base, code, password, opened)
            with contextlib.closing(sqlite3.connect(db)) as c:
                items = [r[0] for r in c.execute("SELECT id FROM agenda_item ORDER BY position")]
            people = voters(base, code, tokens, 30, opened)
            assert host.cmd("meeting.start")["type"] == "ack"
            # 第一位：测评结束、结果冻结（39 张选票）。
            to_voting(host, items[0])
            first: list[str] = []
            cast(people, items[0], "a", first)
            assert host.cmd("item.advance", item_id=items[0])["phase"] == "done"
            # 第二位：测评进行中，选票不断写入时做在线备份。
            to_voting(host, items[1])
            second: list[str] = []
            voting = threading.Thread(target=cast, args=(people, items[1], "b", second, 0.03))
            voting.start()
            while len(second) < 10:
                time.sleep(0.01)
            before = len(second)
            assert main(["backup", "-o", str(backup), "--data-dir", str(data)]) == 0
            after = len(second)
            printed = capsys.readouterr().out
            assert "integrity_check: ok" in printed and str(backup) in printed
            assert re.search(r"SHA-256 [0-9a-f]{64}", printed)
            # Restoring while the server runs is refused, and nothing is touched.
            assert main(["restore", str(backup), "--data-dir", str(data)]) == 3
            err = capsys.readouterr().err
            assert "拒绝恢复" in err and "服务器正在使用" in err and "Refused" in err
            assert str(proc.pid) in err
            assert not list(data.glob("live.before-restore-*"))
            voting.join(30)
            assert len(second) == len(people) == 39
            assert host.cmd("item.advance", item_id=items[1])["phase"] == "done"
        saved = ballot_ids(backup, items[1])
        assert before <= len(saved) <= after + 1, (before, len(saved), after)  # +1: a ballot stored, ack in flight
        assert 10 <= len(saved) < 39, "the backup must be taken while ballots were still coming in"
        assert saved <= set(second) and ballot_ids(backup, items[0]) == set(first)
    finally:
        # Killed, not stopped: the kernel drops a dead server's lock, so no stale lock blocks the restore.
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    # The backup alone verifies: the first result is frozen, the second 测评 still open.
    mid = export_and_verify(tmp_path, f"sqlite:///{backup}", code, pubkey, capsys, "backup")
    assert [i["result"] is not None for i in mid["items"]] == [True, False, False]

    full = ballot_ids(db, items[1])
    assert len(full) == 39
    assert main(["restore", str(backup), "--data-dir", str(data)]) == 0
    said = capsys.readouterr().out
    aside = next(data.glob("live.before-restore-*.db"))
    assert str(aside) in said and "已从" in said
    assert ballot_ids(aside, items[1]) == full  # the replaced database, kept whole (its WAL folded in)
    assert ballot_ids(db, items[1]) == saved
    assert not (data / "live.db-wal").exists() or (data / "live.db-wal").stat().st_size == 0

    # The restored meeting carries on: close the second 测评, run the third, end the meeting.
    proc, base = serve_cli(data)
    try:
        with sockets() as opened:
            host = host_sock(base, code, password, opened)
            assert host.cmd("item.advance", item_id=items[1])["phase"] == "done"
            to_voting(host, items[2])
            phones = voters(base, code, [], 5, opened)
            cast(phones, items[2], "c", [])
            assert host.cmd("item.advance", item_id=items[2])["phase"] == "done"
            assert host.cmd("meeting.end")["type"] == "ack"
    finally:
        proc.terminate()
        proc.wait(15)
    final = export_and_verify(tmp_path, f"sqlite:///{db}", code, pubkey, capsys, "restored")
    assert [i["result"]["ballots"] for i in final["items"]] == [39, len(saved), 5]
    assert {b["id"] for b in final["items"][1]["ballots"]} == saved


def _corrupt(src: Path, dst: Path) -> None:
    raw = bytearray(src.read_bytes())
    page = 4096
    for n in range(page * 3, min(len(raw), page * 6)):
        raw[n] = 0x5A
    dst.write_bytes(bytes(raw))


def test_restore_checks_the_file_before_touching_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    make_data(data, capsys)
    good = tmp_path / "good.db"
    assert main(["backup", "-o", str(good), "--data-dir", str(data)]) == 0
    assert good.stat().st_mode & 0o777 == 0o600
    capsys.readouterr()
    db = data / "live.db"
    before = db.read_bytes()

    other = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(other)) as c:
        c.execute("CREATE TABLE notes (x TEXT)")
        c.commit()
    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    with contextlib.closing(sqlite3.connect(newer)) as c:
        c.execute("UPDATE alembic_version SET version_num = '9999'")
        c.commit()
    broken = tmp_path / "broken.db"
    _corrupt(good, broken)
    text = tmp_path / "notes.txt"
    text.write_text("不是数据库", encoding="utf-8")
    cases = [(text, "不是 SQLite 数据库"), (other, "不是述法评议 Live 的数据库"), (newer, "不是本程序认识的版本"),
             (broken, "完整性检查|已损坏|malformed"), (tmp_path / "missing.db", "找不到文件")]
    for path, message in cases:
        assert main(["restore", str(path), "--data-dir", str(data)]) == 2, path
        err = capsys.readouterr().err
        assert re.search(message, err), (path, err)
        assert "Refused" in err
    assert db.read_bytes() == before and not list(data.glob("live.before-restore-*"))
    with pytest.raises(BackupError):
        inspect(broken)
    assert inspect(good).meetings == 1


def test_lock_shared_by_servers_exclusive_for_restore(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    assert lock_path(url) == tmp_path / ".live.db.lock"
    assert lock_path("postgresql://u@h/db") is None
    a, b = hold_for_server(url), hold_for_server(url)  # two workers of one installation
    assert a is not None and b is not None
    with pytest.raises(ServerRunning) as info:
        exclusive(url)
    assert info.value.pid == os.getpid()
    a.release()
    with pytest.raises(ServerRunning):
        exclusive(url)
    b.release()
    held = exclusive(url)
    assert held is not None
    with pytest.raises(ServerRunning, match="正被恢复"):  # a server starting mid-restore refuses
        hold_for_server(url)
    held.release()
    again = hold_for_server(url)
    assert again is not None
    again.release()


def test_a_running_app_refuses_restore_in_the_same_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from live.config import Settings
    from tests.conftest import uvicorn_in_thread

    data = tmp_path / "data"
    make_data(data, capsys)
    good = tmp_path / "good.db"
    assert main(["backup", "-o", str(good), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    settings = Settings(database_url=f"sqlite:///{data / 'live.db'}", secret_key="x" * 40, data_dir=data)
    with uvicorn_in_thread(settings):
        assert main(["restore", str(good), "--data-dir", str(data)]) == 3
        assert "拒绝恢复" in capsys.readouterr().err
    assert main(["restore", str(good), "--data-dir", str(data)]) == 0


def test_postgresql_gets_the_pg_dump_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = "postgresql://live@127.0.0.1/live"
    assert main(["backup", "-o", str(tmp_path / "x.db"), "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "pg_dump --format=custom" in err and "pg_restore --clean" in err
    assert main(["restore", str(tmp_path / "x.db"), "--database-url", url]) == 2
    assert "pg_restore" in capsys.readouterr().err
    docs = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for flag in ("pg_dump --format=custom --no-owner",
                 "pg_restore --clean --if-exists --no-owner --single-transaction"):
        assert flag in docs and flag in err


@pytest.mark.postgres
def test_documented_pg_dump_and_pg_restore_round_trip(pg_url: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The commands docs/operations.md gives, run for real on one schema of the test database."""
    import shutil

    import psycopg

    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore are not installed")
    from live.config import Settings
    from tests.conftest import DEMO, seed_meeting

    settings = Settings(database_url=pg_url, secret_key="x" * 40, data_dir=tmp_path)
    seed = seed_meeting(settings, {**DEMO, "title": "备份恢复演练"})
    schema = re.search(r"search_path%3D(\w+)", pg_url)
    assert schema
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain) as conn:
        kept = conn.execute(f'SELECT count(*) FROM "{schema[1]}".audit_entry').fetchone()
    dump = tmp_path / "live.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--schema={schema[1]}", f"--file={dump}", plain],
                   check=True)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'UPDATE "{schema[1]}".meeting SET title = %s', ("被改坏的标题",))
        conn.execute(f'DELETE FROM "{schema[1]}".audit_entry')
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
                    f"--dbname={plain}", str(dump)], check=True)
    with psycopg.connect(plain) as conn:
        title = conn.execute(f'SELECT title FROM "{schema[1]}".meeting WHERE id = %s', (seed.meeting_id,)).fetchone()
        audit = conn.execute(f'SELECT count(*) FROM "{schema[1]}".audit_entry').fetchone()
    assert title == ("备份恢复演练",)
    assert audit == kept
    out = tmp_path / "pg.json"
    assert main(["export", "ballots", seed.code, "-o", str(out), "--database-url", pg_url,
                 "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0, capsys.readouterr().out


def test_serve_refuses_to_start_mid_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'live.db'}"
    make_data(data, capsys)
    held = exclusive(url)  # a restore under way: `live serve` refuses to start
    assert held is not None
    with pytest.raises(SystemExit, match="拒绝启动"):
        main(["serve", "--data-dir", str(data), "--secret-key", "k" * 40, "--port", str(free_port_for_tests())])
    held.release()
    # The refused start left nothing held: a restore goes ahead in the same process.
    good = tmp_path / "good.db"
    assert main(["backup", "-o", str(good), "--data-dir", str(data)]) == 0
    assert main(["restore", str(good), "--data-dir", str(data)]) == 0


def test_backup_and_restore_carry_the_rectification_attachments(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Owners' report files (``attachments/``) go into ``X.attachments.tar`` beside ``X.db`` and come
    back with ``live restore X.db``; the attachments it replaces are kept aside."""
    data = tmp_path / "data"
    make_data(data, capsys)
    files = {"attachments/1/aa11.pdf": b"%PDF-1.4 report", "attachments/7/bb22.jpg": b"\xff\xd8\xff photo"}
    for name, body in files.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(body)
    (data / "attachments/7/.cc33.png.part").write_bytes(b"half written")
    backup = tmp_path / "bk" / "live-1.db"
    assert main(["backup", "-o", str(backup), "--data-dir", str(data)]) == 0
    assert "整改附件 2 个" in capsys.readouterr().out
    archive = tmp_path / "bk" / "live-1.attachments.tar"
    assert archive.is_file() and archive.stat().st_mode & 0o077 == 0
    # After the backup: one file lost, one added.
    (data / "attachments/1/aa11.pdf").unlink()
    (data / "attachments/9").mkdir()
    (data / "attachments/9/late.pdf").write_bytes(b"after the backup")
    assert main(["restore", str(backup), "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "整改附件 2 个已从" in out, out
    for name, body in files.items():
        assert (data / name).read_bytes() == body
    assert not (data / "attachments/9").exists() and not (data / "attachments/7/.cc33.png.part").exists()
    aside = [p for p in data.iterdir() if p.name.startswith("attachments.before-restore-")]
    assert len(aside) == 1 and (aside[0] / "9" / "late.pdf").read_bytes() == b"after the backup"


def test_restore_refuses_an_attachment_archive_that_reaches_outside(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import tarfile

    data = tmp_path / "data"
    make_data(data, capsys)
    backup = tmp_path / "live-2.db"
    assert main(["backup", "-o", str(backup), "--data-dir", str(data)]) == 0
    with tarfile.open(tmp_path / "live-2.attachments.tar", "w") as tar:
        evil = tarfile.TarInfo("attachments/../secret.key")
        evil.size = 4
        tar.addfile(evil, io.BytesIO(b"evil"))
    before = (data / "secret.key").read_bytes() if (data / "secret.key").exists() else None
    capsys.readouterr()
    assert main(["restore", str(backup), "--data-dir", str(data)]) == 1
    assert "整改附件归档无法恢复" in capsys.readouterr().err
    after = (data / "secret.key").read_bytes() if (data / "secret.key").exists() else None
    assert before == after
