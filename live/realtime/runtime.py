"""Per-meeting live state held by each worker: the public state at ``seq``, a
ring of recent events for cheap replays, the ballots behind the live tally, and
the connected clients."""

from __future__ import annotations

import asyncio
import copy
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, TypeVar

from live.domain.running_tally import RunningTally
from live.domain.scheme import BallotValue, Scheme
from live.domain.scoring import live_tally
from live.domain.visibility import (
    DEFAULT_K,
    TallyBatcher,
    TallyBatching,
    Visibility,
    VisibilitySettings,
    tally_view,
)
from live.realtime.client import Client, fan_write
from live.realtime.frames import text_frame, text_frames
from live.realtime.sync import from_ring
from live.store.events import SeqEvent, encode
from live.store.state import State, apply_event

RING_SIZE = 2048
FAN_SLICE = 1000  # up to this many clients a fan-out is written at once; past it, by a task in slices
# A slice of a big fan-out ends once it has taken this long (checked every FAN_STEP clients), so the
# loop serves other sockets between slices: an ack waits behind a few ms of fan-out per loop turn,
# not behind 1,000 writes (on loopback each write also runs the receiver's TCP path: 1,000 of them
# took 30-280 ms on the shared box, and an ack needs several loop turns).
FAN_SLICE_S = 0.005
FAN_STEP = 100
FOLD_BYTES = 32 * 1024  # fan-out jobs waiting for the same clients go out in one write, up to this much
VOLATILE_SHARE = 0.25  # at most this share of the loop's time goes to whole-value updates for the audience
TALLY_SHARE = 0.05  # and at most this share to recomputing live tallies (10,000 ballots: ~25 ms each)
# A big room's phones get a whole value of these keys at most once per so many seconds (screens,
# hosts and the panel still get each one at once): a head count on a phone loses nothing by being
# a few seconds old, and during a join storm presence changes every second, which cost every
# phone a send a second (19,000 sends a second, ~15 % of a core). Small rooms get each one.
AUDIENCE_HOLD_S = {"presence": 5.0}
HOLD_FROM_AUDIENCE = 1000  # phones on this worker from which AUDIENCE_HOLD_S applies

V = TypeVar("V")


def take_due(waiting: dict[str, V], sent_at: dict[str, float], now: float, audience: int) -> list[V]:
    """The whole values the audience may have now, taken out of ``waiting``; a held key
    (``AUDIENCE_HOLD_S``, in a room of ``HOLD_FROM_AUDIENCE`` phones or more) stays in it until
    its hold since ``sent_at[key]`` is over. Notes in ``sent_at`` when a held key goes out."""
    due: list[V] = []
    for key in list(waiting):
        hold = AUDIENCE_HOLD_S.get(key, 0.0) if audience >= HOLD_FROM_AUDIENCE else 0.0
        if hold and now - sent_at.get(key, -hold) < hold:
            continue  # its turn comes with a later tick; a newer value may replace it
        due.append(waiting.pop(key))
        if key in AUDIENCE_HOLD_S:
            sent_at[key] = now
    return due


# Volatile messages that carry a whole value (the last one supersedes the others), by their encoded start.
_WHOLE_VALUES = (('{"type":"likes"', "likes"), ('{"type":"presence"', "presence"))
FRAME_CACHE = 512  # encoded frames kept for wires sent again (snapshots, replays, tallies on join)


