"""Entry point for uvicorn workers started with ``--factory``."""

from __future__ import annotations

import sys

from starlette.applications import Starlette

from live.config import Settings
from live.web.app import create_app


def tune_process() -> None:
    """Process-wide settings of a serving worker (not of the tests that build apps)."""
    # The writer thread hands the GIL back and forth with the event loop around every
    # database call; at the default 5 ms switch interval a busy loop (a fan-out to 19,000
    # phones) made each hand-back wait, and ballots waited for their commit.
    sys.setswitchinterval(0.001)


def app_from_env() -> Starlette:
    tune_process()
    settings = Settings.from_env()
    settings.migrate = False
    return create_app(settings)
