"""The public meeting state: one JSON shape for snapshots and for the entities
carried by events, so a client applies an event by replacing an entity by id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from live.domain import catalogue
from live.domain.credentials import PUBLIC_MODE_LABEL, PublicMode
from live.domain.phases import MEETING_STATUS_LABEL, PHASE_LABEL, ItemPhase, MeetingStatus
from live.domain.visibility import Visibility, VisibilitySettings
from live.store import voice_state
from live.store.models import AgendaItem, Meeting, MeetingRecord, PanelMember
from live.store.slides import slide_fields

State = dict[str, Any]


def record_fields(row: MeetingRecord | None) -> dict[str, Any] | None:
    """The sealed record's fields (root, signature, key, published); None before any record row."""
    if row is None or row.root is None:
        return None if row is None else {"root": None, "published": row.published}
    return {"root": row.root, "audit_seq": row.audit_seq, "signature": row.signature,
            "public_key": row.public_key, "key_fingerprint": row.key_fingerprint,
            "signed_at_ms": row.signed_at_ms, "published": row.published}


def record_public(m: Meeting) -> dict[str, Any] | None:
    """The meeting's sealed record as the public state carries it (None before the first seal)."""
    s = object_session(m)
    if s is None or m.id is None:
        return None
    return record_fields(s.get(MeetingRecord, m.id))


def meeting_public(m: Meeting, items: Sequence[AgendaItem]) -> dict[str, Any]:
    """The meeting entity; it carries the ranking of the items whose 测评 has closed."""
    from live.store.exports import ranking

    status = MeetingStatus(m.status)
    return {
        "id": m.id,
        "code": m.code,
        "title": m.title,
        "status": status.value,
        "status_label": MEETING_STATUS_LABEL[status],
        "secret": m.secret,
        "public_mode": m.public_mode,
        "public_mode_label": PUBLIC_MODE_LABEL[PublicMode(m.public_mode)],
        "current_item_id": m.current_item_id,
        "held_on": m.held_on,
        "stream_url": m.stream_url,
        "started_at_ms": m.started_at_ms,
        "ended_at_ms": m.ended_at_ms,
        "scheme": orjson.loads(m.scheme_json),
        "durations": orjson.loads(m.durations_json),
        # The sealed record: root, signature, key fingerprint, published (sealed by live.store.record).
        "record": record_public(m),
        "visibility": visibility_settings(m).to_dict(),
        # An item frozen in a ``hidden`` meeting joins the ranking once the host reveals it.
        "ranking": ranking(list(items), withheld={i.id for i in items if i.result_hidden}),
    }


def visibility_settings(m: Meeting) -> VisibilitySettings:
    return VisibilitySettings(Visibility(m.results_visibility), m.small_group_k)


def item_public(i: AgendaItem) -> dict[str, Any]:
    phase = ItemPhase(i.phase)
    return {
        "id": i.id,
        "position": i.position,
        "presenter": {"name": i.presenter_name, "post": i.presenter_post, "unit": i.presenter_unit},
        "phase": phase.value,
        "phase_label": PHASE_LABEL[phase],
        "timer": {
            "duration_s": i.timer_duration_s,
            "running": i.timer_running,
            "ends_at_ms": i.timer_ends_at_ms,
            "remaining_ms": i.timer_remaining_ms,
        },
        # The result as screens may show it: guarded, and absent until revealed in a hidden meeting.
        "result": _shown_result(i),
        "result_hidden": i.result_hidden,
        "digest": i.digest,
        "slides": slide_fields(i),
    }


def _shown_result(i: AgendaItem) -> dict[str, Any] | None:
    if i.result_json is None or i.result_hidden:
        return None
    shown: dict[str, Any] = orjson.loads(i.result_public_json or i.result_json)
    return shown


def member_public(p: PanelMember) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "category": p.category, "revoked": p.revoked,
            "bound": p.bound_device is not None, "pin": p.pin_version > 0}


def load_state(session: Session, meeting_id: int) -> tuple[int, State]:
    """The state and the seq it reflects, read in one transaction."""
    m = session.get(Meeting, meeting_id)
    if m is None:
        raise LookupError(meeting_id)
    items = session.exec(
        select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(col(AgendaItem.position))
    ).all()
    panel = session.exec(
        select(PanelMember).where(PanelMember.meeting_id == meeting_id).order_by(col(PanelMember.id))
    ).all()
    state: State = {
        "meeting": meeting_public(m, items),
        "items": [item_public(i) for i in items],
        "panel": [member_public(p) for p in panel],
        **voice_state.load(session, meeting_id),
    }
    return m.last_seq, state


def apply_event(state: State, event: dict[str, Any]) -> None:
    """Apply one sequenced event in place, by its rule in the event catalogue (the browser
    applies the same rules, from frontend/shared/events.gen.js)."""
    catalogue.apply_event(state, event)
