"""The administrators' meeting routes: the list, archiving, host passwords."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from live.store.meetings_admin import STATE_LABEL, STATES, list_meetings
from live.web.admin_auth import require_admin
from live.web.routes import _svc


async def meetings(request: Request) -> Response:
    """``?q=`` words to look for; every meeting with its year and state (the page groups them)."""
    await require_admin(request)
    q = str(request.query_params.get("q", ""))[:100]
    rows = await asyncio.to_thread(list_meetings, _svc(request).engine, q)
    return JSONResponse({"meetings": rows, "states": [{"key": k, "label": STATE_LABEL[k]} for k in STATES]})
