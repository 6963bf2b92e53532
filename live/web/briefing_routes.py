"""Host-only downloads after the meeting: the interaction export (XLSX) and the 简报 (DOCX, PDF).

Same rules as the other exports (live.web.routes.export_results): the host's session
cookie (SameSite=Strict), a GET, so the Origin guard and CSRF rules for changes do not
apply; another meeting's host or a logged-out browser gets 401.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live.domain.errors import LiveError
from live.reports.fonts import FontNotFoundError
from live.store.briefing_data import briefing_data, interaction_data
from live.web.routes import _host_meeting, _svc

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _attachment(filename: str, fallback: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store"}


async def _render(request: Request, read: Any, render: Any) -> Any:
    svc = _svc(request)
    m = await _host_meeting(request)

    def run() -> Any:
        with Session(svc.engine) as s:
            data = read(s, m.id or 0)
        return render(data), m.code

    try:
        return await asyncio.to_thread(run)
    except FontNotFoundError as exc:
        raise LiveError(str(exc), "no_font", status=503) from exc


async def interaction_export(request: Request) -> Response:
    from live.reports.interaction_xlsx import write_interaction_xlsx

    body, code = await _render(request, interaction_data, write_interaction_xlsx)
    return Response(body, media_type=XLSX,
                    headers=_attachment(f"互动数据_{code}.xlsx", f"interaction-{code}.xlsx"))


async def briefing(request: Request) -> Response:
    fmt = str(request.path_params["fmt"])
    if fmt not in ("docx", "pdf"):
        raise LiveError("简报只提供 docx 与 pdf 两种格式", "not_found", status=404)
    from live.reports.briefing import briefing_filename, render_briefing_docx, render_briefing_pdf

    render = render_briefing_docx if fmt == "docx" else render_briefing_pdf
    names: dict[str, str] = {}

    def render_named(data: dict[str, Any]) -> bytes:
        names["file"] = briefing_filename(data, fmt)
        return render(data)

    body, code = await _render(request, briefing_data, render_named)
    return Response(body, media_type=DOCX if fmt == "docx" else "application/pdf",
                    headers=_attachment(names["file"], f"briefing-{code}.{fmt}"))


ROUTES = [
    Route("/api/meetings/{code}/export/interaction.xlsx", interaction_export),
    Route("/api/meetings/{code}/briefing.{fmt}", briefing),
]
