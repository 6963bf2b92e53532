"""Tables. Each one is small and named for what it holds; JSON columns hold
values that the domain layer already validates (schemes, choices, results)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, false, true
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
    # How the public votes: open | ticket | roster (live.domain.credentials.PublicMode).
    public_mode: str = Field(default="open", max_length=8)
    # Results visibility (live.domain.visibility): chosen before 测评 begins, locked after.
    results_visibility: str = Field(default="live", max_length=8, sa_column_kwargs={"server_default": "live"})
    small_group_k: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    # The administrators' workspace (migration 0010): where it is held; whether the setup
    # wizard was finished (a finished, unstarted meeting is "scheduled"); when it was archived;
    # the version signed into the presenter's page-turning link (bumped to revoke it).
    venue: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    setup_done: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    archived_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    presenter_link_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_item"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    position: int
    presenter_name: str = Field(max_length=50)
    presenter_post: str = Field(max_length=100)
    presenter_unit: str = Field(max_length=100)
    # 党政主要负责人, 部门负责人, … as the organiser files them (migration 0010).
    presenter_kind: str = Field(default="", max_length=30, sa_column_kwargs={"server_default": ""})
    phase: str = Field(default="pending", max_length=16)
    timer_duration_s: int = Field(default=0)
    timer_running: bool = Field(default=False)
    timer_ends_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    timer_remaining_ms: int = Field(default=0, sa_type=BigInteger)
    voting_opened_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    closed_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    result_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    digest: str | None = Field(default=None, max_length=64)
    # The presenter's slide deck: pages rendered to images, and the page on screen.
    deck_pages: int = Field(default=0)
    deck_version: int = Field(default=0)
    slide_page: int = Field(default=0)
    # A random name per deck in its images' paths (edge security, migration 0009): unguessable.
    deck_key: str = Field(default="", max_length=32)
    # The frozen result as screens may show it (small groups guarded); None while hidden.
    result_public_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Frozen in a ``hidden`` meeting and not yet revealed by the host.
    result_hidden: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class PanelMember(SQLModel, table=True):
    __tablename__ = "panel_member"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    name: str = Field(max_length=50)
    category: str = Field(max_length=20)
    # From the organiser's roster (migration 0010); never shown on screens.
    unit: str = Field(default="", max_length=100, sa_column_kwargs={"server_default": ""})
    contact: str = Field(default="", max_length=30, sa_column_kwargs={"server_default": ""})
    # A token carries the version it was signed with; bumping it revokes the link.
    token_version: int = Field(default=1)
    revoked: bool = Field(default=False)
    # The first device that claimed the link (sha256 of its random id), until the host releases it.
    bound_device: str | None = Field(default=None, max_length=64)
    # 0: no PIN. Otherwise the PIN is derived from the server key and this version (see live.web.panel_auth).
    pin_version: int = Field(default=0)


class Ballot(SQLModel, table=True):
    """One live ballot per voter per item, enforced by the database.

    ``voter_key`` is ``p:<member id>`` or ``d:<device id>``. In a secret meeting it is
    never written (NULL, and NULLs never collide in a UNIQUE index): the one-per-voter rule
    lives in ``Participation`` instead, and the id is made by the server."""

    __table_args__ = (
        UniqueConstraint("item_id", "voter_key", name="uq_ballot_item_voter"),
        Index("ix_ballot_item", "item_id"),
        Index("ix_ballot_meeting_voter", "meeting_id", "voter_key"),
    )
    id: str = Field(primary_key=True, max_length=40)
    meeting_id: int = Field(foreign_key="meeting.id")
    item_id: int = Field(foreign_key="agenda_item.id")
    voter_key: str | None = Field(default=None, max_length=80)
    voter_group: str = Field(max_length=40)
    choice_json: str = Field(sa_column=Column(Text, nullable=False))
    cast_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    # ``online`` (a phone or tablet) or ``paper`` (a 测评表 keyed in twice, no voter key).
    source: str = Field(default="online", max_length=8, sa_column_kwargs={"server_default": "online"})


class Event(SQLModel, table=True):
    """The per-meeting event log; ``seq`` is dense and strictly increasing."""

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    seq: int = Field(primary_key=True)
    type: str = Field(max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


# --- the public's voice: questions, upvotes, comments, bans, lexicon -----------


class MeetingInteraction(SQLModel, table=True):
    """Per-meeting settings and counters of the live interaction; one row per
    meeting (the primary key), made on first use."""

    __tablename__ = "meeting_interaction"
    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    comment_mode: str = Field(default="hold", max_length=8)  # hold | show
    overlay: bool = Field(default=True)
    # The question 正在质询 and its answer countdown.
    current_question_id: int | None = Field(default=None)
    answer_seconds: int = Field(default=180)
    answer_duration_s: int = Field(default=0)
    answer_running: bool = Field(default=False)
    answer_ends_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    answer_remaining_ms: int = Field(default=0, sa_type=BigInteger)
    # Persisted every few seconds from the coalesced live counter, never per tap.
    likes: int = Field(default=0, sa_type=BigInteger)
    updated_at_ms: int = Field(default=0, sa_type=BigInteger)


class Question(SQLModel, table=True):
    """A 质询 question: from a panel tablet, imported (12345热线, 信箱, …) or sent live by a citizen."""

    __table_args__ = (Index("ix_question_meeting_status", "meeting_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    item_id: int = Field(foreign_key="agenda_item.id", index=True)
    origin: str = Field(max_length=8)  # panel | import | public
    source: str = Field(max_length=30)
    content: str = Field(sa_column=Column(Text, nullable=False))
    asker: str = Field(default="", max_length=50)
    member_id: int | None = Field(default=None, foreign_key="panel_member.id")
    device_id: str | None = Field(default=None, max_length=40)
    status: str = Field(default="pending", max_length=10)  # pending | approved | rejected
    position: int = Field(default=0)
    upvotes: int = Field(default=0)
    answered: bool = Field(default=False)
    answered_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    picked_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


class QuestionUpvote(SQLModel, table=True):
    __tablename__ = "question_upvote"
    __table_args__ = (UniqueConstraint("question_id", "device_id", name="uq_upvote_question_device"),)
    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id")
    device_id: str = Field(max_length=40)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


class Comment(SQLModel, table=True):
    """A 弹幕 comment. ``shown_order`` is given when it is first shown and orders the
    public window of recent comments; a hidden comment keeps it (as a tombstone)."""

    __table_args__ = (Index("ix_comment_meeting_status", "meeting_id", "status"),
                      Index("ix_comment_meeting_order", "meeting_id", "shown_order"))
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    item_id: int | None = Field(default=None, foreign_key="agenda_item.id")
    device_id: str = Field(max_length=40)
    text: str = Field(max_length=400)
    status: str = Field(max_length=8)  # shown | held | hidden
    shown_order: int | None = Field(default=None)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


class DeviceBan(SQLModel, table=True):
    __tablename__ = "device_ban"
    __table_args__ = (UniqueConstraint("meeting_id", "device_id", name="uq_ban_meeting_device"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    device_id: str = Field(max_length=40)
    reason: str = Field(default="", max_length=200)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


class BannedWord(SQLModel, table=True):
    """A term the host added to the shipped lexicon for one meeting."""

    __tablename__ = "banned_word"
    __table_args__ = (UniqueConstraint("meeting_id", "term", name="uq_banned_word_meeting_term"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    term: str = Field(max_length=50)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


# --- 点评, the 问题清单 and 整改 ----------------------------------------------------


class ItemReview(SQLModel, table=True):
    """The 点评 of one presenter: one per agenda item."""

    __tablename__ = "item_review"
    __table_args__ = (UniqueConstraint("item_id", name="uq_item_review_item"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    item_id: int = Field(foreign_key="agenda_item.id")
    commenter: str = Field(default="", max_length=50)
    text: str = Field(sa_column=Column(Text, nullable=False))
    updated_at_ms: int = Field(default=0, sa_type=BigInteger)


class Problem(SQLModel, table=True):
    __table_args__ = (Index("ix_problem_meeting_item", "meeting_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    item_id: int = Field(foreign_key="agenda_item.id")
    description: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(default="", max_length=30)
    source: str = Field(default="点评", max_length=20)  # 点评 | 质询 | 评议团意见
    owner: str = Field(default="", max_length=50)
    deadline: date | None = Field(default=None)
    status: str = Field(default="pending", max_length=16)  # live.domain.rectification.RectStatus
    question_id: int | None = Field(default=None, foreign_key="question.id")
    created_at_ms: int = Field(default=0, sa_type=BigInteger)
    updated_at_ms: int = Field(default=0, sa_type=BigInteger)
    # The owner's (责任单位) personal link: bumping the version revokes the printed one.
    owner_link_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # live.domain.rectification.Escalation: 0 none, 1 提醒, 2 函询, 3 挂牌督办; the date of the last step.
    escalation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    escalated_on: date | None = Field(default=None)
    closed_on: date | None = Field(default=None)  # the date of 确认销号, for the weekly 通报


class ProgressNote(SQLModel, table=True):
    """A dated 整改 note; a status change is recorded as a note with from/to (and the reason of a reopen)."""

    __tablename__ = "progress_note"
    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    on_date: date
    text: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False))
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    author: str = Field(default="host", max_length=20)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)
    escalation: int | None = Field(default=None)  # set on a 督办 step: its level


class ProblemAttachment(SQLModel, table=True):
    """A file of an owner's progress report (PDF or image), stored under the data dir as
    ``attachments/{problem_id}/{stored_name}``; the database keeps only what describes it."""

    __tablename__ = "problem_attachment"
    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    note_id: int | None = Field(default=None, foreign_key="progress_note.id")
    filename: str = Field(max_length=120)
    media_type: str = Field(max_length=40)
    size: int
    sha256: str = Field(max_length=64)
    stored_name: str = Field(max_length=80)
    author: str = Field(default="owner", max_length=20, sa_column_kwargs={"server_default": "owner"})
    created_at_ms: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


# --- edge security: server-side login sessions ---------------------------------------------


class LoginSession(SQLModel, table=True):
    """One host (or recorder) login. The cookie carries only a signed reference to it
    (the hash of its random id is stored), so logout revokes it for every worker, and
    an unused one lapses after the idle timeout."""

    __tablename__ = "login_session"
    id_hash: str = Field(primary_key=True, max_length=64)  # sha256 hex of the random session id
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    role: str = Field(default="host", max_length=16)  # host | recorder
    created_at_ms: int = Field(default=0, sa_type=BigInteger)
    last_seen_ms: int = Field(default=0, sa_type=BigInteger)
    revoked: bool = Field(default=False)


# --- secrecy: who took part, apart from what they chose -------------------------


class Participation(SQLModel, table=True):
    """In a secret meeting: that a voter has voted on an item, and nothing else (no choice,
    no ballot id, no time). The primary key is the one-per-voter rule; on SQLite the table
    has no rowid, so its rows sit in key order and keep no trace of the order of voting."""

    __table_args__ = ({"sqlite_with_rowid": False},)
    item_id: int = Field(foreign_key="agenda_item.id", primary_key=True)
    voter_key: str = Field(primary_key=True, max_length=80)


# --- public voting credentials: open-mode identities, tickets, roster -------------


class VoterIdentity(SQLModel, table=True):
    """A phone's voter identity minted for one meeting in open mode. Only the network
    prefix of the address it came from is kept (/24 for IPv4, /48 for IPv6): enough to
    cap identities per network and show the host where ballots come from."""

    __tablename__ = "voter_identity"
    __table_args__ = (UniqueConstraint("meeting_id", "device_id", name="uq_identity_meeting_device"),
                      Index("ix_identity_meeting_prefix", "meeting_id", "ip_prefix"))
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    device_id: str = Field(max_length=40)
    ip_prefix: str = Field(max_length=50)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


class Credential(SQLModel, table=True):
    """A 票码 (kind ``ticket``) or a roster voter (kind ``roster``): one public voter for
    the whole meeting. A ticket keeps only the keyed hash of its code. ``device_id`` is
    the device it is bound to; releasing it clears that and bumps ``version``, which
    voids the cookie the old device holds."""

    __table_args__ = (UniqueConstraint("meeting_id", "kind", "number", name="uq_credential_number"),
                      UniqueConstraint("code_hash", name="uq_credential_code_hash"))
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    kind: str = Field(max_length=8)  # ticket | roster
    number: int
    batch: int = Field(default=1)
    voter_group: str = Field(max_length=20)  # the 群体, matched to a public group of the scheme
    code_hash: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=50)
    unit: str = Field(default="", max_length=100)
    contact: str = Field(default="", max_length=30)
    device_id: str | None = Field(default=None, max_length=40)
    bound_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    version: int = Field(default=1)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


# --- the meeting record: audit log, signed root, publication --------------------------


class AuditRow(SQLModel, table=True):
    """One entry of a meeting's hash-chained audit log (live.domain.record): every
    host, recorder, admin and system command, appended in the command's own transaction."""

    __tablename__ = "audit_entry"
    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    seq: int = Field(primary_key=True)
    at_ms: int = Field(default=0, sa_type=BigInteger)
    actor: str = Field(max_length=20)
    action: str = Field(max_length=40)
    details: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class MeetingRecord(SQLModel, table=True):
    """The meeting's latest sealed record root and its signature, and whether the
    results are published at /r/CODE. One row per meeting, made at the first seal."""

    __tablename__ = "meeting_record"
    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    root: str | None = Field(default=None, max_length=64)
    audit_seq: int = Field(default=0)
    signature: str | None = Field(default=None, max_length=120)
    public_key: str | None = Field(default=None, max_length=64)
    key_fingerprint: str | None = Field(default=None, max_length=16)
    signed_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    published: bool = Field(default=False)
    published_at_ms: int | None = Field(default=None, sa_type=BigInteger)
