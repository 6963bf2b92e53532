"""What a joining client gets after its ``welcome``, decided without any I/O.

In the manner of a sans-I/O protocol core: :class:`MeetingSync` is given the client's
``since``, the runtime's seq and its ring of recent events (and, when it asked for one,
what a log read returned) and answers with a :class:`SyncPlan`: which frames to send, or
that the hub must read the log first. The hub only does the reading and the sending.

The choices, in order:

- no ``since``: a ``snapshot``;
- ``since`` equal to the seq: an empty ``replay``;
- ``since`` ahead of the seq (a database restored from a backup): ``resync`` ``ahead``, snapshot;
- every event after ``since`` still in the ring (``RING_SIZE``): a ``replay`` from memory;
- else, when at most ``LOG_REPLAY_LIMIT`` events are missing: read them from the log, then a
  ``replay`` of the log's events plus any that reached the ring meanwhile, if together they
  run without a hole from ``since + 1`` to the seq;
- else: ``resync`` ``gap_too_old``, snapshot.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from live.store.events import SeqEvent, encode

LOG_REPLAY_LIMIT = 1000  # beyond this a reconnecting client is cheaper to resync


@dataclass(frozen=True)
class SyncPlan:
    """``read_log``: the hub reads the events after ``since`` (at most ``LOG_REPLAY_LIMIT``) and
    calls :meth:`MeetingSync.after_log`. Otherwise ``replay`` (events to send after a ``replay``
    header) or a snapshot, preceded by ``resync`` when ``reason`` is set."""

    kind: Literal["snapshot", "replay", "read_log"]
    since: int | None
    seq: int
    events: list[SeqEvent] = field(default_factory=list)
    reason: Literal["gap_too_old", "ahead"] | None = None


def from_ring(ring: Sequence[SeqEvent], since: int, seq: int) -> list[SeqEvent] | None:
    """Events after ``since`` if the (dense) ring still holds them all, else None."""
    if since == seq:
        return []
    if since > seq or not ring or ring[0].seq > since + 1:
        return None
    return list(itertools.islice(ring, since + 1 - ring[0].seq, None))


class MeetingSync:
    """Pure decisions for one join; see the module docstring."""

    def __init__(self, log_limit: int = LOG_REPLAY_LIMIT) -> None:
        self.log_limit = log_limit

    def plan(self, since: int | None, seq: int, ring: Sequence[SeqEvent]) -> SyncPlan:
        if since is None:
            return SyncPlan("snapshot", None, seq)
        if since > seq:
            return SyncPlan("snapshot", since, seq, reason="ahead")
        events = from_ring(ring, since, seq)
        if events is not None:
            return SyncPlan("replay", since, seq, events)
        if since >= 0 and seq - since <= self.log_limit:
            return SyncPlan("read_log", since, seq)
        return SyncPlan("snapshot", since, seq, reason="gap_too_old")

    def after_log(self, since: int, seq: int, logged: list[SeqEvent], ring: Sequence[SeqEvent]) -> SyncPlan:
        """The log's events after ``since``, joined to what reached the ring while it was read;
        ``seq`` is the runtime's seq now."""
        last = logged[-1].seq if logged else since
        tail = [e for e in from_ring(ring, last, seq) or [] if e.seq > last]
        events = [*logged, *tail]
        if events and events[0].seq == since + 1 and events[-1].seq == seq:
            return SyncPlan("replay", since, seq, events)
        if not events and since == seq:
            return SyncPlan("replay", since, seq, [])
        return SyncPlan("snapshot", since, seq, reason="ahead" if since > seq else "gap_too_old")

    @staticmethod
    def frames(plan: SyncPlan, snapshot_wire: Callable[[], str]) -> list[str]:
        """The encoded frames the plan sends, in order (never for ``read_log``)."""
        if plan.kind == "read_log":
            raise ValueError("read the log first")
        if plan.kind == "replay":
            header = encode({"type": "replay", "from_seq": plan.since, "to_seq": plan.seq, "count": len(plan.events)})
            return [header, *(e.wire for e in plan.events)]
        out: list[str] = []
        if plan.reason is not None:
            out.append(encode({"type": "resync", "reason": plan.reason, "seq": plan.seq}))
        out.append(snapshot_wire())
        return out
