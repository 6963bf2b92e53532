"""The administrators' meeting routes: the list, the setup wizard (create, edit each
section, finish), imports of presenters and the 评议团, schemes, archiving, duplicating,
host passwords and the presenter's link. Every route calls :func:`require_admin`."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from sqlmodel import Session, col, select
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from live.domain.credentials import CredentialError, parse_roster
from live.domain.errors import LiveError
from live.domain.meeting_spec import SECTIONS, TEMPLATE_LABEL, TEMPLATES, SpecProblems, check_spec
from live.domain.presenter_import import parse_presenters
from live.domain.question_import import QuestionImportError
from live.domain.scheme import PANEL_CATEGORIES, Scheme, check_scheme
from live.passwords import hash_password, new_password
from live.store import meetings_admin as store
from live.store.models import Meeting, SavedScheme
from live.store.seed import SpecError, create_checked, create_meeting
from live.web.admin_auth import require_admin
from live.web.guard import read_json
from live.web.presenter_link import link_token, link_url
from live.web.routes import _svc, join_url
from live.web.services import Services
from live.web.voice_routes import UPLOAD_CAP, _upload, read_capped


async def meetings(request: Request) -> Response:
    """GET ``?q=`` words to look for: every meeting with its year and state (the page groups
    them). POST: :func:`create`."""
    if request.method == "POST":
        return await create(request)
    await require_admin(request)
    q = str(request.query_params.get("q", ""))[:100]
    rows = await asyncio.to_thread(store.list_meetings, _svc(request).engine, q)
    return JSONResponse({"meetings": rows, "states": [{"key": k, "label": store.STATE_LABEL[k]}
                                                       for k in store.STATES]})


async def _meeting_id(request: Request) -> int:
    mid = await asyncio.to_thread(store.find_meeting_id, _svc(request).engine, str(request.path_params["code"]))
    if mid is None:
        raise LiveError("会议不存在", "not_found", status=404)
    return mid


def _links(svc: Services, request: Request, code: str) -> dict[str, str]:
    base = svc.public_base(str(request.base_url))
    return {"host": f"{base}/host/{code}", "screen": f"{base}/screen/{code}", "join": join_url(svc, request, code)}


async def _setup_reply(request: Request, mid: int) -> dict[str, Any]:
    svc = _svc(request)
    setup = await asyncio.to_thread(store.meeting_setup, svc.engine, mid)
    if setup is None:
        raise LiveError("会议不存在", "not_found", status=404)
    setup["links"] = _links(svc, request, setup["code"])
    setup["categories"] = list(PANEL_CATEGORIES)
    return setup


async def create(request: Request) -> Response:
    """Step 1 of the wizard: ``{"title", "held_on", "venue"}`` → a 草稿 and its host password (shown once)."""
    await require_admin(request)
    svc = _svc(request)
    body = await read_json(request)
    checked = check_spec(body, ["basics"], require_date=True)

    def make() -> tuple[str, str]:
        with Session(svc.engine) as s:
            created = create_checked(s, checked, {}, setup_done=False)
            s.commit()
            return created.code, created.password

    code, password = await asyncio.to_thread(make)
    return JSONResponse({"code": code, "password": password}, status_code=201)


async def detail(request: Request) -> Response:
    await require_admin(request)
    return JSONResponse(await _setup_reply(request, await _meeting_id(request)))


async def save_setup(request: Request) -> Response:
    """``{"sections": [...], "basics"?, "presenters"?, "roster"?, "scheme"?, "options"?}`` →
    the setup as saved; 400 ``invalid`` with ``problems`` listing every problem; 409 ``setup_locked``."""
    await require_admin(request)
    svc = _svc(request)
    mid = await _meeting_id(request)
    body = await read_json(request, cap=512 * 1024)
    sections = body.get("sections")
    if not isinstance(sections, list) or not sections or any(x not in SECTIONS for x in sections):
        raise LiveError(f"sections 应为 {', '.join(SECTIONS)} 中的一项或几项", "invalid", status=400)
    args = {k: body.get(k) for k in ("sections", "basics", "presenters", "roster", "scheme", "options")}
    if isinstance(args["scheme"], dict) and "saved" in args["scheme"]:
        args["scheme"] = await asyncio.to_thread(_saved_scheme, svc, args["scheme"]["saved"])
    await svc.writer.command(mid, "setup.apply", args, actor="admin")
    return JSONResponse(await _setup_reply(request, mid))


async def finish(request: Request) -> Response:
    await require_admin(request)
    mid = await _meeting_id(request)
    await _svc(request).writer.command(mid, "setup.finish", {}, actor="admin")
    return JSONResponse(await _setup_reply(request, mid))


async def archive(request: Request) -> Response:
    """``{"archived": true|false}``."""
    await require_admin(request)
    mid = await _meeting_id(request)
    body = await read_json(request, cap=1024)
    archived = body.get("archived", True)
    if not isinstance(archived, bool):
        raise LiveError("archived 应为 true 或 false", "invalid", status=400)
    await _svc(request).writer.command(mid, "setup.archive", {"archived": archived}, actor="admin")
    return JSONResponse({"ok": True, "archived": archived})


async def host_password(request: Request) -> Response:
    """A new generated host password, shown once in this reply; every host session of the meeting ends."""
    await require_admin(request)
    mid = await _meeting_id(request)
    password = new_password()
    digest = await asyncio.to_thread(hash_password, password)
    await _svc(request).writer.command(mid, "setup.host_password", {"password_hash": digest}, actor="admin")
    # Every host console and recorder page of the meeting, on every worker, closes now.
    _svc(request).hub.broker.publish({"k": "logout", "m": mid, "who": "hosts"})
    return JSONResponse({"password": password})


def _presenter_link(svc: Services, request: Request, mid: int) -> dict[str, str]:
    with Session(svc.engine) as s:
        m = s.get(Meeting, mid)
        assert m is not None
        code, version = m.code, m.presenter_link_version
    token = link_token(svc.signer, mid, version)
    return {"url": link_url(svc.public_base(str(request.base_url)), code, token)}


async def presenter_link(request: Request) -> Response:
    """GET: the presenter's page-turning link; POST: a new one (the old one stops)."""
    await require_admin(request)
    svc = _svc(request)
    mid = await _meeting_id(request)
    if request.method == "POST":
        await svc.writer.command(mid, "setup.presenter_link", {}, actor="admin")
        svc.hub.broker.publish({"k": "logout", "m": mid, "who": "presenter_link"})
    return JSONResponse(await asyncio.to_thread(_presenter_link, svc, request, mid))


