"""``GET /api/meetings/{code}/live.json``: the public state for watchers behind a CDN
(live.realtime.live_doc builds and keeps it; this only answers, 200 or 304)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live.domain.errors import LiveError
from live.realtime.live_doc import CACHE_CONTROL
from live.web.services import Services

GZIP_MINIMUM = 1024  # GZipMiddleware's minimum_size in live.web.app
_CODE = re.compile(r"[A-Za-z0-9]{1,32}")


def _client_ip(svc: Services, request: Request) -> str:
    return svc.client_ip(request.client.host if request.client else None, request.headers.get("x-forwarded-for"))


async def live_json(request: Request) -> Response:
    svc: Services = request.app.state.services
    code = str(request.path_params["code"])
    meeting_id = await svc.hub.meeting_id_for(code) if _CODE.fullmatch(code) else None
    if meeting_id is None:
        # Known codes are answered from memory; only a miss reads the database, so misses are counted.
        if not svc.public_hits.allow(_client_ip(svc, request)):
            raise LiveError("请求过于频繁，请稍后再试", "rate_limited", status=429, headers={"Retry-After": "10"})
        raise LiveError("会议码不存在", "not_found", status=404)
    rt = await svc.hub.runtime(meeting_id)
    doc = svc.live_docs.doc(rt, svc.hub.interaction.voice(meeting_id).likes_total)
    gz = "gzip" in request.headers.get("accept-encoding", "").lower()
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": doc.etag_gzip if gz else doc.etag,
               "X-Live-Seq": str(doc.seq)}
    if doc.matches(request.headers.get("if-none-match")):
        return Response(status_code=304, headers={**headers, "Vary": "Accept-Encoding"})
    if gz:
        headers["Content-Encoding"] = "gzip"  # GZipMiddleware leaves an encoded body alone
    if gz or len(doc.body) < GZIP_MINIMUM:
        headers["Vary"] = "Accept-Encoding"  # else GZipMiddleware adds it to the plain body
    return Response(doc.gzipped if gz else doc.body, media_type="application/json", headers=headers)


ROUTES = [Route("/api/meetings/{code}/live.json", live_json, methods=["GET", "HEAD"])]
