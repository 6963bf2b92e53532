"""Entry point for uvicorn workers started with ``--factory``."""

from __future__ import annotations

from starlette.applications import Starlette

from live.config import Settings
from live.web.app import create_app


def app_from_env() -> Starlette:
    settings = Settings.from_env()
    settings.migrate = False
    return create_app(settings)
