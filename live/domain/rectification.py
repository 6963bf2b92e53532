"""整改 (rectification) of the problems named at a meeting, until 销号.

Every problem moves 待整改 → 整改中 → 已整改 → 已审核 → 已销号. The owner (责任单位)
or the host reports it fixed (已整改, the 申请销号); closing is the admin's, in two
steps: 审核 (已审核) then 确认销号 (已销号). Sending a problem back to 整改中 from
已整改 or 已审核, or reopening a closed one, needs a written reason, because that
reason ends up in the 通报. Only an admin reopens a closed problem or steps 审核/销号.

Overdue problems escalate apart from their status, through dated steps
提醒 → 函询 → 挂牌督办, each with a note (:func:`escalate`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Protocol, TypeVar

from live.domain.phases import PhaseError

DEFAULT_DEADLINE_MONTHS = 3
MAX_REASON_CHARS = 500
MAX_ESCALATION_NOTE_CHARS = 1000

PROBLEM_SOURCES: tuple[str, ...] = ("点评", "质询", "评议团意见")

# Who acts on a problem: the meeting's host, an installation admin, the problem's owner link.
ACTORS: tuple[str, ...] = ("host", "admin", "owner")


class RectificationError(PhaseError):
    """A refused 整改 step; ``message`` is shown to the host as is."""


class RectStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    RECTIFIED = "rectified"
    REVIEWED = "reviewed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return RECT_STATUS_LABEL[self]


RECT_STATUS_LABEL: dict[RectStatus, str] = {
    RectStatus.PENDING: "待整改",
    RectStatus.IN_PROGRESS: "整改中",
    RectStatus.RECTIFIED: "已整改",
    RectStatus.REVIEWED: "已审核",
    RectStatus.CLOSED: "已销号",
}

# What the step into each status is called on its button.
STEP_LABEL: dict[RectStatus, str] = {
    RectStatus.IN_PROGRESS: "开始整改",
    RectStatus.RECTIFIED: "申请销号",
    RectStatus.REVIEWED: "审核通过",
    RectStatus.CLOSED: "确认销号",
}

# The forward path; going back to 整改中 is handled apart because it alone needs a reason.
_FORWARD: dict[RectStatus, RectStatus] = {
    RectStatus.PENDING: RectStatus.IN_PROGRESS,
    RectStatus.IN_PROGRESS: RectStatus.RECTIFIED,
    RectStatus.RECTIFIED: RectStatus.REVIEWED,
    RectStatus.REVIEWED: RectStatus.CLOSED,
}

# Who may take each forward step (by the status it leads to).
_FORWARD_BY: dict[RectStatus, frozenset[str]] = {
    RectStatus.IN_PROGRESS: frozenset({"host", "admin", "owner"}),
    RectStatus.RECTIFIED: frozenset({"host", "admin", "owner"}),
    RectStatus.REVIEWED: frozenset({"admin"}),
    RectStatus.CLOSED: frozenset({"admin"}),
}

# Who may send a problem back to 整改中 from each status (always with a reason).
_BACK_BY: dict[RectStatus, frozenset[str]] = {
    RectStatus.RECTIFIED: frozenset({"host", "admin"}),
    RectStatus.REVIEWED: frozenset({"admin"}),
    RectStatus.CLOSED: frozenset({"admin"}),
}

# Statuses in which the owner owes no more work, so a passed deadline is no longer overdue.
_FINISHED = frozenset({RectStatus.RECTIFIED, RectStatus.REVIEWED, RectStatus.CLOSED})

_ROLE_LABEL = {"host": "主持人", "admin": "组织单位管理员", "owner": "责任单位"}


@dataclass(frozen=True)
class StatusChange:
    """An accepted step, ready to be stored as a progress note."""

    from_status: RectStatus
    to_status: RectStatus
    reason: str | None = None

    @property
    def is_reopen(self) -> bool:
        return self.to_status is RectStatus.IN_PROGRESS and self.from_status in _BACK_BY


def parse_status(value: str | RectStatus) -> RectStatus:
    """Accept the stored value or the Chinese label (the host UI and imports use labels)."""
    if isinstance(value, RectStatus):
        return value
    text = str(value).strip()
    for status, label in RECT_STATUS_LABEL.items():
        if text in (status.value, label):
            return status
    raise RectificationError(f"未知的整改状态「{text}」", code="unknown_status")


def _actor(actor: str) -> str:
    if actor not in ACTORS:
        raise RectificationError(f"未知的操作人「{actor}」", code="forbidden")
    return actor


def allowed_targets(current: str | RectStatus, actor: str = "admin") -> tuple[RectStatus, ...]:
    """The statuses ``actor`` may move to next, for the buttons next to a problem."""
    status = parse_status(current)
    who = _actor(actor)
    targets: list[RectStatus] = []
    nxt = _FORWARD.get(status)
    if nxt is not None and who in _FORWARD_BY[nxt]:
        targets.append(nxt)
    if who in _BACK_BY.get(status, frozenset()):
        targets.append(RectStatus.IN_PROGRESS)
    return tuple(targets)


def step_label(current: str | RectStatus, target: str | RectStatus) -> str:
    """The button's name for the step from ``current`` to ``target``."""
    src, dst = parse_status(current), parse_status(target)
    if dst is RectStatus.IN_PROGRESS and src in _BACK_BY:
        return "重新打开" if src is RectStatus.CLOSED else "退回整改"
    return STEP_LABEL.get(dst, dst.label)


