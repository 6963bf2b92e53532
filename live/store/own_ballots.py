"""Reading joining phones' own ballots in batches.

Every join and reconnect needs the phone's own ballots (so a reloaded page keeps its
ballot ids). One query per join through a worker thread capped a reconnect storm at a few
hundred phones a second: the handful of pool threads each waited for the GIL a few times per
query. Instead, requests that arrive while a read is running wait for the next read, which
takes all of them in one query: one thread hop for hundreds of phones in a storm, and no
added wait for a single phone in a quiet room. In a storm (a read finished less than
``STORM_GAP_S`` ago) a read first waits ``gather_s`` for more phones: at a few hundred joins a
second a read takes a millisecond, so without the wait nearly every join paid a thread hop,
a pool checkout and a query of its own.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import Engine

from live.store.ballots import my_ballots_many

Key = tuple[int, str]  # (meeting id, voter key)
# item id (as text, for JSON) -> {ballot_id, choice}; in a secret meeting only {voted: True}
Ballots = dict[str, dict[str, Any]]
STORM_GAP_S = 0.05  # a read this soon after the last one is part of a storm


class OwnBallots:
    def __init__(self, engine: Engine, max_batch: int = 2000, gather_s: float = 0.01) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.gather_s = gather_s
        self._last_read = -1.0
        self._waiting: dict[Key, list[asyncio.Future[Ballots]]] = {}
        self._reading = False
        self.reads = 0  # queries run, for the tests and the bench

    async def get(self, meeting_id: int, voter_key: str) -> Ballots:
        fut: asyncio.Future[Ballots] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((meeting_id, voter_key), []).append(fut)
        if not self._reading:
            self._reading = True
            asyncio.get_running_loop().create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        try:
            while self._waiting:
                if (len(self._waiting) < self.max_batch
                        and time.monotonic() - self._last_read < STORM_GAP_S):
                    await asyncio.sleep(self.gather_s)
                keys = list(self._waiting)[:self.max_batch]
                batch = {k: self._waiting.pop(k) for k in keys}
                try:
                    found = await asyncio.to_thread(self._read, keys)
                except Exception as exc:  # every waiter hears of it; the next batch tries again
                    for futs in batch.values():
                        for f in futs:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                finally:
                    self._last_read = time.monotonic()
                for key, futs in batch.items():
                    for f in futs:
                        if not f.done():  # a phone that left meanwhile cancelled its wait
                            f.set_result(found.get(key, {}))
        finally:
            self._reading = False

    def _read(self, keys: list[Key]) -> dict[Key, Ballots]:
        by_meeting: dict[int, list[str]] = {}
        for mid, voter in keys:
            by_meeting.setdefault(mid, []).append(voter)
        out: dict[Key, Ballots] = {}
        with self.engine.connect() as conn:  # plain reads: no ORM session
            for mid, voters in by_meeting.items():
                self.reads += 1
                for voter, ballots in my_ballots_many(conn, mid, voters).items():
                    out[(mid, voter)] = {str(item): b for item, b in ballots.items()}
        return out
