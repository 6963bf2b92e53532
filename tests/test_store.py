"""The store on SQLite and on PostgreSQL: migrations, constraints, the event log, the writer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from conftest import DEMO, PASSWORD
from live.store import events as event_log
from live.store.ballots import BallotJob
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.models import AgendaItem, Ballot, Event, Meeting
from live.store.seed import create_meeting
from live.store.writer import CommandRefused, Writer


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def seed(engine: Engine, secret: bool = False) -> tuple[int, list[int]]:
    with Session(engine) as s:
        created = create_meeting(s, {**DEMO, "secret": secret}, PASSWORD)
        s.commit()
        items = [i.id or 0 for i in s.exec(select(AgendaItem).where(AgendaItem.meeting_id == created.meeting_id)
                                           .order_by(AgendaItem.position)).all()]
    return created.meeting_id, items


def test_migrations_create_every_table(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {"meeting", "agenda_item", "panel_member", "ballot", "event", "alembic_version"} <= names
    if engine.dialect.name == "sqlite":
        with engine.connect() as c:
            assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_database_enforces_one_ballot_per_voter_per_item(engine: Engine) -> None:
    mid, items = seed(engine)
    with Session(engine) as s:
        s.add(Ballot(id="b-one-0001", meeting_id=mid, item_id=items[0], voter_key="d:x", voter_group="public",
                     choice_json="{}"))
        s.commit()
    with Session(engine) as s, pytest.raises(IntegrityError):
        s.add(Ballot(id="b-two-0002", meeting_id=mid, item_id=items[0], voter_key="d:x", voter_group="public",
                     choice_json="{}"))
        s.commit()
    with Session(engine) as s:  # the same voter on another item is fine; unlinked ballots never collide
        s.add(Ballot(id="b-three-003", meeting_id=mid, item_id=items[1], voter_key="d:x", voter_group="public",
                     choice_json="{}"))
        s.add(Ballot(id="b-four-0004", meeting_id=mid, item_id=items[0], voter_key=None, voter_group="public",
                     choice_json="{}"))
        s.add(Ballot(id="b-five-0005", meeting_id=mid, item_id=items[0], voter_key=None, voter_group="public",
                     choice_json="{}"))
        s.commit()


def test_event_seq_is_dense_under_concurrent_appends(engine: Engine) -> None:
    mid, _ = seed(engine)
    errors: list[Exception] = []

    def appender() -> None:
        try:
            for _ in range(20):
                with Session(engine) as s:
                    event_log.append(s, mid, [{"type": "x"}, {"type": "y"}], 0)
                    s.commit()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=appender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Session(engine) as s:
        seqs = list(s.exec(select(Event.seq).where(Event.meeting_id == mid).order_by(Event.seq)).all())
        m = s.get(Meeting, mid)
        assert m is not None and m.last_seq == 160
    assert seqs == list(range(1, 161))


def _run_meeting(engine: Engine, mid: int, item: int, n_voters: int,
                 secret: bool = False) -> tuple[Writer, list[str]]:
    async def go() -> tuple[Writer, list[str]]:
        committed: list[str] = []
        writer = Writer(engine, lambda evs, changes: committed.extend(c.ballot_id for c in changes))
        await writer.start()
        try:
            await writer.command(mid, "meeting.start", {})
            await writer.command(mid, "item.open", {"item_id": item})
            for _ in range(3):
                await writer.command(mid, "item.advance", {"item_id": item})
            jobs = [BallotJob(mid, item, f"burst-{n:06d}", f"d:dev{n}", "public", {"option": "满意"})
                    for n in range(n_voters)]
            outcomes = await asyncio.gather(*(writer.vote(j) for j in jobs))
            assert all(o.status == "stored" for o in outcomes)
            # A retry of the same ballots is a no-op; in a secret meeting it is refused (final once acked).
            again = await asyncio.gather(*(writer.vote(j) for j in jobs[:10]))
            if secret:
                assert {o.code for o in again} == {"already_voted"}
            else:
                assert {o.status for o in again} == {"duplicate"}
            await writer.command(mid, "item.advance", {"item_id": item})
            with pytest.raises(CommandRefused):
                await writer.command(mid, "item.back", {"item_id": item})
        finally:
            await writer.stop()
        return writer, committed

    return asyncio.run(go())


def test_writer_group_commits_a_burst(engine: Engine) -> None:
    mid, items = seed(engine)
    writer, committed = _run_meeting(engine, mid, items[0], 600)
    assert len(committed) == 600 == writer.ballots_committed
    assert writer.batches < 600  # batched, not one transaction per ballot
    with Session(engine) as s:
        rows = s.exec(select(Ballot).where(Ballot.item_id == items[0])).all()
        item = s.get(AgendaItem, items[0])
    assert len(rows) == 600
    assert item is not None and item.phase == "done" and item.digest
    result = orjson.loads(item.result_json or "{}")
    assert result["ballots"] == 600 and result["groups"][1]["satisfaction_rate_display"] == "100.00%"


def test_secret_meeting_never_stores_a_voter_beside_a_choice(engine: Engine) -> None:
    from live.store.models import Participation

    mid, items = seed(engine, secret=True)
    _, committed = _run_meeting(engine, mid, items[0], 20, secret=True)
    with Session(engine) as s:
        rows = s.exec(select(Ballot).where(Ballot.item_id == items[0])).all()
        took_part = s.exec(select(Participation).where(Participation.item_id == items[0])).all()
    assert len(rows) == 20 and len(took_part) == 20
    assert all(r.voter_key is None and r.cast_at_ms is None for r in rows)
    assert not any(r.id.startswith("burst-") for r in rows)  # server-made ids, not the client's
    assert sorted(r.id for r in rows) == sorted(committed)
    assert {p.voter_key for p in took_part} == {f"d:dev{n}" for n in range(20)}
