"""The volatile side of the public's voice, per worker: like and upvote counters
coalesced to a few updates a second, the banned-word filter of each meeting, and
the host-only moderation view pushed to host sockets.

Bus messages (besides the hub's own):

- ``{"k": "likes", "m": meeting_id, "n": taps}``: likes taken by one worker since its last tick;
- ``{"k": "upvotes", "m": meeting_id, "counts": {question_id: count}}``: committed counts;
- ``{"k": "mod", "m": meeting_id}``: the moderation queue changed (each worker re-reads it for its hosts);
- ``{"k": "words", "m": meeting_id}``: the meeting's extra banned words changed.

Likes are never written per tap: each worker adds what it published to a
counter that is flushed to the database every few seconds and at shutdown.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session

from live.domain.moderation import BannedWordFilter, Lexicon, default_lexicon_path, load_lexicon
from live.realtime.broker import Broker
from live.realtime.client import Client
from live.realtime.runtime import MeetingRuntime
from live.realtime.sampling import MinuteSampler
from live.store import comments, questions
from live.store.events import encode

if TYPE_CHECKING:
    from live.store.writer import Writer

log = logging.getLogger(__name__)

LIKES_PERSIST_S = 5.0
# The host's moderation queue is re-read from the database; during a burst of comments
# once a second is enough for a person to read, and it keeps the query off every tick.
MODERATION_MIN_S = 1.0
KINDS = frozenset({"likes", "upvotes", "mod", "words"})


def wall_ms() -> int:
    """The wall clock the minute samples are aligned to (every worker cuts minutes at the same instant)."""
    return int(time.time() * 1000)


@functools.lru_cache(maxsize=1)
def base_lexicon() -> Lexicon:
    """The lexicon shipped in assets/, read once per process."""
    try:
        return load_lexicon(default_lexicon_path())
    except OSError:
        log.warning("banned-word lexicon %s not found; only the host's words are filtered", default_lexicon_path())
        return Lexicon(())


def build_filter(extra_words: list[str]) -> BannedWordFilter:
    base = base_lexicon()
    return BannedWordFilter([*base.banned, *extra_words], base.allowed)


@dataclass
class MeetingVoice:
    likes_total: int = 0
    likes_unpublished: int = 0
    likes_unpersisted: int = 0
    likes_dirty: bool = True
    upvotes: dict[int, int] = field(default_factory=dict)
    upvotes_dirty: set[int] = field(default_factory=set)
    moderation_dirty: bool = False
    moderation_loading: bool = False
    moderation_at: float = 0.0
    filter: BannedWordFilter = field(default_factory=lambda: build_filter([]))

    def likes_wire(self) -> str:
        return encode({"type": "likes", "total": self.likes_total})

    def upvotes_wire(self, ids: set[int] | None = None) -> str:
        counts = {str(q): n for q, n in sorted(self.upvotes.items()) if ids is None or q in ids}
        return encode({"type": "upvotes", "counts": counts})

    def merge_upvotes(self, counts: dict[int, int]) -> None:
        # Counts only grow (an upvote is never taken back), so the larger value is the newer one,
        # whatever order two workers' messages arrive in.
        for qid, n in counts.items():
            if n > self.upvotes.get(qid, 0):
                self.upvotes[qid] = n
                self.upvotes_dirty.add(qid)


class Interaction:
    def __init__(self, engine: Engine, broker: Broker, worker: str = "worker") -> None:
        self.engine = engine
        self.broker = broker
        # This worker's sockets and likes per minute while a meeting is live (interaction_sample).
        self.sampler = MinuteSampler(worker)
        self.writer: Writer | None = None  # set by the app once the writer exists
        self.meetings: dict[int, MeetingVoice] = {}
        self._last_persist = time.monotonic()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- loading (in the hub's loading thread) ---------------------------------------

    def load(self, s: Session, meeting_id: int) -> MeetingVoice:
        return MeetingVoice(likes_total=comments.likes_total(s, meeting_id),
                            upvotes=questions.upvote_counts(s, meeting_id),
                            filter=build_filter(comments.extra_words(s, meeting_id)))

    def attach(self, meeting_id: int, voice: MeetingVoice) -> None:
        old = self.meetings.get(meeting_id)
        if old is None:
            self.meetings[meeting_id] = voice
            return
        # Counters taken before the load stay; the stored values and filter come in.
        old.filter = voice.filter
        old.likes_total = max(old.likes_total, voice.likes_total)
        old.likes_dirty = True
        old.merge_upvotes(voice.upvotes)

    def voice(self, meeting_id: int) -> MeetingVoice:
        # Not setdefault: a new MeetingVoice builds a word filter, and this runs on every like.
        voice = self.meetings.get(meeting_id)
        if voice is None:
            voice = self.meetings[meeting_id] = MeetingVoice()
        return voice

    def filter(self, meeting_id: int) -> BannedWordFilter:
        return self.voice(meeting_id).filter

    # --- called by the web layer -------------------------------------------------------

    def like(self, meeting_id: int, n: int) -> None:
        self.voice(meeting_id).likes_unpublished += n
        self.sampler.like(meeting_id, n)

    def publish_upvotes(self, meeting_id: int, counts: dict[int, int]) -> None:
        self.broker.publish({"k": "upvotes", "m": meeting_id, "counts": {str(k): v for k, v in counts.items()}})

    def notify_moderation(self, meeting_id: int) -> None:
        self.broker.publish({"k": "mod", "m": meeting_id})

    def words_changed(self, meeting_id: int, words: list[str]) -> None:
        """Swap this worker's filter now (the next comment must see it) and tell the others."""
        self.voice(meeting_id).filter = build_filter(words)
        self.broker.publish({"k": "words", "m": meeting_id})

    # --- from the bus ------------------------------------------------------------------------

    def deliver(self, rt: MeetingRuntime, msg: dict[str, Any]) -> None:
        voice = self.voice(rt.meeting_id)
        kind = msg.get("k")
        if kind == "likes":
            voice.likes_total += int(msg.get("n", 0))
            voice.likes_dirty = True
        elif kind == "upvotes":
            voice.merge_upvotes({int(k): int(v) for k, v in dict(msg.get("counts") or {}).items()})
        elif kind == "mod":
            voice.moderation_dirty = True
        elif kind == "words":
            self._spawn(self._reload_words(rt.meeting_id))

    async def _reload_words(self, meeting_id: int) -> None:
        def read() -> list[str]:
            with Session(self.engine) as s:
                return comments.extra_words(s, meeting_id)

        words = await asyncio.to_thread(read)
        self.voice(meeting_id).filter = build_filter(words)

    # --- clients ------------------------------------------------------------------------------

    def join_wires(self, rt: MeetingRuntime, client: Client) -> list[str]:
        voice = self.voice(rt.meeting_id)
        if client.identity.role == "host":
            voice.moderation_dirty = True  # the next tick sends the queue to the host consoles
        wires = [voice.likes_wire()]
        if voice.upvotes:
            wires.append(voice.upvotes_wire())
        return wires

    # --- the hub's ticker ----------------------------------------------------------------------

    def tick(self, rt: MeetingRuntime, now_ms: int | None = None) -> None:
        voice = self.voice(rt.meeting_id)
        now_ms = wall_ms() if now_ms is None else now_ms
        sample = self.sampler.take(rt.meeting_id, str(rt.state["meeting"].get("status", "")), rt.local_presence(),
                                   now_ms)
        if sample is not None and self.writer is not None:
            self._spawn(self._store_sample(rt.meeting_id, sample))
        if voice.likes_unpublished:
            n, voice.likes_unpublished = voice.likes_unpublished, 0
            voice.likes_unpersisted += n
            self.broker.publish({"k": "likes", "m": rt.meeting_id, "n": n})
        if voice.likes_dirty:
            voice.likes_dirty = False
            rt.fan_out(voice.likes_wire())
        if voice.upvotes_dirty:
            wire = voice.upvotes_wire(voice.upvotes_dirty)
            voice.upvotes_dirty = set()
            rt.fan_out(wire)
        now = time.monotonic()
        if (voice.moderation_dirty and not voice.moderation_loading
                and now - voice.moderation_at >= MODERATION_MIN_S):
            voice.moderation_dirty = False
            if rt.clients.roles.get("host"):
                voice.moderation_loading = True
                voice.moderation_at = now
                self._spawn(self._push_moderation(rt, voice))
        if now - self._last_persist >= LIKES_PERSIST_S:
            self._last_persist = now
            for mid, v in self.meetings.items():
                if v.likes_unpersisted and self.writer is not None:
                    n, v.likes_unpersisted = v.likes_unpersisted, 0
                    self._spawn(self._persist_likes(mid, n))

    async def _push_moderation(self, rt: MeetingRuntime, voice: MeetingVoice) -> None:
        try:
            wire = await asyncio.to_thread(self.moderation_wire, rt.meeting_id)
            for c in list(rt.clients.watchers):
                if c.identity.role == "host":
                    c.push(wire)
        except Exception:
            log.exception("loading the moderation queue failed")
            voice.moderation_dirty = True  # try again on a later tick
        finally:
            voice.moderation_loading = False

    def moderation_wire(self, meeting_id: int) -> str:
        with Session(self.engine) as s:
            view = comments.moderation_view(s, meeting_id)
        return encode({"type": "moderation", **view})

    async def _persist_likes(self, meeting_id: int, n: int) -> None:
        writer = self.writer
        if writer is None:  # shutting down: the final flush stores them
            self.voice(meeting_id).likes_unpersisted += n
            return
        try:
            await writer.command(meeting_id, "likes.add", {"n": n}, actor="system")
        except Exception:
            log.exception("persisting likes failed; retrying with the next flush")
            self.voice(meeting_id).likes_unpersisted += n

    async def _store_sample(self, meeting_id: int, sample: dict[str, Any]) -> None:
        writer = self.writer
        if writer is None:
            return
        try:
            await writer.command(meeting_id, "interaction.sample", sample, actor="system")
        except Exception:  # a lost minute leaves a gap in the chart, never a failed meeting
            log.exception("storing the interaction sample of meeting %s failed", meeting_id)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self, presences: dict[int, dict[str, Any]] | None = None) -> None:
        """At shutdown, while the writer still runs: store every like not yet stored, and the
        minute being sampled (``presences``: this worker's sockets per meeting, as they stand)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        writer, self.writer = self.writer, None  # the ticker must not queue jobs on a stopping writer
        if writer is None:
            return
        for mid, sample in self.sampler.drain(presences or {}):
            try:
                await writer.command(mid, "interaction.sample", sample, actor="system")
            except Exception:
                log.exception("could not store the last interaction sample of meeting %s", mid)
        for mid, v in self.meetings.items():
            n = v.likes_unpublished + v.likes_unpersisted
            v.likes_unpublished = v.likes_unpersisted = 0
            if n:
                try:
                    await writer.command(mid, "likes.add", {"n": n}, actor="system")
                except Exception:
                    log.exception("could not store %s likes of meeting %s at shutdown", n, mid)

    async def resync(self, rt: MeetingRuntime) -> None:
        """After a bus outage: counts may have been missed; the database has the committed ones."""
        def read() -> tuple[int, dict[int, int]]:
            with Session(self.engine) as s:
                return comments.likes_total(s, rt.meeting_id), questions.upvote_counts(s, rt.meeting_id)

        likes, counts = await asyncio.to_thread(read)
        voice = self.voice(rt.meeting_id)
        if likes > voice.likes_total:
            voice.likes_total = likes
            voice.likes_dirty = True
        voice.merge_upvotes(counts)
        voice.moderation_dirty = True
