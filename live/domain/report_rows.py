"""The rows the reports print: the 法治体检单 (checkup) and the 问题清单 (整改) rows.

Plain frozen dataclasses with no dependency beyond the standard library and the
domain, so the store can build them without importing the report renderers
(reportlab, python-docx); live/reports renders them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from live.domain.rectification import RectStatus


@dataclass(frozen=True)
class CheckupScore:
    """测评 results as scoring produced them. Strings are printed as given;
    ``satisfaction_rate`` as a number is a fraction (0.9524 → 95.24%)."""

    total: Decimal | float | str | None = None
    grade: str = ""
    satisfaction_rate: Decimal | float | str | None = None
    rank: int | None = None
    rank_of: int | None = None
    digest: str = ""
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CheckupQuestion:
    text: str
    source: str = ""
    asker: str = ""
    answered: bool = False
    # Put to the presenter (picked 正在质询 or answered); False: received but not reached.
    asked: bool = True


@dataclass(frozen=True)
class CheckupProblem:
    description: str
    category: str = ""
    source: str = "点评"
    # None means the default: three months after the meeting.
    deadline: date | None = None
    owner: str = ""  # 责任单位
    link: str = ""  # the owner's personal 整改报送 link, printed only when asked for


@dataclass(frozen=True)
class CheckupData:
    meeting_title: str
    meeting_date: date
    presenter_name: str
    presenter_post: str = ""
    presenter_unit: str = ""
    score: CheckupScore | None = None
    questions: Sequence[CheckupQuestion] = ()
    comment: str = ""
    commenter: str = ""
    problems: Sequence[CheckupProblem] = ()
    issuer: str = ""
    issued_on: date | None = None
    # More label/value lines for the head table (述法形式, 届次, …), in order.
    extra: Mapping[str, str] = field(default_factory=dict)
    # The meeting record root (live.domain.record): printed so the sheet can be checked with live verify.
    record_root: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckupData:
        """Build from JSON-like data (dates as ISO strings)."""
        score = d.get("score")
        return cls(
            meeting_title=str(d["meeting_title"]),
            meeting_date=as_date(d["meeting_date"]),
            presenter_name=str(d["presenter_name"]),
            presenter_post=str(d.get("presenter_post") or ""),
            presenter_unit=str(d.get("presenter_unit") or ""),
            score=None if not score else CheckupScore(
                total=score.get("total"),
                grade=str(score.get("grade") or ""),
                satisfaction_rate=score.get("satisfaction_rate"),
                rank=score.get("rank"),
                rank_of=score.get("rank_of"),
                digest=str(score.get("digest") or ""),
                details=tuple((str(k), str(v)) for k, v in score.get("details", ())),
            ),
            questions=tuple(
                CheckupQuestion(str(q["text"]), str(q.get("source") or ""), str(q.get("asker") or ""),
                                bool(q.get("answered", False)), bool(q.get("asked", True)))
                for q in d.get("questions", ())
            ),
            comment=str(d.get("comment") or ""),
            commenter=str(d.get("commenter") or ""),
            problems=tuple(
                CheckupProblem(str(p["description"]), str(p.get("category") or ""),
                               str(p.get("source") or "点评"),
                               as_date(p["deadline"]) if p.get("deadline") else None)
                for p in d.get("problems", ())
            ),
            issuer=str(d.get("issuer") or ""),
            issued_on=as_date(d["issued_on"]) if d.get("issued_on") else None,
            extra={str(k): str(v) for k, v in (d.get("extra") or {}).items()},
            record_root=str(d.get("record_root") or ""),
        )


def as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class ProblemRow:
    """One problem as exported; it also fits the rectification helpers (status, deadline, presenter)."""

    meeting_title: str
    meeting_date: date | None
    presenter: str
    unit: str
    description: str
    category: str
    source: str
    owner: str
    deadline: date | None
    status: RectStatus | str
    latest_note: str = ""
    updated_on: date | None = None
