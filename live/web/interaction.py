"""Socket commands of the public's voice: questions from panel tablets and phones,
upvotes, likes and comments, and the host's moderation of them.

Every piece of user text is cleaned and bounded by live.domain.moderation and run
through the meeting's banned-word filter before it reaches the writer. Nothing
here builds HTML: the pages put user text on screen with textContent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from live.domain.moderation import ModerationError, validate_comment, validate_question
from live.realtime.client import Client
from live.realtime.runtime import MeetingRuntime
from live.store.events import encode
from live.store.questions import PANEL_SOURCE, PUBLIC_SOURCE
from live.store.writer import CommandRefused
from live.web import messages
from live.web.ratelimit import RateLimiter

if TYPE_CHECKING:
    from live.web.services import Services

# Host commands after which the host consoles need a fresh moderation queue.
_QUEUE_CHANGES = frozenset({"question.approve", "question.reject", "comment.approve", "comment.hide",
                            "comment.mode", "device.ban", "device.unban", "words.add", "words.remove"})


@dataclass(frozen=True)
class Limit:
    what: str
    limit: int
    window_s: int


COMMENT_LIMIT = Limit("评论", 5, 30)
QUESTION_LIMIT = Limit("提问", 3, 300)
PANEL_QUESTION_LIMIT = Limit("提问", 20, 300)
UPVOTE_LIMIT = Limit("点赞问题", 30, 60)
LIKE_LIMIT = Limit("点赞", 40, 10)


@dataclass
class VoiceLimits:
    """Per device (or panel member) budgets, on top of the socket's own message budget.
    Keyed by the voter key, so a second tab or a reconnect does not reset them."""

    comments: RateLimiter = field(default_factory=lambda: RateLimiter(COMMENT_LIMIT.limit, COMMENT_LIMIT.window_s))
    questions: RateLimiter = field(default_factory=lambda: RateLimiter(QUESTION_LIMIT.limit,
                                                                       QUESTION_LIMIT.window_s))
    panel_questions: RateLimiter = field(default_factory=lambda: RateLimiter(PANEL_QUESTION_LIMIT.limit,
                                                                             PANEL_QUESTION_LIMIT.window_s))
    upvotes: RateLimiter = field(default_factory=lambda: RateLimiter(UPVOTE_LIMIT.limit, UPVOTE_LIMIT.window_s))
    likes: RateLimiter = field(default_factory=lambda: RateLimiter(LIKE_LIMIT.limit, LIKE_LIMIT.window_s))


def _err(msg_id: str | None, code: str, message: str, **extra: Any) -> str:
    return encode({"type": "error", "id": msg_id, "code": code, "message": message, **extra})


def _ack(msg_id: str, **extra: Any) -> str:
    return encode({"type": "ack", "id": msg_id, **extra})


def _over_limit(limiter: RateLimiter, spec: Limit, key: str) -> str | None:
    """The Chinese message to show when ``key`` is over its budget, else None (and the hit is counted)."""
    if limiter.allow(key):
        return None
    wait = limiter.retry_after(key)
    return f"{spec.what}过于频繁：每 {spec.window_s} 秒最多 {spec.limit} 次，请 {wait} 秒后再试"


async def handle(svc: Services, rt: MeetingRuntime, client: Client, msg: Any) -> None:
    if msg.type in messages.INTERACTION_HOST_TYPES:
        await _host(svc, rt, client, msg)
    elif msg.type == "question.ask":
        await _ask(svc, rt, client, msg)
    elif msg.type == "question.upvote":
        await _upvote(svc, rt, client, msg)
    elif msg.type == "like":
        _like(svc, rt, client, msg)
    elif msg.type == "comment.send":
        await _comment(svc, rt, client, msg)


async def _host(svc: Services, rt: MeetingRuntime, client: Client, msg: Any) -> None:
    if client.identity.role != "host":
        client.push(_err(msg.id, "forbidden", "只有主持人可以执行该操作"))
        return
    args = msg.model_dump(exclude={"id", "type"})
    try:
        reply = await svc.writer.command(rt.meeting_id, msg.type, args)
    except CommandRefused as exc:
        client.push(_err(msg.id, exc.code, exc.message))
        return
    if msg.type in ("words.add", "words.remove"):
        svc.hub.interaction.words_changed(rt.meeting_id, list(reply["words"]))
    if msg.type in _QUEUE_CHANGES:
        svc.hub.interaction.notify_moderation(rt.meeting_id)
    client.push(_ack(msg.id, **reply))


def _key(client: Client) -> str | None:
    return client.identity.voter_key


def _device(client: Client, msg_id: str, refusal: str) -> str | None:
    """The phone's device id, or None (after telling the client) for anyone else."""
    device = client.identity.device_id
    if client.identity.role != "audience" or device is None:
        client.push(_err(msg_id, "forbidden", refusal))
        return None
    return device


