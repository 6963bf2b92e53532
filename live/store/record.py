"""The meeting record in the store: the audit log the writer appends to, sealing
(the root over the whole record, signed with the installation key), and the
commands that act on the record itself: void a 测评, publish the results (panel.revoke
is live.store.commands', audited like every command). The encoding and the hashes are in live.domain.record."""

from __future__ import annotations

from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from live.domain import record, timer
from live.domain.phases import ACTIVE_PHASES, ItemPhase, MeetingStatus, PhaseError
from live.domain.scheme import Scheme
from live.store.commands import (
    Command,
    CommandOutcome,
    _item,
    _item_event,
    _items,
    _meeting,
    _meeting_event,
    _set_timer,
)
from live.store.exports import meeting_block
from live.store.models import AgendaItem, AuditRow, Ballot, Meeting, MeetingRecord, PaperEntry, Participation
from live.store.state import item_public, meeting_public, record_fields

VOID_REASON_MIN = 4
VOID_REASON_MAX = 200
# A counter flush by the server every few seconds is nobody's action: it stays out of the log.
UNAUDITED = frozenset({"likes.add", "interaction.sample"})
ACTORS = frozenset({"host", "recorder", "admin", "system", "owner"})


# --- the audit log -------------------------------------------------------------------


def _entry(row: AuditRow) -> record.AuditEntry:
    return record.AuditEntry(row.seq, row.at_ms, row.actor, row.action, orjson.loads(row.details),
                             row.prev_hash, row.hash)


def last_entry(s: Session, meeting_id: int) -> record.AuditEntry | None:
    row = s.exec(select(AuditRow).where(AuditRow.meeting_id == meeting_id)
                 .order_by(col(AuditRow.seq).desc()).limit(1)).first()
    return None if row is None else _entry(row)


def append_audit(s: Session, meeting_id: int, actor: str, action: str, details: dict[str, Any],
                 now_ms: int) -> record.AuditEntry:
    """Append one entry in the caller's transaction. The meeting row is locked first, so two
    workers appending to one meeting's chain take turns."""
    if actor not in ACTORS:
        raise ValueError(f"unknown actor {actor!r}")
    s.exec(select(Meeting.id).where(Meeting.id == meeting_id).with_for_update()).first()
    clean = orjson.loads(record.canonical(record.plain(details)))
    entry = record.next_entry(last_entry(s, meeting_id), now_ms, actor, action, clean)
    s.add(AuditRow(meeting_id=meeting_id, seq=entry.seq, at_ms=entry.at_ms, actor=entry.actor,
                   action=entry.action, details=record.canonical(entry.details).decode(), prev_hash=entry.prev_hash,
                   hash=entry.hash))
    s.flush()
    return entry


def audit_entries(s: Session, meeting_id: int) -> list[dict[str, Any]]:
    rows = s.exec(select(AuditRow).where(AuditRow.meeting_id == meeting_id).order_by(col(AuditRow.seq))).all()
    return [_entry(r).to_dict() for r in rows]


# --- sealing ---------------------------------------------------------------------------


def _record_row(s: Session, meeting_id: int) -> MeetingRecord:
    row = s.get(MeetingRecord, meeting_id)
    if row is None:
        row = MeetingRecord(meeting_id=meeting_id)
    return row


def item_digests(s: Session, meeting_id: int, scheme: dict[str, Any]) -> list[str]:
    """Each item's digest in agenda order: the one stored when its 测评 closed (its ballots
    cannot change after that), or the digest of an item still open (no ballots yet)."""
    rows = s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)).all()
    items = record.ordered_items([{"id": i.id, "position": i.position, "row": i} for i in rows])
    out: list[str] = []
    for entry in items:
        i: AgendaItem = entry["row"]
        if i.result_json is not None and i.digest:
            out.append(i.digest)
        else:
            presenter = {"name": i.presenter_name, "post": i.presenter_post, "unit": i.presenter_unit}
            out.append(record.item_digest(i.id or 0, i.position, presenter, scheme, [], closed=False))
    return out


def seal(s: Session, meeting_id: int, key: Ed25519PrivateKey | None, now_ms: int) -> dict[str, Any]:
    """Compute the root over the whole record as it stands in this transaction, sign it,
    store it, and return the meeting.updated event that carries it. The ballots are in the
    record through the item digests taken when each 测评 closed, so no ballot is read here;
    anyone recomputes the same root from the export (live verify)."""
    m = s.get(Meeting, meeting_id)
    if m is None:
        raise PhaseError("会议不存在", code="not_found")
    scheme = Scheme.from_dict(orjson.loads(m.scheme_json)).to_dict()
    last = last_entry(s, meeting_id)
    seq, head = (0, record.GENESIS) if last is None else (last.seq, last.hash)
    root = record.record_root(meeting_block(m), scheme, item_digests(s, meeting_id, scheme), seq, head)
    row = _record_row(s, meeting_id)
    row.root = root
    row.audit_seq = seq
    row.signed_at_ms = now_ms
    if key is not None:
        row.signature = record.sign_root(key, root)
        row.public_key = record.public_key_b64(key)
        row.key_fingerprint = record.fingerprint(row.public_key)
    else:
        row.signature = row.public_key = row.key_fingerprint = None
    s.add(row)
    s.flush()
    return _meeting_event(m, _items(s, meeting_id), "record")


