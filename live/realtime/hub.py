"""The connection hub of one worker: loads meeting runtimes, takes committed
changes from the writer to the broker, applies what the broker delivers in seq
order, and coalesces tallies and presence to a few updates a second."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
import uuid
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlmodel import Session, select

from live.domain.errors import ErrorCode
from live.domain.visibility import TallyBatching
from live.realtime.broker import Broker
from live.realtime.client import Client
from live.realtime.fallback import LogFollower
from live.realtime.frames import error, text_frame
from live.realtime.gcpolicy import GcPolicy
from live.realtime.runtime import MeetingRuntime
from live.realtime.sync import LOG_REPLAY_LIMIT, MeetingSync
from live.realtime.voice_counters import KINDS as INTERACTION_KINDS
from live.realtime.voice_counters import Interaction
from live.store import events as event_log
from live.store.ballots import TallyChange, item_ballots
from live.store.events import SeqEvent, encode
from live.store.models import Meeting
from live.store.state import load_state
from live.store.turnout import participation_view, voted_members

log = logging.getLogger(__name__)

PARTICIPATION_EVERY_S = 1.0
LOGGED_OUT_CLOSE = 4401  # a socket whose login ended: logout, new host password, idle timeout, new link


def session_key(session_id: str) -> str:
    """What names a host login on the bus and on its sockets: a digest, never the cookie's id."""
    return hashlib.sha256(b"live.socket|" + session_id.encode()).hexdigest()[:32]


def logged_out(rt: MeetingRuntime, msg: dict[str, Any]) -> int:
    """Close at once the sockets of ``rt`` whose login a ``logout`` bus message ended."""
    who = msg.get("who")
    if who == "session":
        wanted = {f"host:{msg.get('session')}"}
        hit = [c for c in rt.clients if c.identity.login in wanted]
    elif who == "hosts":
        hit = [c for c in rt.clients if (c.identity.login or "").startswith("host:")
               or c.identity.login == "recorder"]
    elif who == "presenter_link":
        hit = [c for c in rt.clients if c.identity.login == "presenter-link"]
    else:
        return 0
    for c in hit:
        if c.identity.login == "presenter-link":
            c.push(error(None, ErrorCode.REVOKED, "该述法人翻页链接已更换，请向会务人员索取新链接"))
        elif c.identity.login == "recorder":
            c.push(error(None, ErrorCode.REVOKED, "该记录员链接已失效，请向主持人索取新链接"))
        else:
            c.push(error(None, ErrorCode.LOGIN_REQUIRED, "登录已失效，请重新登录"))
        c.close_after_flush(LOGGED_OUT_CLOSE, "logged out")
        rt.clients.discard(c)
    return len(hit)  # who has voted is read from the database at most this often per item


