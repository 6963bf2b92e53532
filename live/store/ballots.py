"""Storing a batch of ballots in one transaction (group commit).

Each ballot in the batch gets its own outcome; one bad ballot never fails the
others. The item rows are read FOR SHARE so that a host closing 测评 on another
worker waits for this batch, and this batch sees the close if it came first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from live.domain.phases import ItemPhase, MeetingStatus, PhaseError, check_can_vote
from live.store.models import AgendaItem, Ballot, Meeting


@dataclass(frozen=True)
class BallotJob:
    meeting_id: int
    item_id: int
    ballot_id: str
    voter_key: str
    group: str
    choice: dict[str, Any]


@dataclass(frozen=True)
class BallotOutcome:
    ok: bool
    status: str  # stored | replaced | duplicate | error
    code: str = ""
    message: str = ""
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class TallyChange:
    meeting_id: int
    item_id: int
    ballot_id: str
    group: str
    choice: dict[str, Any]


def _error(code: str, message: str, **extra: Any) -> BallotOutcome:
    return BallotOutcome(False, "error", code, message, extra or None)


def store_batch(s: Session, jobs: list[BallotJob], now_ms: int) -> tuple[list[BallotOutcome], list[TallyChange]]:
    item_ids = sorted({j.item_id for j in jobs})
    items = {i.id: i for i in s.exec(select(AgendaItem).where(col(AgendaItem.id).in_(item_ids))
                                     .with_for_update(read=True)).all()}
    meeting_ids = sorted({i.meeting_id for i in items.values()})
    statuses = {m.id: m.status for m in s.exec(select(Meeting).where(col(Meeting.id).in_(meeting_ids))).all()}
    by_id = {b.id: b for b in s.exec(select(Ballot).where(col(Ballot.id).in_([j.ballot_id for j in jobs]))).all()}
    pairs = [(j.item_id, j.voter_key) for j in jobs]
    by_voter = {
        (b.item_id, b.voter_key): b
        for b in s.exec(select(Ballot).where(tuple_(col(Ballot.item_id), col(Ballot.voter_key)).in_(pairs))).all()
    }
    outcomes: list[BallotOutcome] = []
    changes: list[TallyChange] = []
    for j in jobs:
        item = items.get(j.item_id)
        if item is None or item.meeting_id != j.meeting_id:
            outcomes.append(_error("not_found", "议程中没有该述法人"))
            continue
        try:
            check_can_vote(MeetingStatus(statuses[item.meeting_id]), ItemPhase(item.phase))
        except PhaseError as exc:
            outcomes.append(_error(exc.code, exc.message))
            continue
        choice_json = orjson.dumps(j.choice, option=orjson.OPT_SORT_KEYS).decode()
        same_id = by_id.get(j.ballot_id)
        if same_id is not None:
            if same_id.voter_key != j.voter_key or same_id.item_id != j.item_id:
                outcomes.append(_error("ballot_id_taken", "选票编号冲突，请刷新页面后重新投票"))
                continue
            if same_id.choice_json == choice_json:
                outcomes.append(BallotOutcome(True, "duplicate"))
                continue
            same_id.choice_json = choice_json
            same_id.cast_at_ms = now_ms
            s.add(same_id)
            outcomes.append(BallotOutcome(True, "replaced"))
            changes.append(TallyChange(j.meeting_id, j.item_id, j.ballot_id, j.group, j.choice))
            continue
        mine = by_voter.get((j.item_id, j.voter_key))
        if mine is not None:
            outcomes.append(_error("already_voted", "您已对该述法人投过票；如需修改，请在原选票上修改",
                                   ballot_id=mine.id, choice=orjson.loads(mine.choice_json)))
            continue
        row = Ballot(id=j.ballot_id, meeting_id=j.meeting_id, item_id=j.item_id, voter_key=j.voter_key,
                     voter_group=j.group, choice_json=choice_json, cast_at_ms=now_ms)
        s.add(row)
        by_id[row.id] = row
        by_voter[(j.item_id, j.voter_key)] = row
        outcomes.append(BallotOutcome(True, "stored"))
        changes.append(TallyChange(j.meeting_id, j.item_id, j.ballot_id, j.group, j.choice))
    return outcomes, changes


def is_conflict(exc: Exception) -> bool:
    return isinstance(exc, IntegrityError)


def my_ballots(s: Session, meeting_id: int, voter_key: str) -> dict[int, dict[str, Any]]:
    """A voter's own live ballots, so a reloaded page keeps its ballot ids."""
    rows = s.exec(select(Ballot).where(Ballot.meeting_id == meeting_id, Ballot.voter_key == voter_key)).all()
    return {r.item_id: {"ballot_id": r.id, "choice": orjson.loads(r.choice_json)} for r in rows}


def item_ballots(s: Session, meeting_id: int) -> dict[int, dict[str, tuple[str, dict[str, Any]]]]:
    """Every stored ballot per item, for rebuilding the live tallies."""
    out: dict[int, dict[str, tuple[str, dict[str, Any]]]] = {}
    for r in s.exec(select(Ballot).where(Ballot.meeting_id == meeting_id)).all():
        out.setdefault(r.item_id, {})[r.id] = (r.voter_group, orjson.loads(r.choice_json))
    return out
