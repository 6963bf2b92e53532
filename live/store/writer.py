"""The single writer: every change goes through one queue, in order, on one
thread. Consecutive ballots share a transaction (group commit), so a burst of
thousands costs a handful of fsyncs; so do consecutive batched jobs of one kind
(comments, questions, upvotes: see live.store.jobs). Events are published and
replies sent only after COMMIT returns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from live.domain.errors import ErrorCode, LiveError
from live.domain.record import public_args
from live.store import (
    comments,
    credentials,
    office,
    panel_links,
    paper,
    problems,
    questions,
    samples,
    setup_commands,
)
from live.store import events as event_log
from live.store import record as record_store
from live.store.ballots import BallotJob, BallotOutcome, TallyChange, store_batch
from live.store.commands import HOST_COMMANDS, Command, CommandOutcome
from live.store.db import checkpoint_truncate
from live.store.events import SeqEvent
from live.store.jobs import BatchFn, BatchJob, BatchResult

log = logging.getLogger(__name__)

OnCommit = Callable[[list[SeqEvent], list[TallyChange]], None]


def _registry(*parts: dict[str, Command]) -> dict[str, Command]:
    """One dict of commands; a name registered twice is an error, not a silent override."""
    out: dict[str, Command] = {}
    for part in parts:
        for name, fn in part.items():
            if name in out:
                raise RuntimeError(f"writer command {name!r} registered twice")
            out[name] = fn
    return out


# Every command the writer runs, by name: the meeting spine's, then each feature's own.
COMMANDS: dict[str, Command] = _registry(HOST_COMMANDS, questions.COMMANDS, comments.COMMANDS, problems.COMMANDS,
                                         panel_links.COMMANDS, record_store.COMMANDS, paper.COMMANDS,
                                         credentials.COMMANDS, samples.COMMANDS, office.COMMANDS,
                                         setup_commands.COMMANDS)
BATCHES: dict[str, BatchFn] = {**questions.BATCHES, **comments.BATCHES, **credentials.BATCHES}


class CommandRefused(LiveError):
    """What the writer's callers get when a job is refused: the one error type, with the
    code first as before (``CommandRefused("conflict", "…")``). Every LiveError a command
    raises reaches its caller as one of these, so ``except CommandRefused`` still catches
    every refusal from the writer."""

    def __init__(self, code: ErrorCode | str, message: str | None = None, **extra: Any) -> None:
        super().__init__(message, code, **extra)

    @classmethod
    def of(cls, exc: LiveError) -> CommandRefused:
        return exc if isinstance(exc, CommandRefused) else cls(exc.code, exc.message, status=exc.status,
                                                                 **exc.extra)


@dataclass
class _Cmd:
    meeting_id: int
    name: str
    args: dict[str, Any]
    fut: asyncio.Future[dict[str, Any]] = field(repr=False)
    actor: str = "host"


@dataclass
class _Vote:
    job: BallotJob
    fut: asyncio.Future[BallotOutcome] = field(repr=False)


@dataclass
class _Batched:
    kind: str
    meeting_id: int
    args: dict[str, Any]
    fut: asyncio.Future[dict[str, Any]] = field(repr=False)


_Item = _Cmd | _Vote | _Batched


def _same_group(a: _Item, b: _Item) -> bool:
    if isinstance(a, _Vote) and isinstance(b, _Vote):
        return True
    return isinstance(a, _Batched) and isinstance(b, _Batched) and a.kind == b.kind


def now_ms() -> int:
    return int(time.time() * 1000)


class Writer:
    def __init__(self, engine: Engine, on_commit: OnCommit, max_batch: int = 1000,
                 signing_key: Ed25519PrivateKey | None = None) -> None:
        self.engine = engine
        # Signs the record root at each seal (live.store.record.seal); None leaves records unsigned.
        self.signing_key = signing_key
        self.on_commit = on_commit
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-writer")
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.ballots_committed = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="live-writer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._pool.shutdown(wait=True)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def command(self, meeting_id: int, name: str, args: dict[str, Any], *,
                      actor: str = "host") -> dict[str, Any]:
        """Run a command; ``actor`` (host, recorder, admin, system) goes in its audit entry."""
        if actor not in record_store.ACTORS:
            raise ValueError(f"unknown actor {actor!r}")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Cmd(meeting_id, name, args, fut, actor))
        return await fut

    async def vote(self, job: BallotJob) -> BallotOutcome:
        fut: asyncio.Future[BallotOutcome] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Vote(job, fut))
        return await fut

    async def job(self, kind: str, meeting_id: int, args: dict[str, Any]) -> dict[str, Any]:
        """A batched job; raises CommandRefused when that job alone is refused."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Batched(kind, meeting_id, args, fut))
        return await fut

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            run: list[_Item] = [first]
            while len(run) < self.max_batch and not self._queue.empty():
                nxt = self._queue.get_nowait()
                run.append(nxt)
            # Split into order-preserving groups: a run of votes, a run of one job kind, or one command.
            groups: list[list[_Item]] = []
            for job in run:
                if groups and _same_group(groups[-1][0], job):
                    groups[-1].append(job)
                else:
                    groups.append([job])
            for group in groups:
                try:
                    if isinstance(group[0], _Cmd):
                        await self._do_command(loop, group[0])
                    elif isinstance(group[0], _Batched):
                        await self._do_batch(loop, [g for g in group if isinstance(g, _Batched)])
                    else:
                        await self._do_votes(loop, [g for g in group if isinstance(g, _Vote)])
                except Exception:  # the writer must outlive any one bad job
                    log.exception("writer job failed")
                    for job in group:
                        if not job.fut.done():
                            job.fut.set_exception(CommandRefused(ErrorCode.INTERNAL))

    async def _do_command(self, loop: asyncio.AbstractEventLoop, cmd: _Cmd) -> None:
        try:
            outcome, seq_events = await loop.run_in_executor(self._pool, self._run_command, cmd)
        except LiveError as exc:  # PhaseError, BallotError, PaperError, VisibilityError, ...
            cmd.fut.set_exception(CommandRefused.of(exc))
            return
        self.on_commit(seq_events, outcome.changes)
        cmd.fut.set_result(outcome.reply)

    def _run_command(self, cmd: _Cmd) -> tuple[CommandOutcome, list[SeqEvent]]:
        fn = COMMANDS[cmd.name]
        ts = now_ms()
        with Session(self.engine) as s:
            outcome = fn(s, cmd.meeting_id, cmd.args, ts)
            events = list(outcome.events)
            if cmd.name not in record_store.UNAUDITED:
                # Every command that changed something is logged in the same transaction, by name.
                details = public_args(cmd.args)
                if outcome.audit:
                    details["outcome"] = outcome.audit
                record_store.append_audit(s, cmd.meeting_id, cmd.actor, cmd.name, details, ts)
            if outcome.seal:
                events.append(record_store.seal(s, cmd.meeting_id, self.signing_key, ts))
            seq_events = event_log.append(s, cmd.meeting_id, events, ts)
            s.commit()
        if outcome.checkpoint:
            self._checkpoint()
        return outcome, seq_events

    def _checkpoint(self) -> None:
        """After a secret 测评 closes or its meeting ends: no -wal keeps its pages."""
        for attempt in range(10):
            done = checkpoint_truncate(self.engine)
            if done is None or done[0] == 0:
                return
            time.sleep(0.05 * (attempt + 1))  # a reader still holds an old snapshot
        log.warning("wal_checkpoint(TRUNCATE) stayed busy; the -wal will be emptied at the next one")

    async def _do_batch(self, loop: asyncio.AbstractEventLoop, jobs: list[_Batched]) -> None:
        results, seq_events = await loop.run_in_executor(self._pool, self._run_batch, jobs)
        self.batches += 1
        self.on_commit(seq_events, [])
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, LiveError):
                job.fut.set_exception(CommandRefused.of(result))
            else:
                job.fut.set_result(result.reply)

    def _run_batch(self, jobs: list[_Batched]) -> tuple[list[BatchResult], list[SeqEvent]]:
        fn = BATCHES[jobs[0].kind]
        ts = now_ms()
        for attempt in range(5):
            try:
                return self._batch_tx(fn, jobs, ts)
            except IntegrityError:
                # Another worker raced us on a UNIQUE row (an upvote): settle each job alone.
                results: list[BatchResult] = []
                seq_events: list[SeqEvent] = []
                for job in jobs:
                    for _ in range(2):
                        try:
                            r, e = self._batch_tx(fn, [job], ts)
                            results += r
                            seq_events += e
                            break
                        except IntegrityError:
                            continue
                    else:
                        results.append(LiveError("操作冲突，请重试", ErrorCode.CONFLICT))
                return results, seq_events
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _batch_tx(self, fn: BatchFn, jobs: list[_Batched], ts: int) -> tuple[list[BatchResult], list[SeqEvent]]:
        with Session(self.engine) as s:
            results = fn(s, [BatchJob(j.meeting_id, j.args) for j in jobs], ts)
            per_meeting: dict[int, list[dict[str, Any]]] = {}
            for job, result in zip(jobs, results, strict=True):
                if isinstance(result, CommandOutcome) and result.events:
                    per_meeting.setdefault(job.meeting_id, []).extend(result.events)
            seq_events: list[SeqEvent] = []
            for mid, evs in per_meeting.items():
                seq_events += event_log.append(s, mid, evs, ts)
            s.commit()
        return results, seq_events

    async def _do_votes(self, loop: asyncio.AbstractEventLoop, votes: list[_Vote]) -> None:
        jobs = [v.job for v in votes]

        def run() -> None:
            outcomes, changes = self._run_votes(jobs)
            # Handed to the loop straight from this thread, after COMMIT: the voters' tasks wake
            # (and ack) a loop turn sooner than through the executor's future and this task; in a
            # busy loop a turn can take milliseconds.
            loop.call_soon_threadsafe(self._votes_done, votes, outcomes, changes)

        await loop.run_in_executor(self._pool, run)

    def _votes_done(self, votes: list[_Vote], outcomes: list[BallotOutcome], changes: list[TallyChange]) -> None:
        try:
            self.batches += 1
            self.ballots_committed += sum(1 for o in outcomes if o.status in ("stored", "replaced"))
            self.on_commit([], changes)
            for v, o in zip(votes, outcomes, strict=True):
                if not v.fut.done():  # a voter whose socket went away meanwhile
                    v.fut.set_result(o)
        except Exception:  # the writer must outlive any one bad job
            log.exception("writer job failed")
            for v in votes:
                if not v.fut.done():
                    v.fut.set_exception(CommandRefused(ErrorCode.INTERNAL))

    def _run_votes(self, jobs: list[BallotJob]) -> tuple[list[BallotOutcome], list[TallyChange]]:
        ts = now_ms()
        for attempt in range(5):
            try:
                with Session(self.engine) as s:
                    outcomes, changes = store_batch(s, jobs, ts)
                    s.commit()
                return outcomes, changes
            except IntegrityError:
                # Another worker raced us on the same voter: settle each ballot alone.
                return self._run_votes_one_by_one(jobs, ts)
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _run_votes_one_by_one(self, jobs: list[BallotJob], ts: int) -> tuple[list[BallotOutcome], list[TallyChange]]:
        outcomes: list[BallotOutcome] = []
        changes: list[TallyChange] = []
        for job in jobs:
            for _ in range(2):
                try:
                    with Session(self.engine) as s:
                        o, c = store_batch(s, [job], ts)
                        s.commit()
                    outcomes += o
                    changes += c
                    break
                except IntegrityError:
                    continue
            else:
                outcomes.append(BallotOutcome(False, "error", "conflict", "投票冲突，请重试"))
        return outcomes, changes
