"""HTTP endpoints of the 评议团 links: the tablet's claim, and the host's list, QR,
release, revoke and PIN. Every change goes through the writer (``panel.*`` commands)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import orjson
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live.domain.errors import ErrorCode, LiveError
from live.store.models import Meeting, PanelMember
from live.store.panel_links import REVOKED
from live.store.seed import panel_members
from live.store.writer import CommandRefused
from live.web.auth import PANEL_MAX_AGE, TokenError
from live.web.panel_auth import (
    cookie_name,
    device_hash,
    member_pin,
    panel_url,
    pin_matches,
    read_session_cookie,
    session_cookie,
)
from live.web.qr import qr_png
from live.web.routes import _host_meeting, _limited, _svc
from live.web.services import Services

_STATUS = {"not_found": 404, "revoked": 403, "bound_elsewhere": 409, "invalid": 400}


def member_link(svc: Services, base: str, m: Meeting, p: PanelMember) -> str:
    assert m.id is not None and p.id is not None
    return panel_url(svc.public_base(base), m.code, svc.signer.panel_token(m.id, p.id, p.token_version))


async def claim(request: Request) -> Response:
    """A tablet shows its link's token (and PIN) once; the first device to do so keeps the link."""
    svc = _svc(request)
    _limited(svc, request)
    try:
        body = orjson.loads(await request.body())
        token, pin = body["token"], body.get("pin")
        if not isinstance(token, str) or not 0 < len(token) <= 300:
            raise ValueError
        if pin is not None and (not isinstance(pin, str) or not 0 < len(pin) <= 12):
            raise ValueError
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise LiveError("请求格式错误：需要 {\"token\": \"...\"}", ErrorCode.INVALID, status=400) from None
    try:
        mid, member_id, version = svc.signer.read_panel_token(token)
    except (TokenError, KeyError, TypeError, ValueError):
        raise LiveError("评议团链接无效，请向会务人员索取新链接", ErrorCode.BAD_TOKEN, status=400) from None

    def load() -> tuple[Meeting | None, PanelMember | None]:
        with Session(svc.engine) as s:
            m, p = s.get(Meeting, mid), s.get(PanelMember, member_id)
            for row in (m, p):
                if row is not None:
                    s.expunge(row)
            return m, p

    m, p = await asyncio.to_thread(load)
    if m is None or p is None or p.meeting_id != mid or m.id is None or p.id is None:
        raise LiveError("评议团链接无效，请向会务人员索取新链接", ErrorCode.BAD_TOKEN, status=404)
    if p.revoked or p.token_version != version:
        raise LiveError(REVOKED, ErrorCode.REVOKED, status=403)
    expected = member_pin(svc.settings.secret_key, m.id, p.id, p.pin_version)
    if expected is not None:
        key = f"pin|{m.id}|{p.id}"
        if svc.pin_failures.blocked(key):
            wait = svc.pin_failures.retry_after(key)
            raise LiveError(f"PIN 错误次数过多，请 {wait} 秒后再试", ErrorCode.RATE_LIMITED, status=429,
                            headers={"Retry-After": str(wait)})
        if not pin:
            raise LiveError("请输入评议卡上印的 PIN 码", ErrorCode.PIN_REQUIRED, status=401)
        if not pin_matches(expected, pin.strip()):
            svc.pin_failures.allow(key)
            raise LiveError("PIN 码错误，请核对评议卡", ErrorCode.BAD_PIN, status=401)
        svc.pin_failures.reset(key)
    device = _own_device(svc, request, m.id, p.id, version) or secrets.token_urlsafe(24)
    try:
        await svc.writer.command(m.id, "panel.bind", {"member_id": p.id, "version": version,
                                                      "device_hash": device_hash(device)})
    except CommandRefused as exc:
        raise LiveError(exc.message, exc.code, status=_STATUS.get(exc.code, 400), **exc.extra) from exc
    resp = JSONResponse({"code": m.code, "title": m.title, "member_id": p.id, "name": p.name,
                         "category": p.category})
    resp.set_cookie(cookie_name(p.id), session_cookie(svc.signer, m.id, p.id, version, device),
                    max_age=PANEL_MAX_AGE, httponly=True, samesite="strict", secure=svc.settings.secure_cookies)
    return resp


def _own_device(svc: Services, request: Request, meeting_id: int, member_id: int, version: int) -> str | None:
    """The device id this browser already holds for the member, if its session is current."""
    raw = request.cookies.get(cookie_name(member_id))
    if not raw:
        return None
    try:
        mid, pid, v, device = read_session_cookie(svc.signer, raw)
    except TokenError:
        return None
    return device if (mid, pid, v) == (meeting_id, member_id, version) else None