def _reason(reason: str | None, what: str) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise RectificationError(f"{what}须填写原因", code="reason_required")
    if len(cleaned) > MAX_REASON_CHARS:
        raise RectificationError(f"{what}原因不能超过 {MAX_REASON_CHARS} 字", code="reason_too_long")
    return cleaned


def transition(current: str | RectStatus, target: str | RectStatus, reason: str | None = None,
               actor: str = "admin") -> StatusChange:
    """Check one step by ``actor`` and return it; raise :class:`RectificationError` when it is not allowed."""
    src = parse_status(current)
    dst = parse_status(target)
    who = _actor(actor)
    if src is dst:
        raise RectificationError(f"该问题已是「{src.label}」", code="no_change")
    if dst is RectStatus.IN_PROGRESS and src in _BACK_BY:
        what = "重新打开已销号的问题" if src is RectStatus.CLOSED else "退回整改中"
        if who not in _BACK_BY[src]:
            raise RectificationError(f"{_ROLE_LABEL[who]}不能{what}，请联系组织单位管理员", code="forbidden")
        return StatusChange(src, dst, _reason(reason, what))
    if src is RectStatus.CLOSED:
        raise RectificationError("该问题已销号；如需继续整改，请由组织单位管理员填写原因重新打开",
                                 code="already_closed")
    if _FORWARD.get(src) is dst:
        if who not in _FORWARD_BY[dst]:
            raise RectificationError(f"「{STEP_LABEL[dst]}」只能由组织单位管理员办理", code="forbidden")
        return StatusChange(src, dst, None)
    expected = _FORWARD[src]
    raise RectificationError(
        f"不能从「{src.label}」直接变为「{dst.label}」，下一步应为「{expected.label}」",
        code="illegal_transition",
    )


# --- escalation of overdue problems ------------------------------------------------------------


class Escalation(IntEnum):
    NONE = 0
    REMIND = 1
    INQUIRY = 2
    SUPERVISE = 3

    @property
    def label(self) -> str:
        return ESCALATION_LABEL[self]


ESCALATION_LABEL: dict[Escalation, str] = {
    Escalation.NONE: "未督办",
    Escalation.REMIND: "提醒",
    Escalation.INQUIRY: "函询",
    Escalation.SUPERVISE: "挂牌督办",
}


@dataclass(frozen=True)
class EscalationStep:
    level: Escalation
    on_date: date
    note: str


def parse_escalation(value: str | int) -> Escalation:
    if isinstance(value, int) and not isinstance(value, bool):
        if value in {e.value for e in Escalation}:
            return Escalation(value)
    else:
        text = str(value).strip()
        for e in Escalation:
            if text in (e.label, e.name.lower(), str(e.value)):
                return e
    raise RectificationError(f"未知的督办步骤「{value}」，应为提醒、函询或挂牌督办", code="invalid")


def escalate(current: int | Escalation, status: str | RectStatus, deadline: date | None, *, target: str | int,
             on_date: date, today: date, note: str, last_on: date | None = None) -> EscalationStep:
    """The next dated step for an overdue problem: 提醒 → 函询 → 挂牌督办, one at a time.

    ``on_date`` is the date of the letter or notice: after the deadline, not before the last
    step, not in the future. A problem that is finished (已整改 and later) is not escalated."""
    level = Escalation(int(current))
    wanted = parse_escalation(target)
    if parse_status(status) in _FINISHED:
        raise RectificationError("该问题已整改，无需督办", code="illegal_transition")
    if level is Escalation.SUPERVISE:
        raise RectificationError("该问题已挂牌督办，没有更高的督办步骤", code="illegal_transition")
    expected = Escalation(level + 1)
    if wanted is not expected:
        raise RectificationError(f"督办须逐级进行：下一步应为「{expected.label}」", code="illegal_transition")
    if deadline is None or not on_date > deadline:
        raise RectificationError("只有超过整改期限的问题才能督办；督办日期应晚于整改期限", code="illegal_transition")
    if on_date > today:
        raise RectificationError("督办日期不能晚于今天", code="invalid")
    if last_on is not None and on_date < last_on:
        raise RectificationError(f"督办日期不能早于上一步（{last_on.isoformat()}）", code="invalid")
    cleaned = (note or "").strip()
    if not cleaned:
        raise RectificationError(f"「{wanted.label}」须填写督办说明", code="reason_required")
    if len(cleaned) > MAX_ESCALATION_NOTE_CHARS:
        raise RectificationError(f"督办说明不能超过 {MAX_ESCALATION_NOTE_CHARS} 字", code="reason_too_long")
    return EscalationStep(wanted, on_date, cleaned)


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
    rectified: int = 0  # 已整改 or 已审核, awaiting 销号
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
        elif status in (RectStatus.RECTIFIED, RectStatus.REVIEWED):
            c["rectified"] += 1
        else:
            c["open"] += 1
            if is_overdue(p, today):
                c["overdue"] += 1
    return [PresenterSummary(presenter=name, **c) for name, c in counts.items()]
