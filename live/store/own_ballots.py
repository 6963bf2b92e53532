"""Reading joining phones' own ballots in batches.

Every join and reconnect needs the phone's own ballots (so a reloaded page keeps its
ballot ids). One query per join through a worker thread capped a reconnect storm at a few
hundred phones a second: the handful of pool threads each waited for the GIL a few times per
query. Instead, requests that arrive while a read is running wait for the next read, which
takes all of them in one query: one thread hop for hundreds of phones in a storm, and no
added wait for a single phone in a quiet room.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine

from live.store.ballots import my_ballots_many

Key = tuple[int, str]  # (meeting id, voter key)
# item id (as text, for JSON) -> {ballot_id, choice}; in a secret meeting only {voted: True}
Ballots = dict[str, dict[str, Any]]


class OwnBallots:
    def __init__(self, engine: Engine, max_batch: int = 2000) -> None:
        self.engine = engine
        self.max_batch = max_batch
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
