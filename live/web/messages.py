"""Validation of every message a client may send over the socket."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

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


class MeetingScheme(_Msg):
    type: Literal["meeting.scheme"]
    scheme: dict[str, Any]


class MeetingStream(_Msg):
    type: Literal["meeting.stream"]
    # An HLS address (.m3u8) for the phones' player; null takes the stream off.
    url: Annotated[str, Field(max_length=500, pattern=r"^https?://\S+$")] | None


class MeetingVisibility(_Msg):
    type: Literal["meeting.visibility"]
    mode: Literal["live", "counts", "hidden"]
    small_group_k: Annotated[int, Field(ge=1, le=50)] | None = None


class ItemReveal(_Msg):
    type: Literal["item.reveal"]
    item_id: ItemId


class SlideGoto(_Msg):
    type: Literal["slide.goto"]
    item_id: ItemId
    page: Annotated[int, Field(ge=1, le=1000)]


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


# --- the public's voice (issue 5): questions, upvotes, likes, comments, moderation -----

RowId = Annotated[int, Field(ge=1, le=2**31)]
# User text is checked and cleaned by live.domain.moderation, with Chinese messages;
# this bound only keeps pydantic from copying a huge string (frames are 4096 bytes anyway).
UserText = Annotated[str, Field(max_length=4096)]
Term = Annotated[str, Field(min_length=1, max_length=50)]


class QuestionAsk(_Msg):
    type: Literal["question.ask"]
    item_id: ItemId
    content: UserText


class QuestionUpvote(_Msg):
    type: Literal["question.upvote"]
    question_id: RowId


class Like(_Msg):
    type: Literal["like"]
    # A phone may gather quick taps and send them together.
    count: Annotated[int, Field(ge=1, le=10)] = 1


class CommentSend(_Msg):
    type: Literal["comment.send"]
    text: UserText


class QuestionApprove(_Msg):
    type: Literal["question.approve"]
    question_id: RowId


class QuestionReject(_Msg):
    type: Literal["question.reject"]
    question_id: RowId


class QuestionReorder(_Msg):
    type: Literal["question.reorder"]
    item_id: ItemId
    by: Literal["upvotes", "manual"]
    ids: Annotated[list[RowId], Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _ids_for_manual(self) -> QuestionReorder:
        if self.by == "manual" and not self.ids:
            raise ValueError("手动排序需要 ids")
        return self


class QuestionPick(_Msg):
    type: Literal["question.pick"]
    question_id: RowId
    seconds: Annotated[int, Field(ge=0, le=3600)] | None = None


class QuestionUnpick(_Msg):
    type: Literal["question.unpick"]


class QuestionAnswered(_Msg):
    type: Literal["question.answered"]
    question_id: RowId
    answered: bool = True


class QuestionTimer(_Msg):
    type: Literal["question.timer"]
    action: Literal["pause", "resume", "extend", "skip", "set"]
    seconds: Annotated[int, Field(ge=0, le=3600)] | None = None


class CommentApprove(_Msg):
    type: Literal["comment.approve"]
    comment_id: RowId


class CommentHide(_Msg):
    type: Literal["comment.hide"]
    comment_id: RowId


class CommentMode(_Msg):
    type: Literal["comment.mode"]
    mode: Literal["show", "hold"]


class CommentOverlay(_Msg):
    type: Literal["comment.overlay"]
    on: bool


class DeviceBanCmd(_Msg):
    type: Literal["device.ban"]
    comment_id: RowId | None = None
    question_id: RowId | None = None
    reason: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _one_target(self) -> DeviceBanCmd:
        if (self.comment_id is None) == (self.question_id is None):
            raise ValueError("须给出 comment_id 或 question_id 之一")
        return self


class DeviceUnban(_Msg):
    type: Literal["device.unban"]
    ban_id: RowId


class WordsAdd(_Msg):
    type: Literal["words.add"]
    words: Annotated[list[Term], Field(min_length=1, max_length=100)]


class WordsRemove(_Msg):
    type: Literal["words.remove"]
    words: Annotated[list[Term], Field(min_length=1, max_length=100)]


ClientMessage = Annotated[
    Ping | Vote | MeetingStart | MeetingEnd | MeetingDurations | MeetingScheme | MeetingStream | SlideGoto
    | MeetingVisibility | ItemReveal
    | ItemOpen | ItemAdvance | ItemBack | ItemTimer
    | QuestionAsk | QuestionUpvote | Like | CommentSend
    | QuestionApprove | QuestionReject | QuestionReorder | QuestionPick | QuestionUnpick | QuestionAnswered
    | QuestionTimer | CommentApprove | CommentHide | CommentMode | CommentOverlay | DeviceBanCmd | DeviceUnban
    | WordsAdd | WordsRemove,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[Any] = TypeAdapter(ClientMessage)

HOST_TYPES = frozenset({"meeting.start", "meeting.end", "meeting.durations", "meeting.scheme", "meeting.stream",
                        "meeting.visibility", "item.open", "item.advance", "item.back", "item.timer", "item.reveal"})
# The presenter view turns pages too; so does the host.
PRESENTER_TYPES = frozenset({"slide.goto"})
# Handled by live.web.interaction; the host's ones are host-only like the others.
INTERACTION_HOST_TYPES = frozenset({
    "question.approve", "question.reject", "question.reorder", "question.pick", "question.unpick",
    "question.answered", "question.timer", "comment.approve", "comment.hide", "comment.mode", "comment.overlay",
    "device.ban", "device.unban", "words.add", "words.remove"})
INTERACTION_PUBLIC_TYPES = frozenset({"question.ask", "question.upvote", "like", "comment.send"})
INTERACTION_TYPES = INTERACTION_HOST_TYPES | INTERACTION_PUBLIC_TYPES
HOST_TYPES = HOST_TYPES | INTERACTION_HOST_TYPES
KNOWN_TYPES = HOST_TYPES | PRESENTER_TYPES | {"ping", "vote"} | INTERACTION_PUBLIC_TYPES


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
