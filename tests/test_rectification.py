from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from live.domain.phases import PhaseError
from live.domain.rectification import (
    ACTORS,
    RECT_STATUS_LABEL,
    Escalation,
    RectificationError,
    RectStatus,
    add_months,
    allowed_targets,
    days_overdue,
    default_deadline,
    escalate,
    filter_problems,
    is_overdue,
    parse_status,
    summarise,
    transition,
)

S = RectStatus
FORWARD = {
    (S.PENDING, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.RECTIFIED),  # 申请销号
    (S.RECTIFIED, S.REVIEWED),  # 审核
    (S.REVIEWED, S.CLOSED),  # 确认销号
}
BACK = {(S.RECTIFIED, S.IN_PROGRESS), (S.REVIEWED, S.IN_PROGRESS), (S.CLOSED, S.IN_PROGRESS)}  # need a reason
LEGAL = FORWARD | BACK
# Who may take each step: the two closing steps and every reopening past 已整改 are the admin's.
BY = {
    (S.PENDING, S.IN_PROGRESS): {"host", "admin", "owner"},
    (S.IN_PROGRESS, S.RECTIFIED): {"host", "admin", "owner"},
    (S.RECTIFIED, S.REVIEWED): {"admin"},
    (S.REVIEWED, S.CLOSED): {"admin"},
    (S.RECTIFIED, S.IN_PROGRESS): {"host", "admin"},
    (S.REVIEWED, S.IN_PROGRESS): {"admin"},
    (S.CLOSED, S.IN_PROGRESS): {"admin"},
}


@dataclass
class P:
    presenter: str
    status: RectStatus | str
    deadline: date | None


def test_labels_are_the_chinese_flow() -> None:
    assert [s.label for s in RectStatus] == ["待整改", "整改中", "已整改", "已审核", "已销号"]
    assert RECT_STATUS_LABEL[S.CLOSED] == "已销号"


@pytest.mark.parametrize("src,dst", sorted(FORWARD))
def test_forward_steps(src: RectStatus, dst: RectStatus) -> None:
    change = transition(src, dst)
    assert (change.from_status, change.to_status, change.reason) == (src, dst, None)
    assert not change.is_reopen


@pytest.mark.parametrize(
    "src,dst", [(a, b) for a, b in itertools.product(RectStatus, RectStatus) if (a, b) not in LEGAL]
)
def test_every_illegal_step_is_refused(src: RectStatus, dst: RectStatus) -> None:
    with pytest.raises(RectificationError) as info:
        transition(src, dst, reason="有理由也不行", actor="admin")
    err = info.value
    assert isinstance(err, PhaseError) and isinstance(err, ValueError)
    assert err.message and err.code in {"illegal_transition", "already_closed", "no_change"}


def test_illegal_step_message_names_the_next_step() -> None:
    with pytest.raises(RectificationError) as info:
        transition(S.PENDING, S.CLOSED)
    assert "待整改" in info.value.message and "已销号" in info.value.message and "整改中" in info.value.message
    assert info.value.code == "illegal_transition"


def test_closed_reopens_only_by_an_admin_with_a_reason() -> None:
    for who in ("host", "owner"):
        with pytest.raises(RectificationError) as info:
            transition(S.CLOSED, S.IN_PROGRESS, reason="复查发现反弹", actor=who)
        assert info.value.code == "forbidden"
        assert allowed_targets(S.CLOSED, who) == ()
    with pytest.raises(RectificationError) as info:
        transition(S.CLOSED, S.IN_PROGRESS, actor="admin")
    assert info.value.code == "reason_required" and "重新打开" in info.value.message
    change = transition(S.CLOSED, S.IN_PROGRESS, reason="复查发现反弹", actor="admin")
    assert change.is_reopen and change.reason == "复查发现反弹"
    with pytest.raises(RectificationError) as info:
        transition(S.CLOSED, S.REVIEWED, actor="admin")
    assert info.value.code == "already_closed"


