"""The routes of the administrators' workspace (/admin and /api/admin/...)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from live.web import admin_auth, admin_meetings

ROUTES: list[BaseRoute] = [
    Route("/admin", admin_auth.admin_page),
    Route("/api/admin/login", admin_auth.admin_login, methods=["POST"]),
    Route("/api/admin/logout", admin_auth.admin_logout, methods=["POST"]),
    Route("/api/admin/session", admin_auth.admin_session),
    Route("/api/admin/meetings", admin_meetings.meetings),
]