class ClientSet(set[Client]):
    """The connected clients of a meeting, with their numbers by role kept up to date as
    they come and go, so that presence costs the same for 20 phones or 20,000."""

    def __init__(self, clients: Iterable[Client] = ()) -> None:
        super().__init__()
        self.roles: dict[str, int] = {}
        self.members: dict[int, int] = {}  # panel member id -> open sockets
        self.watchers: set[Client] = set()  # everyone but the audience: screens, hosts, panel, presenters
        self.audience: set[Client] = set()
        self.hosts: set[Client] = set()  # host consoles: they alone get the host's tally view
        self.stamp = 0  # counts joins; each client keeps the stamp it joined with
        self.update(clients)

    def add(self, client: Client) -> None:
        if client in self:
            return
        super().add(client)
        self.stamp += 1
        client.joined = self.stamp
        ident = client.identity
        (self.audience if ident.role == "audience" else self.watchers).add(client)
        if ident.role == "host":
            self.hosts.add(client)
        self.roles[ident.role] = self.roles.get(ident.role, 0) + 1
        if ident.member_id is not None:
            self.members[ident.member_id] = self.members.get(ident.member_id, 0) + 1

    def discard(self, client: object) -> None:
        if not isinstance(client, Client) or client not in self:
            return
        super().discard(client)
        self.watchers.discard(client)
        self.audience.discard(client)
        self.hosts.discard(client)
        ident = client.identity
        left = self.roles.get(ident.role, 0) - 1
        if left > 0:
            self.roles[ident.role] = left
        else:
            self.roles.pop(ident.role, None)
        if ident.member_id is not None:
            n = self.members.get(ident.member_id, 0) - 1
            if n > 0:
                self.members[ident.member_id] = n
            else:
                self.members.pop(ident.member_id, None)

    def remove(self, client: object) -> None:
        if client not in self:
            raise KeyError(client)
        self.discard(client)

    def pop(self) -> Client:
        client = next(iter(self))
        self.discard(client)
        return client

    def clear(self) -> None:
        super().clear()
        self.roles.clear()
        self.members.clear()
        self.watchers.clear()
        self.audience.clear()
        self.hosts.clear()

    def update(self, *others: Iterable[Client]) -> None:
        for other in others:
            for client in other:
                self.add(client)

    def difference_update(self, *others: Iterable[Any]) -> None:
        for other in others:
            for client in list(other):
                self.discard(client)

    def __ior__(self, other: Any) -> ClientSet:  # type: ignore[override, misc]
        self.update(other)
        return self

    def __isub__(self, other: Any) -> ClientSet:  # type: ignore[misc]
        self.difference_update(other)
        return self

    def _unsupported(self, *_: Any) -> Any:
        raise TypeError("ClientSet keeps counts: use add, discard, remove, pop, clear, update, difference_update")

    intersection_update = symmetric_difference_update = __iand__ = __ixor__ = _unsupported


