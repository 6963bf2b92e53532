"""HTTP endpoints of 点评, the 问题清单, 整改 and the 法治体检单.

Who may do what:

- the meeting's host (cookie) or its recorder (``Authorization: Bearer <recorder token>``)
  records the 点评 and the problems of that meeting's presenters, during 点评 or later;
- 整改 steps, progress notes and the 整改 views are for the host, and only of its own
  meeting: a host password opens one meeting, never another meeting's problems (meeting
  2's host once deleted meeting 1's problems). Only installation admins see 整改 across
  meetings (live.web.office_routes).

Every change is a writer command; the 法治体检单 and the exports are rendered in a thread.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from urllib.parse import quote

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live.domain.errors import LiveError
from live.domain.phases import PhaseError
from live.reports.checkup import FontNotFoundError, checkup_filename, render_checkup_docx, render_checkup_pdf
from live.reports.rectification_xlsx import render_rectification_xlsx
from live.store import lookback as lookback_store
from live.store import problems
from live.store.models import Meeting, Problem
from live.web import owner_routes
from live.web.auth import HOST_COOKIE, RECORDER_COOKIE, TokenError
from live.web.presenter_link import check_cookie as check_presenter_cookie
from live.web.presenter_link import cookie_name as presenter_cookie_name
from live.web.routes import _host_meeting, _meeting, _svc, check_csrf
from live.web.sessions import check_recorder
from live.web.voice_routes import json_body, read_recorder_token

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PROBLEM_FIELDS = ("description", "category", "source", "owner", "deadline", "question_id")
EDIT_FIELDS = ("description", "category", "source", "owner", "deadline")
STATUS_FIELDS = ("status", "reason", "text", "evidence", "on_date")
NOTE_FIELDS = ("text", "evidence", "on_date")


def _attachment(filename: str, fallback: str) -> dict[str, str]:
    # RFC 6266: an ASCII name for old clients, the Chinese one for the rest.
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"}


async def _editor(request: Request) -> tuple[Meeting, str]:
    """The meeting's host, or its recorder: by the session cookie the recorder page got
    for its link (changes need its CSRF token), or by ``Authorization: Bearer <token>``."""
    svc = _svc(request)
    auth = request.headers.get("authorization", "")
    recorder_raw = request.cookies.get(svc.cookie(RECORDER_COOKIE))
    if not auth.lower().startswith("bearer ") and (not recorder_raw or request.cookies.get(svc.cookie(HOST_COOKIE))):
        m = await _host_meeting(request)
        return m, "host"
    m_ = await _meeting(svc, str(request.path_params["code"]))
    if m_ is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    if not auth.lower().startswith("bearer "):
        try:
            sid = await asyncio.to_thread(check_recorder, svc, recorder_raw, m_)
        except TokenError as exc:
            raise LiveError(exc.message, exc.code, status=401) from exc
        except (KeyError, ValueError) as exc:
            raise LiveError("记录员凭证无效", "bad_token", status=401) from exc
        check_csrf(svc, request, sid)
        return m_, "recorder"
    try:
        mid, version = read_recorder_token(svc, auth[7:].strip())
    except (TokenError, KeyError, ValueError):
        raise LiveError("记录员凭证无效", "bad_token", status=401) from None
    if mid != m_.id or version != m_.host_session_version:
        raise LiveError("该记录员链接已失效，请向主持人索取新链接", "revoked", status=401)
    return m_, "recorder"


def _pick(body: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: body[k] for k in fields if k in body}


async def _command(request: Request, meeting_id: int, name: str, args: dict[str, Any],
                   actor: str = "host") -> dict[str, Any]:
    return await _svc(request).writer.command(meeting_id, name, args, actor=actor)


def _read(request: Request, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(session, ...)`` in a fresh session (call it in a thread)."""
    with Session(_svc(request).engine) as s:
        return fn(s, *args, **kwargs)


