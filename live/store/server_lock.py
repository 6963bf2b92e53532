"""The lock a running server holds on its SQLite database, so ``live restore`` can tell.

Every server process (each app's lifespan) holds a *shared* ``flock`` on a small file
beside the database, ``.<db name>.lock``, for as long as it runs. ``live restore``
takes the *exclusive* lock without waiting: it fails while any server holds the shared
one, and a server that starts during a restore cannot get its shared lock and refuses to
start. The kernel drops a ``flock`` when its process dies (even by SIGKILL), so a crashed
server never leaves a stale lock behind; the pid written in the file is only for the
message. ``flock`` locks conflict between two open files of one process too, so a server
running in a thread of the same process is seen as well.

PostgreSQL databases have no file here: ``live restore`` does not restore them (pg_restore
does, docs/operations.md), so there is nothing to guard.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from live.store.db import is_sqlite, normalise_url, sqlite_path


class ServerRunning(RuntimeError):
    """Another process holds the lock: a server runs on this database (or a restore is under way)."""

    def __init__(self, path: Path, pid: int | None, exclusive: bool) -> None:
        who = f"进程 {pid}" if pid else "另一个进程"
        if exclusive:
            msg = f"数据库正被恢复或由{who}独占（锁文件 {path}）"
        else:
            msg = f"有服务器正在使用这个数据库（{who}，锁文件 {path}）"
        super().__init__(msg)
        self.path = path
        self.pid = pid


def lock_path(database_url: str) -> Path | None:
    """The lock file of a SQLite database file; None for PostgreSQL and in-memory databases."""
    url = normalise_url(database_url)
    if not is_sqlite(url):
        return None
    db = sqlite_path(url)
    return None if db is None else db.with_name(f".{db.name}.lock")


def _holder(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(raw) if raw else None
    return None


class ServerLock:
    """A held lock; ``release()`` (or process exit) lets it go."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit the kernel releases it anyway
            self.release()

    def __enter__(self) -> ServerLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _take(path: Path, mode: int) -> ServerLock:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _holder(fd)
        os.close(fd)
        raise ServerRunning(path, pid, exclusive=mode == fcntl.LOCK_SH) from None
    except OSError:
        os.close(fd)
        raise
    # Only informative: several workers may hold the shared lock; the last one to start is named.
    with contextlib.suppress(OSError):
        data = f"{os.getpid()}\n".encode()
        os.pwrite(fd, data.ljust(32), 0)
    return ServerLock(path, fd)


def hold_for_server(database_url: str) -> ServerLock | None:
    """Called by a server as it starts: the shared lock, or ServerRunning while a restore holds it."""
    path = lock_path(database_url)
    return None if path is None else _take(path, fcntl.LOCK_SH)


def exclusive(database_url: str) -> ServerLock | None:
    """Called by ``live restore``: the exclusive lock, or ServerRunning while any server runs."""
    path = lock_path(database_url)
    return None if path is None else _take(path, fcntl.LOCK_EX)
