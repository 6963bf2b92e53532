"""Public voting credentials in the store: the meeting's public mode, open-mode voter
identities (capped per network prefix), tickets and roster voters, binding a credential
to its first device and releasing it. Every change is a writer command or batch."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, literal
from sqlmodel import Session, col, select

from live.domain.credentials import OPEN_GROUP_LABEL, PUBLIC_MODE_LABEL, PublicMode
from live.domain.phases import ItemPhase, PhaseError
from live.domain.scheme import Scheme, labelled_for_mode, public_categories
from live.store.commands import Command, CommandOutcome, _items, _meeting, _meeting_event
from live.store.jobs import BatchFn, BatchJob, BatchResult
from live.store.models import AgendaItem, Ballot, Credential, Meeting, VoterIdentity

MAX_TICKETS_PER_BATCH = 5000


def ip_prefix(host: str) -> str:
    """The network an address belongs to: /24 for IPv4, /48 for IPv6 (the full address is never kept)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "?"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def voting_begun(s: Session, meeting_id: int, items: list[AgendaItem]) -> bool:
    if any(i.voting_opened_at_ms is not None or ItemPhase(i.phase) is ItemPhase.DONE for i in items):
        return True
    return bool(s.exec(select(func.count()).select_from(Ballot).where(Ballot.meeting_id == meeting_id)).one())


def relabel(scheme_json: str, mode: str) -> str:
    scheme = Scheme.from_dict(orjson.loads(scheme_json))
    labelled = labelled_for_mode(scheme, mode == PublicMode.OPEN, OPEN_GROUP_LABEL)
    return orjson.dumps(labelled.to_dict()).decode()


def mode_fields(mode: str) -> dict[str, Any]:
    m = PublicMode(mode)
    return {"public_mode": m.value, "public_mode_label": PUBLIC_MODE_LABEL[m]}


# --- commands ------------------------------------------------------------------------


