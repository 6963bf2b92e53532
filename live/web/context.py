"""What the host and admin routes read off every request: the installation's services, the
client's address (behind trusted proxies), the CSRF check on a change made with a session
cookie (host or admin), and the login throttle around a password check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request

from live.domain.errors import LiveError
from live.web.auth import CSRF_HEADER
from live.web.guard import SAFE_METHODS
from live.web.services import Services

R = TypeVar("R")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def client_ip(request: Request) -> str:
    return services(request).client_ip(request.client.host if request.client else None,
                                       request.headers.get("x-forwarded-for"))


def check_csrf(svc: Services, request: Request, session_id: str) -> None:
    """A change made with a session cookie must carry the session's CSRF token."""
    if request.method in SAFE_METHODS or svc.signer.csrf_ok(session_id, request.headers.get(CSRF_HEADER)):
        return
    raise LiveError("页面凭证缺失或已过期，请刷新页面后重试", "csrf", status=403)


async def throttled_password(svc: Services, request: Request, account: str, check: Callable[[], R | None],
                             wrong: LiveError) -> R:
    """Run a password ``check`` (in a thread) behind the login throttle, counted per client
    address and per ``account``: too many attempts at once are refused (429), and after wrong
    passwords each attempt waits longer first. ``check`` answers None for a wrong password,
    which counts as a failure and raises ``wrong``; otherwise its answer is returned."""
    throttle = svc.login_throttle
    address = throttle.address_key(client_ip(request))
    keys = [address, account]
    if not throttle.enter(keys):
        wait = max(1, int(throttle.cap))
        raise LiveError(f"登录尝试过于频繁，请 {wait} 秒后再试", "rate_limited", status=429,
                        headers={"Retry-After": str(wait)})
    try:
        delay = throttle.delay(keys)
        if delay:
            await asyncio.sleep(delay)
        found = await asyncio.to_thread(check)
        if found is None:
            throttle.failed(keys)
            raise wrong
    finally:
        throttle.leave(keys)
    throttle.succeeded(address)
    return found
