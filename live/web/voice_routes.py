"""HTTP endpoints of the public's voice, for the host: the moderation queue, every
question of the meeting, the import of questions collected beforehand, and the
recorder's link (the 点评 recorder works over live.web.problem_routes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from sqlmodel import Session, col, select
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live.domain.errors import LiveError
from live.domain.question_import import MAX_FILE_BYTES, PresenterRef, QuestionImportError, parse_questions
from live.store import comments, questions
from live.store.models import AgendaItem, Meeting
from live.store.sessions import open_session
from live.web.auth import RECORDER_COOKIE, TokenError
from live.web.guard import read_body, read_json
from live.web.routes import _host_meeting, _page, _svc
from live.web.services import Services
from live.web.sessions import check_recorder

RECORDER_MAX_AGE = 30 * 24 * 3600
# A multipart envelope around a file at the cap is a little larger than the file.
UPLOAD_CAP = MAX_FILE_BYTES + 64 * 1024

# --- the recorder: a signed link like a panel member's, tied to the host's session version ---


def recorder_token(svc: Services, m: Meeting) -> str:
    return svc.signer.dumps("recorder", {"m": m.id, "v": m.host_session_version})


def read_recorder_token(svc: Services, token: str) -> tuple[int, int]:
    d = svc.signer.loads("recorder", token, RECORDER_MAX_AGE)
    return int(d["m"]), int(d["v"])


async def recorder_link(request: Request) -> Response:
    """Host only: the recorder's personal link. Changing the host password revokes it.
    The token rides in the URL fragment, which browsers never send: no access log,
    proxy or Referer sees it; the page trades it for a cookie (``recorder_claim``)."""
    svc = _svc(request)
    m = await _host_meeting(request)
    token = recorder_token(svc, m)
    return JSONResponse({"url": f"{svc.public_base(str(request.base_url))}/recorder#{token}", "token": token})


def _meeting_by_id(svc: Services, meeting_id: int) -> Meeting | None:
    with Session(svc.engine) as s:
        m = s.get(Meeting, meeting_id)
        if m is not None:
            s.expunge(m)
        return m


def _recorder_view(svc: Services, m: Meeting, sid: str) -> dict[str, Any]:
    return {"code": m.code, "title": m.title, "meeting_id": m.id, "role": "recorder",
            "csrf": svc.signer.csrf_token(sid)}


async def recorder_claim(request: Request) -> Response:
    """``{"token": …}`` from the link's fragment, for a recorder session cookie."""
    svc = _svc(request)
    if not svc.public_hits.allow(svc.client_ip(request.client.host if request.client else None,
                                               request.headers.get("x-forwarded-for"))):
        raise LiveError("请求过于频繁，请稍后再试", "rate_limited", status=429, headers={"Retry-After": "10"})
    body = await read_json(request, cap=4096)
    token = body.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= 512:
        raise LiveError("请求格式错误：需要 {\"token\": \"...\"}", "invalid", status=400)
    try:
        mid, version = read_recorder_token(svc, token)
    except TokenError:
        raise
    except (KeyError, ValueError):
        raise LiveError("记录员链接无效", "bad_token", status=401) from None
    m = await asyncio.to_thread(_meeting_by_id, svc, mid)
    if m is None or m.id is None or m.host_session_version != version:
        raise LiveError("该记录员链接已失效，请向主持人索取新链接", "revoked", status=401)
    sid = await asyncio.to_thread(open_session, svc.engine, m.id, "recorder")
    resp = JSONResponse(_recorder_view(svc, m, sid))
    resp.set_cookie(svc.cookie(RECORDER_COOKIE), svc.signer.recorder_cookie(m.id, version, sid),
                    max_age=svc.settings.session_max_s, httponly=True, samesite="strict",
                    secure=svc.settings.secure_cookies)
    return resp


async def recorder_session(request: Request) -> Response:
    """The recorder page after a reload: its cookie's meeting and CSRF token."""
    svc = _svc(request)
    raw = request.cookies.get(svc.cookie(RECORDER_COOKIE))
    try:
        if not raw:
            raise TokenError("请打开主持人发给您的记录员链接", code="login_required")
        mid, _, _ = svc.signer.read_recorder_cookie(raw)
        m = await asyncio.to_thread(_meeting_by_id, svc, mid)
        if m is None:
            raise TokenError("记录员链接无效", code="bad_token")
        sid = await asyncio.to_thread(check_recorder, svc, raw, m)
    except TokenError:
        raise
    except (KeyError, ValueError):
        raise LiveError("记录员凭证无效", "bad_token", status=401) from None
    return JSONResponse(_recorder_view(svc, m, sid))


async def recorder_page(request: Request) -> Response:
    return _page("recorder/recorder.html")


# --- moderation and the question list ----------------------------------------------------