def set_public_mode(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """open | ticket | roster, chosen before 测评 begins: ballots already cast were cast under it."""
    m = _meeting(s, meeting_id)
    items = _items(s, meeting_id)
    try:
        mode = PublicMode(str(args.get("mode")))
    except ValueError as exc:
        raise PhaseError("公众投票方式应为 open（开放投票）、ticket（票码）或 roster（实名名单）",
                         code="invalid") from exc
    if mode.value != m.public_mode and voting_begun(s, meeting_id, items):
        raise PhaseError("已有述法人开始测评，公众投票方式不能再修改", code="mode_locked")
    m.public_mode = mode.value
    m.scheme_json = relabel(m.scheme_json, mode.value)
    s.add(m)
    return CommandOutcome([_meeting_event(m, items, "public_mode")], mode_fields(mode.value))


def _group_name(m: Meeting, group: object) -> str:
    if not isinstance(group, str) or not 0 < len(group.strip()) <= 20:
        raise PhaseError("群体名称应为 1 至 20 个字", code="invalid")
    allowed = public_categories(Scheme.from_dict(orjson.loads(m.scheme_json)))
    if allowed is not None and group.strip() not in allowed:
        listed = "、".join(allowed) or "（无）"
        raise PhaseError(f"群体「{group.strip()}」不在测评方案的公众投票组中（可选：{listed}）", code="unknown_group")
    return group.strip()


def _next_numbers(s: Session, meeting_id: int, kind: str) -> tuple[int, int]:
    row = s.exec(select(func.max(Credential.number), func.max(Credential.batch))
                 .where(Credential.meeting_id == meeting_id, Credential.kind == kind)).one()
    return int(row[0] or 0) + 1, int(row[1] or 0) + 1


def create_tickets(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """``hashes``: the keyed hashes of freshly made codes (the codes never reach the database)."""
    m = _meeting(s, meeting_id)
    group = _group_name(m, args.get("group"))
    hashes = args.get("hashes")
    if not isinstance(hashes, list) or not 0 < len(hashes) <= MAX_TICKETS_PER_BATCH:
        raise PhaseError(f"每批票码为 1 至 {MAX_TICKETS_PER_BATCH} 张", code="invalid")
    first, batch = _next_numbers(s, meeting_id, "ticket")
    for n, h in enumerate(hashes):
        s.add(Credential(meeting_id=meeting_id, kind="ticket", number=first + n, batch=batch, voter_group=group,
                         code_hash=str(h), created_at_ms=now_ms))
    s.flush()
    return CommandOutcome([], {"batch": batch, "first": first, "last": first + len(hashes) - 1, "group": group})


def import_roster(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """``voters``: [{name, unit, group, contact}] already parsed by live.domain.credentials."""
    m = _meeting(s, meeting_id)
    voters = args.get("voters")
    if not isinstance(voters, list) or not 0 < len(voters) <= 5000:
        raise PhaseError("名单为 1 至 5000 人", code="invalid")
    first, batch = _next_numbers(s, meeting_id, "roster")
    for n, v in enumerate(voters):
        s.add(Credential(meeting_id=meeting_id, kind="roster", number=first + n, batch=batch,
                         voter_group=_group_name(m, v["group"]), name=str(v["name"])[:50],
                         unit=str(v.get("unit", ""))[:100], contact=str(v.get("contact", ""))[:30],
                         created_at_ms=now_ms))
    s.flush()
    return CommandOutcome([], {"batch": batch, "first": first, "last": first + len(voters) - 1})


def _credential(s: Session, meeting_id: int, credential_id: object) -> Credential:
    if isinstance(credential_id, bool) or not isinstance(credential_id, int):
        raise PhaseError("票码或名单编号无效", code="invalid")
    c = s.exec(select(Credential).where(Credential.id == credential_id).with_for_update()).first()
    if c is None or c.meeting_id != meeting_id:
        raise PhaseError("该票码或名单人员不存在", code="not_found")
    return c


def redeem(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Bind a credential to the device that first presents it; the same device may present
    it again (a reloaded page); any other device is refused until the host releases it."""
    c = _credential(s, meeting_id, args.get("credential_id"))
    device = args.get("device_id")
    if not isinstance(device, str) or not 8 <= len(device) <= 40:
        raise PhaseError("设备凭证无效，请重新打开会议页面", code="join_required")
    if c.device_id is not None and c.device_id != device:
        what = "票码" if c.kind == "ticket" else "个人链接"
        raise PhaseError(f"该{what}已在另一台手机上使用，不能再次使用。如确属本人更换手机，请联系会务人员解除绑定",
                         code="bound_elsewhere")
    if c.device_id is None:
        c.device_id = device
        c.bound_at_ms = now_ms
        s.add(c)
    return CommandOutcome([], credential_public(c))


def release(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """The host frees a credential from its device (a lost or changed phone): the old
    device's cookie stops working and the next device to present it is bound."""
    _meeting(s, meeting_id)
    c = _credential(s, meeting_id, args.get("credential_id"))
    c.device_id = None
    c.bound_at_ms = None
    c.version += 1
    s.add(c)
    return CommandOutcome([], credential_public(c))


def mint_batch(s: Session, jobs: list[BatchJob], now_ms: int) -> list[BatchResult]:
    """Open mode: record new voter identities, at most ``cap`` per network prefix per meeting."""
    keys = sorted({(j.meeting_id, str(j.args["prefix"])) for j in jobs})
    counts: dict[tuple[int, str], int] = {}
    for mid in sorted({k[0] for k in keys}):
        prefixes = [k[1] for k in keys if k[0] == mid]
        for prefix, n in s.exec(select(VoterIdentity.ip_prefix, func.count()).where(
                VoterIdentity.meeting_id == mid, col(VoterIdentity.ip_prefix).in_(prefixes))
                .group_by(col(VoterIdentity.ip_prefix))).all():
            counts[(mid, prefix)] = int(n)
    out: list[BatchResult] = []
    for j in jobs:
        key = (j.meeting_id, str(j.args["prefix"]))
        cap = int(j.args["cap"])
        if counts.get(key, 0) >= cap:
            out.append(PhaseError("本网络新加入的投票手机已达上限", code="identity_cap"))
            continue
        counts[key] = counts.get(key, 0) + 1
        s.add(VoterIdentity(meeting_id=j.meeting_id, device_id=str(j.args["device_id"]), ip_prefix=key[1],
                            created_at_ms=now_ms))
        out.append(CommandOutcome([], {"ok": True}))
    return out


COMMANDS: dict[str, Command] = {
    "meeting.public_mode": set_public_mode,
    "tickets.create": create_tickets,
    "roster.import": import_roster,
    "credential.redeem": redeem,
    "credential.release": release,
}

BATCHES: dict[str, BatchFn] = {
    "identity.mint": mint_batch,
}


# --- reads ---------------------------------------------------------------------------


def credential_public(c: Credential) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind, "number": c.number, "batch": c.batch, "group": c.voter_group,
            "name": c.name, "unit": c.unit, "contact": c.contact, "bound": c.device_id is not None,
            "bound_at_ms": c.bound_at_ms, "version": c.version}


def find_ticket(s: Session, meeting_id: int, digest: str) -> Credential | None:
    c = s.exec(select(Credential).where(Credential.code_hash == digest)).first()
    return c if c is not None and c.meeting_id == meeting_id and c.kind == "ticket" else None


def credentials(s: Session, meeting_id: int, kind: str) -> list[Credential]:
    return list(s.exec(select(Credential).where(Credential.meeting_id == meeting_id, Credential.kind == kind)
                       .order_by(col(Credential.number))).all())


@dataclass(frozen=True)
class Holder:
    """What a phone's credential cookie resolves to on connect."""

    credential_id: int
    group: str
    kind: str


def holder(s: Session, meeting_id: int, credential_id: int, version: int, device: str) -> Holder | None:
    c = s.get(Credential, credential_id)
    if c is None or c.meeting_id != meeting_id or c.version != version or c.device_id != device:
        return None
    return Holder(credential_id, c.voter_group, c.kind)


def anomalies(s: Session, meeting_id: int, now_ms: int, top: int = 20) -> dict[str, Any]:
    """For the host in open mode: where identities and ballots come from, and bursts of new identities."""
    vi = VoterIdentity
    per_prefix = s.exec(select(vi.ip_prefix, func.count()).where(vi.meeting_id == meeting_id)
                        .group_by(col(vi.ip_prefix)).order_by(func.count().desc()).limit(top)).all()
    voter = literal("d:") + col(vi.device_id)
    ballots = s.exec(select(vi.ip_prefix, func.count()).select_from(Ballot)
                     .join(vi, (col(vi.meeting_id) == col(Ballot.meeting_id)) & (col(Ballot.voter_key) == voter))
                     .where(Ballot.meeting_id == meeting_id)
                     .group_by(col(vi.ip_prefix)).order_by(func.count().desc()).limit(top)).all()
    since = now_ms - 30 * 60_000
    minute = col(vi.created_at_ms) / 60_000
    per_minute = s.exec(select(minute, func.count()).where(vi.meeting_id == meeting_id, col(vi.created_at_ms) >= since)
                        .group_by(minute).order_by(minute)).all()
    total = int(s.exec(select(func.count()).select_from(vi).where(vi.meeting_id == meeting_id)).one())
    busiest = max((int(n) for _, n in per_minute), default=0)
    return {
        "identities": total,
        "identities_by_prefix": [{"prefix": p, "count": int(n)} for p, n in per_prefix],
        "ballots_by_prefix": [{"prefix": p, "count": int(n)} for p, n in ballots],
        "identities_per_minute": [{"minute_ms": int(mm) * 60_000, "count": int(n)} for mm, n in per_minute],
        "busiest_minute": busiest,
    }
