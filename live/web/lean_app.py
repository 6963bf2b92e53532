"""The application class: Starlette, with ``/ws/{code}`` taken straight to its endpoint.

A phone's socket stays open for the whole meeting, and every layer the ASGI call passes
through on its way to the endpoint (three middlewares, Starlette's error and exception
layers, the router's match over every route, the route's session wrapper) stays
suspended on its stack for as long: a dozen coroutine frames per socket, and the
router's walk over ~100 routes per join. Here a WebSocket for ``/ws/{code}`` whose
Origin passes the guard goes to ``websocket_endpoint`` at once; everything else,
including a handshake the Origin guard refuses, takes the full stack as before. The
middlewares do nothing for a WebSocket besides that guard (security headers and gzip
are for HTTP responses)."""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from live.config import Settings
from live.web.guard import allowed_origins, request_origin
from live.web.socket import websocket_endpoint

WS_PATH = re.compile(r"/ws/([^/]+)")  # as WebSocketRoute("/ws/{code}") matches it


class LiveApp(Starlette):
    def __init__(self, settings: Settings, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live_settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root):]
            m = WS_PATH.fullmatch(path)
            if m is not None:
                headers = Headers(scope=scope)
                origin = request_origin(headers)
                if origin is None or origin in allowed_origins(self.live_settings, headers, scope):
                    scope["app"] = self
                    scope["path_params"] = {"code": m.group(1)}
                    await websocket_endpoint(WebSocket(scope, receive, send))
                    return
        await super().__call__(scope, receive, send)
