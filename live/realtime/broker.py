"""The bus between workers. In-process by default; Redis pub/sub by URL so that
several workers serve one meeting. Bus messages are small dicts:

- ``{"k": "events", "m": meeting_id, "events": [wire, ...]}``: committed, sequenced events;
- ``{"k": "ballots", "m": meeting_id, "changes": [[item_id, ballot_id, group, choice], ...]}``;
- ``{"k": "presence", "w": worker_id, "m": meeting_id, "counts": {...}}``;
- ``{"k": "revoke", "m": meeting_id, "member": member_id, "why": "panel.revoke" | "panel.release"}``:
  close that member's open tablets.
- ``{"k": "release", "m": meeting_id, "credential": id}``: close the sockets of a released
  ticket or roster voter.
- ``{"k": "logout", "m": meeting_id, "who": "session", "session": key}``: close the sockets of one
  host login (``key`` is :func:`live.realtime.hub.session_key` of its id, never the id itself);
  ``"who": "hosts"`` closes every host login's and recorder's socket (the host password changed);
  ``"who": "presenter_link"`` closes the sockets opened with the presenter's link (a new link).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)

Deliver = Callable[[dict[str, Any]], Awaitable[None]]
CHANNEL = "live:bus"


class Broker(Protocol):
    healthy: bool
    status: str

    async def start(self, deliver: Deliver) -> None: ...
    def publish(self, message: dict[str, Any]) -> None: ...
    async def stop(self) -> None: ...


class LocalBroker:
    """Delivers in order on the event loop; there is only this worker."""

    healthy = True
    status = "in-process"

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._task = asyncio.create_task(self._pump(), name="local-broker")

    def publish(self, message: dict[str, Any]) -> None:
        self._queue.put_nowait(message)

    async def _pump(self) -> None:
        assert self._deliver is not None
        while True:
            msg = await self._queue.get()
            try:
                await self._deliver(msg)
            except Exception:
                log.exception("delivery failed")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class RedisBroker:
    """Redis pub/sub. Publishing keeps order through one sender task; when Redis
    is unreachable the worker keeps serving its own clients (it delivers its own
    messages locally), reports ``degraded`` and reconnects by itself. Clients on
    other workers catch up by seq once the bus is back."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self.healthy = False
        self.status = "connecting"
        self._deliver: Deliver | None = None
        self._out: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100_000)
        self._tasks: list[asyncio.Task[None]] = []
        self.on_recover: Callable[[], Awaitable[None]] | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._tasks = [asyncio.create_task(self._listen(), name="redis-listen"),
                       asyncio.create_task(self._send(), name="redis-send")]

    def publish(self, message: dict[str, Any]) -> None:
        if not self.healthy and message.get("k") == "presence":
            # Each publish to a dead Redis fails only after its connect attempts; a presence
            # count a second would queue this worker's own events behind them.
            return
        try:
            self._out.put_nowait(message)
        except asyncio.QueueFull:
            log.error("redis publish queue full; dropping a bus message")

    def _client(self) -> Any:
        import redis.asyncio as redis

        return redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=None,
                              health_check_interval=5)

    async def _send(self) -> None:
        assert self._deliver is not None
        client = self._client()
        while True:
            msg = await self._out.get()
            data = orjson.dumps(msg)
            try:
                await client.publish(self.channel, data)
            except Exception as exc:
                self._degrade(exc)
                # Our own clients must not miss what we committed.
                await self._deliver(msg)
                with contextlib.suppress(Exception):
                    await client.aclose()
                client = self._client()

    async def _listen(self) -> None:
        assert self._deliver is not None
        backoff = 0.2
        while True:
            client = self._client()
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                was_down = not self.healthy
                self.healthy = True
                self.status = "redis"
                backoff = 0.2
                if was_down and self.on_recover is not None:
                    await self.on_recover()
                async for raw in pubsub.listen():
                    if raw.get("type") != "message":
                        continue
                    try:
                        await self._deliver(orjson.loads(raw["data"]))
                    except Exception:
                        log.exception("bad bus message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._degrade(exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _degrade(self, exc: Exception) -> None:
        if self.healthy:
            log.warning("redis bus lost: %s", exc)
        self.healthy = False
        self.status = "degraded"

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


def make_broker(redis_url: str | None, channel: str = CHANNEL) -> Broker:
    return RedisBroker(redis_url, channel) if redis_url else LocalBroker()
