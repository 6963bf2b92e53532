"""The owner's (责任单位) link: fragment token → cookie, reports with attachments, who may read them."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlmodel import Session, select
from starlette.testclient import TestClient
from test_attachments import PDF, PNG
from test_problems import docx_text, pdf_text

from conftest import DEMO, Seed, login, seed_meeting
from live.store.db import make_engine
from live.store.models import AuditRow, ProblemAttachment

OWNER_FIELDS = {"description": "行政复议纠错率偏高", "owner": "区司法局", "deadline": "2020-01-01"}


def api(seed: Seed, path: str) -> str:
    return f"/api/meetings/{seed.code}{path}"


def new_problem(client: TestClient, seed: Seed, item: int = 1, **fields: Any) -> int:
    r = client.post(api(seed, f"/items/{item}/problems"), json={**OWNER_FIELDS, **fields})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def link_token(client: TestClient, seed: Seed, pid: int) -> str:
    link = client.get(api(seed, f"/problems/{pid}/owner-link")).json()
    url = link["url"]
    assert f"/o/{pid}#t=" in url and link["owner"] == "区司法局"
    return str(url.split("#t=", 1)[1])


def as_owner(client: TestClient, pid: int, token: str) -> None:
    """What owner.js does: post the fragment's token, keep the cookie, send the CSRF token."""
    client.headers.pop("X-CSRF-Token", None)
    r = client.post("/api/owner/claim", json={"token": token})
    assert r.status_code == 200, r.text
    assert r.json()["problem_id"] == pid
    client.headers["X-CSRF-Token"] = r.json()["csrf"]


def files(*items: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("file", item) for item in items]


