"""Paper ballots (双轨制): the figures keyed in from a paper 测评表, checked against the
scheme, compared between the two people who key them, and turned into ballots.

A rubric (百分制) sheet is keyed one sheet at a time: its figures are a choice like a
phone's (``{"scores": {...}}`` or ``{"abstain": true}``). Satisfaction and grade sheets
are keyed as counts per option for a bundle of sheets:
``{"counts": {"满意": 12, ...}, "abstain": 1}``. Either way the figures carry the voter
group they are entered into. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from live.domain.errors import DomainError
from live.domain.scheme import BallotError, BallotKind, Scheme, validate_choice

MAX_SHEETS_PER_ENTRY = 5000  # one bundle of counted sheets
SHEET_LABEL = re.compile(r"[0-9A-Za-z\u4e00-\u9fff_\-]{1,20}")


class PaperError(DomainError):
    default_code = "invalid_paper"


def entry_kind(scheme: Scheme) -> str:
    """``ballot`` (one rubric sheet) or ``counts`` (a bundle of option sheets)."""
    return "ballot" if scheme.kind is BallotKind.RUBRIC else "counts"


def check_sheet(sheet: object) -> str:
    if not isinstance(sheet, str) or not SHEET_LABEL.fullmatch(sheet.strip()):
        raise PaperError("表号（或批次号）应为 1 至 20 个字，只含汉字、字母、数字、- 或 _")
    return sheet.strip()


def canonical_figures(scheme: Scheme, group: object, raw: object) -> dict[str, Any]:
    """The figures of one entry in a canonical form, so that two entries of the same
    sheet compare equal exactly when every figure is the same."""
    if not isinstance(group, str) or scheme.group(group) is None:
        allowed = "、".join(f"{g.label}（{g.key}）" for g in scheme.groups)
        raise PaperError(f"未知的投票组「{str(group)[:40]}」，可选：{allowed}")
    if not isinstance(raw, dict):
        raise PaperError("录入内容格式错误：应为对象")
    if scheme.kind is BallotKind.RUBRIC:
        choice = raw.get("choice")
        if set(raw) != {"choice"}:
            raise PaperError("百分制测评表应逐张录入各评分项（choice）")
        try:
            return {"group": group, "choice": validate_choice(scheme, choice)}
        except BallotError as exc:
            raise PaperError(exc.message) from exc
    if not set(raw) <= {"counts", "abstain"} or not isinstance(raw.get("counts"), dict):
        raise PaperError("满意度、等次测评表应按选项录入张数（counts）")
    counts = raw["counts"]
    unknown = [k for k in counts if scheme.option(str(k)) is None]
    if unknown:
        allowed = "、".join(o.key for o in scheme.options)
        raise PaperError(f"未知选项「{str(unknown[0])[:20]}」，可选：{allowed}")
    out: dict[str, int] = {}
    for o in scheme.options:
        out[o.key] = _count(counts.get(o.key, 0), o.key)
    abstain = _count(raw.get("abstain", 0), "弃权")
    if abstain and not scheme.allow_abstain:
        raise PaperError("本次测评不允许弃权")
    total = sum(out.values()) + abstain
    if total < 1:
        raise PaperError("至少录入一张测评表")
    if total > MAX_SHEETS_PER_ENTRY:
        raise PaperError(f"一次最多录入 {MAX_SHEETS_PER_ENTRY} 张，请分批录入")
    return {"group": group, "counts": out, "abstain": abstain}


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SHEETS_PER_ENTRY:
        raise PaperError(f"「{name}」的张数应为 0 至 {MAX_SHEETS_PER_ENTRY} 的整数")
    return value


def differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every figure that differs between two entries of one sheet, named for people."""
    out: list[dict[str, Any]] = []

    def add(name: str, a: object, b: object) -> None:
        if a != b:
            out.append({"field": name, "first": a, "second": b})

    add("投票组", first.get("group"), second.get("group"))
    if "counts" in first or "counts" in second:
        a_counts, b_counts = first.get("counts") or {}, second.get("counts") or {}
        for key in [*a_counts, *(k for k in b_counts if k not in a_counts)]:
            add(key, a_counts.get(key), b_counts.get(key))
        add("弃权", first.get("abstain"), second.get("abstain"))
        return out
    a, b = first.get("choice") or {}, second.get("choice") or {}
    add("弃权", bool(a.get("abstain")), bool(b.get("abstain")))
    a_scores, b_scores = a.get("scores") or {}, b.get("scores") or {}
    for key in [*a_scores, *(k for k in b_scores if k not in a_scores)]:
        add(key, a_scores.get(key), b_scores.get(key))
    return out


def ballot_choices(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ballots one confirmed entry becomes: one per paper sheet."""
    if "choice" in figures:
        return [dict(figures["choice"])]
    out: list[dict[str, Any]] = []
    for key, n in figures["counts"].items():
        out += [{"option": key} for _ in range(int(n))]
    out += [{"abstain": True} for _ in range(int(figures.get("abstain", 0)))]
    return out


def sheets(figures: Mapping[str, Any]) -> int:
    if "choice" in figures:
        return 1
    return sum(int(n) for n in figures["counts"].values()) + int(figures.get("abstain", 0))
