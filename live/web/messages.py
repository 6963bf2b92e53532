"""Validation of every message a client may send over the socket, before any domain code runs.

``parse`` takes a text frame and returns one typed command (a member of ``ClientMessage``)
or raises :class:`BadMessage` with the documented code, carrying the command's ``id``
whenever one could be read. In order:

1. the frame is JSON (``bad_json``) and an object (``bad_message``);
2. it is at most ``MAX_DEPTH`` levels deep (``too_deep``), checked without recursion
   before pydantic sees it (orjson itself stops at 1024 levels);
3. ``id`` is a string of 1–64 characters (``bad_message``; else the error's id is null);
4. ``type`` is a string (``bad_message``) naming a known command (``unknown_type``);
5. every field is typed and bounded, strictly: ``true`` is not ``1`` (``invalid``).

Each command model says which roles may send it (``ROLES``); the socket refuses the
others with ``forbidden`` before dispatching. Free text a host gives (banned words, a
ban's reason) is cleaned of control and bidi characters here; the public's text is
cleaned and bounded by live.domain.moderation with its own messages.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from live.domain.errors import ErrorCode, LiveError
from live.domain.moderation import clean_text

MAX_DEPTH = 8  # a scheme (the deepest command) needs 6
MAX_ID_CHARS = 64

HOST = frozenset({"host"})
VOTERS = frozenset({"panel", "audience"})
PUBLIC = frozenset({"audience"})
EVERYONE = frozenset({"host", "panel", "audience", "screen", "presenter", "recorder"})

Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
BallotId = Annotated[str, Field(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
ItemId = Annotated[int, Field(ge=1, le=2**31)]
# The choice's shape depends on the meeting's scheme: live.domain.scheme.validate_choice checks it.
Choice = Annotated[dict[Annotated[str, Field(max_length=64)], Any], Field(max_length=64)]


class _Msg(BaseModel):
    """A command from a client. ``ROLES`` may send it; anyone else gets ``forbidden`` with ``REFUSAL``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    ROLES: ClassVar[frozenset[str]] = HOST
    REFUSAL: ClassVar[str] = "只有主持人可以执行该操作"
    id: Id


class Ping(_Msg):
    type: Literal["ping"]
    ROLES = EVERYONE


class Vote(_Msg):
    type: Literal["vote"]
    ROLES = VOTERS
    REFUSAL = "当前身份不能投票"
    item_id: ItemId
    ballot_id: BallotId
    choice: Choice


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


class MeetingPublicMode(_Msg):
    type: Literal["meeting.public_mode"]
    mode: Literal["open", "ticket", "roster"]


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
    ROLES = frozenset({"host", "presenter"})
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


class ItemVoid(_Msg):
    """作废重测: clear a closed 测评 and bring the presenter back to 点评; logged with the reason."""

    type: Literal["item.void"]
    item_id: ItemId
    # Checked for length (at least 4 characters) with a Chinese message by live.store.record.
    reason: Annotated[str, Field(max_length=400)]


class MeetingPublish(_Msg):
    """Open (or close) the public results page /r/CODE, once the meeting has ended."""

    type: Literal["meeting.publish"]
    on: bool


# --- the public's voice (issue 5): questions, upvotes, likes, comments, moderation -----

RowId = Annotated[int, Field(ge=1, le=2**31)]
# User text is checked and cleaned by live.domain.moderation, with Chinese messages;
# this bound only keeps pydantic from copying a huge string (frames are 4096 bytes anyway).
UserText = Annotated[str, Field(max_length=4096)]
Term = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(clean_text)]
Reason = Annotated[str, Field(max_length=200), AfterValidator(clean_text)]


class QuestionAsk(_Msg):
    type: Literal["question.ask"]
    ROLES = VOTERS
    REFUSAL = "只有评议团成员和群众可以提问"
    item_id: ItemId
    content: UserText


class QuestionUpvote(_Msg):
    type: Literal["question.upvote"]
    ROLES = PUBLIC
    REFUSAL = "只有群众可以为问题点赞"
    question_id: RowId


class Like(_Msg):
    type: Literal["like"]
    ROLES = PUBLIC
    REFUSAL = "只有群众可以点赞"
    # A phone may gather quick taps and send them together.
    count: Annotated[int, Field(ge=1, le=10)] = 1


