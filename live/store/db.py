"""Engines: SQLite in WAL mode by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event


def normalise_url(url: str) -> str:
    """Accept the usual spellings and pick the drivers the project ships with."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (None for in-memory databases)."""
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    rest = rest.split("?", 1)[0]
    return Path(rest) if rest and rest != ":memory:" else None


def make_private(path: Path) -> None:
    """The database and its -wal/-shm journals readable by the server's user only:
    SQLite creates the journals with the main file's mode, so that one is made 0600 first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):
            if p.exists() and p.stat().st_mode & 0o077:
                p.chmod(0o600)


def make_engine(url: str, *, synchronous: str = "FULL", pool_size: int = 8) -> Engine:
    url = normalise_url(url)
    if is_sqlite(url):
        if (path := sqlite_path(url)) is not None:
            make_private(path)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the screens read while the writer commits; FULL makes an
            # acknowledged ballot survive a power cut, not only a process crash.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted content is overwritten with zeros, not left in free pages (secret ballots).
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def checkpoint_truncate(engine: Engine) -> tuple[int, int, int] | None:
    """SQLite only: copy the write-ahead log into the database and truncate it to zero
    bytes. Returns SQLite's (busy, log frames, checkpointed frames); None elsewhere."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        row = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    return int(row[0]), int(row[1]), int(row[2])
