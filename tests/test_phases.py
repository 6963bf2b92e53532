from __future__ import annotations

import pytest

from live.domain import phases
from live.domain.phases import ItemPhase, MeetingStatus, PhaseError

LIVE = MeetingStatus.LIVE


def test_full_walk_through_every_phase() -> None:
    phase = phases.open_item(LIVE, ItemPhase.PENDING, [ItemPhase.PENDING, ItemPhase.DONE])
    seen = [phase]
    while phase is not ItemPhase.DONE:
        phase = phases.next_phase(LIVE, phase)
        seen.append(phase)
    assert seen == [ItemPhase.REPORT, ItemPhase.INQUIRY, ItemPhase.COMMENT, ItemPhase.VOTING, ItemPhase.DONE]
    assert [phases.PHASE_LABEL[p] for p in seen] == ["述法", "质询", "点评", "测评", "完成"]


def test_meeting_lifecycle() -> None:
    assert phases.start_meeting(MeetingStatus.DRAFT) is LIVE
    with pytest.raises(PhaseError, match="不能再次开始"):
        phases.start_meeting(LIVE)
    assert phases.end_meeting(LIVE, [ItemPhase.DONE, ItemPhase.PENDING]) is MeetingStatus.ENDED
    with pytest.raises(PhaseError, match="测评中"):
        phases.end_meeting(LIVE, [ItemPhase.VOTING])
    with pytest.raises(PhaseError):
        phases.end_meeting(MeetingStatus.DRAFT, [])


def test_only_one_presenter_at_a_time() -> None:
    with pytest.raises(PhaseError, match="尚未完成"):
        phases.open_item(LIVE, ItemPhase.PENDING, [ItemPhase.INQUIRY])
    with pytest.raises(PhaseError, match="不能重新开始"):
        phases.open_item(LIVE, ItemPhase.DONE, [])
    with pytest.raises(PhaseError, match="尚未开始"):
        phases.open_item(MeetingStatus.DRAFT, ItemPhase.PENDING, [])


def test_next_is_refused_before_open_and_after_done() -> None:
    with pytest.raises(PhaseError, match="请先开始"):
        phases.next_phase(LIVE, ItemPhase.PENDING)
    with pytest.raises(PhaseError, match="已完成"):
        phases.next_phase(LIVE, ItemPhase.DONE)
    with pytest.raises(PhaseError):
        phases.next_phase(MeetingStatus.ENDED, ItemPhase.REPORT)


@pytest.mark.parametrize(("phase", "expected"), [
    (ItemPhase.INQUIRY, ItemPhase.REPORT),
    (ItemPhase.COMMENT, ItemPhase.INQUIRY),
    (ItemPhase.VOTING, ItemPhase.COMMENT),
])
def test_back_one_step(phase: ItemPhase, expected: ItemPhase) -> None:
    assert phases.previous_phase(LIVE, phase, ballots_cast=0) is expected


def test_back_past_closed_or_used_voting_is_refused() -> None:
    with pytest.raises(PhaseError, match="结果已冻结"):
        phases.previous_phase(LIVE, ItemPhase.DONE, 0)
    with pytest.raises(PhaseError, match="3 张选票"):
        phases.previous_phase(LIVE, ItemPhase.VOTING, 3)
    with pytest.raises(PhaseError):
        phases.previous_phase(LIVE, ItemPhase.REPORT, 0)
    with pytest.raises(PhaseError):
        phases.previous_phase(LIVE, ItemPhase.PENDING, 0)


def test_voting_only_in_voting_phase() -> None:
    phases.check_can_vote(LIVE, ItemPhase.VOTING)
    for p in ItemPhase:
        if p is ItemPhase.VOTING:
            continue
        with pytest.raises(PhaseError) as info:
            phases.check_can_vote(LIVE, p)
        assert info.value.code == "not_voting"
    with pytest.raises(PhaseError):
        phases.check_can_vote(MeetingStatus.ENDED, ItemPhase.VOTING)
