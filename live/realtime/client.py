"""One connected socket: a bounded outbound queue, so a phone that stops reading
is dropped instead of holding up the room.

A message goes out at once when nothing waits before it: the send coroutine is
run right there, and on an open socket it finishes without ever suspending (the
ASGI send only writes to the transport). Only when it does suspend (the socket's
write buffer is full: the phone reads slowly) is a task made to finish it, and
later messages wait, in order, in the bounded queue that the task drains. So a
fan-out to 19,000 phones costs no task switch and no future per phone, and an idle
phone holds no task and no queue at all.

Given a direct writer (``DirectWriter``, the socket's protocol), a message goes out as a
pre-encoded frame written straight to the transport: no coroutine, no ASGI message, no
framing per socket. A fan-out encodes its frame once and writes the same bytes to each
ready socket, several events of one commit in one write. A socket whose transport is
paused, or that has anything queued, takes the send/queue path above."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from live.realtime.frames import text_frame

log = logging.getLogger(__name__)

SLOW_CLOSE_CODE = 4008
SEND_FAILED_CLOSE_CODE = 1011  # a send raised: the socket is closed at once, not left silent
_CLOSE = "\x00close:"


@dataclass(slots=True)
class Identity:
    role: str  # host | panel | audience | screen | presenter
    voter_key: str | None = None
    group_source: str | None = None  # panel | public, for voters
    category: str | None = None
    name: str | None = None
    member_id: int | None = None
    device_id: str | None = None
    credential_id: int | None = None  # a redeemed ticket or roster voter
    # Why a phone may not vote (code, message), e.g. no ticket redeemed yet.
    refusal: tuple[str, str] | None = None
    # Which login opened the socket, so ending it closes the socket at once (live.realtime.hub
    # ``logout``): ``host:<key>`` (a host cookie's session), ``presenter-link`` or ``recorder``.
    login: str | None = None

    @property
    def can_vote(self) -> bool:
        return self.voter_key is not None


@dataclass(slots=True)
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


class DirectWriter(Protocol):
    """Writes whole frames to a socket's transport (live.web.ws_protocol)."""

    @property
    def direct_ok(self) -> bool: ...

    def write_frames(self, data: bytes) -> None: ...

    def write_if_ready(self, data: bytes) -> bool:
        """``write_frames(data)`` and True if ``direct_ok``, else False (nothing written)."""
        ...


Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Coroutine[Any, Any, None]]


class Backlog(deque[str]):
    """The messages waiting behind a send in flight (at most ``maxsize``)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def qsize(self) -> int:
        return len(self)

    def full(self) -> bool:
        return len(self) >= self.maxsize

    def empty(self) -> bool:
        return not self


class _Resume:
    """Awaiting it finishes a coroutine that was started by hand and suspended on
    ``first`` (what it yielded): the same delegation ``await`` does, picked up midway."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self.coro, self.first
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # cancelled (or closed) while waiting: pass it in
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                value = coro.send(sent)
            except StopIteration as stop:
                return stop.value


