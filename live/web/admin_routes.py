"""The routes of the administrators' workspace (/admin and /api/admin/...)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from live.web import admin_auth, admin_meetings, presenter_link

ROUTES: list[BaseRoute] = [
    Route("/admin", admin_auth.admin_page),
    Route("/api/admin/login", admin_auth.admin_login, methods=["POST"]),
    Route("/api/admin/logout", admin_auth.admin_logout, methods=["POST"]),
    Route("/api/admin/session", admin_auth.admin_session),
    Route("/api/admin/meetings", admin_meetings.meetings, methods=["GET", "POST"]),
    Route("/api/admin/meetings/{code}", admin_meetings.detail),
    Route("/api/admin/meetings/{code}/setup", admin_meetings.save_setup, methods=["PUT"]),
    Route("/api/admin/meetings/{code}/finish", admin_meetings.finish, methods=["POST"]),
    Route("/api/admin/meetings/{code}/archive", admin_meetings.archive, methods=["POST"]),
    Route("/api/admin/meetings/{code}/host-password", admin_meetings.host_password, methods=["POST"]),
    Route("/api/admin/meetings/{code}/presenter-link", admin_meetings.presenter_link, methods=["GET", "POST"]),
    Route("/api/admin/meetings/{code}/duplicate", admin_meetings.duplicate, methods=["POST"]),
    Route("/api/admin/import/presenters", admin_meetings.import_presenters, methods=["POST"]),
    Route("/api/admin/import/roster", admin_meetings.import_roster, methods=["POST"]),
    Route("/api/admin/schemes", admin_meetings.schemes, methods=["GET", "POST"]),
    Route("/api/meetings/{code}/presenter/claim", presenter_link.claim, methods=["POST"]),
]
