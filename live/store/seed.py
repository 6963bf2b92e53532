"""Creating a meeting from a plain spec (the demo's JSON, or an organiser's file)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from live.domain.credentials import OPEN_GROUP_LABEL, PUBLIC_MODE_LABEL, PublicMode
from live.domain.phases import DEFAULT_DURATIONS
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
from live.passwords import hash_password, new_meeting_code, new_password
from live.store.models import AgendaItem, Meeting, PanelMember

SCHEMES = {"satisfaction": satisfaction_scheme, "grade": grade_scheme, "rubric": rubric_scheme}


class SpecError(ValueError):
    pass


@dataclass(frozen=True)
class Created:
    meeting_id: int
    code: str
    password: str


def _scheme(spec: Any) -> Scheme:
    if isinstance(spec, str):
        if spec not in SCHEMES:
            raise SpecError(f"未知的测评方案：{spec}（可选 {', '.join(SCHEMES)}）")
        return SCHEMES[spec]()
    if isinstance(spec, dict):
        scheme = Scheme.from_dict(spec)
        check_scheme(scheme)
        return scheme
    return satisfaction_scheme()


def create_meeting(s: Session, spec: dict[str, Any], password: str | None = None) -> Created:
    title = str(spec.get("title", "")).strip()
    if not title:
        raise SpecError("会议名称不能为空")
    presenters = spec.get("presenters") or []
    if not presenters:
        raise SpecError("至少需要一位述法人")
    password = password or new_password()
    try:
        mode = PublicMode(spec.get("public_mode", "open"))
    except ValueError as exc:
        raise SpecError(f"未知的公众投票方式：{spec.get('public_mode')}（可选 "
                        + "、".join(f"{m.value}（{PUBLIC_MODE_LABEL[m]}）" for m in PublicMode) + "）") from exc
    scheme = labelled_for_mode(_scheme(spec.get("scheme")), mode is PublicMode.OPEN, OPEN_GROUP_LABEL)
    durations = {p.value: s_ for p, s_ in DEFAULT_DURATIONS.items()}
    durations.update({k: int(v) for k, v in (spec.get("durations") or {}).items()})
    for _ in range(20):
        code = new_meeting_code()
        if s.exec(select(Meeting).where(Meeting.code == code)).first() is None:
            break
    try:
        visibility = check_visibility(spec.get("visibility", "live"), spec.get("small_group_k", DEFAULT_K))
    except VisibilityError as exc:
        raise SpecError(exc.message) from exc
    m = Meeting(code=code, title=title[:200], secret=bool(spec.get("secret", False)),
                results_visibility=visibility.mode.value, small_group_k=visibility.small_group_k,
                scheme_json=orjson.dumps(scheme.to_dict()).decode(), durations_json=orjson.dumps(durations).decode(),
                host_password_hash=hash_password(password), held_on=str(spec.get("held_on", ""))[:10],
                stream_url=spec.get("stream_url"), created_at_ms=int(time.time() * 1000), public_mode=mode.value)
    s.add(m)
    try:
        s.flush()
    except IntegrityError as exc:
        raise SpecError("会议码冲突，请重试") from exc
    assert m.id is not None
    for pos, p in enumerate(presenters, start=1):
        for key in ("name", "post", "unit"):
            if not str(p.get(key, "")).strip():
                raise SpecError(f"第 {pos} 位述法人缺少 {key}")
        s.add(AgendaItem(meeting_id=m.id, position=pos, presenter_name=p["name"], presenter_post=p["post"],
                         presenter_unit=p["unit"]))
    for member in spec.get("panel") or []:
        category = str(member.get("category", ""))
        if category not in PANEL_CATEGORIES:
            allowed = '、'.join(PANEL_CATEGORIES)
            raise SpecError(f"评议团成员 {member.get('name')} 的类别「{category}」不在 {allowed} 之中")
        # `panel_pin: true` in the spec: every member's link asks for the PIN printed on the card.
        s.add(PanelMember(meeting_id=m.id, name=str(member["name"]), category=category,
                          pin_version=1 if spec.get("panel_pin") else 0))
    s.flush()
    return Created(m.id, m.code, password)


def set_host_password(s: Session, meeting_id: int, password: str) -> None:
    m = s.get(Meeting, meeting_id)
    if m is None:
        raise SpecError("会议不存在")
    m.host_password_hash = hash_password(password)
    m.host_session_version += 1  # every open console must log in again
    s.add(m)


def first_meeting(s: Session) -> Meeting | None:
    return s.exec(select(Meeting).order_by(col(Meeting.id))).first()


def panel_members(s: Session, meeting_id: int) -> list[PanelMember]:
    return list(s.exec(select(PanelMember).where(PanelMember.meeting_id == meeting_id)
                       .order_by(col(PanelMember.id))).all())
