"""An administrator's changes to a meeting's setup, as writer commands (actor ``admin``).

``setup.apply`` changes the sections of the setup it is given (checked by
live.domain.meeting_spec, every problem at once). Before the meeting starts everything
can change; once it has started, what 测评 depends on (presenters, 评议团, scheme,
secrecy, public voting, results visibility) is locked (``setup_locked``) and only the
title, date and venue can still change. Its events bring every open page along:
``meeting.updated``, ``items.replaced`` and ``panel.replaced``.

The other commands change nothing a page shows: finishing the wizard, archiving, a new
host password (every host and recorder session of the meeting ends) and a new presenter
link (the old one stops)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from live.domain.credentials import OPEN_GROUP_LABEL, PublicMode
from live.domain.errors import LiveError
from live.domain.meeting_spec import SECTIONS, MeetingSpec, SpecProblems, check_spec
from live.domain.phases import MeetingStatus
from live.domain.scheme import Scheme, labelled_for_mode
from live.store.commands import Command, CommandOutcome
from live.store.models import AgendaItem, Ballot, LoginSession, Meeting, PanelMember, Problem, Question
from live.store.state import item_public, meeting_public, member_public

LOCKED_SECTIONS = frozenset({"presenters", "panel", "scheme", "options"})
LOCKED = "会议已开始：述法人、评议团、测评方案、不记名与公众投票方式已锁定，不能再改（会议名称、日期、地点仍可修改）"


def _meeting(s: Session, meeting_id: int) -> Meeting:
    m = s.exec(select(Meeting).where(Meeting.id == meeting_id).with_for_update()).first()
    if m is None:
        raise LiveError("会议不存在", "not_found", status=404)
    return m


def _items(s: Session, meeting_id: int) -> list[AgendaItem]:
    return list(s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                       .order_by(col(AgendaItem.position))).all())


def _panel(s: Session, meeting_id: int) -> list[PanelMember]:
    return list(s.exec(select(PanelMember).where(PanelMember.meeting_id == meeting_id)
                       .order_by(col(PanelMember.id))).all())


def _used(s: Session, item_id: int) -> bool:
    """An item with questions, problems, ballots or a deck cannot be dropped from the agenda."""
    for model in (Question, Problem, Ballot):
        n = s.exec(select(func.count()).select_from(model).where(model.item_id == item_id)).one()
        if n:
            return True
    return False


def _apply_presenters(s: Session, m: Meeting, spec: MeetingSpec) -> None:
    items = {i.id: i for i in _items(s, m.id or 0)}
    kept: set[int] = set()
    problems: list[str] = []
    rows: list[tuple[int, dict[str, str], AgendaItem | None]] = []
    for pos, p in enumerate(spec.presenters, start=1):
        raw_id: Any = p.get("id")
        item = items.get(raw_id) if isinstance(raw_id, int) else None
        if item is not None:
            kept.add(item.id or 0)
        rows.append((pos, p, item))
    for item_id, item in items.items():
        if item_id not in kept and (item.deck_pages or _used(s, item_id or 0)):
            problems.append(f"述法人「{item.presenter_name}」已有材料或问题，不能删除")
    if problems:
        raise SpecProblems(problems)
    for item_id, item in items.items():
        if item_id not in kept:
            s.delete(item)
    s.flush()
    # Positions move through negatives first, so no two rows ever share one on the way.
    for pos, _, item in rows:
        if item is not None:
            item.position = -pos
            s.add(item)
    s.flush()
    for pos, p, item in rows:
        item = item or AgendaItem(meeting_id=m.id or 0, position=pos, presenter_name="", presenter_post="",
                                  presenter_unit="")
        item.position, item.presenter_name, item.presenter_post = pos, p["name"], p["post"]
        item.presenter_unit, item.presenter_kind = p["unit"], p.get("kind", "")
        s.add(item)
    s.flush()


def _apply_panel(s: Session, m: Meeting, spec: MeetingSpec) -> None:
    members = {p.id: p for p in _panel(s, m.id or 0)}
    kept: set[int] = set()
    for row in spec.panel:
        raw_id = row.get("id")
        member = members.get(raw_id) if isinstance(raw_id, int) else None
        if member is None:
            member = PanelMember(meeting_id=m.id or 0, name="", category="")
        else:
            kept.add(member.id or 0)
        member.name, member.category = row["name"], row["category"]
        member.unit, member.contact = row.get("unit", ""), row.get("contact", "")
        s.add(member)
    for member_id, member in members.items():
        if member_id in kept:
            continue
        asked = s.exec(select(func.count()).select_from(Question).where(Question.member_id == member_id)).one()
        if asked:
            member.revoked = True
            s.add(member)
        else:
            s.delete(member)
    s.flush()


def apply_setup(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """``{"sections": ["basics", ...], "basics": {...}, "presenters": [...], "roster": [...],
    "scheme": ..., "options": {...}}``: the named sections, replaced."""
    sections = [x for x in args.get("sections") or [] if x in SECTIONS]
    if not sections:
        raise LiveError("没有要保存的内容", "invalid")
    m = _meeting(s, meeting_id)
    if m.status != MeetingStatus.DRAFT.value and LOCKED_SECTIONS.intersection(sections):
        raise LiveError(LOCKED, "setup_locked")
    flat: dict[str, Any] = {**(args.get("basics") or {}), **(args.get("options") or {}),
                            "presenters": args.get("presenters"), "panel": args.get("roster")}
    if "scheme" in sections:
        flat["scheme"] = args.get("scheme")
    spec = check_spec(flat, sections, require_date=True)
    if "scheme" in sections and "options" not in sections and spec.scheme is not None:
        # The scheme's public group is labelled for the meeting's own public mode.
        spec.scheme = labelled_for_mode(spec.scheme, m.public_mode == PublicMode.OPEN.value, OPEN_GROUP_LABEL)
    if "basics" in sections:
        m.title, m.held_on, m.venue = spec.title, spec.held_on, spec.venue
    if "options" in sections:
        m.secret, m.public_mode = spec.secret, spec.public_mode.value
        m.results_visibility, m.small_group_k = spec.visibility, spec.small_group_k
        if "scheme" not in sections:  # relabel the stored scheme's public group for the new mode
            scheme = labelled_for_mode(Scheme.from_dict(orjson.loads(m.scheme_json)),
                                       spec.public_mode is PublicMode.OPEN, OPEN_GROUP_LABEL)
            m.scheme_json = orjson.dumps(scheme.to_dict()).decode()
    if "scheme" in sections and spec.scheme is not None:
        m.scheme_json = orjson.dumps(spec.scheme.to_dict()).decode()
    s.add(m)
    if "presenters" in sections:
        _apply_presenters(s, m, spec)
    if "panel" in sections:
        _apply_panel(s, m, spec)
    s.flush()
    items = _items(s, meeting_id)
    events: list[dict[str, Any]] = [{"type": "meeting.updated", "cause": "setup",
                                     "meeting": meeting_public(m, items)}]
    if "presenters" in sections:
        events.append({"type": "items.replaced", "cause": "setup", "items": [item_public(i) for i in items]})
    if "panel" in sections:
        events.append({"type": "panel.replaced", "cause": "setup",
                       "panel": [member_public(p) for p in _panel(s, meeting_id)]})
    return CommandOutcome(events, {"ok": True, "sections": sections})


def finish_setup(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """The wizard's last step: the whole setup must hold, then the 草稿 is 已排期."""
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    problems = [] if items else ["至少需要一位述法人"]
    if not m.held_on:
        problems.append("请填写会议日期")
    if problems:
        raise SpecProblems(problems)
    m.setup_done = True
    s.add(m)
    return CommandOutcome([], {"ok": True})


