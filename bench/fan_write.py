"""How much of a fan-out is Python and how much is the write itself.

N loopback TCP sockets held by a uvloop loop (their far ends read by a child process), and
the same frame written to all of them, round after round, by different paths:

- ``write``: ``transport.write(frame)`` alone, in a bare loop (the floor: the syscall);
- ``push``: ``Client.push`` for each (what ``MeetingRuntime._push`` did per socket until
  ``client.fan_write``; ``push`` is still the way of a socket that is not ready);
- ``fan``: ``MeetingRuntime._push`` as it is now;
- ``fan4``: the same with four events folded into one write (per message).

Each round's CPU time (this process, ``process_time``, user + system: loopback delivery is charged to the
sender) per send, median over the rounds, paths taken in turn so that load on the box hits
them alike.

    python bench/fan_write.py --sockets 3000 --rounds 30 --size 1500
    python bench/fan_write.py --null --sockets 10000 --rounds 50   # no syscall: the Python alone
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import selectors
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvloop

from live.realtime.client import Client, Identity
from live.realtime.frames import text_frame, text_frames
from live.realtime.runtime import MeetingRuntime
from live.web.ws_protocol import LiveWebSocketProtocol, _Flag


def _reader(port: int, n: int, ready_w: int) -> None:
    """The child: open ``n`` connections and read whatever comes, until the parent goes."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    os.write(ready_w, b"x")
    while True:
        for key, _ in sel.select(1.0):
            try:
                if not key.fileobj.recv(1 << 16):  # type: ignore[union-attr]
                    os._exit(0)
            except OSError:
                os._exit(0)
        if os.getppid() == 1:
            os._exit(0)


class _Null:
    """A transport that takes writes and does nothing (C calls, as uvloop's are): ``--null``
    leaves the Python of each path alone, without the syscall and its noise."""

    __slots__ = ()
    write = len
    is_closing = bool


class _Sink(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport


def _shell(transport: Any) -> LiveWebSocketProtocol:
    """The socket protocol's state as after a handshake, over a plain transport."""
    p = object.__new__(LiveWebSocketProtocol)
    p.handshake_complete = True
    p.close_sent = False
    p.disconnected = False
    p._writable = p.writable = _Flag()  # type: ignore[assignment]
    p.transport = transport
    return p


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4096)
    port = lsock.getsockname()[1]
    ready_r, ready_w = os.pipe()
    pid = 0 if args.null else os.fork()
    if pid == 0 and not args.null:
        lsock.close()
        _reader(port, args.sockets, ready_w)
        os._exit(0)
    transports: list[Any] = []
    for _ in range(args.sockets):
        if args.null:
            transports.append(_Null())
            continue
        conn, _ = await loop.sock_accept(lsock)
        t, _ = await loop.connect_accepted_socket(_Sink, conn)
        transports.append(t)
    if not args.null:
        os.read(ready_r, 1)

    async def send(wire: str) -> None:
        raise AssertionError("the direct path was not taken")

    async def close(code: int, reason: str) -> None:
        return None

    state = {"meeting": {"code": "ABCDEF", "scheme": {}}, "items": [], "panel": []}
    rt = MeetingRuntime(1, 0, state, {})
    clients = []
    for t in transports:
        c = Client(Identity(role="audience"), send, close, direct=_shell(t))
        c.start()
        clients.append(c)
    recipients = tuple(clients)
    wire = '{"type":"meeting.updated","pad":"' + "x" * max(0, args.size - 34) + '"}'
    frame = text_frame(wire)

    def bare() -> None:
        for t in transports:
            t.write(frame)

    def push() -> None:
        for c in recipients:
            c.push(wire, frame)

    def fan() -> None:
        rt._push((wire,), frame, recipients)

    wires4 = (wire,) * 4
    frames4 = text_frames(wires4)

    def fan4() -> None:  # four jobs folded into one (FOLD_BYTES): one write of four frames a socket
        rt._push(wires4, frames4, recipients)

    paths: dict[str, Callable[[], None]] = {"write": bare, "push": push, "fan": fan, "fan4": fan4}
    cpu: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(args.rounds):
        for name, fn in paths.items():
            await asyncio.sleep(args.pause)  # the reader empties the sockets
            c0 = time.process_time()
            fn()
            cpu[name].append((time.process_time() - c0) / args.sockets)
    assert not any(c.dropped for c in clients)
    sent = sum(c.sent for c in clients)  # messages
    print(f"{args.sockets} sockets, {len(frame)} B frame, {args.rounds} rounds, load {os.getloadavg()[0]:.2f}; "
          f"{sent} sends through clients")
    base = statistics.median(cpu["write"])
    for name, xs in cpu.items():
        med = statistics.median(xs) / (4 if name == "fan4" else 1)  # per message
        low = min(xs) / (4 if name == "fan4" else 1)
        print(f"  {name:6s} median {med * 1e6:6.2f} µs/send (min {low * 1e6:6.2f}); "
              f"{(med - base) * 1e6:+6.2f} µs over the bare write; {1 / med:,.0f} sends/CPU-s")
    if not args.null:
        for t in transports:
            t.close()
        await asyncio.sleep(0.1)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--size", type=int, default=1500)
    ap.add_argument("--pause", type=float, default=0.05)
    ap.add_argument("--null", action="store_true", help="transports that do nothing: the Python alone")
    ap.add_argument("--smoke", action="store_true", help="200 sockets, 5 rounds (CI): every path runs once")
    parsed = ap.parse_args()
    if parsed.smoke:
        parsed.sockets, parsed.rounds = 200, 5
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(main(parsed))
