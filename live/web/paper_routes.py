"""HTTP endpoints of paper ballots (双轨制) and of the host's who-has-voted view.

Paper sheets are keyed by the meeting's host or its recorder (problem_routes._editor: the
session cookie and, for changes, its X-CSRF-Token),
each keying page naming its own session so the second keying can be told from the first
(live.store.paper). Who has voted is for the host only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live.domain.errors import ErrorCode, LiveError
from live.store import paper
from live.store.models import AgendaItem
from live.store.turnout import participation_view, voted_members
from live.store.writer import CommandRefused
from live.web.problem_routes import _editor
from live.web.routes import _host_meeting, _svc
from live.web.voice_routes import json_body


def _refused(exc: CommandRefused) -> LiveError:
    """A refusal from the writer; keying outside 测评 is a conflict with the item's course here."""
    if exc.code is ErrorCode.NOT_VOTING:
        exc.status = 409
    return exc


def _session(value: object) -> str:
    return value if isinstance(value, str) and paper._SESSION.fullmatch(value) else ""


async def enter_paper(request: Request) -> Response:
    """Key one paper sheet (rubric) or one bundle of counted sheets; see live.store.paper.enter."""
    who = await _editor(request)
    body = await json_body(request)
    m, role = who
    args: dict[str, Any] = {"role": role, **{k: body.get(k) for k in ("item_id", "group", "sheet", "figures",
                                                                        "session", "name")}}
    if args["name"] is None:
        args["name"] = ""
    try:
        reply = await _svc(request).writer.command(m.id or 0, "paper.enter", args, actor=role)
    except CommandRefused as exc:
        raise _refused(exc) from None
    return JSONResponse(reply, status_code=201 if reply["status"] == "confirmed" else 200)


async def discard_paper(request: Request) -> Response:
    who = await _editor(request)
    body = await json_body(request)
    m, role = who
    args = {"role": role, "session": body.get("session"), "entry_id": int(request.path_params["entry_id"])}
    try:
        reply = await _svc(request).writer.command(m.id or 0, "paper.discard", args, actor=role)
    except CommandRefused as exc:
        raise _refused(exc) from None
    return JSONResponse(reply)


async def list_paper(request: Request) -> Response:
    """The entries of one item not discarded; the viewer's own pending figures only."""
    who = await _editor(request)
    m, role = who
    item_id = int(request.path_params["item_id"])
    viewer = f"{role}:{_session(request.query_params.get('session'))}"

    def read() -> list[dict[str, Any]] | None:
        with Session(_svc(request).engine) as s:
            item = s.get(AgendaItem, item_id)
            if item is None or item.meeting_id != m.id:
                return None
            return paper.entries(s, m.id or 0, item_id, viewer)

    rows = await asyncio.to_thread(read)
    if rows is None:
        raise LiveError("议程中没有该述法人", "not_found")
    return JSONResponse({"item_id": item_id, "entries": rows})


async def participation(request: Request) -> Response:
    """Host only: which panel members have voted on the item (never how), and counts per group."""
    m = await _host_meeting(request)
    item_id = int(request.path_params["item_id"])
    svc = _svc(request)
    rt = await svc.hub.runtime(m.id or 0)
    if rt.item(item_id) is None:
        raise LiveError("议程中没有该述法人", "not_found")

    def read() -> list[int]:
        with Session(svc.engine) as s:
            return voted_members(s, item_id)

    voted = await asyncio.to_thread(read)
    return JSONResponse(participation_view(item_id, rt.state["panel"], voted, rt.group_counts(item_id)))


ROUTES = [
    Route("/api/meetings/{code}/paper", enter_paper, methods=["POST"]),
    Route("/api/meetings/{code}/paper/{entry_id:int}/discard", discard_paper, methods=["POST"]),
    Route("/api/meetings/{code}/items/{item_id:int}/paper", list_paper),
    Route("/api/meetings/{code}/items/{item_id:int}/participation", participation),
]
