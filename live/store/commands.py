"""Host commands: each runs inside one transaction, checks the phase machine,
changes the rows and returns the events that describe the change."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import delete, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from live.domain import phases, timer
from live.domain.credentials import OPEN_GROUP_LABEL, PublicMode
from live.domain.phases import ItemPhase, MeetingStatus, PhaseError
from live.domain.scheme import Scheme, check_scheme, labelled_for_mode
from live.domain.visibility import Visibility, check_visibility, public_result
from live.store import slides
from live.store.ballots import TallyChange
from live.store.exports import ballot_dict
from live.store.models import AgendaItem, Ballot, Meeting, PaperEntry
from live.store.results import freeze_result
from live.store.state import item_public, meeting_public
from live.store.voice_state import clear_stale_question

Events = list[dict[str, Any]]


@dataclass(frozen=True)
class CommandOutcome:
    events: Events
    reply: dict[str, Any]
    # After COMMIT, fold SQLite's write-ahead log into the database and empty it, so no
    # page written while a secret 测评 was open lingers there (the writer does it).
    checkpoint: bool = False
    # More facts for the command's audit entry (an old digest, a count), beside its arguments.
    audit: dict[str, Any] | None = None
    # The record changed (a result froze, the meeting ended, a 测评 was voided): seal and sign it anew.
    seal: bool = False
    # Ballots the command stored (confirmed paper ballots), for the live tallies.
    changes: list[TallyChange] = field(default_factory=list)


def _meeting(s: Session, meeting_id: int) -> Meeting:
    # FOR UPDATE: two workers taking host commands for one meeting queue up here.
    m = s.exec(select(Meeting).where(Meeting.id == meeting_id).with_for_update()).first()
    if m is None:
        raise PhaseError("会议不存在", code="not_found")
    return m


def _items(s: Session, meeting_id: int) -> list[AgendaItem]:
    return list(s.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                       .order_by(col(AgendaItem.position)).with_for_update()).all())


def _item(items: list[AgendaItem], item_id: object) -> AgendaItem:
    for i in items:
        if i.id == item_id:
            return i
    raise PhaseError("议程中没有该述法人", code="not_found")


def _item_event(i: AgendaItem, cause: str) -> dict[str, Any]:
    return {"type": "item.updated", "cause": cause, "item": item_public(i)}


def _meeting_event(m: Meeting, items: list[AgendaItem], cause: str) -> dict[str, Any]:
    return {"type": "meeting.updated", "cause": cause, "meeting": meeting_public(m, items)}


def _set_timer(i: AgendaItem, t: timer.Timer) -> None:
    i.timer_duration_s = t.duration_s
    i.timer_running = t.running
    i.timer_ends_at_ms = t.ends_at_ms
    i.timer_remaining_ms = t.remaining_ms


def _get_timer(i: AgendaItem) -> timer.Timer:
    return timer.Timer(i.timer_duration_s, i.timer_running, i.timer_ends_at_ms, i.timer_remaining_ms)


def _enter_phase(m: Meeting, i: AgendaItem, phase: ItemPhase, now_ms: int) -> None:
    i.phase = phase.value
    durations: dict[str, int] = orjson.loads(m.durations_json)
    seconds = durations.get(phase.value)
    _set_timer(i, timer.start(seconds, now_ms) if seconds else timer.stopped())


def start_meeting(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    m.status = phases.start_meeting(MeetingStatus(m.status)).value
    m.started_at_ms = now_ms
    s.add(m)
    return CommandOutcome([_meeting_event(m, _items(s, meeting_id), "started")], {})


def end_meeting(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    m.status = phases.end_meeting(MeetingStatus(m.status), [ItemPhase(i.phase) for i in items]).value
    m.ended_at_ms = now_ms
    events: Events = []
    for i in items:
        if i.timer_running:
            _set_timer(i, timer.skip(_get_timer(i), now_ms))
            s.add(i)
            events.append(_item_event(i, "timer"))
    s.add(m)
    events += clear_stale_question(s, m, items, now_ms)
    return CommandOutcome([*events, _meeting_event(m, items, "ended")], {}, checkpoint=m.secret, seal=True)


def open_item(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    item = _item(items, args["item_id"])
    others = [ItemPhase(i.phase) for i in items if i.id != item.id]
    new = phases.open_item(MeetingStatus(m.status), ItemPhase(item.phase), others)
    _enter_phase(m, item, new, now_ms)
    m.current_item_id = item.id
    s.add(item)
    s.add(m)
    return CommandOutcome([_item_event(item, "phase"), _meeting_event(m, items, "current_item")],
                          {"phase": new.value})


def _ballot_count(s: Session, item_id: int) -> int:
    return int(s.exec(select(func.count()).select_from(Ballot).where(Ballot.item_id == item_id)).one())


def advance(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    item = _item(items, args["item_id"])
    current = ItemPhase(item.phase)
    expected = args.get("from")
    if expected is not None and expected != current.value:
        # The console acted on a stale view (another host tab moved on): refuse, change nothing.
        raise PhaseError(f"当前环节已是「{phases.PHASE_LABEL[current]}」，请刷新后再操作", code="stale")
    new = phases.next_phase(MeetingStatus(m.status), current)
    _enter_phase(m, item, new, now_ms)
    if new is ItemPhase.VOTING:
        item.voting_opened_at_ms = now_ms
    if new is ItemPhase.DONE:
        _refuse_unconfirmed_paper(s, item)
        item.closed_at_ms = now_ms
        _close_voting(s, m, item)
    events = [_item_event(item, "phase")]
    if new is ItemPhase.DONE:
        events.append(_meeting_event(m, items, "ranking"))
    s.add(item)
    events += clear_stale_question(s, m, items, now_ms)  # no 正在质询 once 质询 is over
    closed = new is ItemPhase.DONE
    return CommandOutcome(events, {"phase": new.value}, checkpoint=m.secret and closed,
                          audit={"digest": item.digest} if closed else None, seal=closed)


def _close_voting(s: Session, m: Meeting, item: AgendaItem) -> None:
    """Freeze the result from the stored ballots, not from any live counter."""
    assert item.id is not None
    scheme = Scheme.from_dict(orjson.loads(m.scheme_json))
    rows = s.exec(select(Ballot).where(Ballot.item_id == item.id)).all()
    presenter = {"name": item.presenter_name, "post": item.presenter_post, "unit": item.presenter_unit}
    result, digest = freeze_result(scheme, item.id, item.position, presenter, [ballot_dict(r) for r in rows])
    item.result_json = orjson.dumps(result).decode()
    item.digest = digest
    item.result_public_json = orjson.dumps(public_result(result, m.small_group_k)).decode()
    item.result_hidden = Visibility(m.results_visibility) is Visibility.HIDDEN
    if m.secret:
        _reshuffle(s, item.id)


def _reshuffle(s: Session, item_id: int) -> None:
    """Write a closed secret item's ballots again, in a random order, in this transaction.
    While voting was open their storage order (SQLite rowids, PostgreSQL heap order and
    transaction ids) followed the order of the write batches; now it follows nothing.
    Same ids and choices, so the digest just frozen still covers them."""
    t = Ballot.__table__  # type: ignore[attr-defined]
    rows = [tuple(r) for r in s.connection().execute(
        sa_select(t.c.id, t.c.meeting_id, t.c.item_id, t.c.voter_group, t.c.choice_json, t.c.source)
        .where(t.c.item_id == item_id))]
    if not rows:
        return
    random.SystemRandom().shuffle(rows)
    s.execute(delete(Ballot).where(col(Ballot.item_id) == item_id))
    s.connection().execute(t.insert(), [
        {"id": r[0], "meeting_id": r[1], "item_id": r[2], "voter_key": None, "voter_group": r[3],
         "choice_json": r[4], "source": r[5], "cast_at_ms": None} for r in rows])


def _refuse_unconfirmed_paper(s: Session, item: AgendaItem) -> None:
    """Closing would freeze the result without paper sheets still being keyed: refuse, and say which."""
    open_entries = s.exec(select(PaperEntry).where(PaperEntry.item_id == item.id,
                                                   col(PaperEntry.status).in_(("pending", "mismatch")))
                          .order_by(col(PaperEntry.id))).all()
    if open_entries:
        sheets = "、".join(e.sheet for e in open_entries[:10]) + ("等" if len(open_entries) > 10 else "")
        raise PhaseError(f"尚有 {len(open_entries)} 份纸质测评表未完成复核录入（表号 {sheets}），"
                         "请复核录入或作废后再结束测评", code="paper_pending")


def back(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    item = _item(items, args["item_id"])
    assert item.id is not None
    new = phases.previous_phase(MeetingStatus(m.status), ItemPhase(item.phase), _ballot_count(s, item.id))
    _enter_phase(m, item, new, now_ms)
    if new is not ItemPhase.VOTING:
        item.voting_opened_at_ms = None
    s.add(item)
    return CommandOutcome([_item_event(item, "phase"), *clear_stale_question(s, m, items, now_ms)],
                          {"phase": new.value})


def timer_action(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    item = _item(items, args["item_id"])
    if ItemPhase(item.phase) not in phases.ACTIVE_PHASES or MeetingStatus(m.status) is not MeetingStatus.LIVE:
        raise PhaseError("只能在述法人进行中的环节操作计时器")
    t = _get_timer(item)
    t = timer.apply_action(t, str(args["action"]), int(args.get("seconds") or 0), now_ms)
    _set_timer(item, t)
    s.add(item)
    return CommandOutcome([_item_event(item, "timer")], {"timer": t.to_dict()})


def set_durations(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    durations: dict[str, int] = orjson.loads(m.durations_json)
    for key, value in args["durations"].items():
        phase = ItemPhase(key)
        if phase not in phases.ACTIVE_PHASES:
            raise PhaseError(f"「{phases.PHASE_LABEL[phase]}」没有计时")
        if not 0 <= int(value) <= timer.MAX_DURATION_S:
            raise PhaseError("计时须为 0 秒至 4 小时")
        durations[phase.value] = int(value)
    m.durations_json = orjson.dumps(durations).decode()
    s.add(m)
    return CommandOutcome([_meeting_event(m, _items(s, meeting_id), "durations")], {"durations": durations})


def set_scheme(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """The host sets the 测评 scheme before the meeting; once voting began it is fixed,
    since ballots already cast were cast under it."""
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    if _voting_began(s, meeting_id, items):
        raise PhaseError("已有述法人开始测评，测评方案不能再修改", code="scheme_locked")
    scheme = Scheme.from_dict(args["scheme"])
    check_scheme(scheme)
    scheme = labelled_for_mode(scheme, m.public_mode == PublicMode.OPEN, OPEN_GROUP_LABEL)
    m.scheme_json = orjson.dumps(scheme.to_dict()).decode()
    s.add(m)
    return CommandOutcome([_meeting_event(m, items, "scheme")], {"scheme": scheme.to_dict()})


def _voting_began(s: Session, meeting_id: int, items: list[AgendaItem]) -> bool:
    started = [i for i in items if i.voting_opened_at_ms is not None or ItemPhase(i.phase) is ItemPhase.DONE]
    ballots = s.exec(select(func.count()).select_from(Ballot).where(Ballot.meeting_id == meeting_id)).one()
    return bool(started or ballots)


def set_visibility(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """How results show while voting and after (live.domain.visibility); like the scheme,
    fixed once any 测评 began, so nobody changes what the hall sees mid-count."""
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    if _voting_began(s, meeting_id, items):
        raise PhaseError("已有述法人开始测评，结果显示方式不能再修改", code="visibility_locked")
    k = args.get("small_group_k")
    settings = check_visibility(args.get("mode"), m.small_group_k if k is None else k)
    m.results_visibility = settings.mode.value
    m.small_group_k = settings.small_group_k
    s.add(m)
    return CommandOutcome([_meeting_event(m, items, "visibility")], {"visibility": settings.to_dict()})


def reveal(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Show a frozen result on screens in a ``hidden`` meeting (the public view, guarded)."""
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    item = _item(items, args["item_id"])
    if ItemPhase(item.phase) is not ItemPhase.DONE or item.result_json is None:
        raise PhaseError("测评结束、结果冻结后才能揭晓", code="not_frozen")
    if not item.result_hidden:
        raise PhaseError("该述法人的结果已经公布", code="no_change")
    item.result_hidden = False
    s.add(item)
    return CommandOutcome([_item_event(item, "reveal"), _meeting_event(m, items, "ranking")], {"revealed": True})


