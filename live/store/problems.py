"""点评, the 问题清单 and 整改 in the store.

Changes are writer commands (recorded by the host or a recorder, during the
meeting or long after it); none of them is public, so they return no events.
Reads build the host's views: problems across meetings with their filters, the
通报 summary, the XLSX rows and the data of a 法治体检单.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlmodel import Session, col, select

from live.domain import rectification as rect
from live.domain import scoring
from live.domain.moderation import ModerationError, validate_text
from live.domain.phases import PhaseError
from live.domain.report_rows import CheckupData, CheckupProblem, CheckupQuestion, CheckupScore, ProblemRow
from live.store.commands import Command, CommandOutcome, _meeting
from live.store.models import AgendaItem, ItemReview, Meeting, MeetingRecord, Problem, ProgressNote, Question

MAX_REVIEW_CHARS = 5000
MAX_DESCRIPTION_CHARS = 500
MAX_NOTE_CHARS = 2000
MAX_EVIDENCE_CHARS = 2000
MAX_CATEGORY_CHARS = 30
MAX_OWNER_CHARS = 50


def _text(raw: object, max_chars: int, what: str, *, multiline: bool = False, required: bool = True) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip() and not required):
        return ""
    try:
        return validate_text(raw, max_chars=max_chars, what=what, multiline=multiline)
    except ModerationError as exc:
        raise PhaseError(exc.message, code="invalid") from exc


def _date(raw: object, what: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError as exc:
        raise PhaseError(f"{what}应为 YYYY-MM-DD 格式的日期", code="invalid") from exc


def meeting_date(m: Meeting) -> date:
    """The meeting's date for deadlines and the 体检单: held_on, else the day it started or was made."""
    try:
        return date.fromisoformat(m.held_on)
    except ValueError:
        ms = m.started_at_ms or m.created_at_ms
        return datetime.fromtimestamp(ms / 1000).date() if ms else date.today()


def _item(s: Session, meeting_id: int, item_id: object) -> AgendaItem:
    item = s.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        raise PhaseError("议程中没有该述法人", code="not_found")
    return item


def _problem(s: Session, meeting_id: int, problem_id: object) -> Problem:
    p = s.exec(select(Problem).where(Problem.id == problem_id).with_for_update()).first()
    if p is None or p.meeting_id != meeting_id:
        raise PhaseError("问题清单中没有该问题", code="not_found")
    return p


def _source(raw: object) -> str:
    source = str(raw or "点评").strip()
    if source not in rect.PROBLEM_SOURCES:
        raise PhaseError(f"问题来源应为{'、'.join(rect.PROBLEM_SOURCES)}之一", code="invalid")
    return source


# --- commands ------------------------------------------------------------------------------


