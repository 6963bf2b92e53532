"""The data-care commands: ``live backup``, ``live restore`` and ``live purge`` (docs/operations.md)."""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
import time
from pathlib import Path

from sqlmodel import Session

from live.config import Settings, make_private_dir
from live.store.db import checkpoint_truncate, is_sqlite, make_engine, normalise_url, sqlite_path

_AGE = re.compile(r"(\d+)\s*([dhw])")
_UNIT_S = {"h": 3600, "d": 86400, "w": 7 * 86400}

PG_BACKUP = ("PostgreSQL 数据库请用 pg_dump 备份、pg_restore 恢复（live backup/restore 只处理内嵌的 SQLite）：\n"
             "  pg_dump --format=custom --no-owner --file=live-$(date +%Y%m%d-%H%M%S).dump \"$DATABASE_URL\"\n"
             "  pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error "
             "--dbname=\"$DATABASE_URL\" FILE.dump\n"
             "详见 docs/operations.md。\n"
             "PostgreSQL: use pg_dump / pg_restore as above; live backup/restore handle SQLite only.")


def parse_age(text: str) -> int:
    """``180d``, ``12h`` or ``2w`` in seconds; ValueError otherwise."""
    m = _AGE.fullmatch(text.strip().lower())
    if not m or int(m[1]) <= 0:
        raise ValueError(f"时长「{text}」无法识别：请写成如 180d（天）、12h（小时）或 4w（周）的正数")
    return int(m[1]) * _UNIT_S[m[2]]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=args.database_url, data_dir=args.data_dir)


def _sqlite_db(settings: Settings, verb: str) -> Path | None:
    url = normalise_url(settings.database_url)
    if not is_sqlite(url):
        print(f"{verb}：当前数据库是 PostgreSQL。\n{PG_BACKUP}", file=sys.stderr)
        return None
    path = sqlite_path(url)
    if path is None:
        print(f"{verb}：内存数据库没有可备份的文件", file=sys.stderr)
    return path


def _mib(size: int) -> str:
    return f"{size / 1048576:.2f} MiB" if size >= 1048576 else f"{size / 1024:.1f} KiB"