class MeetingRuntime:
    def __init__(self, meeting_id: int, seq: int, state: State,
                 ballots: dict[int, dict[str, tuple[str, dict[str, Any]]]],
                 batching: TallyBatching | None = None) -> None:
        self.meeting_id = meeting_id
        self.code: str = state["meeting"]["code"]
        self.seq = seq
        self.state = state
        self.ring: deque[SeqEvent] = deque(maxlen=RING_SIZE)
        self.pending: dict[int, SeqEvent] = {}
        self._running: dict[int, RunningTally] = {}  # each item's tally, kept up to date ballot by ballot
        self._running_scheme: Scheme | None = None  # the scheme they were counted under
        self.batching = batching or TallyBatching()
        self._batchers: dict[int, TallyBatcher] = {}
        self._forced: set[int] = set()  # items whose public tally goes out at the next tick, batch or not
        self._public_sent: dict[int, str] = {}  # the last public tally wire of each item
        self.ballots = ballots
        self.clients: ClientSet = ClientSet()
        self.dirty_items: set[int] = set(ballots)
        self._snapshot_wire: tuple[int, str] | None = None
        self._tally_wire: dict[int, str] = {}  # the host's view
        self._tally_next: dict[int, float] = {}  # an item's tally is not recomputed before then
        self.remote_presence: dict[str, tuple[float, dict[str, Any]]] = {}
        self._presence_wire: str | None = None
        self._scheme: tuple[dict[str, Any], Scheme] | None = None
        # The fan-out: jobs (a wire and who gets it) served in order, a slice at a time.
        self._fan_jobs: deque[tuple[tuple[str, ...], bytes, tuple[Client, ...]]] = deque()
        self._frames: dict[str, bytes] = {}
        self._fanner: asyncio.Task[None] | None = None
        self.send_cost_s = 20e-6  # measured: loop time per message put on a socket
        # Whole-value updates for the audience not yet sent (the newest per key), and when they may go.
        self._volatile: dict[str, tuple[str, int]] = {}
        self._volatile_next = 0.0
        self._audience_sent: dict[str, float] = {}  # key -> when the audience last got it (held keys)
        self.volatile_interval_s = 0.0
        self.loop_lag_s = 0.0  # how late the hub's ticker woke, smoothed (set by the hub)

    @property
    def scheme(self) -> Scheme:
        """Parsed once per scheme: events replace the meeting (and its scheme dict) whole."""
        raw = self.state["meeting"]["scheme"]
        cached = self._scheme
        if cached is None or cached[0] is not raw:
            cached = self._scheme = (raw, Scheme.from_dict(raw))
        return cached[1]

    def item(self, item_id: int) -> dict[str, Any] | None:
        items: list[dict[str, Any]] = self.state["items"]
        return next((it for it in items if it["id"] == item_id), None)

    # --- sequenced events -------------------------------------------------

    def accept(self, ev: SeqEvent) -> list[SeqEvent]:
        """Take an event from the bus; return those now deliverable, in order.
        Anything ahead of a gap waits in ``pending`` until the gap is filled."""
        if ev.seq <= self.seq:
            return []
        self.pending[ev.seq] = ev
        ready: list[SeqEvent] = []
        before = {it["id"]: (it.get("phase"), it.get("result_hidden")) for it in self.state["items"]}
        visibility = self.state["meeting"].get("visibility")
        while self.seq + 1 in self.pending:
            nxt = self.pending.pop(self.seq + 1)
            apply_event(self.state, nxt.message)
            if nxt.message.get("cause") == "void" and nxt.message.get("type") == "item.updated":
                self._drop_ballots(int(nxt.message["item"]["id"]))
            self.seq = nxt.seq
            self.ring.append(nxt)
            ready.append(nxt)
        if ready:
            self._snapshot_wire = None
            self._note_view_changes(before, self.state["meeting"].get("visibility") != visibility)
        return ready

    @property
    def has_gap(self) -> bool:
        return bool(self.pending)

    def replay_from_ring(self, since: int) -> list[SeqEvent] | None:
        """Events after ``since`` if the ring still holds them all, else None."""
        return from_ring(self.ring, since, self.seq)

    @property
    def voting_open(self) -> bool:
        """Whether any item is in 测评 (ballots are coming in and waiting for acks)."""
        return any(it.get("phase") == "voting" for it in self.state["items"])

    def snapshot_wire(self) -> str:
        if self._snapshot_wire is None or self._snapshot_wire[0] != self.seq:
            msg = {"type": "snapshot", "seq": self.seq, "state": self.state}
            self._snapshot_wire = (self.seq, encode(msg))
        return self._snapshot_wire[1]

    def snapshot_copy(self) -> tuple[int, State]:
        return self.seq, copy.deepcopy(self.state)

    # --- live tally --------------------------------------------------------
    #
    # Each item's tally is computed once per change and shown two ways (live.domain.visibility):
    # the host's view goes to host sockets every tick it changes; everyone else's goes out in
    # coarse batches (TallyBatcher), and at once when the item closes or is revealed.

    @property
    def ballots(self) -> dict[int, dict[str, tuple[str, dict[str, Any]]]]:
        """Every ballot per item: ballot id -> (group, choice)."""
        return self._ballots

    @ballots.setter
    def ballots(self, ballots: dict[int, dict[str, tuple[str, dict[str, Any]]]]) -> None:
        self._ballots = ballots
        self._running.clear()
        self._running_scheme = None
        # After a (re)load nobody has been shown these yet: the next tick sends each once.
        self._forced.update(ballots)

    @property
    def visibility(self) -> VisibilitySettings:
        raw = self.state["meeting"].get("visibility") or {}
        return VisibilitySettings(Visibility(raw.get("mode", "live")), int(raw.get("small_group_k", DEFAULT_K)))

    def _batcher(self, item_id: int) -> TallyBatcher:
        b = self._batchers.get(item_id)
        if b is None:
            b = self._batchers[item_id] = self.batching.batcher()
        return b

    def apply_ballots(self, changes: list[list[Any]], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        per_item: dict[int, int] = {}
        for item_id, ballot_id, group, choice in changes:
            item, bid, grp = int(item_id), str(ballot_id), str(group)
            self._ballots.setdefault(item, {})[bid] = (grp, choice)
            self._running_tally(item).put(bid, grp, choice)  # O(1), a replaced ballot included
            self.dirty_items.add(item)
            per_item[item] = per_item.get(item, 0) + 1
        for item, n in per_item.items():
            self._batcher(item).note(n, now)

    def _drop_ballots(self, item_id: int) -> None:
        """A voided 测评: its ballots were cleared in the store, so the live tally starts from zero."""
        self._ballots.pop(item_id, None)
        self._running.pop(item_id, None)
        self._tally_wire.pop(item_id, None)
        self._public_sent.pop(item_id, None)  # a phone or live.json joining now must not get the voided round
        self.dirty_items.add(item_id)

    def tally(self, item_id: int) -> dict[str, Any]:
        """The whole tally of an item, as the scoring code computes it (never sent as is while voting)."""
        if item_id not in self._ballots:
            return live_tally(self.scheme, ())
        return self._running_tally(item_id).live()

    def _running_tally(self, item_id: int) -> RunningTally:
        """The item's running tally; all are counted afresh (once) when the scheme changed."""
        scheme = self.scheme
        if scheme is not self._running_scheme:
            self._running.clear()
            self._running_scheme = scheme
        running = self._running.get(item_id)
        if running is None:
            rows = self._ballots.get(item_id, {})
            running = self._running[item_id] = RunningTally(
                scheme, ((b, BallotValue(g, c)) for b, (g, c) in rows.items()))
        return running

    def _view(self, raw: dict[str, Any], item_id: int, *, host: bool) -> dict[str, Any] | None:
        item = self.item(item_id)
        phase = str(item["phase"]) if item else "voting"
        revealed = not (item or {}).get("result_hidden", False)
        return tally_view(raw, self.visibility, host=host, phase=phase, revealed=revealed)

    def _wire(self, item_id: int, view: dict[str, Any] | None) -> str | None:
        return None if view is None else encode({"type": "tally", "item_id": item_id, "tally": view})

    def tally_wire(self, item_id: int) -> str:
        """The host's view of an item's tally, encoded once per change. While the item has
        changes the ticker has not sent yet, the fresh view is not cached: the ticker compares
        against the cache to know what the connected hosts still lack."""
        wire = self._tally_wire.get(item_id)
        if wire is None or item_id in self.dirty_items or item_id in self._forced:
            wire = self._wire(item_id, self._view(self.tally(item_id), item_id, host=True)) or ""
            if item_id not in self.dirty_items and item_id not in self._forced:
                self._tally_wire[item_id] = wire
        return wire

    def take_tally_updates(self, now: float | None = None) -> list[tuple[int, str | None, str | None]]:
        """(item, host wire or None, public wire or None) for every item with something to send.

        The host's view is recomputed for each item with new ballots, less often when that is
        costly (many ballots), keeping it under ``TALLY_SHARE`` of the loop. The public view
        goes out when the item's batcher says so, or at once after a phase change or a reveal."""
        now = time.monotonic() if now is None else now
        out: list[tuple[int, str | None, str | None]] = []
        due = {i for i, b in self._batchers.items() if b.due(now)}
        for item_id in sorted(self.dirty_items | self._forced | due):
            forced = item_id in self._forced
            if not forced and now < self._tally_next.get(item_id, 0.0):
                continue
            start = time.perf_counter()
            raw = self.tally(item_id)
            self._tally_next[item_id] = now + (time.perf_counter() - start) / TALLY_SHARE
            host_wire = self._wire(item_id, self._view(raw, item_id, host=True)) or ""
            self.dirty_items.discard(item_id)
            host_out = None if host_wire == self._tally_wire.get(item_id) else host_wire
            self._tally_wire[item_id] = host_wire
            public_out: str | None = None
            if forced or item_id in due:
                self._forced.discard(item_id)
                self._batcher(item_id).sent(now)
                public = self._wire(item_id, self._view(raw, item_id, host=False))
                if public is not None and public != self._public_sent.get(item_id):
                    public_out = public
                    self._public_sent[item_id] = public
            if host_out or public_out:
                out.append((item_id, host_out, public_out))
        return out

    def group_counts(self, item_id: int) -> dict[str, dict[str, Any]]:
        """Ballots per group of the scheme: how many, never how cast."""
        n = self._running_tally(item_id).group_counts()
        return {g.key: {"label": g.label, "count": n[g.key]} for g in self.scheme.groups}

    def tallies_for_join(self, host: bool = True) -> list[str]:
        """A host gets its current view of each item; everyone else the last batch sent to
        everyone (never a fresher one: reconnecting must not beat the batching)."""
        if host:
            return [w for w in (self.tally_wire(item_id) for item_id in sorted(self.ballots)) if w]
        return [self._public_sent[i] for i in sorted(self._public_sent)]

    def _note_view_changes(self, before: dict[int, tuple[Any, Any]], meeting_changed: bool) -> None:
        """A phase change, a reveal or new settings change what each audience may see: send
        the tallies again at the next tick, past the batching (the last tally equals the result)."""
        for it in self.state["items"]:
            item_id = it["id"]
            if item_id not in self._ballots:
                continue
            if meeting_changed or before.get(item_id, (it.get("phase"), it.get("result_hidden"))) != (
                    it.get("phase"), it.get("result_hidden")):
                self._forced.add(item_id)
                self._tally_wire.pop(item_id, None)

    # --- presence ----------------------------------------------------------

    def local_presence(self) -> dict[str, Any]:
        counts = {"audience": 0, "screen": 0, "host": 0, "panel": 0, **self.clients.roles}
        return {**counts, "members": sorted(self.clients.members)}

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

    # --- fan-out -------------------------------------------------------------

    def frame(self, wire: str) -> bytes:
        """``wire``'s WebSocket frame, encoded once while it is among the last few sent."""
        data = self._frames.get(wire)
        if data is None:
            if len(self._frames) >= FRAME_CACHE:
                self._frames.clear()
            data = self._frames[wire] = text_frame(wire)
        return data

    def fan_out(self, wire: str) -> int:
        """Give ``wire`` to every client registered now, after whatever was fanned out before.

        A whole-value volatile message (``likes``, ``presence``) goes through
        :meth:`fan_out_volatile`. Returns how many clients it is for."""
        return self.fan_out_many((wire,))

    def fan_out_many(self, wires: Iterable[str]) -> int:
        """Several events in order (those of one commit): each ready socket gets them all in
        one write. Returns how many messages that makes."""
        events: list[str] = []
        n = 0
        for wire in wires:
            key = next((k for prefix, k in _WHOLE_VALUES if wire.startswith(prefix)), None)
            if key is not None:
                n += self.fan_out_volatile(key, wire)
            else:
                events.append(wire)
        if events:
            # Screens and consoles first: the hall sees a phase change before 19,000 phones do.
            n += len(events) * self._fan(tuple(events), (*self.clients.watchers, *self.clients.audience))
        return n

    def push_hosts(self, wire: str) -> int:
        """A host-only message (the host's tally view, participation) to this worker's host consoles."""
        hosts = tuple(self.clients.hosts)
        self._push((wire,), self.frame(wire), hosts)
        return len(hosts)

    def fan_out_volatile(self, key: str, wire: str, *, hosts: bool = True) -> int:
        """A whole value (a tally, the like count, presence) that the next one of the same
        ``key`` supersedes. Screens, hosts, panel tablets and presenters get it at once. The
        audience gets it at once too while the room is small; in a big room it gets the newest
        value of each key at most as often as keeps these updates under ``VOLATILE_SHARE`` of
        the loop (at 19,000 phones about every 1.5 s), so that ballots, acks and joins keep
        their pace. Nothing is lost: a phone always ends up with the newest value."""
        watchers = tuple(self.clients.watchers if hosts else self.clients.watchers - self.clients.hosts)
        self._push((wire,), self.frame(wire), watchers)  # a few sockets; need not wait behind events
        self._volatile[key] = (wire, self.clients.stamp)
        return len(watchers) + self.flush_volatile()

    def flush_volatile(self, now: float | None = None) -> int:
        """Send the audience the waiting whole values if their time has come (the hub's ticker
        calls this every tick). Returns how many messages that makes."""
        if not self._volatile:
            return 0
        now = time.monotonic() if now is None else now
        if now < self._volatile_next:
            return 0
        waiting = take_due(self._volatile, self._audience_sent, now, len(self.clients.audience))
        if not waiting:  # only held values: nothing to send, and the pacing stays as it was
            return 0
        audience = tuple(self.clients.audience)
        n = 0
        for wire, stamp in waiting:
            # A phone that joined after this value was made got a newer one with its welcome.
            n += self._fan((wire,), tuple(c for c in audience if c.joined <= stamp))
        # Busy loop (the hub's ticker wakes late): hold back longer still.
        self.volatile_interval_s = n * self.send_cost_s / VOLATILE_SHARE + 4 * self.loop_lag_s
        self._volatile_next = now + self.volatile_interval_s
        return n

    def _fan(self, wires: tuple[str, ...], recipients: tuple[Client, ...]) -> int:
        if not recipients:
            return 0
        data = self.frame(wires[0]) if len(wires) == 1 else text_frames(wires)
        if not self._fan_jobs and len(recipients) <= FAN_SLICE:
            self._push(wires, data, recipients)  # a small room: at once, as it always was
            return len(recipients)
        self._fan_jobs.append((wires, data, recipients))
        if self._fanner is None:
            self._fanner = asyncio.get_running_loop().create_task(self._serve_fan_jobs(), name="fan-out")
        return len(recipients)

    def _push(self, wires: tuple[str, ...], data: bytes, recipients: tuple[Client, ...]) -> None:
        """The same frames to each: written straight to each ready socket, else queued."""
        start = time.perf_counter()
        fan_write(recipients, wires, data)
        if len(recipients) >= 100:
            per = (time.perf_counter() - start) / len(recipients)
            self.send_cost_s += (per - self.send_cost_s) * 0.2

    async def _serve_fan_jobs(self) -> None:
        """One job after another, in order; between slices the loop serves other sockets, so a
        fan-out to 19,000 phones never stalls an ack for the whole time it takes."""
        try:
            while self._fan_jobs:
                wires, data, recipients = self._fold_next_job()
                start, total = 0, len(recipients)
                while start < total:
                    until = time.perf_counter() + FAN_SLICE_S
                    while start < total:
                        self._push(wires, data, recipients[start:start + FAN_STEP])
                        start += FAN_STEP
                        if time.perf_counter() >= until:
                            break
                    if start < total:
                        await asyncio.sleep(0)
                self._fan_jobs.popleft()
                await asyncio.sleep(0)
        finally:
            self._fanner = None

    def _fold_next_job(self) -> tuple[tuple[str, ...], bytes, tuple[Client, ...]]:
        """The next job, with the jobs queued right behind it for the same clients (a burst of
        commits while a fan-out was under way) folded into it: each socket gets all their
        events in order in one write instead of one write per job, and none of them later
        than it would have (they could not start before this one is done)."""
        jobs = self._fan_jobs
        wires, data, recipients = jobs[0]
        if len(jobs) < 2:
            return wires, data, recipients
        parts, size = [data], len(data)
        while len(jobs) > 1:
            w, d, r = jobs[1]
            if size + len(d) > FOLD_BYTES or (r is not recipients and r != recipients):
                break
            del jobs[1]
            wires += w
            parts.append(d)
            size += len(d)
        if len(parts) > 1:
            data = b"".join(parts)
            jobs[0] = (wires, data, recipients)
        return wires, data, recipients

    @property
    def fan_backlog(self) -> int:
        """Fan-out jobs waiting (0 when the room is quiet)."""
        return len(self._fan_jobs)
