"""HTTP endpoints: pages, joining, host login, panel links, QR images, health."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from live.domain.credentials import PublicMode
from live.domain.errors import LiveError
from live.domain.phases import MeetingStatus
from live.realtime.hub import session_key
from live.store.credentials import ip_prefix
from live.store.models import Meeting
from live.store.sessions import open_session, prune_sessions, revoke_session
from live.store.writer import CommandRefused
from live.web.auth import (
    DEVICE_MAX_AGE,
    HOST_COOKIE,
    HOST_MAX_AGE,
    TokenError,
    device_cookie_name,
    verify_password,
)
from live.web.context import check_csrf as check_csrf  # re-exported: the route modules import it from here
from live.web.context import client_ip, services, throttled_password
from live.web.errors import error_page
from live.web.guard import read_json
from live.web.qr import qr_png
from live.web.services import Services
from live.web.sessions import check_host

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
NO_MEETING = "会议码不存在，请核对大屏或海报上的会议码后重新输入。"
# The names the route modules import from here; live.web.context holds them for admin_auth too.
_svc = services
_client_ip = client_ip


def _page(name: str) -> FileResponse:
    return FileResponse(FRONTEND / name, media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


def _limited(svc: Services, request: Request) -> None:
    if not svc.public_hits.allow(_client_ip(request)):
        raise LiveError("请求过于频繁，请稍后再试", "rate_limited", status=429, headers={"Retry-After": "10"})


async def _meeting(svc: Services, code: str) -> Meeting | None:
    def get() -> Meeting | None:
        with Session(svc.engine) as s:
            m = s.exec(select(Meeting).where(Meeting.code == code.upper())).first()
            if m is not None:
                s.expunge(m)
            return m

    return await asyncio.to_thread(get)


def join_url(svc: Services, request: Request, code: str) -> str:
    return f"{svc.public_base(str(request.base_url))}/j/{code}"


async def index(request: Request) -> Response:
    return _page("index.html")


async def join_form(request: Request) -> Response:
    code = str(request.query_params.get("code", "")).strip().upper()
    if not code:
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"/j/{code}", status_code=303)


async def audience_page(request: Request) -> Response:
    """Scanning the join QR lands here: give the phone its anonymous device cookie."""
    svc = _svc(request)
    _limited(svc, request)
    code = str(request.path_params["code"]).upper()
    m = await _meeting(svc, code)
    if m is None or m.id is None:
        return error_page(404, NO_MEETING, "会议码不存在")
    resp = _page("audience/audience.html")
    name = device_cookie_name(m.id)
    device, voter = None, False
    raw = request.cookies.get(name)
    if raw:
        try:
            device, voter = svc.signer.read_device_cookie(raw, m.id)
        except TokenError:
            device = None
    open_mode = m.public_mode == PublicMode.OPEN.value and m.status != MeetingStatus.ENDED.value
    if device is not None and (voter or not open_mode):
        return resp
    device = device or svc.signer.device_cookie(m.id)[0]
    if open_mode:
        # A new voter identity for this meeting, capped per network prefix (the full address is not kept).
        try:
            await svc.writer.job("identity.mint", m.id, {"device_id": device, "prefix": ip_prefix(_client_ip(request)),
                                                         "cap": svc.settings.open_ids_per_ip})
            voter = True
        except CommandRefused:
            voter = False
    _, value = svc.signer.device_cookie(m.id, device, voter=voter)
    resp.set_cookie(name, value, max_age=DEVICE_MAX_AGE, httponly=True, samesite="lax",
                    secure=svc.settings.secure_cookies)
    return resp


async def _meeting_page(request: Request, name: str) -> Response:
    """A page of one meeting; a wrong code gets the styled 404 page, not an empty console."""
    if await _meeting(_svc(request), str(request.path_params["code"]).upper()) is None:
        return error_page(404, NO_MEETING, "会议码不存在")
    return _page(name)


async def host_page(request: Request) -> Response:
    return await _meeting_page(request, "host/host.html")


async def screen_page(request: Request) -> Response:
    return await _meeting_page(request, "screen/screen.html")


async def overlay_page(request: Request) -> Response:
    """``/overlay/{code}``: the transparent broadcast overlay (layers chosen in ``?layers=``, public data only)."""
    return await _meeting_page(request, "overlay/overlay.html")


async def presenter_page(request: Request) -> Response:
    return await _meeting_page(request, "presenter/presenter.html")


async def panel_page(request: Request) -> Response:
    """``/p/{code}``: the tablet page; the link's token is in the fragment, which never reaches here."""
    return _page("panel/panel.html")


async def meeting_info(request: Request) -> Response:
    svc = _svc(request)
    _limited(svc, request)
    code = str(request.path_params["code"]).upper()
    m = await _meeting(svc, code)
    if m is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    return JSONResponse({"code": m.code, "title": m.title, "status": m.status,
                         "join_url": join_url(svc, request, m.code)})


