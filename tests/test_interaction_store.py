"""The interaction tables and batched writer jobs on SQLite and PostgreSQL: the
migration matches the models, the "one per" rules are UNIQUE constraints, and
batches settle duplicates (within a batch and across two writers)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from conftest import DEMO, PASSWORD
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.models import (
    AgendaItem,
    BannedWord,
    Comment,
    DeviceBan,
    ItemReview,
    MeetingInteraction,
    Problem,
    ProgressNote,
    Question,
    QuestionUpvote,
)
from live.store.seed import create_meeting
from live.store.state import load_state
from live.store.writer import CommandRefused, Writer


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def seed(engine: Engine) -> tuple[int, list[int]]:
    with Session(engine) as s:
        created = create_meeting(s, DEMO, PASSWORD)
        s.commit()
        items = [i.id or 0 for i in s.exec(select(AgendaItem).where(AgendaItem.meeting_id == created.meeting_id)
                                           .order_by(AgendaItem.position)).all()]
    return created.meeting_id, items


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []


def _violates(engine: Engine, *rows: Any) -> None:
    with Session(engine) as s, pytest.raises(IntegrityError):
        for r in rows:
            s.add(r)
            s.flush()
        s.commit()


def test_one_per_rules_are_unique_constraints(engine: Engine) -> None:
    mid, items = seed(engine)
    with Session(engine) as s:
        q = Question(meeting_id=mid, item_id=items[0], origin="public", source="网络提问", content="问",
                     status="approved")
        s.add(q)
        s.commit()
        qid = q.id or 0
    _violates(engine, QuestionUpvote(question_id=qid, device_id="dev-1"), QuestionUpvote(question_id=qid,
                                                                                           device_id="dev-1"))
    _violates(engine, DeviceBan(meeting_id=mid, device_id="dev-1"), DeviceBan(meeting_id=mid, device_id="dev-1"))
    _violates(engine, BannedWord(meeting_id=mid, term="某词"), BannedWord(meeting_id=mid, term="某词"))
    _violates(engine, ItemReview(meeting_id=mid, item_id=items[0], text="a"),
              ItemReview(meeting_id=mid, item_id=items[0], text="b"))
    with Session(engine) as s:  # other devices, meetings and items are fine
        s.add(QuestionUpvote(question_id=qid, device_id="dev-2"))
        s.add(ItemReview(meeting_id=mid, item_id=items[1], text="b"))
        p = Problem(meeting_id=mid, item_id=items[0], description="d", deadline=date(2025, 4, 16))
        s.add(p)
        s.flush()
        s.add(ProgressNote(problem_id=p.id or 0, on_date=date(2025, 2, 1), text="t"))
        s.commit()


def _writers(engine: Engine, n: int, body: Any) -> Any:
    async def go() -> Any:
        writers = [Writer(engine, lambda evs, changes: None) for _ in range(n)]
        for w in writers:
            await w.start()
        try:
            return await body(writers)
        finally:
            for w in writers:
                await w.stop()

    return asyncio.run(go())


async def _settle(coros: list[Any]) -> list[Any]:
    out = []
    for r in await asyncio.gather(*coros, return_exceptions=True):
        out.append(r.code if isinstance(r, CommandRefused) else r)
    return out


def test_batched_upvotes_count_once_per_device_even_across_writers(engine: Engine) -> None:
    mid, items = seed(engine)
    with Session(engine) as s:
        q = Question(meeting_id=mid, item_id=items[0], origin="public", source="网络提问", content="问",
                     status="approved")
        s.add(q)
        s.commit()
        qid = q.id or 0

    async def body(writers: list[Writer]) -> list[Any]:
        # Two workers' writers take the same device's upvote, plus a burst of distinct ones.
        jobs = [w.job("question.upvote", mid, {"question_id": qid, "device_id": "dev-same"}) for w in writers]
        jobs += [writers[n % 2].job("question.upvote", mid, {"question_id": qid, "device_id": f"dev-{n}"})
                 for n in range(40)]
        jobs.append(writers[0].job("question.upvote", mid, {"question_id": 999_999, "device_id": "dev-x"}))
        return await _settle(jobs)

    results = _writers(engine, 2, body)
    same = results[:2]
    assert sorted(r["status"] if isinstance(r, dict) else r for r in same) in (["duplicate", "stored"],
                                                                               ["conflict", "stored"])
    assert all(isinstance(r, dict) and r["status"] == "stored" for r in results[2:42])
    assert results[-1] == "not_found"
    with Session(engine) as s:
        q = s.get(Question, qid)
        n = len(s.exec(select(QuestionUpvote).where(QuestionUpvote.question_id == qid)).all())
    assert q is not None and q.upvotes == n == 41


def test_comment_batch_orders_shown_comments_and_the_window_loads(engine: Engine) -> None:
    mid, _ = seed(engine)

    async def body(writers: list[Writer]) -> list[Any]:
        w = writers[0]
        await w.command(mid, "comment.mode", {"mode": "show"})
        await w.command(mid, "device.ban", {"comment_id": (await w.job(
            "comment.send", mid, {"device_id": "dev-bad", "text": "x", "item_id": None}))["comment_id"]})
        jobs = [w.job("comment.send", mid, {"device_id": f"dev-{n % 7}", "text": f"c{n}", "item_id": None})
                for n in range(60)]
        jobs.append(w.job("comment.send", mid, {"device_id": "dev-bad", "text": "again", "item_id": None}))
        out = await _settle(jobs)
        await w.command(mid, "likes.add", {"n": 5})
        await w.command(mid, "likes.add", {"n": 7})
        return out

    results = _writers(engine, 1, body)
    assert results[-1] == "banned" and all(r["status"] == "shown" for r in results[:-1])
    with Session(engine) as s:
        orders = [c.shown_order for c in s.exec(select(Comment).where(Comment.status == "shown")
                                                .order_by(Comment.id)).all()]
        _, state = load_state(s, mid)
        likes = s.get(MeetingInteraction, mid)
    assert orders == list(range(1, 62))  # dense, in arrival order (a ban does not hide what was shown)
    assert state["comments"][0]["text"] == "c10" and len(state["comments"]) == 50
    assert likes is not None and likes.likes == 12
