"""The edge of every request: Origin checks against cross-site requests, the JSON
body reader (type, size and depth), and the client's address behind trusted proxies.

A browser sends ``Origin`` on every cross-site request that could change something
(unsafe methods, WebSocket handshakes). Requests that carry none come from programs,
not from a page in a victim's browser, so they ride no victim's cookies and pass."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from live.config import Settings
from live.domain.errors import LiveError

BAD_ORIGIN_CLOSE = 4003
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_CAP = 64 * 1024
JSON_DEPTH = 16


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased, default ports dropped; None if it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def allowed_origins(settings: Settings, headers: Headers, scope: Scope) -> set[str]:
    allowed = {o for o in (origin_of(u) for u in settings.allowed_origins) if o}
    public = origin_of(settings.public_url) if settings.public_url else None
    if public:
        allowed.add(public)
    else:  # the demo, or a server addressed directly: its own address
        host = headers.get("host", "")
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        own = origin_of(f"{scheme}://{host}") if host else None
        if own:
            allowed.add(own)
    return allowed


def request_origin(headers: Headers) -> str | None:
    """The Origin header, else the Referer's origin; ``""`` for an opaque ``null`` origin."""
    raw = headers.get("origin")
    if raw is not None:
        return "" if raw.strip() == "null" else (origin_of(raw) or "")
    referer = headers.get("referer")
    if referer:
        return origin_of(referer) or ""
    return None


# ASGI events (kept out of "type" literals: those name this protocol's messages, docs/protocol.md).
_ASGI: dict[str, dict[str, Any]] = {name: {"type": kind} for name, kind in (
    ("start", "http.response.start"), ("body", "http.response.body"), ("accept", "websocket.accept"),
    ("send", "websocket.send"), ("close", "websocket.close"))}


class OriginGuard:
    """Refuses cross-site unsafe requests (403 ``bad_origin``) and WebSocket handshakes
    (accepted, told why, closed with 4003) whose Origin is not one of ours."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or (kind == "http" and scope["method"] in SAFE_METHODS):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = request_origin(headers)
        if origin is None or origin in allowed_origins(self.settings, headers, scope):
            await self.app(scope, receive, send)
            return
        message = "请求来源不被允许：请从本系统的页面操作"
        if kind == "http":
            body = orjson.dumps({"error": {"code": "bad_origin", "message": message}})
            await send({**_ASGI["start"], "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({**_ASGI["body"], "body": body})
            return
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        await send(_ASGI["accept"])
        await send({**_ASGI["send"], "text": orjson.dumps(
            {"type": "error", "id": None, "code": "bad_origin", "message": message}).decode()})
        await send({**_ASGI["close"], "code": BAD_ORIGIN_CLOSE, "reason": "bad origin"})


# --- request bodies ---------------------------------------------------------------------------


def _depth_over(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return False


def is_json(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_body(request: Request, cap: int) -> bytes | None:
    """The body, or None once it is over ``cap`` bytes (checked as it streams in)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        return None
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > cap:
            return None
    return bytes(buf)


async def read_json(request: Request, cap: int = JSON_CAP, depth: int = JSON_DEPTH) -> dict[str, Any]:
    """A JSON object body; else raises the 4xx :class:`LiveError`: 415 unless the body is
    declared ``application/json``, 413 above ``cap`` bytes, 400 if it is not a JSON
    object or nests deeper than ``depth``."""
    if not is_json(request):
        raise LiveError("请求格式错误：请以 application/json 提交", "unsupported_media_type", status=415)
    body = await read_body(request, cap)
    if body is None:
        raise LiveError(f"请求过大：上限 {cap // 1024} KB", "too_large", status=413)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise LiveError("请求格式错误：不是有效的 JSON", "invalid", status=400) from None
    if not isinstance(data, dict):
        raise LiveError("请求格式错误：需要 JSON 对象", "invalid", status=400)
    if _depth_over(data, depth):
        raise LiveError(f"请求格式错误：JSON 嵌套超过 {depth} 层", "too_deep", status=400)
    return data


# --- the client's address ------------------------------------------------------------------


def parse_networks(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def _in(addr: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """The peer's address; behind trusted proxies, the first untrusted address from the
    right of ``X-Forwarded-For`` (what a client can write is only to the left of it)."""
    addr = peer or "?"
    if not trusted or not forwarded_for or not _in(addr, trusted):
        return addr
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        addr = hop
        if not _in(hop, trusted):
            break
    return addr[:64]
