"""The `live` command, and an end-to-end meeting against a real uvicorn on a free port."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from conftest import Sock, serve_cli
from live.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_help_explains_each_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["demo", "--help"], ["serve", "--help"], ["meeting", "create", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    out = capsys.readouterr().out
    assert "LIVE_DATABASE_URL" in out and "--reset" in out and "示范" in out


def test_demo_seeds_once_and_reset_starts_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["demo", "--data-dir", str(data), "--no-serve", "--port", "8765"]) == 0
    first = capsys.readouterr().out
    code = re.search(r"会议码 ([A-Z2-9]{6})", first)
    assert code, first
    assert f"http://127.0.0.1:8765/host/{code[1]}" in first
    assert f"http://127.0.0.1:8765/screen/{code[1]}" in first
    assert len(re.findall(rf"/p/{code[1]}#t=\S+", first)) == 9 and "人大代表" in first and "行业群众代表" in first
    assert "▀" in first or "▄" in first  # the QR drawn in the terminal
    pw1 = re.search(r"主持人密码\s+(\S+)", first)
    # The demo is held today, and its title names the same year (not a fixed "2024年度").
    from sqlmodel import Session, create_engine, select

    from live.store.models import Meeting
    engine = create_engine(f"sqlite:///{data / 'live.db'}")
    with Session(engine) as s:
        meeting = s.exec(select(Meeting)).one()
    engine.dispose()
    assert meeting.held_on and f"{meeting.held_on[:4]}年度" in meeting.title, (meeting.title, meeting.held_on)
    assert main(["demo", "--data-dir", str(data), "--no-serve"]) == 0
    second = capsys.readouterr().out
    assert f"会议码 {code[1]}" in second  # data reused
    pw2 = re.search(r"主持人密码\s+(\S+)", second)
    assert pw1 and pw2 and pw1[1] != pw2[1]  # shown once: a fresh password every run
    assert main(["demo", "--data-dir", str(data), "--no-serve", "--reset"]) == 0
    third = capsys.readouterr().out
    assert f"会议码 {code[1]}" not in third


def test_meeting_create_rejects_bad_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "m.json"
    spec.write_text(json.dumps({"title": "测试会", "presenters": [{"name": "甲", "post": "局长"}]}), encoding="utf-8")
    assert main(["meeting", "create", str(spec), "--data-dir", str(tmp_path)]) == 2
    assert "unit" in capsys.readouterr().err


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    data = tmp_path / "data"
    out = subprocess.run([sys.executable, "-m", "live.cli", "demo", "--data-dir", str(data), "--no-serve"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    proc, base = serve_cli(data, wait_s=60)
    port = base.rsplit(":", 1)[1]
    code = re.search(r"会议码 ([A-Z2-9]{6})", out)
    password = re.search(r"主持人密码\s+(\S+)", out)
    panel = re.findall(r"/p/[A-Z2-9]+#t=(\S+)", out)
    assert code and password
    try:
        yield {"base": base, "ws": f"ws://127.0.0.1:{port}", "code": code[1], "password": password[1],
               "panel": panel}
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
def test_end_to_end_meeting_over_real_sockets(server: dict[str, Any]) -> None:
    with contextlib.ExitStack() as stack:
        _meeting_over_sockets(server, lambda url, **kw: stack.enter_context(connect(url, **kw)))


def _meeting_over_sockets(server: dict[str, Any], connect: Any) -> None:
    base, code = server["base"], server["code"]
    login = httpx.post(f"{base}/api/meetings/{code}/login", json={"password": server["password"]})
    assert login.status_code == 200
    host_cookie = login.cookies["live_host"]
    host = Sock(connect(f"{server['ws']}/ws/{code}?role=host",
                        additional_headers={"Cookie": f"live_host={host_cookie}"}))
    snap = host.until(lambda m: m["type"] == "snapshot")
    items = [i["id"] for i in snap["state"]["items"]]
    screen = Sock(connect(f"{server['ws']}/ws/{code}?role=screen"))
    phones = []
    for _ in range(3):
        # One cookie per meeting, named for the meeting's id (the demo's only meeting: 1).
        name, dev = next(iter(httpx.get(f"{base}/j/{code}").cookies.items()))
        assert name.startswith("live_dev_")
        phones.append(Sock(connect(f"{server['ws']}/ws/{code}?role=audience",
                                   additional_headers={"Cookie": f"{name}={dev}"})))
    tablets = []
    for t in server["panel"][:2]:
        claimed = httpx.post(f"{base}/api/panel/claim", json={"token": t})
        member = claimed.json()["member_id"]
        cookie = claimed.cookies[f"live_panel_{member}"]
        tablets.append(Sock(connect(f"{server['ws']}/ws/{code}?role=panel&member={member}",
                                    additional_headers={"Cookie": f"live_panel_{member}={cookie}"})))
    assert host.cmd("meeting.start")["type"] == "ack"
    assert host.cmd("item.open", item_id=items[0])["phase"] == "report"
    for _ in range(3):
        host.cmd("item.advance", item_id=items[0])
    for n, voter in enumerate([*phones, *tablets]):
        ack = voter.cmd("vote", item_id=items[0], ballot_id=f"e2e-ballot-{n}", choice={"option": "满意"})
        assert ack["status"] == "stored", ack
    tally = screen.until(lambda m: m["type"] == "tally" and m["tally"]["total"] == 5)["tally"]
    assert tally["groups"]["public"]["count"] == 3 and tally["groups"]["panel"]["count"] == 2
    assert host.cmd("item.advance", item_id=items[0])["phase"] == "done"
    done = screen.until(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "done")["item"]
    assert done["result"]["ballots"] == 5 and len(done["digest"]) == 64
    # (Tablets join after a claim over HTTP, so a presence from before they came may be queued.)
    presence = screen.until(lambda m: m["type"] == "presence" and m["audience"] == 3
                            and len(m["panel_online"]) == 2)
    assert presence["panel_total"] == 9


def test_keys_create_show_and_refuse_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "k" / "signing.key"
    assert main(["keys", "create", "--path", str(path)]) == 0
    out = capsys.readouterr().out
    pub = re.search(r"公钥（base64）(\S+)", out)
    assert pub and path.stat().st_mode & 0o777 == 0o600
    before = path.read_bytes()
    assert main(["keys", "create", "--path", str(path)]) == 1
    assert "--force" in capsys.readouterr().err and path.read_bytes() == before
    assert main(["keys", "show", "--path", str(path)]) == 0
    assert pub[1] in capsys.readouterr().out
    assert main(["keys", "create", "--path", str(path), "--force"]) == 0
    assert pub[1] not in capsys.readouterr().out and path.read_bytes() != before
    assert main(["keys", "show", "--path", str(tmp_path / "none.key")]) == 1
    # The default path comes from the data directory (or LIVE_SIGNING_KEY).
    assert main(["keys", "create", "--data-dir", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "signing.key").stat().st_mode & 0o777 == 0o600


def _signed_export(tmp_path: Path) -> tuple[Path, str, str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from live.domain import record
    from live.domain.scheme import satisfaction_scheme
    from live.reports.verify import build_export
    from live.store.results import freeze_result

    scheme = satisfaction_scheme()
    presenter = {"name": "张三", "post": "局长", "unit": "司法局"}
    ballots = [{"id": f"b-{n}", "group": "public", "choice": {"option": "满意"}} for n in range(3)]
    result, digest = freeze_result(scheme, 1, 1, presenter, ballots)
    items = [{"id": 1, "position": 1, "presenter": presenter, "ballots": ballots, "result": result, "digest": digest}]
    meeting = {"id": 1, "code": "ABCDEF", "title": "述法评议", "held_on": "2025-01-16", "secret": False,
               "status": "ended"}
    audit = [record.next_entry(None, 1, "host", "meeting.end", {}).to_dict()]
    root, _ = record.compute_root(meeting, scheme.to_dict(), items, audit, 1)
    key = Ed25519PrivateKey.generate()
    pub = record.public_key_b64(key)
    rec = {"root": root, "audit_seq": 1, "signature": record.sign_root(key, root), "public_key": pub,
           "key_fingerprint": record.fingerprint(pub), "signed_at_ms": 1}
    path = tmp_path / "ballots.json"
    path.write_text(json.dumps(build_export(meeting, scheme.to_dict(), items, audit, rec), ensure_ascii=False))
    return path, root, pub


def test_verify_expect_and_pubkey_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from live.domain.record import public_key_b64

    path, root, pub = _signed_export(tmp_path)
    assert main(["verify", str(path), "--expect", root, "--pubkey", pub]) == 0
    out = capsys.readouterr().out
    assert root in out and "真实性已核对" in out
    assert main(["verify", str(path)]) == 0
    assert "没有核对真实性" in capsys.readouterr().out
    key_file = tmp_path / "pub.txt"
    key_file.write_text(pub + "\n")
    assert main(["verify", str(path), "--pubkey", str(key_file)]) == 0
    capsys.readouterr()
    assert main(["verify", str(path), "--expect", "0" * 64]) == 1
    assert "核对值不符" in capsys.readouterr().out
    assert main(["verify", str(path), "--pubkey", public_key_b64(Ed25519PrivateKey.generate())]) == 1
    assert "签名核对失败" in capsys.readouterr().out
    assert main(["verify", str(path), "--pubkey", "not-a-key"]) == 2
    capsys.readouterr()
    data = json.loads(path.read_text())
    data["items"][0]["presenter"]["name"] = "李四"
    path.write_text(json.dumps(data, ensure_ascii=False))
    assert main(["verify", str(path)]) == 1
    path.write_text("{")
    assert main(["verify", str(path)]) == 2


def test_meeting_create_is_an_admin_entry_in_the_audit_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    spec = tmp_path / "meeting.json"
    spec.write_text((ROOT / "assets" / "demo_meeting.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["meeting", "create", str(spec), "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    with contextlib.closing(sqlite3.connect(tmp_path / "live.db")) as conn:
        rows = conn.execute("SELECT seq, actor, action, details FROM audit_entry").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, "admin", "meeting.create")]
    assert "述法评议" in json.loads(rows[0][3])["title"]