class Hub:
    def __init__(self, engine: Engine, broker: Broker, tick_s: float = 0.25,
                 batching: TallyBatching | None = None) -> None:
        self.engine = engine
        self.batching = batching or TallyBatching()
        self._participation: dict[tuple[int, int], asyncio.Task[None]] = {}
        self._participation_again: set[tuple[int, int]] = set()
        self.broker = broker
        self.tick_s = tick_s
        self.worker_id = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.runtimes: dict[int, MeetingRuntime] = {}
        self._codes: dict[str, int] = {}
        self._load_locks: dict[int, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.events_fanned = 0
        self.messages_sent_estimate = 0
        self.drops = 0
        # Likes, upvote counts, banned-word filters and the host's moderation queue.
        self.interaction = Interaction(engine, broker, self.worker_id)
        self.gc_policy = GcPolicy()
        self.sync = MeetingSync()  # what a joining client gets: replay, log read or snapshot
        self.follower = LogFollower(self)  # reads the event log while the bus is down

    async def start(self) -> None:
        await self.broker.start(self.deliver)
        if hasattr(self.broker, "on_recover"):
            self.broker.on_recover = self.resync_all
        self._tasks = [asyncio.create_task(self._ticker(), name="hub-ticker"),
                       asyncio.create_task(self.follower.run(), name="hub-log-follower")]

    async def stop(self) -> None:
        for t in [*self._tasks, *self._participation.values()]:
            t.cancel()
        for t in [*self._tasks, *self._participation.values()]:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.broker.stop()

    # --- loading ----------------------------------------------------------

    async def meeting_id_for(self, code: str) -> int | None:
        code = code.upper()
        if code in self._codes:
            return self._codes[code]

        def find() -> int | None:
            with Session(self.engine) as s:
                m = s.exec(select(Meeting).where(Meeting.code == code)).first()
                return m.id if m else None

        mid = await asyncio.to_thread(find)
        if mid is not None:
            self._codes[code] = mid
        return mid

    async def runtime(self, meeting_id: int) -> MeetingRuntime:
        rt = self.runtimes.get(meeting_id)
        if rt is not None:
            return rt
        lock = self._load_locks.setdefault(meeting_id, asyncio.Lock())
        async with lock:
            rt = self.runtimes.get(meeting_id)
            if rt is None:
                rt = await asyncio.to_thread(self._load, meeting_id)
                self.runtimes[meeting_id] = rt
        return rt

    def _load(self, meeting_id: int) -> MeetingRuntime:
        with Session(self.engine) as s:
            seq, state = load_state(s, meeting_id)
            ballots = item_ballots(s, meeting_id)
            voice = self.interaction.load(s, meeting_id)
        self.interaction.attach(meeting_id, voice)
        return MeetingRuntime(meeting_id, seq, state, ballots, self.batching)

    # --- from the writer ---------------------------------------------------

    def on_commit(self, events: list[SeqEvent], changes: list[TallyChange]) -> None:
        by_meeting: dict[int, list[str]] = {}
        for ev in events:
            by_meeting.setdefault(ev.meeting_id, []).append(ev.wire)
        for mid, wires in by_meeting.items():
            self.broker.publish({"k": "events", "m": mid, "events": wires})
        per_meeting: dict[int, list[list[Any]]] = {}
        for c in changes:
            per_meeting.setdefault(c.meeting_id, []).append([c.item_id, c.ballot_id, c.group, c.choice])
        for mid, rows in per_meeting.items():
            self.broker.publish({"k": "ballots", "m": mid, "changes": rows})

    # --- from the broker ---------------------------------------------------

    async def deliver(self, msg: dict[str, Any]) -> None:
        kind = msg.get("k")
        mid = int(msg.get("m", 0))
        rt = self.runtimes.get(mid)
        if rt is None:
            return  # nobody here watches that meeting; it loads fresh from the DB when someone does
        if kind == "events":
            ready: list[SeqEvent] = []
            for wire in msg["events"]:
                message = orjson.loads(wire)
                ready += rt.accept(SeqEvent(mid, int(message["seq"]), message, wire))
            self._fan(rt, ready)  # a commit's events: one write per ready socket
            if rt.has_gap:
                asyncio.get_running_loop().call_later(0.2, self._schedule_gap_fill, mid)
        elif kind == "ballots":
            rt.apply_ballots(msg["changes"])
        elif kind == "revoke":
            released = msg.get("why") == "panel.release"
            for c in [c for c in rt.clients if c.identity.member_id == msg.get("member")]:
                if released:
                    c.push(error(None, ErrorCode.RELEASED, "主持人已解除该评议链接与本设备的绑定，请重新扫描评议卡"))
                else:
                    c.push(error(None, ErrorCode.REVOKED, "该评议团链接已被收回，请向会务人员索取新链接"))
                c.close_after_flush(4401, "revoked")
                rt.clients.discard(c)
        elif kind == "release":
            # A released ticket or roster link: its old device stops voting at once.
            for c in [c for c in rt.clients if c.identity.credential_id == msg.get("credential")]:
                c.push(error(None, ErrorCode.RELEASED,
                             "您的投票凭证已被会务人员解除绑定，请重新输入票码或打开个人链接"))
                c.close_after_flush(4401, "released")
                rt.clients.discard(c)
        elif kind == "logout":
            logged_out(rt, msg)
        elif kind == "presence" and msg.get("w") != self.worker_id:
            rt.remote_presence[str(msg["w"])] = (time.monotonic(), msg["counts"])
        elif kind in INTERACTION_KINDS:
            self.interaction.deliver(rt, msg)

    def _fan(self, rt: MeetingRuntime, ready: list[SeqEvent]) -> None:
        if ready:
            self.events_fanned += len(ready)
            self.messages_sent_estimate += rt.fan_out_many([ev.wire for ev in ready])

    def _schedule_gap_fill(self, meeting_id: int) -> None:
        asyncio.get_running_loop().create_task(self.fill_gap(meeting_id))

    async def fill_gap(self, meeting_id: int) -> None:
        """An event went missing on the bus (or arrived late): read it from the log."""
        rt = self.runtimes.get(meeting_id)
        if rt is None or not rt.has_gap:
            return
        missing = await asyncio.to_thread(self._events_since, meeting_id, rt.seq, LOG_REPLAY_LIMIT)
        for ev in missing:
            self._fan(rt, rt.accept(ev))

    def _events_since(self, meeting_id: int, since: int, limit: int) -> list[SeqEvent]:
        with Session(self.engine) as s:
            return event_log.since(s, meeting_id, since, limit)

    async def resync_all(self) -> None:
        """After a bus outage: catch up every runtime from the log, and rebuild tallies."""
        for mid, rt in list(self.runtimes.items()):
            missing = await asyncio.to_thread(self._events_since, mid, rt.seq, 100_000)
            for ev in missing:
                self._fan(rt, rt.accept(ev))
            fresh = await asyncio.to_thread(self._ballots, mid)
            rt.ballots = fresh
            rt.dirty_items.update(fresh)
            await self.interaction.resync(rt)

    def _ballots(self, meeting_id: int) -> dict[int, dict[str, tuple[str, dict[str, Any]]]]:
        with Session(self.engine) as s:
            return item_ballots(s, meeting_id)

    # --- clients -----------------------------------------------------------

    async def join(self, rt: MeetingRuntime, client: Client, welcome: dict[str, Any], since: int | None) -> None:
        """Welcome, then replay or snapshot, then register: nothing awaits between
        reading ``rt.seq`` and registering, so no event can fall in between. What a join
        gets goes out in one write (one system call, not one per message)."""
        wires = [encode({**welcome, "server_time_ms": int(time.time() * 1000)})]
        frames = [text_frame(wires[0])]
        plan = self.sync.plan(since, rt.seq, rt.ring)
        if plan.kind == "read_log" and since is not None:
            logged = await asyncio.to_thread(self._events_since, rt.meeting_id, since, LOG_REPLAY_LIMIT)
            plan = self.sync.after_log(since, rt.seq, logged, rt.ring)
        is_host = client.identity.role == "host"
        # The snapshot's and the tallies' frames are encoded once per seq (or change).
        for wire in (*self.sync.frames(plan, rt.snapshot_wire), *rt.tallies_for_join(host=is_host)):
            wires.append(wire)
            frames.append(rt.frame(wire))
        for wire in (encode(rt.presence()), *self.interaction.join_wires(rt, client)):
            wires.append(wire)
            frames.append(text_frame(wire))
        client.push_frames(tuple(wires), b"".join(frames))
        client.on_drop = self._on_drop
        rt.clients.add(client)
        if is_host:
            for it in rt.state["items"]:
                if it.get("phase") == "voting":
                    self._participation_soon(rt, int(it["id"]))

    def _on_drop(self, client: Client) -> None:
        self.drops += 1

    def leave(self, rt: MeetingRuntime, client: Client) -> None:
        rt.clients.discard(client)
        self.gc_policy.observe_leave()

    # --- who has voted (host only) ---------------------------------------------

    def _participation_soon(self, rt: MeetingRuntime, item_id: int) -> None:
        """Send the host consoles who has voted on the item, at most one read at a time per item."""
        if not rt.clients.hosts:
            return
        key = (rt.meeting_id, item_id)
        running = self._participation.get(key)
        if running is not None and not running.done():
            self._participation_again.add(key)
            return
        self._participation[key] = asyncio.get_running_loop().create_task(self._send_participation(rt, item_id))

    async def _send_participation(self, rt: MeetingRuntime, item_id: int) -> None:
        """One database read, then at least a second's rest; a request meanwhile reads once more."""
        key = (rt.meeting_id, item_id)
        while True:
            self._participation_again.discard(key)
            try:
                voted = await asyncio.to_thread(self._voted, item_id)
                rt.push_hosts(encode(participation_view(item_id, rt.state["panel"], voted,
                                                        rt.group_counts(item_id))))
            except Exception:
                log.exception("participation view failed for item %s", item_id)
            await asyncio.sleep(PARTICIPATION_EVERY_S)
            if key not in self._participation_again:
                return

    def _voted(self, item_id: int) -> list[int]:
        with Session(self.engine) as s:
            return voted_members(s, item_id)

    # --- coalesced volatile updates ------------------------------------------

    async def _ticker(self) -> None:
        beat = 0
        lag = 0.0
        while True:
            woke = time.monotonic()
            await asyncio.sleep(self.tick_s)
            beat += 1
            # How late this tick is tells how busy the loop is; big fan-outs back off by it.
            lag += (max(0.0, time.monotonic() - woke - self.tick_s) - lag) * 0.3
            for rt in list(self.runtimes.values()):
                rt.loop_lag_s = lag
                try:
                    for item_id, host_wire, public_wire in rt.take_tally_updates():
                        if host_wire:
                            self.messages_sent_estimate += rt.push_hosts(host_wire)
                            self._participation_soon(rt, item_id)
                        if public_wire:
                            self.messages_sent_estimate += rt.fan_out_volatile(f"tally:{item_id}", public_wire,
                                                                               hosts=False)
                    self.interaction.tick(rt)
                    if beat % 4 == 0:
                        self.broker.publish({"k": "presence", "w": self.worker_id, "m": rt.meeting_id,
                                             "counts": rt.local_presence()})
                        presence = rt.presence_wire_if_changed()
                        if presence:
                            rt.fan_out(presence)
                    # Whole values held back for a big audience go out when their turn comes.
                    self.messages_sent_estimate += rt.flush_volatile()
                except Exception:
                    log.exception("ticker failed for meeting %s", rt.meeting_id)
            sockets = sum(len(rt.clients) for rt in self.runtimes.values())
            voting = any(rt.voting_open for rt in self.runtimes.values())
            if self.gc_policy.tick(time.monotonic(), sockets, voting) == "thaw":
                log.info("collected the cycles of departed sockets (%d open)", sockets)
