"""Error answers a person can read: a styled Chinese page for browsers (fits a 360 px phone,
with a way back), the usual JSON error for API calls and scripts. No bare 500 anywhere."""

from __future__ import annotations

import logging
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

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
<link rel="stylesheet" href="/static/style.css">
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


def wants_html(request: Request) -> bool:
    """Pages always get a page. Under the API only a browser's own navigation does (a printable
    or 体检单 download link asks for text/html); fetch() from our scripts and clients get JSON."""
    if not request.url.path.startswith(_API_PREFIXES):
        return True
    return "text/html" in request.headers.get("accept", "")


def error_page(status: int, message: str, title: str | None = None) -> HTMLResponse:
    body = _PAGE.format(status=status, title=escape(title or _TITLES.get(status, "出错了")), message=escape(message))
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    """The page for a browser, ``{"error": {"code", "message"}}`` for everything else."""
    if wants_html(request):
        return error_page(status, message)
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(request, 404, "not_found", "没有这个页面。请核对地址，或回到首页输入会议码。")


async def server_error(request: Request, exc: Exception) -> Response:
    """The last resort for an unhandled exception: logged with its traceback, answered politely."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "服务器处理请求时出错，已记录。请稍后重试；如果一直出现，请联系会务人员。"
    return error_response(request, 500, "internal", message)


__all__ = ["error_page", "error_response", "not_found", "server_error", "wants_html"]
