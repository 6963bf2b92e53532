"""``live purge``: removing the personal data of meetings that ended long enough ago.

What goes, meeting by meeting (docs/operations.md explains each against the law):

- the 弹幕 comments' text and the device ids they came from (the rows stay as counted, empty shells);
- the device ids of public questions, the askers' names of public and imported questions, and the
  text of public questions that were never approved (so never part of the meeting);
- question upvotes (one row per device; each question keeps its count), device bans;
- open-voting identities (device id and network prefix), the device each panel link, 票码
  or roster voter was bound to, and the roster voters' names and contact details;
- the voter keys of public ballots (``d:<device>``, ``c:<credential>``) and, in secret meetings,
  the participation rows (who voted, by device or member);
- comment text and public askers' names inside the event log's stored events.

What stays: ballots (id, group, choice), frozen results, digests, the signed record, the audit
log, presenters, the 评议团's names, 点评, problems and their 整改 notes. None of what is
removed is in an item digest or the record root, so ``live verify --expect ROOT`` passes after
a purge exactly as before. The purge itself is appended to the meeting's audit log (after the
sealed part, which the chain allows; the root is not recomputed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from live.store.models import (
    AgendaItem,
    Ballot,
    Comment,
    Credential,
    DeviceBan,
    Event,
    Meeting,
    PanelMember,
    Participation,
    Question,
    QuestionUpvote,
    VoterIdentity,
)
from live.store.record import append_audit

# Meetings in these states are over; anything else (draft, live) is never touched.
ENDED_STATES = ("ended", "archived")
# Questions whose asker is a member of the public (or named in an imported file).
PUBLIC_ORIGINS = ("public", "import")
# Voter keys that name a device or a public credential; ``p:<member>`` (a named 评议团 member in an
# open ballot) stays: the panel votes by name on purpose.
PUBLIC_KEY_PREFIXES = ("d:", "c:")

# The order in which counts are reported, with their Chinese labels.
LABELS: dict[str, str] = {
    "comments": "弹幕文字与设备号",
    "questions_device": "提问设备号",
    "questions_asker": "群众/导入提问人姓名",
    "questions_unapproved": "未采纳的群众提问文字",
    "upvotes": "点赞记录（按设备）",
    "bans": "设备禁言记录",
    "identities": "开放投票身份（设备号与网段）",
    "panel_devices": "评议团链接绑定的设备",
    "credentials": "票码/名单绑定设备、姓名与联系方式",
    "ballot_keys": "群众选票的投票人标识",
    "participation": "不记名测评的参与记录",
    "events": "事件日志中的弹幕文字与提问人",
}


@dataclass
class MeetingPurge:
    meeting_id: int
    code: str
    title: str
    ended_at_ms: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _ended_before(s: Session, cutoff_ms: int) -> list[Meeting]:
    return list(s.exec(select(Meeting).where(col(Meeting.status).in_(ENDED_STATES),
                                             col(Meeting.ended_at_ms).is_not(None),
                                             col(Meeting.ended_at_ms) < cutoff_ms)
                       .order_by(col(Meeting.id))).all())


def _count(s: Session, stmt: Any) -> int:
    return int(s.exec(stmt).one())


def _scrub_event(type_: str, payload: dict[str, Any]) -> bool:
    """Clear what names a person in one stored event; True when something changed."""
    changed = False
    if type_ == "comment.updated":
        comment = payload.get("comment")
        if isinstance(comment, dict) and comment.get("text"):
            comment["text"] = None
            changed = True
    elif type_ == "questions.updated":
        for q in payload.get("questions") or []:
            if isinstance(q, dict) and q.get("origin") in PUBLIC_ORIGINS and q.get("asker"):
                q["asker"] = ""
                changed = True
    return changed


def _events(s: Session, meeting_id: int, dry_run: bool) -> int:
    rows = s.exec(select(Event).where(col(Event.meeting_id) == meeting_id,
                                      col(Event.type).in_(("comment.updated", "questions.updated")))).all()
    n = 0
    for row in rows:
        payload = orjson.loads(row.payload)
        if _scrub_event(row.type, payload):
            n += 1
            if not dry_run:
                row.payload = orjson.dumps(payload).decode()
                s.add(row)
    return n


def _panel_contact_column() -> Any:
    """The 评议团 roster's contact column, where this installation's schema has one."""
    return getattr(PanelMember, "contact", None)


def purge_meeting(s: Session, m: Meeting, dry_run: bool) -> MeetingPurge:
    """Count (and unless ``dry_run``, remove) one ended meeting's personal data, in ``s``'s transaction."""
    assert m.id is not None
    mid = m.id
    out = MeetingPurge(mid, m.code, m.title, int(m.ended_at_ms or 0))
    c = out.counts
    items = select(AgendaItem.id).where(col(AgendaItem.meeting_id) == mid)
    questions = select(Question.id).where(col(Question.meeting_id) == mid)

    comment_has = (col(Comment.meeting_id) == mid, or_(col(Comment.text) != "", col(Comment.device_id) != ""))
    c["comments"] = _count(s, select(func.count()).select_from(Comment).where(*comment_has))
    q_device = (col(Question.meeting_id) == mid, col(Question.device_id).is_not(None))
    c["questions_device"] = _count(s, select(func.count()).select_from(Question).where(*q_device))
    q_asker = (col(Question.meeting_id) == mid, col(Question.origin).in_(PUBLIC_ORIGINS), col(Question.asker) != "")
    c["questions_asker"] = _count(s, select(func.count()).select_from(Question).where(*q_asker))
    q_unapproved = (col(Question.meeting_id) == mid, col(Question.origin) == "public",
                    col(Question.status) != "approved", col(Question.content) != "")
    c["questions_unapproved"] = _count(s, select(func.count()).select_from(Question).where(*q_unapproved))
    upvotes = col(QuestionUpvote.question_id).in_(questions)
    c["upvotes"] = _count(s, select(func.count()).select_from(QuestionUpvote).where(upvotes))
    c["bans"] = _count(s, select(func.count()).select_from(DeviceBan).where(col(DeviceBan.meeting_id) == mid))
    c["identities"] = _count(s, select(func.count()).select_from(VoterIdentity)
                             .where(col(VoterIdentity.meeting_id) == mid))
    contact = _panel_contact_column()
    panel_has = [col(PanelMember.bound_device).is_not(None)] + ([contact != ""] if contact is not None else [])
    panel = (col(PanelMember.meeting_id) == mid, or_(*panel_has))
    c["panel_devices"] = _count(s, select(func.count()).select_from(PanelMember).where(*panel))
    cred = (col(Credential.meeting_id) == mid, or_(col(Credential.device_id).is_not(None), col(Credential.name) != "",
                                              col(Credential.contact) != ""))
    c["credentials"] = _count(s, select(func.count()).select_from(Credential).where(*cred))
    keys = (col(Ballot.meeting_id) == mid, or_(*(col(Ballot.voter_key).startswith(p) for p in PUBLIC_KEY_PREFIXES)))
    c["ballot_keys"] = _count(s, select(func.count()).select_from(Ballot).where(*keys))
    part = col(Participation.item_id).in_(items)
    c["participation"] = _count(s, select(func.count()).select_from(Participation).where(part))
    c["events"] = _events(s, mid, dry_run)
    if dry_run:
        return out

    s.execute(update(Comment).where(*comment_has).values(text="", device_id=""))
    s.execute(update(Question).where(*q_unapproved).values(content=""))
    s.execute(update(Question).where(*q_device).values(device_id=None))
    s.execute(update(Question).where(*q_asker).values(asker=""))
    s.execute(delete(QuestionUpvote).where(upvotes))
    s.execute(delete(DeviceBan).where(col(DeviceBan.meeting_id) == mid))
    s.execute(delete(VoterIdentity).where(col(VoterIdentity.meeting_id) == mid))
    panel_values: dict[str, Any] = {"bound_device": None}
    if contact is not None:
        panel_values["contact"] = ""
    s.execute(update(PanelMember).where(*panel).values(**panel_values))
    s.execute(update(Credential).where(*cred).values(device_id=None, name="", contact=""))
    s.execute(update(Ballot).where(*keys).values(voter_key=None))
    s.execute(delete(Participation).where(part))
    return out


def purge(s: Session, cutoff_ms: int, now_ms: int, *, dry_run: bool = False) -> list[MeetingPurge]:
    """Every meeting that ended before ``cutoff_ms``, purged (or only counted). The caller commits.
    A meeting with something removed gets a ``data.purge`` entry (actor admin) in its audit log."""
    done: list[MeetingPurge] = []
    for m in _ended_before(s, cutoff_ms):
        result = purge_meeting(s, m, dry_run)
        done.append(result)
        if not dry_run and result.total:
            append_audit(s, result.meeting_id, "admin", "data.purge",
                         {"cutoff_ms": cutoff_ms, "removed": {k: v for k, v in result.counts.items() if v}},
                         now_ms)
    s.flush()
    return done