def _admit_text(svc: Services, rt: MeetingRuntime, client: Client, msg_id: str, raw: str,
                limit: tuple[Any, Any, str], validate: Any, banned: str) -> str | None:
    """Rate limit, clean and filter a citizen's or member's text; None once refused."""
    limiter, rule, key = limit
    over = _over_limit(limiter, rule, key)
    if over:
        client.push(_err(msg_id, "rate_limited", over))
        return None
    try:
        text: str = validate(raw)
    except ModerationError as exc:
        client.push(_err(msg_id, "invalid", exc.message))
        return None
    if svc.hub.interaction.filter(rt.meeting_id).contains_banned(text):
        client.push(_err(msg_id, "banned_words", banned))
        return None
    return text


async def _ask(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.QuestionAsk) -> None:
    ident = client.identity
    key = _key(client)
    if ident.role not in ("panel", "audience") or key is None:
        client.push(_err(msg.id, "forbidden", "只有评议团成员和群众可以提问"))
        return
    if rt.item(msg.item_id) is None:
        client.push(_err(msg.id, "not_found", "议程中没有该述法人"))
        return
    panel = ident.role == "panel"
    limits = svc.voice_limits
    limit = (limits.panel_questions, PANEL_QUESTION_LIMIT, key) if panel else (limits.questions, QUESTION_LIMIT, key)
    content = _admit_text(svc, rt, client, msg.id, msg.content, limit, validate_question,
                          "问题含有不文明用语，请修改后再提交")
    if content is None:
        return
    args: dict[str, Any] = {"item_id": msg.item_id, "content": content,
                            "origin": "panel" if panel else "public",
                            "source": PANEL_SOURCE if panel else PUBLIC_SOURCE,
                            "asker": (ident.name or "") if panel else "",
                            "member_id": ident.member_id if panel else None,
                            "device_id": None if panel else ident.device_id}
    try:
        reply = await svc.writer.job("question.ask", rt.meeting_id, args)
    except CommandRefused as exc:
        client.push(_err(msg.id, exc.code, exc.message))
        return
    if reply["status"] == "pending":
        svc.hub.interaction.notify_moderation(rt.meeting_id)
    client.push(_ack(msg.id, **reply))


async def _upvote(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.QuestionUpvote) -> None:
    device = _device(client, msg.id, "只有群众可以为问题点赞")
    if device is None:
        return
    over = _over_limit(svc.voice_limits.upvotes, UPVOTE_LIMIT, f"d:{device}")
    if over:
        client.push(_err(msg.id, "rate_limited", over))
        return
    try:
        reply = await svc.writer.job("question.upvote", rt.meeting_id,
                                     {"question_id": msg.question_id, "device_id": device})
    except CommandRefused as exc:
        client.push(_err(msg.id, exc.code, exc.message))
        return
    if reply["status"] == "stored":
        svc.hub.interaction.publish_upvotes(rt.meeting_id, {int(reply["question_id"]): int(reply["upvotes"])})
    client.push(_ack(msg.id, **reply))


def _like(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.Like) -> None:
    device = _device(client, msg.id, "只有群众可以点赞")
    if device is None:
        return
    over = _over_limit(svc.voice_limits.likes, LIKE_LIMIT, f"d:{device}")
    if over:
        client.push(_err(msg.id, "rate_limited", over))
        return
    # Volatile: counted here, coalesced by the hub's ticker, stored every few seconds.
    svc.hub.interaction.like(rt.meeting_id, msg.count)
    client.push(_ack(msg.id, count=msg.count))


async def _comment(svc: Services, rt: MeetingRuntime, client: Client, msg: messages.CommentSend) -> None:
    device = _device(client, msg.id, "只有群众可以发表评论")
    if device is None:
        return
    text = _admit_text(svc, rt, client, msg.id, msg.text, (svc.voice_limits.comments, COMMENT_LIMIT, f"d:{device}"),
                       validate_comment, "评论含有不文明用语，未能发送")
    if text is None:
        return
    try:
        reply = await svc.writer.job("comment.send", rt.meeting_id, {
            "device_id": device, "text": text, "item_id": rt.state["meeting"].get("current_item_id")})
    except CommandRefused as exc:
        client.push(_err(msg.id, exc.code, exc.message))
        return
    if reply["status"] == "held":
        svc.hub.interaction.notify_moderation(rt.meeting_id)
    client.push(_ack(msg.id, **reply))
