"""Freezing an item's 测评 result when voting closes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from live.domain import record, scoring
from live.domain.scheme import BallotValue, Scheme


def freeze_result(scheme: Scheme, item_id: int, position: int, presenter: Mapping[str, Any],
                  ballots: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """The frozen result, and the item digest over its place, presenter, scheme and ballots
    (``ballots`` as live.store.exports.ballot_dict gives them)."""
    result = scoring.score_item(scheme, [BallotValue(b["group"], b["choice"]) for b in ballots]).to_dict()
    digest = record.item_digest(item_id, position, presenter, scheme.to_dict(), ballots)
    return result, digest