async def duplicate(request: Request) -> Response:
    """A new 草稿 from a past meeting: presenters, 评议团 and scheme copied, a new code and host password.
    ``{"title"?, "held_on"?}``; the title's year moves on by one unless given."""
    await require_admin(request)
    svc = _svc(request)
    mid = await _meeting_id(request)
    body = await read_json(request, cap=4096)
    spec = await asyncio.to_thread(store.duplicate_spec, svc.engine, mid)
    if spec is None:
        raise LiveError("会议不存在", "not_found", status=404)
    for key in ("title", "held_on", "venue"):
        if body.get(key) is not None:
            spec[key] = body[key]

    def make() -> tuple[str, str]:
        with Session(svc.engine) as s:
            created = create_meeting(s, spec, setup_done=False)
            s.commit()
            return created.code, created.password

    try:
        code, password = await asyncio.to_thread(make)
    except SpecError as exc:
        raise SpecProblems(exc.problems) from exc
    return JSONResponse({"code": code, "password": password}, status_code=201)


# --- imports (read only: the rows come back to the wizard, which saves them) ------------------


async def _file(request: Request) -> tuple[bytes, str | None]:
    body = await read_capped(request, UPLOAD_CAP)
    if body is None:
        raise LiveError("文件过大，最大 5 MB", "too_large", status=413)
    try:
        return await _upload(request, body)
    except QuestionImportError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc
    except MultiPartException as exc:
        raise LiveError(f"上传格式错误：{exc.message}", "invalid", status=400) from exc


