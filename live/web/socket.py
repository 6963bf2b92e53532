"""The one WebSocket per client: authenticate, welcome, snapshot or replay, then
commands with ``ack``/``error`` replies. No input can kill the connection's task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from sqlmodel import Session
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from live.domain.credentials import PublicMode
from live.domain.errors import ErrorCode, LiveError
from live.domain.phases import ItemPhase, MeetingStatus, check_can_vote
from live.domain.scheme import validate_choice
from live.realtime.client import Client, Identity, TokenBucket
from live.realtime.frames import ack_frame, error, error_frame
from live.realtime.hub import session_key
from live.realtime.runtime import MeetingRuntime
from live.store import credentials as credential_store
from live.store.ballots import BallotJob
from live.store.models import Meeting, PanelMember
from live.store.panel_links import BOUND_ELSEWHERE, REVOKED
from live.web import messages, voice_commands
from live.web.admission import FULL_CLOSE
from live.web.auth import DEVICE_COOKIE, HOST_COOKIE, TokenError, cred_cookie_name, device_cookie_name
from live.web.panel_auth import cookie_name, device_hash, read_session_cookie
from live.web.presenter_link import check_cookie as check_presenter_cookie
from live.web.presenter_link import cookie_name as presenter_cookie_name
from live.web.services import Services
from live.web.sessions import SocketSession, check_host, socket_session_id
from live.web.ws_protocol import DIRECT_EXTENSION

log = logging.getLogger(__name__)

AUTH_CLOSE = 4401
NOT_FOUND_CLOSE = 4404
ROLES = frozenset({"host", "panel", "audience", "screen", "presenter", "recorder"})


_READS_DB = frozenset({"host", "presenter", "panel"})


def _authenticate(svc: Services, ws: WebSocket, meeting_id: int, role: str) -> Identity:
    """Runs in a thread for the roles in ``_READS_DB``: they read the meeting or a panel member."""
    if role not in ROLES:
        raise TokenError("未知的身份", code="bad_role")
    if role in ("screen", "recorder"):
        # Both only watch the public state; the recorder writes over HTTP with its own token.
        # A new host password ends recorder links: their pages' sockets close then too.
        return Identity(role=role, login="recorder" if role == "recorder" else None)
    if role == "presenter" and ws.cookies.get(presenter_cookie_name(meeting_id)):
        # The narrow presenter link (live.web.presenter_link): slides of this meeting only.
        with Session(svc.engine) as s:
            m = s.get(Meeting, meeting_id)
        if m is None:
            raise TokenError("会议不存在", code="not_found")
        check_presenter_cookie(svc.signer, ws.cookies.get(presenter_cookie_name(meeting_id)), m)
        return Identity(role=role, login="presenter-link")
    if role in ("host", "presenter"):
        raw = ws.cookies.get(svc.cookie(HOST_COOKIE))
        if not raw:
            raise TokenError("请先以主持人身份登录", code="login_required")
        with Session(svc.engine) as s:
            m = s.get(Meeting, meeting_id)
        if m is None:
            raise TokenError("登录已失效，请重新登录", code="login_required")
        sid = check_host(svc, raw, m)  # the server-side session: not logged out, not idle
        return Identity(role=role, login=f"host:{session_key(sid)}")
    if role == "panel":
        # The tablet shows the session cookie its claim got, never the link's token:
        # a socket URL is logged by proxies, and a forwarded link is worth nothing here.
        member_raw = ws.query_params.get("member", "")
        if not member_raw.isdigit() or len(member_raw) > 12:
            raise TokenError("评议团链接无效，请重新扫描评议卡上的二维码", code="bad_token")
        raw = ws.cookies.get(cookie_name(int(member_raw)))
        if not raw:
            raise TokenError("请重新扫描评议卡上的二维码打开评议页面", code="claim_required")
        mid, member_id, version, device = read_session_cookie(svc.signer, raw)
        with Session(svc.engine) as s:
            member = s.get(PanelMember, member_id)
            if mid != meeting_id or member is None or member.meeting_id != meeting_id:
                raise TokenError("评议团链接无效", code="bad_token")
            if member.revoked or member.token_version != version:
                raise TokenError(REVOKED, code="revoked")
            if member.bound_device != device_hash(device):
                raise TokenError(BOUND_ELSEWHERE, code="bound_elsewhere")
        return Identity(role="panel", voter_key=f"p:{member_id}", group_source="panel",
                        category=member.category, name=member.name, member_id=member_id)
    raise AssertionError("audience identities are made by _audience")


def _audience(svc: Services, ws: WebSocket, meeting_id: int, meeting: dict[str, Any]) -> Identity:
    """A phone: its device cookie for this meeting, and what lets it vote in the meeting's public mode.
    Open mode is a signature check only (no thread hop on a join storm); ticket and roster
    mode read the credential, so a released one stops working."""
    raw = ws.cookies.get(device_cookie_name(meeting_id)) or ws.cookies.get(DEVICE_COOKIE)
    if not raw:
        raise TokenError("请先扫描二维码或输入会议码加入", code="join_required")
    device, voter = svc.signer.read_device_cookie(raw, meeting_id)
    ident = Identity(role="audience", device_id=device)
    if meeting["status"] == MeetingStatus.ENDED.value:
        ident.refusal = ("meeting_ended", "会议已结束，投票已关闭")
        return ident
    mode = meeting.get("public_mode", PublicMode.OPEN.value)
    if mode == PublicMode.OPEN.value:
        if voter:
            ident.voter_key, ident.group_source = f"d:{device}", "public"
        else:
            ident.refusal = ("identity_cap", "本机尚未取得本场投票身份：本网络新加入的投票手机已达上限。"
                                             "本机可以观看和互动；如需投票，请改用手机流量重新打开本页")
        return ident
    ident.refusal = ("credential_required", "本场测评凭票码投票：请扫描票码上的二维码，或在本页输入票码"
                     if mode == PublicMode.TICKET.value else
                     "本场测评按实名名单投票：请打开会务人员发给您的个人链接，或扫描您的个人二维码")
    cred = ws.cookies.get(cred_cookie_name(meeting_id))
    if not cred:
        return ident
    try:
        cid, version, bound = svc.signer.read_cred_cookie(cred, meeting_id)
    except (TokenError, KeyError, ValueError, TypeError):
        return ident
    if bound != device:
        return ident
    with Session(svc.engine) as s:
        h = credential_store.holder(s, meeting_id, cid, version, device)
    if h is None or h.kind != mode:
        ident.refusal = ("released", "您的投票凭证已失效（可能已被解除绑定），请重新输入票码或打开个人链接")
        return ident
    ident.voter_key, ident.group_source, ident.category = f"c:{cid}", "public", h.group
    ident.credential_id, ident.refusal = cid, None
    return ident


async def websocket_endpoint(ws: WebSocket) -> None:
    """Admission first (live.web.admission): past the worker's cap a socket is told when to
    come back and closed with 4429; the count covers the socket's whole life."""
    svc: Services = ws.app.state.services
    role = ws.query_params.get("role", "audience")
    admission = svc.admission
    if not admission.enter(role):
        await ws.accept()
        with contextlib.suppress(Exception):
            await ws.send_text(error(None, ErrorCode.SERVER_FULL, retry_after_s=admission.retry_after_s))
            await ws.close(FULL_CLOSE, admission.reason())
        return
    try:
        await _serve_socket(svc, ws, role)
    finally:
        admission.leave()


