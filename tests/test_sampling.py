"""Per-minute interaction samples: the sampler's minutes, the stored rows of several
workers summed into one series, and a live meeting sampled end to end."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient
from test_interaction import citizen, host, screen

import live.realtime.voice_counters
from conftest import DEMO, PASSWORD, close_sockets, item_ids, seed_meeting
from live.config import Settings
from live.realtime.sampling import MinuteSampler
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.models import AgendaItem, Comment, InteractionSample, Question
from live.store.samples import MINUTE_MS, minute_series
from live.store.seed import create_meeting
from live.store.writer import CommandRefused, Writer
from live.web.app import create_app

T0 = 1_764_554_400_000  # a whole minute (2025-12-01 02:00 UTC)


def test_sampler_closes_each_minute_with_its_likes_and_the_sockets_at_its_end() -> None:
    s = MinuteSampler("w1")
    phones = {"audience": 3, "screen": 1, "host": 1, "panel": 0, "members": []}
    assert s.take(1, "draft", phones, T0 + 5_000) is None
    s.like(1, 50)  # before the meeting starts: not in any minute
    assert s.take(1, "live", phones, T0 + 10_000) is None  # opens the minute T0
    s.like(1, 4)
    s.like(1, 6)
    assert s.take(1, "live", phones, T0 + 59_999) is None
    later = {**phones, "audience": 7}
    assert s.take(1, "live", later, T0 + MINUTE_MS) == {
        "worker": "w1", "minute_ms": T0, "audience": 7, "screens": 1, "panel": 0, "hosts": 1, "likes": 10}
    # The meeting ends mid-minute: that minute is closed at once.
    s.like(1, 2)
    assert s.take(1, "ended", later, T0 + MINUTE_MS + 30_000)["likes"] == 2  # type: ignore[index]
    assert s.take(1, "ended", later, T0 + 3 * MINUTE_MS) is None
    # Nobody here and no likes: nothing to add to the sums.
    assert s.take(2, "live", {}, T0) is None
    assert s.take(2, "live", {}, T0 + MINUTE_MS) is None
    # Shutdown takes the open minute as it stands.
    s.take(3, "live", phones, T0)
    s.like(3, 1)
    assert s.drain({3: phones}) == [(3, {"worker": "w1", "minute_ms": T0, "audience": 3, "screens": 1,
                                         "panel": 0, "hosts": 1, "likes": 1})]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def _meeting(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        created = create_meeting(s, DEMO, PASSWORD)
        s.commit()
        item = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == created.meeting_id)).first()
    assert item is not None and item.id is not None
    return created.meeting_id, item.id


def test_two_workers_samples_add_up_and_comments_come_from_their_rows(engine: Engine) -> None:
    mid, item = _meeting(engine)

    async def run() -> None:
        # Two workers, two writers, one database: as with several uvicorn workers.
        a, b = Writer(engine, lambda *_: None), Writer(engine, lambda *_: None)
        await a.start()
        await b.start()
        try:
            await a.command(mid, "interaction.sample", {"worker": "a", "minute_ms": T0, "audience": 120, "screens": 1,
                                                        "panel": 5, "hosts": 1, "likes": 30}, actor="system")
            await b.command(mid, "interaction.sample", {"worker": "b", "minute_ms": T0, "audience": 80, "likes": 12},
                            actor="system")
            await b.command(mid, "interaction.sample", {"worker": "b", "minute_ms": T0 + 3 * MINUTE_MS,
                                                        "audience": 60}, actor="system")
            # A retried minute replaces the counts and adds the likes.
            await b.command(mid, "interaction.sample", {"worker": "b", "minute_ms": T0, "audience": 90, "likes": 3},
                            actor="system")
            for bad in ({"worker": "a", "minute_ms": T0 + 1}, {"worker": "", "minute_ms": T0},
                        {"worker": "a", "minute_ms": T0, "audience": -1},
                        {"worker": "a", "minute_ms": T0, "likes": "many"}):
                with pytest.raises(CommandRefused) as err:
                    await a.command(mid, "interaction.sample", bad, actor="system")
                assert err.value.code == "invalid" and err.value.status == 400
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(run())
    with Session(engine) as s:
        s.add(Comment(meeting_id=mid, device_id="d1", text="好", status="shown", created_at_ms=T0 + 100))
        s.add(Comment(meeting_id=mid, device_id="d2", text="坏", status="hidden", created_at_ms=T0 + 59_000))
        s.add(Comment(meeting_id=mid, device_id="d3", text="问", status="held", created_at_ms=T0 + MINUTE_MS))
        s.add(Question(meeting_id=mid, item_id=item, origin="public", source="现场群众", content="q",
                       created_at_ms=T0 + 2 * MINUTE_MS + 5))
        s.add(Question(meeting_id=mid, item_id=item, origin="panel", source="评议团", content="q",
                       created_at_ms=T0 + 2 * MINUTE_MS + 7))
        # Imported before the meeting (12345热线): listed in the export, not in the minute series.
        s.add(Question(meeting_id=mid, item_id=item, origin="import", source="12345热线", content="q",
                       created_at_ms=T0 - 3_600_000))
        s.commit()
        series = [r.to_dict() for r in minute_series(s, mid)]
        assert len(s.exec(select(InteractionSample)).all()) == 3
    assert series == [
        {"minute_ms": T0, "audience": 210, "screens": 1, "panel": 5, "hosts": 1, "likes": 45, "comments": 2,
         "questions": 0},
        {"minute_ms": T0 + MINUTE_MS, "audience": 0, "screens": 0, "panel": 0, "hosts": 0, "likes": 0, "comments": 1,
         "questions": 0},
        {"minute_ms": T0 + 2 * MINUTE_MS, "audience": 0, "screens": 0, "panel": 0, "hosts": 0, "likes": 0,
         "comments": 0, "questions": 2},
        {"minute_ms": T0 + 3 * MINUTE_MS, "audience": 60, "screens": 0, "panel": 0, "hosts": 0, "likes": 0,
         "comments": 0, "questions": 0},
    ]


def _wait_rows(settings: Settings, pred: Any) -> list[InteractionSample]:
    engine = make_engine(settings.database_url)
    try:
        for _ in range(200):
            with Session(engine) as s:
                rows = list(s.exec(select(InteractionSample).order_by(InteractionSample.minute_ms,
                                                                      InteractionSample.worker)).all())
            if pred(rows):
                return rows
            time.sleep(0.05)
        return rows
    finally:
        engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 1_000

    def __call__(self) -> int:
        return self.now


def test_a_live_meeting_is_sampled_each_minute(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(live.realtime.voice_counters, "wall_ms", clock)
    seed = seed_meeting(settings)
    with TestClient(create_app(settings)) as client:
        try:
            h = host(client, seed)
            screen(client, seed)
            phones = [citizen(client, seed, f"device-sample-{n:03d}") for n in range(3)]
            assert item_ids(h)
            h.cmd("meeting.start")
            time.sleep(0.6)  # a few ticks: the minute T0 is open
            for p in phones:
                p.cmd("like", count=5)
            phones[0].cmd("like", count=2)
            time.sleep(0.6)
            clock.now = T0 + MINUTE_MS + 10
            rows = _wait_rows(settings, lambda r: len(r) == 1)
            assert [(r.minute_ms, r.audience, r.screens, r.hosts, r.likes) for r in rows] == [(T0, 3, 1, 1, 17)]
            phones[2].ws.close()
            phones[1].cmd("like", count=1)
            time.sleep(0.6)
            h.cmd("meeting.end")  # the minute in progress is closed when the meeting ends
            rows = _wait_rows(settings, lambda r: len(r) == 2)
            assert [(r.minute_ms, r.audience, r.likes) for r in rows] == [(T0, 3, 17), (T0 + MINUTE_MS, 2, 1)]
        finally:
            close_sockets()


@pytest.mark.postgres
@pytest.mark.redis
def test_two_workers_each_write_their_own_minute_and_the_series_adds_them(
        pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(live.realtime.voice_counters, "wall_ms", clock)
    settings = Settings(database_url=pg_url, secret_key="k", redis_url=redis_url,
                        redis_channel=f"live:test:{uuid.uuid4().hex[:8]}", tick_s=0.05)
    seed = seed_meeting(settings)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        try:
            h = host(a, seed)
            on_a = [citizen(a, seed, f"device-wa-{n:03d}") for n in range(2)]
            on_b = [citizen(b, seed, f"device-wb-{n:03d}") for n in range(3)]
            h.cmd("meeting.start")
            time.sleep(0.5)
            on_a[0].cmd("like", count=4)
            on_b[0].cmd("like", count=6)
            time.sleep(0.3)
            clock.now = T0 + MINUTE_MS + 10
            rows = _wait_rows(settings, lambda r: len(r) == 2)
            assert sorted((r.audience, r.likes) for r in rows) == [(2, 4), (3, 6)]
            assert len({r.worker for r in rows}) == 2
            engine = make_engine(pg_url)
            with Session(engine) as s:
                [minute] = minute_series(s, seed.meeting_id)
            engine.dispose()
            assert (minute.audience, minute.likes, minute.hosts) == (5, 10, 1)
            assert len(on_a) + len(on_b) == minute.audience
        finally:
            close_sockets()