def slide_goto(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    _meeting(s, meeting_id)
    item = _item(_items(s, meeting_id), args["item_id"])
    slides.goto(item, int(args["page"]))
    s.add(item)
    return CommandOutcome([_item_event(item, "slide")], {"page": item.slide_page})


def set_deck(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Issued by the upload endpoint once the pages are rendered (not a socket command)."""
    _meeting(s, meeting_id)
    item = _item(_items(s, meeting_id), args["item_id"])
    slides.set_deck(s, item, int(args["pages"]), int(args["version"]), str(args.get("key") or ""))
    return CommandOutcome([_item_event(item, "slides")], {"pages": item.deck_pages, "version": item.deck_version})


def set_stream(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    m = _meeting(s, meeting_id)
    m.stream_url = args.get("url") or None
    s.add(m)
    return CommandOutcome([_meeting_event(m, _items(s, meeting_id), "stream")], {"stream_url": m.stream_url})


Command = Callable[[Session, int, dict[str, Any], int], CommandOutcome]

HOST_COMMANDS: dict[str, Command] = {
    "meeting.start": start_meeting,
    "meeting.end": end_meeting,
    "meeting.durations": set_durations,
    "meeting.scheme": set_scheme,
    "meeting.stream": set_stream,
    "meeting.visibility": set_visibility,
    "item.reveal": reveal,
    "slide.goto": slide_goto,
    "item.deck": set_deck,
    "item.open": open_item,
    "item.advance": advance,
    "item.back": back,
    "item.timer": timer_action,
}