async def _serve_socket(svc: Services, ws: WebSocket, role: str) -> None:
    code = str(ws.path_params["code"])
    await ws.accept()
    meeting_id = await svc.hub.meeting_id_for(code)
    if meeting_id is None:
        await ws.send_text(error(None, ErrorCode.NOT_FOUND, "会议码不存在"))
        await ws.close(NOT_FOUND_CLOSE)
        return
    try:
        if role == "audience":
            meeting = (await svc.hub.runtime(meeting_id)).state["meeting"]
            if meeting.get("public_mode", PublicMode.OPEN.value) == PublicMode.OPEN.value:
                identity = _audience(svc, ws, meeting_id, meeting)
            else:
                identity = await asyncio.to_thread(_audience, svc, ws, meeting_id, meeting)
        elif role in _READS_DB:
            identity = await asyncio.to_thread(_authenticate, svc, ws, meeting_id, role)
        else:
            identity = _authenticate(svc, ws, meeting_id, role)
    except (LiveError, ValueError, KeyError) as exc:
        refusal = exc if isinstance(exc, LiveError) else TokenError("凭证无效", ErrorCode.BAD_TOKEN)
        await ws.send_text(error_frame(refusal))
        await ws.close(AUTH_CLOSE)
        return
    since = parse_since(ws.query_params.get("since"))
    rt = await svc.hub.runtime(meeting_id)

    async def send(wire: str) -> None:
        await ws.send_text(wire)

    async def close(code_: int, reason: str) -> None:
        if ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(code_, reason)

    direct = ws.scope.get("extensions", {}).get(DIRECT_EXTENSION)  # absent under other servers
    client = Client(identity, send, close, queue_size=svc.settings.client_queue, direct=direct)
    welcome: dict[str, Any] = {"type": "welcome", "role": identity.role, "meeting_id": meeting_id,
                               "code": rt.code, "you": _you(identity), "my_ballots": {}}
    if identity.voter_key:
        welcome["my_ballots"] = await svc.own_ballots.get(meeting_id, identity.voter_key)
    client.start()
    await svc.hub.join(rt, client, welcome, since)
    bucket = TokenBucket(svc.settings.socket_rate, svc.settings.socket_burst)
    sid = socket_session_id(svc, ws.cookies.get(svc.cookie(HOST_COOKIE))) if role in ("host", "presenter") else None

    async def logged_out() -> None:
        client.push(error(None, ErrorCode.LOGIN_REQUIRED, "登录已失效，请重新登录"))
        await asyncio.sleep(0.05)
        await close(AUTH_CLOSE, "logged out")

    keepalive = SocketSession(svc, meeting_id, sid, logged_out) if sid else None
    if keepalive is not None:
        keepalive.watch()  # an idle console closes when its login times out, not at its next message
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                break
            if keepalive is not None:
                keepalive.note()
            raw = msg.get("text")
            if raw is None:  # a binary frame is read as UTF-8 JSON text, like a text frame
                raw_bytes = msg.get("bytes") or b""
                try:
                    raw = raw_bytes.decode()
                except UnicodeDecodeError:
                    client.push(error(None, ErrorCode.BAD_JSON, "消息不是 UTF-8 文本"))
                    continue
            limit = svc.settings.max_message_bytes
            if len(raw) > limit or (not raw.isascii() and len(raw.encode()) > limit):
                client.push(error(_peek_id(raw), ErrorCode.TOO_LARGE, f"消息过长（上限 {limit} 字节）"))
                continue
            if not bucket.take():
                client.push(error(_peek_id(raw), ErrorCode.RATE_LIMITED, "操作过于频繁，请稍后再试"))
                continue
            try:
                await _handle(svc, rt, client, raw)
            except Exception:  # a bug: every refusal of user input is a LiveError
                log.exception("message handling failed")
                client.push(error(None, ErrorCode.INTERNAL))
    except WebSocketDisconnect:
        pass
    finally:
        if keepalive is not None:
            keepalive.stop()
        svc.hub.leave(rt, client)
        await client.stop()


