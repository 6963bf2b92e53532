"""What the host and admin routes read off every request: the installation's services, the
client's address (behind trusted proxies), and the CSRF check on a change made with a
session cookie (host or admin)."""

from __future__ import annotations

from starlette.requests import Request

from live.domain.errors import LiveError
from live.web.auth import CSRF_HEADER
from live.web.guard import SAFE_METHODS
from live.web.services import Services


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
