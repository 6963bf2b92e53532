"""While the bus is down, each worker follows the PostgreSQL event log itself.

With Redis unreachable a worker still delivers what it committed to its own sockets, but
nothing from the other workers reaches it: their phones would stay behind until Redis
returned. So every ``every_s`` while the broker is not healthy, for every meeting it holds,
the worker reads the events after its seq from the log (in seq order, the same rows a
reconnecting client is replayed from) and fans them out as if the bus had brought them. The
ballots behind the live tallies come from the database too: re-read after any new event (this
worker's own close of a 测评 included) and every ``ballots_every_s`` while voting, and applied
only when they differ, so every worker's phones show the same tally, the final one included,
before Redis is back. The log also covers the worker's own events: the broker hands them to
this worker only after its publish to the dead Redis failed, which can take seconds.
When the bus returns, the hub's ``resync_all`` runs as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from live.realtime.broker import Broker
from live.realtime.runtime import MeetingRuntime
from live.realtime.sync import LOG_REPLAY_LIMIT
from live.store.events import SeqEvent

log = logging.getLogger(__name__)

FOLLOW_EVERY_S = 0.5  # a phone on another worker is at most this (plus a read) behind
BALLOTS_EVERY_S = 2.0


class FollowedHub(Protocol):
    """What the follower uses of the hub (live.realtime.hub.Hub)."""

    broker: Broker
    runtimes: dict[int, MeetingRuntime]

    def _events_since(self, meeting_id: int, since: int, limit: int) -> list[SeqEvent]: ...
    def _ballots(self, meeting_id: int) -> dict[int, dict[str, tuple[str, dict[str, Any]]]]: ...
    def _fan(self, rt: MeetingRuntime, ready: list[SeqEvent]) -> None: ...


class LogFollower:
    def __init__(self, hub: FollowedHub, every_s: float = FOLLOW_EVERY_S,
                 ballots_every_s: float = BALLOTS_EVERY_S) -> None:
        self.hub = hub
        self.every_s = every_s
        self.ballots_every_s = ballots_every_s
        self.reads = 0  # log reads made while the bus was down (for tests and /metrics)
        self.events = 0  # events found in the log that the bus had not brought
        self._ballots_at: dict[int, tuple[float, int]] = {}  # meeting -> when read, at which seq

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            if self.hub.broker.healthy:
                self._ballots_at.clear()
                continue
            for rt in list(self.hub.runtimes.values()):
                try:
                    await self.follow(rt)
                except Exception:
                    log.exception("following the event log failed for meeting %s", rt.meeting_id)

    async def follow(self, rt: MeetingRuntime) -> None:
        hub = self.hub
        missing = await asyncio.to_thread(hub._events_since, rt.meeting_id, rt.seq, LOG_REPLAY_LIMIT)
        self.reads += 1
        for ev in missing:
            ready = rt.accept(ev)
            self.events += len(ready)
            hub._fan(rt, ready)
        now = time.monotonic()
        # Any event since the last read (this worker's own close of a 测评 included) or, while
        # voting, the interval: read the ballots again.
        read_at, read_seq = self._ballots_at.get(rt.meeting_id, (0.0, -1))
        if read_seq != rt.seq or (rt.voting_open and now - read_at >= self.ballots_every_s):
            self._ballots_at[rt.meeting_id] = (now, rt.seq)
            fresh: dict[int, dict[str, tuple[str, dict[str, Any]]]] = await asyncio.to_thread(hub._ballots,
                                                                                               rt.meeting_id)
            if fresh != rt.ballots:
                rt.ballots = fresh
                rt.dirty_items.update(fresh)