async def import_presenters(request: Request) -> Response:
    """An XLSX or CSV of 姓名, 职务, 单位 (类别 optional) →
    ``{"presenters": [...], "errors": [{"row", "message"}]}``."""
    await require_admin(request)
    data, filename = await _file(request)
    try:
        result = await asyncio.to_thread(parse_presenters, data, filename)
    except QuestionImportError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc
    return JSONResponse({"presenters": result.presenters, "errors": result.errors})


async def import_roster(request: Request) -> Response:
    """The 评议团 from an XLSX or CSV of 姓名, 类别, 单位, 联系方式 (UTF-8 or GBK) →
    ``{"roster": [{"name", "category", "unit", "contact"}], "errors": [{"row", "message"}]}``."""
    await require_admin(request)
    data, filename = await _file(request)
    try:
        result = await asyncio.to_thread(parse_roster, data, filename, PANEL_CATEGORIES)
    except (CredentialError, QuestionImportError) as exc:
        raise LiveError(exc.message.replace("群体", "类别"), exc.code, status=400) from exc
    roster = [{"name": v.name, "category": v.group, "unit": v.unit, "contact": v.contact} for v in result.voters]
    errors = [{"row": e.row, "message": e.message.replace("群体", "类别").replace("测评方案中", "评议团类别中")}
              for e in result.errors]
    return JSONResponse({"roster": roster, "errors": errors})


# --- schemes ------------------------------------------------------------------------------------


def _saved_scheme(svc: Services, saved_id: object) -> dict[str, Any]:
    if not isinstance(saved_id, int) or isinstance(saved_id, bool):
        raise LiveError("saved 应为已保存方案的编号", "invalid", status=400)
    with Session(svc.engine) as s:
        row = s.get(SavedScheme, saved_id)
        if row is None:
            raise LiveError("没有该已保存的测评方案", "not_found", status=404)
        scheme: dict[str, Any] = orjson.loads(row.scheme_json)
        return scheme


async def schemes(request: Request) -> Response:
    """GET: the built-in templates and the saved schemes; POST ``{"name", "scheme"}``: save one."""
    await require_admin(request)
    svc = _svc(request)
    if request.method == "POST":
        body = await read_json(request)
        name = body.get("name")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 60:
            raise LiveError("请为方案起一个 1–60 字的名称", "invalid", status=400)
        scheme = Scheme.from_dict(body.get("scheme") or {})
        check_scheme(scheme)

        def save() -> int:
            with Session(svc.engine) as s:
                if s.exec(select(SavedScheme).where(SavedScheme.name == name.strip())).first() is not None:
                    raise LiveError(f"已有名为「{name.strip()}」的方案", "conflict", status=409)
                row = SavedScheme(name=name.strip(), scheme_json=orjson.dumps(scheme.to_dict()).decode())
                s.add(row)
                s.commit()
                return row.id or 0

        return JSONResponse({"id": await asyncio.to_thread(save)}, status_code=201)

    def saved() -> list[dict[str, Any]]:
        with Session(svc.engine) as s:
            return [{"id": r.id, "name": r.name, "scheme": orjson.loads(r.scheme_json)}
                    for r in s.exec(select(SavedScheme).order_by(col(SavedScheme.name))).all()]

    templates = [{"key": k, "label": TEMPLATE_LABEL[k], "scheme": f().to_dict()} for k, f in TEMPLATES.items()]
    return JSONResponse({"templates": templates, "saved": await asyncio.to_thread(saved)})
