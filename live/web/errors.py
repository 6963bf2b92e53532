"""HTTP rendering of errors, in one place.

A route raises :class:`LiveError`; the one handler here answers it with the error's status as
``{"error": {"code": ..., "message": ...}}`` for API calls and scripts, or as a styled Chinese
page (fits a 360 px phone, with a way back) for a person's browser. Unknown paths (404) and
unhandled exceptions (500) get the same choice: no bare 500 anywhere."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from live.domain.errors import ErrorCode, LiveError

log = logging.getLogger(__name__)

_TITLES = {
    404: "页面不存在",
    500: "服务器出了点问题",
    503: "暂时无法生成",
}

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 述法评议 Live</title>
<link rel="stylesheet" href="/static/shared/style.css">
</head>
<body class="phone error-page">
<header class="topbar"><h1>述法评议 Live</h1></header>
<main>
  <section class="card error-box" role="alert">
    <p class="error-status">{status}</p>
    <h2>{title}</h2>
    <p>{message}</p>
    <p class="error-actions"><a class="btn btn-primary" href="/">返回首页，输入会议码</a></p>
  </section>
</main>
</body>
</html>
"""


_API_PREFIXES = ("/api/", "/ws/", "/qr/", "/slides/", "/static/", "/assets/", "/metrics", "/healthz")

NOT_FOUND_PAGE = "没有这个页面。请核对地址，或回到首页输入会议码。"
SERVER_ERROR_PAGE = "服务器处理请求时出错，已记录。请稍后重试；如果一直出现，请联系会务人员。"


def wants_html(request: Request) -> bool:
    """Pages get a page unless the caller asks for JSON. Under the API only a browser's own
    navigation does (a printable or 体检单 download link asks for text/html); fetch() from our
    scripts and clients get JSON."""
    accept = request.headers.get("accept", "")
    if not request.url.path.startswith(_API_PREFIXES):
        return "application/json" not in accept or "text/html" in accept
    return "text/html" in accept


def error_page(status: int, message: str, title: str | None = None,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    body = _PAGE.format(status=status, title=escape(title or _TITLES.get(status, "出错了")), message=escape(message))
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def error_response(err: LiveError) -> JSONResponse:
    """The JSON answer: ``{"error": {"code", "message", ...}}`` with the error's status."""
    return JSONResponse({"error": err.as_dict()}, status_code=err.status, headers=err.headers)


def render_error(request: Request, err: LiveError) -> Response:
    """The page for a browser, the JSON answer for everything else."""
    if wants_html(request):
        return error_page(err.status, err.message, headers=err.headers)
    return error_response(err)


async def live_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveError)
    return render_error(request, exc)


async def not_found(request: Request, exc: Exception) -> Response:
    return render_error(request, LiveError(NOT_FOUND_PAGE, ErrorCode.NOT_FOUND, status=404))


async def server_error(request: Request, exc: Exception) -> Response:
    """The last resort for an unhandled exception: logged with its traceback, answered politely."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return render_error(request, LiveError(SERVER_ERROR_PAGE, ErrorCode.INTERNAL, status=500))


Handler = Callable[[Request, Exception], Awaitable[Response]]
EXCEPTION_HANDLERS: Mapping[Any, Handler] = {LiveError: live_error_handler, 404: not_found, 500: server_error}

__all__ = ["EXCEPTION_HANDLERS", "error_page", "error_response", "live_error_handler", "not_found",
           "render_error", "server_error", "wants_html"]
