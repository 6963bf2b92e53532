"""Comments (弹幕), device bans, the meeting's extra banned words, the interaction
settings (hold or show comments, the overlay) and the persisted like counter.

The moderation view built here (pending questions, held comments, bans) is for
the host only: it is sent to host sockets and over a host-only HTTP endpoint,
never as a public event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from live.domain.moderation import ModerationError, skeleton, validate_term
from live.domain.phases import ItemPhase, MeetingStatus, PhaseError
from live.store.commands import Command, CommandOutcome, Events, _meeting
from live.store.jobs import BatchFn, BatchJob, BatchResult
from live.store.models import AgendaItem, BannedWord, Comment, DeviceBan, Meeting, MeetingInteraction, Question
from live.store.questions import device_tag, question_host
from live.store.voice_state import comment_public, interaction_public, interaction_row

# The host's queue shows this many of each, oldest first; the counts say how many wait in all.
MODERATION_LIMIT = 200
MAX_EXTRA_WORDS = 2000


def _comment_event(c: Comment) -> dict[str, Any]:
    return {"type": "comment.updated", "comment": comment_public(c)}


def _interaction_event(row: MeetingInteraction, cause: str) -> dict[str, Any]:
    return {"type": "interaction.updated", "cause": cause, "interaction": interaction_public(row)}


def _next_order(s: Session, meeting_id: int) -> int:
    top = s.exec(select(func.max(Comment.shown_order)).where(Comment.meeting_id == meeting_id)).one()
    return int(top or 0) + 1


def _comment(s: Session, meeting_id: int, comment_id: object) -> Comment:
    c = s.exec(select(Comment).where(Comment.id == comment_id).with_for_update()).first()
    if c is None or c.meeting_id != meeting_id:
        raise PhaseError("评论不存在", code="not_found")
    return c


def comment_host(c: Comment) -> dict[str, Any]:
    return {"id": c.id, "text": c.text, "status": c.status, "order": c.shown_order, "item_id": c.item_id,
            "device_tag": device_tag(c.device_id), "at_ms": c.created_at_ms}


# --- batched public input -------------------------------------------------------------


def send_batch(s: Session, jobs: list[BatchJob], now_ms: int) -> list[BatchResult]:
    """Store comments, already filtered by the socket layer. Shown at once or held for
    the host, by the meeting's setting read in this transaction. Args: device_id, text, item_id."""
    mids = sorted({j.meeting_id for j in jobs})
    meetings = {m.id: m for m in s.exec(select(Meeting).where(col(Meeting.id).in_(mids))).all()}
    modes = {r.meeting_id: r.comment_mode for r in s.exec(select(MeetingInteraction).where(
        col(MeetingInteraction.meeting_id).in_(mids))).all()}
    devices = sorted({str(j.args["device_id"]) for j in jobs})
    banned = {(b.meeting_id, b.device_id) for b in s.exec(select(DeviceBan).where(
        col(DeviceBan.device_id).in_(devices))).all()}
    item_ids = sorted({int(j.args["item_id"]) for j in jobs if j.args.get("item_id") is not None})
    done = {i.id for i in s.exec(select(AgendaItem).where(col(AgendaItem.id).in_(item_ids))).all()
            if ItemPhase(i.phase) is ItemPhase.DONE} if item_ids else set()
    orders: dict[int, int] = {}
    out: list[BatchResult] = []
    for j in jobs:
        m = meetings.get(j.meeting_id)
        if m is None:
            out.append(PhaseError("会议不存在", code="not_found"))
            continue
        if MeetingStatus(m.status) is MeetingStatus.ENDED:
            out.append(PhaseError("会议已结束，不再接受评论", code="closed"))
            continue
        if j.args.get("item_id") is not None and int(j.args["item_id"]) in done:
            out.append(PhaseError("该述法人的评议已结束，不再接受评论", code="closed"))
            continue
        device = str(j.args["device_id"])
        if (j.meeting_id, device) in banned:
            out.append(PhaseError("您已被主持人禁止发言，不能发表评论", code="banned"))
            continue
        c = Comment(meeting_id=j.meeting_id, item_id=j.args.get("item_id"), device_id=device,
                    text=str(j.args["text"]), status="held", created_at_ms=now_ms)
        events: Events = []
        if modes.get(j.meeting_id, "hold") == "show":
            if j.meeting_id not in orders:
                orders[j.meeting_id] = _next_order(s, j.meeting_id)
            c.status = "shown"
            c.shown_order = orders[j.meeting_id]
            orders[j.meeting_id] += 1
        s.add(c)
        s.flush()
        if c.status == "shown":
            events.append(_comment_event(c))
        out.append(CommandOutcome(events, {"comment_id": c.id, "status": c.status}))
    return out


