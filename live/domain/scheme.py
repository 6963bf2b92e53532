"""测评 schemes and ballot validation.

A scheme says what a ballot looks like (satisfaction, grade or 百分制 rubric),
which voter groups may vote and how much each weighs. Choices are plain JSON
objects so they store, travel and export unchanged:

- ``{"option": "满意"}`` for satisfaction and grade ballots;
- ``{"scores": {"依法决策": "24", ...}}`` for a rubric ballot (canonical form:
  every score a decimal string without exponent or trailing zeros);
- ``{"abstain": true}`` for an abstention (counted, never averaged).

The rules and defaults are explained in docs/scoring.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Context, Decimal, Inexact, InvalidOperation
from enum import StrEnum
from typing import Any

from live.domain.errors import DomainError


class BallotError(DomainError):
    """A ballot (or a scheme) that does not fit; nothing of it is stored."""

    default_code = "invalid_ballot"


class BallotKind(StrEnum):
    SATISFACTION = "satisfaction"
    GRADE = "grade"
    RUBRIC = "rubric"


PANEL = "panel"
PUBLIC = "public"
SOURCES = (PANEL, PUBLIC)

PANEL_CATEGORIES: tuple[str, ...] = ("人大代表", "政协委员", "政府法律顾问", "法学专家", "律师", "行业群众代表")

# Rubric scores are given to one decimal place at most (24.5 is fine, 24.55 is not).
RUBRIC_STEP = Decimal("0.1")
FULL_MARKS = Decimal(100)

# A plain decimal literal: what a rubric score may look like when sent as a string.
# Decimal() alone would also take "1e1", "2_4", " 24" and "NaN".
_NUMBER_TEXT = re.compile(r"\d{1,6}(\.\d{1,6})?")


def decimal_str(value: Decimal) -> str:
    """The canonical text of a decimal: no exponent, no trailing zeros, no "-0".

    Used wherever a number is serialised (schemes, choices, results, digests), so
    that equal values always produce equal text.
    """
    if value == 0:
        return "0"
    # format(..., "f") is exact whatever the context precision; normalize() is not.
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@dataclass(frozen=True)
class Option:
    key: str
    score: Decimal
    # Counts toward the satisfaction rate (满意, 基本满意; 好, 较好).
    satisfied: bool = False


@dataclass(frozen=True)
class Criterion:
    key: str
    max: Decimal


@dataclass(frozen=True)
class Group:
    """A voter group. ``source`` is ``panel`` or ``public``; a panel group may be
    narrowed to some categories so the panel can be split (人大代表, 律师, …), and a
    public group to some 群体 (群众代表, 干部职工, …), which ticket batches and roster
    voters carry. A public group without categories admits every public voter."""

    key: str
    label: str
    source: str
    weight: Decimal
    min_ballots: int = 1
    categories: tuple[str, ...] = ()

    def admits(self, voter_kind: str, category: str | None) -> bool:
        if voter_kind != self.source:
            return False
        return not self.categories or (category is not None and category in self.categories)


@dataclass(frozen=True)
class Band:
    label: str
    min_score: Decimal


@dataclass(frozen=True)
class Scheme:
    kind: BallotKind
    options: tuple[Option, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    groups: tuple[Group, ...] = ()
    trim_k: int = 1
    bands: tuple[Band, ...] = field(default_factory=tuple)
    allow_abstain: bool = True

    def option(self, key: str) -> Option | None:
        for o in self.options:
            if o.key == key:
                return o
        return None

    def group(self, key: str) -> Group | None:
        for g in self.groups:
            if g.key == key:
                return g
        return None

    def group_for(self, voter_kind: str, category: str | None) -> Group | None:
        """The group a voter's ballot counts in, or None when they may not vote."""
        for g in self.groups:
            if g.admits(voter_kind, category):
                return g
        return None

    def band_for(self, score: Decimal) -> Band | None:
        """The highest band whose minimum the score reaches."""
        best: Band | None = None
        for b in self.bands:
            if score >= b.min_score and (best is None or b.min_score > best.min_score):
                best = b
        return best

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "options": [
                {"key": o.key, "score": decimal_str(o.score), "satisfied": o.satisfied} for o in self.options
            ],
            "criteria": [{"key": c.key, "max": decimal_str(c.max)} for c in self.criteria],
            "groups": [
                {
                    "key": g.key,
                    "label": g.label,
                    "source": g.source,
                    "weight": decimal_str(g.weight),
                    "min_ballots": g.min_ballots,
                    "categories": list(g.categories),
                }
                for g in self.groups
            ],
            "trim_k": self.trim_k,
            "bands": [{"label": b.label, "min_score": decimal_str(b.min_score)} for b in self.bands],
            "allow_abstain": self.allow_abstain,
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Scheme:
        """Parse a stored or exported scheme. Shape errors only; see check_scheme for the rules."""
        try:
            if not isinstance(d, Mapping):
                raise TypeError("应为对象")
            return Scheme(
                kind=BallotKind(d["kind"]),
                options=tuple(
                    Option(_text(o["key"]), _decimal(o["score"]), _flag(o.get("satisfied", False)))
                    for o in _list(d.get("options", []))
                ),
                criteria=tuple(
                    Criterion(_text(c["key"]), _decimal(c["max"])) for c in _list(d.get("criteria", []))
                ),
                groups=tuple(
                    Group(
                        _text(g["key"]),
                        _text(g.get("label", g["key"])),
                        _text(g["source"]),
                        _decimal(g["weight"]),
                        _integer(g.get("min_ballots", 1)),
                        tuple(_text(c) for c in _list(g.get("categories", []))),
                    )
                    for g in _list(d.get("groups", []))
                ),
                trim_k=_integer(d.get("trim_k", 1)),
                bands=tuple(
                    Band(_text(b["label"]), _decimal(b["min_score"])) for b in _list(d.get("bands", []))
                ),
                allow_abstain=_flag(d.get("allow_abstain", True)),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            detail = f"缺少字段 {exc}" if isinstance(exc, KeyError) else str(exc)
            raise BallotError(f"测评方案格式错误：{detail}", code="invalid_scheme") from exc


# from_dict helpers: a stored scheme is JSON, and silent coercions ("false" -> True,
# 1.5 -> 1) would change what the host set, so anything unexpected is refused.


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"应为文字：{value!r}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"应为 true/false：{value!r}")
    return value


def _integer(value: object) -> int:
    # "3" from a form is taken as 3; 1.5 or true are refused rather than truncated.
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"应为整数：{value!r}")
    return value


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TypeError(f"应为数字：{value!r}")
    return Decimal(str(value))


