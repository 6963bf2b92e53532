"""Backing up and restoring a SQLite database with SQLite's online backup API.

``backup`` copies the database page by page inside one read transaction
(``sqlite3.Connection.backup``): in WAL mode the server keeps writing meanwhile and the copy
is the database as it stood at one instant, committed ballots included, the WAL folded in.
The copy is made a single self-contained file (journal mode DELETE), checked with
``PRAGMA integrity_check`` and only then moved to its name.

``inspect`` says whether a file is a backup of this project: a SQLite file that passes
the integrity check, with an Alembic revision this program knows and the project's
tables. ``restore`` puts such a file in place of the database, keeping the old one aside;
the caller holds the exclusive server lock (live.store.server_lock) meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from live.store.migrate import alembic_config

# Tables every database of this project has had since the first migration.
CORE_TABLES = ("meeting", "agenda_item", "ballot", "event", "alembic_version")


class BackupError(RuntimeError):
    """The copy failed its check, or a file is not a usable backup of this project."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    sha256: str
    revision: str
    head: str
    meetings: int
    ballots: int
    audit_entries: int

    @property
    def current(self) -> bool:
        return self.revision == self.head


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def known_revisions() -> tuple[set[str], str]:
    """Every revision of this program's migrations, and the newest (head)."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = {r.revision for r in script.walk_revisions()}
    heads = script.get_heads()
    return revisions, heads[0] if len(heads) == 1 else ",".join(sorted(heads))


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def _integrity(conn: sqlite3.Connection) -> list[str]:
    rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows


def inspect(path: Path) -> BackupInfo:
    """Check that ``path`` is a sound database of this project; BackupError says why not."""
    if not path.is_file():
        raise BackupError(f"找不到文件 {path}")
    with path.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{path} 不是 SQLite 数据库文件（不是 live backup 写出的备份）")
    try:
        conn = _connect_ro(path)
    except sqlite3.Error as exc:
        raise BackupError(f"无法打开 {path}：{exc}") from exc
    try:
        try:
            bad = _integrity(conn)
            tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as exc:
            raise BackupError(f"{path} 已损坏（{exc}）") from exc
        if bad:
            raise BackupError(f"{path} 未通过完整性检查：{'；'.join(bad[:5])}")
        missing = [t for t in CORE_TABLES if t not in tables]
        if missing:
            raise BackupError(f"{path} 不是述法评议 Live 的数据库（缺少数据表 {'、'.join(missing)}）")
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        if len(rows) != 1:
            raise BackupError(f"{path} 的数据库版本记录异常（alembic_version 有 {len(rows)} 行）")
        revision = str(rows[0][0])
        known, head = known_revisions()
        if revision not in known:
            raise BackupError(f"{path} 的数据库版本 {revision} 不是本程序认识的版本（最新为 {head}）："
                              "它可能来自更新版本的程序，请用那个版本恢复")
        meetings = int(conn.execute("SELECT count(*) FROM meeting").fetchone()[0])
        ballots = int(conn.execute("SELECT count(*) FROM ballot").fetchone()[0])
        audit = int(conn.execute("SELECT count(*) FROM audit_entry").fetchone()[0]) if "audit_entry" in tables else 0
    finally:
        conn.close()
    return BackupInfo(path, path.stat().st_size, _sha256(path), revision, head, meetings, ballots, audit)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _copy(src: Path, dst: Path) -> None:
    """An online copy of ``src`` into a new file ``dst`` (0600), as one self-contained file."""
    with contextlib.suppress(FileNotFoundError):
        dst.unlink()
    os.close(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        # pages=-1: every page in one step, under one read transaction: a consistent instant
        # that writers in WAL mode do not wait for.
        source.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=DELETE")
        target.commit()
    finally:
        target.close()
        source.close()
    with dst.open("rb+") as f:
        os.fsync(f.fileno())


def backup(db: Path, out: Path) -> BackupInfo:
    """Copy the live database ``db`` to ``out`` while the server may be writing; check the copy."""
    if not db.is_file():
        raise BackupError(f"找不到数据库文件 {db}")
    out = out.resolve()
    if out == db.resolve():
        raise BackupError("备份文件不能是数据库本身")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        _copy(db, tmp)
        info = inspect(tmp)
    except (sqlite3.Error, BackupError) as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise BackupError(f"备份失败：{exc}") from exc
    os.replace(tmp, out)
    _fsync_dir(out.parent)
    return BackupInfo(out, info.size, info.sha256, info.revision, info.head, info.meetings, info.ballots,
                      info.audit_entries)


def aside_name(db: Path, now: float | None = None) -> Path:
    """Where the database replaced by a restore is kept: ``live.before-restore-YYYYmmdd-HHMMSS.db``
    beside it (a name ``live demo --reset``, which removes ``live.db*``, leaves alone)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    path = db.with_name(f"{db.stem}.before-restore-{stamp}{db.suffix}")
    n = 1
    while path.exists():
        n += 1
        path = db.with_name(f"{db.stem}.before-restore-{stamp}-{n}{db.suffix}")
    return path


def restore(db: Path, source: Path) -> tuple[BackupInfo, Path | None]:
    """Replace ``db`` with the checked backup ``source``. The old database (its WAL folded in) is
    copied aside first; returns the backup's facts and where the old one went (None: there was none).
    The caller holds the exclusive server lock."""
    info = inspect(source)
    if source.resolve() == db.resolve():
        raise BackupError("备份文件就是当前数据库本身")
    db.parent.mkdir(parents=True, exist_ok=True)
    aside: Path | None = None
    if db.is_file():
        aside = aside_name(db)
        try:
            _copy(db, aside)
        except sqlite3.Error as exc:
            with contextlib.suppress(FileNotFoundError):
                aside.unlink()
            raise BackupError(f"无法留存当前数据库（{exc}），未作任何改动") from exc
    tmp = db.with_name(f".{db.name}.restoring")
    try:
        _copy(source, tmp)
        inspect(tmp)
    except (sqlite3.Error, BackupError) as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise BackupError(f"恢复失败，当前数据库未改动：{exc}") from exc
    # The old WAL belongs to the old file: it must not be replayed into the restored one.
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            db.with_name(db.name + suffix).unlink()
    os.replace(tmp, db)
    _fsync_dir(db.parent)
    return info, aside