def save_review(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """The 点评 text of one presenter; saving again replaces it (one per item)."""
    _meeting(s, meeting_id)
    item = _item(s, meeting_id, args["item_id"])
    text = _text(args.get("text"), MAX_REVIEW_CHARS, "点评内容", multiline=True, required=False)
    commenter = _text(args.get("commenter"), MAX_OWNER_CHARS, "点评人", required=False)
    row = s.exec(select(ItemReview).where(ItemReview.item_id == item.id)).first()
    if row is None:
        assert item.id is not None
        row = ItemReview(meeting_id=meeting_id, item_id=item.id, text=text)
    row.text, row.commenter, row.updated_at_ms = text, commenter, now_ms
    s.add(row)
    return CommandOutcome([], {"review": review_dict(row)})


def add_problem(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    item = _item(s, meeting_id, args["item_id"])
    assert item.id is not None
    question_id = args.get("question_id")
    if question_id is not None:
        # A JSON body: true is not question 1, a list is not an id.
        if type(question_id) is not int or not 1 <= question_id <= 2**31:
            raise PhaseError("question_id 应为质询问题的编号（正整数）或 null", code="invalid")
        q = s.get(Question, question_id)
        if q is None or q.item_id != item.id:
            raise PhaseError("关联的质询问题不属于该述法人", code="not_found")
    p = Problem(
        meeting_id=meeting_id, item_id=item.id,
        description=_text(args.get("description"), MAX_DESCRIPTION_CHARS, "问题描述", multiline=True),
        category=_text(args.get("category"), MAX_CATEGORY_CHARS, "问题类别", required=False),
        source=_source(args.get("source")),
        owner=_text(args.get("owner"), MAX_OWNER_CHARS, "责任人", required=False),
        deadline=_date(args.get("deadline"), "整改期限") or rect.default_deadline(meeting_date(m)),
        status=rect.RectStatus.PENDING.value, question_id=question_id, created_at_ms=now_ms, updated_at_ms=now_ms)
    s.add(p)
    s.flush()
    return CommandOutcome([], {"problem_id": p.id})


def update_problem(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Edit the record (description, category, source, owner, deadline); the status moves only by 整改 steps."""
    _meeting(s, meeting_id)
    p = _problem(s, meeting_id, args["problem_id"])
    if "description" in args:
        p.description = _text(args["description"], MAX_DESCRIPTION_CHARS, "问题描述", multiline=True)
    if "category" in args:
        p.category = _text(args["category"], MAX_CATEGORY_CHARS, "问题类别", required=False)
    if "source" in args:
        p.source = _source(args["source"])
    if "owner" in args:
        p.owner = _text(args["owner"], MAX_OWNER_CHARS, "责任人", required=False)
    if "deadline" in args:
        new = _date(args["deadline"], "整改期限")
        if new is None:
            raise PhaseError("整改期限不能为空", code="invalid")
        p.deadline = new
    p.updated_at_ms = now_ms
    s.add(p)
    return CommandOutcome([], {"problem_id": p.id})


def _actor(args: dict[str, Any]) -> str:
    """Who takes the step, as the route set it (never from a client's body)."""
    actor = str(args.get("author") or "host")
    if actor not in rect.ACTORS:
        raise PhaseError(f"未知的操作人「{actor}」", code="forbidden")
    return actor


def apply_step(s: Session, p: Problem, target: str, *, actor: str, reason: str | None, text: str,
               evidence: str, on_date: date, now_ms: int) -> ProgressNote:
    """One 整改 step on ``p``, checked by the state machine, kept as a dated progress note."""
    step = rect.transition(p.status, target, reason, actor=actor)
    p.status = step.to_status.value
    if step.to_status is rect.RectStatus.CLOSED:
        p.closed_on = on_date
    elif step.from_status is rect.RectStatus.CLOSED:
        p.closed_on = None
    p.updated_at_ms = now_ms
    s.add(p)
    assert p.id is not None
    note = ProgressNote(problem_id=p.id, on_date=on_date,
                        text=text or f"状态由「{step.from_status.label}」变更为「{step.to_status.label}」",
                        evidence=evidence, from_status=step.from_status.value, to_status=step.to_status.value,
                        reason=step.reason, author=actor, created_at_ms=now_ms)
    s.add(note)
    s.flush()
    return note


def change_status(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """One 整改 step, checked by the state machine and recorded as a dated progress note."""
    _meeting(s, meeting_id)
    p = _problem(s, meeting_id, args["problem_id"])
    actor = _actor(args)
    note = apply_step(s, p, args["status"], actor=actor, reason=args.get("reason"),
                      text=_text(args.get("text"), MAX_NOTE_CHARS, "进展说明", multiline=True, required=False),
                      evidence=_text(args.get("evidence"), MAX_EVIDENCE_CHARS, "佐证材料", multiline=True,
                                     required=False),
                      on_date=_date(args.get("on_date"), "日期") or date.today(), now_ms=now_ms)
    return CommandOutcome([], {"problem_id": p.id, "status": p.status, "note_id": note.id})


def add_note(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    p = _problem(s, meeting_id, args["problem_id"])
    if rect.parse_status(p.status) is rect.RectStatus.CLOSED:
        raise PhaseError("该问题已销号，不能再添加进展", code="already_closed")
    assert p.id is not None
    note = ProgressNote(problem_id=p.id, on_date=_date(args.get("on_date"), "日期") or date.today(),
                        text=_text(args.get("text"), MAX_NOTE_CHARS, "进展说明", multiline=True),
                        evidence=_text(args.get("evidence"), MAX_EVIDENCE_CHARS, "佐证材料", multiline=True,
                                       required=False),
                        author=str(args.get("author") or "host"), created_at_ms=now_ms)
    p.updated_at_ms = now_ms
    s.add(p)
    s.add(note)
    s.flush()
    return CommandOutcome([], {"problem_id": p.id, "note_id": note.id})


def delete_problem(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Only a problem entered by mistake: still 待整改 and without notes. Anything with a
    history stays, so the 整改 record cannot be rewritten quietly."""
    _meeting(s, meeting_id)
    p = _problem(s, meeting_id, args["problem_id"])
    has_notes = s.exec(select(ProgressNote).where(ProgressNote.problem_id == p.id)).first() is not None
    if rect.parse_status(p.status) is not rect.RectStatus.PENDING or has_notes:
        raise PhaseError("只能删除尚未开始整改且没有进展记录的问题", code="illegal_transition")
    s.delete(p)
    return CommandOutcome([], {"problem_id": args["problem_id"], "deleted": True})


# --- shapes ----------------------------------------------------------------------------------


def review_dict(r: ItemReview | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"item_id": r.item_id, "text": r.text, "commenter": r.commenter, "updated_at_ms": r.updated_at_ms}


def note_dict(n: ProgressNote) -> dict[str, Any]:
    return {"id": n.id, "on_date": n.on_date.isoformat(), "text": n.text, "evidence": n.evidence,
            "from_status": n.from_status, "to_status": n.to_status, "reason": n.reason, "author": n.author,
            "escalation": n.escalation,
            "escalation_label": rect.Escalation(n.escalation).label if n.escalation else None,
            "created_at_ms": n.created_at_ms}


@dataclass(frozen=True)
class ProblemView:
    """A problem with its presenter and meeting; fits the rectification helpers."""

    problem: Problem
    item: AgendaItem
    meeting: Meeting

    @property
    def presenter(self) -> str:
        return self.item.presenter_name

    @property
    def status(self) -> str:
        return self.problem.status

    @property
    def deadline(self) -> date | None:
        return self.problem.deadline

    def to_dict(self, today: date, actor: str = "host") -> dict[str, Any]:
        """The problem as ``actor`` (host, admin, owner) sees it: ``next`` are the steps it may take."""
        p, status = self.problem, rect.parse_status(self.problem.status)
        return {
            "id": p.id, "meeting_id": p.meeting_id, "meeting_code": self.meeting.code,
            "meeting_title": self.meeting.title, "meeting_date": meeting_date(self.meeting).isoformat(),
            "item_id": p.item_id, "presenter": self.item.presenter_name, "post": self.item.presenter_post,
            "unit": self.item.presenter_unit, "description": p.description, "category": p.category,
            "source": p.source, "owner": p.owner, "deadline": p.deadline.isoformat() if p.deadline else None,
            "status": status.value, "status_label": status.label,
            "overdue": rect.is_overdue(self, today), "days_overdue": rect.days_overdue(self, today),
            "next": [{"status": t.value, "label": t.label, "action": rect.step_label(status, t),
                      "needs_reason": t is rect.RectStatus.IN_PROGRESS and status is not rect.RectStatus.PENDING}
                     for t in rect.allowed_targets(status, actor)],
            "escalation": p.escalation, "escalation_label": rect.Escalation(p.escalation).label,
            "escalated_on": p.escalated_on.isoformat() if p.escalated_on else None,
            "closed_on": p.closed_on.isoformat() if p.closed_on else None,
            "question_id": p.question_id, "created_at_ms": p.created_at_ms, "updated_at_ms": p.updated_at_ms,
        }


# --- reads -----------------------------------------------------------------------------------


def problem_views(s: Session, *, meeting_id: int | None = None, item_id: int | None = None,
                  problem_id: int | None = None) -> list[ProblemView]:
    """Problems in 通报 order: meeting date, agenda position, then as entered."""
    stmt = (select(Problem, AgendaItem, Meeting).where(Problem.item_id == AgendaItem.id)
            .where(Problem.meeting_id == Meeting.id))
    if meeting_id is not None:
        stmt = stmt.where(Problem.meeting_id == meeting_id)
    if item_id is not None:
        stmt = stmt.where(Problem.item_id == item_id)
    if problem_id is not None:
        stmt = stmt.where(Problem.id == problem_id)
    views = [ProblemView(p, i, m) for p, i, m in s.exec(stmt).all()]
    views.sort(key=lambda v: (meeting_date(v.meeting), v.meeting.id or 0, v.item.position, v.problem.id or 0))
    return views


def filtered(views: list[ProblemView], today: date, *, presenter: str | None = None, status: str | None = None,
             overdue: bool | None = None) -> list[ProblemView]:
    try:
        return rect.filter_problems(views, today, presenter=presenter, status=status, overdue=overdue)
    except rect.RectificationError as exc:
        raise PhaseError(exc.message, code="invalid") from exc


def notes_of(s: Session, problem_ids: list[int]) -> dict[int, list[ProgressNote]]:
    out: dict[int, list[ProgressNote]] = {}
    if not problem_ids:
        return out
    rows = s.exec(select(ProgressNote).where(col(ProgressNote.problem_id).in_(problem_ids))
                  .order_by(col(ProgressNote.on_date), col(ProgressNote.id))).all()
    for n in rows:
        out.setdefault(n.problem_id, []).append(n)
    return out


def summary(views: list[ProblemView], today: date) -> list[dict[str, Any]]:
    return [row.to_dict() for row in rect.summarise(views, today)]


def export_rows(s: Session, views: list[ProblemView]) -> list[ProblemRow]:
    notes = notes_of(s, [v.problem.id for v in views if v.problem.id is not None])
    rows: list[ProblemRow] = []
    for v in views:
        history = notes.get(v.problem.id or 0)
        latest = history[-1] if history else None
        rows.append(ProblemRow(
            meeting_title=v.meeting.title, meeting_date=meeting_date(v.meeting), presenter=v.presenter,
            unit=v.item.presenter_unit, description=v.problem.description, category=v.problem.category,
            source=v.problem.source, owner=v.problem.owner, deadline=v.problem.deadline, status=v.problem.status,
            latest_note=latest.text if latest else "", updated_on=latest.on_date if latest else None))
    return rows


def item_record(s: Session, meeting_id: int, item_id: int, today: date) -> dict[str, Any]:
    """What the host or recorder sees next to a presenter during and after 点评."""
    item = _item(s, meeting_id, item_id)
    review = s.exec(select(ItemReview).where(ItemReview.item_id == item.id)).first()
    return {"item_id": item.id, "presenter": item.presenter_name, "review": review_dict(review),
            "problems": [v.to_dict(today) for v in problem_views(s, item_id=item.id)]}


def _score(item: AgendaItem, items: list[AgendaItem]) -> CheckupScore | None:
    """The frozen 测评 result with the rank among this meeting's presenters, when scoring has them."""
    if not item.result_json:
        return None
    results: dict[int, scoring.ItemResult | None] = {}
    for i in items:
        try:
            results[i.id or 0] = scoring.ItemResult.from_dict(orjson.loads(i.result_json)) if i.result_json else None
        except ValueError:
            results[i.id or 0] = None
    result = results.get(item.id or 0)
    if result is None:
        return None
    ranks = {e.item: e.rank for e in scoring.rank(results)}
    details = tuple(
        (g.label, f"平均分 {g.mean_display or '—'}，有效票 {g.valid} 张" + ("" if g.included else "（未计入总分）"))
        for g in result.groups)
    return CheckupScore(total=result.total_display, grade=result.grade or "",
                        satisfaction_rate=result.satisfaction_rate_display, rank=ranks.get(item.id or 0),
                        rank_of=sum(1 for r in ranks.values() if r is not None) or None,
                        digest=item.digest or "", details=details)


def checkup_data(s: Session, meeting_id: int, item_id: int,
                 link_for: Callable[[Problem], str] | None = None) -> CheckupData:
    """The 体检单's data; ``link_for`` makes each problem's owner link, printed when given."""
    m = s.get(Meeting, meeting_id)
    if m is None:
        raise PhaseError("会议不存在", code="not_found")
    item = _item(s, meeting_id, item_id)
    items = list(s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                        .order_by(col(AgendaItem.position))).all())
    # Every approved question, as the console lists them; those picked 正在质询 or answered were put.
    questions = s.exec(select(Question).where(Question.item_id == item.id, Question.status == "approved")
                       .order_by(col(Question.position), col(Question.id))).all()
    review = s.exec(select(ItemReview).where(ItemReview.item_id == item.id)).first()
    problems = [v.problem for v in problem_views(s, item_id=item.id)]
    return CheckupData(
        meeting_title=m.title, meeting_date=meeting_date(m), presenter_name=item.presenter_name,
        presenter_post=item.presenter_post, presenter_unit=item.presenter_unit, score=_score(item, items),
        questions=[CheckupQuestion(q.content, q.source, q.asker, q.answered,
                                   asked=q.picked_at_ms is not None or q.answered) for q in questions],
        comment=review.text if review else "", commenter=review.commenter if review else "",
        problems=[CheckupProblem(p.description, p.category, p.source, p.deadline, p.owner,
                                 link_for(p) if link_for else "") for p in problems],
        record_root=_record_root(s, meeting_id))


def _record_root(s: Session, meeting_id: int) -> str:
    row = s.get(MeetingRecord, meeting_id)
    return (row.root if row is not None else None) or ""


COMMANDS: dict[str, Command] = {
    "review.save": save_review,
    "problem.add": add_problem,
    "problem.update": update_problem,
    "problem.status": change_status,
    "problem.note": add_note,
    "problem.delete": delete_problem,
}