class CommentSend(_Msg):
    type: Literal["comment.send"]
    ROLES = PUBLIC
    REFUSAL = "只有群众可以发表评论"
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
    reason: Reason = ""

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
    | MeetingPublicMode | MeetingVisibility | ItemReveal
    | ItemOpen | ItemAdvance | ItemBack | ItemTimer | ItemVoid | MeetingPublish
    | QuestionAsk | QuestionUpvote | Like | CommentSend
    | QuestionApprove | QuestionReject | QuestionReorder | QuestionPick | QuestionUnpick | QuestionAnswered
    | QuestionTimer | CommentApprove | CommentHide | CommentMode | CommentOverlay | DeviceBanCmd | DeviceUnban
    | WordsAdd | WordsRemove,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def _models() -> dict[str, type[_Msg]]:
    out: dict[str, type[_Msg]] = {}
    for cls in _Msg.__subclasses__():
        literal = cls.model_fields["type"].annotation
        (name,) = literal.__args__  # type: ignore[union-attr]
        out[name] = cls
    return out


MODELS: dict[str, type[_Msg]] = _models()
KNOWN_TYPES = frozenset(MODELS)
HOST_TYPES = frozenset(t for t, m in MODELS.items() if m.ROLES == HOST)
# Handled by live.web.voice_commands (the public's voice and its moderation).
INTERACTION_HOST_TYPES = frozenset({
    "question.approve", "question.reject", "question.reorder", "question.pick", "question.unpick",
    "question.answered", "question.timer", "comment.approve", "comment.hide", "comment.mode", "comment.overlay",
    "device.ban", "device.unban", "words.add", "words.remove"})
INTERACTION_PUBLIC_TYPES = frozenset({"question.ask", "question.upvote", "like", "comment.send"})
INTERACTION_TYPES = INTERACTION_HOST_TYPES | INTERACTION_PUBLIC_TYPES
PRESENTER_TYPES = frozenset(t for t, m in MODELS.items() if "presenter" in m.ROLES and m.ROLES != EVERYONE)


class BadMessage(LiveError):
    """A frame refused before any domain code ran."""

    default_code = ErrorCode.BAD_MESSAGE


def depth(value: object, limit: int) -> int:
    """How deeply ``value`` nests (an object or array is a level), counted up to ``limit + 1``
    without recursion, so a hostile frame cannot exhaust the stack."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        stack.extend((c, d + 1) for c in children)
    return deepest


def peek_id(data: object) -> str | None:
    """The command id of a decoded frame, if it has a usable one."""
    mid = data.get("id") if isinstance(data, dict) else None
    return mid if isinstance(mid, str) and 0 < len(mid) <= MAX_ID_CHARS else None


def parse(raw: str | bytes) -> ClientMessage:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson refuses more than 1024 levels itself; say so plainly.
        if "recursion" in str(exc).lower():
            raise BadMessage(f"消息嵌套过深（最多 {MAX_DEPTH} 层）", ErrorCode.TOO_DEEP) from exc
        raise BadMessage("消息不是合法的 JSON", ErrorCode.BAD_JSON) from exc
    if not isinstance(data, dict):
        raise BadMessage("消息应为 JSON 对象")
    msg_id = peek_id(data)
    if depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise BadMessage(f"消息嵌套过深（最多 {MAX_DEPTH} 层）", ErrorCode.TOO_DEEP, msg_id=msg_id)
    if msg_id is None:
        raise BadMessage(f"id 应为 1–{MAX_ID_CHARS} 个字符的字符串")
    mtype = data.get("type")
    if not isinstance(mtype, str):
        raise BadMessage("type 应为字符串", msg_id=msg_id)
    if mtype not in MODELS:
        raise BadMessage(f"未知的消息类型：{clean_text(mtype[:40])}", ErrorCode.UNKNOWN_TYPE, msg_id=msg_id)
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "消息"
        raise BadMessage(f"字段 {clean_text(where[:80])} 无效：{first['msg'][:200]}", ErrorCode.INVALID,
                         msg_id=msg_id) from exc
