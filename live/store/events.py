"""Appending to the per-meeting event log inside the change's own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import update
from sqlmodel import Session, col, select

from live.store.models import Event, Meeting


@dataclass(frozen=True)
class SeqEvent:
    meeting_id: int
    seq: int
    message: dict[str, Any]
    wire: str  # the message encoded once, shared by every client


def encode(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def append(session: Session, meeting_id: int, events: list[dict[str, Any]], now_ms: int) -> list[SeqEvent]:
    """Take the next seqs atomically (the row lock serialises workers) and store the events."""
    if not events:
        return []
    stmt = (
        update(Meeting)
        .where(col(Meeting.id) == meeting_id)
        .values(last_seq=col(Meeting.last_seq) + len(events))
        .returning(col(Meeting.last_seq))
    )
    last = session.execute(stmt).scalar_one()
    first = last - len(events) + 1
    out: list[SeqEvent] = []
    for offset, body in enumerate(events):
        seq = first + offset
        message = {**body, "seq": seq}
        payload = encode(message)
        session.add(Event(meeting_id=meeting_id, seq=seq, type=body["type"], payload=payload, created_at_ms=now_ms))
        out.append(SeqEvent(meeting_id, seq, message, payload))
    return out


def since(session: Session, meeting_id: int, after_seq: int, limit: int) -> list[SeqEvent]:
    rows = session.exec(
        select(Event)
        .where(Event.meeting_id == meeting_id, col(Event.seq) > after_seq)
        .order_by(col(Event.seq))
        .limit(limit)
    ).all()
    return [SeqEvent(meeting_id, r.seq, orjson.loads(r.payload), r.payload) for r in rows]