def cmd_backup(args: argparse.Namespace) -> int:
    from live.store.backup import BackupError, backup
    from live.store.backup_files import archive_attachments

    settings = _settings(args)
    db = _sqlite_db(settings, "无法备份")
    if db is None:
        return 2
    started = time.perf_counter()
    try:
        info = backup(db, Path(args.output))
    except BackupError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    try:  # after the database copy: every attachment a copied row names is already on disk
        files = archive_attachments(settings.data_dir, info.path)
    except OSError as exc:
        print(f"错误：数据库已备份到 {info.path}，但整改附件未能归档：{exc}", file=sys.stderr)
        return 1
    took = time.perf_counter() - started
    print(f"已备份数据库 {db} → {info.path}")
    if files is not None:
        print(f"  整改附件 {files[1]} 个 → {files[0]}（恢复时须与数据库备份放在一起）")
    print(f"  大小 {_mib(info.size)}，用时 {took:.2f} 秒，完整性检查通过（integrity_check: ok）")
    print(f"  数据库版本 {info.revision}；会议 {info.meetings} 场，选票 {info.ballots} 张，"
          f"审计日志 {info.audit_entries} 条")
    print(f"  SHA-256 {info.sha256}")
    print(f"  幻灯片、签名密钥等数据目录（{settings.data_dir}）中的其他文件不在备份中，见 docs/operations.md")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from live.store.backup import BackupError, inspect, restore
    from live.store.backup_files import restore_attachments
    from live.store.server_lock import ServerRunning, exclusive

    settings = _settings(args)
    db = _sqlite_db(settings, "无法恢复")
    if db is None:
        return 2
    source = Path(args.file)
    try:
        info = inspect(source)
    except BackupError as exc:
        print(f"拒绝恢复：{exc}\nRefused: {source} is not a sound backup of this project.", file=sys.stderr)
        return 2
    try:
        lock = exclusive(settings.database_url)
    except ServerRunning as exc:
        print(f"拒绝恢复：{exc}。请先停止服务器（如 systemctl stop live），再运行 live restore。\n"
              "Refused: a server is running on this database. Stop it, then restore.", file=sys.stderr)
        return 3
    try:
        make_private_dir(db.parent)
        info, aside = restore(db, source)
        try:
            files = restore_attachments(settings.data_dir, source)
        except (OSError, ValueError, tarfile.TarError) as exc:
            print(f"错误：数据库已恢复，但整改附件归档无法恢复（原附件未改动）：{exc}", file=sys.stderr)
            return 1
    except BackupError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.release()
    print(f"已从 {source} 恢复数据库 {db}")
    print(f"  会议 {info.meetings} 场，选票 {info.ballots} 张，审计日志 {info.audit_entries} 条；SHA-256 {info.sha256}")
    if aside is not None:
        print(f"  原数据库已留存为 {aside}（确认无误后可自行删除）")
    if not info.current:
        print(f"  备份的数据库版本为 {info.revision}，下次启动服务器（或 live db upgrade）时升级到 {info.head}")
    if files is not None:
        print(f"  整改附件 {files[0]} 个已从 {source.stem}.attachments.tar 恢复"
              + (f"；原附件目录留存为 {files[1]}" if files[1] is not None else ""))
    else:
        print("  备份旁没有整改附件归档（*.attachments.tar），附件目录未改动")
    print("  签名密钥、幻灯片等数据目录中的其他文件未改动；如需一并恢复见 docs/operations.md")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from live.store.migrate import upgrade
    from live.store.purge import LABELS, purge

    try:
        age_s = parse_age(args.older_than)
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    settings = _settings(args)
    now = int(time.time() * 1000)
    cutoff = now - age_s * 1000
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with Session(engine) as s:
            results = purge(s, cutoff, now, dry_run=args.dry_run)
            if not args.dry_run:
                s.commit()
        if not args.dry_run:
            checkpoint_truncate(engine)  # the old values leave the SQLite write-ahead log too
    finally:
        engine.dispose()
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(cutoff / 1000))
    head = "预演（未作任何改动）" if args.dry_run else "已清除"
    if not results:
        print(f"{head}：没有在 {when} 之前结束的会议，无需清除")
        return 0
    print(f"{head}：{len(results)} 场在 {when} 之前结束的会议的个人信息")
    for r in results:
        ended = time.strftime("%Y-%m-%d", time.localtime(r.ended_at_ms / 1000))
        print(f"  {r.code} {r.title}（{ended} 结束）：共 {r.total} 项")
        for key, label in LABELS.items():
            if r.counts.get(key):
                print(f"    {label}：{r.counts[key]}")
    if not args.dry_run:
        print("选票、结果、问题清单与记录根摘要均保留，live verify 照常通过；清除已写入各会议的审计日志。")
        print("正在运行的服务器内存中可能仍留有这些会议的旧状态（如弹幕窗口），重启服务器后才完全清除。")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register backup, restore and purge on the ``live`` parser."""
    b = sub.add_parser("backup", help="在线备份 SQLite 数据库（服务器运行中也可），并检查备份",
                       description="用 SQLite 的在线备份接口复制数据库，复制后做完整性检查。"
                                   "PostgreSQL 请用 pg_dump，见 docs/operations.md。")
    b.add_argument("-o", "--output", required=True, help="备份文件，如 live-20250116.db")
    b.add_argument("--database-url")
    b.add_argument("--data-dir", default="data")
    b.set_defaults(func=cmd_backup)

    r = sub.add_parser("restore", help="用备份替换数据库（服务器运行时拒绝），原数据库留存在旁",
                       description="先检查备份（SQLite 完整性、数据表、数据库版本），服务器运行时拒绝恢复。"
                                   "退出码：0 已恢复；1 恢复失败；2 文件不是可用的备份；3 服务器正在运行。")
    r.add_argument("file", help="live backup 写出的备份文件")
    r.add_argument("--database-url")
    r.add_argument("--data-dir", default="data")
    r.set_defaults(func=cmd_restore)

    p = sub.add_parser("purge", help="清除早已结束的会议中的个人信息（设备号、网段、弹幕文字等）",
                       description="清除在给定时长之前结束的会议的个人信息；选票、结果、问题清单与记录根摘要保留，"
                                   "live verify 照常通过。清除的内容见 docs/operations.md。")
    p.add_argument("--older-than", required=True, metavar="AGE", help="会议结束已超过多久，如 180d、30d、12h、4w")
    p.add_argument("--dry-run", action="store_true", help="只统计将清除的数量，不作改动")
    p.add_argument("--database-url")
    p.add_argument("--data-dir", default="data")
    p.set_defaults(func=cmd_purge)
