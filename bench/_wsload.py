"""A load-client process for the benchmarks: thousands of raw WebSocket clients on
one event loop, driven by JSON lines on stdin, answering with JSON lines on stdout.

Not a benchmark itself (the CI loop skips files starting with ``_``; run as a
script with ``--smoke`` and no ``--serve`` it exits 0 at once).

Each phone is a bare asyncio protocol (handshake, unmasked server frames, masked
client frames, pong) so that the load client costs far less CPU than the server
it measures. A phone keeps the ``seq`` of the last snapshot or event it applied,
counts gaps, and reconnects with ``since=<seq>`` after a jittered backoff shaped
like frontend/shared/client.js (ceiling 500 ms doubling to 10 s, delay in [ceiling/2, ceiling]; after a
4429 close, 10 to 20 s).

The process stops by itself: on EOF of stdin (its parent went away) and after
``--max-seconds`` whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import sys
import time
from typing import Any

import orjson
from websockets.frames import apply_mask

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 10.0
FULL_CLOSE, FULL_RETRY_S = 4429, 10.0  # close code and retry hint of a full server (docs/protocol.md)
SEQ_FREE = frozenset({"ack", "error", "resync", "replay", "snapshot", "welcome"})


def client_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + mask + apply_mask(payload, mask)


class Phone(asyncio.Protocol):
    """One socket; the same object is reused across reconnects."""

    __slots__ = ("acks", "attempt", "buf", "close_code", "closing", "cookie", "device", "dialing", "dropped_at",
                 "frag", "gaps", "lg", "open", "ready", "ready_at", "replay_to", "replays", "resynced_at", "resyncs",
                 "role", "seen", "seq", "snapshots", "started", "tally", "timeline", "transport", "upgraded",
                 "waiter", "want_back")

    def __init__(self, lg: LoadGen, device: int, role: str, cookie: str | None) -> None:
        self.lg = lg
        self.device = device
        self.role = role
        self.cookie = cookie
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.frag: bytearray | None = None
        self.upgraded = False
        self.open = False
        self.ready = False  # past its snapshot (or replay) on the current connection
        self.closing = False
        self.dialing = False
        self.seq: int | None = None
        self.started = 0.0  # first attempt of the current (re)join
        self.ready_at = 0.0
        self.attempt = 0
        self.close_code: int | None = None
        self.gaps = 0
        self.snapshots = 0
        self.replays = 0
        self.resyncs = 0
        self.replay_to: int | None = None
        self.dropped_at = 0.0
        self.resynced_at = 0.0
        self.want_back = False
        self.acks: dict[str, float] = {}
        self.tally: dict[int, int] | None = None
        self.waiter: asyncio.Future[None] | None = None  # resolved when ready or lost
        self.seen: dict[int, float] | None = None
        self.timeline: list[tuple[float, str]] | None = None

    # --- connection ---------------------------------------------------------------

    def path(self) -> str:
        q = f"role={self.role}"
        if self.seq is not None and self.want_back:
            q += f"&since={self.seq}"
        return f"/ws/{self.lg.code}?{q}"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport
        self.buf = bytearray()
        self.frag = None
        self.upgraded = False
        self.open = True
        self.ready = False
        self.replay_to = None
        key = base64.b64encode(os.urandom(16)).decode()
        host = self.lg.host_header
        cookie = f"Cookie: live_dev={self.cookie}\r\n" if self.cookie else ""
        transport.write((f"GET {self.path()} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                         f"{cookie}\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        was_ready = self.ready
        self.ready = False
        self.transport = None
        self._wake()
        self.lg.on_lost(self, was_ready)

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def abort(self) -> None:
        if self.transport is not None:
            with contextlib.suppress(Exception):
                self.transport.abort()

    def send_json(self, msg: dict[str, Any]) -> bool:
        if self.transport is None or not self.ready or self.transport.is_closing():
            return False
        self.transport.write(client_frame(0x1, orjson.dumps(msg)))
        return True

    # --- frames -------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:buf.find(b"\r\n")])
            del buf[:end + 4]
            if b" 101 " not in status:
                self.lg.handshake_failures += 1
                self.abort()
                return
            self.upgraded = True
        i, n = 0, len(buf)
        while n - i >= 2:
            b0, b1 = buf[i], buf[i + 1]
            ln, hdr = b1 & 0x7F, 2
            if ln == 126:
                if n - i < 4:
                    break
                ln, hdr = int.from_bytes(buf[i + 2:i + 4], "big"), 4
            elif ln == 127:
                if n - i < 10:
                    break
                ln, hdr = int.from_bytes(buf[i + 2:i + 10], "big"), 10
            if n - i < hdr + ln:
                break
            payload = buf[i + hdr:i + hdr + ln]
            i += hdr + ln
            op = b0 & 0x0F
            if op == 0x1:
                if b0 & 0x80:
                    self.on_text(payload, now)
                else:
                    self.frag = bytearray(payload)
            elif op == 0x0 and self.frag is not None:
                self.frag += payload
                if b0 & 0x80:
                    whole, self.frag = bytes(self.frag), None
                    self.on_text(whole, now)
            elif op == 0x8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.lg.closes[self.close_code] = self.lg.closes.get(self.close_code, 0) + 1
                if self.transport is not None:
                    self.transport.write(client_frame(0x8, bytes(payload[:2])))
                    self.transport.close()
                break
            elif op == 0x9 and self.transport is not None:
                self.transport.write(client_frame(0xA, bytes(payload)))
        del buf[:i]

    def on_text(self, payload: Any, now: float) -> None:
        msg = orjson.loads(payload)
        t = msg.get("type")
        if self.timeline is not None:
            self.timeline.append((now, t))
        lg = self.lg
        if t == "snapshot":
            self.seq = int(msg["seq"])
            self.snapshots += 1
            self._ready(now)
        elif t == "replay":
            if self.seq is not None and int(msg["from_seq"]) != self.seq:
                self.gaps += 1
            self.replays += 1
            self.replay_to = int(msg["to_seq"])
            if self.replay_to == self.seq:
                self._ready(now)
        elif t == "resync":
            self.resyncs += 1
        elif t in ("ack", "error"):
            mid = msg.get("id")
            sent = self.acks.pop(mid, None) if mid is not None else None
            if sent is not None:
                lg.on_reply(self, mid, msg, now - sent)
        elif "seq" in msg and t not in SEQ_FREE:
            seq = int(msg["seq"])
            if self.seq is not None and seq != self.seq + 1:
                if seq <= self.seq:
                    return  # already applied (cannot happen; counted as a gap below if it did skip)
                self.gaps += 1
            self.seq = seq
            if self.seen is not None and seq in lg.watch:
                self.seen.setdefault(seq, now)
            if not self.ready and self.replay_to is not None and seq >= self.replay_to:
                self._ready(now)
        elif t == "tally":
            if self.tally is None:
                self.tally = {}
            self.tally[int(msg["item_id"])] = int(msg["tally"]["total"])
        elif t == "likes":
            lg.last_likes = max(lg.last_likes, int(msg["total"]))

    def _ready(self, now: float) -> None:
        if self.ready:
            return
        self.ready = True
        self.attempt = 0
        self.ready_at = now
        if self.want_back:
            self.want_back = False
            self.resynced_at = now
        self._wake()
        self.lg.on_ready(self)


class LoadGen:
    def __init__(self, host: str, port: int, code: str, src: str) -> None:
        self.host = host
        self.port = port
        self.code = code
        self.src = src
        self.host_header = f"{host}:{port}"
        self.phones: dict[int, Phone] = {}
        self.closes: dict[int, int] = {}
        self.handshake_failures = 0
        self.connect_errors: dict[str, int] = {}
        self.watch: set[int] = set()
        self.last_likes = 0
        self.replies: list[tuple[str, str, float, float]] = []
        self.reply_codes: dict[str, int] = {}
        self.ready_count = 0
        self.reconnecting = 0
        self.stopping = False

    # --- connecting ---------------------------------------------------------------

    async def dial(self, phone: Phone, deadline: float) -> None:
        """Connect until past the snapshot, with the client module's backoff, until ``deadline``."""
        loop = asyncio.get_running_loop()
        phone.dialing = True
        try:
            await self._dial(loop, phone, deadline)
        finally:
            phone.dialing = False

    async def _dial(self, loop: asyncio.AbstractEventLoop, phone: Phone, deadline: float) -> None:
        while not self.stopping and time.monotonic() < deadline:
            try:
                async with asyncio.timeout(min(15.0, max(0.1, deadline - time.monotonic()))):
                    phone.waiter = loop.create_future()
                    await loop.create_connection(lambda: phone, self.host, self.port, local_addr=(self.src, 0))
                    if phone.open and not phone.ready:
                        await phone.waiter
                if phone.ready:
                    return
            except (OSError, TimeoutError) as exc:
                key = type(exc).__name__
                self.connect_errors[key] = self.connect_errors.get(key, 0) + 1
                phone.abort()
            await asyncio.sleep(self.backoff(phone))

    @staticmethod
    def backoff(phone: Phone) -> float:
        if phone.close_code == FULL_CLOSE:  # the server was full: its hint, plus up to as much jitter
            phone.close_code = None
            phone.attempt += 1
            return FULL_RETRY_S * (1 + random.random())
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** phone.attempt)
        phone.attempt += 1
        return ceiling / 2 + random.random() * ceiling / 2

    def on_ready(self, phone: Phone) -> None:
        self.ready_count += 1

    def on_lost(self, phone: Phone, was_ready: bool) -> None:
        if was_ready:
            self.ready_count -= 1
        if self.stopping or phone.closing or phone.dialing:
            return
        # Lost by the server (e.g. 4008 too slow) or by the bench's drop: come back with since.
        if phone.seq is not None and not phone.want_back:
            phone.want_back = True
            phone.dropped_at = time.monotonic()
        self.reconnecting += 1
        asyncio.get_running_loop().create_task(self._come_back(phone))

    async def _come_back(self, phone: Phone) -> None:
        try:
            await asyncio.sleep(self.backoff(phone))
            await self.dial(phone, time.monotonic() + 120)
        finally:
            self.reconnecting -= 1

    def on_reply(self, phone: Phone, mid: str, msg: dict[str, Any], latency: float) -> None:
        status = msg.get("status") or msg.get("code") or msg["type"]
        self.replies.append((mid[:1], str(status), latency, time.monotonic()))

    # --- operations ---------------------------------------------------------------

    async def op_connect(self, a: dict[str, Any]) -> dict[str, Any]:
        """Join ``devices`` (cookies given), arrivals spread uniformly over ``window`` seconds."""
        role = a.get("role", "audience")
        window = float(a.get("window", 0))
        deadline = time.monotonic() + float(a.get("limit", 120))
        t0 = time.monotonic()
        new: list[Phone] = []
        for device, cookie in a["devices"]:
            p = Phone(self, int(device), role, cookie)
            if a.get("timeline"):
                p.timeline = []
            p.seen = {}
            self.phones[p.device] = p
            new.append(p)
        offsets = sorted(random.random() * window for _ in new)
        tasks = []
        for p, off in zip(new, offsets, strict=True):
            delay = t0 + off - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            p.started = time.monotonic()
            tasks.append(asyncio.create_task(self.dial(p, deadline)))
        await asyncio.gather(*tasks, return_exceptions=True)
        ok = [p for p in new if p.ready]
        return {"ready": len(ok), "failed": len(new) - len(ok),
                "to_snapshot": [round(p.ready_at - p.started, 5) for p in ok],
                "errors": self.connect_errors, "handshake_failures": self.handshake_failures,
                "elapsed": round(time.monotonic() - t0, 3)}

    async def op_watch(self, a: dict[str, Any]) -> dict[str, Any]:
        self.watch = {int(s) for s in a["seqs"]}
        for p in self.phones.values():
            if p.seen is not None:
                p.seen.clear()
        return {"ok": True}

    async def op_collect(self, a: dict[str, Any]) -> dict[str, Any]:
        """Wait until every ready phone saw ``seq`` (or the timeout), then give the arrival times."""
        seqs = [int(s) for s in a["seqs"]]
        last = max(seqs)
        deadline = time.monotonic() + float(a.get("limit", 30))
        while time.monotonic() < deadline:
            if all(p.seq is not None and p.seq >= last for p in self.phones.values() if p.ready):
                break
            await asyncio.sleep(0.05)
        out: dict[str, list[float]] = {str(s): [] for s in seqs}
        missing = 0
        for p in self.phones.values():
            if p.seen is None or not p.ready:
                continue
            for s in seqs:
                t = p.seen.get(s)
                if t is None:
                    missing += 1
                else:
                    out[str(s)].append(round(t, 5))
        return {"times": out, "missing": missing}

    async def op_vote(self, a: dict[str, Any]) -> dict[str, Any]:
        """The listed phones each vote once, at ``start`` (monotonic) plus up to ``window`` seconds."""
        item = int(a["item_id"])
        options = a["options"]
        start = float(a["start"])
        window = float(a["window"])
        self.replies.clear()
        voters = [self.phones[int(d)] for d in a["devices"] if int(d) in self.phones]
        plan = sorted(((start + random.random() * window, p) for p in voters if p.ready), key=lambda x: x[0])
        sent = 0
        for at, p in plan:
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            mid = f"v{p.device}"
            if p.send_json({"id": mid, "type": "vote", "item_id": item, "ballot_id": f"bench-{item}-{p.device:07d}",
                            "choice": {"option": random.choice(options)}}):
                p.acks[mid] = time.monotonic()
                sent += 1
        deadline = time.monotonic() + float(a.get("limit", 60))
        while time.monotonic() < deadline and sum(1 for r in self.replies if r[0] == "v") < sent:
            await asyncio.sleep(0.05)
        votes = [r for r in self.replies if r[0] == "v"]
        ok = [r for r in votes if r[1] in ("stored", "replaced")]
        return {"sent": sent, "latency": [round(r[2], 5) for r in ok],
                "sent_at": [round(r[3] - r[2] - start, 3) for r in ok],  # when, so a slow tail can be placed
                "statuses": _count(r[1] for r in votes), "last_ack": max((r[3] for r in votes), default=start)}

    async def op_chatter(self, a: dict[str, Any]) -> dict[str, Any]:
        """Likes and comments at ``rates`` messages a second (one entry per second); a
        ``comment_share`` of them are comments. Each phone is picked at random."""
        rates = [int(r) for r in a["rates"]]
        comment_share = float(a.get("comment_share", 0.0))
        texts = a.get("texts") or ["支持依法行政"]
        self.replies.clear()
        phones = [p for p in self.phones.values() if p.ready and p.role == "audience"]
        sent = {"like": 0, "comment": 0, "skipped": 0}
        t0 = time.monotonic()
        n = 0
        for sec, rate in enumerate(rates):
            for k in range(rate):
                at = t0 + sec + k / max(rate, 1)
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                p = random.choice(phones)
                n += 1
                if random.random() < comment_share:
                    mid = f"c{n}"
                    ok = p.send_json({"id": mid, "type": "comment.send", "text": f"{random.choice(texts)}{n % 97}"})
                    kind = "comment"
                else:
                    mid = f"l{n}"
                    ok = p.send_json({"id": mid, "type": "like"})
                    kind = "like"
                if ok:
                    p.acks[mid] = time.monotonic()
                    sent[kind] += 1
                else:
                    sent["skipped"] += 1
        total = sent["like"] + sent["comment"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(self.replies) < total:
            await asyncio.sleep(0.05)
        likes_ok = sum(1 for r in self.replies if r[0] == "l" and r[1] == "ack")
        return {"sent": sent, "replies": _count(f"{r[0]}:{r[1]}" for r in self.replies), "likes_acked": likes_ok,
                "elapsed": round(time.monotonic() - t0, 3),
                "latency": [round(r[2], 5) for r in self.replies]}

    async def op_drop(self, a: dict[str, Any]) -> dict[str, Any]:
        """Cut ``devices`` off at once (as a network blip would); each comes back by itself
        with backoff and ``since``. Waits until all are back or ``timeout``."""
        phones = [self.phones[int(d)] for d in a["devices"] if int(d) in self.phones]
        before = {p.device: (p.snapshots, p.replays, p.resyncs, p.gaps) for p in phones}
        t0 = time.monotonic()
        for p in phones:
            p.want_back = True
            p.dropped_at = t0
            p.resynced_at = 0.0
            p.attempt = 0
            p.abort()
        deadline = t0 + float(a.get("limit", 30))
        target = a.get("until_seq")
        while time.monotonic() < deadline:
            if all(p.ready and not p.want_back and (target is None or (p.seq or 0) >= int(target)) for p in phones):
                break
            await asyncio.sleep(0.2)
        back = [p for p in phones if p.ready and not p.want_back]
        return {"dropped": len(phones), "back": len(back),
                "back_s": [round(p.resynced_at - p.dropped_at, 4) for p in back],
                "replays": sum(p.replays - before[p.device][1] for p in phones),
                "snapshots": sum(p.snapshots - before[p.device][0] for p in phones),
                "resyncs": sum(p.resyncs - before[p.device][2] for p in phones),
                "gaps": sum(p.gaps - before[p.device][3] for p in phones),
                "elapsed": round(time.monotonic() - t0, 3)}

    async def op_source(self, a: dict[str, Any]) -> dict[str, Any]:
        """Dial from another source address from now on (a phone that got a new address)."""
        self.src = str(a["src"])
        return {"ok": True}

    async def op_stats(self, a: dict[str, Any]) -> dict[str, Any]:
        phones = list(self.phones.values())
        seqs = [p.seq for p in phones if p.ready and p.seq is not None]
        out: dict[str, Any] = {
            "phones": len(phones), "ready": sum(1 for p in phones if p.ready),
            "open": sum(1 for p in phones if p.open), "reconnecting": self.reconnecting,
            "gaps": sum(p.gaps for p in phones), "closes": self.closes,
            "seq_min": min(seqs) if seqs else None, "seq_max": max(seqs) if seqs else None,
            "tally": self.tallies(phones), "likes": self.last_likes,
        }
        if a.get("timelines"):
            out["timelines"] = [[(round(t, 4), k) for t, k in p.timeline] for p in phones if p.timeline is not None]
        return out

    @staticmethod
    def tallies(phones: list[Phone]) -> dict[str, dict[str, int]]:
        """For each item: how many ready phones show which total."""
        out: dict[str, dict[str, int]] = {}
        for p in phones:
            if p.ready and p.tally:
                for item, total in p.tally.items():
                    per = out.setdefault(str(item), {})
                    per[str(total)] = per.get(str(total), 0) + 1
        return out

    async def op_close(self, a: dict[str, Any]) -> dict[str, Any]:
        self.stopping = True
        for p in self.phones.values():
            p.closing = True
            if p.transport is None:
                continue
            try:
                if a.get("abort") or p.transport.is_closing():
                    p.transport.abort()
                else:
                    p.transport.write(client_frame(0x8, (1001).to_bytes(2, "big")))
            except Exception:  # already gone
                p.abort()
        deadline = time.monotonic() + float(a.get("limit", 10))
        while time.monotonic() < deadline and any(p.open for p in self.phones.values()):
            await asyncio.sleep(0.05)
        left = 0
        for p in self.phones.values():
            if p.open:
                left += 1
                p.abort()
        self.phones.clear()
        self.stopping = False
        return {"left_open": left}


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in items:
        out[k] = out.get(k, 0) + 1
    return out


async def serve(args: argparse.Namespace) -> None:
    lg = LoadGen(args.host, args.port, args.code, args.src)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer
    pending: set[asyncio.Task[None]] = set()

    async def run(req: dict[str, Any]) -> None:
        try:
            result = await getattr(lg, f"op_{req['op']}")(req)
        except Exception as exc:  # report, never die silently
            result = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            line = orjson.dumps({"rid": req["rid"], **result}, option=orjson.OPT_NON_STR_KEYS)
        except Exception as exc:
            line = orjson.dumps({"rid": req["rid"], "error": f"cannot encode the reply: {exc}"})
        out.write(line + b"\n")
        out.flush()

    out.write(orjson.dumps({"rid": 0, "ready": True, "pid": os.getpid()}) + b"\n")
    out.flush()
    while True:
        line = await reader.readline()
        if not line:
            break  # the parent is gone
        req = orjson.loads(line)
        if req.get("op") == "exit":
            break
        task = asyncio.create_task(run(req))
        pending.add(task)
        task.add_done_callback(pending.discard)
    lg.stopping = True
    for p in lg.phones.values():
        p.abort()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true", help="ignored: this is a helper, not a benchmark")
    p.add_argument("--serve", action="store_true", help="run as a load client driven over stdin")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--code", default="")
    p.add_argument("--src", default="127.0.0.1", help="source address to bind (127.0.0.x)")
    p.add_argument("--max-seconds", type=float, default=1800)
    args = p.parse_args()
    if not args.serve:
        return 0
    from _harness import prepare_socket_process

    prepare_socket_process()

    async def bounded() -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.max_seconds):
                await serve(args)

    asyncio.run(bounded())
    os._exit(0)  # do not linger over thousands of transports


if __name__ == "__main__":
    raise SystemExit(main())
