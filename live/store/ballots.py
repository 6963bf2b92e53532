"""Storing a batch of ballots in one transaction (group commit).

Each ballot in the batch gets its own outcome; one bad ballot never fails the
others. The item rows are read FOR SHARE so that a host closing 测评 on another
worker waits for this batch, and this batch sees the close if it came first."""

from __future__ import annotations

import functools
import random
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from live.domain.errors import LiveError
from live.domain.phases import ItemPhase, MeetingStatus, PhaseError, check_can_vote
from live.store.models import AgendaItem, Ballot, Meeting, Participation

BALLOT: Table = Ballot.__table__  # type: ignore[attr-defined]  # sqlmodel types do not show it
PARTICIPATION: Table = Participation.__table__  # type: ignore[attr-defined]
MEETING: Table = Meeting.__table__  # type: ignore[attr-defined]
AGENDA_ITEM: Table = AgendaItem.__table__  # type: ignore[attr-defined]
_SHUFFLE = random.SystemRandom()
SECRET_FINAL = "不记名测评：您已提交对该述法人的测评，提交后不可更改，也无法查看本人选择"


@dataclass(frozen=True)
class BallotJob:
    meeting_id: int
    item_id: int
    ballot_id: str
    voter_key: str
    group: str
    choice: dict[str, Any]


@dataclass(frozen=True)
class BallotOutcome:
    ok: bool
    status: str  # stored | replaced | duplicate | error
    code: str = ""
    message: str = ""
    extra: dict[str, Any] | None = None

    def error(self) -> LiveError:
        """The refusal as the one error type (only for ``ok`` False)."""
        return LiveError(self.message, self.code, **(self.extra or {}))


@dataclass(frozen=True)
class TallyChange:
    meeting_id: int
    item_id: int
    ballot_id: str
    group: str
    choice: dict[str, Any]


def _error(code: str, message: str, **extra: Any) -> BallotOutcome:
    return BallotOutcome(False, "error", code, message, extra or None)


def store_batch(s: Session, jobs: list[BallotJob], now_ms: int) -> tuple[list[BallotOutcome], list[TallyChange]]:
    # Core statements, not ORM objects: building a mapped object per ballot was half of a
    # worker's CPU in a vote burst, with the GIL held.
    # Three plain columns each, not ORM objects: building an AgendaItem and a Meeting (and
    # their pydantic state) for every batch cost a fifth of the writer's time, GIL held.
    conn = s.connection()
    it, mt = AGENDA_ITEM, MEETING
    item_ids = sorted({j.item_id for j in jobs})
    items = {r[0]: _Item(*r) for r in conn.execute(sa_select(it.c.id, it.c.meeting_id, it.c.phase)
                                                   .where(it.c.id.in_(item_ids)).with_for_update(read=True))}
    meeting_ids = sorted({i.meeting_id for i in items.values()})
    meetings = conn.execute(sa_select(mt.c.id, mt.c.status, mt.c.secret).where(mt.c.id.in_(meeting_ids))).all()
    statuses = {m[0]: str(m[1]) for m in meetings}
    secret_meetings = {m[0] for m in meetings if m[2]}
    secret_items = {i.id for i in items.values() if i.meeting_id in secret_meetings}
    if not secret_items:
        return _store_open(s, jobs, items, statuses, now_ms)
    # A secret ballot never meets its voter: split the batch, and each part goes its own way.
    secret_at = [n for n, j in enumerate(jobs) if j.item_id in secret_items]
    open_at = [n for n, j in enumerate(jobs) if j.item_id not in secret_items]
    secret_out, secret_changes = _store_secret(s, [jobs[n] for n in secret_at], items, statuses)
    open_out, open_changes = (_store_open(s, [jobs[n] for n in open_at], items, statuses, now_ms)
                              if open_at else ([], []))
    outcomes: list[BallotOutcome | None] = [None] * len(jobs)
    for n, o in [*zip(secret_at, secret_out, strict=True), *zip(open_at, open_out, strict=True)]:
        outcomes[n] = o
    return [o for o in outcomes if o is not None], open_changes + secret_changes


def _check(j: BallotJob, items: dict[Any, _Item], statuses: dict[Any, str]) -> BallotOutcome | None:
    item = items.get(j.item_id)
    if item is None or item.meeting_id != j.meeting_id:
        return _error("not_found", "议程中没有该述法人")
    try:
        check_can_vote(MeetingStatus(statuses[item.meeting_id]), ItemPhase(item.phase))
    except PhaseError as exc:
        return _error(exc.code, exc.message)
    return None