async def _in_thread(request: Request, fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(_read, request, fn, *args, **kwargs)


def _item_id(request: Request) -> int:
    return int(request.path_params["item_id"])


# --- 点评 and problems of one presenter (host or recorder) ----------------------------------


async def item_record(request: Request) -> Response:
    who = await _editor(request)
    m, _ = who
    try:
        record = await _in_thread(request, problems.item_record, m.id or 0, _item_id(request), date.today())
    except PhaseError as exc:
        raise LiveError(exc.message, exc.code, status=404) from exc
    return JSONResponse(record)


async def save_review(request: Request) -> Response:
    who = await _editor(request)
    body = await json_body(request)
    m, role = who
    reply = await _command(request, m.id or 0, "review.save",
                           {"item_id": _item_id(request), "text": body.get("text"), "commenter": body.get("commenter")},
                           actor=role)
    return JSONResponse(reply)


async def add_problem(request: Request) -> Response:
    who = await _editor(request)
    body = await json_body(request)
    m, role = who
    reply = await _command(request, m.id or 0, "problem.add",
                           {"item_id": _item_id(request), **_pick(body, PROBLEM_FIELDS)}, actor=role)
    return await _problem_response(request, int(reply["problem_id"]), status=201)


# --- one problem ---------------------------------------------------------------------------------


async def _problem_meeting(request: Request) -> tuple[int, int, str]:
    """(problem id, its meeting id, who) for the host or recorder of the problem's own meeting.
    Another meeting's problem is 404, as if it did not exist."""
    who = await _editor(request)
    m, role = who
    pid = int(request.path_params["problem_id"])

    def find(s: Session) -> int | None:
        p = s.get(Problem, pid)
        return p.meeting_id if p is not None else None

    mid = await _in_thread(request, find)
    # Host and recorder alike: only a problem of the meeting they signed in to.
    if mid is None or mid != m.id:
        raise LiveError("问题清单中没有该问题", "not_found", status=404)
    return pid, mid, role


async def _problem_response(request: Request, pid: int, status: int = 200) -> Response:
    data = await _in_thread(request, owner_routes.problem_view, pid, date.today(), "host")
    if data is None:
        raise LiveError("问题清单中没有该问题", "not_found", status=404)
    return JSONResponse(data, status_code=status)


async def problem_detail(request: Request) -> Response:
    found = await _problem_meeting(request)
    if request.method == "DELETE":
        reply = await _command(request, found[1], "problem.delete", {"problem_id": found[0]}, actor=found[2])
        return JSONResponse(reply)
    if request.method == "PATCH":
        body = await json_body(request)
        await _command(request, found[1], "problem.update",
                       {"problem_id": found[0], **_pick(body, EDIT_FIELDS)}, actor=found[2])
    return await _problem_response(request, found[0])


async def _host_step(request: Request, name: str, fields: tuple[str, ...]) -> Response:
    found = await _problem_meeting(request)
    pid, mid, role = found
    if role != "host":
        raise LiveError("只有主持人可以记录整改", "forbidden", status=403)
    body = await json_body(request)
    await _command(request, mid, name, {"problem_id": pid, "author": role, **_pick(body, fields)})
    return await _problem_response(request, pid)


async def _host_problem(request: Request) -> tuple[int, int]:
    pid, mid, role = await _problem_meeting(request)
    if role != "host":
        raise LiveError("只有主持人可以办理整改", "forbidden", status=403)
    return pid, mid


async def owner_link(request: Request) -> Response:
    """Host only: the owner's personal link to this problem (``/o/{id}#t=…``), to hand over or print."""
    pid, _ = await _host_problem(request)
    svc = _svc(request)
    p = await _in_thread(request, lambda s: s.get(Problem, pid))
    url = owner_routes.owner_link(svc.signer, svc.public_base(str(request.base_url)), p)
    return JSONResponse({"problem_id": pid, "url": url, "owner": p.owner, "version": p.owner_link_version})


async def rotate_owner_link(request: Request) -> Response:
    """Host only: a new owner link; the old one (and every browser that claimed it) stops working."""
    pid, mid = await _host_problem(request)
    await _command(request, mid, "problem.owner_link", {"problem_id": pid})
    return await owner_link(request)


async def problem_attachment(request: Request) -> Response:
    pid, _ = await _host_problem(request)
    return await owner_routes.attachment_response(request, pid, int(request.path_params["attachment_id"]))


async def problem_status(request: Request) -> Response:
    """One 整改 step: {"status": "整改中" | "in_progress" | …, "reason": needed to reopen, "text", "evidence"}."""
    return await _host_step(request, "problem.status", STATUS_FIELDS)


async def problem_note(request: Request) -> Response:
    return await _host_step(request, "problem.note", NOTE_FIELDS)


# --- the host's own meeting ------------------------------------------------------------------


def _filters(request: Request, m: Meeting) -> dict[str, Any]:
    q = request.query_params
    raw_overdue = q.get("overdue", "").lower()
    if raw_overdue not in ("", "1", "0", "true", "false", "yes", "no"):
        raise LiveError("overdue 应为 true 或 false", "invalid", status=400)
    scope = q.get("scope", "meeting")
    if scope == "all":
        raise LiveError("主持人只能查看本场会议的问题；跨会议的整改由组织单位管理员查看", "forbidden", status=403)
    if scope != "meeting":
        raise LiveError("scope 只能为 meeting", "invalid", status=400)
    return {"presenter": q.get("presenter") or None, "status": q.get("status") or None,
            "overdue": None if not raw_overdue else raw_overdue in ("1", "true", "yes"),
            "meeting_id": m.id}


def _views(s: Session, f: dict[str, Any], today: date) -> list[problems.ProblemView]:
    views = problems.problem_views(s, meeting_id=f["meeting_id"])
    return problems.filtered(views, today, presenter=f["presenter"], status=f["status"], overdue=f["overdue"])


async def _host_filters(request: Request) -> dict[str, Any]:
    m = await _host_meeting(request)
    return _filters(request, m)


async def rectification(request: Request) -> Response:
    """This meeting's problems, filtered by ``presenter``, ``status``, ``overdue``."""
    f = await _host_filters(request)
    today = date.today()

    def read(s: Session) -> dict[str, Any]:
        views = _views(s, f, today)
        return {"today": today.isoformat(), "problems": [v.to_dict(today) for v in views],
                "summary": problems.summary(views, today)}

    try:
        return JSONResponse(await _in_thread(request, read))
    except PhaseError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc


async def rectification_summary(request: Request) -> Response:
    """The 通报 of the next meeting: per presenter, total, closed, rectified, open, overdue."""
    f = await _host_filters(request)
    today = date.today()
    try:
        rows = await _in_thread(request, lambda s: problems.summary(_views(s, f, today), today))
    except PhaseError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc
    return JSONResponse({"today": today.isoformat(), "summary": rows})


async def rectification_xlsx(request: Request) -> Response:
    f = await _host_filters(request)
    today = date.today()

    def render(s: Session) -> bytes:
        return render_rectification_xlsx(problems.export_rows(s, _views(s, f, today)), today)

    try:
        data = await _in_thread(request, render)
    except PhaseError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc
    return Response(data, media_type=XLSX,
                    headers=_attachment(f"问题清单及整改情况_{today.isoformat()}.xlsx", "rectification.xlsx"))


# --- 回头看 ---------------------------------------------------------------------------------------


async def _lookback_reader(request: Request) -> tuple[Meeting, bool]:
    """The meeting, and whether the reader sees the presenter on stage only: the host (or an
    administrator) sees every presenter; the presenter link's cookie (live.web.presenter_link)
    only the presenter now on stage, read-only. Without either the host's refusal stands."""
    try:
        return await _host_meeting(request), False
    except LiveError as refused:
        svc = _svc(request)
        m = await _meeting(svc, str(request.path_params["code"]).upper()[:8])
        raw = request.cookies.get(presenter_cookie_name(m.id)) if m is not None and m.id is not None else None
        if m is None or not raw:
            raise refused from None
        check_presenter_cookie(svc.signer, raw, m)
        return m, True


async def lookback(request: Request) -> Response:
    """For each presenter of this meeting, the open problems of their earlier meetings (the host);
    with the presenter link's cookie, those of the presenter on stage only (none between presenters)."""
    m, stage_only = await _lookback_reader(request)
    today = date.today()
    items = await _in_thread(request, lookback_store.lookback, m.id or 0, today)
    if stage_only:
        items = [i for i in items if m.current_item_id is not None and i["item_id"] == m.current_item_id]
    return JSONResponse({"today": today.isoformat(), "items": items})


async def lookback_seed(request: Request) -> Response:
    """Host only: put the presenter's open earlier problems into the 质询 queue (approved), once each."""
    m = await _host_meeting(request)
    item_id = _item_id(request)
    try:
        rows = await _in_thread(request, lookback_store.seed_rows, m.id or 0, item_id, date.today())
    except PhaseError as exc:
        raise LiveError(exc.message, exc.code, status=404) from exc
    if not rows:
        return JSONResponse({"imported": [], "skipped": []})
    reply = await _command(request, m.id or 0, "question.import", {"rows": rows, "status": "approved"})
    return JSONResponse(reply)


# --- 法治体检单 -------------------------------------------------------------------------------------


async def checkup(request: Request) -> Response:
    """Host only: one presenter's 法治体检单 as DOCX or PDF, from what is stored now; with
    ``?links=1`` each problem's owner link is printed for the 责任单位."""
    m = await _host_meeting(request)
    fmt = str(request.path_params["fmt"])
    if fmt not in ("docx", "pdf"):
        raise LiveError("只提供 docx 与 pdf 两种格式", "not_found", status=404)
    item_id = _item_id(request)
    svc = _svc(request)
    base = svc.public_base(str(request.base_url))
    # ?links=1: print each problem's owner link (a personal credential) for the 责任单位.
    with_links = request.query_params.get("links") == "1"

    def link(p: Problem) -> str:
        return owner_routes.owner_link(svc.signer, base, p)

    def render(s: Session) -> tuple[bytes, str]:
        data = problems.checkup_data(s, m.id or 0, item_id, link if with_links else None)
        body = render_checkup_docx(data) if fmt == "docx" else render_checkup_pdf(data)
        return body, checkup_filename(data, fmt)

    try:
        body, filename = await _in_thread(request, render)
    except PhaseError as exc:
        raise LiveError(exc.message, exc.code, status=404) from exc
    except FontNotFoundError as exc:
        raise LiveError(str(exc), "no_font", status=503) from exc
    return Response(body, media_type=DOCX if fmt == "docx" else "application/pdf",
                    headers=_attachment(filename, f"checkup-{item_id}.{fmt}"))


ROUTES = [
    Route("/api/meetings/{code}/items/{item_id:int}/record", item_record),
    Route("/api/meetings/{code}/items/{item_id:int}/review", save_review, methods=["PUT"]),
    Route("/api/meetings/{code}/items/{item_id:int}/problems", add_problem, methods=["POST"]),
    Route("/api/meetings/{code}/items/{item_id:int}/checkup.{fmt}", checkup),
    Route("/api/meetings/{code}/problems/{problem_id:int}", problem_detail, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/meetings/{code}/problems/{problem_id:int}/status", problem_status, methods=["POST"]),
    Route("/api/meetings/{code}/problems/{problem_id:int}/notes", problem_note, methods=["POST"]),
    Route("/api/meetings/{code}/problems/{problem_id:int}/owner-link", owner_link),
    Route("/api/meetings/{code}/problems/{problem_id:int}/owner-link/rotate", rotate_owner_link, methods=["POST"]),
    Route("/api/meetings/{code}/problems/{problem_id:int}/attachments/{attachment_id:int}", problem_attachment),
    Route("/api/meetings/{code}/lookback", lookback),
    Route("/api/meetings/{code}/items/{item_id:int}/lookback/seed", lookback_seed, methods=["POST"]),
    Route("/api/meetings/{code}/rectification", rectification),
    Route("/api/meetings/{code}/rectification/summary", rectification_summary),
    Route("/api/meetings/{code}/rectification.xlsx", rectification_xlsx),
]
