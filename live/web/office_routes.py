"""The 整改 office of installation admins (组织单位): problems across every meeting, the two
closing steps (审核, 确认销号), reopening with a reason, escalation of overdue problems,
owner links, attachments, the weekly 通报 and a unit's or person's history.

Every route needs an admin session (``live.web.admin_auth.require_admin``; changes need its
CSRF token). Every change goes through the single writer with actor ``admin``, so it lands
in the problem's meeting's audit log.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live.domain import bulletin as bulletin_domain
from live.domain.errors import ErrorCode, LiveError
from live.domain.phases import PhaseError
from live.reports.bulletin import bulletin_filename, render_bulletin_docx, render_bulletin_xlsx
from live.store import history as history_store
from live.store import office, problems
from live.store.models import Problem
from live.web import owner_routes
from live.web.admin_auth import require_admin
from live.web.problem_routes import DOCX, XLSX, _attachment
from live.web.routes import _page, _svc
from live.web.voice_routes import json_body

STATUS_FIELDS = ("status", "reason", "text", "evidence", "on_date")
ESCALATE_FIELDS = ("level", "note", "on_date")


def _read(request: Request, fn: Any, *args: Any) -> Any:
    with Session(_svc(request).engine) as s:
        return fn(s, *args)


async def _in_thread(request: Request, fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(_read, request, fn, *args)


async def _problem(request: Request) -> Problem:
    await require_admin(request)
    pid = int(request.path_params["problem_id"])
    p = await _in_thread(request, lambda s: s.get(Problem, pid))
    if p is None:
        raise LiveError("问题清单中没有该问题", ErrorCode.NOT_FOUND, status=404)
    return p  # type: ignore[no-any-return]


async def _view(request: Request, pid: int, status: int = 200) -> Response:
    data = await _in_thread(request, owner_routes.problem_view, pid, date.today(), "admin")
    if data is None:
        raise LiveError("问题清单中没有该问题", ErrorCode.NOT_FOUND, status=404)
    return JSONResponse(data, status_code=status)


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    raw_overdue = q.get("overdue", "").lower()
    if raw_overdue not in ("", "true", "false"):
        raise LiveError("overdue 应为 true 或 false", ErrorCode.INVALID, status=400)
    raw_meeting = q.get("meeting", "")
    if raw_meeting and not raw_meeting.isdigit():
        raise LiveError("meeting 应为会议编号", ErrorCode.INVALID, status=400)
    return {"presenter": q.get("presenter") or None, "status": q.get("status") or None,
            "unit": q.get("unit") or None, "overdue": None if not raw_overdue else raw_overdue == "true",
            "meeting_id": int(raw_meeting) if raw_meeting else None}


async def rectification(request: Request) -> Response:
    """Every meeting's problems: ``?presenter=&unit=&status=&overdue=true|false&meeting=ID``."""
    await require_admin(request)
    f = _filters(request)
    today = date.today()

    def read(s: Session) -> dict[str, Any]:
        views = problems.problem_views(s, meeting_id=f["meeting_id"])
        views = problems.filtered(views, today, presenter=f["presenter"], status=f["status"], overdue=f["overdue"])
        if f["unit"]:
            views = [v for v in views if v.item.presenter_unit == f["unit"] or v.problem.owner == f["unit"]]
        return {"today": today.isoformat(), "problems": [v.to_dict(today, "admin") for v in views],
                "summary": problems.summary(views, today)}

    try:
        return JSONResponse(await _in_thread(request, read))
    except PhaseError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc


async def problem_detail(request: Request) -> Response:
    p = await _problem(request)
    return await _view(request, p.id or 0)


async def problem_status(request: Request) -> Response:
    """One step as admin: 审核 (已审核), 确认销号 (已销号), or back to 整改中 with a ``reason``."""
    p = await _problem(request)
    body = await json_body(request)
    args = {k: body[k] for k in STATUS_FIELDS if k in body}
    await _svc(request).writer.command(p.meeting_id, "problem.status",
                                       {"problem_id": p.id, **args, "author": "admin"}, actor="admin")
    return await _view(request, p.id or 0)


