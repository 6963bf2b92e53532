"""The 整改 office in the store: owners' reports with attachments, escalation of overdue
problems, and the owner's link version.

Every change is a writer command (audited like the rest). An owner's attachment is a
file under ``{data_dir}/attachments/{problem_id}/`` written before the command runs
(and removed again if the command is refused); the database keeps its description.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from live.domain import rectification as rect
from live.domain.attachments import MAX_ATTACHMENTS_PER_REPORT, CheckedFile
from live.domain.bulletin import BulletinProblem
from live.domain.phases import PhaseError
from live.store.commands import Command, CommandOutcome, _meeting
from live.store.models import Problem, ProblemAttachment, ProgressNote
from live.store.problems import MAX_NOTE_CHARS, _date, _problem, _text, apply_step, meeting_date, problem_views

ATTACHMENT_DIR = "attachments"


# --- files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    filename: str
    media_type: str
    size: int
    sha256: str
    stored_name: str

    def as_arg(self) -> dict[str, Any]:
        return {"filename": self.filename, "media_type": self.media_type, "size": self.size,
                "sha256": self.sha256, "stored_name": self.stored_name}


def attachment_dir(data_dir: Path, problem_id: int) -> Path:
    return Path(data_dir) / ATTACHMENT_DIR / str(int(problem_id))


def save_file(data_dir: Path, problem_id: int, checked: CheckedFile, data: bytes) -> StoredFile:
    """Write one checked file under a random name (never the uploader's), readable by the owner of the process only."""
    folder = attachment_dir(data_dir, problem_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stored = f"{secrets.token_hex(16)}.{checked.extension}"
    tmp = folder / f".{stored}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(folder / stored)
    return StoredFile(checked.filename, checked.media_type, checked.size, hashlib.sha256(data).hexdigest(), stored)


def remove_files(data_dir: Path, problem_id: int, files: list[StoredFile]) -> None:
    for f in files:
        (attachment_dir(data_dir, problem_id) / f.stored_name).unlink(missing_ok=True)


def attachment_path(data_dir: Path, a: ProblemAttachment) -> Path:
    name = Path(a.stored_name).name  # written by save_file; never a path
    return attachment_dir(data_dir, a.problem_id) / name


# --- commands ---------------------------------------------------------------------------------


def _file_rows(p: Problem, note: ProgressNote, raw: object, actor: str, now_ms: int) -> list[ProblemAttachment]:
    if not isinstance(raw, list) or len(raw) > MAX_ATTACHMENTS_PER_REPORT:
        raise PhaseError(f"每次报送最多 {MAX_ATTACHMENTS_PER_REPORT} 个附件", code="invalid")
    rows = []
    for f in raw:
        assert p.id is not None
        rows.append(ProblemAttachment(problem_id=p.id, note_id=note.id, filename=str(f["filename"]),
                                      media_type=str(f["media_type"]), size=int(f["size"]),
                                      sha256=str(f["sha256"]), stored_name=str(f["stored_name"]),
                                      author=actor, created_at_ms=now_ms))
    return rows


def report(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """An owner's (or host's) progress report: a dated note with attachments. A report on a
    problem still 待整改 starts it (整改中); ``request_close`` asks for 销号 (已整改)."""
    _meeting(s, meeting_id)
    p = _problem(s, meeting_id, args["problem_id"])
    actor = str(args.get("author") or "owner")
    status = rect.parse_status(p.status)
    if status is rect.RectStatus.CLOSED:
        raise PhaseError("该问题已销号，不能再报送进展", code="already_closed")
    on_date = _date(args.get("on_date"), "日期") or date.today()
    if on_date > date.today():
        raise PhaseError("报送日期不能晚于今天", code="invalid")
    text = _text(args.get("text"), MAX_NOTE_CHARS, "整改进展", multiline=True)
    request_close = args.get("request_close") is True
    if request_close and status in (rect.RectStatus.RECTIFIED, rect.RectStatus.REVIEWED):
        raise PhaseError("已申请销号，正在等待组织单位审核", code="no_change")
    if status is rect.RectStatus.PENDING:
        apply_step(s, p, rect.RectStatus.IN_PROGRESS.value, actor=actor, reason=None, text="",
                   evidence="", on_date=on_date, now_ms=now_ms)
    if request_close:
        note = apply_step(s, p, rect.RectStatus.RECTIFIED.value, actor=actor, reason=None, text=text,
                          evidence="", on_date=on_date, now_ms=now_ms)
    else:
        assert p.id is not None
        note = ProgressNote(problem_id=p.id, on_date=on_date, text=text, author=actor, created_at_ms=now_ms)
        p.updated_at_ms = now_ms
        s.add(p)
        s.add(note)
        s.flush()
    files = _file_rows(p, note, args.get("attachments") or [], actor, now_ms)
    for row in files:
        s.add(row)
    s.flush()
    return CommandOutcome([], {"problem_id": p.id, "status": p.status, "note_id": note.id,
                               "attachments": [a.id for a in files]})


def escalate(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """One dated 督办 step (提醒 → 函询 → 挂牌督办) of an overdue problem, with its note."""
    _meeting(s, meeting_id)
    p = _problem(s, meeting_id, args["problem_id"])
    on_date = _date(args.get("on_date"), "督办日期") or date.today()
    step = rect.escalate(p.escalation, p.status, p.deadline, target=args.get("level", ""), on_date=on_date,
                         today=date.today(), note=str(args.get("note") or ""), last_on=p.escalated_on)
    p.escalation, p.escalated_on, p.updated_at_ms = int(step.level), step.on_date, now_ms
    s.add(p)
    assert p.id is not None
    note = ProgressNote(problem_id=p.id, on_date=step.on_date, text=f"{step.level.label}：{step.note}",
                        author=str(args.get("author") or "admin"), escalation=int(step.level), created_at_ms=now_ms)
    s.add(note)
    s.flush()
    return CommandOutcome([], {"problem_id": p.id, "escalation": p.escalation, "note_id": note.id})


def rotate_owner_link(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """A new owner link; the printed one stops working."""
    _meeting(s, meeting_id)
    p = _problem(s, meeting_id, args["problem_id"])
    p.owner_link_version += 1
    p.updated_at_ms = now_ms
    s.add(p)
    return CommandOutcome([], {"problem_id": p.id, "owner_link_version": p.owner_link_version})


# --- reads ------------------------------------------------------------------------------------


def attachment_dict(a: ProblemAttachment) -> dict[str, Any]:
    return {"id": a.id, "note_id": a.note_id, "filename": a.filename, "media_type": a.media_type, "size": a.size,
            "sha256": a.sha256, "author": a.author, "created_at_ms": a.created_at_ms}


def attachments_of(s: Session, problem_id: int) -> list[ProblemAttachment]:
    return list(s.exec(select(ProblemAttachment).where(ProblemAttachment.problem_id == problem_id)
                       .order_by(col(ProblemAttachment.id))).all())


def attachment(s: Session, problem_id: int, attachment_id: int) -> ProblemAttachment | None:
    a = s.get(ProblemAttachment, attachment_id)
    return a if a is not None and a.problem_id == problem_id else None


def bulletin_problems(s: Session) -> list[BulletinProblem]:
    """Every problem as the weekly 通报 needs it; the unit is the owner (责任单位), else the presenter's unit."""
    views = problem_views(s)
    ids = [v.problem.id for v in views if v.problem.id is not None]
    steps: dict[int, list[tuple[int, date]]] = {}
    if ids:
        for n in s.exec(select(ProgressNote).where(col(ProgressNote.problem_id).in_(ids),
                                                   col(ProgressNote.escalation).is_not(None))).all():
            steps.setdefault(n.problem_id, []).append((int(n.escalation or 0), n.on_date))
    out = []
    for v in views:
        p = v.problem
        created = datetime.fromtimestamp(p.created_at_ms / 1000).date() if p.created_at_ms else meeting_date(v.meeting)
        out.append(BulletinProblem(unit=p.owner.strip() or v.item.presenter_unit, presenter=v.presenter,
                                   meeting_title=v.meeting.title, description=p.description, created_on=created,
                                   deadline=p.deadline, status=p.status, closed_on=p.closed_on,
                                   escalations=tuple(steps.get(p.id or 0, []))))
    return out


COMMANDS: dict[str, Command] = {
    "problem.report": report,
    "problem.escalate": escalate,
    "problem.owner_link": rotate_owner_link,
}