def test_owner_reports_with_attachments_and_applies_for_closing(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    pid = new_problem(client, seed)
    other_pid = new_problem(client, seed, 2, description="另一个问题")
    token = link_token(client, seed, pid)
    client.cookies.clear()
    assert client.get(f"/api/owner/{pid}").status_code == 401  # no cookie yet
    assert client.post("/api/owner/claim", json={"token": "forged"}).status_code == 400
    as_owner(client, pid, token)
    view = client.get(f"/api/owner/{pid}").json()
    assert view["description"] == "行政复议纠错率偏高" and view["status"] == "pending" and view["overdue"]
    assert [n["action"] for n in view["next"]] == ["开始整改"]
    # The cookie is for this problem only.
    assert client.get(f"/api/owner/{other_pid}").status_code == 401

    r = client.post(f"/api/owner/{pid}/report", data={"text": "已完成案卷评查", "on_date": "2025-02-01"},
                    files=files(("评查报告.pdf", PDF, "application/pdf"), ("现场照片.png", PNG, "image/png")))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "in_progress" and len(r.json()["attachments"]) == 2
    # Refused files: a page renamed .pdf, a PDF named .png, too many; nothing is stored for them.
    r = client.post(f"/api/owner/{pid}/report", data={"text": "x"},
                    files=files(("报告.pdf", b"<html><script>alert(1)</script>", "application/pdf")))
    assert r.status_code == 415 and "报告.pdf" in r.json()["error"]["message"]
    r = client.post(f"/api/owner/{pid}/report", data={"text": "x"}, files=files(("图.png", PDF, "image/png")))
    assert r.status_code == 415
    r = client.post(f"/api/owner/{pid}/report", data={"text": "x"},
                    files=files(*[(f"{n}.pdf", PDF, "application/pdf") for n in range(6)]))
    assert r.status_code == 400
    assert client.post(f"/api/owner/{pid}/report", json={"text": "x"}).status_code == 415
    assert client.post(f"/api/owner/{pid}/report", data={"text": " "}).status_code == 400
    # Without the CSRF token a change is refused.
    csrf = client.headers.pop("X-CSRF-Token")
    assert client.post(f"/api/owner/{pid}/report", data={"text": "x"}).status_code == 403
    client.headers["X-CSRF-Token"] = csrf

    r = client.post(f"/api/owner/{pid}/report", data={"text": "整改完成，申请销号", "request_close": "1"})
    assert r.status_code == 201 and r.json()["status"] == "rectified"
    again = client.post(f"/api/owner/{pid}/report", data={"text": "再申请", "request_close": "1"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_change"
    view = client.get(f"/api/owner/{pid}").json()
    assert view["status_label"] == "已整改" and view["next"] == []
    assert [(n["author"], n["to_status"]) for n in view["notes"]] == [
        ("owner", "in_progress"), ("owner", None), ("owner", "rectified")]
    stored = view["notes"][1]["attachments"]
    assert [a["filename"] for a in stored] == ["评查报告.pdf", "现场照片.png"]
    assert stored[0]["sha256"] == hashlib.sha256(PDF).hexdigest()

    # The owner reads its attachments back; they are files under the data dir, not database rows of bytes.
    got = client.get(f"/api/owner/{pid}/attachments/{stored[0]['id']}")
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in got.headers["content-security-policy"]
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        rows = s.exec(select(ProblemAttachment)).all()
        audit = [a.action for a in s.exec(select(AuditRow).where(AuditRow.meeting_id == seed.meeting_id)).all()]
    engine.dispose()
    assert len(rows) == 2 and "problem.report" in audit
    on_disk = sorted(p.name for p in (seed.settings.data_dir / "attachments" / str(pid)).iterdir())
    assert on_disk == sorted(r.stored_name for r in rows)  # refused uploads left nothing behind
    assert all("评查" not in name for name in on_disk)  # stored under random names

    # The host of the meeting reads them too; anonymous and other meetings' hosts do not.
    client.cookies.clear()
    assert client.get(f"/api/owner/{pid}/attachments/{stored[0]['id']}").status_code == 401
    assert client.get(api(seed, f"/problems/{pid}/attachments/{stored[0]['id']}")).status_code == 401
    login(client, seed)
    r = client.get(api(seed, f"/problems/{pid}/attachments/{stored[1]['id']}"))
    assert r.status_code == 200 and r.content == PNG
    assert client.get(api(seed, f"/problems/{other_pid}/attachments/{stored[1]['id']}")).status_code == 404
    other = seed_meeting(seed.settings, {**DEMO, "title": "另一场"})
    login(client, other)
    assert client.get(f"/api/meetings/{other.code}/problems/{pid}/attachments/{stored[1]['id']}").status_code == 404
    assert client.get(f"/api/meetings/{other.code}/problems/{pid}/owner-link").status_code == 404


def test_rotating_the_link_revokes_the_printed_one_and_its_cookies(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    pid = new_problem(client, seed)
    old = link_token(client, seed, pid)
    host_csrf = client.headers["X-CSRF-Token"]
    as_owner(client, pid, old)
    assert client.get(f"/api/owner/{pid}").status_code == 200
    owner_cookie = client.cookies.get(f"live_owner_{pid}")
    client.headers["X-CSRF-Token"] = host_csrf
    r = client.post(api(seed, f"/problems/{pid}/owner-link/rotate"))
    assert r.status_code == 200 and r.json()["version"] == 2
    new = r.json()["url"].split("#t=", 1)[1]
    assert new != old
    client.cookies.clear()
    client.cookies.set(f"live_owner_{pid}", owner_cookie or "")
    r = client.get(f"/api/owner/{pid}")
    assert r.status_code == 401 and r.json()["error"]["code"] == "revoked"
    r = client.post("/api/owner/claim", json={"token": old})
    assert r.status_code == 403 and r.json()["error"]["code"] == "revoked"
    as_owner(client, pid, new)
    assert client.get(f"/api/owner/{pid}").status_code == 200
    # Only the host rotates; the owner cannot.
    assert client.post(api(seed, f"/problems/{pid}/owner-link/rotate")).status_code == 401


def test_owner_page_is_served_and_the_token_never_reaches_the_server_in_a_url(client: TestClient,
                                                                               seed: Seed) -> None:
    r = client.get("/o/1")
    assert r.status_code == 200 and "owner.js" in r.text and "整改报送" in r.text


def test_the_checkup_prints_owner_links_only_when_asked(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    pid = new_problem(client, seed, deadline="2099-01-01")
    token = link_token(client, seed, pid)
    plain = docx_text(client.get(api(seed, "/items/1/checkup.docx")).content)
    assert "行政复议纠错率偏高" in plain and token not in plain and "整改报送链接" not in plain
    linked = docx_text(client.get(api(seed, "/items/1/checkup.docx?links=1")).content)
    assert "区司法局" in linked and "请勿转发或公开" in linked
    printed = re.search(rf"/o/{pid}#t=([A-Za-z0-9_.-]+)", linked)
    assert printed  # the printed link works like the one shown on screen
    pdf = client.get(api(seed, "/items/1/checkup.pdf?links=1"))
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert "整改报送链接" in text and f"/o/{pid}#t=" in text
    client.cookies.clear()
    as_owner(client, pid, printed[1])
    assert client.get(f"/api/owner/{pid}").json()["description"] == "行政复议纠错率偏高"
