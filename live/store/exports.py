"""Reading a meeting's ballots and frozen results for the exports and the ranking."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson
from sqlmodel import Session, col, select

from live.domain.record import plain
from live.domain.scoring import ItemResult, rank
from live.store.models import AgendaItem, Ballot, Meeting

# Meeting fields whose names contain one of these are the meeting's modes (secrecy, public
# voting, results visibility, small-group guard, ...): they go in the export and the record.
_MODE_HINTS = ("mode", "visibility", "small_group", "guard")


def ballot_dict(b: Ballot) -> dict[str, Any]:
    """A ballot as the export and the record carry it: id, group, choice, and the ballot's
    own markers (such as ``source``) when the table has them. Never its voter."""
    out: dict[str, Any] = {"id": b.id, "group": b.voter_group, "choice": orjson.loads(b.choice_json)}
    source = getattr(b, "source", None)
    if source and source != "online":  # an online ballot (the default) carries no marker
        out["source"] = source
    return out


def meeting_block(m: Meeting) -> dict[str, Any]:
    """The meeting as the export holds it; everything but ``status`` is part of the signed record."""
    out: dict[str, Any] = {"id": m.id, "code": m.code, "title": m.title, "held_on": m.held_on, "secret": m.secret,
                           "status": m.status}
    for name in sorted(type(m).model_fields):
        if name not in out and any(h in name for h in _MODE_HINTS):
            out[name] = plain(getattr(m, name, None))
    return out


def export_input(s: Session, meeting_id: int) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """What ``live.reports.verify.build_export`` takes: meeting, scheme, items with ballots.
    Only a ballot's id, group, choice (and its paper marker) leave the database: never its voter."""
    m = s.get(Meeting, meeting_id)
    if m is None:
        raise LookupError(meeting_id)
    items = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                   .order_by(col(AgendaItem.position))).all()
    by_item: dict[int, list[dict[str, Any]]] = {}
    # A secret meeting's ballots leave only once their 测评 has closed: an export taken
    # twice while voting was open would show which ballot arrived after whose tap.
    closed = {i.id for i in items if i.phase == "done"}
    for b in s.exec(select(Ballot).where(Ballot.meeting_id == meeting_id)).all():
        if m.secret and b.item_id not in closed:
            continue
        by_item.setdefault(b.item_id, []).append(ballot_dict(b))
    out = [{
        "id": i.id,
        "position": i.position,
        "presenter": {"name": i.presenter_name, "post": i.presenter_post, "unit": i.presenter_unit},
        "ballots": by_item.get(i.id or 0, []),
        "result": orjson.loads(i.result_json) if i.result_json else None,
        "digest": i.digest,
    } for i in items]
    return meeting_block(m), orjson.loads(m.scheme_json), out


def ranking(items: list[AgendaItem], withheld: Collection[int | None] = ()) -> list[dict[str, Any]]:
    """Competition ranking (1, 2, 2, 4) of the items whose 测评 has closed; ``withheld``
    items (results not yet revealed) are listed unranked, like items still open."""
    frozen = {i.id: ItemResult.from_dict(orjson.loads(i.result_json)) if i.result_json and i.id not in withheld
              else None for i in items}
    names = {i.id: i.presenter_name for i in items}
    return [{"item_id": e.item, "name": names.get(e.item, ""), "rank": e.rank,
             "total": e.total_display} for e in rank(frozen)]
