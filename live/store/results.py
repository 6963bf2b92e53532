"""Freezing an item's 测评 result when voting closes."""

from __future__ import annotations

from typing import Any

from live.domain import scoring
from live.domain.scheme import BallotValue, Scheme


def freeze_result(scheme: Scheme, item_id: int, ballots: list[tuple[str, BallotValue]]) -> tuple[dict[str, Any], str]:
    """The frozen result and the digest over the item's ballots and scheme."""
    values = [b for _, b in ballots]
    result = scoring.score_item(scheme, values).to_dict()
    digest = scoring.ballots_digest(scheme, item_id, [(bid, b) for bid, b in ballots])
    return result, digest
