"""The weekly 整改通报: per unit, the problems that were new, overdue, closed and escalated
in one week (Monday to Sunday). Pure: the store hands in plain records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from live.domain import rectification as rect


@dataclass(frozen=True)
class BulletinProblem:
    unit: str
    presenter: str
    meeting_title: str
    description: str
    created_on: date
    deadline: date | None
    status: str
    closed_on: date | None = None
    escalations: tuple[tuple[int, date], ...] = ()  # (level, date) of each 督办 step


@dataclass
class UnitLine:
    unit: str
    new: list[BulletinProblem] = field(default_factory=list)
    overdue: list[BulletinProblem] = field(default_factory=list)
    closed: list[BulletinProblem] = field(default_factory=list)
    escalated: list[tuple[BulletinProblem, int, date]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.new or self.overdue or self.closed or self.escalated)

    def counts(self) -> dict[str, int | str]:
        return {"unit": self.unit, "new": len(self.new), "overdue": len(self.overdue), "closed": len(self.closed),
                "escalated": len(self.escalated)}


@dataclass(frozen=True)
class Bulletin:
    start: date
    end: date  # the Sunday, inclusive
    units: list[UnitLine]

    def totals(self) -> dict[str, int]:
        return {k: sum(len(getattr(u, k)) for u in self.units) for k in ("new", "overdue", "closed", "escalated")}


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the week holding ``day``."""
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)


class _AsOf:
    def __init__(self, p: BulletinProblem) -> None:
        self.status, self.deadline = p.status, p.deadline


def build(problems: Iterable[BulletinProblem], start: date) -> Bulletin:
    """The 通报 of the week starting ``start`` (any day: its week is taken). Overdue means
    still owed work and past the deadline at the week's end; units in name order."""
    monday, sunday = week_of(start)
    lines: dict[str, UnitLine] = {}
    for p in problems:
        unit = p.unit.strip() or "（未填单位）"
        line = lines.setdefault(unit, UnitLine(unit))
        if monday <= p.created_on <= sunday:
            line.new.append(p)
        if p.created_on <= sunday and rect.is_overdue(_AsOf(p), sunday):
            line.overdue.append(p)
        if p.closed_on is not None and monday <= p.closed_on <= sunday \
                and rect.parse_status(p.status) is rect.RectStatus.CLOSED:
            line.closed.append(p)
        for level, on in p.escalations:
            if monday <= on <= sunday:
                line.escalated.append((p, level, on))
    units = sorted((u for u in lines.values() if not u.empty), key=lambda u: u.unit)
    return Bulletin(monday, sunday, units)
