"""HTTP endpoints: pages, joining, host login, panel links, QR images, health."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from live.domain.errors import LiveError
from live.store.models import Meeting, PanelMember
from live.store.seed import panel_members
from live.web.auth import DEVICE_COOKIE, DEVICE_MAX_AGE, HOST_COOKIE, HOST_MAX_AGE, TokenError, verify_password
from live.web.qr import qr_png
from live.web.services import Services

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def _svc(request: Request) -> Services:
    services: Services = request.app.state.services
    return services




def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


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


def panel_url(svc: Services, base: str, token: str) -> str:
    return f"{svc.public_base(base)}/p/{token}"


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
    if await _meeting(svc, code) is None:
        return Response("<!doctype html><meta charset=utf-8><title>会议码不存在</title>"
                        "<p style='font-size:20px'>会议码不存在，请核对后重新输入。</p><p><a href='/'>返回</a></p>",
                        status_code=404, media_type="text/html; charset=utf-8")
    resp = _page("audience.html")
    valid = False
    raw = request.cookies.get(DEVICE_COOKIE)
    if raw:
        try:
            svc.signer.read_device_cookie(raw)
            valid = True
        except TokenError:
            valid = False
    if not valid:
        _, value = svc.signer.device_cookie()
        resp.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, httponly=True, samesite="lax",
                        secure=svc.settings.cookie_secure)
    return resp


async def host_page(request: Request) -> Response:
    return _page("host.html")


async def screen_page(request: Request) -> Response:
    return _page("screen.html")


async def presenter_page(request: Request) -> Response:
    return _page("presenter.html")


async def panel_page(request: Request) -> Response:
    return _page("panel.html")


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
    svc = _svc(request)
    code = str(request.path_params["code"]).upper()
    key = f"{_client_ip(request)}|{code}"
    if svc.login_failures.blocked(key):
        wait = svc.login_failures.retry_after(key)
        raise LiveError(f"密码错误次数过多，请 {wait} 秒后再试", "rate_limited", status=429,
                        headers={"Retry-After": str(wait)})
    try:
        body = orjson.loads(await request.body())
        password = body["password"]
        if not isinstance(password, str) or not 0 < len(password) <= 200:
            raise ValueError
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise LiveError("请求格式错误：需要 {\"password\": \"...\"}", "invalid", status=400) from None
    m = await _meeting(svc, code)
    if m is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    ok = await asyncio.to_thread(verify_password, m.host_password_hash, password.strip())
    if not ok:
        svc.login_failures.allow(key)
        raise LiveError("密码错误", "bad_password", status=401)
    svc.login_failures.reset(key)
    assert m.id is not None
    resp = JSONResponse({"ok": True, "code": m.code})
    resp.set_cookie(HOST_COOKIE, svc.signer.host_cookie(m.id, m.host_session_version), max_age=HOST_MAX_AGE,
                    httponly=True, samesite="strict", secure=svc.settings.cookie_secure)
    return resp


async def logout(request: Request) -> Response:
    resp = JSONResponse({"ok": True})
    resp.delete_cookie(HOST_COOKIE)
    return resp


async def _host_meeting(request: Request) -> Meeting:
    svc = _svc(request)
    code = str(request.path_params["code"]).upper()
    m = await _meeting(svc, code)
    if m is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    raw = request.cookies.get(HOST_COOKIE)
    try:
        if not raw:
            raise TokenError("请先登录", code="login_required")
        mid, version = svc.signer.read_host_cookie(raw)
    except TokenError as exc:
        raise LiveError(exc.message, exc.code, status=401) from exc
    if mid != m.id or version != m.host_session_version:
        raise LiveError("登录已失效，请重新登录", "login_required", status=401)
    return m


async def session_info(request: Request) -> Response:
    try:
        m = await _host_meeting(request)
    except LiveError:
        return JSONResponse({"host": False})
    return JSONResponse({"host": True, "code": m.code})


async def panel_links(request: Request) -> Response:
    svc = _svc(request)
    m = await _host_meeting(request)
    assert m.id is not None
    meeting_id = m.id

    def members() -> list[PanelMember]:
        with Session(svc.engine) as s:
            rows = panel_members(s, meeting_id)
            for r in rows:
                s.expunge(r)
            return rows

    base = str(request.base_url)
    out: list[dict[str, Any]] = []
    for p in await asyncio.to_thread(members):
        assert p.id is not None
        token = svc.signer.panel_token(meeting_id, p.id, p.token_version)
        out.append({"id": p.id, "name": p.name, "category": p.category, "revoked": p.revoked,
                    "url": None if p.revoked else panel_url(svc, base, token),
                    "qr": None if p.revoked else f"/qr/panel/{token}.png"})
    return JSONResponse({"members": out})


async def revoke_panel(request: Request) -> Response:
    """Revoke a member's link and issue a new one (a lost tablet, a leaked link)."""
    svc = _svc(request)
    m = await _host_meeting(request)
    member_id = int(request.path_params["member_id"])
    assert m.id is not None
    # Through the single writer like every change: screens get panel.updated; the revocation is in the audit log.
    reply = await svc.writer.command(m.id, "panel.revoke", {"member_id": member_id}, actor="host")
    # The old link's open tablets are closed on every worker, not just refused next time.
    svc.hub.broker.publish({"k": "revoke", "m": m.id, "member": member_id})
    token = svc.signer.panel_token(m.id, member_id, int(reply["token_version"]))
    return JSONResponse({"id": member_id, "url": panel_url(svc, str(request.base_url), token),
                         "qr": f"/qr/panel/{token}.png"})


async def panel_info(request: Request) -> Response:
    """Who a personal link belongs to, and the meeting code its page connects to."""
    svc = _svc(request)
    _limited(svc, request)
    try:
        mid, member_id, version = svc.signer.read_panel_token(str(request.path_params["token"]))
    except TokenError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc

    def load() -> tuple[Meeting | None, PanelMember | None]:
        with Session(svc.engine) as s:
            return s.get(Meeting, mid), s.get(PanelMember, member_id)

    m, p = await asyncio.to_thread(load)
    if m is None or p is None or p.meeting_id != mid:
        raise LiveError("评议团链接无效", "bad_token", status=404)
    if p.revoked or p.token_version != version:
        raise LiveError("该评议团链接已被收回，请向会务人员索取新链接", "revoked", status=403)
    return JSONResponse({"code": m.code, "title": m.title, "name": p.name, "category": p.category})


async def join_qr(request: Request) -> Response:
    svc = _svc(request)
    _limited(svc, request)
    code = str(request.path_params["code"]).upper()
    if await _meeting(svc, code) is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    png = await asyncio.to_thread(qr_png, join_url(svc, request, code))
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=300"})


async def panel_qr(request: Request) -> Response:
    svc = _svc(request)
    token = str(request.path_params["token"])
    try:
        svc.signer.read_panel_token(token)
    except TokenError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc
    png = await asyncio.to_thread(qr_png, panel_url(svc, str(request.base_url), token))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


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
                         "writer_backlog": svc.writer.backlog})
