from __future__ import annotations

import pytest

from live.domain import timer
from live.domain.phases import PhaseError


def test_start_pause_resume_keeps_the_remaining_time() -> None:
    t = timer.start(600, now_ms=1_000)
    assert t.left_ms(61_000) == 540_000
    paused = timer.pause(t, 61_000)
    assert not paused.running and paused.remaining_ms == 540_000
    assert paused.left_ms(10_000_000) == 540_000  # a paused clock does not move
    resumed = timer.resume(paused, 100_000)
    assert resumed.ends_at_ms == 640_000
    with pytest.raises(PhaseError):
        timer.resume(resumed, 100_000)
    with pytest.raises(PhaseError):
        timer.pause(paused, 100_000)


def test_overrun_goes_negative_and_extend_counts_from_now() -> None:
    t = timer.start(60, now_ms=0)
    assert t.left_ms(90_000) == -30_000
    ext = timer.extend(t, 60, now_ms=90_000)
    assert ext.left_ms(90_000) == 60_000
    assert ext.duration_s == 120


def test_extend_paused_and_skip() -> None:
    paused = timer.pause(timer.start(60, 0), 10_000)
    ext = timer.extend(paused, 30, 20_000)
    assert not ext.running and ext.remaining_ms == 80_000
    assert timer.skip(ext, 0).left_ms(0) == 0
    with pytest.raises(PhaseError):
        timer.extend(paused, 0, 0)


def test_set_duration_bounds() -> None:
    assert timer.set_duration(120, 0).left_ms(0) == 120_000
    with pytest.raises(PhaseError):
        timer.set_duration(-1, 0)
    with pytest.raises(PhaseError):
        timer.start(timer.MAX_DURATION_S + 1, 0)


def test_apply_action_dispatches_every_button() -> None:
    t = timer.start(60, 0)
    assert not timer.apply_action(t, "pause", 0, 1000).running
    assert timer.apply_action(timer.pause(t, 0), "resume", 0, 0).running
    assert timer.apply_action(t, "extend", 30, 0).duration_s == 90
    assert timer.apply_action(t, "skip", 0, 0).remaining_ms == 0
    assert timer.apply_action(t, "set", 120, 0).duration_s == 120
    with pytest.raises(PhaseError, match="未知"):
        timer.apply_action(t, "explode", 0, 0)
