"""The meetings as the administrators' workspace sees them: the list (by year and
state, searchable), archiving, and the host password an administrator sets."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from live.passwords import hash_password, new_password
from live.store.models import AgendaItem, Meeting, PanelMember

# The workspace's states, in the order the list shows them.
STATES: tuple[str, ...] = ("draft", "scheduled", "live", "ended", "archived")
STATE_LABEL = {"draft": "草稿", "scheduled": "已排期", "live": "进行中", "ended": "已结束", "archived": "已归档"}


def meeting_state(m: Meeting) -> str:
    """draft (setup not finished), scheduled (ready, not begun), live, ended or archived."""
    if m.archived_at_ms is not None:
        return "archived"
    if m.status in ("live", "ended"):
        return m.status
    return "scheduled" if m.setup_done else "draft"


def meeting_year(m: Meeting) -> int:
    if len(m.held_on) >= 4 and m.held_on[:4].isdigit():
        return int(m.held_on[:4])
    return time.gmtime((m.created_at_ms or 0) / 1000).tm_year


def _row(m: Meeting, presenters: int, panel: int) -> dict[str, Any]:
    return {"id": m.id, "code": m.code, "title": m.title, "held_on": m.held_on, "venue": m.venue,
            "year": meeting_year(m), "state": meeting_state(m), "state_label": STATE_LABEL[meeting_state(m)],
            "presenters": presenters, "panel": panel, "secret": m.secret, "public_mode": m.public_mode}


def _matches(row: dict[str, Any], names: list[str], q: str) -> bool:
    hay = " ".join([row["title"], row["code"], row["venue"], row["held_on"], *names]).casefold()
    return all(word in hay for word in q.casefold().split())


def list_meetings(engine: Engine, q: str = "") -> list[dict[str, Any]]:
    """Every meeting, newest year first, then by state and date; ``q`` keeps those whose
    title, code, venue, date, or a presenter's name, post or unit contain every word of it."""
    with Session(engine) as s:
        meetings = list(s.exec(select(Meeting)).all())
        counts = dict(s.exec(select(AgendaItem.meeting_id, func.count()).group_by(col(AgendaItem.meeting_id))).all())
        panel = dict(s.exec(select(PanelMember.meeting_id, func.count())
                            .where(col(PanelMember.revoked).is_(False)).group_by(col(PanelMember.meeting_id))).all())
        names: dict[int, list[str]] = {}
        if q.strip():
            for mid, name, post, unit in s.exec(select(AgendaItem.meeting_id, AgendaItem.presenter_name,
                                                       AgendaItem.presenter_post, AgendaItem.presenter_unit)).all():
                names.setdefault(mid, []).extend((name, post, unit))
    rows = [_row(m, int(counts.get(m.id or 0, 0)), int(panel.get(m.id or 0, 0))) for m in meetings]
    if q.strip():
        rows = [r for r in rows if _matches(r, names.get(r["id"], []), q)]
    rows.sort(key=lambda r: (-r["year"], STATES.index(r["state"]), r["held_on"] or "9999", -(r["id"] or 0)))
    return rows


def set_archived(engine: Engine, meeting_id: int, archived: bool) -> bool:
    """Archive (or bring back) a meeting. Only a meeting that is not live can be archived;
    returns False when the meeting does not exist."""
    with Session(engine) as s:
        m = s.get(Meeting, meeting_id)
        if m is None:
            return False
        m.archived_at_ms = int(time.time() * 1000) if archived else None
        s.add(m)
        s.commit()
    return True


def rotate_host_password(engine: Engine, meeting_id: int) -> str | None:
    """A fresh generated host password (returned once; only its hash is kept). Every
    console of that meeting must sign in again. None when the meeting does not exist."""
    password = new_password()
    with Session(engine) as s:
        m = s.get(Meeting, meeting_id)
        if m is None:
            return None
        m.host_password_hash = hash_password(password)
        m.host_session_version += 1
        s.add(m)
        s.commit()
    return password


def find_meeting_id(engine: Engine, code: str) -> int | None:
    with Session(engine) as s:
        m = s.exec(select(Meeting).where(Meeting.code == code.upper()[:8])).first()
        return m.id if m is not None else None


def meeting_setup(engine: Engine, meeting_id: int) -> dict[str, Any] | None:
    """Everything the wizard shows and edits, with the ids that editing keeps."""
    import orjson

    with Session(engine) as s:
        m = s.get(Meeting, meeting_id)
        if m is None:
            return None
        items = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                       .order_by(col(AgendaItem.position))).all()
        panel = s.exec(select(PanelMember).where(PanelMember.meeting_id == meeting_id)
                       .where(col(PanelMember.revoked).is_(False)).order_by(col(PanelMember.id))).all()
        state = meeting_state(m)
        return {
            "id": m.id, "code": m.code, "state": state, "state_label": STATE_LABEL[state], "status": m.status,
            "locked": m.status != "draft",
            "basics": {"title": m.title, "held_on": m.held_on, "venue": m.venue},
            "presenters": [{"id": i.id, "name": i.presenter_name, "post": i.presenter_post,
                            "unit": i.presenter_unit, "kind": i.presenter_kind, "deck_pages": i.deck_pages}
                           for i in items],
            "roster": [{"id": p.id, "name": p.name, "category": p.category, "unit": p.unit, "contact": p.contact}
                       for p in panel],
            "scheme": orjson.loads(m.scheme_json),
            "options": {"secret": m.secret, "public_mode": m.public_mode, "visibility": m.results_visibility,
                        "small_group_k": m.small_group_k},
        }


def next_year_title(title: str) -> str:
    """The title with its first year (2024年度, 2024年) moved on by one."""
    import re

    return re.sub(r"(20\d\d)(?=年)", lambda g: str(int(g.group(1)) + 1), title, count=1)


def duplicate_spec(engine: Engine, meeting_id: int) -> dict[str, Any] | None:
    """A spec of a past meeting for next year's: presenters, 评议团 and scheme copied."""
    setup = meeting_setup(engine, meeting_id)
    if setup is None:
        return None
    presenters = [{k: p[k] for k in ("name", "post", "unit", "kind")} for p in setup["presenters"]]
    roster = [{k: p[k] for k in ("name", "category", "unit", "contact")} for p in setup["roster"]]
    return {"title": next_year_title(setup["basics"]["title"]), "venue": setup["basics"]["venue"],
            "presenters": presenters, "panel": roster, "scheme": setup["scheme"], **setup["options"]}
