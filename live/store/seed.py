"""Creating a meeting from a plain spec (the demo's JSON, or an organiser's file)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from live.domain.credentials import OPEN_GROUP_LABEL, PublicMode
from live.domain.meeting_spec import TEMPLATES, MeetingSpec, SpecProblems, check_spec
from live.domain.phases import DEFAULT_DURATIONS
from live.domain.scheme import labelled_for_mode, satisfaction_scheme
from live.passwords import hash_password, new_meeting_code, new_password
from live.store.models import AgendaItem, Meeting, PanelMember

SCHEMES = TEMPLATES


class SpecError(ValueError):
    """A spec that cannot make a meeting; ``problems`` names each problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


@dataclass(frozen=True)
class Created:
    meeting_id: int
    code: str
    password: str


def create_meeting(s: Session, spec: dict[str, Any], password: str | None = None, *,
                   setup_done: bool = True) -> Created:
    """A meeting from a spec checked by live.domain.meeting_spec (every problem at once, the
    same as the administrators' wizard). ``setup_done`` False leaves it a 草稿."""
    try:
        checked = check_spec(spec)
    except SpecProblems as exc:
        raise SpecError("；".join(exc.problems), exc.problems) from exc
    return create_checked(s, checked, spec, password, setup_done=setup_done)


def create_checked(s: Session, checked: MeetingSpec, spec: dict[str, Any], password: str | None = None, *,
                   setup_done: bool = True) -> Created:
    password = password or new_password()
    scheme = checked.scheme or labelled_for_mode(satisfaction_scheme(), checked.public_mode is PublicMode.OPEN,
                                                 OPEN_GROUP_LABEL)
    durations = {p.value: s_ for p, s_ in DEFAULT_DURATIONS.items()}
    durations.update({k: int(v) for k, v in (spec.get("durations") or {}).items()})
    for _ in range(20):
        code = new_meeting_code()
        if s.exec(select(Meeting).where(Meeting.code == code)).first() is None:
            break
    m = Meeting(code=code, title=checked.title, secret=checked.secret, results_visibility=checked.visibility,
                small_group_k=checked.small_group_k, venue=checked.venue, setup_done=setup_done,
                scheme_json=orjson.dumps(scheme.to_dict()).decode(), durations_json=orjson.dumps(durations).decode(),
                host_password_hash=hash_password(password), held_on=checked.held_on,
                stream_url=spec.get("stream_url"), created_at_ms=int(time.time() * 1000),
                public_mode=checked.public_mode.value)
    s.add(m)
    try:
        s.flush()
    except IntegrityError as exc:
        raise SpecError("会议码冲突，请重试") from exc
    assert m.id is not None
    for pos, p in enumerate(checked.presenters, start=1):
        s.add(AgendaItem(meeting_id=m.id, position=pos, presenter_name=p["name"], presenter_post=p["post"],
                         presenter_unit=p["unit"], presenter_kind=p.get("kind", "")))
    for member in checked.panel:
        # `panel_pin: true` in the spec: every member's link asks for the PIN printed on the card.
        s.add(PanelMember(meeting_id=m.id, name=member["name"], category=member["category"],
                          unit=member.get("unit", ""), contact=member.get("contact", ""),
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
