"""Validation of every message a client may send over the socket."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

Id = Annotated[str, Field(min_length=1, max_length=64)]
BallotId = Annotated[str, Field(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
ItemId = Annotated[int, Field(ge=1, le=2**31)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: Id


class Ping(_Msg):
    type: Literal["ping"]


class Vote(_Msg):
    type: Literal["vote"]
    item_id: ItemId
    ballot_id: BallotId
    choice: dict[str, Any]


class MeetingStart(_Msg):
    type: Literal["meeting.start"]


class MeetingEnd(_Msg):
    type: Literal["meeting.end"]


class MeetingDurations(_Msg):
    type: Literal["meeting.durations"]
    durations: dict[Literal["report", "inquiry", "comment", "voting"], Annotated[int, Field(ge=0, le=14400)]]


class ItemOpen(_Msg):
    type: Literal["item.open"]
    item_id: ItemId


class ItemAdvance(_Msg):
    type: Literal["item.advance"]
    item_id: ItemId
    # The phase the console believed the item was in; a stale click is refused.
    from_: Literal["pending", "report", "inquiry", "comment", "voting", "done"] | None = Field(
        default=None, alias="from")


class ItemBack(_Msg):
    type: Literal["item.back"]
    item_id: ItemId


class ItemTimer(_Msg):
    type: Literal["item.timer"]
    item_id: ItemId
    action: Literal["pause", "resume", "extend", "skip", "set"]
    seconds: Annotated[int, Field(ge=0, le=14400)] | None = None


ClientMessage = Annotated[
    Ping | Vote | MeetingStart | MeetingEnd | MeetingDurations | ItemOpen | ItemAdvance | ItemBack | ItemTimer,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[Any] = TypeAdapter(ClientMessage)

HOST_TYPES = frozenset({"meeting.start", "meeting.end", "meeting.durations", "item.open", "item.advance",
                        "item.back", "item.timer"})
KNOWN_TYPES = HOST_TYPES | {"ping", "vote"}


class BadMessage(ValueError):
    def __init__(self, code: str, message: str, msg_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.msg_id = msg_id


def parse(raw: str) -> Any:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadMessage("bad_json", "消息不是合法的 JSON") from exc
    if not isinstance(data, dict):
        raise BadMessage("bad_message", "消息应为 JSON 对象")
    msg_id = data.get("id") if isinstance(data.get("id"), str) else None
    mtype = data.get("type")
    if mtype not in KNOWN_TYPES:
        raise BadMessage("unknown_type", f"未知的消息类型：{str(mtype)[:40]}", msg_id)
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "消息"
        raise BadMessage("invalid", f"字段 {where} 无效：{first['msg']}", msg_id) from exc