def parse_since(raw: str | None) -> int | None:
    """The client's last applied seq: ASCII digits only (``since=١٢`` is not 12), else none."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def _peek_id(raw: str) -> str | None:
    """The command id of a message refused before validation, so the client can match the error.
    The server's frame limit (``WS_MAX_FRAME``) bounds what is parsed here; orjson stops at 1024 levels."""
    try:
        return messages.peek_id(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return None


def _you(identity: Identity) -> dict[str, Any]:
    you: dict[str, Any] = {"role": identity.role, "name": identity.name, "category": identity.category,
                           "member_id": identity.member_id, "can_vote": identity.can_vote}
    if identity.role == "audience":
        you["credential_id"] = identity.credential_id
        you["refusal"] = ({"code": identity.refusal[0], "message": identity.refusal[1]}
                          if identity.refusal else None)
    return you


async def _handle(svc: Services, rt: MeetingRuntime, client: Client, raw: str) -> None:
    """Validate, check the role, dispatch; any refusal is a LiveError rendered once, here."""
    msg_id: str | None = None
    try:
        msg = messages.parse(raw)
        msg_id = msg.id
        if client.identity.role not in msg.ROLES:
            raise LiveError(msg.REFUSAL, ErrorCode.FORBIDDEN)
        match msg:
            case messages.Ping():
                client.push(ack_frame(msg.id, seq=rt.seq))
            case messages.Vote():
                await _vote(svc, rt, client, msg)
            case _ if msg.type in messages.INTERACTION_TYPES:
                await voice_commands.handle(svc, rt, client, msg)
            case messages.ItemVoid() | messages.MeetingPublish():  # the record's: audited as the host's
                await _writer_command(svc, rt, client, msg)
            case _:  # a command of the meeting's course, straight to the writer
                await _writer_command(svc, rt, client, msg)
    except LiveError as exc:
        client.push(error_frame(exc, msg_id))


async def _writer_command(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.ClientMessage) -> None:
    args = msg.model_dump(by_alias=True, exclude={"id", "type"})
    reply = await svc.writer.command(rt.meeting_id, msg.type, args, actor="host")
    client.push(ack_frame(msg.id, **reply))


async def _vote(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.Vote) -> None:
    ident = client.identity
    if ident.refusal is not None:
        raise LiveError(ident.refusal[1], ident.refusal[0])
    if not ident.can_vote or ident.voter_key is None or ident.group_source is None:
        raise LiveError("当前身份不能投票", ErrorCode.FORBIDDEN)
    item = rt.item(msg.item_id)
    if item is None:
        raise LiveError("议程中没有该述法人", ErrorCode.NOT_FOUND)
    if ident.group_source == "public":
        # The host may switch the public mode before 测评 begins: an identity from the old mode stops.
        open_mode = rt.state["meeting"].get("public_mode", PublicMode.OPEN.value) == PublicMode.OPEN.value
        if open_mode != ident.voter_key.startswith("d:"):
            raise LiveError("本场公众投票方式已变更，请刷新页面", ErrorCode.MODE_CHANGED)
    scheme = rt.scheme
    group = scheme.group_for(ident.group_source, ident.category)
    if group is None:
        raise LiveError("您所在的群体不参加本次测评", ErrorCode.NOT_ELIGIBLE)
    check_can_vote(MeetingStatus(rt.state["meeting"]["status"]), ItemPhase(item["phase"]))
    choice = validate_choice(scheme, msg.choice)
    job = BallotJob(rt.meeting_id, msg.item_id, msg.ballot_id, ident.voter_key, group.key, choice)
    outcome = await svc.writer.vote(job)
    if not outcome.ok:
        raise outcome.error()
    # In a secret meeting the stored ballot's id is made by the server and never leaves it:
    # ``ballot_id`` here is only the phone's own request id, echoed back (no receipt).
    client.push(ack_frame(msg.id, ballot_id=msg.ballot_id, item_id=msg.item_id, status=outcome.status,
                          choice=choice, secret=rt.state["meeting"].get("secret", False)))
