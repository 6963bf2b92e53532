"""整改 (rectification) of the problems named at a meeting, until 销号.

Every problem moves 待整改 → 整改中 → 已整改 → 已销号. The host may send a
problem that was reported fixed back to 整改中 when the fix does not hold up,
but only with a written reason, because that reason ends up in the 通报.
已销号 is final: a closed problem that resurfaces is a new problem.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from live.domain.phases import PhaseError

DEFAULT_DEADLINE_MONTHS = 3
MAX_REASON_CHARS = 500

PROBLEM_SOURCES: tuple[str, ...] = ("点评", "质询", "评议团意见")


class RectificationError(PhaseError):
    """A refused 整改 step; ``message`` is shown to the host as is."""


class RectStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    RECTIFIED = "rectified"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return RECT_STATUS_LABEL[self]


RECT_STATUS_LABEL: dict[RectStatus, str] = {
    RectStatus.PENDING: "待整改",
    RectStatus.IN_PROGRESS: "整改中",
    RectStatus.RECTIFIED: "已整改",
    RectStatus.CLOSED: "已销号",
}

# The forward path; reopening is the single backward step and is handled apart
# because it alone needs a reason.
_FORWARD: dict[RectStatus, RectStatus] = {
    RectStatus.PENDING: RectStatus.IN_PROGRESS,
    RectStatus.IN_PROGRESS: RectStatus.RECTIFIED,
    RectStatus.RECTIFIED: RectStatus.CLOSED,
}

# Statuses in which nobody owes any more work, so a passed deadline is no longer overdue.
_FINISHED = frozenset({RectStatus.RECTIFIED, RectStatus.CLOSED})


@dataclass(frozen=True)
class StatusChange:
    """An accepted step, ready to be stored as a progress note."""

    from_status: RectStatus
    to_status: RectStatus
    reason: str | None = None

    @property
    def is_reopen(self) -> bool:
        return self.from_status is RectStatus.RECTIFIED and self.to_status is RectStatus.IN_PROGRESS


def parse_status(value: str | RectStatus) -> RectStatus:
    """Accept the stored value or the Chinese label (the host UI and imports use labels)."""
    if isinstance(value, RectStatus):
        return value
    text = str(value).strip()
    for status, label in RECT_STATUS_LABEL.items():
        if text in (status.value, label):
            return status
    raise RectificationError(f"未知的整改状态「{text}」", code="unknown_status")


def allowed_targets(current: str | RectStatus) -> tuple[RectStatus, ...]:
    """The statuses the host may move to next, for the buttons next to a problem."""
    status = parse_status(current)
    targets: list[RectStatus] = []
    if status in _FORWARD:
        targets.append(_FORWARD[status])
    if status is RectStatus.RECTIFIED:
        targets.append(RectStatus.IN_PROGRESS)
    return tuple(targets)


def transition(current: str | RectStatus, target: str | RectStatus, reason: str | None = None) -> StatusChange:
    """Check one step and return it; raise :class:`RectificationError` when it is not allowed."""
    src = parse_status(current)
    dst = parse_status(target)
    if src is RectStatus.CLOSED:
        raise RectificationError("该问题已销号，不能再变更状态；如问题复现，请新增问题", code="already_closed")
    if src is dst:
        raise RectificationError(f"该问题已是「{src.label}」", code="no_change")
    if src is RectStatus.RECTIFIED and dst is RectStatus.IN_PROGRESS:
        cleaned = (reason or "").strip()
        if not cleaned:
            raise RectificationError("退回整改中须填写退回原因", code="reason_required")
        if len(cleaned) > MAX_REASON_CHARS:
            raise RectificationError(f"退回原因不能超过 {MAX_REASON_CHARS} 字", code="reason_too_long")
        return StatusChange(src, dst, cleaned)
    if _FORWARD.get(src) is dst:
        return StatusChange(src, dst, None)
    expected = _FORWARD[src]
    raise RectificationError(
        f"不能从「{src.label}」直接变为「{dst.label}」，下一步应为「{expected.label}」",
        code="illegal_transition",
    )


def add_months(day: date, months: int) -> date:
    """Same day of month ``months`` later, clamped to the month's last day (Nov 30 + 3 → Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def default_deadline(meeting_date: date, months: int = DEFAULT_DEADLINE_MONTHS) -> date:
    """The rectification deadline when nobody set one: three months after the meeting."""
    if isinstance(meeting_date, datetime):
        # A datetime would otherwise leak a time of day into a date-only deadline.
        meeting_date = meeting_date.date()
    return add_months(meeting_date, months)


class TrackedProblem(Protocol):
    """What the pure helpers need from a problem; store rows and export rows both fit."""

    @property
    def status(self) -> str: ...

    @property
    def deadline(self) -> date | None: ...


class PresenterProblem(TrackedProblem, Protocol):
    @property
    def presenter(self) -> str: ...


def is_overdue(problem: TrackedProblem, today: date) -> bool:
    """Past its deadline and still owed work. The deadline day itself is not late."""
    if problem.deadline is None:
        return False
    if parse_status(problem.status) in _FINISHED:
        return False
    return today > problem.deadline


def days_overdue(problem: TrackedProblem, today: date) -> int:
    if not is_overdue(problem, today):
        return 0
    assert problem.deadline is not None
    return (today - problem.deadline).days


P = TypeVar("P", bound=PresenterProblem)


def filter_problems(
    problems: Iterable[P],
    today: date,
    *,
    presenter: str | None = None,
    status: str | RectStatus | None = None,
    overdue: bool | None = None,
) -> list[P]:
    """The host's list view: any filter left as None does not narrow the list."""
    wanted = parse_status(status) if status is not None else None
    out: list[P] = []
    for p in problems:
        if presenter is not None and p.presenter != presenter:
            continue
        if wanted is not None and parse_status(p.status) is not wanted:
            continue
        if overdue is not None and is_overdue(p, today) is not overdue:
            continue
        out.append(p)
    return out


@dataclass(frozen=True)
class PresenterSummary:
    """One line of the 通报 at the next meeting."""

    presenter: str
    total: int = 0
    open: int = 0  # 待整改 + 整改中
    rectified: int = 0  # 已整改, awaiting 销号
    closed: int = 0  # 已销号
    overdue: int = 0  # a subset of ``open``

    @property
    def closure_rate(self) -> float:
        return self.closed / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, str | int | float]:
        return {
            "presenter": self.presenter,
            "total": self.total,
            "open": self.open,
            "rectified": self.rectified,
            "closed": self.closed,
            "overdue": self.overdue,
            "closure_rate": round(self.closure_rate, 4),
        }


def summarise(problems: Iterable[PresenterProblem], today: date) -> list[PresenterSummary]:
    """Counts per presenter, in the order presenters first appear (the caller's agenda order)."""
    counts: dict[str, dict[str, int]] = {}
    for p in problems:
        c = counts.setdefault(p.presenter, {"total": 0, "open": 0, "rectified": 0, "closed": 0, "overdue": 0})
        status = parse_status(p.status)
        c["total"] += 1
        if status is RectStatus.CLOSED:
            c["closed"] += 1
        elif status is RectStatus.RECTIFIED:
            c["rectified"] += 1
        else:
            c["open"] += 1
            if is_overdue(p, today):
                c["overdue"] += 1
    return [PresenterSummary(presenter=name, **c) for name, c in counts.items()]
