"""Per-meeting live state held by each worker: the public state at ``seq``, a
ring of recent events for cheap replays, the ballots behind the live tally, and
the connected clients."""

from __future__ import annotations

import copy
import time
from collections import deque
from typing import Any

from live.domain.scheme import BallotValue, Scheme, live_tally
from live.realtime.client import Client
from live.store.events import SeqEvent, encode
from live.store.state import State, apply_event

RING_SIZE = 2048


class MeetingRuntime:
    def __init__(self, meeting_id: int, seq: int, state: State,
                 ballots: dict[int, dict[str, tuple[str, dict[str, Any]]]]) -> None:
        self.meeting_id = meeting_id
        self.code: str = state["meeting"]["code"]
        self.seq = seq
        self.state = state
        self.ring: deque[SeqEvent] = deque(maxlen=RING_SIZE)
        self.pending: dict[int, SeqEvent] = {}
        self.ballots = ballots
        self.clients: set[Client] = set()
        self.dirty_items: set[int] = set(ballots)
        self._snapshot_wire: tuple[int, str] | None = None
        self._tally_wire: dict[int, str] = {}
        self.remote_presence: dict[str, tuple[float, dict[str, Any]]] = {}
        self._presence_wire: str | None = None

    @property
    def scheme(self) -> Scheme:
        return Scheme.from_dict(self.state["meeting"]["scheme"])

    def item(self, item_id: int) -> dict[str, Any] | None:
        for it in self.state["items"]:
            if it["id"] == item_id:
                return it
        return None

    # --- sequenced events -------------------------------------------------

    def accept(self, ev: SeqEvent) -> list[SeqEvent]:
        """Take an event from the bus; return those now deliverable, in order.
        Anything ahead of a gap waits in ``pending`` until the gap is filled."""
        if ev.seq <= self.seq:
            return []
        self.pending[ev.seq] = ev
        ready: list[SeqEvent] = []
        while self.seq + 1 in self.pending:
            nxt = self.pending.pop(self.seq + 1)
            apply_event(self.state, nxt.message)
            self.seq = nxt.seq
            self.ring.append(nxt)
            ready.append(nxt)
        if ready:
            self._snapshot_wire = None
        return ready

    @property
    def has_gap(self) -> bool:
        return bool(self.pending)

    def replay_from_ring(self, since: int) -> list[SeqEvent] | None:
        """Events after ``since`` if the ring still holds them all, else None."""
        if since == self.seq:
            return []
        if since > self.seq or not self.ring or self.ring[0].seq > since + 1:
            return None
        return [e for e in self.ring if e.seq > since]

    def snapshot_wire(self) -> str:
        if self._snapshot_wire is None or self._snapshot_wire[0] != self.seq:
            msg = {"type": "snapshot", "seq": self.seq, "state": self.state}
            self._snapshot_wire = (self.seq, encode(msg))
        return self._snapshot_wire[1]

    def snapshot_copy(self) -> tuple[int, State]:
        return self.seq, copy.deepcopy(self.state)

    # --- live tally --------------------------------------------------------

    def apply_ballots(self, changes: list[list[Any]]) -> None:
        for item_id, ballot_id, group, choice in changes:
            self.ballots.setdefault(int(item_id), {})[str(ballot_id)] = (str(group), choice)
            self.dirty_items.add(int(item_id))

    def tally(self, item_id: int) -> dict[str, Any]:
        scheme = self.scheme
        values = [BallotValue(g, c) for g, c in self.ballots.get(item_id, {}).values()]
        return live_tally(scheme, values)

    def tally_wire(self, item_id: int) -> str:
        wire = self._tally_wire.get(item_id)
        if wire is None:
            wire = encode({"type": "tally", "item_id": item_id, "tally": self.tally(item_id)})
            self._tally_wire[item_id] = wire
        return wire

    def take_dirty_tallies(self) -> list[str]:
        out: list[str] = []
        for item_id in sorted(self.dirty_items):
            self._tally_wire.pop(item_id, None)
            out.append(self.tally_wire(item_id))
        self.dirty_items.clear()
        return out

    def tallies_for_join(self) -> list[str]:
        return [self.tally_wire(item_id) for item_id in sorted(self.ballots)]

    # --- presence ----------------------------------------------------------

    def local_presence(self) -> dict[str, Any]:
        counts = {"audience": 0, "screen": 0, "host": 0, "panel": 0}
        members: set[int] = set()
        for c in self.clients:
            role = c.identity.role
            counts[role] = counts.get(role, 0) + 1
            if c.identity.member_id is not None:
                members.add(c.identity.member_id)
        return {**counts, "members": sorted(members)}

    def presence(self, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        total = self.local_presence()
        members = set(total.pop("members"))
        for worker, (seen, counts) in list(self.remote_presence.items()):
            if now - seen > 5.0:
                del self.remote_presence[worker]
                continue
            for k, v in counts.items():
                if k == "members":
                    members.update(v)
                else:
                    total[k] = total.get(k, 0) + int(v)
        panel_total = sum(1 for p in self.state["panel"] if not p.get("revoked"))
        return {"type": "presence", "audience": total.get("audience", 0), "screens": total.get("screen", 0),
                "hosts": total.get("host", 0), "panel_online": sorted(members), "panel_total": panel_total}

    def presence_wire_if_changed(self) -> str | None:
        wire = encode(self.presence())
        if wire == self._presence_wire:
            return None
        self._presence_wire = wire
        return wire

    def fan_out(self, wire: str) -> int:
        n = 0
        for c in list(self.clients):
            if c.push(wire):
                n += 1
        return n