# --- host commands -------------------------------------------------------------------------


def approve(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    c = _comment(s, meeting_id, args["comment_id"])
    if c.status == "shown":
        raise PhaseError("该评论已在显示", code="no_change")
    c.status = "shown"
    if c.shown_order is None:
        c.shown_order = _next_order(s, meeting_id)
    s.add(c)
    return CommandOutcome([_comment_event(c)], {"comment_id": c.id, "status": c.status})


def hide(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    c = _comment(s, meeting_id, args["comment_id"])
    if c.status == "hidden":
        raise PhaseError("该评论已隐藏", code="no_change")
    was_public = c.shown_order is not None
    c.status = "hidden"
    s.add(c)
    # A comment that was on screen leaves a tombstone, so every window drops its text.
    return CommandOutcome([_comment_event(c)] if was_public else [], {"comment_id": c.id, "status": c.status})


def set_mode(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    row = interaction_row(s, meeting_id, for_update=True)
    row.comment_mode = str(args["mode"])
    row.updated_at_ms = now_ms
    s.add(row)
    return CommandOutcome([_interaction_event(row, "comment_mode")], {"comment_mode": row.comment_mode})


def set_overlay(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    row = interaction_row(s, meeting_id, for_update=True)
    row.overlay = bool(args["on"])
    row.updated_at_ms = now_ms
    s.add(row)
    return CommandOutcome([_interaction_event(row, "overlay")], {"overlay": row.overlay})


def ban(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Ban the device behind a comment or a public question. Its held comments and
    pending questions leave the queue with it; what it sends later is refused."""
    _meeting(s, meeting_id)
    device: str | None
    if args.get("comment_id") is not None:
        device = _comment(s, meeting_id, args["comment_id"]).device_id
    else:
        q = s.get(Question, args.get("question_id"))
        if q is None or q.meeting_id != meeting_id:
            raise PhaseError("问题不存在", code="not_found")
        device = q.device_id
        if device is None:
            raise PhaseError("该问题不是群众在手机上提交的，不能按设备禁言", code="invalid")
    existing = s.exec(select(DeviceBan).where(DeviceBan.meeting_id == meeting_id,
                                              DeviceBan.device_id == device)).first()
    if existing is not None:
        raise PhaseError("该设备已被禁言", code="no_change")
    row = DeviceBan(meeting_id=meeting_id, device_id=device, reason=str(args.get("reason") or "")[:200],
                    created_at_ms=now_ms)
    s.add(row)
    held = s.execute(update(Comment).where(col(Comment.meeting_id) == meeting_id, col(Comment.device_id) == device,
                                           col(Comment.status) == "held").values(status="hidden"))
    pending = s.execute(update(Question).where(col(Question.meeting_id) == meeting_id,
                                               col(Question.device_id) == device,
                                               col(Question.status) == "pending").values(status="rejected"))
    s.flush()
    return CommandOutcome([], {"ban_id": row.id, "device_tag": device_tag(device),
                               "cleared": int(held.rowcount or 0) + int(pending.rowcount or 0)})  # type: ignore[attr-defined]


def unban(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    row = s.get(DeviceBan, args["ban_id"])
    if row is None or row.meeting_id != meeting_id:
        raise PhaseError("禁言记录不存在", code="not_found")
    s.delete(row)
    return CommandOutcome([], {"ban_id": args["ban_id"]})


def _term(word: str) -> str:
    try:
        return validate_term(word)
    except ModerationError as exc:
        raise PhaseError(exc.message, code=exc.code) from exc


def add_words(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Extend the shipped lexicon for this meeting; all terms or none (a bad one is named)."""
    _meeting(s, meeting_id)
    terms = [_term(w) for w in args["words"]]
    have = {skeleton(w.term)[0] for w in s.exec(select(BannedWord).where(BannedWord.meeting_id == meeting_id)).all()}
    if len(have) + len(terms) > MAX_EXTRA_WORDS:
        raise PhaseError(f"补充敏感词最多 {MAX_EXTRA_WORDS} 个", code="invalid")
    added: list[str] = []
    for term in terms:
        key = skeleton(term)[0]
        if key in have:
            continue
        have.add(key)
        s.add(BannedWord(meeting_id=meeting_id, term=term, created_at_ms=now_ms))
        added.append(term)
    s.flush()
    return CommandOutcome([], {"added": added, "words": extra_words(s, meeting_id)})


def remove_words(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    keys = {skeleton(str(w).strip())[0] for w in args["words"]}
    rows = s.exec(select(BannedWord).where(BannedWord.meeting_id == meeting_id)).all()
    removed = [r.term for r in rows if skeleton(r.term)[0] in keys]
    if removed:
        s.execute(delete(BannedWord).where(col(BannedWord.meeting_id) == meeting_id,
                                           col(BannedWord.term).in_(removed)))
    return CommandOutcome([], {"removed": removed, "words": extra_words(s, meeting_id)})


def add_likes(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Persist what the coalesced counter gathered since the last flush (not a client command)."""
    n = int(args["n"])
    row = s.exec(select(MeetingInteraction).where(MeetingInteraction.meeting_id == meeting_id)
                 .with_for_update()).first()
    if row is None:
        s.add(MeetingInteraction(meeting_id=meeting_id, likes=n, updated_at_ms=now_ms))
        return CommandOutcome([], {"likes": n})
    # By SQL, so a flush from another worker in between is never lost.
    total = s.execute(update(MeetingInteraction).where(col(MeetingInteraction.meeting_id) == meeting_id)
                      .values(likes=col(MeetingInteraction.likes) + n)
                      .returning(col(MeetingInteraction.likes))).scalar_one()
    return CommandOutcome([], {"likes": int(total)})


# --- reads -----------------------------------------------------------------------------------


def extra_words(s: Session, meeting_id: int) -> list[str]:
    rows = s.exec(select(BannedWord).where(BannedWord.meeting_id == meeting_id).order_by(col(BannedWord.id))).all()
    return [r.term for r in rows]


def likes_total(s: Session, meeting_id: int) -> int:
    row = s.get(MeetingInteraction, meeting_id)
    return row.likes if row is not None else 0


def moderation_view(s: Session, meeting_id: int) -> dict[str, Any]:
    """The host's queue: pending public questions, held comments, bans and extra words."""
    pending = s.exec(select(Question).where(Question.meeting_id == meeting_id, Question.status == "pending")
                     .order_by(col(Question.id)).limit(MODERATION_LIMIT)).all()
    held = s.exec(select(Comment).where(Comment.meeting_id == meeting_id, Comment.status == "held")
                  .order_by(col(Comment.id)).limit(MODERATION_LIMIT)).all()
    # Counted apart only when the list is cut: each read may see a later commit (SQLite
    # reads outside a transaction), and a short list must never disagree with its count.
    n_pending = len(pending) if len(pending) < MODERATION_LIMIT else s.exec(
        select(func.count()).select_from(Question).where(Question.meeting_id == meeting_id,
                                                         Question.status == "pending")).one()
    n_held = len(held) if len(held) < MODERATION_LIMIT else s.exec(
        select(func.count()).select_from(Comment).where(Comment.meeting_id == meeting_id,
                                                        Comment.status == "held")).one()
    bans = s.exec(select(DeviceBan).where(DeviceBan.meeting_id == meeting_id).order_by(col(DeviceBan.id))).all()
    return {
        "questions": [question_host(q) for q in pending],
        "questions_pending": int(n_pending),
        "comments": [comment_host(c) for c in held],
        "comments_held": int(n_held),
        "bans": [{"id": b.id, "device_tag": device_tag(b.device_id), "reason": b.reason, "at_ms": b.created_at_ms}
                 for b in bans],
        "words": extra_words(s, meeting_id),
    }


COMMANDS: dict[str, Command] = {
    "comment.approve": approve,
    "comment.hide": hide,
    "comment.mode": set_mode,
    "comment.overlay": set_overlay,
    "device.ban": ban,
    "device.unban": unban,
    "words.add": add_words,
    "words.remove": remove_words,
    "likes.add": add_likes,
}

BATCHES: dict[str, BatchFn] = {
    "comment.send": send_batch,
}
