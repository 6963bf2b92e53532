"""Server-side login sessions of hosts and recorders (table ``login_session``).

The cookie holds a signed random session id; the table holds its SHA-256, when it
was made and last used, and whether it was revoked. These rows are authentication
bookkeeping, not meeting state: nothing is published about them, so they are written
here directly rather than through the meeting writer."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import Engine, update
from sqlmodel import Session, col

from live.store.models import LoginSession

# A session's last use is written at most this often, not on every request.
TOUCH_EVERY_MS = 60_000


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


def open_session(engine: Engine, meeting_id: int, role: str = "host") -> str:
    """A new session; returns its random id (only its hash is stored)."""
    session_id = secrets.token_urlsafe(32)
    now = _now_ms()
    with Session(engine) as s:
        s.add(LoginSession(id_hash=_hash(session_id), meeting_id=meeting_id, role=role,
                           created_at_ms=now, last_seen_ms=now))
        s.commit()
    return session_id


def check_session(engine: Engine, session_id: str, meeting_id: int, role: str, *,
                  idle_s: int, max_s: int, touch_every_ms: int | None = TOUCH_EVERY_MS) -> str | None:
    """None if the session is live (and notes its use, unless ``touch_every_ms`` is None),
    else why not: ``revoked``, ``idle``, ``expired`` or ``unknown``."""
    now = _now_ms()
    with Session(engine) as s:
        row = s.get(LoginSession, _hash(session_id))
        if row is None or row.meeting_id != meeting_id or row.role != role:
            return "unknown"
        if row.revoked:
            return "revoked"
        if now - row.created_at_ms > max_s * 1000:
            return "expired"
        if now - row.last_seen_ms > idle_s * 1000:
            return "idle"
        if touch_every_ms is not None and now - row.last_seen_ms >= touch_every_ms:
            row.last_seen_ms = now
            s.add(row)
            s.commit()
    return None


def touch_session(engine: Engine, session_id: str) -> None:
    """Note a use made over a socket (host commands), so an active console is not idle."""
    with Session(engine) as s:
        s.execute(update(LoginSession).where(col(LoginSession.id_hash) == _hash(session_id))
                  .where(col(LoginSession.revoked).is_(False)).values(last_seen_ms=_now_ms()))
        s.commit()


def revoke_session(engine: Engine, session_id: str) -> None:
    with Session(engine) as s:
        s.execute(update(LoginSession).where(col(LoginSession.id_hash) == _hash(session_id)).values(revoked=True))
        s.commit()


def prune_sessions(engine: Engine, max_s: int) -> int:
    """Forget sessions past their absolute lifetime (called on login)."""
    from sqlalchemy import delete

    cutoff = _now_ms() - max_s * 1000 - 3600_000
    with Session(engine) as s:
        result = s.execute(delete(LoginSession).where(col(LoginSession.created_at_ms) < cutoff))
        s.commit()
        return int(getattr(result, "rowcount", 0) or 0)