async def panel_links(request: Request) -> Response:
    """Host only: every member's link, QR, PIN and whether a device holds the link."""
    svc = _svc(request)
    m = await _host_meeting(request)
    meeting = m

    def members() -> list[PanelMember]:
        with Session(svc.engine) as s:
            rows = panel_members(s, meeting.id or 0)
            for r in rows:
                s.expunge(r)
            return rows

    base = str(request.base_url)
    return JSONResponse({"members": [_member_json(svc, base, meeting, p) for p in await asyncio.to_thread(members)]})


def _member_json(svc: Services, base: str, m: Meeting, p: PanelMember) -> dict[str, Any]:
    live = not p.revoked
    return {"id": p.id, "name": p.name, "category": p.category, "revoked": p.revoked,
            "bound": p.bound_device is not None,
            "pin": member_pin(svc.settings.secret_key, m.id or 0, p.id or 0, p.pin_version),
            "url": member_link(svc, base, m, p) if live else None,
            "qr": f"/api/meetings/{m.code}/panel/{p.id}/qr.png" if live else None}


async def _host_change(request: Request, name: str, args: dict[str, Any]) -> Response:
    svc = _svc(request)
    m = await _host_meeting(request)
    assert m.id is not None
    member_id = int(request.path_params["member_id"])
    try:
        await svc.writer.command(m.id, name, {"member_id": member_id, **args})
    except CommandRefused as exc:
        raise LiveError(exc.message, exc.code, status=_STATUS.get(exc.code, 400), **exc.extra) from exc
    if name in ("panel.revoke", "panel.release"):
        # The member's open tablets are closed on every worker, not just refused next time.
        svc.hub.broker.publish({"k": "revoke", "m": m.id, "member": member_id, "why": name})

    def reload() -> PanelMember | None:
        with Session(svc.engine) as s:
            p = s.get(PanelMember, member_id)
            if p is not None:
                s.expunge(p)
            return p

    p = await asyncio.to_thread(reload)
    if p is None:
        raise LiveError("评议团成员不存在", ErrorCode.NOT_FOUND, status=404)
    return JSONResponse(_member_json(svc, str(request.base_url), m, p))


async def revoke(request: Request) -> Response:
    """Revoke a member's link and issue a new one (a leaked link)."""
    return await _host_change(request, "panel.revoke", {})


async def release(request: Request) -> Response:
    """Free a member's link from its device (a broken tablet); the same link works on the next device."""
    return await _host_change(request, "panel.release", {})


async def set_pin(request: Request) -> Response:
    """Give a member a new PIN (``{"on": true}``, the default) or remove it (``{"on": false}``)."""
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else {}
        on = body.get("on", True) if isinstance(body, dict) else None
        if not isinstance(on, bool):
            raise ValueError
    except (orjson.JSONDecodeError, ValueError):
        raise LiveError("请求格式错误：需要 {\"on\": true} 或 {\"on\": false}", ErrorCode.INVALID,
                        status=400) from None
    return await _host_change(request, "panel.pin", {"on": on})


async def member_qr(request: Request) -> Response:
    """Host only: the QR of a member's link. The token is made here, never put in a URL path."""
    svc = _svc(request)
    m = await _host_meeting(request)
    member_id = int(request.path_params["member_id"])

    def load() -> PanelMember | None:
        with Session(svc.engine) as s:
            p = s.get(PanelMember, member_id)
            if p is not None:
                s.expunge(p)
            return p

    p = await asyncio.to_thread(load)
    if p is None or p.meeting_id != m.id or p.revoked:
        raise LiveError("评议团成员不存在", ErrorCode.NOT_FOUND, status=404)
    png = await asyncio.to_thread(qr_png, member_link(svc, str(request.base_url), m, p))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/api/panel/claim", claim, methods=["POST"]),
    Route("/api/meetings/{code}/panel", panel_links),
    Route("/api/meetings/{code}/panel/{member_id:int}/revoke", revoke, methods=["POST"]),
    Route("/api/meetings/{code}/panel/{member_id:int}/release", release, methods=["POST"]),
    Route("/api/meetings/{code}/panel/{member_id:int}/pin", set_pin, methods=["POST"]),
    Route("/api/meetings/{code}/panel/{member_id:int}/qr.png", member_qr),
]

__all__ = ["ROUTES", "claim", "member_link"]
