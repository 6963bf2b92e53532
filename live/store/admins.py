"""Installation administrators (table ``admin_user``) and their sign-in sessions
(``admin_session``). Authentication bookkeeping, not meeting state: written here
directly, never through the meeting writer, and nothing about it is published."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from live.passwords import hash_password, new_password, verify_password
from live.store.models import AdminSession, AdminUser

NAME_RE = re.compile(r"^[\w.\-@\u4e00-\u9fff]{1,40}$")
TOUCH_EVERY_MS = 60_000
ADMIN_PASSWORD_LENGTH = 16


class AdminError(ValueError):
    pass


@dataclass(frozen=True)
class AdminRow:
    id: int
    name: str
    session_version: int


def _now_ms() -> int:
    return int(time.time() * 1000)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise AdminError("管理员名称须为 1–40 个字母、数字、汉字或 . - _ @")
    return name


def create_admin(engine: Engine, name: str) -> str:
    """A new administrator; returns the generated password (shown once, only its hash is kept)."""
    name = check_name(name)
    password = new_password(ADMIN_PASSWORD_LENGTH)
    with Session(engine) as s:
        if s.exec(select(AdminUser).where(AdminUser.name == name)).first() is not None:
            raise AdminError(f"管理员「{name}」已存在（重设密码请用 live admin reset）")
        s.add(AdminUser(name=name, password_hash=hash_password(password), created_at_ms=_now_ms()))
        s.commit()
    return password


def reset_admin(engine: Engine, name: str) -> str:
    """A fresh password for ``name``; every open session of that administrator ends."""
    name = check_name(name)
    password = new_password(ADMIN_PASSWORD_LENGTH)
    with Session(engine) as s:
        row = s.exec(select(AdminUser).where(AdminUser.name == name)).first()
        if row is None:
            raise AdminError(f"没有名为「{name}」的管理员")
        row.password_hash = hash_password(password)
        row.session_version += 1
        s.add(row)
        s.execute(update(AdminSession).where(col(AdminSession.admin_id) == row.id).values(revoked=True))
        s.commit()
    return password


def list_admins(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return [a.name for a in s.exec(select(AdminUser).order_by(col(AdminUser.name))).all()]


def find_admin(engine: Engine, name: str) -> tuple[AdminRow, str] | None:
    """The administrator of that name and its password hash, or None."""
    with Session(engine) as s:
        row = s.exec(select(AdminUser).where(AdminUser.name == name.strip())).first()
        if row is None or row.id is None:
            return None
        return AdminRow(row.id, row.name, row.session_version), row.password_hash


# Checked when a name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def authenticate(engine: Engine, name: str, password: str) -> AdminRow | None:
    found = find_admin(engine, name)
    if found is None:
        verify_password(_DUMMY_HASH, password)
        return None
    row, stored = found
    return row if verify_password(stored, password) else None


def open_admin_session(engine: Engine, admin: AdminRow) -> str:
    session_id = secrets.token_urlsafe(32)
    now = _now_ms()
    with Session(engine) as s:
        cutoff = now - 14 * 24 * 3600 * 1000
        s.execute(delete(AdminSession).where(col(AdminSession.created_at_ms) < cutoff))
        s.add(AdminSession(id_hash=_hash(session_id), admin_id=admin.id, session_version=admin.session_version,
                           created_at_ms=now, last_seen_ms=now))
        s.commit()
    return session_id


def check_admin_session(engine: Engine, session_id: str, *, idle_s: int, max_s: int,
                        touch_every_ms: int = TOUCH_EVERY_MS) -> AdminRow | str:
    """The administrator of a live session (its use noted), else why not:
    ``revoked``, ``idle``, ``expired`` or ``unknown``."""
    now = _now_ms()
    with Session(engine) as s:
        row = s.get(AdminSession, _hash(session_id))
        if row is None:
            return "unknown"
        admin = s.get(AdminUser, row.admin_id)
        if admin is None or admin.id is None:
            return "unknown"
        if row.revoked or row.session_version != admin.session_version:
            return "revoked"
        if now - row.created_at_ms > max_s * 1000:
            return "expired"
        if now - row.last_seen_ms > idle_s * 1000:
            return "idle"
        if now - row.last_seen_ms >= touch_every_ms:
            row.last_seen_ms = now
            s.add(row)
            s.commit()
        return AdminRow(admin.id, admin.name, admin.session_version)


def revoke_admin_session(engine: Engine, session_id: str) -> None:
    with Session(engine) as s:
        s.execute(update(AdminSession).where(col(AdminSession.id_hash) == _hash(session_id)).values(revoked=True))
        s.commit()
