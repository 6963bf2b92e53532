"""Reading a meeting's ballots and frozen results for the exports and the ranking."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson
from sqlmodel import Session, col, select

from live.domain.scoring import ItemResult, rank
from live.store.models import AgendaItem, Ballot, Meeting


def export_input(s: Session, meeting_id: int) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """What ``live.reports.verify.build_export`` takes: meeting, scheme, items with ballots.
    Only a ballot's id, group and choice leave the database: never its voter."""
    m = s.get(Meeting, meeting_id)
    if m is None:
        raise LookupError(meeting_id)
    items = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                   .order_by(col(AgendaItem.position))).all()
    by_item: dict[int, list[dict[str, Any]]] = {}
    for b in s.exec(select(Ballot).where(Ballot.meeting_id == meeting_id)).all():
        by_item.setdefault(b.item_id, []).append(
            {"id": b.id, "group": b.voter_group, "choice": orjson.loads(b.choice_json), "source": b.source})
    meeting = {"id": m.id, "code": m.code, "title": m.title, "held_on": m.held_on, "secret": m.secret,
               "status": m.status}
    out = [{
        "id": i.id,
        "position": i.position,
        "presenter": {"name": i.presenter_name, "post": i.presenter_post, "unit": i.presenter_unit},
        "ballots": by_item.get(i.id or 0, []),
        "result": orjson.loads(i.result_json) if i.result_json else None,
        "digest": i.digest,
    } for i in items]
    return meeting, orjson.loads(m.scheme_json), out


def ranking(items: list[AgendaItem], withheld: Collection[int | None] = ()) -> list[dict[str, Any]]:
    """Competition ranking (1, 2, 2, 4) of the items whose 测评 has closed; ``withheld``
    items (results not yet revealed) are listed unranked, like items still open."""
    frozen = {i.id: ItemResult.from_dict(orjson.loads(i.result_json)) if i.result_json and i.id not in withheld
              else None for i in items}
    names = {i.id: i.presenter_name for i in items}
    return [{"item_id": e.item, "name": names.get(e.item, ""), "rank": e.rank,
             "total": e.total_display} for e in rank(frozen)]