class Client:
    __slots__ = ("__weakref__", "_backlog", "_close", "_direct", "_send", "_started", "_task", "dropped",
                 "identity", "joined", "on_drop", "queue_size", "sent")

    def __init__(self, identity: Identity, send: Send, close: Close, queue_size: int = 256,
                 direct: DirectWriter | None = None) -> None:
        self.identity = identity
        self._direct = direct
        self._send = send
        self._close = close
        self.queue_size = queue_size
        self._backlog: Backlog | None = None  # made when a message first has to wait
        self.dropped = False
        self.sent = 0
        self._task: asyncio.Task[None] | None = None  # only while a send is in flight
        self._started = False
        self.on_drop: Callable[[Client], None] | None = None
        self.joined = 0  # the stamp of its registration in a meeting (see runtime.ClientSet)

    @property
    def queue(self) -> Backlog:
        """What waits to be sent (empty most of the time)."""
        return self._backlog if self._backlog is not None else Backlog(self.queue_size)

    def start(self) -> None:
        """From now on messages go out; any pushed before wait in order."""
        self._started = True
        if self._backlog and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    def push(self, wire: str, frame: bytes | None = None) -> bool:
        """Send ``wire`` (``frame``: its encoded frame, if the caller has it) or queue it."""
        if self.dropped:
            return False
        if self._task is None and self._started and not self._backlog and not wire.startswith(_CLOSE):
            direct = self._direct
            if direct is not None and direct.direct_ok:
                return self._write(direct, text_frame(wire) if frame is None else frame, 1)
            return self._send_now(wire)
        backlog = self._backlog
        if backlog is None:
            backlog = self._backlog = Backlog(self.queue_size)
        if len(backlog) >= self.queue_size:
            self.drop()
            return False
        backlog.append(wire)
        if self._task is None and self._started:
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return True

    def push_frames(self, wires: tuple[str, ...], frames: bytes) -> bool:
        """Several messages in order; ``frames`` is all of them encoded, written at once when
        the socket is ready, else each goes the way of ``push``."""
        if self.dropped:
            return False
        direct = self._direct
        if direct is not None and self._task is None and self._started and not self._backlog and direct.direct_ok:
            return self._write(direct, frames, len(wires))
        ok = True
        for wire in wires:
            ok = self.push(wire) and ok
        return ok

    def _write(self, direct: DirectWriter, data: bytes, n: int) -> bool:
        try:
            direct.write_frames(data)
        except Exception:  # the socket went away (or broke): close it now, as a failed send
            self._failed()
            return False
        self.sent += n
        return True

    def _send_now(self, wire: str) -> bool:
        coro = self._send(wire)
        if not isinstance(coro, Coroutine):  # some other awaitable: await it in a task
            self._task = asyncio.get_running_loop().create_task(self._finish(coro, None, started=False))
            return True
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            self.sent += 1
            return True
        except Exception:  # the socket went away (or broke): close it now
            self._failed()
            return False
        # The socket cannot take more now: finish this send in a task, queue what follows.
        self._task = asyncio.get_running_loop().create_task(self._finish(coro, waiting_on))
        return True

    async def _finish(self, coro: Awaitable[Any], waiting_on: Any, started: bool = True) -> None:
        try:
            if started:
                assert isinstance(coro, Coroutine)
                await _Resume(coro, waiting_on)
            else:
                await coro
            self.sent += 1
        except asyncio.CancelledError:
            self._task = None
            raise
        except Exception:
            self._task = None
            self._failed()
            return
        await self._drain()

    def drop(self) -> None:
        """Too slow: close it. On return it replays by seq or resyncs."""
        if self.dropped:
            return
        self.dropped = True
        if self._backlog is not None:
            self._backlog.clear()  # what it would have got is not kept for it
        if self.on_drop:
            self.on_drop(self)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(self._close(SLOW_CLOSE_CODE, "too slow"))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    def _failed(self) -> None:
        """A send raised. The socket is closed at once, so the phone is not left on a socket
        that says nothing until its own heartbeat gives up; closing ends the receive loop,
        which takes the client out of its meeting. The phone reconnects with ``since``."""
        if self.dropped:
            return
        self.dropped = True
        if self._backlog is not None:
            self._backlog.clear()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task: asyncio.Task[None] = loop.create_task(self._close(SEND_FAILED_CLOSE_CODE, "send failed"))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    def close_after_flush(self, code: int, reason: str) -> None:
        """Close once what is queued (such as the reason) has been sent."""
        if self.dropped:
            return
        self.push(f"{_CLOSE}{code}:{reason}")

    async def _drain(self) -> None:
        try:
            backlog = self._backlog
            while backlog and not self.dropped:
                wire = backlog.popleft()
                if wire.startswith(_CLOSE):
                    _, code, reason = wire.split(":", 2)
                    self.dropped = True
                    backlog.clear()
                    await self._close(int(code), reason)
                    return
                await self._send(wire)
                self.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away (or broke): close it now
            self._task = None
            self._failed()
        finally:
            self._task = None

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def fan_write(clients: Iterable[Client], wires: tuple[str, ...], data: bytes) -> None:
    """``wires`` (``data``: all of them as frames, back to back) to each of ``clients``, in
    order: the fan-out's hot loop. A started client with nothing in flight or waiting gets
    ``data`` written straight to its socket if the socket takes it now (one call per socket,
    the writer's ``write_if_ready``, then the transport's write); any other (no direct
    writer, paused, a send in flight, a backlog, dropped, closing) goes the way of ``push``,
    as before. A write that raises closes the socket as a failed send does."""
    n = len(wires)
    if n == 1 and wires[0].startswith(_CLOSE):  # never from a fan-out; push's rule all the same
        for c in clients:
            c.push(wires[0], data)
        return
    for c in clients:
        direct = c._direct
        if direct is not None and c._task is None and c._started and not c._backlog and not c.dropped:
            try:
                if direct.write_if_ready(data):
                    c.sent += n
                    continue
            except Exception:  # the socket went away (or broke)
                c._failed()
                continue
        if n == 1:
            c.push(wires[0], data)
        else:
            c.push_frames(wires, data)