def _list(value: object) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"应为列表：{value!r}")
    return list(value)


def check_scheme(scheme: Scheme) -> None:
    """Refuse a scheme that could not be scored, naming every problem at once.

    Raises BallotError(code="invalid_scheme"). Weights are relative (70/30 and 7/3
    mean the same), so they need only be positive.
    """
    problems: list[str] = []
    if scheme.kind is BallotKind.RUBRIC:
        problems += _rubric_problems(scheme)
    else:
        problems += _option_problems(scheme)
    problems += _group_problems(scheme.groups)
    problems += _band_problems(scheme.bands)
    if isinstance(scheme.trim_k, bool) or not isinstance(scheme.trim_k, int) or scheme.trim_k < 0:
        problems.append(f"去掉最高、最低分的个数（trim_k）应为不小于 0 的整数，现为 {scheme.trim_k!r}")
    if problems:
        raise BallotError("测评方案无效：" + "；".join(problems), code="invalid_scheme")


def _duplicates(keys: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dup: list[str] = []
    for k in keys:
        if k in seen and k not in dup:
            dup.append(k)
        seen.add(k)
    return dup


def _option_problems(scheme: Scheme) -> list[str]:
    out: list[str] = []
    if scheme.criteria:
        out.append("满意度、等次测评不应包含评分项")
    if len(scheme.options) < 2:
        out.append("至少需要两个选项")
    for k in _duplicates(o.key for o in scheme.options):
        out.append(f"选项名称重复：「{k}」")
    for o in scheme.options:
        if not o.key.strip():
            out.append("选项名称不能为空")
        if not o.score.is_finite() or not 0 <= o.score <= FULL_MARKS:
            out.append(f"选项「{o.key}」的分值应在 0 至 100 之间，现为 {o.score}")
    return out


def _rubric_problems(scheme: Scheme) -> list[str]:
    out: list[str] = []
    if scheme.options:
        out.append("百分制测评不应包含选项")
    if not scheme.criteria:
        out.append("百分制测评至少需要一个评分项")
    for k in _duplicates(c.key for c in scheme.criteria):
        out.append(f"评分项名称重复：「{k}」")
    finite = True
    for c in scheme.criteria:
        if not c.key.strip():
            out.append("评分项名称不能为空")
        if not c.max.is_finite() or c.max <= 0:
            out.append(f"评分项「{c.key}」的满分应大于 0，现为 {c.max}")
            finite = False
        elif c.max != c.max.quantize(RUBRIC_STEP):
            out.append(f"评分项「{c.key}」的满分最多保留一位小数，现为 {c.max}")
    if finite and scheme.criteria:
        total = sum((c.max for c in scheme.criteria), Decimal(0))
        if total != FULL_MARKS:
            out.append(f"各评分项满分之和应为 100，现为 {decimal_str(total)}")
    return out


def _group_problems(groups: Sequence[Group]) -> list[str]:
    out: list[str] = []
    if not groups:
        out.append("至少需要一个投票组")
    for k in _duplicates(g.key for g in groups):
        out.append(f"投票组标识重复：「{k}」")
    for g in groups:
        name = g.label or g.key
        if not g.key.strip() or not g.label.strip():
            out.append("投票组的标识和名称不能为空")
        if g.source not in SOURCES:
            out.append(f"投票组「{name}」的来源应为 panel（评议团）或 public（群众），现为 {g.source!r}")
        if not g.weight.is_finite() or g.weight <= 0:
            out.append(f"投票组「{name}」的权重应大于 0，现为 {g.weight}")
        if isinstance(g.min_ballots, bool) or not isinstance(g.min_ballots, int) or g.min_ballots < 1:
            out.append(f"投票组「{name}」的最低有效票数应为不小于 1 的整数，现为 {g.min_ballots!r}")
        for c in _duplicates(g.categories):
            out.append(f"投票组「{name}」的类别重复：「{c}」")
    # group_for takes the first group that admits a voter, so an overlap would
    # silently leave the later group empty.
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            if a.source != b.source:
                continue
            if not a.categories or not b.categories or set(a.categories) & set(b.categories):
                out.append(f"投票组「{a.label}」与「{b.label}」的范围重叠，每位投票人只能属于一个组")
    return out


def _band_problems(bands: Sequence[Band]) -> list[str]:
    out: list[str] = []
    if not bands:
        out.append("至少需要一个等次")
        return out
    for k in _duplicates(b.label for b in bands):
        out.append(f"等次名称重复：「{k}」")
    for k in _duplicates(decimal_str(b.min_score) for b in bands if b.min_score.is_finite()):
        out.append(f"等次分数线重复：{k}")
    for b in bands:
        if not b.label.strip():
            out.append("等次名称不能为空")
        if not b.min_score.is_finite() or not 0 <= b.min_score <= FULL_MARKS:
            out.append(f"等次「{b.label}」的分数线应在 0 至 100 之间，现为 {b.min_score}")
    if all(b.min_score != 0 for b in bands):
        # Otherwise a low total would get no grade at all.
        out.append("须有一个分数线为 0 的最低等次")
    return out


def public_categories(scheme: Scheme) -> list[str] | None:
    """The 群体 a ticket batch or roster voter may name: the categories of the public
    groups, or None when a public group without categories takes any 群体."""
    out: list[str] = []
    for g in scheme.groups:
        if g.source != PUBLIC:
            continue
        if not g.categories:
            return None
        out += g.categories
    return out


def labelled_for_mode(scheme: Scheme, open_mode: bool, open_label: str) -> Scheme:
    """In open mode a public group that admits anyone is labelled as unverified
    (开放投票（未实名）) wherever its label is shown or exported; leaving open mode
    gives it back the plain label 群众."""
    groups = []
    for g in scheme.groups:
        if g.source == PUBLIC and not g.categories:
            if open_mode:
                g = replace(g, label=open_label)
            elif g.label == open_label:
                g = replace(g, label="群众")
        groups.append(g)
    return replace(scheme, groups=tuple(groups))


DEFAULT_BANDS = (
    Band("好", Decimal(90)),
    Band("较好", Decimal(80)),
    Band("一般", Decimal(60)),
    Band("差", Decimal(0)),
)

DEFAULT_GROUPS = (
    Group(PANEL, "评议团", PANEL, Decimal(70), 1),
    Group(PUBLIC, "群众", PUBLIC, Decimal(30), 1),
)


def satisfaction_scheme() -> Scheme:
    return Scheme(
        kind=BallotKind.SATISFACTION,
        options=(
            Option("满意", Decimal(100), True),
            Option("基本满意", Decimal(80), True),
            Option("不满意", Decimal(0), False),
        ),
        groups=DEFAULT_GROUPS,
        bands=DEFAULT_BANDS,
    )


def grade_scheme() -> Scheme:
    return Scheme(
        kind=BallotKind.GRADE,
        options=(
            Option("好", Decimal(95), True),
            Option("较好", Decimal(85), True),
            Option("一般", Decimal(70), False),
            Option("差", Decimal(50), False),
        ),
        groups=DEFAULT_GROUPS,
        bands=DEFAULT_BANDS,
    )


def rubric_scheme() -> Scheme:
    return Scheme(
        kind=BallotKind.RUBRIC,
        criteria=(
            Criterion("履行第一责任人职责", Decimal(25)),
            Criterion("依法决策", Decimal(25)),
            Criterion("严格规范公正文明执法", Decimal(25)),
            Criterion("化解矛盾纠纷与学法用法", Decimal(25)),
        ),
        groups=DEFAULT_GROUPS,
        bands=DEFAULT_BANDS,
    )


def panel_split_scheme(
    scheme: Scheme,
    categories: Sequence[str] = PANEL_CATEGORIES,
    *,
    weights: Mapping[str, Decimal | int | str] | None = None,
    min_ballots: int | None = None,
) -> Scheme:
    """The same scheme with its panel replaced by one group per category.

    Group keys are ``panel:<category>``. With ``weights`` each category gets its own
    weight; without, the panel's weight is shared equally. When that share is not
    a finite decimal (70 / 6), every category keeps the whole panel weight and the
    other groups are multiplied by the number of categories instead: the ratios are
    the same and stay exact. ``min_ballots`` defaults to the panel group's minimum.
    """
    panel_groups = [g for g in scheme.groups if g.source == PANEL]
    if not panel_groups:
        raise BallotError("该测评方案没有评议团投票组，无法按类别划分", code="invalid_scheme")
    if not categories:
        raise BallotError("至少需要一个评议团类别", code="invalid_scheme")
    others = [g for g in scheme.groups if g.source != PANEL]
    panel_weight = sum((g.weight for g in panel_groups), Decimal(0))
    minimum = panel_groups[0].min_ballots if min_ballots is None else min_ballots

    if weights is not None:
        missing = [c for c in categories if c not in weights]
        if missing:
            raise BallotError(f"缺少类别「{missing[0]}」的权重", code="invalid_scheme")
        share = {c: Decimal(str(weights[c])) for c in categories}
    else:
        try:
            equal = Context(prec=50, traps=[Inexact]).divide(panel_weight, Decimal(len(categories)))
            share = dict.fromkeys(categories, equal)
        except Inexact:
            share = dict.fromkeys(categories, panel_weight)
            others = [replace(g, weight=g.weight * len(categories)) for g in others]

    split = tuple(
        Group(f"{PANEL}:{c}", c, PANEL, share[c], minimum, (c,)) for c in categories
    )
    result = replace(scheme, groups=split + tuple(others))
    check_scheme(result)
    return result


def _rubric_score(key: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BallotError(f"评分项「{key}」不是数字")
    if isinstance(value, str) and not _NUMBER_TEXT.fullmatch(value):
        raise BallotError(f"评分项「{key}」不是数字")
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise BallotError(f"评分项「{key}」不是数字") from exc
    if not d.is_finite():
        raise BallotError(f"评分项「{key}」不是数字")
    return d


def validate_choice(scheme: Scheme, raw: object) -> dict[str, Any]:
    """Check a choice against the scheme and return its canonical JSON form."""
    if not isinstance(raw, dict):
        raise BallotError("选票格式错误：应为对象")
    if raw.get("abstain") is True:
        if len(raw) != 1:
            raise BallotError("弃权票不能同时包含其他选项")
        if not scheme.allow_abstain:
            raise BallotError("本次测评不允许弃权")
        return {"abstain": True}
    if scheme.kind in (BallotKind.SATISFACTION, BallotKind.GRADE):
        if set(raw) != {"option"}:
            raise BallotError("选票应只包含 option 字段")
        key = raw["option"]
        if not isinstance(key, str) or scheme.option(key) is None:
            allowed = "、".join(o.key for o in scheme.options)
            raise BallotError(f"未知选项「{str(key)[:20]}」，可选：{allowed}")
        return {"option": key}
    scores = raw.get("scores")
    if set(raw) != {"scores"} or not isinstance(scores, dict):
        raise BallotError("百分制选票应只包含 scores 字段")
    known = {c.key for c in scheme.criteria}
    extra = [k for k in scores if k not in known]
    if extra:
        raise BallotError(f"未知评分项「{str(extra[0])[:20]}」")
    out: dict[str, str] = {}
    for c in scheme.criteria:
        if c.key not in scores:
            raise BallotError(f"缺少评分项「{c.key}」")
        d = _rubric_score(c.key, scores[c.key])
        if d < 0 or d > c.max:
            raise BallotError(f"评分项「{c.key}」应在 0 至 {decimal_str(c.max)} 之间")
        if d != d.quantize(RUBRIC_STEP):
            raise BallotError(f"评分项「{c.key}」最多保留一位小数")
        out[c.key] = decimal_str(d)
    return {"scores": out}


@dataclass(frozen=True)
class BallotValue:
    """A stored ballot as the scoring code sees it: its group and its choice."""

    group: str
    choice: Mapping[str, Any]


def choice_score(scheme: Scheme, choice: Mapping[str, Any]) -> Decimal | None:
    """A canonical choice's score, or None for an abstention."""
    if choice.get("abstain"):
        return None
    if scheme.kind is BallotKind.RUBRIC:
        return sum((Decimal(str(v)) for v in choice["scores"].values()), Decimal(0))
    opt = scheme.option(str(choice["option"]))
    if opt is None:
        raise BallotError(f"未知选项「{choice['option']}」")
    return opt.score
