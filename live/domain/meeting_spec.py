"""What a meeting is set up with (title, date, venue, presenters, 评议团, scheme, secrecy,
public voting, results visibility), checked in one place and naming every problem at once.

``live meeting create spec.json`` (live.store.seed) and the administrators' wizard
(live.web.admin_meetings) both check through :func:`check_spec`, so both give the same
errors. Each section can be checked alone (a wizard step) with :func:`check_section`."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from live.domain.credentials import OPEN_GROUP_LABEL, PUBLIC_MODE_LABEL, PublicMode
from live.domain.errors import LiveError
from live.domain.scheme import (
    PANEL_CATEGORIES,
    Scheme,
    check_scheme,
    grade_scheme,
    labelled_for_mode,
    rubric_scheme,
    satisfaction_scheme,
)
from live.domain.visibility import DEFAULT_K, VisibilityError, check_visibility

TEMPLATES = {"satisfaction": satisfaction_scheme, "grade": grade_scheme, "rubric": rubric_scheme}
TEMPLATE_LABEL = {"satisfaction": "满意度三档（满意/基本满意/不满意）", "grade": "等次四档（好/较好/一般/差）",
                  "rubric": "百分制评分（四项各 25 分）"}
MAX_PRESENTERS = 60
MAX_PANEL = 200
SECTIONS = ("basics", "presenters", "panel", "scheme", "options")
_PRESENTER_FIELDS = (("name", "姓名", 50), ("post", "职务", 100), ("unit", "单位", 100))


class SpecProblems(LiveError):
    """A meeting setup with problems; ``problems`` lists each one (``extra`` carries it to clients)."""

    default_code = "invalid"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("会议设置有以下问题：" + "；".join(self.problems), "invalid", status=400,
                         problems=self.problems)


@dataclass
class MeetingSpec:
    """A checked setup; sections not given keep their defaults."""

    title: str = ""
    held_on: str = ""
    venue: str = ""
    presenters: list[dict[str, str]] = field(default_factory=list)
    panel: list[dict[str, Any]] = field(default_factory=list)
    scheme: Scheme | None = None
    secret: bool = False
    public_mode: PublicMode = PublicMode.OPEN
    visibility: str = "live"
    small_group_k: int = DEFAULT_K


def _text(value: object) -> str:
    return " ".join(str(value).split()) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def _basics(spec: Mapping[str, Any], out: MeetingSpec, problems: list[str], require_date: bool) -> None:
    out.title = _text(spec.get("title", ""))
    if not out.title:
        problems.append("会议名称不能为空")
    elif len(out.title) > 200:
        problems.append("会议名称不能超过 200 字")
    held_on = _text(spec.get("held_on", ""))
    if held_on:
        try:
            out.held_on = datetime.date.fromisoformat(held_on).isoformat()
        except ValueError:
            problems.append(f"会议日期「{held_on[:20]}」应为 YYYY-MM-DD，如 2025-01-16")
    elif require_date:
        problems.append("请填写会议日期")
    out.venue = _text(spec.get("venue", ""))
    if len(out.venue) > 200:
        problems.append("会议地点不能超过 200 字")


def _presenters(spec: Mapping[str, Any], out: MeetingSpec, problems: list[str]) -> None:
    rows = spec.get("presenters") or []
    if not isinstance(rows, list) or not rows:
        problems.append("至少需要一位述法人")
        return
    if len(rows) > MAX_PRESENTERS:
        problems.append(f"述法人不能超过 {MAX_PRESENTERS} 位")
        return
    for pos, p in enumerate(rows, start=1):
        if not isinstance(p, Mapping):
            problems.append(f"第 {pos} 位述法人格式错误")
            continue
        row: dict[str, str] = {}
        for key, label, limit in _PRESENTER_FIELDS:
            value = _text(p.get(key, ""))
            if not value:
                problems.append(f"第 {pos} 位述法人缺少{label}（{key}）")
            elif len(value) > limit:
                problems.append(f"第 {pos} 位述法人的{label}超过 {limit} 字")
            row[key] = value
        kind = _text(p.get("kind", ""))
        if len(kind) > 30:
            problems.append(f"第 {pos} 位述法人的类别超过 30 字")
        row["kind"] = kind[:30]
        if isinstance(p.get("id"), int) and not isinstance(p.get("id"), bool):
            row["id"] = p["id"]
        out.presenters.append(row)


def _panel(spec: Mapping[str, Any], out: MeetingSpec, problems: list[str]) -> None:
    rows = spec.get("panel") or []
    if not isinstance(rows, list):
        problems.append("评议团名单格式错误")
        return
    if len(rows) > MAX_PANEL:
        problems.append(f"评议团不能超过 {MAX_PANEL} 人")
        return
    allowed = "、".join(PANEL_CATEGORIES)
    for pos, m in enumerate(rows, start=1):
        if not isinstance(m, Mapping):
            problems.append(f"评议团第 {pos} 人格式错误")
            continue
        name, category = _text(m.get("name", "")), _text(m.get("category", ""))
        unit, contact = _text(m.get("unit", "")), _text(m.get("contact", ""))
        if not name:
            problems.append(f"评议团第 {pos} 人缺少姓名")
        elif len(name) > 50:
            problems.append(f"评议团第 {pos} 人的姓名超过 50 字")
        if category not in PANEL_CATEGORIES:
            problems.append(f"评议团成员 {name or pos} 的类别「{category}」不在 {allowed} 之中")
        if len(unit) > 100 or len(contact) > 30:
            problems.append(f"评议团第 {pos} 人的单位或联系方式过长")
        row: dict[str, Any] = {"name": name, "category": category, "unit": unit[:100], "contact": contact[:30]}
        if isinstance(m.get("id"), int) and not isinstance(m.get("id"), bool):
            row["id"] = m["id"]
        out.panel.append(row)


def _scheme(spec: Mapping[str, Any], problems: list[str]) -> Scheme | None:
    raw = spec.get("scheme")
    if raw is None:
        return satisfaction_scheme()
    if isinstance(raw, str):
        if raw not in TEMPLATES:
            problems.append(f"未知的测评方案：{raw[:30]}（可选 {', '.join(TEMPLATES)}）")
            return None
        return TEMPLATES[raw]()
    if isinstance(raw, Mapping):
        try:
            scheme = Scheme.from_dict(raw)
            check_scheme(scheme)
        except LiveError as exc:
            problems.append(exc.message)
            return None
        return scheme
    problems.append("测评方案应为模板名或方案对象")
    return None


def _options(spec: Mapping[str, Any], out: MeetingSpec, problems: list[str]) -> None:
    secret = spec.get("secret", False)
    if not isinstance(secret, bool):
        problems.append("是否不记名（secret）应为 true 或 false")
    out.secret = secret is True
    try:
        out.public_mode = PublicMode(spec.get("public_mode", "open"))
    except ValueError:
        problems.append(f"未知的公众投票方式：{str(spec.get('public_mode'))[:20]}（可选 "
                        + "、".join(f"{m.value}（{PUBLIC_MODE_LABEL[m]}）" for m in PublicMode) + "）")
    try:
        v = check_visibility(spec.get("visibility", "live"), spec.get("small_group_k", DEFAULT_K))
        out.visibility, out.small_group_k = v.mode.value, v.small_group_k
    except VisibilityError as exc:
        problems.append(exc.message)


def check_spec(spec: Mapping[str, Any], sections: Sequence[str] = SECTIONS, *,
               require_date: bool = False) -> MeetingSpec:
    """The checked setup of the named ``sections``; raises :class:`SpecProblems` listing
    every problem found in them."""
    if not isinstance(spec, Mapping):
        raise SpecProblems(["会议设置应为 JSON 对象"])
    out, problems = MeetingSpec(), list[str]()
    if "basics" in sections:
        _basics(spec, out, problems, require_date)
    if "presenters" in sections:
        _presenters(spec, out, problems)
    if "panel" in sections:
        _panel(spec, out, problems)
    if "options" in sections:
        _options(spec, out, problems)
    if "scheme" in sections:
        scheme = _scheme(spec, problems)
        if scheme is not None:
            out.scheme = labelled_for_mode(scheme, out.public_mode is PublicMode.OPEN, OPEN_GROUP_LABEL)
    if problems:
        raise SpecProblems(problems)
    return out