# --- paper ballots (双轨制) -------------------------------------------------------------


class PaperEntry(SQLModel, table=True):
    """One keying of a paper 测评表 (or a bundle of counted sheets), waiting for a second
    person to key the same figures. Only a confirmed entry has ballots; the entry itself
    is kept (discarded ones too) so the keying can be followed afterwards."""

    __tablename__ = "paper_entry"
    __table_args__ = (Index("ix_paper_entry_item", "item_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    item_id: int = Field(foreign_key="agenda_item.id")
    sheet: str = Field(max_length=20)  # 表号 or 批次号, as written on the paper
    kind: str = Field(max_length=8)  # ballot | counts
    figures_json: str = Field(sa_column=Column(Text, nullable=False))
    entered_by: str = Field(max_length=60)  # host:<session> | recorder:<session>
    entrant_name: str = Field(default="", max_length=20)
    second_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    second_by: str | None = Field(default=None, max_length=60)
    second_name: str = Field(default="", max_length=20)
    status: str = Field(default="pending", max_length=10)  # pending | mismatch | confirmed | discarded
    ballots: int = Field(default=0)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)
    updated_at_ms: int = Field(default=0, sa_type=BigInteger)


class InteractionSample(SQLModel, table=True):
    """One worker's view of one minute of a live meeting (migration 0012).

    ``minute_ms`` is the start of the wall-clock minute. The online counts are that
    worker's sockets at the end of the minute, and ``likes`` the taps it took during it.
    Every worker writes its own row, so a minute's figures are the sums over its rows
    (live.store.samples.minute_series); comments and questions are counted from their
    own rows' timestamps there, not here."""

    __tablename__ = "interaction_sample"
    __table_args__ = (UniqueConstraint("meeting_id", "minute_ms", "worker", name="uq_sample_meeting_minute_worker"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    minute_ms: int = Field(sa_type=BigInteger)
    worker: str = Field(max_length=40)
    audience: int = Field(default=0)
    screens: int = Field(default=0)
    panel: int = Field(default=0)
    hosts: int = Field(default=0)
    likes: int = Field(default=0)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


# --- installation administrators (组织单位) -------------------------------------------


class AdminUser(SQLModel, table=True):
    """An installation administrator: signs in at /admin, creates meetings and sets their
    host passwords. Only the argon2 hash of the password is kept (``live admin create``)."""

    __tablename__ = "admin_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    # Bumped by ``live admin reset``: every open admin session of this name ends.
    session_version: int = Field(default=1)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)


class AdminSession(SQLModel, table=True):
    """One admin sign-in, as ``login_session`` is for hosts: the cookie signs a random id,
    the table keeps its SHA-256, so sign-out and the idle timeout hold for every worker."""

    __tablename__ = "admin_session"
    id_hash: str = Field(primary_key=True, max_length=64)
    admin_id: int = Field(foreign_key="admin_user.id", index=True)
    session_version: int = Field(default=1)
    created_at_ms: int = Field(default=0, sa_type=BigInteger)
    last_seen_ms: int = Field(default=0, sa_type=BigInteger)
    revoked: bool = Field(default=False)


class SavedScheme(SQLModel, table=True):
    """A 测评方案 an administrator saved to reuse in later meetings."""

    __tablename__ = "saved_scheme"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, unique=True)
    scheme_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at_ms: int = Field(default=0, sa_type=BigInteger)
