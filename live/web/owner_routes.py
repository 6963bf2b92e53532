"""The owner's (责任单位) personal link to one problem, and the attachments of 整改 reports.

The link is ``/o/{problem_id}#t={token}``: the token rides in the fragment, which a browser
never sends, so no server or proxy log keeps it. The page posts it once to
``POST /api/owner/claim`` and gets a session cookie for that problem (``live_owner_{id}``,
HttpOnly, SameSite=Strict) and a CSRF token; everything after that uses the cookie. The
token follows from the server key and the problem's ``owner_link_version``, so the link
can be printed again with the 体检单; rotating the version revokes the printed one and
every cookie made from it.

Through the cookie the owner sees that one problem (status, deadline, notes, its
attachments) and reports progress with files. Attachments are served back only to the
problem's owner, the host of its meeting and installation admins.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncGenerator
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote

from sqlmodel import Session
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live.domain.attachments import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_REPORT, check_file
from live.domain.errors import ErrorCode, LiveError
from live.store import office, problems
from live.store.models import Meeting, Problem
from live.web.auth import Signer, TokenError
from live.web.guard import read_json
from live.web.routes import _limited, _page, _svc, check_csrf
from live.web.voice_routes import read_capped

OWNER_COOKIE_PREFIX = "live_owner_"
OWNER_MAX_AGE = 2 * 365 * 24 * 3600  # 整改 runs for months; the link outlives a deadline
BAD_LINK = "整改报送链接无效，请向组织单位索取新链接"
REVOKED_LINK = "该整改报送链接已被更换，请使用组织单位新发的链接"
MAX_REPORT_BYTES = MAX_ATTACHMENTS_PER_REPORT * MAX_ATTACHMENT_BYTES + 1024 * 1024


def owner_token(signer: Signer, problem_id: int, version: int) -> str:
    return signer.dumps("owner-link", {"p": problem_id, "v": version})


def owner_url(public_base: str, problem_id: int, token: str) -> str:
    return f"{public_base}/o/{problem_id}#t={token}"


def owner_link(signer: Signer, public_base: str, p: Problem) -> str:
    assert p.id is not None
    return owner_url(public_base, p.id, owner_token(signer, p.id, p.owner_link_version))


def _cookie_name(request: Request, problem_id: int) -> str:
    return _svc(request).cookie(f"{OWNER_COOKIE_PREFIX}{problem_id}")


def _load(request: Request, problem_id: int) -> tuple[Problem, Meeting] | None:
    with Session(_svc(request).engine) as s:
        p = s.get(Problem, problem_id)
        m = s.get(Meeting, p.meeting_id) if p is not None else None
        if p is None or m is None:
            return None
        s.expunge(p)
        s.expunge(m)
        return p, m


async def _problem(request: Request, problem_id: int) -> tuple[Problem, Meeting]:
    found = await asyncio.to_thread(_load, request, problem_id)
    if found is None:
        raise LiveError(BAD_LINK, ErrorCode.BAD_TOKEN, status=404)
    return found


async def owner_session(request: Request) -> tuple[Problem, Meeting, str]:
    """The problem, its meeting and the session id of this browser's owner cookie; changes need CSRF."""
    svc = _svc(request)
    pid = int(request.path_params["problem_id"])
    raw = request.cookies.get(_cookie_name(request, pid))
    if not raw:
        raise LiveError("请通过组织单位发给您的整改报送链接进入", ErrorCode.LOGIN_REQUIRED, status=401)
    try:
        d = svc.signer.loads("owner-session", raw, OWNER_MAX_AGE)
        cpid, version, sid = int(d["p"]), int(d["v"]), str(d["s"])
    except (TokenError, KeyError, TypeError, ValueError):
        raise LiveError(BAD_LINK, ErrorCode.BAD_TOKEN, status=401) from None
    p, m = await _problem(request, pid)
    if cpid != pid:
        raise LiveError(BAD_LINK, ErrorCode.BAD_TOKEN, status=401)
    if version != p.owner_link_version:
        raise LiveError(REVOKED_LINK, ErrorCode.REVOKED, status=401)
    check_csrf(svc, request, sid)
    return p, m, sid


async def claim(request: Request) -> Response:
    svc = _svc(request)
    _limited(svc, request)
    body = await read_json(request, 4096)
    token = body.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= 300:
        raise LiveError("请求格式错误：需要 {\"token\": \"...\"}", ErrorCode.INVALID, status=400)
    try:
        d = svc.signer.loads("owner-link", token, OWNER_MAX_AGE)
        pid, version = int(d["p"]), int(d["v"])
    except (TokenError, KeyError, TypeError, ValueError):
        raise LiveError(BAD_LINK, ErrorCode.BAD_TOKEN, status=400) from None
    p, _ = await _problem(request, pid)
    if version != p.owner_link_version:
        raise LiveError(REVOKED_LINK, ErrorCode.REVOKED, status=403)
    sid = secrets.token_urlsafe(18)
    resp = JSONResponse({"problem_id": pid, "csrf": svc.signer.csrf_token(sid)})
    resp.set_cookie(_cookie_name(request, pid), svc.signer.dumps("owner-session", {"p": pid, "v": version, "s": sid}),
                    max_age=OWNER_MAX_AGE, httponly=True, samesite="strict", secure=svc.settings.secure_cookies,
                    path="/")
    return resp


async def session_info(request: Request) -> Response:
    """After a reload: the CSRF token of this browser's owner cookie."""
    _, _, sid = await owner_session(request)
    return JSONResponse({"problem_id": int(request.path_params["problem_id"]),
                         "csrf": _svc(request).signer.csrf_token(sid)})


