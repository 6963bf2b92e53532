"""When the cyclic garbage collector may look at the connections of a full room.

At 19,000 sockets a worker holds ~2.5 million GC-tracked objects (uvicorn's protocol,
starlette's scope, the suspended coroutines of each connection). A full collection walks
all of them and stops the event loop for well over a second, and Python runs one whenever
enough new objects have survived: during a join storm or a vote burst, exactly when the
room is waiting for acks. Those objects live as long as their socket, so scanning them
again and again finds nothing.

The policy: while the room is big, move everything alive into the permanent generation
(``gc.freeze``) every few seconds, so that collections only see what is new. Frozen
objects are still freed by reference counting when a phone leaves; only garbage in
reference cycles waits. When the room has emptied, or enough phones have left since the
first freeze that their cycles could matter, everything is unfrozen and collected once,
when that pause costs the least: not while a 测评 is open, unless three rooms' worth of
phones have left (the bound on memory held that way).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Protocol


class GcLike(Protocol):
    def freeze(self) -> None: ...
    def unfreeze(self) -> None: ...
    def collect(self) -> int: ...


@dataclass
class GcPolicy:
    big_room: int = 2000  # below this many sockets a full collection is short: leave Python's defaults
    every_s: float = 5.0
    gc: GcLike = field(default=gc)
    frozen: bool = False
    peak: int = 0  # sockets at their highest since the first freeze
    left: int = 0  # sockets closed since the first freeze
    last: float = float("-inf")
    last_clients: int = 0
    thaws: int = 0

    def observe_leave(self, n: int = 1) -> None:
        if self.frozen:
            self.left += n

    def tick(self, now: float, clients: int, voting: bool = False) -> str | None:
        """Called by the hub's ticker with the worker's open sockets and whether any 测评 is
        open (a pause then delays acks); says what it did."""
        if now - self.last < self.every_s:
            return None
        self.last = now
        self.last_clients = clients
        turned_over = self.left > max(self.peak, 1) * (3 if voting else 1)
        if self.frozen and (clients < self.big_room // 2 or turned_over):
            # The room emptied, or as many phones left as it ever held (a reconnect storm
            # or two): collect their cycles now, in one pause, and start over.
            self.gc.unfreeze()
            self.gc.collect()
            self.frozen, self.peak, self.left = False, 0, 0
            self.thaws += 1
            return "thaw"
        if clients >= self.big_room:
            self.gc.freeze()
            self.frozen = True
            self.peak = max(self.peak, clients)
            return "freeze"
        return None