@pytest.mark.parametrize("src,dst", sorted(LEGAL))
@pytest.mark.parametrize("who", ACTORS)
def test_role_matrix_of_every_step(src: RectStatus, dst: RectStatus, who: str) -> None:
    reason = "复查未通过" if (src, dst) in BACK else None
    if who in BY[(src, dst)]:
        assert transition(src, dst, reason, actor=who).to_status is dst
        assert dst in allowed_targets(src, who)
    else:
        with pytest.raises(RectificationError) as info:
            transition(src, dst, reason, actor=who)
        assert info.value.code == "forbidden" and "管理员" in info.value.message
        assert dst not in allowed_targets(src, who)


def test_unknown_actor_is_refused() -> None:
    with pytest.raises(RectificationError):
        transition(S.PENDING, S.IN_PROGRESS, actor="recorder")


def test_escalation_goes_up_one_dated_step_at_a_time() -> None:
    due, today = date(2025, 4, 16), date(2025, 6, 1)
    step = escalate(0, S.IN_PROGRESS, due, target="提醒", on_date=date(2025, 4, 17), today=today, note="电话提醒")
    assert (step.level, step.level.label, step.note) == (Escalation.REMIND, "提醒", "电话提醒")
    step = escalate(1, S.PENDING, due, target="inquiry", on_date=date(2025, 5, 1), today=today, note="发函询问",
                    last_on=date(2025, 4, 17))
    assert step.level is Escalation.INQUIRY
    step = escalate(2, S.IN_PROGRESS, due, target=3, on_date=date(2025, 5, 1), today=today, note="挂牌",
                    last_on=date(2025, 5, 1))
    assert step.level.label == "挂牌督办"


@pytest.mark.parametrize(
    "level,status,target,on_date,note,last_on,code",
    [
        (0, S.IN_PROGRESS, "函询", date(2025, 5, 1), "跳级", None, "illegal_transition"),
        (1, S.IN_PROGRESS, "提醒", date(2025, 5, 1), "重复", None, "illegal_transition"),
        (3, S.IN_PROGRESS, "挂牌督办", date(2025, 5, 1), "到顶", None, "illegal_transition"),
        (0, S.RECTIFIED, "提醒", date(2025, 5, 1), "已整改", None, "illegal_transition"),
        (0, S.CLOSED, "提醒", date(2025, 5, 1), "已销号", None, "illegal_transition"),
        (0, S.IN_PROGRESS, "提醒", date(2025, 4, 16), "期限当天", None, "illegal_transition"),
        (0, S.IN_PROGRESS, "提醒", date(2025, 7, 1), "未来", None, "invalid"),
        (1, S.IN_PROGRESS, "函询", date(2025, 5, 1), "倒填", date(2025, 5, 2), "invalid"),
        (0, S.IN_PROGRESS, "提醒", date(2025, 5, 1), "  ", None, "reason_required"),
        (0, S.IN_PROGRESS, "约谈", date(2025, 5, 1), "未知", None, "invalid"),
    ],
)
def test_escalation_refusals(level: int, status: RectStatus, target: str, on_date: date, note: str,
                             last_on: date | None, code: str) -> None:
    with pytest.raises(RectificationError) as info:
        escalate(level, status, date(2025, 4, 16), target=target, on_date=on_date, today=date(2025, 6, 1),
                 note=note, last_on=last_on)
    assert info.value.code == code and info.value.message


def test_reopen_with_reason() -> None:
    change = transition("已整改", "整改中", reason="  复查发现问题仍存在  ")
    assert change.to_status is S.IN_PROGRESS and change.is_reopen
    assert change.reason == "复查发现问题仍存在"


@pytest.mark.parametrize("reason", [None, "", "   \n "])
def test_reopen_without_reason_is_refused(reason: str | None) -> None:
    with pytest.raises(RectificationError) as info:
        transition(S.RECTIFIED, S.IN_PROGRESS, reason=reason)
    assert info.value.code == "reason_required"
    assert "原因" in info.value.message


def test_reopen_reason_too_long() -> None:
    with pytest.raises(RectificationError) as info:
        transition(S.RECTIFIED, S.IN_PROGRESS, reason="长" * 501)
    assert info.value.code == "reason_too_long"


