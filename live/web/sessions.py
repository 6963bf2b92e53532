"""Host and recorder sessions as the endpoints see them: the signed cookie, its
server-side row (live.store.sessions) and the CSRF token that goes with it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from live.store.models import Meeting
from live.store.sessions import check_session
from live.web.auth import HOST_COOKIE, RECORDER_COOKIE, TokenError
from live.web.services import Services

_WHY = {"revoked": "已退出登录，请重新登录", "idle": "长时间未操作，登录已失效，请重新登录",
        "expired": "登录已超过有效期，请重新登录", "unknown": "登录已失效，请重新登录"}


def _lapsed(svc: Services, sid: str, meeting_id: int, role: str) -> str | None:
    """Why the server-side session ``sid`` no longer counts (revoked, idle, expired, unknown), or None."""
    return check_session(svc.engine, sid, meeting_id, role, idle_s=svc.settings.session_idle_s,
                         max_s=svc.settings.session_max_s)


def check_host(svc: Services, raw: str | None, meeting: Meeting) -> str:
    """The session id of a live host cookie for ``meeting``; TokenError otherwise.
    Reads the database: call it in a thread."""
    if not raw:
        raise TokenError("请先以主持人身份登录", code="login_required")
    mid, version, sid = svc.signer.read_host_cookie(raw)
    if mid != meeting.id or version != meeting.host_session_version:
        raise TokenError("登录已失效，请重新登录", code="login_required")
    why = _lapsed(svc, sid, mid, "host")
    if why is not None:
        raise TokenError(_WHY[why], code="login_required")
    return sid


def check_recorder(svc: Services, raw: str | None, meeting: Meeting) -> str:
    if not raw:
        raise TokenError("记录员凭证缺失，请重新打开记录员链接", code="login_required")
    mid, version, sid = svc.signer.read_recorder_cookie(raw)
    if mid != meeting.id or version != meeting.host_session_version:
        raise TokenError("该记录员链接已失效，请向主持人索取新链接", code="revoked")
    if _lapsed(svc, sid, mid, "recorder") is not None:
        raise TokenError("记录员登录已失效，请重新打开记录员链接", code="login_required")
    return sid


__all__ = ["HOST_COOKIE", "RECORDER_COOKIE", "check_host", "check_recorder"]


class SocketSession:
    """A host console's socket keeps its login alive while it is used, and ends when the
    login does: at most once a minute a message re-checks the session (noting the use,
    so an active console is never idle) and a logged-out one is closed. A logout or a new
    host password closes the socket at once over the bus (live.realtime.hub ``logout``);
    :meth:`watch` closes an unused console within ``WATCH_S`` of its idle timeout."""

    EVERY_S = 60.0
    WATCH_S = 15.0

    def __init__(self, svc: Services, meeting_id: int, session_id: str,
                 on_ended: Callable[[], Awaitable[None]]) -> None:
        self.svc, self.meeting_id, self.session_id, self.on_ended = svc, meeting_id, session_id, on_ended
        self._checked = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None

    def note(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.EVERY_S or (self._task is not None and not self._task.done()):
            return
        self._checked = now
        self._task = asyncio.create_task(self._check())

    def watch(self) -> None:
        self._watcher = asyncio.create_task(self._watch())

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()

    async def _watch(self) -> None:
        """Looks without noting a use: an open but unused console still goes idle."""
        settings = self.svc.settings
        while True:
            await asyncio.sleep(self.WATCH_S)
            why = await asyncio.to_thread(check_session, self.svc.engine, self.session_id, self.meeting_id, "host",
                                          idle_s=settings.session_idle_s, max_s=settings.session_max_s,
                                          touch_every_ms=None)
            if why is not None:
                await self.on_ended()
                return

    async def _check(self) -> None:
        settings = self.svc.settings
        why = await asyncio.to_thread(check_session, self.svc.engine, self.session_id, self.meeting_id, "host",
                                      idle_s=settings.session_idle_s, max_s=settings.session_max_s,
                                      touch_every_ms=0)
        if why is not None:
            await self.on_ended()


def socket_session_id(svc: Services, raw: str | None) -> str | None:
    """The session id in a host cookie already checked at the handshake."""
    if not raw:
        return None
    try:
        return svc.signer.read_host_cookie(raw)[2]
    except (TokenError, KeyError, ValueError):
        return None
