"""The public part of the live interaction: the answer countdown and the question
正在质询, the approved questions, and a bounded window of recent comments.

Like the rest of the public state, each piece is replaced by id when an event
carries it, so "snapshot + later events == fresh snapshot" holds. What only the
host may see (pending questions, held comments, devices, bans) never appears here.

Upvote and like counts are not part of this state: they change too often for the
seq log and travel as coalesced volatile messages (``upvotes``, ``likes``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from live.domain import catalogue, timer
from live.store.models import AgendaItem, Comment, Meeting, MeetingInteraction, Question

State = dict[str, Any]

# How many recently shown comments the public state keeps (hidden ones stay as tombstones).
COMMENT_WINDOW = catalogue.COMMENT_WINDOW
DEFAULT_ANSWER_SECONDS = 180


def interaction_row(s: Session, meeting_id: int, *, for_update: bool = False) -> MeetingInteraction:
    """The meeting's interaction row; a fresh (unsaved) one with the defaults when none exists yet."""
    stmt = select(MeetingInteraction).where(MeetingInteraction.meeting_id == meeting_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = s.exec(stmt).first()
    return row if row is not None else MeetingInteraction(meeting_id=meeting_id)


def interaction_public(row: MeetingInteraction) -> dict[str, Any]:
    return {
        "comment_mode": row.comment_mode,
        "overlay": row.overlay,
        "current_question_id": row.current_question_id,
        "answer_seconds": row.answer_seconds,
        "answer_timer": {
            "duration_s": row.answer_duration_s,
            "running": row.answer_running,
            "ends_at_ms": row.answer_ends_at_ms,
            "remaining_ms": row.answer_remaining_ms,
        },
    }


def clear_stale_question(s: Session, m: Meeting, items: list[AgendaItem], now_ms: int) -> list[dict[str, Any]]:
    """After a phase change: a question stays 正在质询 only while its presenter is in 质询 of a
    live meeting. Otherwise the pick and its countdown are cleared here, in the same
    transaction, and an ``interaction.updated`` (cause ``phase``) says so."""
    row = interaction_row(s, int(m.id or 0), for_update=True)
    if row.current_question_id is None:
        return []
    q = s.get(Question, row.current_question_id)
    on_stage = {i.id: i.phase for i in items}
    if q is not None and m.status == "live" and on_stage.get(q.item_id) == "inquiry":
        return []
    t = timer.Timer(row.answer_duration_s, row.answer_running, row.answer_ends_at_ms, row.answer_remaining_ms)
    t = timer.skip(t, now_ms)
    row.current_question_id = None
    row.answer_duration_s, row.answer_running = t.duration_s, t.running
    row.answer_ends_at_ms, row.answer_remaining_ms = t.ends_at_ms, t.remaining_ms
    row.updated_at_ms = now_ms
    s.add(row)
    return [{"type": "interaction.updated", "cause": "phase", "interaction": interaction_public(row)}]


def question_public(q: Question) -> dict[str, Any]:
    # Never the device or the member id: the public sees who asked by name or source only.
    return {
        "id": q.id,
        "item_id": q.item_id,
        "origin": q.origin,
        "source": q.source,
        "content": q.content,
        "asker": q.asker,
        "position": q.position,
        "answered": q.answered,
        "upvotable": q.origin != "panel",
    }


def comment_public(c: Comment) -> dict[str, Any]:
    shown = c.status == "shown"
    return {
        "id": c.id,
        "order": c.shown_order,
        "status": "shown" if shown else "hidden",
        # A hidden comment stays in the window as a tombstone without its text.
        "text": c.text if shown else None,
        "item_id": c.item_id,
        "at_ms": c.created_at_ms,
    }


def load(s: Session, meeting_id: int) -> State:
    """The interaction parts of a snapshot, read in the caller's transaction."""
    questions = s.exec(
        select(Question).where(Question.meeting_id == meeting_id, Question.status == "approved")
        .order_by(col(Question.item_id), col(Question.position), col(Question.id))
    ).all()
    comments = list(s.exec(
        select(Comment).where(Comment.meeting_id == meeting_id, col(Comment.shown_order).is_not(None))
        .order_by(col(Comment.shown_order).desc()).limit(COMMENT_WINDOW)
    ).all())
    comments.reverse()
    return {
        "interaction": interaction_public(interaction_row(s, meeting_id)),
        "questions": [question_public(q) for q in questions],
        "comments": [comment_public(c) for c in comments],
    }
