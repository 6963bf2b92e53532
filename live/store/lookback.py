"""回头看: when a unit or person comes back at a later meeting, the problems still open from
their earlier meetings, and the questions that put them to the presenter again.

A presenter of this meeting matches an earlier problem when the earlier presenter had the
same name, or the same unit (单位), or the earlier problem's owner (责任单位) is this
presenter's unit. Only problems of meetings held before this one count, and only those
not yet 已销号. This is the one view of other meetings' problems a host gets: narrowed
to this meeting's presenters, open problems only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from live.domain import rectification as rect
from live.domain.moderation import QUESTION_MAX_CHARS
from live.domain.phases import PhaseError
from live.store.models import AgendaItem, Meeting
from live.store.problems import ProblemView, meeting_date, problem_views

LOOKBACK_SOURCE = "回头看"


def _matches(item: AgendaItem, v: ProblemView) -> bool:
    unit = item.presenter_unit.strip()
    if v.item.presenter_name.strip() == item.presenter_name.strip():
        return True
    return bool(unit) and unit in (v.item.presenter_unit.strip(), v.problem.owner.strip())


def earlier_open(s: Session, meeting_id: int, today: date) -> dict[int, list[ProblemView]]:
    """This meeting's agenda items → the matching open problems of earlier meetings."""
    m = s.get(Meeting, meeting_id)
    if m is None:
        raise PhaseError("会议不存在", code="not_found")
    held = meeting_date(m)
    items = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                   .order_by(col(AgendaItem.position))).all()
    earlier = [v for v in problem_views(s) if v.meeting.id != meeting_id and meeting_date(v.meeting) < held
               and rect.parse_status(v.problem.status) is not rect.RectStatus.CLOSED]
    return {i.id or 0: [v for v in earlier if _matches(i, v)] for i in items}


def lookback(s: Session, meeting_id: int, today: date) -> list[dict[str, Any]]:
    found = earlier_open(s, meeting_id, today)
    items = {i.id: i for i in s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)).all()}
    out = []
    for item_id, views in found.items():
        item = items[item_id]
        out.append({"item_id": item_id, "presenter": item.presenter_name, "unit": item.presenter_unit,
                    "problems": [_row(v, today) for v in views],
                    "overdue": sum(1 for v in views if rect.is_overdue(v, today))})
    return out


def _row(v: ProblemView, today: date) -> dict[str, Any]:
    d = v.to_dict(today)
    keep = ("id", "meeting_title", "meeting_date", "presenter", "unit", "description", "owner", "deadline",
            "status", "status_label", "overdue", "days_overdue", "escalation", "escalation_label")
    return {k: d[k] for k in keep}


def question_text(v: ProblemView, today: date) -> str:
    """The 质询 question a 回头看 problem becomes."""
    state = v.problem.status and rect.parse_status(v.problem.status).label
    late = f"，已逾期 {rect.days_overdue(v, today)} 天" if rect.is_overdue(v, today) else ""
    deadline = v.problem.deadline.isoformat() if v.problem.deadline else "未定"
    return (f"【回头看】{meeting_date(v.meeting).year}年「{v.meeting.title}」指出的问题："
            f"{v.problem.description}（整改期限 {deadline}，目前{state}{late}）。请说明整改进展和下一步措施。")


def seed_rows(s: Session, meeting_id: int, item_id: int, today: date) -> list[dict[str, Any]]:
    """Rows for the ``question.import`` command: one question per open earlier problem of the item."""
    found = earlier_open(s, meeting_id, today)
    if item_id not in found:
        raise PhaseError("议程中没有该述法人", code="not_found")
    return [{"row": n, "item_id": item_id, "content": question_text(v, today)[:QUESTION_MAX_CHARS],
             "source": LOOKBACK_SOURCE, "asker": ""} for n, v in enumerate(found[item_id], start=1)]
