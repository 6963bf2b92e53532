"""MeetingSync: the join decisions, without a socket or a database."""

from __future__ import annotations

from collections import deque

import orjson

from live.realtime.sync import LOG_REPLAY_LIMIT, MeetingSync, SyncPlan
from live.store.events import SeqEvent, encode


def ev(seq: int) -> SeqEvent:
    msg = {"type": "meeting.updated", "seq": seq, "cause": "durations", "meeting": {"id": 1}}
    return SeqEvent(1, seq, msg, encode(msg))


def ring(first: int, last: int) -> deque[SeqEvent]:
    return deque(ev(s) for s in range(first, last + 1))


def types(plan: SyncPlan) -> list[str]:
    return [orjson.loads(w)["type"] for w in MeetingSync.frames(plan, lambda: encode({"type": "snapshot"}))]


def test_no_since_is_a_snapshot() -> None:
    plan = MeetingSync().plan(None, 10, ring(1, 10))
    assert plan.kind == "snapshot" and plan.reason is None
    assert types(plan) == ["snapshot"]


def test_up_to_date_is_an_empty_replay() -> None:
    plan = MeetingSync().plan(10, 10, ring(1, 10))
    assert plan.kind == "replay" and plan.events == []
    assert orjson.loads(MeetingSync.frames(plan, str)[0]) == {"type": "replay", "from_seq": 10, "to_seq": 10,
                                                              "count": 0}


def test_a_gap_inside_the_ring_replays_from_memory() -> None:
    plan = MeetingSync().plan(7, 10, ring(3, 10))
    assert plan.kind == "replay" and [e.seq for e in plan.events] == [8, 9, 10]
    assert types(plan) == ["replay", "meeting.updated", "meeting.updated", "meeting.updated"]


def test_ahead_resyncs() -> None:
    plan = MeetingSync().plan(12, 10, ring(1, 10))
    assert (plan.kind, plan.reason) == ("snapshot", "ahead")
    assert types(plan) == ["resync", "snapshot"]


def test_a_gap_before_the_ring_reads_the_log_within_its_limit() -> None:
    sync = MeetingSync()
    assert sync.plan(2, 10, ring(6, 10)).kind == "read_log"
    # The log gives 3..8; 9 and 10 reached the ring meanwhile.
    plan = sync.after_log(2, 10, [ev(s) for s in range(3, 9)], ring(6, 10))
    assert plan.kind == "replay" and [e.seq for e in plan.events] == list(range(3, 11))
    # A hole (the log stopped short and the ring moved on) falls back to a snapshot.
    plan = sync.after_log(2, 10, [ev(3), ev(4)], ring(8, 10))
    assert (plan.kind, plan.reason) == ("snapshot", "gap_too_old")


def test_beyond_the_log_limit_resyncs_without_reading() -> None:
    plan = MeetingSync().plan(0, LOG_REPLAY_LIMIT + 5, ring(LOG_REPLAY_LIMIT, LOG_REPLAY_LIMIT + 5))
    assert (plan.kind, plan.reason) == ("snapshot", "gap_too_old")
    assert types(plan) == ["resync", "snapshot"]
