"""One connected socket: a bounded outbound queue drained by its own task, so a
phone that stops reading is dropped instead of holding up the room."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

SLOW_CLOSE_CODE = 4008


@dataclass
class Identity:
    role: str  # host | panel | audience | screen | presenter
    voter_key: str | None = None
    group_source: str | None = None  # panel | public, for voters
    category: str | None = None
    name: str | None = None
    member_id: int | None = None
    device_id: str | None = None

    @property
    def can_vote(self) -> bool:
        return self.voter_key is not None


@dataclass
class TokenBucket:
    """Per-connection message budget: ``rate`` a second, bursts up to ``burst``."""

    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    stamp: float = field(default_factory=time.monotonic)

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Coroutine[Any, Any, None]]


class Client:
    def __init__(self, identity: Identity, send: Send, close: Close, queue_size: int = 256) -> None:
        self.identity = identity
        self._send = send
        self._close = close
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.dropped = False
        self.sent = 0
        self._task: asyncio.Task[None] | None = None
        self.on_drop: Callable[[Client], None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._pump())

    def push(self, wire: str) -> bool:
        if self.dropped:
            return False
        try:
            self.queue.put_nowait(wire)
            return True
        except asyncio.QueueFull:
            self.drop()
            return False

    def drop(self) -> None:
        """Too slow: close it. On return it replays by seq or resyncs."""
        if self.dropped:
            return
        self.dropped = True
        if self.on_drop:
            self.on_drop(self)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(self._close(SLOW_CLOSE_CODE, "too slow"))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    def close_after_flush(self, code: int, reason: str) -> None:
        """Close once what is queued (such as the reason) has been sent."""
        self.queue.put_nowait(f"\x00close:{code}:{reason}") if not self.queue.full() else self.drop()

    async def _pump(self) -> None:
        try:
            while True:
                wire = await self.queue.get()
                if wire.startswith("\x00close:"):
                    _, code, reason = wire.split(":", 2)
                    self.dropped = True
                    await self._close(int(code), reason)
                    return
                await self._send(wire)
                self.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away; the receive loop notices and cleans up
            self.dropped = True

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
