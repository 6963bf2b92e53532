"""Slide decks (upload, page images) and the printed QR material."""

from __future__ import annotations

import asyncio
import re

from sqlmodel import Session
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from live.domain.errors import LiveError
from live.reports.fonts import FontNotFoundError
from live.reports.printables import Card, join_poster_pdf, panel_cards_pdf
from live.store.models import AgendaItem
from live.store.seed import panel_members
from live.store.slides import MAX_BYTES, DeckError, deck_dir, new_deck_key, render_deck
from live.web.panel_auth import member_pin
from live.web.panel_routes import member_link
from live.web.routes import _host_meeting, _svc, join_url
from live.web.voice_routes import _upload, read_capped

_PAGE = re.compile(r"^(\d{1,4})(\.thumb)?\.png$")
_DECK = re.compile(r"^\d{1,9}-[A-Za-z0-9_-]{16}$")  # keyless (guessable) names are not served


async def upload_slides(request: Request) -> Response:
    """Host only: a PDF per presenter, checked before anything is stored, then
    rendered off the event loop; screens switch to it through an ``item.updated``."""
    svc = _svc(request)
    m = await _host_meeting(request)
    item_id = int(request.path_params["item_id"])

    def item() -> AgendaItem | None:
        with Session(svc.engine) as s:
            i = s.get(AgendaItem, item_id)
            return i if i is not None and i.meeting_id == m.id else None

    current = await asyncio.to_thread(item)
    if current is None:
        raise LiveError("议程中没有该述法人", "not_found", status=404)
    body = await read_capped(request, MAX_BYTES + 1024 * 1024)
    if body is None:
        raise LiveError(f"文件过大：上限 {MAX_BYTES // (1024 * 1024)} MB", "too_large", status=413)
    try:
        data, _ = await _upload(request, body)
        version, key = current.deck_version + 1, new_deck_key()
        deck = await render_deck(data, deck_dir(svc.settings.data_dir, item_id, version, key))
        reply = await svc.writer.command(m.id or 0, "item.deck",
                                         {"item_id": item_id, "pages": deck.pages, "version": version, "key": key})
    except LiveError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc
    except MultiPartException as exc:
        raise LiveError(f"上传格式错误：{exc.message}", "invalid", status=400) from exc
    return JSONResponse({"ok": True, **reply})


async def slide_image(request: Request) -> Response:
    """Page images are shown in the hall, so anyone holding the state may fetch them; their
    paths carry the deck's random key, so nobody else can guess them. Immutable per deck."""
    svc = _svc(request)
    item_id = int(request.path_params["item_id"])
    deck = str(request.path_params["deck"])
    match = _PAGE.match(str(request.path_params["name"]))
    if not match or not _DECK.match(deck):
        raise LiveError("没有该页", "not_found", status=404)
    path = svc.settings.data_dir / "decks" / str(item_id) / deck / match.group(0)
    if not path.is_file():
        raise LiveError("没有该页", "not_found", status=404)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=31536000, immutable"})


async def panel_cards(request: Request) -> Response:
    svc = _svc(request)
    m = await _host_meeting(request)
    base = str(request.base_url)

    def render() -> bytes:
        with Session(svc.engine) as s:
            members = [p for p in panel_members(s, m.id or 0) if not p.revoked]
        cards = [Card(p.name, p.category, member_link(svc, base, m, p),
                      member_pin(svc.settings.secret_key, m.id or 0, p.id or 0, p.pin_version))
                 for p in members]
        return panel_cards_pdf(m.title, cards)

    try:
        pdf = await asyncio.to_thread(render)
    except FontNotFoundError as exc:
        raise LiveError(str(exc), "no_font", status=503) from exc
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="panel-cards-{m.code}.pdf"'})


async def join_poster(request: Request) -> Response:
    svc = _svc(request)
    m = await _host_meeting(request)
    try:
        pdf = await asyncio.to_thread(join_poster_pdf, m.title, m.code, join_url(svc, request, m.code))
    except FontNotFoundError as exc:
        raise LiveError(str(exc), "no_font", status=503) from exc
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="join-poster-{m.code}.pdf"'})


__all__ = ["DeckError", "join_poster", "panel_cards", "slide_image", "upload_slides"]
