"""Paper ballots (双轨制) keyed in twice: writer commands and the list the keying pages read.

The first keying of a sheet is stored as a pending entry with who keyed it. A second
keying of the same sheet (same item, same 表号) by someone else either matches every
figure, and the entry becomes ordinary ballots marked ``source = "paper"`` (one per
sheet, server-made ids, no voter key), or it does not, and the entry is marked as a
mismatch with both sets of figures until someone discards it and it is keyed afresh.
Entries are accepted while the item is in 测评; closing 测评 is refused while any
entry is pending or mismatched (live.store.commands.advance).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson
from sqlalchemy import insert
from sqlmodel import Session, col, select

from live.domain import paper
from live.domain.phases import ItemPhase, MeetingStatus, PhaseError, check_can_vote
from live.domain.scheme import Scheme
from live.store.ballots import BALLOT, TallyChange
from live.store.commands import Command, CommandOutcome, _meeting
from live.store.models import AgendaItem, PaperEntry

OPEN = ("pending", "mismatch")
ROLES = ("host", "recorder")
_SESSION = re.compile(r"[A-Za-z0-9_-]{8,40}")
ROLE_LABEL = {"host": "主持人", "recorder": "记录员"}


def _actor(args: dict[str, Any]) -> tuple[str, str]:
    """``role:session`` of whoever keys (the role is set by the endpoint from the credential,
    the session by the page), and the name they typed."""
    role, session = args.get("role"), args.get("session")
    if role not in ROLES:
        raise PhaseError("只有主持人或记录员可以录入纸质测评表", code="forbidden")
    if not isinstance(session, str) or not _SESSION.fullmatch(session):
        raise paper.PaperError("录入会话标识无效，请刷新页面", code="invalid_paper")
    name = args.get("name", "")
    if not isinstance(name, str) or len(name.strip()) > 20:
        raise paper.PaperError("录入人姓名最多 20 个字")
    return f"{role}:{session}", name.strip()


def _item(s: Session, meeting_id: int, item_id: object) -> AgendaItem:
    if isinstance(item_id, bool) or not isinstance(item_id, int):
        raise PhaseError("议程中没有该述法人", code="not_found")
    item = s.exec(select(AgendaItem).where(AgendaItem.id == item_id).with_for_update()).first()
    if item is None or item.meeting_id != meeting_id:
        raise PhaseError("议程中没有该述法人", code="not_found")
    return item


def enter(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    item = _item(s, meeting_id, args.get("item_id"))
    check_can_vote(MeetingStatus(m.status), ItemPhase(item.phase))
    actor, name = _actor(args)
    scheme = Scheme.from_dict(orjson.loads(m.scheme_json))
    sheet = paper.check_sheet(args.get("sheet"))
    figures = paper.canonical_figures(scheme, args.get("group"), args.get("figures"))
    current = s.exec(select(PaperEntry).where(PaperEntry.item_id == item.id, PaperEntry.sheet == sheet,
                                              col(PaperEntry.status) != "discarded")).first()
    if current is None:
        entry = PaperEntry(meeting_id=meeting_id, item_id=item.id or 0, sheet=sheet, kind=paper.entry_kind(scheme),
                           figures_json=_json(figures), entered_by=actor, entrant_name=name,
                           created_at_ms=now_ms, updated_at_ms=now_ms)
        s.add(entry)
        s.flush()
        return CommandOutcome([], {"status": "pending", "entry": entry_public(entry, actor)})
    if current.status == "confirmed":
        raise paper.PaperError(f"表号 {sheet} 已复核计票，不能重复录入；请核对表号", code="sheet_confirmed")
    if current.status == "mismatch":
        raise paper.PaperError(f"表号 {sheet} 两次录入不一致，请先作废后重新录入", code="paper_mismatch")
    if current.entered_by == actor:
        raise paper.PaperError("同一人不能复核自己录入的表：请由另一人（主持人或另一位记录员）再录入一次",
                               code="same_entrant")
    first = orjson.loads(current.figures_json)
    current.updated_at_ms = now_ms
    if first != figures:
        current.status = "mismatch"
        current.second_json = _json(figures)
        current.second_by = actor
        current.second_name = name
        s.add(current)
        return CommandOutcome([], {"status": "mismatch", "entry": entry_public(current, actor),
                                   "differences": paper.differences(first, figures)})
    changes: list[TallyChange] = []
    rows: list[dict[str, Any]] = []
    for choice in paper.ballot_choices(figures):
        ballot_id = f"paper-{secrets.token_hex(12)}"
        rows.append({"id": ballot_id, "meeting_id": meeting_id, "item_id": item.id, "voter_key": None,
                     "voter_group": figures["group"], "choice_json": _json(choice), "cast_at_ms": None,
                     "source": "paper"})
        changes.append(TallyChange(meeting_id, item.id or 0, ballot_id, figures["group"], choice))
    s.connection().execute(insert(BALLOT), rows)
    current.status = "confirmed"
    current.second_by = actor
    current.second_name = name
    current.ballots = len(rows)
    s.add(current)
    return CommandOutcome([], {"status": "confirmed", "ballots": len(rows), "entry": entry_public(current, actor)},
                          changes=changes)


def discard(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Throw away a pending or mismatched keying so the sheet can be keyed afresh. A
    confirmed entry has become ballots and stays (voiding a 测评 is a separate action)."""
    _meeting(s, meeting_id)
    actor, _ = _actor(args)
    entry_id = args.get("entry_id")
    entry = s.get(PaperEntry, entry_id) if isinstance(entry_id, int) and not isinstance(entry_id, bool) else None
    if entry is None or entry.meeting_id != meeting_id:
        raise PhaseError("没有该录入记录", code="not_found")
    if entry.status not in OPEN:
        raise paper.PaperError("只有待复核或不一致的录入可以作废", code="not_open")
    entry.status = "discarded"
    entry.updated_at_ms = now_ms
    s.add(entry)
    return CommandOutcome([], {"status": "discarded", "entry": entry_public(entry, actor)})


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _who(by: str | None, name: str) -> dict[str, Any] | None:
    if by is None:
        return None
    role = by.split(":", 1)[0]
    return {"role": role, "role_label": ROLE_LABEL.get(role, role), "name": name}


