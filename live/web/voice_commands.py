"""Socket commands of the public's voice: questions from panel tablets and phones,
upvotes, likes and comments, and the host's moderation of them.

Every piece of user text is cleaned and bounded by live.domain.moderation and run
through the meeting's banned-word filter before it reaches the writer. Nothing
here builds HTML: the pages put user text on screen with textContent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from live.domain.errors import ErrorCode, LiveError
from live.domain.moderation import ModerationError, validate_comment, validate_question
from live.realtime.client import Client
from live.realtime.frames import ack_frame
from live.realtime.runtime import MeetingRuntime
from live.store.questions import PANEL_SOURCE, PUBLIC_SOURCE
from live.web import messages
from live.web.ratelimit import (
    COMMENT_LIMIT,
    LIKE_LIMIT,
    PANEL_QUESTION_LIMIT,
    QUESTION_LIMIT,
    UPVOTE_LIMIT,
    Limit,
    RateLimiter,
    over_limit,
)

if TYPE_CHECKING:
    from live.web.services import Services

# Host commands after which the host consoles need a fresh moderation queue.
_QUEUE_CHANGES = frozenset({"question.approve", "question.reject", "comment.approve", "comment.hide",
                            "comment.mode", "device.ban", "device.unban", "words.add", "words.remove"})


def _check_budget(limiter: RateLimiter, spec: Limit, key: str) -> None:
    over = over_limit(limiter, spec, key)
    if over:
        raise LiveError(over, ErrorCode.RATE_LIMITED)


async def handle(svc: Services, rt: MeetingRuntime, client: Client, msg: Any) -> None:
    """One command of the public's voice; the socket has validated it and checked the role.
    A refusal is raised as LiveError (the socket renders it)."""
    match msg:
        case messages.QuestionAsk():
            await _ask(svc, rt, client, msg)
        case messages.QuestionUpvote():
            await _upvote(svc, rt, client, msg)
        case messages.Like():
            _like(svc, rt, client, msg)
        case messages.CommentSend():
            await _comment(svc, rt, client, msg)
        case _:
            await _host(svc, rt, client, msg)


async def _host(svc: Services, rt: MeetingRuntime, client: Client, msg: Any) -> None:
    if client.identity.role != "host":
        raise LiveError("只有主持人可以执行该操作", ErrorCode.FORBIDDEN)
    args = msg.model_dump(exclude={"id", "type"})
    reply = await svc.writer.command(rt.meeting_id, msg.type, args)
    if msg.type in ("words.add", "words.remove"):
        svc.hub.interaction.words_changed(rt.meeting_id, list(reply["words"]))
    if msg.type in _QUEUE_CHANGES:
        svc.hub.interaction.notify_moderation(rt.meeting_id)
    client.push(ack_frame(msg.id, **reply))


def _device(client: Client, refusal: str) -> str:
    """The phone's device id; anyone else is refused."""
    device = client.identity.device_id
    if client.identity.role != "audience" or device is None:
        raise LiveError(refusal, ErrorCode.FORBIDDEN)
    return device


def _admit_text(svc: Services, rt: MeetingRuntime, raw: str, limit: tuple[RateLimiter, Limit, str],
                validate: Callable[[object], str], banned: str) -> str:
    """Rate limit, clean and filter a citizen's or member's text."""
    _check_budget(*limit)
    try:
        text = validate(raw)
    except ModerationError as exc:  # empty, too long, not text: on the socket all are ``invalid``
        raise LiveError(exc.message, ErrorCode.INVALID) from exc
    if svc.hub.interaction.filter(rt.meeting_id).contains_banned(text):
        raise LiveError(banned, ErrorCode.BANNED_WORDS)
    return text


async def _ask(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.QuestionAsk) -> None:
    ident = client.identity
    key = ident.voter_key
    if ident.role not in ("panel", "audience") or key is None:
        raise LiveError("只有评议团成员和群众可以提问", ErrorCode.FORBIDDEN)
    if rt.item(msg.item_id) is None:
        raise LiveError("议程中没有该述法人", ErrorCode.NOT_FOUND)
    panel = ident.role == "panel"
    limits = svc.voice_limits
    limit = (limits.panel_questions, PANEL_QUESTION_LIMIT, key) if panel else (limits.questions, QUESTION_LIMIT, key)
    content = _admit_text(svc, rt, msg.content, limit, validate_question, "问题含有不文明用语，请修改后再提交")
    args: dict[str, Any] = {"item_id": msg.item_id, "content": content,
                            "origin": "panel" if panel else "public",
                            "source": PANEL_SOURCE if panel else PUBLIC_SOURCE,
                            "asker": (ident.name or "") if panel else "",
                            "member_id": ident.member_id if panel else None,
                            "device_id": None if panel else ident.device_id}
    reply = await svc.writer.job("question.ask", rt.meeting_id, args)
    if reply["status"] == "pending":
        svc.hub.interaction.notify_moderation(rt.meeting_id)
    client.push(ack_frame(msg.id, **reply))


async def _upvote(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.QuestionUpvote) -> None:
    device = _device(client, "只有群众可以为问题点赞")
    _check_budget(svc.voice_limits.upvotes, UPVOTE_LIMIT, f"d:{device}")
    reply = await svc.writer.job("question.upvote", rt.meeting_id,
                                 {"question_id": msg.question_id, "device_id": device})
    if reply["status"] == "stored":
        svc.hub.interaction.publish_upvotes(rt.meeting_id, {int(reply["question_id"]): int(reply["upvotes"])})
    client.push(ack_frame(msg.id, **reply))


def _like(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.Like) -> None:
    device = _device(client, "只有群众可以点赞")
    _check_budget(svc.voice_limits.likes, LIKE_LIMIT, f"d:{device}")
    # Volatile: counted here, coalesced by the hub's ticker, stored every few seconds.
    svc.hub.interaction.like(rt.meeting_id, msg.count)
    client.push(ack_frame(msg.id, count=msg.count))


async def _comment(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.CommentSend) -> None:
    device = _device(client, "只有群众可以发表评论")
    text = _admit_text(svc, rt, msg.text, (svc.voice_limits.comments, COMMENT_LIMIT, f"d:{device}"),
                       validate_comment, "评论含有不文明用语，未能发送")
    reply = await svc.writer.job("comment.send", rt.meeting_id, {
        "device_id": device, "text": text, "item_id": rt.state["meeting"].get("current_item_id")})
    if reply["status"] == "held":
        svc.hub.interaction.notify_moderation(rt.meeting_id)
    client.push(ack_frame(msg.id, **reply))
