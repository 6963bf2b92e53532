"""HTTP endpoints of public voting credentials: a phone redeems a 票码 or its roster link;
the host makes tickets, imports the roster, lists, prints and releases them, and reads
the open-mode anomaly figures. See docs/protocol.md."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from typing import Any

import orjson
from sqlmodel import Session
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live.domain.credentials import (
    CredentialError,
    code_hash,
    new_code,
    normalise,
    parse_roster,
    pepper_from_secret,
)
from live.domain.errors import LiveError
from live.domain.question_import import QuestionImportError
from live.domain.scheme import Scheme, public_categories
from live.reports.tickets import CredentialCard, credential_cards_pdf, roster_csv, roster_url, ticket_bundle
from live.store import credentials as store
from live.store.models import Credential, Meeting
from live.web.auth import DEVICE_MAX_AGE, TokenError, cred_cookie_name, device_cookie_name
from live.web.routes import _client_ip, _host_meeting, _limited, _meeting, _svc
from live.web.services import Services
from live.web.voice_routes import UPLOAD_CAP, _upload, json_body, read_capped


def _pepper(svc: Services) -> bytes:
    return pepper_from_secret(svc.settings.secret_key)


def _base(svc: Services, request: Request) -> str:
    return svc.public_base(str(request.base_url))


# --- the phone ------------------------------------------------------------------------


async def redeem(request: Request) -> Response:
    """``{"ticket": "K7QM-3XP9-TR2W"}`` or ``{"roster": "<token>"}`` from the join page's fragment.
    Binds the credential to this phone's device and sets the meeting's credential cookie."""
    svc = _svc(request)
    _limited(svc, request)
    m = await _meeting(svc, str(request.path_params["code"]))
    if m is None or m.id is None:
        raise LiveError("会议码不存在", "not_found", status=404)
    mid = m.id
    body = await json_body(request, 4096)
    kind = "ticket" if "ticket" in body else "roster" if "roster" in body else None
    secret = body.get(kind or "")
    if kind is None or not isinstance(secret, str) or len(secret) > 400:
        raise LiveError("请求格式错误：需要 {\"ticket\": \"票码\"} 或 {\"roster\": \"个人链接凭证\"}", "invalid",
                        status=400)
    if m.public_mode != kind:
        wrong = {"open": "本场为开放投票，无需票码，直接投票即可", "ticket": "本场凭票码投票，请输入票码",
                 "roster": "本场凭实名名单的个人链接投票，请打开会务人员发给您的链接"}
        raise LiveError(wrong[m.public_mode], "wrong_mode", status=409)
    if m.status == "ended":
        raise LiveError("会议已结束，投票已关闭", "meeting_ended", status=409)
    raw = request.cookies.get(device_cookie_name(mid))
    try:
        if not raw:
            raise TokenError("请先打开会议页面再输入票码", code="join_required")
        device, _ = svc.signer.read_device_cookie(raw, mid)
    except TokenError as exc:
        raise LiveError(exc.message, exc.code, status=400) from exc
    ip_key, meeting_key = f"ip:{_client_ip(request)}", f"m:{mid}"
    wait = max(svc.guesses_ip.retry_after(ip_key), svc.guesses_meeting.retry_after(meeting_key))
    if wait:
        raise LiveError(f"输入错误次数过多，请 {wait} 秒后再试", "rate_limited", status=429,
                        headers={"Retry-After": str(wait)})

    def failed(code: str, message: str) -> LiveError:
        svc.guesses_ip.fail(ip_key)
        svc.guesses_meeting.fail(meeting_key)
        return LiveError(message, code, status=400 if code != "not_found" else 404)

    credential_id: int | None
    if kind == "ticket":
        try:
            canon = normalise(secret)
        except CredentialError as exc:
            raise failed(exc.code, exc.message) from exc
        digest = code_hash(_pepper(svc), canon)

        def find() -> int | None:
            with Session(svc.engine) as s:
                c = store.find_ticket(s, mid, digest)
                return c.id if c is not None else None

        credential_id = await asyncio.to_thread(find)
        if credential_id is None:
            raise failed("not_found", "票码不存在，请逐位核对后重新输入")
    else:
        try:
            token_mid, credential_id = svc.signer.read_roster_token(secret)
        except (TokenError, KeyError, ValueError, TypeError):
            raise failed("bad_token", "个人链接无效，请向会务人员核对") from None
        if token_mid != mid:
            raise failed("bad_token", "个人链接不属于本场会议")
    reply = await svc.writer.command(mid, "credential.redeem", {"credential_id": credential_id, "device_id": device})
    resp = JSONResponse({"ok": True, "kind": reply["kind"], "number": reply["number"], "group": reply["group"],
                         "name": reply["name"]})
    resp.set_cookie(cred_cookie_name(mid), svc.signer.cred_cookie(mid, reply["id"], reply["version"], device),
                    max_age=DEVICE_MAX_AGE, httponly=True, samesite="lax", secure=svc.settings.secure_cookies)
    return resp


# --- the host -------------------------------------------------------------------------


async def _host(request: Request) -> tuple[Services, Meeting, int]:
    m = await _host_meeting(request)
    assert m.id is not None
    return _svc(request), m, m.id


async def create_tickets(request: Request) -> Response:
    """``{"count": N, "group": "群众代表"}`` -> a ZIP of the PDF and the CSV. The codes exist in
    clear only in this reply: the database keeps their keyed hashes."""
    svc, m, mid = await _host(request)
    body = await json_body(request, 4096)
    count, group = body.get("count"), body.get("group")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= store.MAX_TICKETS_PER_BATCH:
        raise LiveError(f"票码数量应为 1 至 {store.MAX_TICKETS_PER_BATCH} 的整数", "invalid", status=400)
    if not isinstance(group, str):
        raise LiveError("请填写群体，如 群众代表", "invalid", status=400)
    codes = [new_code() for _ in range(count)]
    pepper = _pepper(svc)
    reply = await svc.writer.command(mid, "tickets.create", {"group": group,
                                                             "hashes": [code_hash(pepper, c) for c in codes]})
    pdf, csv_bytes = await asyncio.to_thread(ticket_bundle, m.title, _base(svc, request), m.code, reply["first"],
                                             reply["group"], codes)
    name = f"tickets-{m.code}-batch{reply['batch']}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}.pdf", pdf)
        zf.writestr(f"{name}.csv", csv_bytes)
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}.zip"', "Cache-Control": "no-store",
                             "X-Tickets": f"{reply['first']}-{reply['last']}"})


def _roster_cards(svc: Services, base: str, m: Meeting, rows: list[Credential]) -> list[CredentialCard]:
    return [CredentialCard(c.number, c.voter_group,
                           roster_url(base, m.code, svc.signer.roster_token(m.id or 0, c.id or 0)),
                           name=c.name, unit=c.unit) for c in rows]


async def _rows(svc: Services, mid: int, kind: str) -> list[Credential]:
    def load() -> list[Credential]:
        with Session(svc.engine) as s:
            rows = store.credentials(s, mid, kind)
            for r in rows:
                s.expunge(r)
            return rows

    return await asyncio.to_thread(load)


async def list_credentials(request: Request) -> Response:
    """``?kind=ticket|roster``: numbers, groups, who is bound; roster entries carry their links."""
    svc, m, mid = await _host(request)
    kind = request.query_params.get("kind", "ticket")
    if kind not in ("ticket", "roster"):
        raise LiveError("kind 应为 ticket 或 roster", "invalid", status=400)
    rows = await _rows(svc, mid, kind)
    out: list[dict[str, Any]] = []
    base = _base(svc, request)
    for c in rows:
        entry = store.credential_public(c)
        if kind == "roster":
            entry["url"] = roster_url(base, m.code, svc.signer.roster_token(mid, c.id or 0))
        out.append(entry)
    return JSONResponse({"kind": kind, "public_mode": m.public_mode, "credentials": out,
                         "bound": sum(1 for c in rows if c.device_id is not None)},
                        headers={"Cache-Control": "no-store"})


async def import_roster(request: Request) -> Response:
    svc, m, mid = await _host(request)
    body = await read_capped(request, UPLOAD_CAP)
    if body is None:
        raise LiveError("文件过大，最大 5 MB", "too_large", status=413)
    groups = public_categories(Scheme.from_dict(orjson.loads(m.scheme_json)))
    try:
        data, filename = await _upload(request, body)
        result = await asyncio.to_thread(parse_roster, data, filename, groups)
    except (CredentialError, QuestionImportError) as exc:  # the latter from reading the form (no file field)
        raise LiveError(exc.message, exc.code, status=400) from exc
    except MultiPartException as exc:
        raise LiveError(f"上传格式错误：{exc.message}", "invalid", status=400) from exc
    errors = [{"row": e.row, "message": e.message} for e in result.errors]
    imported: dict[str, Any] = {}
    if result.voters:
        voters = [{"name": v.name, "unit": v.unit, "group": v.group, "contact": v.contact} for v in result.voters]
        imported = await svc.writer.command(mid, "roster.import", {"voters": voters})
    return JSONResponse({"imported": len(result.voters), "errors": errors, **imported})


async def roster_cards(request: Request) -> Response:
    svc, m, mid = await _host(request)
    cards = _roster_cards(svc, _base(svc, request), m, await _rows(svc, mid, "roster"))
    if not cards:
        raise LiveError("尚未导入实名名单", "not_found", status=404)
    pdf = await asyncio.to_thread(credential_cards_pdf, m.title, cards, "实名投票个人二维码")
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="roster-cards-{m.code}.pdf"', "Cache-Control": "no-store"})


async def roster_export(request: Request) -> Response:
    svc, m, mid = await _host(request)
    rows = await _rows(svc, mid, "roster")
    data = roster_csv(_roster_cards(svc, _base(svc, request), m, rows), [c.contact for c in rows])
    return Response(data, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="roster-{m.code}.csv"', "Cache-Control": "no-store"})


async def release(request: Request) -> Response:
    """Free a ticket or roster voter from its device; a writer command, so it is logged with the others."""
    svc, _m, mid = await _host(request)
    cid = int(request.path_params["credential_id"])
    reply = await svc.writer.command(mid, "credential.release", {"credential_id": cid})
    svc.hub.broker.publish({"k": "release", "m": mid, "credential": cid})
    return JSONResponse(reply)


async def anomalies(request: Request) -> Response:
    """Open mode: identities and ballots per network prefix, and new identities per minute."""
    svc, m, mid = await _host(request)
    now = int(time.time() * 1000)

    def read() -> dict[str, Any]:
        with Session(svc.engine) as s:
            return store.anomalies(s, mid, now)

    figures = await asyncio.to_thread(read)
    return JSONResponse({"public_mode": m.public_mode, "cap_per_prefix": svc.settings.open_ids_per_ip, **figures},
                        headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/api/meetings/{code}/redeem", redeem, methods=["POST"]),
    Route("/api/meetings/{code}/tickets", create_tickets, methods=["POST"]),
    Route("/api/meetings/{code}/credentials", list_credentials),
    Route("/api/meetings/{code}/credentials/{credential_id:int}/release", release, methods=["POST"]),
    Route("/api/meetings/{code}/roster/import", import_roster, methods=["POST"]),
    Route("/api/meetings/{code}/print/roster-cards.pdf", roster_cards),
    Route("/api/meetings/{code}/export/roster.csv", roster_export),
    Route("/api/meetings/{code}/public/anomalies", anomalies),
]