def entry_public(e: PaperEntry, viewer: str) -> dict[str, Any]:
    """An entry as a keying page sees it. Blind double entry: the figures of a pending
    keying go back only to whoever keyed them, so the second person types from the paper,
    not from the screen. A mismatch shows both sets of figures to everyone keying, so they
    can find the slip. A confirmed entry shows how many ballots it made, not its figures."""
    out: dict[str, Any] = {
        "id": e.id, "item_id": e.item_id, "sheet": e.sheet, "kind": e.kind, "status": e.status,
        "first": _who(e.entered_by, e.entrant_name), "second": _who(e.second_by, e.second_name),
        "mine": e.entered_by == viewer, "ballots": e.ballots, "updated_at_ms": e.updated_at_ms,
    }
    first = orjson.loads(e.figures_json)
    if e.status == "mismatch" and e.second_json is not None:
        second = orjson.loads(e.second_json)
        out["figures"] = first
        out["second_figures"] = second
        out["differences"] = paper.differences(first, second)
    elif e.status == "pending" and e.entered_by == viewer:
        out["figures"] = first
    return out


def entries(s: Session, meeting_id: int, item_id: int, viewer: str) -> list[dict[str, Any]]:
    rows = s.exec(select(PaperEntry).where(PaperEntry.meeting_id == meeting_id, PaperEntry.item_id == item_id,
                                           col(PaperEntry.status) != "discarded")
                  .order_by(col(PaperEntry.id))).all()
    return [entry_public(e, viewer) for e in rows]


COMMANDS: dict[str, Command] = {"paper.enter": enter, "paper.discard": discard}
