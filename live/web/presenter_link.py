"""The presenter's narrow link: ``/presenter/{code}#t={token}``.

It opens the presenter view and turns that meeting's slides (``slide.goto`` on a socket
with role ``presenter``), nothing else: no host console, no HTTP change. As with panel
links the token rides in the fragment, which browsers never send; the page posts it once
to ``POST /api/meetings/{code}/presenter/claim`` and gets an HttpOnly, SameSite=Strict
cookie ``live_presenter_{meeting id}`` that the socket checks. An administrator's new
link (``presenter_link_version`` + 1) stops the old link and the cookies it gave; a page
already open has its socket closed at once (4401, ``revoked``: a ``logout`` bus message)."""

from __future__ import annotations

import asyncio

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from live.domain.errors import LiveError
from live.store.models import Meeting
from live.web.auth import HOST_MAX_AGE, Signer, TokenError
from live.web.guard import read_json
from live.web.routes import _svc

COOKIE_PREFIX = "live_presenter_"
LINK_MAX_AGE = 60 * 24 * 3600
REVOKED = "该述法人翻页链接已更换，请向会务人员索取新链接"


def cookie_name(meeting_id: int) -> str:
    return f"{COOKIE_PREFIX}{meeting_id}"


def link_token(signer: Signer, meeting_id: int, version: int) -> str:
    return signer.dumps("presenter-link", {"m": meeting_id, "v": version})


def link_url(base: str, code: str, token: str) -> str:
    return f"{base}/presenter/{code}#t={token}"


def check_cookie(signer: Signer, raw: str | None, m: Meeting) -> None:
    """Raises TokenError unless ``raw`` is a live presenter cookie of meeting ``m``."""
    if not raw:
        raise TokenError("请用会务人员发给您的述法人翻页链接打开本页", code="login_required")
    d = signer.loads("presenter-session", raw, HOST_MAX_AGE)
    if d.get("m") != m.id:
        raise TokenError("该链接属于另一场会议", code="wrong_meeting")
    if d.get("v") != m.presenter_link_version:
        raise TokenError(REVOKED, code="revoked")


async def claim(request: Request) -> Response:
    """``{"token": "..."}`` from the link's fragment → ``{"ok", "code", "title"}`` and the cookie."""
    svc = _svc(request)
    code = str(request.path_params["code"]).upper()[:8]
    body = await read_json(request, cap=4096)
    token = body.get("token")
    if not isinstance(token, str) or not 10 <= len(token) <= 400:
        raise LiveError("链接无效，请重新打开会务人员发给您的链接", "bad_token", status=400)
    d = svc.signer.loads("presenter-link", token, LINK_MAX_AGE)

    def get() -> Meeting | None:
        with Session(svc.engine) as s:
            return s.exec(select(Meeting).where(Meeting.code == code)).first()

    m = await asyncio.to_thread(get)
    if m is None or m.id is None or d.get("m") != m.id:
        raise LiveError("链接与会议不符", "bad_token", status=400)
    if d.get("v") != m.presenter_link_version:
        raise LiveError(REVOKED, "revoked", status=401)
    resp = JSONResponse({"ok": True, "code": m.code, "title": m.title})
    resp.set_cookie(cookie_name(m.id), svc.signer.dumps("presenter-session", {"m": m.id, "v": d["v"]}),
                    max_age=HOST_MAX_AGE, httponly=True, samesite="strict", secure=svc.settings.secure_cookies)
    return resp
