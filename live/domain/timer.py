"""Phase countdowns as plain values.

A running timer is stored as its end instant and a paused one as what is left,
so every screen can draw the same countdown from one message and its own clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from live.domain.phases import PhaseError

MAX_DURATION_S = 4 * 3600


@dataclass(frozen=True)
class Timer:
    duration_s: int = 0
    running: bool = False
    ends_at_ms: int | None = None
    remaining_ms: int = 0

    def left_ms(self, now_ms: int) -> int:
        """Milliseconds left; negative once overrun, so the screen can show 超时."""
        if self.running and self.ends_at_ms is not None:
            return self.ends_at_ms - now_ms
        return self.remaining_ms

    def to_dict(self) -> dict[str, int | bool | None]:
        return {
            "duration_s": self.duration_s,
            "running": self.running,
            "ends_at_ms": self.ends_at_ms,
            "remaining_ms": self.remaining_ms,
        }


def start(duration_s: int, now_ms: int) -> Timer:
    _check_seconds(duration_s)
    return Timer(duration_s=duration_s, running=True, ends_at_ms=now_ms + duration_s * 1000,
                 remaining_ms=duration_s * 1000)


def stopped() -> Timer:
    return Timer()


def pause(t: Timer, now_ms: int) -> Timer:
    if not t.running:
        raise PhaseError("计时器已暂停")
    return replace(t, running=False, ends_at_ms=None, remaining_ms=t.left_ms(now_ms))


def resume(t: Timer, now_ms: int) -> Timer:
    if t.running:
        raise PhaseError("计时器正在运行")
    return replace(t, running=True, ends_at_ms=now_ms + t.remaining_ms)


def extend(t: Timer, seconds: int, now_ms: int) -> Timer:
    if seconds <= 0 or seconds > MAX_DURATION_S:
        raise PhaseError("延长时间须为 1 秒至 4 小时")
    left = t.left_ms(now_ms)
    base = max(left, 0)  # extending an overrun timer counts from now, not from the past deadline
    new_left = base + seconds * 1000
    if t.running:
        return replace(t, duration_s=t.duration_s + seconds, ends_at_ms=now_ms + new_left, remaining_ms=new_left)
    return replace(t, duration_s=t.duration_s + seconds, remaining_ms=new_left)


def skip(t: Timer, now_ms: int) -> Timer:
    """End the countdown now; the phase itself is left to the host."""
    return replace(t, running=False, ends_at_ms=None, remaining_ms=0)


def set_duration(seconds: int, now_ms: int, running: bool = True) -> Timer:
    t = start(seconds, now_ms)
    return t if running else pause(t, now_ms)


def _check_seconds(seconds: int) -> None:
    if seconds < 0 or seconds > MAX_DURATION_S:
        raise PhaseError("计时须为 0 秒至 4 小时")


def apply_action(t: Timer, action: str, seconds: int, now_ms: int) -> Timer:
    """One of the console's timer buttons, for any countdown (a phase, an answer)."""
    if action == "pause":
        return pause(t, now_ms)
    if action == "resume":
        return resume(t, now_ms)
    if action == "extend":
        return extend(t, seconds, now_ms)
    if action == "skip":
        return skip(t, now_ms)
    if action == "set":
        return set_duration(seconds, now_ms, running=True)
    raise PhaseError(f"未知的计时操作：{action}")
