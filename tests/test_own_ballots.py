"""Own ballots read in batches on join: one query serves many phones, and each gets its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from conftest import Seed as BaseSeed
from live.store.ballots import my_ballots_many
from live.store.db import make_engine
from live.store.models import AgendaItem, Ballot
from live.store.own_ballots import OwnBallots


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
