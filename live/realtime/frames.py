"""The two reply frames of the socket, written once: ``ack`` and ``error``."""

from __future__ import annotations

from typing import Any

from live.domain.errors import ErrorCode, LiveError
from live.store.events import encode


def error_frame(err: LiveError, msg_id: str | None = None) -> str:
    """``{"type": "error", "id", "code", "message", ...extra}``; ``msg_id`` unless the error has its own."""
    return encode({"type": "error", "id": err.msg_id if err.msg_id is not None else msg_id, **err.as_dict()})


def error(msg_id: str | None, code: ErrorCode | str, message: str | None = None, **extra: Any) -> str:
    return error_frame(LiveError(message, code, **extra), msg_id)


def ack_frame(msg_id: str, **extra: Any) -> str:
    return encode({"type": "ack", "id": msg_id, **extra})
