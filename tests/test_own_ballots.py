"""Own ballots read in batches on join: one query serves many phones, and each gets its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from conftest import DEMO
from conftest import Seed as BaseSeed
from live.store.ballots import my_ballots_many
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.models import AgendaItem, Ballot, Participation
from live.store.own_ballots import OwnBallots
from live.store.seed import create_meeting


class Seed:
    def __init__(self, base: BaseSeed) -> None:
        self.meeting_id = base.meeting_id
        self.engine: Engine = make_engine(base.settings.database_url)
        with Session(self.engine) as s:
            self.item_ids = [i.id for i in s.exec(select(AgendaItem).where(AgendaItem.meeting_id == base.meeting_id)
                                                  .order_by(col(AgendaItem.position))).all()]


@pytest.fixture
def seed(seed: BaseSeed) -> Seed:  # type: ignore[no-redef]
    return Seed(seed)


def _vote(seed: Seed, voter: str, ballot_id: str, option: str, item: int = 0) -> None:
    # Written straight to the table: this is about reading, not the phase rules of voting.
    with Session(seed.engine) as s:
        s.add(Ballot(id=ballot_id, meeting_id=seed.meeting_id, item_id=seed.item_ids[item], voter_key=voter,
                     voter_group="public", choice_json=f'{{"option": "{option}"}}', cast_at_ms=1))
        s.commit()


def test_many_voters_in_one_query_each_with_their_own(seed: Seed) -> None:
    _vote(seed, "d:a", "b-a", "满意")
    _vote(seed, "d:b", "b-b", "不满意")
    _vote(seed, "d:b", "b-b2", "满意", item=1)
    with Session(seed.engine) as s:
        got = my_ballots_many(s, seed.meeting_id, ["d:a", "d:b", "d:none"])
    assert got == {"d:a": {seed.item_ids[0]: {"ballot_id": "b-a", "choice": {"option": "满意"}}},
                   "d:b": {seed.item_ids[0]: {"ballot_id": "b-b", "choice": {"option": "不满意"}},
                           seed.item_ids[1]: {"ballot_id": "b-b2", "choice": {"option": "满意"}}}}


def test_concurrent_joins_share_reads_and_get_their_own_ballots(seed: Seed) -> None:
    for n in range(300):
        _vote(seed, f"d:{n}", f"b-{n}", "满意" if n % 2 else "基本满意")
    reader = OwnBallots(seed.engine)

    async def storm() -> list[dict[str, Any]]:
        return await asyncio.gather(*(reader.get(seed.meeting_id, f"d:{n}") for n in range(400)))

    got = asyncio.run(storm())
    first = str(seed.item_ids[0])
    for n in range(300):
        assert got[n] == {first: {"ballot_id": f"b-{n}", "choice": {"option": "满意" if n % 2 else "基本满意"}}}
    assert all(g == {} for g in got[300:])  # never voted
    assert reader.reads < 10, reader.reads  # batched: one read for the first, one for the rest


def test_a_trickle_of_joins_in_a_storm_waits_to_share_a_read(seed: Seed) -> None:
    """Phones arriving one every millisecond (a join storm as it reaches one worker): after the
    first read the next ones wait ``gather_s`` and share reads; with no wait each read would
    take one or two phones."""
    _vote(seed, "d:7", "b-7", "满意")

    async def trickle(reader: OwnBallots) -> list[dict[str, Any]]:
        tasks = []
        for n in range(60):
            tasks.append(asyncio.ensure_future(reader.get(seed.meeting_id, f"d:{n}")))
            await asyncio.sleep(0.001)
        return await asyncio.gather(*tasks)

    gathering = OwnBallots(seed.engine, gather_s=0.03)
    got = asyncio.run(trickle(gathering))
    assert got[7] == {str(seed.item_ids[0]): {"ballot_id": "b-7", "choice": {"option": "满意"}}}
    assert all(g == {} for n, g in enumerate(got) if n != 7)
    eager = OwnBallots(seed.engine, gather_s=0.0)
    asyncio.run(trickle(eager))
    assert 3 * gathering.reads <= eager.reads, (gathering.reads, eager.reads)  # here: 4 against 60


def test_a_failed_read_fails_its_waiters_and_the_next_one_works(seed: Seed, monkeypatch: pytest.MonkeyPatch) -> None:
    _vote(seed, "d:a", "b-a", "满意")
    reader = OwnBallots(seed.engine)
    real = reader._read
    calls = {"n": 0}

    def flaky(keys: list[tuple[int, str]]) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(keys)

    monkeypatch.setattr(reader, "_read", flaky)

    async def run() -> tuple[BaseException | dict[str, Any], dict[str, Any]]:
        first = await asyncio.gather(reader.get(seed.meeting_id, "d:a"), return_exceptions=True)
        second = await reader.get(seed.meeting_id, "d:a")
        return first[0], second

    first, second = asyncio.run(run())
    assert isinstance(first, RuntimeError)
    assert second == {str(seed.item_ids[0]): {"ballot_id": "b-a", "choice": {"option": "满意"}}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'own.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def test_plain_connection_read_open_secret_and_unknown_meeting(any_engine: Engine) -> None:
    """The join's read (one statement on a plain connection): ballots with ids in an open
    meeting, only "voted" in a secret one, nothing for a meeting that does not exist."""
    with Session(any_engine) as s:
        open_id = create_meeting(s, DEMO, "pw-123456").meeting_id
        secret_id = create_meeting(s, {**DEMO, "secret": True}, "pw-123456").meeting_id
        s.commit()
        items = {mid: [i.id for i in s.exec(select(AgendaItem).where(AgendaItem.meeting_id == mid)
                                            .order_by(col(AgendaItem.position))).all()]
                 for mid in (open_id, secret_id)}
        s.add(Ballot(id="b-open", meeting_id=open_id, item_id=items[open_id][1], voter_key="d:a",
                     voter_group="public", choice_json='{"option": "满意"}', cast_at_ms=1))
        s.add(Participation(item_id=items[secret_id][0], voter_key="d:a"))
        s.commit()
    with any_engine.connect() as conn:
        assert my_ballots_many(conn, open_id, ["d:a", "d:b"]) == {
            "d:a": {items[open_id][1]: {"ballot_id": "b-open", "choice": {"option": "满意"}}}}
        assert my_ballots_many(conn, secret_id, ["d:a", "d:b"]) == {"d:a": {items[secret_id][0]: {"voted": True}}}
        assert my_ballots_many(conn, secret_id, ["d:b"]) == {}
        assert my_ballots_many(conn, 999_999, ["d:a"]) == {}
    assert asyncio.run(OwnBallots(any_engine).get(open_id, "d:a")) == {
        str(items[open_id][1]): {"ballot_id": "b-open", "choice": {"option": "满意"}}}
