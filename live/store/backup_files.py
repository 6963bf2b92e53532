"""The 整改 attachments beside a database backup (docs/operations.md).

Owners' report files live under ``{data_dir}/attachments/{problem_id}/`` (live.store.office),
not in the database. ``live backup -o X.db`` therefore writes a companion archive
``X.attachments.tar`` after the database copy: a file written after the copy may be in the
archive without a row naming it (harmless), but no row of the copy names a file the archive
lacks, since a file is written before the report's command runs. ``live restore X.db`` puts
the archive back when it lies beside the backup; the attachments it replaces are moved aside
to ``attachments.before-restore-YYYYmmdd-HHMMSS``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import time
from pathlib import Path

ATTACHMENT_DIR = "attachments"  # live.store.office.ATTACHMENT_DIR
SUFFIX = ".attachments.tar"


def companion(backup: Path) -> Path:
    """``live-20250116.db`` → ``live-20250116.attachments.tar`` beside it."""
    return backup.with_name(f"{backup.stem}{SUFFIX}")


def archive_attachments(data_dir: Path, backup: Path) -> tuple[Path, int] | None:
    """Archive ``data_dir/attachments`` beside ``backup``; (archive, files) or None when there is
    no such directory. The archive is written under a temporary name, 0600, then renamed."""
    source = Path(data_dir) / ATTACHMENT_DIR
    if not source.is_dir():
        return None
    out = companion(backup)
    tmp = out.with_name(f".{out.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    files = 0
    try:
        with tarfile.open(tmp, "w") as tar:
            tar.add(source, arcname=ATTACHMENT_DIR, recursive=False)
            for path in sorted(source.rglob("*")):
                if path.name.endswith(".part") or not (path.is_file() or path.is_dir()) or path.is_symlink():
                    continue  # a file still being written, or anything that is not a plain file
                tar.add(path, arcname=str(Path(ATTACHMENT_DIR) / path.relative_to(source)), recursive=False)
                files += path.is_file()
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    os.replace(tmp, out)
    return out, files


def restore_attachments(data_dir: Path, backup: Path) -> tuple[int, Path | None] | None:
    """Put back the archive beside ``backup``: (files, where the replaced attachments went) or None
    when the backup has no archive. Members outside ``attachments/`` or not plain files are refused."""
    archive = companion(backup)
    if not archive.is_file():
        return None
    data_dir = Path(data_dir)
    staging = data_dir / f".{ATTACHMENT_DIR}.restoring"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700, parents=True)
    files = 0
    try:
        with tarfile.open(archive, "r") as tar:
            members = tar.getmembers()
            for m in members:
                parts = Path(m.name).parts
                if not parts or parts[0] != ATTACHMENT_DIR or ".." in parts or not (m.isfile() or m.isdir()):
                    raise ValueError(f"附件归档 {archive} 中有不应有的条目：{m.name}")
            tar.extractall(staging, members=members, filter="data")
            files = sum(1 for m in members if m.isfile())
    except (tarfile.TarError, ValueError, OSError):
        shutil.rmtree(staging, ignore_errors=True)
        raise
    current = data_dir / ATTACHMENT_DIR
    aside: Path | None = None
    if current.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = data_dir / f"{ATTACHMENT_DIR}.before-restore-{stamp}"
        n = 1
        while aside.exists():
            n += 1
            aside = data_dir / f"{ATTACHMENT_DIR}.before-restore-{stamp}-{n}"
        os.replace(current, aside)
    restored = staging / ATTACHMENT_DIR
    if not restored.is_dir():
        restored.mkdir(mode=0o700)
    os.replace(restored, current)
    shutil.rmtree(staging, ignore_errors=True)
    return files, aside
