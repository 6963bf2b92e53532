"""HTTP endpoints of the meeting record: the host's audit log, the QR of the record
root, and the public results page /r/CODE with its data and ballots file, which
answer only once the host has published the results after the meeting."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from sqlmodel import Session
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live.domain.errors import LiveError
from live.domain.record import chain_problems
from live.store import record as record_store
from live.store.models import MeetingRecord
from live.store.state import record_fields
from live.web.qr import qr_png
from live.web.routes import _export, _host_meeting, _limited, _meeting, _page, _svc


class MeetingCodeConvertor(Convertor[str]):
    """A meeting code (4 to 8 letters and digits): /r/CODE is the public results page, while
    /r/<token> (a long signed token with dots) stays the recorder's page."""

    regex = "[A-Za-z0-9]{4,8}"

    def convert(self, value: str) -> str:
        return value.upper()

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("mcode", MeetingCodeConvertor())

NOT_PUBLISHED_HTML = (
    "<!doctype html><html lang=zh-CN><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width,initial-scale=1'><title>成绩尚未公开</title>"
    "<link rel=stylesheet href='/static/shared/style.css'>"
    "<main class=public-missing style='max-width:32rem;margin:3rem auto;padding:0 1rem;font-size:18px'>"
    "<h1>成绩尚未公开</h1><p>该会议码不存在，或主办方尚未公开这次述法评议的测评结果。</p>"
    "<p><a href='/'>返回首页</a></p></main></html>"
)


def _not_published() -> Response:
    return Response(NOT_PUBLISHED_HTML, status_code=404, media_type="text/html; charset=utf-8")


async def audit_log(request: Request) -> Response:
    """Host only: the meeting's audit log, whether its chain holds, and the sealed record."""
    svc = _svc(request)
    m = await _host_meeting(request)
    meeting_id = m.id or 0

    def read() -> dict[str, Any]:
        with Session(svc.engine) as s:
            entries = record_store.audit_entries(s, meeting_id)
            rec = record_fields(s.get(MeetingRecord, meeting_id))
        problems = chain_problems(entries)
        return {"entries": entries, "chain_ok": not problems, "problems": problems, "record": rec}

    return JSONResponse(await asyncio.to_thread(read))


async def _published_id(request: Request) -> int | None:
    svc = _svc(request)
    m = await _meeting(svc, str(request.path_params["code"]))
    if m is None or m.id is None:
        return None
    meeting_id = m.id

    def check() -> bool:
        with Session(svc.engine) as s:
            return record_store.is_published(s, meeting_id)

    return meeting_id if await asyncio.to_thread(check) else None


async def public_page(request: Request) -> Response:
    svc = _svc(request)
    _limited(svc, request)
    if await _published_id(request) is None:
        return _not_published()
    return _page("public/public.html")


async def public_results(request: Request) -> Response:
    svc = _svc(request)
    _limited(svc, request)
    meeting_id = await _published_id(request)
    if meeting_id is None:
        raise LiveError("该会议的测评结果尚未公开", "not_published", status=404)

    def read() -> dict[str, Any] | None:
        with Session(svc.engine) as s:
            return record_store.public_results(s, meeting_id)

    data = await asyncio.to_thread(read)
    if data is None:
        raise LiveError("该会议的测评结果尚未公开", "not_published", status=404)
    return JSONResponse(data, headers={"Cache-Control": "no-cache"})


async def public_ballots(request: Request) -> Response:
    """The ballots file (the same export the host downloads), once published: anyone can run live verify."""
    svc = _svc(request)
    _limited(svc, request)
    meeting_id = await _published_id(request)
    if meeting_id is None:
        raise LiveError("该会议的测评结果尚未公开", "not_published", status=404)
    export = await asyncio.to_thread(_export, svc, meeting_id)
    code = str(request.path_params["code"]).upper()
    return Response(orjson.dumps(export, option=orjson.OPT_INDENT_2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="ballots-{code}.json"'})


async def record_qr(request: Request) -> Response:
    """The record root as a QR code (the root itself, 64 hex digits), for the big screen's final ranking."""
    svc = _svc(request)
    _limited(svc, request)
    m = await _meeting(svc, str(request.path_params["code"]))
    if m is None or m.id is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    meeting_id = m.id

    def root() -> str | None:
        with Session(svc.engine) as s:
            row = s.get(MeetingRecord, meeting_id)
            return None if row is None else row.root

    value = await asyncio.to_thread(root)
    if value is None:
        raise LiveError("会议记录尚未封存", "not_sealed", status=404)
    png = await asyncio.to_thread(qr_png, value, 8)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/api/meetings/{code}/audit", audit_log),
    Route("/r/{code:mcode}", public_page),
    Route("/api/public/{code:mcode}/results", public_results),
    Route("/api/public/{code:mcode}/ballots.json", public_ballots),
    Route("/qr/record/{code}.png", record_qr),
]