async def problem_escalate(request: Request) -> Response:
    """One dated 督办 step of an overdue problem: ``{"level": "提醒"|"函询"|"挂牌督办", "note", "on_date"}``."""
    p = await _problem(request)
    body = await json_body(request)
    args = {k: body[k] for k in ESCALATE_FIELDS if k in body}
    await _svc(request).writer.command(p.meeting_id, "problem.escalate",
                                       {"problem_id": p.id, **args, "author": "admin"}, actor="admin")
    return await _view(request, p.id or 0)


async def problem_owner_link(request: Request) -> Response:
    p = await _problem(request)
    svc = _svc(request)
    url = owner_routes.owner_link(svc.signer, svc.public_base(str(request.base_url)), p)
    return JSONResponse({"problem_id": p.id, "url": url, "owner": p.owner, "version": p.owner_link_version})


async def problem_attachment(request: Request) -> Response:
    p = await _problem(request)
    return await owner_routes.attachment_response(request, p.id or 0, int(request.path_params["attachment_id"]))


def _week(request: Request) -> date:
    raw = request.query_params.get("week", "")
    if not raw:
        return date.today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise LiveError("week 应为 YYYY-MM-DD 格式的日期（该周任一天）", ErrorCode.INVALID, status=400) from None


async def bulletin(request: Request) -> Response:
    """The weekly 通报 (Monday to Sunday of ``?week=YYYY-MM-DD``, default this week): JSON, .docx or .xlsx."""
    await require_admin(request)
    day = _week(request)
    fmt = str(request.path_params.get("fmt", "json"))
    if fmt not in ("json", "docx", "xlsx"):
        raise LiveError("只提供 docx 与 xlsx 两种格式", ErrorCode.NOT_FOUND, status=404)
    b = await _in_thread(request, lambda s: bulletin_domain.build(office.bulletin_problems(s), day))
    if fmt == "json":
        return JSONResponse({"start": b.start.isoformat(), "end": b.end.isoformat(), "totals": b.totals(),
                             "units": [u.counts() for u in b.units]})
    data = await asyncio.to_thread(render_bulletin_docx if fmt == "docx" else render_bulletin_xlsx, b)
    media = DOCX if fmt == "docx" else XLSX
    return Response(data, media_type=media,
                    headers=_attachment(bulletin_filename(b, fmt), f"bulletin-{b.start.isoformat()}.{fmt}"))


async def history(request: Request) -> Response:
    """``?unit=`` or ``?person=`` (one of them): every time they presented, with result, rank and problems."""
    await require_admin(request)
    unit = request.query_params.get("unit", "").strip()
    person = request.query_params.get("person", "").strip()
    if bool(unit) == bool(person):
        raise LiveError("请只填写单位（unit）或姓名（person）其中一项", ErrorCode.INVALID, status=400)
    if len(unit) > 100 or len(person) > 50:
        raise LiveError("单位或姓名过长", ErrorCode.INVALID, status=400)
    rows = await _in_thread(request, lambda s: history_store.history(s, unit=unit or None, person=person or None))
    return JSONResponse({"unit": unit or None, "person": person or None, "rows": rows})


async def history_names(request: Request) -> Response:
    await require_admin(request)
    return JSONResponse(await _in_thread(request, history_store.names))


async def office_page(request: Request) -> Response:
    return _page("office/office.html")


ROUTES = [
    Route("/admin/office", office_page),
    Route("/api/admin/rectification", rectification),
    Route("/api/admin/bulletin", bulletin),
    Route("/api/admin/history", history),
    Route("/api/admin/history/names", history_names),
    Route("/api/admin/bulletin.{fmt}", bulletin),
    Route("/api/admin/problems/{problem_id:int}", problem_detail),
    Route("/api/admin/problems/{problem_id:int}/status", problem_status, methods=["POST"]),
    Route("/api/admin/problems/{problem_id:int}/escalate", problem_escalate, methods=["POST"]),
    Route("/api/admin/problems/{problem_id:int}/owner-link", problem_owner_link),
    Route("/api/admin/problems/{problem_id:int}/attachments/{attachment_id:int}", problem_attachment),
]
