"""Phase machines for a meeting and for each agenda item (one item per presenter).

The host drives both; every transition is checked here so that the web layer can
refuse an illegal step before anything is written.
"""

from __future__ import annotations

from enum import StrEnum

from live.domain.errors import DomainError


class PhaseError(DomainError):
    """An illegal transition. ``message`` is shown to the host as is."""

    default_code = "illegal_transition"


class MeetingStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    ENDED = "ended"


MEETING_STATUS_LABEL = {
    MeetingStatus.DRAFT: "未开始",
    MeetingStatus.LIVE: "进行中",
    MeetingStatus.ENDED: "已结束",
}


class ItemPhase(StrEnum):
    PENDING = "pending"
    REPORT = "report"
    INQUIRY = "inquiry"
    COMMENT = "comment"
    VOTING = "voting"
    DONE = "done"


PHASE_LABEL = {
    ItemPhase.PENDING: "待开始",
    ItemPhase.REPORT: "述法",
    ItemPhase.INQUIRY: "质询",
    ItemPhase.COMMENT: "点评",
    ItemPhase.VOTING: "测评",
    ItemPhase.DONE: "完成",
}

PHASE_ORDER: tuple[ItemPhase, ...] = (
    ItemPhase.PENDING,
    ItemPhase.REPORT,
    ItemPhase.INQUIRY,
    ItemPhase.COMMENT,
    ItemPhase.VOTING,
    ItemPhase.DONE,
)

# Phases that carry a countdown, with the defaults the brief asks for (seconds).
DEFAULT_DURATIONS: dict[ItemPhase, int] = {
    ItemPhase.REPORT: 600,
    ItemPhase.INQUIRY: 300,
    ItemPhase.COMMENT: 180,
    ItemPhase.VOTING: 120,
}

ACTIVE_PHASES = frozenset({ItemPhase.REPORT, ItemPhase.INQUIRY, ItemPhase.COMMENT, ItemPhase.VOTING})


def start_meeting(status: MeetingStatus) -> MeetingStatus:
    if status is not MeetingStatus.DRAFT:
        raise PhaseError(f"会议{MEETING_STATUS_LABEL[status]}，不能再次开始")
    return MeetingStatus.LIVE


def end_meeting(status: MeetingStatus, item_phases: list[ItemPhase]) -> MeetingStatus:
    if status is not MeetingStatus.LIVE:
        raise PhaseError(f"会议{MEETING_STATUS_LABEL[status]}，不能结束")
    if ItemPhase.VOTING in item_phases:
        raise PhaseError("仍有述法人处于测评中，请先结束测评")
    return MeetingStatus.ENDED


def open_item(status: MeetingStatus, phase: ItemPhase, other_phases: list[ItemPhase]) -> ItemPhase:
    """Bring a presenter on stage. Only one presenter is active at a time."""
    if status is not MeetingStatus.LIVE:
        raise PhaseError("会议尚未开始或已结束")
    if phase is not ItemPhase.PENDING:
        raise PhaseError(f"该述法人当前为「{PHASE_LABEL[phase]}」，不能重新开始")
    if any(p in ACTIVE_PHASES for p in other_phases):
        raise PhaseError("另一位述法人尚未完成，请先完成当前议程")
    return ItemPhase.REPORT


def next_phase(status: MeetingStatus, phase: ItemPhase) -> ItemPhase:
    """The next step for an active item; closing 测评 moves it to DONE."""
    if status is not MeetingStatus.LIVE:
        raise PhaseError("会议尚未开始或已结束")
    if phase is ItemPhase.PENDING:
        raise PhaseError("该述法人尚未开始，请先开始其述法")
    if phase is ItemPhase.DONE:
        raise PhaseError("该述法人的议程已完成")
    return PHASE_ORDER[PHASE_ORDER.index(phase) + 1]


def previous_phase(status: MeetingStatus, phase: ItemPhase, ballots_cast: int) -> ItemPhase:
    """One step back, for a host who advanced too early.

    A closed 测评 is final (its result is frozen), and an open 测评 that already
    holds ballots cannot be withdrawn either: voters believe their vote counted.
    """
    if status is not MeetingStatus.LIVE:
        raise PhaseError("会议尚未开始或已结束")
    if phase is ItemPhase.DONE:
        raise PhaseError("测评已结束，结果已冻结，不能回退")
    if phase is ItemPhase.VOTING and ballots_cast > 0:
        raise PhaseError(f"测评已收到 {ballots_cast} 张选票，不能回退")
    if phase in (ItemPhase.PENDING, ItemPhase.REPORT):
        raise PhaseError(f"「{PHASE_LABEL[phase]}」之前没有可回退的环节")
    return PHASE_ORDER[PHASE_ORDER.index(phase) - 1]


def check_can_vote(status: MeetingStatus, phase: ItemPhase) -> None:
    if status is not MeetingStatus.LIVE:
        raise PhaseError("会议未在进行中，不能投票", code="not_voting")
    if phase is not ItemPhase.VOTING:
        raise PhaseError(f"该述法人当前为「{PHASE_LABEL[phase]}」，尚未进入测评或测评已结束", code="not_voting")