def archive(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """``{"archived": true|false}``; a live meeting cannot be archived."""
    m = _meeting(s, meeting_id)
    archived = args.get("archived") is not False
    if archived and m.status == MeetingStatus.LIVE.value:
        raise LiveError("会议正在进行，结束后才能归档", "illegal_transition")
    m.archived_at_ms = now_ms if archived else None
    s.add(m)
    return CommandOutcome([], {"ok": True, "archived": archived})


def host_password(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """``{"password_hash": "$argon2..."}``: the new host password; every host and recorder
    session of this meeting ends (their sockets close within a minute)."""
    digest = args.get("password_hash")
    if not isinstance(digest, str) or not digest.startswith("$argon2"):
        raise LiveError("密码格式错误", "invalid")
    m = _meeting(s, meeting_id)
    m.host_password_hash = digest
    m.host_session_version += 1
    s.add(m)
    s.execute(update(LoginSession).where(col(LoginSession.meeting_id) == meeting_id).values(revoked=True))
    return CommandOutcome([], {"ok": True})


def presenter_link(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """A new presenter link: the old link and the pages opened with it stop."""
    m = _meeting(s, meeting_id)
    m.presenter_link_version += 1
    s.add(m)
    return CommandOutcome([], {"ok": True, "version": m.presenter_link_version})


COMMANDS: dict[str, Command] = {
    "setup.apply": apply_setup,
    "setup.finish": finish_setup,
    "setup.archive": archive,
    "setup.host_password": host_password,
    "setup.presenter_link": presenter_link,
}
