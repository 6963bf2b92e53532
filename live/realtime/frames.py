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


def text_frame(wire: str) -> bytes:
    """``wire`` as one unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2), the
    bytes a server writes: the same for every socket, so a fan-out encodes it once."""
    payload = wire.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126, n >> 8, n & 0xFF)) + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


def text_frames(wires: tuple[str, ...]) -> bytes:
    """Several frames back to back, for one write."""
    return b"".join(text_frame(w) for w in wires)
