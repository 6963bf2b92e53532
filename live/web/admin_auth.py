"""Installation administrators at /admin: sign-in, sign-out, and :func:`require_admin`,
the one check every admin route makes.

The cookie (``live_admin``; ``__Host-live_admin`` on https) is HttpOnly, SameSite=Strict
and signs only a random session id; the row behind it (live.store.admins) ends at
sign-out, after ``LIVE_SESSION_IDLE_S`` unused and ``LIVE_SESSION_MAX_S`` after sign-in,
and when ``live admin reset`` gives the administrator a new password. Every change
carries the session's CSRF token in ``X-CSRF-Token``; wrong passwords slow the next
attempts down as the host login does (per address and per administrator name)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from live.domain.errors import LiveError
from live.store.admins import AdminRow, authenticate, check_admin_session, open_admin_session, revoke_admin_session
from live.web.auth import HOST_MAX_AGE, TokenError
from live.web.context import check_csrf, throttled_password
from live.web.context import services as _svc
from live.web.guard import read_json
from live.web.services import Services

ADMIN_COOKIE = "live_admin"
_WHY = {"revoked": "已退出登录，请重新登录", "idle": "长时间未操作，登录已失效，请重新登录",
        "expired": "登录已超过有效期，请重新登录", "unknown": "登录已失效，请重新登录"}


FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


@dataclass(frozen=True)
class AdminPrincipal:
    """A signed-in administrator, as a route sees it."""

    admin_id: int
    name: str
    session_id: str


def _cookie_value(svc: Services, session_id: str) -> str:
    return svc.signer.dumps("admin", {"s": session_id})


def _session_id(svc: Services, raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        sid = svc.signer.loads("admin", raw, HOST_MAX_AGE).get("s")
    except TokenError:
        return None
    return sid if isinstance(sid, str) and 20 <= len(sid) <= 64 else None


async def admin_principal(request: Request) -> AdminPrincipal | None:
    """The signed-in administrator of this request, or None (no CSRF check)."""
    svc = _svc(request)
    sid = _session_id(svc, request.cookies.get(svc.cookie(ADMIN_COOKIE)))
    if sid is None:
        return None
    found = await asyncio.to_thread(check_admin_session, svc.engine, sid, idle_s=svc.settings.session_idle_s,
                                    max_s=svc.settings.session_max_s)
    if not isinstance(found, AdminRow):
        return None
    return AdminPrincipal(found.id, found.name, sid)


async def require_admin(request: Request) -> AdminPrincipal:
    """The signed-in administrator; 401 ``login_required`` otherwise, and 403 ``csrf`` for a
    change (POST, PUT, PATCH, DELETE) without the session's ``X-CSRF-Token``."""
    svc = _svc(request)
    sid = _session_id(svc, request.cookies.get(svc.cookie(ADMIN_COOKIE)))
    if sid is None:
        raise LiveError("请先以管理员身份登录", "login_required", status=401)
    found = await asyncio.to_thread(check_admin_session, svc.engine, sid, idle_s=svc.settings.session_idle_s,
                                    max_s=svc.settings.session_max_s)
    if not isinstance(found, AdminRow):
        raise LiveError(_WHY.get(found, _WHY["unknown"]), "login_required", status=401)
    check_csrf(svc, request, sid)
    return AdminPrincipal(found.id, found.name, sid)


async def admin_page(request: Request) -> Response:
    return FileResponse(FRONTEND / "admin" / "admin.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


async def admin_login(request: Request) -> Response:
    svc = _svc(request)
    body = await read_json(request, cap=4096)
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 40 \
            or not isinstance(password, str) or not 0 < len(password) <= 200:
        raise LiveError("请填写管理员名称和密码", "invalid", status=400)
    admin = await throttled_password(svc, request, f"m:admin:{name.strip().lower()}",
                                     lambda: authenticate(svc.engine, name, password.strip()),
                                     LiveError("管理员名称或密码错误", "bad_password", status=401))
    sid = await asyncio.to_thread(open_admin_session, svc.engine, admin)
    resp = JSONResponse({"ok": True, "name": admin.name, "csrf": svc.signer.csrf_token(sid)})
    resp.set_cookie(svc.cookie(ADMIN_COOKIE), _cookie_value(svc, sid),
                    max_age=min(HOST_MAX_AGE, svc.settings.session_max_s), httponly=True, samesite="strict",
                    secure=svc.settings.secure_cookies)
    return resp


async def admin_logout(request: Request) -> Response:
    """Ends this sign-in on the server: the old cookie no longer works anywhere."""
    svc = _svc(request)
    sid = _session_id(svc, request.cookies.get(svc.cookie(ADMIN_COOKIE)))
    if sid is not None:
        check_csrf(svc, request, sid)
        await asyncio.to_thread(revoke_admin_session, svc.engine, sid)
    resp = JSONResponse({"ok": True})
    resp.delete_cookie(svc.cookie(ADMIN_COOKIE), secure=svc.settings.secure_cookies, httponly=True,
                       samesite="strict")
    return resp


async def admin_session(request: Request) -> Response:
    """Whether this browser is signed in as an administrator, and its page's CSRF token."""
    who = await admin_principal(request)
    if who is None:
        return JSONResponse({"admin": False})
    return JSONResponse({"admin": True, "name": who.name, "csrf": _svc(request).signer.csrf_token(who.session_id)})
