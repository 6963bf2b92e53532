"""The meeting record: the root, its signature, the audit chain, tampering, void,
publication at /r/CODE and who may reach the record's routes."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from docx import Document
from openpyxl import load_workbook
from sqlmodel import Session, select
from starlette.testclient import TestClient

from conftest import DEMO, Conn, Seed, close_sockets, item_ids, login, open_ws, panel_ws, seed_meeting
from live.config import Settings
from live.domain import record
from live.domain.scheme import Scheme
from live.keys import create_key, load_key
from live.reports.results_xlsx import write_results_xlsx
from live.reports.verify import _ranking_dicts, verify_export
from live.store.db import make_engine
from live.store.models import AuditRow, Ballot
from live.store.results import freeze_result
from live.web.app import create_app

# --- the encoding, the chain, the signature (pure) ------------------------------------


def test_canonical_encoding_is_the_documented_one() -> None:
    value = {"b": [1, "二"], "a": {"z": None, "y": True}}
    assert record.canonical(value) == '{"a":{"y":true,"z":null},"b":[1,"二"]}'.encode()
    with pytest.raises(record.RecordError):
        record.canonical({"score": 1.5})


def test_root_is_sha256_of_the_documented_payload() -> None:
    meeting = {"id": 1, "code": "ABCDEF", "title": "述法评议", "held_on": "2025-01-16", "secret": False,
               "status": "ended"}
    scheme = {"kind": "satisfaction"}
    items = [{"id": 7, "position": 1, "presenter": {"name": "张三", "post": "局长", "unit": "司法局"},
              "ballots": [{"id": "b2", "group": "public", "choice": {"option": "满意"}},
                          {"id": "b1", "group": "panel", "choice": {"option": "不满意"}, "source": "paper"}],
              "result": {"total": "50"}}]
    audit = [record.next_entry(None, 1000, "host", "meeting.start", {}).to_dict()]
    root, digests = record.compute_root(meeting, scheme, items, audit, 1)
    item_payload = {"format": "shufa-live/item", "version": 2, "closed": True,
                    "item": {"id": 7, "position": 1, "presenter": {"name": "张三", "post": "局长", "unit": "司法局"}},
                    "scheme": scheme,
                    "ballots": [{"id": "b1", "group": "panel", "choice": {"option": "不满意"}, "source": "paper"},
                                {"id": "b2", "group": "public", "choice": {"option": "满意"}}]}
    text = json.dumps(item_payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    item_hex = hashlib.sha256(text.encode()).hexdigest()
    assert digests == [(7, item_hex)]
    root_payload = {"format": "shufa-live/record", "version": 1,
                    "meeting": {k: v for k, v in meeting.items() if k != "status"}, "scheme": scheme,
                    "items": [item_hex], "audit": {"seq": 1, "head": audit[0]["hash"]}}
    text = json.dumps(root_payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert root == hashlib.sha256(text.encode()).hexdigest()
    # An open 测评's ballots are not in the record yet.
    open_items = [{**items[0], "result": None}]
    open_root, _ = record.compute_root(meeting, scheme, open_items, audit, 1)
    more = [{**open_items[0], "ballots": [*items[0]["ballots"], {"id": "b3", "group": "public", "choice": {}}]}]
    assert record.compute_root(meeting, scheme, more, audit, 1)[0] == open_root != root


def test_signature_verifies_and_fails() -> None:
    key = Ed25519PrivateKey.generate()
    other = Ed25519PrivateKey.generate()
    root = "ab" * 32
    sig = record.sign_root(key, root)
    pub = record.public_key_b64(key)
    assert record.verify_signature(pub, root, sig)
    hex_pub = __import__("base64").b64decode(pub).hex()
    assert record.verify_signature(hex_pub, root, sig)
    assert not record.verify_signature(pub, "cd" * 32, sig)
    assert not record.verify_signature(record.public_key_b64(other), root, sig)
    assert not record.verify_signature(pub, root, record.sign_root(other, root))
    assert not record.verify_signature(pub, root, "not base64!")
    assert len(record.fingerprint(pub)) == 16


def _chain(n: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    prev: record.AuditEntry | None = None
    for k in range(n):
        prev = record.next_entry(prev, 1000 + k, "host", f"act.{k}", {"k": k})
        entries.append(prev.to_dict())
    return entries


def test_audit_chain_detects_edits_deletions_and_reordering() -> None:
    good = _chain(5)
    assert record.chain_problems(good) == []
    edited = copy.deepcopy(good)
    edited[2]["details"]["k"] = 99
    assert any("被改动" in p for p in record.chain_problems(edited))
    deleted = good[:2] + good[3:]
    assert record.chain_problems(deleted)
    swapped = [good[0], good[2], good[1], *good[3:]]
    assert record.chain_problems(swapped)
    actor = copy.deepcopy(good)
    actor[0]["actor"] = "admin"
    assert record.chain_problems(actor)
    typed = copy.deepcopy(good)
    typed[0]["seq"] = True  # equal to 1 in Python, but not the same JSON
    assert record.chain_problems(typed)


def test_public_args_drop_secrets() -> None:
    clean = record.public_args({"password": "x", "item_id": 3, "nested": {"pin": "1234", "ok": 1}})
    assert clean == {"password": "（已隐去）", "item_id": 3, "nested": {"pin": "（已隐去）", "ok": 1}}
    # A ticket batch and a roster are logged by size: no hashes, no names or phone numbers.
    batch = record.public_args({"group": "群众代表", "hashes": ["ab" * 32] * 3,
                                "voters": [{"name": "张三", "contact": "13800000000"}]})
    assert batch == {"group": "群众代表", "hashes": "（3 项，已隐去）", "voters": "（1 项，已隐去）"}
    assert record.public_args({"device_hash": "ff" * 32}) == {"device_hash": "（已隐去）"}
    rows = [{"row": 2, "item_id": 1, "content": "问题", "source": "信箱", "asker": "王女士"}]
    imported = record.public_args({"rows": rows, "status": "approved"})
    assert imported == {"rows": "（1 项，已隐去）", "status": "approved"}


# --- the key file --------------------------------------------------------------------


def test_key_file_is_0600_and_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.key"
    key = create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    from live.keys import KeyFileError

    with pytest.raises(KeyFileError):
        create_key(path)
    loaded = load_key(path)
    assert loaded is not None and record.public_key_b64(loaded) == record.public_key_b64(key)
    replaced = create_key(path, force=True)
    assert record.public_key_b64(replaced) != record.public_key_b64(key)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_key(tmp_path / "missing.key") is None


# --- a whole meeting, sealed and signed --------------------------------------------


@pytest.fixture
def signed_settings(settings: Settings) -> Settings:
    settings.signing_key_path = settings.data_dir / "signing.key"
    create_key(settings.signing_key_path)
    return settings


@pytest.fixture
def signed(signed_settings: Settings) -> Iterator[tuple[TestClient, Seed]]:
    seed = seed_meeting(signed_settings)
    with TestClient(create_app(signed_settings)) as c:
        try:
            yield c, seed
        finally:
            close_sockets()


def _host(client: TestClient, seed: Seed) -> Conn:
    login(client, seed)
    return Conn(open_ws(client, f"/ws/{seed.code}?role=host"))


def _vote_item(client: TestClient, seed: Seed, h: Conn, item_id: int, choices: list[str], tag: str) -> None:
    assert h.cmd("item.open", item_id=item_id)["type"] == "ack"
    for expected in ("inquiry", "comment", "voting"):
        assert h.cmd("item.advance", item_id=item_id)["phase"] == expected
    for n, choice in enumerate(choices):
        cookie = seed.device_cookie(f"device-{tag}-{n:04d}")
        v = Conn(open_ws(client, f"/ws/{seed.code}?role=audience", headers={"cookie": f"live_dev={cookie}"}))
        ack = v.cmd("vote", item_id=item_id, ballot_id=f"ballot-{tag}-{n:04d}", choice={"option": choice})
        assert ack["type"] == "ack", ack
    p = Conn(open_ws(client, panel_ws(client, seed, 0)))
    assert p.cmd("vote", item_id=item_id, ballot_id=f"panel-{tag}-0001", choice={"option": "满意"})["type"] == "ack"
    assert h.cmd("item.advance", item_id=item_id)["phase"] == "done"


def _run_meeting(client: TestClient, seed: Seed, end: bool = True) -> Conn:
    h = _host(client, seed)
    assert h.cmd("meeting.start")["type"] == "ack"
    ids = item_ids(h)
    _vote_item(client, seed, h, ids[0], ["满意", "满意", "基本满意"], "a")
    _vote_item(client, seed, h, ids[1], ["不满意", "基本满意", "满意", "不满意"], "b")
    _vote_item(client, seed, h, ids[2], ["满意"], "c")
    if end:
        assert h.cmd("meeting.end")["type"] == "ack"
    return h


def _export(client: TestClient, seed: Seed) -> dict[str, Any]:
    r = client.get(f"/api/meetings/{seed.code}/export/ballots.json")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _pubkey(settings: Settings) -> str:
    assert settings.signing_key_path is not None
    key = load_key(settings.signing_key_path)
    assert key is not None
    return record.public_key_b64(key)


def reforge(e: dict[str, Any], key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """Make a tampered export consistent again with the project's own functions: re-freeze every
    item, rebuild the ranking, re-chain the audit log and recompute the root. Without the
    installation key the forger keeps the old signature (or signs with a key of their own)."""
    from live.domain.scoring import ItemResult, rank

    scheme = Scheme.from_dict(e["scheme"])
    for item in e["items"]:
        if item["result"] is not None:
            item["result"], item["digest"] = freeze_result(scheme, item["id"], item["position"], item["presenter"],
                                                           item["ballots"])
    e["counts"] = {"items": len(e["items"]), "ballots": sum(len(i["ballots"]) for i in e["items"])}
    frozen = {i["id"]: None if i["result"] is None else ItemResult.from_dict(i["result"]) for i in e["items"]}
    e["ranking"] = _ranking_dicts(rank(frozen))
    prev: record.AuditEntry | None = None
    chain = []
    for entry in e["audit"]:
        prev = record.next_entry(prev, entry["at_ms"], entry["actor"], entry["action"], entry["details"])
        chain.append(prev.to_dict())
    e["audit"] = chain
    rec = e["record"]
    rec["root"], _ = record.compute_root(e["meeting"], e["scheme"], e["items"], chain, rec["audit_seq"])
    if key is not None:
        rec["signature"] = record.sign_root(key, rec["root"])
        rec["public_key"] = record.public_key_b64(key)
        rec["key_fingerprint"] = record.fingerprint(rec["public_key"])
    return e


def test_untouched_export_passes_with_root_and_signature(signed: tuple[TestClient, Seed]) -> None:
    client, seed = signed
    h = _run_meeting(client, seed)
    rec = h.expect(lambda m: m["type"] == "meeting.updated" and m.get("cause") == "record"
                   and m["meeting"]["status"] == "ended")["meeting"]["record"]
    export = _export(client, seed)
    assert export["version"] == 2 and export["record"]["root"] == rec["root"]
    pub = _pubkey(seed.settings)
    report = verify_export(export, expect=rec["root"], pubkey=pub)
    assert report.ok, report.problems
    assert report.record is not None and report.record.authenticated and report.record.root == rec["root"]
    # Every host action is in the chain, with its actor; ballots are not.
    actions = [(e["actor"], e["action"]) for e in export["audit"]]
    assert ("host", "meeting.start") in actions and ("host", "meeting.end") in actions
    assert sum(1 for _, a in actions if a == "item.advance") == 12
    assert not any(a == "vote" for _, a in actions)
    assert export["record"]["audit_seq"] == len(export["audit"])
    # The reforge helper itself changes nothing on an untouched file.
    assert verify_export(reforge(copy.deepcopy(export)), expect=rec["root"], pubkey=pub).ok


def test_imported_askers_are_counted_not_logged(signed: tuple[TestClient, Seed]) -> None:
    """A question import's rows (content, asker names) reach the audit log and the signed record
    only as a count; the export still verifies."""
    client, seed = signed
    login(client, seed)
    asker = "欧阳晓梅"
    csv = f"来源,内容,述法人,提问人\n12345热线,农村道路什么时候硬化？,马文亮,{asker}\n".encode()
    r = client.post(f"/api/meetings/{seed.code}/questions/import",
                    files={"file": ("questions.csv", csv, "application/octet-stream")})
    assert r.status_code == 200 and r.json()["imported"] == 1, r.text
    entries = client.get(f"/api/meetings/{seed.code}/audit").json()["entries"]
    imported = [e for e in entries if e["action"] == "question.import"]
    assert len(imported) == 1 and imported[0]["details"]["rows"] == "（1 项，已隐去）"
    assert asker not in json.dumps(entries, ensure_ascii=False)
    _run_meeting(client, seed)
    export = _export(client, seed)
    assert asker not in json.dumps([export["audit"], export["record"]], ensure_ascii=False)
    assert verify_export(export, pubkey=_pubkey(seed.settings)).ok


def _swap_names(e: dict[str, Any]) -> None:
    a, b = e["items"][0]["presenter"], e["items"][1]["presenter"]
    a["name"], b["name"] = b["name"], a["name"]


def _drop_presenter(e: dict[str, Any]) -> None:
    del e["items"][1]


def _change_ballot(e: dict[str, Any]) -> None:
    ballot = next(b for b in e["items"][1]["ballots"] if b["choice"].get("option") == "不满意")
    ballot["choice"] = {"option": "满意"}


def _change_title(e: dict[str, Any]) -> None:
    e["meeting"]["title"] = "另一个会议"


def _edit_audit(e: dict[str, Any]) -> None:
    entry = next(x for x in e["audit"] if x["action"] == "item.advance")
    entry["details"]["item_id"] = 999


TAMPERING = {"swap two presenter names": _swap_names, "drop a presenter": _drop_presenter,
             "change a ballot": _change_ballot, "change the title": _change_title,
             "edit an audit entry": _edit_audit}


def test_every_tampering_fails_verify(signed: tuple[TestClient, Seed]) -> None:
    client, seed = signed
    _run_meeting(client, seed)
    export = _export(client, seed)
    root, pub = export["record"]["root"], _pubkey(seed.settings)
    forger = Ed25519PrivateKey.generate()
    for name, tamper in TAMPERING.items():
        # Crude: the edit alone; the recount or the root check catches it even with no flags.
        crude = copy.deepcopy(export)
        tamper(crude)
        assert not verify_export(crude).ok, name
        # Careful: everything recomputed with the project's own functions, the old signature kept.
        careful = reforge(copy.deepcopy(export))
        tamper(careful)
        careful = reforge(careful)
        report = verify_export(careful)
        assert not report.ok and any("签名" in p for p in report.problems), (name, report.problems)
        assert not verify_export(careful, pubkey=pub).ok, name
        assert not verify_export(careful, expect=root).ok, name
        # Re-signed with the forger's own key: consistent on its own, caught by --pubkey and --expect.
        resigned = reforge(copy.deepcopy(careful), forger)
        alone = verify_export(resigned)
        assert alone.ok and any("真实性" in n for n in alone.notes), name
        assert not verify_export(resigned, pubkey=pub).ok, name
        assert not verify_export(resigned, expect=root).ok, name


def test_replaced_signature_fails(signed: tuple[TestClient, Seed]) -> None:
    client, seed = signed
    _run_meeting(client, seed)
    export = _export(client, seed)
    pub = _pubkey(seed.settings)
    forger = Ed25519PrivateKey.generate()
    swapped = copy.deepcopy(export)
    swapped["record"]["signature"] = record.sign_root(forger, swapped["record"]["root"])
    assert not verify_export(swapped).ok
    assert not verify_export(swapped, pubkey=pub).ok
    unsigned = copy.deepcopy(export)
    unsigned["record"]["signature"] = None
    assert not verify_export(unsigned, pubkey=pub).ok


def test_void_needs_a_reason_is_logged_and_re_runs(signed: tuple[TestClient, Seed]) -> None:
    client, seed = signed
    h = _run_meeting(client, seed, end=False)
    first = item_ids(h)[0]
    old_digest = h.item(first)["digest"]
    old_root = h.state["meeting"]["record"]["root"]
    refused = h.cmd("item.void", item_id=first, reason="重测")
    assert refused["type"] == "error" and refused["code"] == "reason_required"
    missing = h.cmd("item.void", item_id=first)
    assert missing["type"] == "error"
    assert h.item(first)["digest"] == old_digest
    ack = h.cmd("item.void", item_id=first, reason="计票设备故障，重新测评")
    assert ack["type"] == "ack" and ack["voided_ballots"] == 4
    h.expect(lambda m: m["type"] == "item.updated" and m.get("cause") == "void")
    h.expect(lambda m: m["type"] == "meeting.updated" and m.get("cause") == "record")
    assert h.item(first)["phase"] == "comment" and h.item(first)["result"] is None
    assert h.state["meeting"]["record"]["root"] != old_root
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        assert not s.exec(select(Ballot).where(Ballot.item_id == first)).all()
        row = s.exec(select(AuditRow).where(AuditRow.action == "item.void")).one()
    engine.dispose()
    details = orjson.loads(row.details)
    assert details["reason"] == "计票设备故障，重新测评" and details["outcome"]["old_digest"] == old_digest
    assert row.actor == "host"
    # The 测评 runs again and closes; the meeting ends; the record verifies.
    assert h.cmd("item.advance", item_id=first)["phase"] == "voting"
    cookie = seed.device_cookie("device-rerun-0001")
    v = Conn(open_ws(client, f"/ws/{seed.code}?role=audience", headers={"cookie": f"live_dev={cookie}"}))
    assert v.cmd("vote", item_id=first, ballot_id="ballot-rerun-0001", choice={"option": "满意"})["type"] == "ack"
    assert h.cmd("item.advance", item_id=first)["phase"] == "done"
    assert h.cmd("meeting.end")["type"] == "ack"
    export = _export(client, seed)
    report = verify_export(export, pubkey=_pubkey(seed.settings))
    assert report.ok, report.problems
    voids = [e for e in export["audit"] if e["action"] == "item.void"]
    assert len(voids) == 1 and voids[0]["details"]["outcome"]["old_digest"] == old_digest
    # Once the meeting ended the record is sealed: no more voids.
    late = h.cmd("item.void", item_id=first, reason="会后再作废一次")
    assert late["type"] == "error"


def test_publish_opt_in_and_public_page(signed: tuple[TestClient, Seed]) -> None:
    client, seed = signed
    h = _run_meeting(client, seed, end=False)
    assert client.get(f"/r/{seed.code}").status_code == 404
    assert client.get(f"/api/public/{seed.code}/results").status_code == 404
    assert client.get(f"/api/public/{seed.code}/ballots.json").status_code == 404
    early = h.cmd("meeting.publish", on=True)
    assert early["type"] == "error" and early["code"] == "not_ended"
    # Phones and panel tablets cannot publish.
    cookie = seed.device_cookie("device-pub-0001")
    phone = Conn(open_ws(client, f"/ws/{seed.code}?role=audience", headers={"cookie": f"live_dev={cookie}"}))
    assert phone.cmd("meeting.publish", on=True)["code"] == "forbidden"
    tablet = Conn(open_ws(client, panel_ws(client, seed, 1)))
    assert tablet.cmd("meeting.publish", on=True)["code"] == "forbidden"
    assert h.cmd("meeting.end")["type"] == "ack"
    assert client.get(f"/r/{seed.code}").status_code == 404
    assert h.cmd("meeting.publish", on=True)["published"] is True
    page = client.get(f"/r/{seed.code.lower()}")
    assert page.status_code == 200 and "public-results.js" in page.text
    data = client.get(f"/api/public/{seed.code}/results").json()
    root = data["meeting"]["record"]["root"]
    assert len(root) == 64 and data["meeting"]["ranking"][0]["rank"] == 1
    assert len(data["items"]) == 3 and data["items"][0]["result"] is not None
    public_file = client.get(f"/api/public/{seed.code}/ballots.json").json()
    assert verify_export(public_file, expect=root, pubkey=_pubkey(seed.settings)).ok
    # The recorder's page is /recorder (its token in the fragment); /r/ is only the results page.
    assert client.get("/recorder").status_code == 200
    assert h.cmd("meeting.publish", on=False)["published"] is False
    assert client.get(f"/api/public/{seed.code}/results").status_code == 404


def test_root_qr_xlsx_and_checkup_carry_the_root(signed: tuple[TestClient, Seed], tmp_path: Path) -> None:
    client, seed = signed
    assert client.get(f"/qr/record/{seed.code}.png").status_code == 404
    _run_meeting(client, seed)
    export = _export(client, seed)
    root = export["record"]["root"]
    qr = client.get(f"/qr/record/{seed.code}.png")
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
    assert decoded and decoded[0].text == root
    out = tmp_path / "results.xlsx"
    write_results_xlsx(export, out)
    ws = load_workbook(out)["记录与签名"]
    values = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(3, 10)}
    assert values["会议记录根摘要（SHA-256）"] == root
    assert values["签名（Ed25519，base64）"] == export["record"]["signature"]
    assert values["签名公钥（base64）"] == _pubkey(seed.settings)
    item = item_ids_from_export(export)[0]
    docx = client.get(f"/api/meetings/{seed.code}/items/{item}/checkup.docx")
    assert docx.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert root in text
    pdf = client.get(f"/api/meetings/{seed.code}/items/{item}/checkup.pdf")
    assert pdf.status_code == 200
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf.content)
    try:
        pdf_text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    assert root in "".join(pdf_text.split())  # the line may wrap inside the 64 digits


def item_ids_from_export(export: dict[str, Any]) -> list[int]:
    return [int(i["id"]) for i in export["items"]]


def test_audit_route_role_matrix_and_actors(settings: Settings) -> None:
    a = seed_meeting(settings)
    b = seed_meeting(settings, {**DEMO, "title": "另一场会议"})
    with TestClient(create_app(settings)) as client:
        try:
            _role_matrix(client, a, b)
        finally:
            close_sockets()


def _role_matrix(client: TestClient, a: Seed, b: Seed) -> None:
    assert client.get(f"/api/meetings/{a.code}/audit").status_code == 401
    login(client, a)
    r = client.get(f"/api/meetings/{a.code}/audit")
    assert r.status_code == 200 and r.json()["chain_ok"] is True
    # The host of meeting A cannot read B's log.
    assert client.get(f"/api/meetings/{b.code}/audit").status_code == 401
    # A recorder's action is logged as the recorder's.
    token = client.get(f"/api/meetings/{a.code}/recorder").json()["token"]
    h = Conn(open_ws(client, f"/ws/{a.code}?role=host"))
    assert h.cmd("meeting.start")["type"] == "ack"
    first = item_ids(h)[0]
    # The bearer token decides (the host cookie in this client is not used for it).
    r = client.post(f"/api/meetings/{a.code}/items/{first}/problems", json={"description": "执法程序不规范"},
                  headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    # Revoking a panel link goes through the writer and is logged.
    member = client.get(f"/api/meetings/{a.code}/panel").json()["members"][0]["id"]
    assert client.post(f"/api/meetings/{a.code}/panel/{member}/revoke").status_code == 200
    entries = client.get(f"/api/meetings/{a.code}/audit").json()["entries"]
    assert [(e["actor"], e["action"]) for e in entries][-3:] == [
        ("host", "meeting.start"), ("recorder", "problem.add"), ("host", "panel.revoke")]
    assert entries[-1]["details"]["member_id"] == member
    assert record.chain_problems(entries) == []
    # Nothing of meeting A reached B's chain.
    login(client, b)
    assert client.get(f"/api/meetings/{b.code}/audit").json()["entries"] == []


def test_record_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=pg_url, secret_key="test-secret-key", data_dir=tmp_path, tick_s=0.05,
                        signing_key_path=tmp_path / "signing.key")
    create_key(tmp_path / "signing.key")
    seed = seed_meeting(settings)
    with TestClient(create_app(settings)) as client:
        try:
            h = _host(client, seed)
            assert h.cmd("meeting.start")["type"] == "ack"
            _vote_item(client, seed, h, item_ids(h)[0], ["满意", "不满意"], "pg")
            assert h.cmd("meeting.end")["type"] == "ack"
            export = _export(client, seed)
        finally:
            close_sockets()
    root = export["record"]["root"]
    assert verify_export(export, expect=root, pubkey=_pubkey(settings)).ok
    assert record.chain_problems(export["audit"]) == []