def _store_secret(s: Session, jobs: list[BallotJob], items: dict[Any, _Item],
                  statuses: dict[Any, str]) -> tuple[list[BallotOutcome], list[TallyChange]]:
    """A secret meeting's ballots: the voter goes into ``participation`` (the one-per-voter
    rule), the choice into ``ballot`` under a fresh random id with no voter and no time.
    The two sets of rows are inserted in independent random orders. A voter who already
    took part is refused: a secret ballot is final once acknowledged."""
    conn = s.connection()
    p = PARTICIPATION
    item_ids = sorted({j.item_id for j in jobs})
    voters = sorted({j.voter_key for j in jobs})
    pairs = {(j.item_id, j.voter_key) for j in jobs}
    taken: set[tuple[int, str]] = {
        (r[0], r[1]) for r in conn.execute(sa_select(p.c.item_id, p.c.voter_key)
                                           .where(p.c.item_id.in_(item_ids), p.c.voter_key.in_(voters)))
        if (r[0], r[1]) in pairs}
    took_part: list[tuple[Any, ...]] = []
    ballots: list[tuple[Any, ...]] = []
    outcomes: list[BallotOutcome] = []
    changes: list[TallyChange] = []
    for j in jobs:
        refused = _check(j, items, statuses)
        if refused is not None:
            outcomes.append(refused)
            continue
        if (j.item_id, j.voter_key) in taken:
            outcomes.append(_error("already_voted", SECRET_FINAL))
            continue
        taken.add((j.item_id, j.voter_key))
        ballot_id = secrets.token_hex(16)  # never the client's id: a phone cannot keep a receipt
        choice_json = orjson.dumps(j.choice, option=orjson.OPT_SORT_KEYS).decode()
        took_part.append((j.item_id, j.voter_key))
        ballots.append((ballot_id, j.meeting_id, j.item_id, None, j.group, choice_json, None))
        outcomes.append(BallotOutcome(True, "stored"))
        changes.append(TallyChange(j.meeting_id, j.item_id, ballot_id, j.group, j.choice))
    _SHUFFLE.shuffle(took_part)
    _SHUFFLE.shuffle(ballots)
    _SHUFFLE.shuffle(changes)  # the bus to other workers carries no order of casting either
    for start in range(0, len(took_part), _ROWS_PER_INSERT):
        chunk = took_part[start:start + _ROWS_PER_INSERT]
        conn.exec_driver_sql(_participation_sql(conn.dialect.paramstyle, len(chunk)),
                             tuple(v for row in chunk for v in row))
    _insert_ballots(conn, ballots)
    return outcomes, changes


def _store_open(s: Session, jobs: list[BallotJob], items: dict[Any, _Item], statuses: dict[Any, str],
                now_ms: int) -> tuple[list[BallotOutcome], list[TallyChange]]:
    """An open meeting's ballots: client-made ids, the voter on the row, changes allowed."""
    t = BALLOT
    conn = s.connection()
    style = conn.dialect.paramstyle
    item_ids = sorted({j.item_id for j in jobs})
    # Written once per list length and passed to the driver as they are (like the insert):
    # building and caching two IN-list selects through SQLAlchemy on every batch cost more
    # than running them.
    ids = sorted({j.ballot_id for j in jobs})
    by_id: dict[str, _Row] = {r[0]: _Row(*r) for r in conn.exec_driver_sql(_by_id_sql(style, len(ids)), tuple(ids))}
    # Two plain IN lists rather than one of (item, voter) pairs: PostgreSQL spent ~60 ms
    # planning a 500-pair row-value IN; the few extra rows this may match are skipped here.
    pairs = {(j.item_id, j.voter_key) for j in jobs}
    voters = sorted({j.voter_key for j in jobs})
    by_voter: dict[tuple[int, str | None], _Row] = {
        (r[1], r[2]): _Row(*r)
        for r in conn.exec_driver_sql(_by_voter_sql(style, len(item_ids), len(voters)), (*item_ids, *voters))
        if (r[1], r[2]) in pairs}
    inserts: list[tuple[Any, ...]] = []  # in the order of _INSERT_COLUMNS
    outcomes: list[BallotOutcome] = []
    changes: list[TallyChange] = []
    for j in jobs:
        refused = _check(j, items, statuses)
        if refused is not None:
            outcomes.append(refused)
            continue
        choice_json = orjson.dumps(j.choice, option=orjson.OPT_SORT_KEYS).decode()
        same_id = by_id.get(j.ballot_id)
        if same_id is not None:
            if same_id.voter_key != j.voter_key or same_id.item_id != j.item_id:
                outcomes.append(_error("ballot_id_taken", "选票编号冲突，请刷新页面后重新投票"))
                continue
            if same_id.choice_json == choice_json:
                outcomes.append(BallotOutcome(True, "duplicate"))
                continue
            conn.execute(sa_update(t).where(t.c.id == j.ballot_id).values(choice_json=choice_json, cast_at_ms=now_ms))
            same_id.choice_json = choice_json
            outcomes.append(BallotOutcome(True, "replaced"))
            changes.append(TallyChange(j.meeting_id, j.item_id, j.ballot_id, j.group, j.choice))
            continue
        mine = by_voter.get((j.item_id, j.voter_key))
        if mine is not None:
            outcomes.append(_error("already_voted", "您已对该述法人投过票；如需修改，请在原选票上修改",
                                   ballot_id=mine.id, choice=orjson.loads(mine.choice_json)))
            continue
        inserts.append((j.ballot_id, j.meeting_id, j.item_id, j.voter_key, j.group, choice_json, now_ms))
        row = _Row(j.ballot_id, j.item_id, j.voter_key, choice_json)
        by_id[row.id] = row
        by_voter[(j.item_id, j.voter_key)] = row
        outcomes.append(BallotOutcome(True, "stored"))
        changes.append(TallyChange(j.meeting_id, j.item_id, j.ballot_id, j.group, j.choice))
    _insert_ballots(conn, inserts)
    return outcomes, changes