async def moderation(request: Request) -> Response:
    """Host only: pending public questions, held comments, bans and the extra banned words.
    The same view is pushed to host sockets as ``moderation`` whenever it changes."""
    svc = _svc(request)
    m = await _host_meeting(request)

    def read() -> dict[str, Any]:
        with Session(svc.engine) as s:
            return comments.moderation_view(s, m.id or 0)

    return JSONResponse(await asyncio.to_thread(read))


async def question_list(request: Request) -> Response:
    """Host only: every question of the meeting (all statuses), with upvotes; ``?item_id=`` narrows it."""
    svc = _svc(request)
    m = await _host_meeting(request)
    raw = request.query_params.get("item_id") or ""
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise LiveError("item_id 应为述法人编号（正整数）", "invalid", status=400)
    item_id = int(raw) if raw else None

    def read() -> list[dict[str, Any]]:
        with Session(svc.engine) as s:
            return questions.host_questions(s, m.id or 0, item_id)

    return JSONResponse({"questions": await asyncio.to_thread(read)})


# --- import ----------------------------------------------------------------------------------


async def read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None once it is over ``cap`` bytes (checked as it streams in)."""
    return await read_body(request, cap)


async def _upload(request: Request, body: bytes) -> tuple[bytes, str | None]:
    """The uploaded file: a multipart form's ``file`` field, or the raw body (``?filename=``)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async def stream() -> AsyncGenerator[bytes, None]:
            yield body
            yield b""

        parser = MultiPartParser(Headers(raw=request.headers.raw), stream(), max_files=1, max_fields=5)
        form = await parser.parse()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise QuestionImportError("表单中缺少文件字段 file", code="no_file")
        data = await upload.read()
        await upload.close()
        return data, upload.filename
    return body, request.query_params.get("filename")


async def import_questions(request: Request) -> Response:
    """Host only. Good rows are stored, bad rows are listed with their row numbers;
    ``?status=pending`` puts the imported questions in the moderation queue instead
    of straight onto the approved list."""
    svc = _svc(request)
    m = await _host_meeting(request)
    status = request.query_params.get("status", "approved")
    if status not in ("approved", "pending"):
        raise LiveError("status 应为 approved 或 pending", "invalid", status=400)
    body = await read_capped(request, UPLOAD_CAP)
    if body is None:
        raise LiveError(f"文件过大，最大 {MAX_FILE_BYTES // (1024 * 1024)} MB", "too_large", status=413)
    meeting_id = m.id or 0

    def presenters() -> list[PresenterRef]:
        with Session(svc.engine) as s:
            items = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                           .order_by(col(AgendaItem.position))).all()
            return [PresenterRef(i.id or 0, i.presenter_name, i.presenter_unit, i.presenter_post) for i in items]

    try:
        data, filename = await _upload(request, body)
        result = await asyncio.to_thread(parse_questions, data, await asyncio.to_thread(presenters),
                                         filename=filename)
    except QuestionImportError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc
    except MultiPartException as exc:
        raise LiveError(f"上传格式错误：{exc.message}", "invalid", status=400) from exc
    errors: list[dict[str, Any]] = [{"row": e.row, "message": e.message} for e in result.errors]
    await svc.hub.runtime(meeting_id)  # loads the meeting's banned-word filter
    word_filter = svc.hub.interaction.filter(meeting_id)
    rows: list[dict[str, Any]] = []
    for q in result.rows:
        if word_filter.contains_banned(q.content) or word_filter.contains_banned(q.asker):
            errors.append({"row": q.row, "message": "内容含有不文明用语，未导入"})
            continue
        rows.append({"row": q.row, "item_id": q.presenter_key, "source": q.source, "content": q.content,
                     "asker": q.asker})
    reply: dict[str, Any] = {"imported": [], "skipped": []}
    if rows:
        reply = await svc.writer.command(meeting_id, "question.import", {"rows": rows, "status": status})
    errors += reply["skipped"]
    errors.sort(key=lambda e: int(e["row"]))
    if status == "pending" and reply["imported"]:
        svc.hub.interaction.notify_moderation(meeting_id)
    return JSONResponse({"imported": len(reply["imported"]), "questions": reply["imported"], "errors": errors,
                         "status": status})


async def json_body(request: Request, cap: int = 64 * 1024) -> dict[str, Any]:
    """A JSON object body (application/json, size and depth capped); else raises the 4xx LiveError."""
    return await read_json(request, cap)


ROUTES = [
    Route("/api/meetings/{code}/moderation", moderation),
    Route("/api/meetings/{code}/questions", question_list),
    Route("/api/meetings/{code}/questions/import", import_questions, methods=["POST"]),
    Route("/api/meetings/{code}/recorder", recorder_link),
    Route("/api/recorder/claim", recorder_claim, methods=["POST"]),
    Route("/api/recorder/session", recorder_session),
    Route("/recorder", recorder_page),
]
