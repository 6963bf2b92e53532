"""Tables. Each one is small and named for what it holds; JSON columns hold
values that the domain layer already validates (schemes, choices, results)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Meeting(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=8, unique=True, index=True)
    title: str = Field(max_length=200)
    status: str = Field(default="draft", max_length=16)
    secret: bool = Field(default=False)
    scheme_json: str = Field(sa_column=Column(Text, nullable=False))
    durations_json: str = Field(sa_column=Column(Text, nullable=False))
    host_password_hash: str = Field(max_length=255)
    # Bumped to sign every host out at once (e.g. after a password change).
    host_session_version: int = Field(default=1)
    current_item_id: int | None = Field(default=None)
    last_seq: int = Field(default=0)
    held_on: str = Field(default="", max_length=10)
    stream_url: str | None = Field(default=None, max_length=500)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)
    started_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    ended_at_ms: int | None = Field(default=None, sa_type=BigInteger)


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_item"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    position: int
    presenter_name: str = Field(max_length=50)
    presenter_post: str = Field(max_length=100)
    presenter_unit: str = Field(max_length=100)
    phase: str = Field(default="pending", max_length=16)
    timer_duration_s: int = Field(default=0)
    timer_running: bool = Field(default=False)
    timer_ends_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    timer_remaining_ms: int = Field(default=0, sa_type=BigInteger)
    voting_opened_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    closed_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    result_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    digest: str | None = Field(default=None, max_length=64)


class PanelMember(SQLModel, table=True):
    __tablename__ = "panel_member"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    name: str = Field(max_length=50)
    category: str = Field(max_length=20)
    # A token carries the version it was signed with; bumping it revokes the link.
    token_version: int = Field(default=1)
    revoked: bool = Field(default=False)


class Ballot(SQLModel, table=True):
    """One live ballot per voter per item, enforced by the database.

    ``voter_key`` is ``p:<member id>`` or ``d:<device id>``. In a secret meeting it
    is cleared when 测评 closes, which cuts the only link from a ballot to a voter
    (NULLs never collide in a UNIQUE index, on SQLite and PostgreSQL alike)."""

    __table_args__ = (
        UniqueConstraint("item_id", "voter_key", name="uq_ballot_item_voter"),
        Index("ix_ballot_item", "item_id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    meeting_id: int = Field(foreign_key="meeting.id")
    item_id: int = Field(foreign_key="agenda_item.id")
    voter_key: str | None = Field(default=None, max_length=80)
    voter_group: str = Field(max_length=40)
    choice_json: str = Field(sa_column=Column(Text, nullable=False))
    cast_at_ms: int | None = Field(default=None, sa_type=BigInteger)


class Event(SQLModel, table=True):
    """The per-meeting event log; ``seq`` is dense and strictly increasing."""

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    seq: int = Field(primary_key=True)
    type: str = Field(max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at_ms: int = Field(default=0, sa_type=BigInteger)