def problem_view(s: Session, problem_id: int, today: date, actor: str) -> dict[str, Any] | None:
    """The problem with its notes and attachments, as ``actor`` sees it."""
    views = problems.problem_views(s, problem_id=problem_id)
    if not views:
        return None
    out = views[0].to_dict(today, actor)
    files = office.attachments_of(s, problem_id)
    by_note: dict[int | None, list[dict[str, Any]]] = {}
    for a in files:
        by_note.setdefault(a.note_id, []).append(office.attachment_dict(a))
    out["notes"] = [{**problems.note_dict(n), "attachments": by_note.get(n.id, [])}
                    for n in problems.notes_of(s, [problem_id]).get(problem_id, [])]
    out["attachments"] = [office.attachment_dict(a) for a in files]
    return out


async def view(request: Request) -> Response:
    p, _, _ = await owner_session(request)

    def read() -> dict[str, Any] | None:
        with Session(_svc(request).engine) as s:
            return problem_view(s, p.id or 0, date.today(), "owner")

    data = await asyncio.to_thread(read)
    if data is None:
        raise LiveError(BAD_LINK, ErrorCode.BAD_TOKEN, status=404)
    return JSONResponse(data)


async def _form(request: Request, body: bytes) -> tuple[dict[str, str], list[tuple[str | None, bytes]]]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):  # a report without files
        try:
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
        except ValueError as exc:
            raise LiveError("表单字段过多", ErrorCode.INVALID, status=400) from exc
        return {k: v for k, v in pairs if k in ("text", "on_date", "request_close")}, []
    if not ctype.startswith("multipart/form-data"):
        raise LiveError("请以 multipart/form-data 提交整改报送", ErrorCode.UNSUPPORTED_MEDIA_TYPE, status=415)

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body
        yield b""

    try:
        form = await MultiPartParser(Headers(raw=request.headers.raw), stream(),
                                     max_files=MAX_ATTACHMENTS_PER_REPORT, max_fields=10).parse()
    except MultiPartException as exc:
        raise LiveError(f"上传格式错误：{exc.message}", ErrorCode.INVALID, status=400) from exc
    fields: dict[str, str] = {}
    files: list[tuple[str | None, bytes]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == "file" and (value.filename or value.size):
                files.append((value.filename, await value.read()))
            await value.close()
        elif key in ("text", "on_date", "request_close"):
            fields[key] = value
    return fields, files


async def submit_report(request: Request, p: Problem, actor: str) -> dict[str, Any]:
    """Check every file, store them, then run the report through the writer (files removed if refused)."""
    svc = _svc(request)
    body = await read_capped(request, MAX_REPORT_BYTES)
    if body is None:
        raise LiveError(f"报送内容过大：最多 {MAX_ATTACHMENTS_PER_REPORT} 个附件，每个不超过 "
                        f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", ErrorCode.TOO_LARGE, status=413)
    fields, files = await _form(request, body)
    checked = [(check_file(name, data), data) for name, data in files]
    pid = p.id or 0
    stored = await asyncio.to_thread(
        lambda: [office.save_file(svc.settings.data_dir, pid, c, data) for c, data in checked])
    args = {"problem_id": pid, "author": actor, "text": fields.get("text"), "on_date": fields.get("on_date") or None,
            "request_close": fields.get("request_close") in ("1", "true", "on"),
            "attachments": [f.as_arg() for f in stored]}
    try:
        return await svc.writer.command(p.meeting_id, "problem.report", args, actor=actor)
    except LiveError:
        await asyncio.to_thread(office.remove_files, svc.settings.data_dir, pid, stored)
        raise


async def report(request: Request) -> Response:
    p, _, _ = await owner_session(request)
    reply = await submit_report(request, p, "owner")
    return JSONResponse(reply, status_code=201)


def _disposition(filename: str) -> str:
    fallback = "attachment" + ("." + filename.rpartition(".")[2] if "." in filename else "")
    fallback = "".join(ch for ch in fallback if ch.isascii() and (ch.isalnum() or ch in "._-")) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


async def attachment_response(request: Request, problem_id: int, attachment_id: int) -> Response:
    svc = _svc(request)

    def read() -> tuple[bytes, str, str] | None:
        with Session(svc.engine) as s:
            a = office.attachment(s, problem_id, attachment_id)
            if a is None:
                return None
            path = office.attachment_path(svc.settings.data_dir, a)
            if not path.is_file():
                return None
            return path.read_bytes(), a.media_type, a.filename

    found = await asyncio.to_thread(read)
    if found is None:
        raise LiveError("附件不存在", ErrorCode.NOT_FOUND, status=404)
    data, media_type, filename = found
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": _disposition(filename), "Cache-Control": "private, no-store",
                             "Content-Security-Policy": "sandbox; default-src 'none'"})


async def owner_attachment(request: Request) -> Response:
    p, _, _ = await owner_session(request)
    return await attachment_response(request, p.id or 0, int(request.path_params["attachment_id"]))


async def owner_page(request: Request) -> Response:
    return _page("office/owner.html")


ROUTES = [
    Route("/o/{problem_id:int}", owner_page),
    Route("/api/owner/claim", claim, methods=["POST"]),
    Route("/api/owner/{problem_id:int}", view),
    Route("/api/owner/{problem_id:int}/session", session_info),
    Route("/api/owner/{problem_id:int}/report", report, methods=["POST"]),
    Route("/api/owner/{problem_id:int}/attachments/{attachment_id:int}", owner_attachment),
]
