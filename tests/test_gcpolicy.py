"""The garbage-collector policy for a big room, with a recording stand-in for ``gc``."""

from __future__ import annotations

import gc

from live.realtime.gcpolicy import GcPolicy


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def freeze(self) -> None:
        self.calls.append("freeze")

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")

    def collect(self) -> int:
        self.calls.append("collect")
        return 0


def test_small_room_keeps_pythons_defaults() -> None:
    rec = Recorder()
    p = GcPolicy(big_room=100, every_s=5, gc=rec)
    for t in range(0, 60, 5):
        assert p.tick(float(t), 99) is None
    assert rec.calls == []


def test_big_room_freezes_at_most_every_period() -> None:
    rec = Recorder()
    p = GcPolicy(big_room=100, every_s=5, gc=rec)
    assert p.tick(0.0, 150) == "freeze"
    assert p.tick(1.0, 180) is None  # within the period
    assert p.tick(5.0, 180) == "freeze"
    assert rec.calls == ["freeze", "freeze"] and p.peak == 180


def test_room_emptying_thaws_and_collects_once() -> None:
    rec = Recorder()
    p = GcPolicy(big_room=100, every_s=5, gc=rec)
    p.tick(0.0, 500)
    assert p.tick(5.0, 40) == "thaw"
    assert rec.calls == ["freeze", "unfreeze", "collect"]
    assert p.tick(10.0, 40) is None and p.frozen is False and p.thaws == 1


def test_many_departures_thaw_even_in_a_full_room() -> None:
    rec = Recorder()
    p = GcPolicy(big_room=100, every_s=5, gc=rec)
    p.tick(0.0, 300)
    p.observe_leave(300)  # a whole room's worth reconnected: their cycles are frozen garbage
    assert p.tick(5.0, 300) == "freeze"  # as many left as it held: not yet
    p.observe_leave(1)
    assert p.tick(10.0, 300) == "thaw" and p.left == 0
    assert p.tick(15.0, 300) == "freeze"


def test_departures_before_any_freeze_are_not_counted() -> None:
    p = GcPolicy(big_room=100, every_s=5, gc=Recorder())
    p.observe_leave(1000)
    assert p.left == 0


def test_real_gc_freeze_and_thaw_round_trip() -> None:
    p = GcPolicy(big_room=2, every_s=0)
    try:
        assert p.tick(0.0, 5) == "freeze" and gc.get_freeze_count() > 0
        assert p.tick(1.0, 0) == "thaw" and gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


def test_an_open_vote_defers_the_pause_up_to_three_rooms_of_departures() -> None:
    rec = Recorder()
    p = GcPolicy(big_room=100, every_s=5, gc=rec)
    p.tick(0.0, 300, voting=True)
    p.observe_leave(301)  # a room's worth turned over, but ballots are waiting for acks
    assert p.tick(5.0, 300, voting=True) == "freeze"
    assert p.tick(10.0, 300, voting=False) == "thaw"  # the vote closed: now
    p.tick(15.0, 300, voting=True)
    p.observe_leave(901)  # past three rooms' worth: memory wins even during a vote
    assert p.tick(20.0, 300, voting=True) == "thaw"


def test_an_empty_room_thaws_even_during_a_vote() -> None:
    p = GcPolicy(big_room=100, every_s=5, gc=Recorder())
    p.tick(0.0, 300, voting=True)
    assert p.tick(5.0, 10, voting=True) == "thaw"
