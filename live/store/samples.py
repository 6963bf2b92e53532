"""Per-minute interaction samples: written by each worker through the writer, read as one series.

Combining workers: each worker counts only its own sockets and the likes it took, and
writes one row per minute (``interaction_sample``, unique per meeting, minute and
worker). A socket is held by exactly one worker, so the meeting's online count for a
minute is the sum of its workers' rows, and so are its likes; a worker with nobody
connected and no likes writes nothing (it adds zero). Every worker takes its sample
at the same wall-clock minute boundary (within one hub tick, 0.25 s), so the sum is a
count at one moment, not a sum of peaks taken at different moments.

Comments and questions already have a row each with its time; their per-minute counts
are read from those rows here, which is exact whichever worker took them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from live.domain.errors import ErrorCode, LiveError
from live.store.commands import Command, CommandOutcome
from live.store.models import Comment, InteractionSample, Meeting, Question

MINUTE_MS = 60_000
ROLES = ("audience", "screens", "panel", "hosts")
MAX_SERIES_MINUTES = 24 * 60  # a longer span lists only the minutes that have something
# Questions put during the meeting; imported ones (12345热线, 信箱) were collected before it.
LIVE_ORIGINS = ("panel", "public")


def _count(args: dict[str, Any], key: str) -> int:
    value = args.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
        raise LiveError(f"采样字段 {key} 应为非负整数", ErrorCode.INVALID, status=400)
    return value


def add_sample(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Store one worker's minute; a second sample of the same minute (a retry, a restart)
    replaces the online counts and adds its likes."""
    worker = args.get("worker")
    minute = args.get("minute_ms")
    if not isinstance(worker, str) or not 0 < len(worker) <= 40:
        raise LiveError("采样缺少工作进程标识", ErrorCode.INVALID, status=400)
    if isinstance(minute, bool) or not isinstance(minute, int) or minute < 0 or minute % MINUTE_MS:
        raise LiveError("采样时间应为整分钟的毫秒数", ErrorCode.INVALID, status=400)
    if s.get(Meeting, meeting_id) is None:
        raise LiveError("会议不存在", ErrorCode.NOT_FOUND, status=404)
    counts = {k: _count(args, k) for k in (*ROLES, "likes")}
    row = s.exec(select(InteractionSample).where(InteractionSample.meeting_id == meeting_id,
                                                 InteractionSample.minute_ms == minute,
                                                 InteractionSample.worker == worker).with_for_update()).first()
    if row is None:
        s.add(InteractionSample(meeting_id=meeting_id, minute_ms=minute, worker=worker, created_at_ms=now_ms,
                                **counts))
    else:
        for k in ROLES:
            setattr(row, k, counts[k])
        row.likes += counts["likes"]
        s.add(row)
    return CommandOutcome([], {"minute_ms": minute})


COMMANDS: dict[str, Command] = {"interaction.sample": add_sample}


@dataclass(frozen=True)
class MinuteRow:
    minute_ms: int
    audience: int = 0
    screens: int = 0
    panel: int = 0
    hosts: int = 0
    likes: int = 0
    comments: int = 0
    questions: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _per_minute(s: Session, model: type[Comment] | type[Question], meeting_id: int,
                *where: Any) -> dict[int, int]:
    bucket = col(model.created_at_ms) // MINUTE_MS  # integer division on SQLite and PostgreSQL alike
    rows = s.exec(select(bucket, func.count()).where(col(model.meeting_id) == meeting_id, *where)
                  .group_by(bucket)).all()
    return {int(b) * MINUTE_MS: int(n) for b, n in rows}


def minute_series(s: Session, meeting_id: int) -> list[MinuteRow]:
    """The meeting minute by minute: online sockets and likes summed over the workers' samples,
    comments and live questions counted from their rows. Minutes with nothing between the
    first and the last are listed with zeros (up to a day; past that only minutes with data)."""
    sums: dict[int, dict[str, int]] = {}
    for r in s.exec(select(InteractionSample).where(InteractionSample.meeting_id == meeting_id)).all():
        acc = sums.setdefault(r.minute_ms, {})
        for k in (*ROLES, "likes"):
            acc[k] = acc.get(k, 0) + int(getattr(r, k))
    for minute, n in _per_minute(s, Comment, meeting_id).items():
        sums.setdefault(minute, {})["comments"] = n
    for minute, n in _per_minute(s, Question, meeting_id, col(Question.origin).in_(LIVE_ORIGINS)).items():
        sums.setdefault(minute, {})["questions"] = n
    if not sums:
        return []
    first, last = min(sums), max(sums)
    span = (last - first) // MINUTE_MS + 1
    minutes = range(first, last + 1, MINUTE_MS) if span <= MAX_SERIES_MINUTES else sorted(sums)
    return [MinuteRow(m, **sums.get(m, {})) for m in minutes]


__all__ = ["COMMANDS", "LIVE_ORIGINS", "MINUTE_MS", "MinuteRow", "add_sample", "minute_series"]