async def login(request: Request) -> Response:
    """Wrong passwords slow the next attempts down (per meeting and per address), up to
    a few seconds; the right password always gets in after that wait."""
    svc = _svc(request)
    code = str(request.path_params["code"]).upper()
    body = await read_json(request, cap=4096)
    password = body.get("password")
    if not isinstance(password, str) or not 0 < len(password) <= 200:
        raise LiveError("请求格式错误：需要 {\"password\": \"...\"}", "invalid", status=400)
    m = await _meeting(svc, code)
    if m is None or m.id is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    hashed = m.host_password_hash
    await throttled_password(svc, request, f"m:{m.id}",
                             lambda: True if verify_password(hashed, password.strip()) else None,
                             LiveError("密码错误", "bad_password", status=401))
    meeting_id = m.id

    def start() -> str:
        prune_sessions(svc.engine, svc.settings.session_max_s)
        return open_session(svc.engine, meeting_id, "host")

    sid = await asyncio.to_thread(start)
    resp = JSONResponse({"ok": True, "code": m.code, "csrf": svc.signer.csrf_token(sid)})
    resp.set_cookie(svc.cookie(HOST_COOKIE), svc.signer.host_cookie(meeting_id, m.host_session_version, sid),
                    max_age=min(HOST_MAX_AGE, svc.settings.session_max_s), httponly=True, samesite="strict",
                    secure=svc.settings.secure_cookies)
    return resp


async def logout(request: Request) -> Response:
    """Revokes this login on the server: the old cookie no longer works anywhere."""
    svc = _svc(request)
    raw = request.cookies.get(svc.cookie(HOST_COOKIE))
    if raw:
        try:
            mid, _, sid = svc.signer.read_host_cookie(raw)
        except (TokenError, KeyError, ValueError):
            sid = None
        if sid is not None:
            check_csrf(svc, request, sid)
            await asyncio.to_thread(revoke_session, svc.engine, sid)
            # This login's open consoles (on any worker) close now, not at their next message.
            svc.hub.broker.publish({"k": "logout", "m": mid, "who": "session", "session": session_key(sid)})
    resp = JSONResponse({"ok": True})
    resp.delete_cookie(svc.cookie(HOST_COOKIE), secure=svc.settings.secure_cookies, httponly=True,
                       samesite="strict")
    return resp


async def host_session(request: Request, allow_admin: bool = True) -> tuple[Meeting, str]:
    """The meeting and session id of a logged-in host (or, with ``allow_admin``, a signed-in
    installation administrator); changes need the CSRF header."""
    svc = _svc(request)
    code = str(request.path_params["code"]).upper()
    m = await _meeting(svc, code)
    if m is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    raw = request.cookies.get(svc.cookie(HOST_COOKIE))
    try:
        sid = await asyncio.to_thread(check_host, svc, raw, m)
    except (TokenError, KeyError, ValueError) as exc:
        # An installation administrator may do what any meeting's host does over HTTP
        # (slides, question import, printables, exports): live.web.admin_auth.
        from live.web.admin_auth import admin_principal

        admin = await admin_principal(request) if allow_admin else None
        if admin is None:
            if isinstance(exc, TokenError):
                raise LiveError(exc.message, exc.code, status=401) from exc
            raise LiveError("登录已失效，请重新登录", "login_required", status=401) from exc
        sid = admin.session_id
    check_csrf(svc, request, sid)
    return m, sid


async def _host_meeting(request: Request) -> Meeting:
    m, _ = await host_session(request)
    return m


async def session_info(request: Request) -> Response:
    """Whether this browser is the host, and the CSRF token its page sends with changes."""
    try:
        found = await host_session(request, allow_admin=False)
    except LiveError:
        return JSONResponse({"host": False})
    m, sid = found
    return JSONResponse({"host": True, "code": m.code, "csrf": _svc(request).signer.csrf_token(sid)})


async def join_qr(request: Request) -> Response:
    svc = _svc(request)
    _limited(svc, request)
    code = str(request.path_params["code"]).upper()
    if await _meeting(svc, code) is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    png = await asyncio.to_thread(qr_png, join_url(svc, request, code))
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=300"})


async def export_ballots(request: Request) -> Response:
    """Host only: every ballot with the scheme and digests, for `live verify`."""
    svc = _svc(request)
    m = await _host_meeting(request)
    export = await asyncio.to_thread(_export, svc, m.id or 0)
    return Response(orjson.dumps(export, option=orjson.OPT_INDENT_2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="ballots-{m.code}.json"'})


async def export_results(request: Request) -> Response:
    svc = _svc(request)
    m = await _host_meeting(request)

    def render() -> bytes:
        import tempfile

        from live.reports.results_xlsx import write_results_xlsx

        with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
            write_results_xlsx(_export(svc, m.id or 0), f.name)
            return Path(f.name).read_bytes()

    data = await asyncio.to_thread(render)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="results-{m.code}.xlsx"'})


def _export(svc: Services, meeting_id: int) -> dict[str, Any]:
    from live.reports.verify import build_export
    from live.store.exports import export_input
    from live.store.record import export_record

    with Session(svc.engine) as s:
        meeting, scheme, items = export_input(s, meeting_id)
        audit, record = export_record(s, meeting_id)
    return build_export(meeting, scheme, items, audit, record)


async def healthz(request: Request) -> Response:
    svc = _svc(request)
    return JSONResponse({"ok": True, "broker": svc.hub.broker.status, "broker_healthy": svc.hub.broker.healthy,
                         "writer_backlog": svc.writer.backlog, "sockets": svc.admission.open,
                         "socket_cap": svc.admission.cap, "sockets_refused": svc.admission.refused})
