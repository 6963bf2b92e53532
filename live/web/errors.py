"""HTTP rendering of the one error type: a route raises :class:`LiveError` and this
handler answers ``{"error": {"code": ..., "message": ...}}`` with the error's status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from live.domain.errors import LiveError


def error_response(err: LiveError) -> JSONResponse:
    return JSONResponse({"error": err.as_dict()}, status_code=err.status, headers=err.headers)


async def live_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveError)
    return error_response(exc)


EXCEPTION_HANDLERS = {LiveError: live_error_handler}
