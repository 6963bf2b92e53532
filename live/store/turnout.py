"""Who has voted on an item, never how: the host's view for chasing a missing panel member.

``voted_members`` reads the voter keys of the ballot table (``p:<member id>``). The
``secrecy`` branch keeps the one-per-voter rule in a participation table instead; at the
merge only this function's body changes, its callers stay as they are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session

from live.store.ballots import BALLOT


def voted_members(session: Session, item_id: int) -> list[int]:
    """Ids of the panel members with a ballot on the item, in order."""
    t = BALLOT
    rows = session.connection().execute(
        sa_select(t.c.voter_key).where(t.c.item_id == item_id, t.c.voter_key.like("p:%")))
    out: set[int] = set()
    for (key,) in rows:
        tail = str(key)[2:]
        if tail.isdigit():
            out.add(int(tail))
    return sorted(out)


def participation_view(item_id: int, panel: list[dict[str, Any]], voted: list[int],
                       group_counts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The host-only ``participation`` message: each panel member voted or not, and the
    ballot count of every group (never a choice)."""
    done = set(voted)
    members = [{"id": p["id"], "name": p["name"], "category": p["category"], "voted": p["id"] in done}
               for p in panel if not p.get("revoked")]
    return {"type": "participation", "item_id": item_id, "members": members,
            "voted": sum(1 for m in members if m["voted"]), "panel_total": len(members),
            "groups": {k: {"label": g["label"], "count": g["count"]} for k, g in group_counts.items()}}
