"""Panel links as writer commands: binding a link to the first device that claims it,
the host's release of that binding, revoking a link, and turning a member's PIN on.

Each returns a ``panel.updated`` event; the device id itself is never in an event or a
reply, only whether the link is bound."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from live.domain.errors import ErrorCode, LiveError
from live.store.commands import Command, CommandOutcome
from live.store.models import PanelMember
from live.store.state import member_public

BOUND_ELSEWHERE = "该评议链接已在另一台设备上使用，请联系主持人解除绑定"
REVOKED = "该评议团链接已被收回，请向会务人员索取新链接"


def _member(s: Session, meeting_id: int, args: dict[str, Any]) -> PanelMember:
    member_id = args.get("member_id")
    p = s.get(PanelMember, member_id, with_for_update=True) if isinstance(member_id, int) else None
    if p is None or p.meeting_id != meeting_id:
        raise LiveError("评议团成员不存在", ErrorCode.NOT_FOUND)
    return p


def _updated(p: PanelMember, cause: str) -> CommandOutcome:
    return CommandOutcome([{"type": "panel.updated", "cause": cause, "member": member_public(p)}],
                          {"member": member_public(p)}, audit={"member": p.name, "category": p.category})


def bind(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """A device claims a link: the first one binds it; the same device again is fine;
    another device is refused until the host releases the link."""
    p = _member(s, meeting_id, args)
    if p.revoked or p.token_version != args.get("version"):
        raise LiveError(REVOKED, ErrorCode.REVOKED)
    device = str(args.get("device_hash", ""))
    if len(device) != 64:
        raise LiveError("设备标识无效", ErrorCode.INVALID)
    if p.bound_device == device:
        return CommandOutcome([], {"member": member_public(p)})
    if p.bound_device is not None:
        raise LiveError(BOUND_ELSEWHERE, ErrorCode.BOUND_ELSEWHERE)
    p.bound_device = device
    s.add(p)
    return _updated(p, "bound")


def release(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """The host frees a link from its device (a broken tablet): the next device to open it binds it."""
    p = _member(s, meeting_id, args)
    p.bound_device = None
    s.add(p)
    return _updated(p, "released")


def revoke(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """The old link stops working (a leaked link); a new one is issued, bound to no device."""
    p = _member(s, meeting_id, args)
    p.token_version += 1
    p.bound_device = None
    s.add(p)
    return _updated(p, "revoked")


def set_pin(s: Session, meeting_id: int, args: dict[str, Any], now_ms: int) -> CommandOutcome:
    """Give a member a new PIN (or none): the PIN follows from the server key and this version."""
    p = _member(s, meeting_id, args)
    p.pin_version = p.pin_version + 1 if args.get("on", True) else 0
    s.add(p)
    return _updated(p, "pin")


COMMANDS: dict[str, Command] = {
    "panel.bind": bind,
    "panel.release": release,
    "panel.revoke": revoke,
    "panel.pin": set_pin,
}
