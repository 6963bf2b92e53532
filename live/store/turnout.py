"""Who has voted on an item, never how: the host's view for chasing a missing panel member.

``voted_members`` is live.store.ballots': the voter keys (``p:<member id>``) of the ballot
table in an open meeting, of the ``participation`` table in a secret one (whose ballots
name no voter).
"""

from __future__ import annotations

from typing import Any

from live.store.ballots import voted_members

__all__ = ["participation_view", "voted_members"]


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