def _insert_ballots(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    # Multi-row VALUES, not executemany: sqlite3 lets go of the GIL around every row it
    # steps, and each time the writer thread had to win it back from a busy event loop
    # (up to the 5 ms switch interval each): that was the tail of the acks in a burst.
    # The SQL is written once per row count and passed to the driver as it is: compiling
    # a 140-row insert through SQLAlchemy on every batch cost as much as running it.
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start:start + _ROWS_PER_INSERT]
        conn.exec_driver_sql(_insert_sql(conn.dialect.paramstyle, len(chunk)),
                             tuple(v for row in chunk for v in row))


_INSERT_COLUMNS = ("id", "meeting_id", "item_id", "voter_key", "voter_group", "choice_json", "cast_at_ms")
_ROWS_PER_INSERT = 140  # 140 rows of 7 values stay under SQLite's oldest limit of 999 parameters


def _mark(paramstyle: str) -> str:
    marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}
    if paramstyle not in marks:
        raise ValueError(f"unsupported DB-API paramstyle {paramstyle!r}")
    return marks[paramstyle]


@functools.lru_cache(maxsize=2 * _ROWS_PER_INSERT)
def _insert_sql(paramstyle: str, rows: int) -> str:
    row = "(" + ", ".join([_mark(paramstyle)] * len(_INSERT_COLUMNS)) + ")"
    values = ", ".join([row] * rows)
    return f"INSERT INTO ballot ({', '.join(_INSERT_COLUMNS)}) VALUES {values}"  # noqa: S608 (no data in it)


_LOOKUP = "SELECT id, item_id, voter_key, choice_json FROM ballot WHERE "


@functools.lru_cache(maxsize=1024)
def _by_id_sql(paramstyle: str, n: int) -> str:
    """The stored ballots with any of ``n`` ids."""
    return f"{_LOOKUP}id IN ({', '.join([_mark(paramstyle)] * n)})"


@functools.lru_cache(maxsize=1024)
def _by_voter_sql(paramstyle: str, items: int, voters: int) -> str:
    """The stored ballots on any of ``items`` items by any of ``voters`` voters."""
    mark = _mark(paramstyle)
    return f"{_LOOKUP}item_id IN ({', '.join([mark] * items)}) AND voter_key IN ({', '.join([mark] * voters)})"


@functools.lru_cache(maxsize=2 * _ROWS_PER_INSERT)
def _participation_sql(paramstyle: str, rows: int) -> str:
    mark = _mark(paramstyle)
    values = ", ".join([f"({mark}, {mark})"] * rows)
    return f"INSERT INTO participation (item_id, voter_key) VALUES {values}"  # noqa: S608 (no data in it)


@dataclass(frozen=True, slots=True)
class _Item:
    """What a batch reads of an agenda item."""

    id: int
    meeting_id: int
    phase: str


@dataclass
class _Row:
    id: str
    item_id: int
    voter_key: str | None
    choice_json: str


def is_conflict(exc: Exception) -> bool:
    return isinstance(exc, IntegrityError)


