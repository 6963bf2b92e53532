"""A unit's or a person's record across meetings and years: each time they presented, the
测评 result and rank, and the problems named with how far their 整改 has come. For the
admin's history page (a table and a chart)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from live.domain import rectification as rect
from live.store.models import AgendaItem, Meeting
from live.store.problems import _score, meeting_date, problem_views


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def history(s: Session, *, unit: str | None = None, person: str | None = None,
            today: date | None = None) -> list[dict[str, Any]]:
    """One row per agenda item of the unit (``presenter_unit``) or person (``presenter_name``), oldest first."""
    today = today or date.today()
    stmt = select(AgendaItem, Meeting).where(AgendaItem.meeting_id == Meeting.id)
    if unit:
        stmt = stmt.where(AgendaItem.presenter_unit == unit)
    if person:
        stmt = stmt.where(AgendaItem.presenter_name == person)
    rows: list[dict[str, Any]] = []
    for item, m in s.exec(stmt).all():
        items = list(s.exec(select(AgendaItem).where(AgendaItem.meeting_id == m.id)
                            .order_by(col(AgendaItem.position))).all())
        score = _score(item, items)
        views = problem_views(s, item_id=item.id)
        statuses = [rect.parse_status(v.problem.status) for v in views]
        held = meeting_date(m)
        rows.append({
            "meeting_id": m.id, "meeting_code": m.code, "meeting_title": m.title, "meeting_date": held.isoformat(),
            "year": held.year, "item_id": item.id, "presenter": item.presenter_name, "post": item.presenter_post,
            "unit": item.presenter_unit,
            "total": str(score.total) if score and score.total is not None else None,
            "total_value": _number(score.total) if score else None,
            "grade": score.grade if score else "", "rank": score.rank if score else None,
            "rank_of": score.rank_of if score else None,
            "problems": len(views), "closed": sum(1 for st in statuses if st is rect.RectStatus.CLOSED),
            "open": sum(1 for st in statuses if st is not rect.RectStatus.CLOSED),
            "overdue": sum(1 for v in views if rect.is_overdue(v, today)),
        })
    rows.sort(key=lambda r: (r["meeting_date"], r["meeting_id"] or 0, r["item_id"] or 0))
    return rows


def names(s: Session) -> dict[str, list[str]]:
    """Every unit and person that ever presented, for the search box."""
    items = s.exec(select(AgendaItem.presenter_unit, AgendaItem.presenter_name)).all()
    return {"units": sorted({u for u, _ in items if u}), "people": sorted({n for _, n in items if n})}
