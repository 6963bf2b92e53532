"""The Starlette application and its lifespan (engine, migrations, writer, hub)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from live.config import Settings
from live.domain.visibility import TallyBatching
from live.keys import KeyFileError, load_key
from live.realtime.broker import make_broker
from live.realtime.hub import Hub
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.server_lock import hold_for_server
from live.store.slides import rekey_old_decks
from live.store.writer import Writer
from live.web import (
    admin_routes,
    briefing_routes,
    credential_routes,
    live_routes,
    metrics,
    office_routes,
    owner_routes,
    panel_routes,
    paper_routes,
    problem_routes,
    record_routes,
    routes,
    slide_routes,
    voice_routes,
)
from live.web.auth import Signer
from live.web.errors import EXCEPTION_HANDLERS
from live.web.guard import OriginGuard
from live.web.lean_app import LiveApp
from live.web.services import Services
from live.web.socket import websocket_endpoint

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parents[2] / "assets"

# Pages only talk to their own origin; nothing loads from a CDN. The one exception is the
# live stream (HLS over https): the <video> loads it natively, or hls.js fetches its playlist
# and segments (connect-src https:) and plays them from a blob: (Media Source Extensions).
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' https: blob:; "
       "connect-src 'self' ws: wss: https:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts  # an https LIVE_PUBLIC_URL: browsers keep to https (nginx sends it too)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if scope["path"].startswith("/static/"):
                    # Revalidate (ETag) on each load, so a deploy never leaves stale modules behind.
                    headers.append((b"cache-control", b"no-cache"))
                headers += [(b"content-security-policy", CSP.encode()),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer")]
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _signing_key(settings: Settings) -> Ed25519PrivateKey | None:
    path = settings.signing_key_path
    try:
        key = None if path is None else load_key(path)
    except KeyFileError as exc:
        log.warning("会议记录将不签名：%s", exc)
        return None
    if key is None:
        log.warning("没有签名密钥（%s）：会议记录只有根摘要、不签名；请运行 live keys create", path or "未配置")
    return key


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Held while this server runs, so `live restore` refuses to replace its database.
        server_lock = hold_for_server(settings.database_url)
        engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
        if settings.migrate:
            upgrade(engine)
        # Decks from before slide keys: renamed unguessable before anyone can ask for a page.
        rekeyed = rekey_old_decks(engine, settings.data_dir)
        if rekeyed:
            log.info("gave %d old slide decks an unguessable key", rekeyed)
        hub = Hub(engine, make_broker(settings.redis_url, settings.redis_channel), tick_s=settings.tick_s,
                  batching=TallyBatching(settings.tally_interval_s, settings.tally_min_ballots,
                                         settings.tally_catchup_s))
        writer = Writer(engine, hub.on_commit, signing_key=_signing_key(settings))
        hub.interaction.writer = writer  # it stores the coalesced like counter every few seconds
        app.state.services = Services(settings, engine, writer, hub, Signer(settings.secret_key))
        await hub.start()
        await writer.start()
        try:
            yield
        finally:
            # Likes not yet stored and the minute being sampled, while the writer still runs.
            await hub.interaction.flush({mid: rt.local_presence() for mid, rt in hub.runtimes.items()})
            await writer.stop()
            await hub.stop()
            engine.dispose()
            if server_lock is not None:
                server_lock.release()

    route_list = [
        Route("/", routes.index),
        Route("/join", routes.join_form),
        Route("/j/{code}", routes.audience_page),
        Route("/host/{code}", routes.host_page),
        Route("/screen/{code}", routes.screen_page),
        Route("/overlay/{code}", routes.overlay_page),
        Route("/presenter/{code}", routes.presenter_page),
        Route("/p/{code}", routes.panel_page),
        Route("/api/meetings/{code}", routes.meeting_info),
        Route("/api/meetings/{code}/login", routes.login, methods=["POST"]),
        Route("/api/meetings/{code}/logout", routes.logout, methods=["POST"]),
        Route("/api/meetings/{code}/session", routes.session_info),
        Route("/api/meetings/{code}/export/ballots.json", routes.export_ballots),
        Route("/api/meetings/{code}/export/results.xlsx", routes.export_results),
        Route("/qr/join/{code}.png", routes.join_qr),
        Route("/api/meetings/{code}/items/{item_id:int}/slides", slide_routes.upload_slides, methods=["POST"]),
        Route("/api/meetings/{code}/print/panel-cards.pdf", slide_routes.panel_cards),
        Route("/api/meetings/{code}/print/join-poster.pdf", slide_routes.join_poster),
        Route("/slides/{item_id:int}/{deck}/{name}", slide_routes.slide_image),
        Route("/healthz", routes.healthz),
        Route("/metrics", metrics.metrics),
        *record_routes.ROUTES,
        *voice_routes.ROUTES,
        *problem_routes.ROUTES,
        *owner_routes.ROUTES,
        *office_routes.ROUTES,
        *panel_routes.ROUTES,
        *credential_routes.ROUTES,
        *paper_routes.ROUTES,
        *live_routes.ROUTES,
        *briefing_routes.ROUTES,
        *admin_routes.ROUTES,
        WebSocketRoute("/ws/{code}", websocket_endpoint),
        Mount("/static", StaticFiles(directory=routes.FRONTEND), name="static"),
        Mount("/assets", StaticFiles(directory=ASSETS), name="assets"),
    ]
    return LiveApp(settings, routes=route_list, lifespan=lifespan,
                   middleware=[Middleware(SecurityHeaders, hsts=settings.https),
                               Middleware(OriginGuard, settings=settings),
                               Middleware(GZipMiddleware, minimum_size=1024)],
                   exception_handlers=EXCEPTION_HANDLERS)