# Built once (bound parameters, an expanding IN), for a secret meeting's "voted" flags.
_ITEMS_OF = sa_select(AGENDA_ITEM.c.id).where(AGENDA_ITEM.c.meeting_id == bindparam("m"))
_VOTED = (sa_select(PARTICIPATION.c.voter_key, PARTICIPATION.c.item_id)
          .where(PARTICIPATION.c.item_id.in_(bindparam("items", expanding=True)),
                 PARTICIPATION.c.voter_key.in_(bindparam("keys", expanding=True))))


def my_ballots_many(s: Session | Connection, meeting_id: int,
                    voter_keys: list[str]) -> dict[str, dict[int, dict[str, Any]]]:
    """Voters' own live ballots, so a reloaded page keeps its ballot ids. Many voters at once:
    a join storm reads them in a few queries through the index on (meeting_id, voter_key),
    without building ORM objects. The meeting's secret flag and the ballots come in one
    statement, written once per list length and passed to the driver as it is (as the writer's
    lookups are): given a plain connection a join's read runs no SQLAlchemy compilation at all.
    In a secret meeting only that they voted: ``{"voted": True}``."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    conn = s.connection() if isinstance(s, Session) else s
    style = conn.dialect.paramstyle
    for start in range(0, len(voter_keys), 500):
        chunk = voter_keys[start:start + 500]
        for secret, key, item_id, bid, choice in conn.exec_driver_sql(_own_sql(style, len(chunk)),
                                                                       (*chunk, meeting_id)):
            if secret:
                return _voted_many(conn, meeting_id, voter_keys)
            if key is not None:
                out.setdefault(key, {})[item_id] = {"ballot_id": bid, "choice": orjson.loads(choice)}
    return out


@functools.lru_cache(maxsize=1024)
def _own_sql(paramstyle: str, n: int) -> str:
    """The meeting's secret flag and ``n`` voters' ballots: one row per ballot found, or one row
    of the meeting alone (the ballot columns NULL) when there is none. Parameters: the ``n``
    voter keys, then the meeting id."""
    mark = _mark(paramstyle)
    m, b = MEETING.name, BALLOT.name
    return (f"SELECT {m}.secret, {b}.voter_key, {b}.item_id, {b}.id, {b}.choice_json "  # noqa: S608 (no data in it)
            f"FROM {m} LEFT OUTER JOIN {b} ON {b}.meeting_id = {m}.id "
            f"AND {b}.voter_key IN ({', '.join([mark] * n)}) WHERE {m}.id = {mark}")


def _voted_many(conn: Connection, meeting_id: int, voter_keys: list[str]) -> dict[str, dict[int, dict[str, Any]]]:
    """A secret meeting: which of its items each voter has voted on, never how."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    item_ids = list(conn.execute(_ITEMS_OF, {"m": meeting_id}).scalars())
    for start in range(0, len(voter_keys), 500):
        chunk = voter_keys[start:start + 500]
        for key, item_id in conn.execute(_VOTED, {"items": item_ids, "keys": chunk}):
            out.setdefault(key, {})[item_id] = {"voted": True}
    return out


def item_ballots(s: Session, meeting_id: int) -> dict[int, dict[str, tuple[str, dict[str, Any]]]]:
    """Every stored ballot per item, for building the live tallies when a worker first loads
    the meeting (or after a bus outage): four plain columns, no ORM objects. After that the
    tallies follow the ballots as they are stored, one at a time."""
    t = BALLOT
    out: dict[int, dict[str, tuple[str, dict[str, Any]]]] = {}
    rows = s.connection().execute(sa_select(t.c.item_id, t.c.id, t.c.voter_group, t.c.choice_json)
                                  .where(t.c.meeting_id == meeting_id))
    for item_id, ballot_id, group, choice_json in rows:
        out.setdefault(item_id, {})[ballot_id] = (group, orjson.loads(choice_json))
    return out


def voted_members(s: Session, item_id: int) -> list[int]:
    """Host only: the panel members who have voted on an item (who, never how). A secret
    meeting keeps that in ``participation``; an open one on the ballot rows."""
    item = s.get(AgendaItem, item_id)
    m = s.get(Meeting, item.meeting_id) if item is not None else None
    if m is None:
        return []
    t = PARTICIPATION if m.secret else BALLOT
    rows = s.connection().execute(sa_select(t.c.voter_key).where(t.c.item_id == item_id,
                                                                   t.c.voter_key.like("p:%")))
    return sorted(int(key[2:]) for (key,) in rows if key and key[2:].isdigit())
