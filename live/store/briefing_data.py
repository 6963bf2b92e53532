"""What the interaction export and the 简报 are made from, read in one go.

Only a question's or comment's own fields leave the database (never a device id).
Results are read as the public sees them: ``result_public_json`` (small groups
guarded, see live.domain.visibility.public_result), and nothing of an item whose
result the host has not revealed in a ``hidden`` meeting; the ranking leaves those out
the same way the screens do (live.store.state).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlmodel import Session, col, select

from live.domain.phases import MEETING_STATUS_LABEL, MeetingStatus
from live.store.exports import ranking
from live.store.models import AgendaItem, Comment, Meeting, MeetingInteraction, Problem, Question
from live.store.samples import LIVE_ORIGINS, minute_series

ORIGIN_LABEL = {"panel": "评议团", "import": "导入", "public": "现场群众"}
QUESTION_STATUS_LABEL = {"pending": "待审核", "approved": "已通过", "rejected": "未采纳"}
COMMENT_STATUS_LABEL = {"shown": "已上墙", "held": "待审核", "hidden": "已隐藏"}


def _items(s: Session, meeting_id: int) -> list[AgendaItem]:
    return list(s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                       .order_by(col(AgendaItem.position))).all())


def _meeting(s: Session, meeting_id: int) -> Meeting:
    m = s.get(Meeting, meeting_id)
    if m is None:
        raise LookupError(meeting_id)
    return m


def _meeting_dict(m: Meeting) -> dict[str, Any]:
    status = MeetingStatus(m.status) if m.status in {v.value for v in MeetingStatus} else None
    return {"id": m.id, "code": m.code, "title": m.title, "held_on": m.held_on, "status": m.status,
            "status_label": MEETING_STATUS_LABEL[status] if status else m.status, "secret": m.secret,
            "visibility": m.results_visibility, "started_at_ms": m.started_at_ms, "ended_at_ms": m.ended_at_ms}


def _question_state(q: Question) -> str:
    if q.answered:
        return "已答复"
    if q.picked_at_ms is not None:
        return "已提出，未答复"
    return QUESTION_STATUS_LABEL.get(q.status, q.status)


def interaction_data(s: Session, meeting_id: int) -> dict[str, Any]:
    """Every question and comment of the meeting with its state, and the per-minute series."""
    m = _meeting(s, meeting_id)
    names = {i.id: i.presenter_name for i in _items(s, meeting_id)}
    questions = [{
        "id": q.id, "presenter": names.get(q.item_id, ""), "origin": ORIGIN_LABEL.get(q.origin, q.origin),
        "source": q.source, "asker": q.asker, "content": q.content,
        "status": QUESTION_STATUS_LABEL.get(q.status, q.status), "state": _question_state(q),
        "upvotes": q.upvotes, "answered": q.answered, "answered_at_ms": q.answered_at_ms,
        "picked_at_ms": q.picked_at_ms, "created_at_ms": q.created_at_ms,
    } for q in s.exec(select(Question).where(Question.meeting_id == meeting_id).order_by(col(Question.id))).all()]
    comments = [{
        "id": c.id, "presenter": names.get(c.item_id, "") if c.item_id else "", "text": c.text,
        "status": COMMENT_STATUS_LABEL.get(c.status, c.status), "created_at_ms": c.created_at_ms,
    } for c in s.exec(select(Comment).where(Comment.meeting_id == meeting_id).order_by(col(Comment.id))).all()]
    row = s.get(MeetingInteraction, meeting_id)
    return {"meeting": _meeting_dict(m), "questions": questions, "comments": comments,
            "series": [r.to_dict() for r in minute_series(s, meeting_id)], "likes": row.likes if row else 0}


def _public_result(i: AgendaItem) -> dict[str, Any] | None:
    if i.phase != "done" or i.result_hidden or not i.result_public_json:
        return None
    result: dict[str, Any] = orjson.loads(i.result_public_json)
    return result


def briefing_data(s: Session, meeting_id: int) -> dict[str, Any]:
    """The 简报's content: headline figures, the series, the public results, the ranking, problems."""
    data = interaction_data(s, meeting_id)
    items = _items(s, meeting_id)
    withheld = {i.id for i in items if i.result_hidden}
    data["items"] = [{
        "id": i.id, "position": i.position, "name": i.presenter_name, "post": i.presenter_post,
        "unit": i.presenter_unit, "phase": i.phase, "result": _public_result(i),
        "withheld": i.result_hidden,
    } for i in items]
    data["ranking"] = ranking(items, withheld=withheld)
    by_category: dict[str, int] = {}
    for p in s.exec(select(Problem).where(Problem.meeting_id == meeting_id)).all():
        key = p.category.strip() or "未分类"
        by_category[key] = by_category.get(key, 0) + 1
    data["problems"] = sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))
    series = data["series"]
    live_questions = [q for q in data["questions"] if q["origin"] in {ORIGIN_LABEL[o] for o in LIVE_ORIGINS}]
    data["headline"] = {
        "peak_audience": max((r["audience"] for r in series), default=0),
        "peak_screens": max((r["screens"] for r in series), default=0),
        "likes": data["likes"],
        "comments": len(data["comments"]),
        "comments_shown": sum(1 for c in data["comments"] if c["status"] == COMMENT_STATUS_LABEL["shown"]),
        "questions": len(data["questions"]),
        "questions_live": len(live_questions),
        "questions_answered": sum(1 for q in data["questions"] if q["answered"]),
        "minutes": len(series),
        "problems": sum(n for _, n in data["problems"]),
    }
    return data


__all__ = ["COMMENT_STATUS_LABEL", "ORIGIN_LABEL", "QUESTION_STATUS_LABEL", "briefing_data", "interaction_data"]
