"""质询 questions in the store: asking (panel, public), upvotes, the host's queue
(approve, reject, reorder, pick 正在质询, mark answered, the answer countdown) and
the import of questions collected beforehand.

Each function runs inside the writer's transaction and returns the public events
of the change; the host-only side (pending questions, devices) is never in an event.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from live.domain import timer
from live.domain.phases import PHASE_LABEL, ItemPhase, MeetingStatus, PhaseError
from live.store.commands import Command, CommandOutcome, Events, _meeting
from live.store.jobs import BatchFn, BatchJob, BatchResult
from live.store.models import AgendaItem, DeviceBan, Meeting, MeetingInteraction, Question, QuestionUpvote
from live.store.voice_state import interaction_public, interaction_row, question_public

PANEL_SOURCE = "评议团"
PUBLIC_SOURCE = "网络提问"
# One event carries at most this many questions, so an import of hundreds stays in small frames.
EVENT_CHUNK = 50


def device_tag(device_id: str | None) -> str | None:
    """A short stable pseudonym, so the host sees "the same phone" without the device id itself."""
    if not device_id:
        return None
    return hashlib.sha256(device_id.encode()).hexdigest()[:8]


def question_host(q: Question) -> dict[str, Any]:
    """What the host console sees: the public shape plus the moderation fields."""
    return {
        **question_public(q),
        "status": q.status,
        "upvotes": q.upvotes,
        "member_id": q.member_id,
        "device_tag": device_tag(q.device_id),
        "created_at_ms": q.created_at_ms,
        "picked_at_ms": q.picked_at_ms,
        "answered_at_ms": q.answered_at_ms,
    }


def _questions_event(questions: list[Question], cause: str) -> Events:
    rows = [question_public(q) for q in questions]
    return [{"type": "questions.updated", "cause": cause, "questions": rows[i:i + EVENT_CHUNK]}
            for i in range(0, len(rows), EVENT_CHUNK)]


def _interaction_event(row: MeetingInteraction, cause: str) -> dict[str, Any]:
    return {"type": "interaction.updated", "cause": cause, "interaction": interaction_public(row)}


def _question(s: Session, meeting_id: int, question_id: object) -> Question:
    q = s.exec(select(Question).where(Question.id == question_id).with_for_update()).first()
    if q is None or q.meeting_id != meeting_id:
        raise PhaseError("问题不存在", code="not_found")
    return q


def _item(s: Session, meeting_id: int, item_id: object) -> AgendaItem:
    item = s.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        raise PhaseError("议程中没有该述法人", code="not_found")
    return item


def check_open_for_questions(m: Meeting, item: AgendaItem) -> None:
    if MeetingStatus(m.status) is MeetingStatus.ENDED:
        raise PhaseError("会议已结束，不再接受提问", code="closed")
    if ItemPhase(item.phase) is ItemPhase.DONE:
        raise PhaseError("该述法人的评议已结束，不再接受提问", code="closed")


def _next_positions(s: Session, item_ids: set[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    rows = s.exec(select(Question.item_id, func.max(Question.position))
                  .where(col(Question.item_id).in_(sorted(item_ids))).group_by(col(Question.item_id))).all()
    top = {int(i): int(p or 0) for i, p in rows}
    return {i: top.get(i, 0) + 1 for i in item_ids}


def _set_answer_timer(row: MeetingInteraction, t: timer.Timer) -> None:
    row.answer_duration_s = t.duration_s
    row.answer_running = t.running
    row.answer_ends_at_ms = t.ends_at_ms
    row.answer_remaining_ms = t.remaining_ms


def _answer_timer(row: MeetingInteraction) -> timer.Timer:
    return timer.Timer(row.answer_duration_s, row.answer_running, row.answer_ends_at_ms, row.answer_remaining_ms)


def _clear_current(row: MeetingInteraction, now_ms: int) -> None:
    row.current_question_id = None
    _set_answer_timer(row, timer.skip(_answer_timer(row), now_ms))
    row.updated_at_ms = now_ms


# --- batched public input -------------------------------------------------------------


def ask_batch(s: Session, jobs: list[BatchJob], now_ms: int) -> list[BatchResult]:
    """Store questions from panel tablets (shown at once: the panel is named and trusted)
    and from phones (held for the host's moderation). Args: item_id, content, origin,
    source, asker, member_id, device_id."""
    items = {i.id: i for i in s.exec(select(AgendaItem).where(
        col(AgendaItem.id).in_(sorted({int(j.args["item_id"]) for j in jobs})))).all()}
    meetings = {m.id: m for m in s.exec(select(Meeting).where(
        col(Meeting.id).in_(sorted({j.meeting_id for j in jobs})))).all()}
    devices = sorted({str(j.args["device_id"]) for j in jobs if j.args.get("device_id")})
    banned = {(b.meeting_id, b.device_id) for b in s.exec(select(DeviceBan).where(
        col(DeviceBan.device_id).in_(devices))).all()} if devices else set()
    positions = _next_positions(s, {i for i in items if i is not None})
    out: list[BatchResult] = []
    for j in jobs:
        a = j.args
        item = items.get(int(a["item_id"]))
        m = meetings.get(j.meeting_id)
        if item is None or m is None or item.meeting_id != j.meeting_id:
            out.append(PhaseError("议程中没有该述法人", code="not_found"))
            continue
        try:
            check_open_for_questions(m, item)
        except PhaseError as exc:
            out.append(exc)
            continue
        if a.get("device_id") and (j.meeting_id, a["device_id"]) in banned:
            out.append(PhaseError("您已被主持人禁止发言，不能提问", code="banned"))
            continue
        panel = a["origin"] == "panel"
        assert item.id is not None
        q = Question(meeting_id=j.meeting_id, item_id=item.id, origin=a["origin"], source=a["source"],
                     content=a["content"], asker=a.get("asker") or "", member_id=a.get("member_id"),
                     device_id=a.get("device_id"), status="approved" if panel else "pending",
                     position=positions[item.id], created_at_ms=now_ms)
        positions[item.id] += 1
        s.add(q)
        s.flush()
        events = _questions_event([q], "asked") if panel else []
        out.append(CommandOutcome(events, {"question_id": q.id, "status": q.status}))
    return out


def upvote_batch(s: Session, jobs: list[BatchJob], now_ms: int) -> list[BatchResult]:
    """One upvote per device per question (the UNIQUE constraint backs this up across
    workers). The count on the question row is bumped by SQL, never read-modify-write."""
    qids = sorted({int(j.args["question_id"]) for j in jobs})
    questions = {q.id: q for q in s.exec(select(Question).where(col(Question.id).in_(qids))).all()}
    devices = sorted({str(j.args["device_id"]) for j in jobs})
    have = {(u.question_id, u.device_id) for u in s.exec(select(QuestionUpvote).where(
        col(QuestionUpvote.question_id).in_(qids), col(QuestionUpvote.device_id).in_(devices))).all()}
    added: Counter[int] = Counter()
    verdicts: list[tuple[int, str] | PhaseError] = []
    for j in jobs:
        qid, device = int(j.args["question_id"]), str(j.args["device_id"])
        q = questions.get(qid)
        if q is None or q.meeting_id != j.meeting_id or q.status != "approved":
            verdicts.append(PhaseError("该问题不存在或未通过审核", code="not_found"))
            continue
        if q.origin == "panel":
            verdicts.append(PhaseError("评议团的提问不参与点赞排序", code="invalid"))
            continue
        if (qid, device) in have:
            verdicts.append((qid, "duplicate"))
            continue
        have.add((qid, device))
        s.add(QuestionUpvote(question_id=qid, device_id=device, created_at_ms=now_ms))
        added[qid] += 1
        verdicts.append((qid, "stored"))
    counts: dict[int, int] = {}
    for qid, n in added.items():
        counts[qid] = int(s.execute(update(Question).where(col(Question.id) == qid)
                                    .values(upvotes=col(Question.upvotes) + n)
                                    .returning(col(Question.upvotes))).scalar_one())
    out: list[BatchResult] = []
    for v in verdicts:
        if isinstance(v, PhaseError):
            out.append(v)
            continue
        qid, status = v
        count = counts.get(qid, questions[qid].upvotes)
        out.append(CommandOutcome([], {"question_id": qid, "status": status, "upvotes": count}))
    return out


# --- the host's queue -------------------------------------------------------------------


def approve(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    q = _question(s, meeting_id, args["question_id"])
    if q.status == "approved":
        raise PhaseError("该问题已通过审核", code="no_change")
    q.status = "approved"
    s.add(q)
    return CommandOutcome(_questions_event([q], "approved"), {"question_id": q.id, "status": q.status})


def reject(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    q = _question(s, meeting_id, args["question_id"])
    if q.status == "rejected":
        raise PhaseError("该问题已被驳回", code="no_change")
    was_public = q.status == "approved"
    q.status = "rejected"
    s.add(q)
    events: Events = []
    if was_public:
        events.append({"type": "question.removed", "cause": "rejected", "question_id": q.id})
        row = interaction_row(s, meeting_id, for_update=True)
        if row.current_question_id == q.id:
            _clear_current(row, now_ms)
            s.add(row)
            events.append(_interaction_event(row, "cleared"))
    return CommandOutcome(events, {"question_id": q.id, "status": q.status})


def reorder(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """By upvotes (unanswered first, then most upvoted; ties keep their order) or by
    hand (the listed ids first, in that order, then the rest as they were)."""
    _meeting(s, meeting_id)
    item = _item(s, meeting_id, args["item_id"])
    rows = list(s.exec(select(Question).where(Question.item_id == item.id, Question.status == "approved")
                       .order_by(col(Question.position), col(Question.id)).with_for_update()).all())
    if args["by"] == "upvotes":
        ordered = sorted(rows, key=lambda q: (q.answered, -q.upvotes))  # stable: ties keep the current order
    else:
        ids: list[int] = list(args.get("ids") or [])
        by_id = {q.id: q for q in rows}
        if len(set(ids)) != len(ids):
            raise PhaseError("排序列表中有重复的问题", code="invalid")
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise PhaseError(f"问题 {unknown[0]} 不在该述法人已通过的问题中", code="not_found")
        listed = [by_id[i] for i in ids]
        ordered = listed + [q for q in rows if q.id not in set(ids)]
    changed: list[Question] = []
    for pos, q in enumerate(ordered, start=1):
        if q.position != pos:
            q.position = pos
            s.add(q)
            changed.append(q)
    changed.sort(key=lambda q: q.position)
    return CommandOutcome(_questions_event(changed, "reordered") if changed else [],
                          {"order": [q.id for q in ordered]})


def pick(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Put a question 正在质询: the big screen shows it with its asker or source, and the
    answer countdown starts (``seconds`` 0 means no countdown)."""
    m = _meeting(s, meeting_id)
    q = _question(s, meeting_id, args["question_id"])
    if q.status != "approved":
        raise PhaseError("只能选择已通过审核的问题", code="invalid")
    item = _item(s, meeting_id, q.item_id)
    if MeetingStatus(m.status) is not MeetingStatus.LIVE or ItemPhase(item.phase) is not ItemPhase.INQUIRY:
        label = PHASE_LABEL[ItemPhase(item.phase)]
        raise PhaseError(f"该述法人当前为「{label}」，只能在「质询」环节选择正在质询的问题")
    row = interaction_row(s, meeting_id, for_update=True)
    seconds = args.get("seconds")
    if seconds is not None:
        row.answer_seconds = int(seconds)
    row.current_question_id = q.id
    _set_answer_timer(row, timer.start(row.answer_seconds, now_ms) if row.answer_seconds else timer.stopped())
    row.updated_at_ms = now_ms
    q.picked_at_ms = now_ms
    s.add(row)
    s.add(q)
    return CommandOutcome([_interaction_event(row, "picked")], {"question_id": q.id, "timer": _answer_timer(row)
                                                                 .to_dict()})


def unpick(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    row = interaction_row(s, meeting_id, for_update=True)
    if row.current_question_id is None:
        raise PhaseError("当前没有正在质询的问题", code="no_change")
    _clear_current(row, now_ms)
    s.add(row)
    return CommandOutcome([_interaction_event(row, "cleared")], {})


def mark_answered(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Answering the question 正在质询 also ends its countdown and clears the screen."""
    _meeting(s, meeting_id)
    q = _question(s, meeting_id, args["question_id"])
    answered = bool(args.get("answered", True))
    if q.status != "approved":
        raise PhaseError("只能标记已通过审核的问题", code="invalid")
    if q.answered == answered:
        raise PhaseError("该问题已标记为已答复" if answered else "该问题尚未答复", code="no_change")
    q.answered = answered
    q.answered_at_ms = now_ms if answered else None
    s.add(q)
    events = _questions_event([q], "answered")
    row = interaction_row(s, meeting_id, for_update=True)
    if answered and row.current_question_id == q.id:
        _clear_current(row, now_ms)
        s.add(row)
        events.append(_interaction_event(row, "answered"))
    return CommandOutcome(events, {"question_id": q.id, "answered": answered})


def answer_timer(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    row = interaction_row(s, meeting_id, for_update=True)
    t = _answer_timer(row)
    t = timer.apply_action(t, str(args["action"]), int(args.get("seconds") or 0), now_ms)
    _set_answer_timer(row, t)
    row.updated_at_ms = now_ms
    s.add(row)
    return CommandOutcome([_interaction_event(row, "timer")], {"timer": t.to_dict()})


def import_questions(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Store the good rows of an upload. A row whose text is already a question of that
    presenter (the same file imported twice) is skipped and reported with its row number."""
    _meeting(s, meeting_id)
    status = args.get("status", "approved")
    rows: list[dict[str, Any]] = args["rows"]
    items = {i.id for i in s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)).all()}
    existing = {(q.item_id, q.content) for q in s.exec(select(Question).where(
        Question.meeting_id == meeting_id, col(Question.status) != "rejected")).all()}
    positions = _next_positions(s, {int(r["item_id"]) for r in rows if r["item_id"] in items})
    created: list[tuple[int, Question]] = []
    skipped: list[dict[str, Any]] = []
    for r in rows:
        item_id = int(r["item_id"])
        if item_id not in items:
            skipped.append({"row": r["row"], "message": "议程中没有该述法人"})
            continue
        if (item_id, r["content"]) in existing:
            skipped.append({"row": r["row"], "message": "该问题已导入过，已跳过"})
            continue
        existing.add((item_id, r["content"]))
        q = Question(meeting_id=meeting_id, item_id=item_id, origin="import", source=r["source"],
                     content=r["content"], asker=r.get("asker") or "", status=status,
                     position=positions[item_id], created_at_ms=now_ms)
        positions[item_id] += 1
        s.add(q)
        created.append((int(r["row"]), q))
    s.flush()
    imported = [{"row": row, "question_id": q.id, "item_id": q.item_id} for row, q in created]
    questions = [q for _, q in created]
    events = _questions_event(questions, "imported") if status == "approved" else []
    return CommandOutcome(events, {"imported": imported, "skipped": skipped})


# --- reads -------------------------------------------------------------------------------


def upvote_counts(s: Session, meeting_id: int) -> dict[int, int]:
    rows = s.exec(select(Question.id, Question.upvotes).where(
        Question.meeting_id == meeting_id, Question.status == "approved", col(Question.upvotes) > 0)).all()
    return {int(i): int(n) for i, n in rows if i is not None}


def host_questions(s: Session, meeting_id: int, item_id: int | None = None) -> list[dict[str, Any]]:
    stmt = select(Question).where(Question.meeting_id == meeting_id)
    if item_id is not None:
        stmt = stmt.where(Question.item_id == item_id)
    rows = s.exec(stmt.order_by(col(Question.item_id), col(Question.position), col(Question.id))).all()
    return [question_host(q) for q in rows]


COMMANDS: dict[str, Command] = {
    "question.approve": approve,
    "question.reject": reject,
    "question.reorder": reorder,
    "question.pick": pick,
    "question.unpick": unpick,
    "question.answered": mark_answered,
    "question.timer": answer_timer,
    "question.import": import_questions,
}

BATCHES: dict[str, BatchFn] = {
    "question.ask": ask_batch,
    "question.upvote": upvote_batch,
}
