"""The ``live`` command."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import orjson
from sqlmodel import Session

from live.config import Settings, make_private_dir, secret_key_problem, uvicorn_ws_options
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.seed import SpecError, create_meeting, first_meeting, panel_members, set_host_password
from live.web.auth import Signer, new_password
from live.web.guard import parse_networks
from live.web.panel_auth import member_pin, panel_url
from live.web.qr import qr_text

DEMO_SPEC = Path(__file__).resolve().parents[1] / "assets" / "demo_meeting.json"


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from live.web.app import create_app
    from live.web.factory import tune_process

    tune_process()

    if workers > 1:
        # Each worker builds its own app from the environment (factory mode).
        os.environ["LIVE_DATABASE_URL"] = settings.database_url
        os.environ["LIVE_SECRET_KEY"] = settings.secret_key
        if settings.redis_url:
            os.environ["LIVE_REDIS_URL"] = settings.redis_url
        if settings.public_url:
            os.environ["LIVE_PUBLIC_URL"] = settings.public_url
        if settings.signing_key_path:
            os.environ["LIVE_SIGNING_KEY"] = str(settings.signing_key_path)
        uvicorn.run("live.web.factory:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", proxy_headers=False, backlog=settings.backlog,
                    **uvicorn_ws_options(settings))  # type: ignore[arg-type]
        return
    uvicorn.run(create_app(settings), host=host, port=port, backlog=settings.backlog, log_level="warning",
                proxy_headers=False, **uvicorn_ws_options(settings))  # type: ignore[arg-type]


def _hold_server_lock(database_url: str) -> object:
    """The shared server lock, for the caller to hold while it seeds, migrates and serves (each
    app takes it too), so `live restore` refuses meanwhile; refused while a restore runs."""
    from live.store.server_lock import ServerRunning, hold_for_server

    try:
        return hold_for_server(database_url)
    except ServerRunning as exc:
        raise SystemExit(f"拒绝启动：{exc}") from None


def _base_url(host: str, port: int, public_url: str | None) -> str:
    if public_url:
        return public_url.rstrip("/")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (just for display)
    return f"http://{shown}:{port}"


def print_meeting(settings: Settings, meeting_id: int, password: str, base: str, out: Any = None) -> None:
    out = out or sys.stdout
    engine = make_engine(settings.database_url)
    signer = Signer(settings.secret_key)
    with Session(engine) as s:
        from live.store.models import Meeting

        m = s.get(Meeting, meeting_id)
        assert m is not None
        members = panel_members(s, meeting_id)
        code, title = m.code, m.title
        from live.domain.credentials import PUBLIC_MODE_LABEL, PublicMode

        mode_label = PUBLIC_MODE_LABEL[PublicMode(m.public_mode)]
        links = [(p.name, p.category,
                  panel_url(base, code, signer.panel_token(meeting_id, p.id or 0, p.token_version)),
                  member_pin(settings.secret_key, meeting_id, p.id or 0, p.pin_version))
                 for p in members if not p.revoked]
    engine.dispose()
    join = f"{base}/j/{code}"
    print(f"\n  {title}\n", file=out)
    print(f"  主持人控制台  {base}/host/{code}", file=out)
    print(f"  主持人密码    {password}   （仅显示这一次，请妥善保管）", file=out)
    print(f"  大屏          {base}/screen/{code}", file=out)
    print(f"  述法人翻页    {base}/presenter/{code}", file=out)
    print(f"  直播叠加层    {base}/overlay/{code}?layers=lower,question,tally,likes   （OBS/vMix 浏览器源 1920×1080）",
          file=out)
    print(f"  群众加入      {join}   会议码 {code}   群众投票方式：{mode_label}", file=out)
    print(qr_text(join), file=out)
    print("  评议团个人链接（每个链接只能在第一台打开它的设备上使用）：", file=out)
    for name, category, url, pin in links:
        print(f"    {name}（{category}）  {url}" + (f"   PIN {pin}" if pin else ""), file=out)
    print("", file=out, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    lock = _hold_server_lock(f"sqlite:///{data_dir / 'live.db'}")  # noqa: F841 (held while this command runs)
    if args.reset and data_dir.exists():
        for p in data_dir.glob("live.db*"):
            p.unlink()
        shutil.rmtree(data_dir / "decks", ignore_errors=True)
    settings = Settings.from_env(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'live.db'}")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    password = new_password()
    with Session(engine) as s:
        m = first_meeting(s)
        if m is None:
            spec = json.loads(DEMO_SPEC.read_text(encoding="utf-8"))
            # The demo meeting is held today, so its 整改 deadlines fall three months ahead;
            # its title names this year, so the date under it agrees.
            today = datetime.date.today()
            spec.setdefault("held_on", today.isoformat())
            spec["title"] = re.sub(r"\d{4}年度", f"{today.year}年度", spec["title"])
            created = create_meeting(s, spec, password)
            meeting_id = created.meeting_id
            _demo_decks(s, meeting_id, data_dir)
            _admin_audit(s, meeting_id, "meeting.create", {"title": spec.get("title"), "source": "demo"})
        else:
            assert m.id is not None
            meeting_id = m.id
            # The old password was shown once and is not kept: issue a fresh one.
            set_host_password(s, meeting_id, password)
            _admin_audit(s, meeting_id, "host.password", {"reason": "demo restart"})
        s.commit()
    engine.dispose()
    _demo_key(settings)
    print_meeting(settings, meeting_id, password, _base_url(args.host, args.port, settings.public_url))
    if args.no_serve:
        return 0
    _serve(settings, args.host, args.port)
    return 0


def _admin_audit(s: Session, meeting_id: int, action: str, details: dict[str, Any]) -> None:
    """An administrator's action on the command line, in the meeting's audit log."""
    import time

    from live.store.record import append_audit

    append_audit(s, meeting_id, "admin", action, details, int(time.time() * 1000))


def _demo_key(settings: Settings) -> None:
    """The demo signs its records: make the installation key on first run, and say so."""
    from live.domain.record import fingerprint, public_key_b64
    from live.keys import create_key, load_key

    path = settings.signing_key_path
    if path is None:
        return
    key = load_key(path)
    if key is None:
        key = create_key(path)
        print(f"  已为示范生成会议记录签名密钥：{path}（权限 0600）", flush=True)
    print(f"  记录签名公钥指纹 {fingerprint(public_key_b64(key))}（live keys show 查看公钥）", flush=True)


def _demo_decks(s: Session, meeting_id: int, data_dir: Path) -> None:
    from sqlmodel import col, select

    from live.store.models import AgendaItem
    from live.store.slides import seed_decks

    items = list(s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                        .order_by(col(AgendaItem.position))).all())
    decks = [DEMO_SPEC.parent / "slides" / f"deck-{n}.pdf" for n in range(1, len(items) + 1)]
    seed_decks(s, items, decks, data_dir)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env(database_url=args.database_url, secret_key=args.secret_key,
                                 data_dir=args.data_dir, redis_url=args.redis_url, public_url=args.public_url)
    # A key anyone can read in this repository signs cookies anyone can forge.
    if (problem := secret_key_problem(settings.secret_key)) is not None:
        print(f"拒绝启动：{problem}", file=sys.stderr)
        return 2
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        print(f"拒绝启动：LIVE_TRUSTED_PROXIES 应为逗号分隔的网段，如 127.0.0.1/32（{exc}）", file=sys.stderr)
        return 2
    make_private_dir(settings.data_dir)
    lock = _hold_server_lock(settings.database_url)  # noqa: F841 (held while this command runs)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    settings.migrate = False  # done once here, not by every worker
    _warn_unsigned(settings)
    print(f"述法评议 Live 正在 http://{args.host}:{args.port} 上运行（数据库：{settings.database_url.split('@')[-1]}）",
          flush=True)
    _serve(settings, args.host, args.port, args.workers)
    return 0


def _warn_unsigned(settings: Settings) -> None:
    from live.keys import KeyFileError, load_key

    path = settings.signing_key_path
    try:
        key = None if path is None else load_key(path)
    except KeyFileError as exc:
        print(f"警告：{exc}；会议记录将不签名。", file=sys.stderr, flush=True)
        return
    if key is None:
        print(f"警告：没有签名密钥（{path}），会议记录只有根摘要、不签名。请先运行 live keys create。",
              file=sys.stderr, flush=True)


def cmd_meeting_create(args: argparse.Namespace) -> int:
    settings = Settings.from_env(database_url=args.database_url, data_dir=args.data_dir)
    spec = orjson.loads(Path(args.spec).read_bytes())
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        with Session(engine) as s:
            created = create_meeting(s, spec)
            _admin_audit(s, created.meeting_id, "meeting.create", {"title": spec.get("title"), "source": args.spec})
            s.commit()
    except SpecError as exc:
        for problem in exc.problems:  # every problem at once, as the /admin wizard shows them
            print(f"错误：{problem}", file=sys.stderr)
        return 2
    engine.dispose()
    print_meeting(settings, created.meeting_id, created.password, _base_url("127.0.0.1", 8000, args.public_url))
    return 0


def _meeting_id(s: Session, ref: str) -> int:
    from sqlmodel import select

    from live.store.models import Meeting

    m = s.exec(select(Meeting).where(Meeting.code == ref.upper())).first()
    if m is None and ref.isdigit():
        m = s.get(Meeting, int(ref))
    if m is None or m.id is None:
        raise SpecError(f"找不到会议「{ref}」（请给出会议码或编号）")
    return m.id


def build_ballots_export(settings: Settings, ref: str) -> dict[str, Any]:
    from live.reports.verify import build_export
    from live.store.exports import export_input
    from live.store.record import export_record

    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as s:
            mid = _meeting_id(s, ref)
            meeting, scheme, items = export_input(s, mid)
            audit, record = export_record(s, mid)
    finally:
        engine.dispose()
    return build_export(meeting, scheme, items, audit, record)


def cmd_export(args: argparse.Namespace) -> int:
    settings = Settings.from_env(database_url=args.database_url, data_dir=args.data_dir)
    try:
        export = build_ballots_export(settings, args.meeting)
    except SpecError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    if args.what == "ballots":
        out.write_bytes(orjson.dumps(export, option=orjson.OPT_INDENT_2))
        print(f"已导出 {export['counts']['ballots']} 张选票、{export['counts']['items']} 位述法人到 {out}")
        return 0
    from live.reports.results_xlsx import write_results_xlsx
    from live.reports.verify import ExportError

    try:
        write_results_xlsx(export, out)
    except ExportError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 1
    print(f"已导出测评结果工作簿到 {out}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Recount everything from the exported ballots and check the record root and its signature;
    0 all match, 1 a mismatch, 2 unreadable."""
    from live.domain.record import RecordError, parse_public_key_bytes
    from live.reports.verify import ExportError, format_report, verify_file

    pubkey = args.pubkey
    if pubkey and Path(pubkey).is_file():
        pubkey = Path(pubkey).read_text(encoding="utf-8").strip()
    if pubkey:
        try:
            parse_public_key_bytes(pubkey)
        except RecordError as exc:
            print(f"无法核验：--pubkey 无效（{exc}）", file=sys.stderr)
            return 2
    try:
        report = verify_file(args.file, expect=args.expect, pubkey=pubkey)
    except ExportError as exc:
        print(f"无法核验：{exc.message}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 0 if report.ok else 1


def cmd_tickets_create(args: argparse.Namespace) -> int:
    """N fresh 票码 for one 群体: the PDF and the CSV are written once; the database keeps only hashes."""
    import time

    from live.domain.credentials import code_hash, new_code, pepper_from_secret
    from live.domain.phases import PhaseError
    from live.reports.tickets import ticket_bundle
    from live.store.credentials import MAX_TICKETS_PER_BATCH, create_tickets
    from live.store.models import Meeting

    settings = Settings.from_env(database_url=args.database_url, data_dir=args.data_dir)
    if not 1 <= args.count <= MAX_TICKETS_PER_BATCH:
        print(f"错误：票码数量应为 1 至 {MAX_TICKETS_PER_BATCH}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    upgrade(engine)
    codes = [new_code() for _ in range(args.count)]
    pepper = pepper_from_secret(settings.secret_key)
    try:
        with Session(engine) as s:
            meeting_id = _meeting_id(s, args.meeting)
            hashes = [code_hash(pepper, c) for c in codes]
            now = int(time.time() * 1000)
            reply = create_tickets(s, meeting_id, {"group": args.group, "hashes": hashes}, now).reply
            m = s.get(Meeting, meeting_id)
            assert m is not None
            title, code, mode = m.title, m.code, m.public_mode
            s.commit()
    except (SpecError, PhaseError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    base = _base_url("127.0.0.1", 8000, args.public_url or settings.public_url)
    pdf, csv_bytes = ticket_bundle(title, base, code, reply["first"], reply["group"], codes)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    name = f"tickets-{code}-batch{reply['batch']}"
    (out / f"{name}.pdf").write_bytes(pdf)
    (out / f"{name}.csv").write_bytes(csv_bytes)
    for p in (out / f"{name}.pdf", out / f"{name}.csv"):
        p.chmod(0o600)  # the codes exist in clear only in these two files
    print(f"已生成票码 No.{reply['first']}–{reply['last']}（{reply['group']}）：{out / name}.pdf、{name}.csv")
    if mode != "ticket":
        print(f"提示：该会议当前的群众投票方式不是票码（{mode}），请在主持人控制台改为「票码」后票码才能使用。")
    return 0


def _key_path(args: argparse.Namespace) -> Path:
    from live.keys import default_key_path

    return Path(args.path) if args.path else default_key_path(Path(args.data_dir))


def _print_public_key(key: Any, path: Path) -> None:
    from live.domain.record import fingerprint, public_key_b64

    pub = public_key_b64(key)
    print(f"签名密钥文件  {path}")
    print(f"公钥（base64）{pub}")
    print(f"公钥指纹      {fingerprint(pub)}")
    print("请把公钥公布出去（如印在会议通知上）：任何人都可以用 live verify 文件 --pubkey 公钥 核对记录的真实性。")


def cmd_keys_create(args: argparse.Namespace) -> int:
    from live.keys import KeyFileError, create_key

    path = _key_path(args)
    try:
        key = create_key(path, force=args.force)
    except (KeyFileError, OSError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    _print_public_key(key, path)
    return 0


def cmd_keys_show(args: argparse.Namespace) -> int:
    from live.keys import KeyFileError, load_key

    path = _key_path(args)
    try:
        key = load_key(path)
    except KeyFileError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    if key is None:
        print(f"错误：没有签名密钥文件 {path}（用 live keys create 生成）", file=sys.stderr)
        return 1
    _print_public_key(key, path)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = Settings.from_env(database_url=args.database_url, data_dir=args.data_dir)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    print("数据库已升级到最新版本")
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    """``live admin create|reset NAME`` prints a generated password once; ``list`` names them."""
    from live.store.admins import AdminError, create_admin, list_admins, reset_admin

    settings = Settings.from_env(database_url=args.database_url, data_dir=args.data_dir)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        if args.admin_command == "list":
            for name in list_admins(engine):
                print(name)
            return 0
        make = create_admin if args.admin_command == "create" else reset_admin
        password = make(engine, args.name)
    except AdminError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    done = "已创建管理员" if args.admin_command == "create" else "已重设管理员密码（原有登录全部失效）"
    print(f"{done}：{args.name.strip()}")
    print(f"  登录地址  {_base_url('127.0.0.1', 8000, args.public_url or settings.public_url)}/admin")
    print(f"  密码      {password}   （仅显示这一次，请妥善保管）")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="live", description="述法评议 Live：述法评议会直播互动服务器")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, default_port: int = 8000) -> None:
        sp.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
        sp.add_argument("--port", type=int, default=default_port, help="监听端口（默认 8000）")
        sp.add_argument("--data-dir", default="data", help="数据目录：SQLite 数据库与密钥（默认 ./data）")

    d = sub.add_parser("demo", help="创建示范会议（嵌入式 SQLite、进程内消息）并启动服务器",
                       description="在数据目录中建立示范会议：3 位述法人、9 位评议团成员，并启动服务器。"
                                   "再次运行沿用已有数据，--reset 重新开始。")
    common(d)
    d.add_argument("--reset", action="store_true", help="删除已有的示范数据，重新开始")
    d.add_argument("--no-serve", action="store_true", help="只建立数据并打印链接，不启动服务器")
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("serve", help="正式运行服务器",
                       description="正式部署：参数或环境变量 LIVE_DATABASE_URL、LIVE_SECRET_KEY、LIVE_REDIS_URL、"
                                   "LIVE_PUBLIC_URL 配置。")
    common(s)
    s.add_argument("--database-url", help="数据库 URL，如 postgresql://user@host/db（环境变量 LIVE_DATABASE_URL）")
    s.add_argument("--secret-key", help="签名密钥（环境变量 LIVE_SECRET_KEY；缺省时在数据目录中生成）")
    s.add_argument("--redis-url", help="Redis URL，多进程共享一场会议时必需（环境变量 LIVE_REDIS_URL）")
    s.add_argument("--public-url", help="二维码指向的外部地址（环境变量 LIVE_PUBLIC_URL）")
    s.add_argument("--workers", type=int, default=1, help="工作进程数；大于 1 时需要 PostgreSQL 与 Redis")
    s.set_defaults(func=cmd_serve)

    m = sub.add_parser("meeting", help="会议管理")
    msub = m.add_subparsers(dest="meeting_command", required=True)
    mc = msub.add_parser("create", help="按 JSON 文件创建会议，打印主持人密码与各类链接",
                         description="JSON 格式见 assets/demo_meeting.json。")
    mc.add_argument("spec", help="会议 JSON 文件")
    mc.add_argument("--database-url")
    mc.add_argument("--data-dir", default="data")
    mc.add_argument("--public-url")
    mc.set_defaults(func=cmd_meeting_create)

    ex = sub.add_parser("export", help="导出选票（JSON，可用 live verify 独立核验）或测评结果（XLSX）")
    ex.add_argument("what", choices=["ballots", "results"], help="ballots：全部选票与摘要；results：结果工作簿")
    ex.add_argument("meeting", help="会议码或会议编号")
    ex.add_argument("-o", "--output", required=True, help="输出文件，如 ballots.json 或 results.xlsx")
    ex.add_argument("--database-url")
    ex.add_argument("--data-dir", default="data")
    ex.set_defaults(func=cmd_export)

    ve = sub.add_parser("verify", help="由导出的选票重新计算全部结果、排名与摘要并逐一核对",
                        description="退出码：0 全部一致；1 有不一致；2 文件无法读取或格式错误。")
    ve.add_argument("file", help="live export ballots 导出的 JSON 文件")
    ve.add_argument("--expect", metavar="ROOT",
                    help="大屏或体检单上公布的会议记录根摘要（64 位十六进制），文件必须与之一致")
    ve.add_argument("--pubkey", metavar="KEY",
                    help="主办方公布的签名公钥（base64 或十六进制，或存有公钥的文件）；"
                         "不给出时只核对完整性，不核对真实性")
    ve.set_defaults(func=cmd_verify)

    tk = sub.add_parser("tickets", help="票码：为票码投票的会议生成一次性票码")
    tksub = tk.add_subparsers(dest="tickets_command", required=True)
    tc = tksub.add_parser("create", help="生成 N 张票码，写出 A4 裁切票 PDF 与 CSV",
                          description="票码明文只写入这两个文件（权限 0600），数据库只保存其加盐哈希。")
    tc.add_argument("meeting", help="会议码或会议编号")
    tc.add_argument("count", type=int, help="张数（1–5000）")
    tc.add_argument("--group", default="群众代表", help="群体，须为测评方案中的群众投票组（默认 群众代表）")
    tc.add_argument("-o", "--output", default=".", help="输出目录（默认当前目录）")
    tc.add_argument("--database-url")
    tc.add_argument("--data-dir", default="data")
    tc.add_argument("--public-url", help="二维码指向的外部地址（环境变量 LIVE_PUBLIC_URL）")
    tc.set_defaults(func=cmd_tickets_create)
    keys = sub.add_parser("keys", help="会议记录签名密钥（Ed25519）")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    kc = ksub.add_parser("create", help="生成签名密钥文件（权限 0600，存放在数据库之外），打印公钥与指纹",
                         description="默认路径：环境变量 LIVE_SIGNING_KEY，否则数据目录下的 signing.key。")
    kc.add_argument("--path", help="密钥文件路径")
    kc.add_argument("--data-dir", default="data")
    kc.add_argument("--force", action="store_true", help="覆盖已有的密钥文件（旧签名将无法用新公钥核对）")
    kc.set_defaults(func=cmd_keys_create)
    ks = ksub.add_parser("show", help="打印签名公钥与指纹")
    ks.add_argument("--path", help="密钥文件路径")
    ks.add_argument("--data-dir", default="data")
    ks.set_defaults(func=cmd_keys_show)

    ad = sub.add_parser("admin", help="组织单位管理员：在 /admin 登录，创建会议、设置主持人密码")
    adsub = ad.add_subparsers(dest="admin_command", required=True)
    for name, text in (("create", "新建管理员，打印一次性生成的密码"),
                       ("reset", "为管理员生成新密码（打印一次），其原有登录全部失效")):
        ap = adsub.add_parser(name, help=text)
        ap.add_argument("name", help="管理员名称（1–40 个字母、数字或汉字）")
        ap.add_argument("--database-url")
        ap.add_argument("--data-dir", default="data")
        ap.add_argument("--public-url")
        ap.set_defaults(func=cmd_admin)
    al = adsub.add_parser("list", help="列出管理员名称")
    al.add_argument("--database-url")
    al.add_argument("--data-dir", default="data")
    al.set_defaults(func=cmd_admin)

    db = sub.add_parser("db", help="数据库维护")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="执行 Alembic 迁移到最新版本")
    up.add_argument("--database-url")
    up.add_argument("--data-dir", default="data")
    up.set_defaults(func=cmd_db_upgrade)

    from live.data_care import add_commands

    add_commands(sub)  # backup, restore, purge
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("serve", "demo"):
        # Files the server makes (database, keys, slide images, exports) are its user's alone.
        os.umask(0o077)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