def test_allowed_targets_match_the_machine() -> None:
    for src in RectStatus:
        for who in ACTORS:
            targets = set(allowed_targets(src, who))
            assert targets == {dst for a, dst in LEGAL if a is src and who in BY[(a, dst)]}


def test_parse_status_accepts_values_and_labels() -> None:
    assert parse_status("in_progress") is S.IN_PROGRESS
    assert parse_status(" 已销号 ") is S.CLOSED
    with pytest.raises(RectificationError) as info:
        parse_status("完成")
    assert info.value.code == "unknown_status"


@pytest.mark.parametrize(
    "meeting,deadline",
    [
        (date(2024, 11, 29), date(2025, 2, 28)),
        (date(2024, 11, 30), date(2025, 2, 28)),
        (date(2023, 11, 30), date(2024, 2, 29)),  # leap year
        (date(2024, 8, 31), date(2024, 11, 30)),
        (date(2024, 10, 31), date(2025, 1, 31)),
        (date(2024, 12, 15), date(2025, 3, 15)),
        (date(2025, 1, 1), date(2025, 4, 1)),
    ],
)
def test_default_deadline_is_calendar_correct(meeting: date, deadline: date) -> None:
    assert default_deadline(meeting) == deadline


def test_default_deadline_drops_time_of_day() -> None:
    assert default_deadline(datetime(2024, 11, 30, 15, 30)) == date(2025, 2, 28)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9000, 1, 1)), st.integers(min_value=0, max_value=36))
def test_add_months_properties(day: date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day
    # Clamping only happens when the target month is too short.
    assert later.day == day.day or (later + timedelta(days=1)).day == 1


def test_overdue() -> None:
    due = date(2025, 2, 28)
    assert not is_overdue(P("甲", S.PENDING, due), date(2025, 2, 28))  # the deadline day is still in time
    assert is_overdue(P("甲", S.PENDING, due), date(2025, 3, 1))
    assert is_overdue(P("甲", "整改中", due), date(2025, 3, 1))
    assert not is_overdue(P("甲", S.RECTIFIED, due), date(2025, 3, 1))
    assert not is_overdue(P("甲", S.REVIEWED, due), date(2025, 3, 1))
    assert not is_overdue(P("甲", S.CLOSED, due), date(2026, 1, 1))
    assert not is_overdue(P("甲", S.PENDING, None), date(2030, 1, 1))
    assert days_overdue(P("甲", S.IN_PROGRESS, due), date(2025, 3, 10)) == 10
    assert days_overdue(P("甲", S.CLOSED, due), date(2025, 3, 10)) == 0


def _problems() -> list[P]:
    due = date(2025, 2, 28)
    return [
        P("张三", S.CLOSED, due),
        P("李四", S.PENDING, due),
        P("张三", S.IN_PROGRESS, due),
        P("张三", S.RECTIFIED, due),
        P("李四", S.IN_PROGRESS, date(2025, 6, 1)),
        P("张三", "pending", due),
    ]


def test_summary_per_presenter() -> None:
    today = date(2025, 3, 15)
    summary = {s.presenter: s for s in summarise(_problems(), today)}
    assert [s.presenter for s in summarise(_problems(), today)] == ["张三", "李四"]
    z = summary["张三"]
    assert (z.total, z.closed, z.rectified, z.open, z.overdue) == (4, 1, 1, 2, 2)
    assert z.closure_rate == 0.25
    li = summary["李四"]
    assert (li.total, li.closed, li.rectified, li.open, li.overdue) == (2, 0, 0, 2, 1)
    assert li.to_dict()["closure_rate"] == 0.0
    assert summarise([], today) == []


def test_filter_problems() -> None:
    items = _problems()
    today = date(2025, 3, 15)
    assert len(filter_problems(items, today)) == 6
    assert len(filter_problems(items, today, presenter="张三")) == 4
    assert len(filter_problems(items, today, status="整改中")) == 2
    late = filter_problems(items, today, overdue=True)
    assert len(late) == 3 and all(is_overdue(p, today) for p in late)
    assert len(filter_problems(items, today, presenter="李四", overdue=False)) == 1