def export_record(s: Session, meeting_id: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The audit log and the sealed record, for the ballots export."""
    row = s.get(MeetingRecord, meeting_id)
    fields = record_fields(row)
    if fields is not None:
        fields = {k: v for k, v in fields.items() if k != "published"}
        if fields.get("root") is None:
            fields = None
    return audit_entries(s, meeting_id), fields


def is_published(s: Session, meeting_id: int) -> bool:
    row = s.get(MeetingRecord, meeting_id)
    return bool(row and row.published)


# --- commands ----------------------------------------------------------------------------


def void_item(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """作废重测: clear a closed 测评 (its frozen result and its ballots) and bring the presenter
    back to 点评, from where the host opens 测评 again. The audit entry keeps the old digest."""
    reason = str(args.get("reason") or "").strip()
    if len(reason) < VOID_REASON_MIN:
        raise PhaseError(f"作废测评必须写明理由（至少 {VOID_REASON_MIN} 个字）", code="reason_required")
    if len(reason) > VOID_REASON_MAX:
        raise PhaseError(f"理由过长（最多 {VOID_REASON_MAX} 个字）", code="invalid")
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    item = _item(items, args.get("item_id"))
    if MeetingStatus(m.status) is not MeetingStatus.LIVE:
        raise PhaseError("会议未在进行中，不能作废重测（会议结束后记录已签名封存）")
    if ItemPhase(item.phase) is not ItemPhase.DONE or item.result_json is None:
        raise PhaseError("只能作废已结束的测评")
    if any(ItemPhase(i.phase) in ACTIVE_PHASES for i in items if i.id != item.id):
        raise PhaseError("另一位述法人尚未完成，请先完成当前议程")
    assert item.id is not None
    old = orjson.loads(item.result_json)
    count = len(s.exec(select(Ballot.id).where(Ballot.item_id == item.id)).all())
    facts = {"old_digest": item.digest, "old_ballots": count, "old_total": old.get("total_display"),
             "old_grade": old.get("grade")}
    s.execute(delete(Ballot).where(col(Ballot.item_id) == item.id))
    # A secret meeting keeps who voted apart from the ballots: clear that too, or nobody could vote again.
    s.execute(delete(Participation).where(col(Participation.item_id) == item.id))
    # Paper sheets keyed for the voided 测评 counted into the deleted ballots: they are kept,
    # discarded, so the sheets of the new 测评 can be keyed again under their 表号.
    s.execute(update(PaperEntry).where(col(PaperEntry.item_id) == item.id, col(PaperEntry.status) != "discarded")
              .values(status="discarded", updated_at_ms=now_ms))
    item.result_json = None
    item.result_public_json = None
    item.result_hidden = False
    item.digest = None
    item.closed_at_ms = None
    item.voting_opened_at_ms = None
    item.phase = ItemPhase.COMMENT.value
    _set_timer(item, timer.stopped())
    m.current_item_id = item.id
    s.add(item)
    s.add(m)
    s.flush()
    return CommandOutcome([_item_event(item, "void"), _meeting_event(m, items, "ranking")],
                          {"item_id": item.id, "voided_ballots": count}, audit=facts, seal=True,
                          checkpoint=m.secret)


def publish(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Open (or close) the public results page /r/CODE; only once the meeting has ended."""
    m = _meeting(s, meeting_id)
    on = args.get("on")
    if not isinstance(on, bool):
        raise PhaseError("on 应为 true 或 false", code="invalid")
    if on and MeetingStatus(m.status) is not MeetingStatus.ENDED:
        raise PhaseError("会议结束后才能公开成绩", code="not_ended")
    row = _record_row(s, meeting_id)
    row.published = on
    row.published_at_ms = now_ms if on else None
    s.add(row)
    s.flush()
    return CommandOutcome([_meeting_event(m, _items(s, meeting_id), "publish")], {"published": on})


def public_results(s: Session, meeting_id: int) -> dict[str, Any] | None:
    """What /r/CODE shows once published: ranking, each presenter's result, the record."""
    row = s.get(MeetingRecord, meeting_id)
    m = s.get(Meeting, meeting_id)
    if m is None or row is None or not row.published:
        return None
    items = list(s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                        .order_by(col(AgendaItem.position))).all())
    meeting = meeting_public(m, items)
    return {
        "meeting": {k: meeting[k] for k in ("code", "title", "held_on", "status", "secret", "ranking", "record")},
        "items": [{"id": i.id, "position": i.position,
                   "presenter": {"name": i.presenter_name, "post": i.presenter_post, "unit": i.presenter_unit},
                   # As screens show it: small groups guarded, a hidden result only once revealed.
                   "result": item_public(i)["result"], "digest": i.digest}
                  for i in items],
    }


COMMANDS: dict[str, Command] = {
    "item.void": void_item,
    "meeting.publish": publish,
}
