"""The catalogue of sequenced events: one source of truth for the sync contract.

Each event type that advances ``seq`` is listed here once, with

- its typed model (pydantic), which tests/test_events.py checks every emitted event against;
- how a client applies it (:class:`Apply`): set a singleton key of the state, or replace
  whole entities by id in a named collection (kept in a stated order, optionally only the
  last N), or remove one by id;
- the writer commands that may emit it (``producers``).

``apply_event`` (the server's runtime and the tests) and the browser's reducer
(frontend/shared/state.js, driven by the table in frontend/shared/events.gen.js that
``python -m live.tools.gen_client`` writes from :func:`client_table`) both follow these
rules, and tests/test_events.py checks that they reach the same state.

Adding an event type: add its model and an :class:`EventSpec` to ``CATALOGUE``, list its
producers, run ``python -m live.tools.gen_client``, and document it in docs/protocol.md
(tests/test_messages.py checks the section exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

State = dict[str, Any]


# --- entities (what the state holds; extra fields are allowed so a new one needs no change here) ---


class _Entity(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Timer(_Entity):
    duration_s: int
    running: bool
    ends_at_ms: int | None
    remaining_ms: int | None


class Presenter(_Entity):
    name: str
    post: str
    unit: str


class MeetingEntity(_Entity):
    id: int
    code: str
    title: str
    status: str
    status_label: str
    secret: bool
    current_item_id: int | None
    started_at_ms: int | None
    ended_at_ms: int | None
    scheme: dict[str, Any]
    durations: dict[str, int]
    ranking: list[dict[str, Any]]
    # The sealed record (root, signature, key fingerprint, published); live.store.record.
    record: dict[str, Any] | None = None


class ItemEntity(_Entity):
    id: int
    position: int
    presenter: Presenter
    phase: str
    phase_label: str
    timer: Timer
    result: dict[str, Any] | None
    digest: str | None
    slides: dict[str, Any]


class MemberEntity(_Entity):
    id: int
    name: str
    category: str
    revoked: bool
    bound: bool
    pin: bool


class InteractionEntity(_Entity):
    comment_mode: Literal["show", "hold"]
    overlay: bool
    current_question_id: int | None
    answer_seconds: int
    answer_timer: Timer


class QuestionEntity(_Entity):
    id: int
    item_id: int
    origin: str
    source: str
    content: str
    asker: str
    position: int
    answered: bool
    upvotable: bool


class CommentEntity(_Entity):
    id: int
    order: int | None
    status: Literal["shown", "hidden"]
    text: str | None
    item_id: int | None
    at_ms: int


# --- events ----------------------------------------------------------------------------------


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    seq: int | None = None  # set when the event is appended to the log


class MeetingUpdated(_Event):
    type: Literal["meeting.updated"]
    cause: str
    meeting: MeetingEntity


class ItemUpdated(_Event):
    type: Literal["item.updated"]
    cause: str
    item: ItemEntity


class PanelUpdated(_Event):
    type: Literal["panel.updated"]
    cause: str
    member: MemberEntity


class ItemsReplaced(_Event):
    type: Literal["items.replaced"]
    cause: str
    items: list[ItemEntity]


class PanelReplaced(_Event):
    type: Literal["panel.replaced"]
    cause: str
    panel: list[MemberEntity]


class InteractionUpdated(_Event):
    type: Literal["interaction.updated"]
    cause: str
    interaction: InteractionEntity


class QuestionsUpdated(_Event):
    type: Literal["questions.updated"]
    cause: str
    questions: list[QuestionEntity]


class QuestionRemoved(_Event):
    type: Literal["question.removed"]
    cause: str
    question_id: int


class CommentUpdated(_Event):
    type: Literal["comment.updated"]
    comment: CommentEntity


# --- how each applies --------------------------------------------------------------------------


@dataclass(frozen=True)
class Apply:
    """``set``: ``state[key] = event[field]``. ``replace``: each entity in ``event[field]`` (one,
    or a list when ``many``) replaces the one with its id in ``state[key]`` or joins it; the list is
    then ordered by ``order`` (missing fields count as 0) and cut to its last ``window``.
    ``remove``: drop the entity whose id is ``event[field]`` from ``state[key]``."""

    op: Literal["set", "replace", "remove"]
    key: str
    field: str
    many: bool = False
    order: tuple[str, ...] = ("id",)
    window: int | None = None


@dataclass(frozen=True)
class EventSpec:
    name: str  # the event's ``type``
    model: type[_Event]
    apply: Apply
    producers: frozenset[str]
    doc: str


COMMENT_WINDOW = 50

CATALOGUE: dict[str, EventSpec] = {spec.name: spec for spec in [
    EventSpec("meeting.updated", MeetingUpdated, Apply("set", "meeting", "meeting"),
              frozenset({"meeting.start", "meeting.end", "item.open", "item.advance", "meeting.durations",
                         "meeting.scheme", "meeting.stream", "meeting.public_mode",
                         "item.void", "meeting.publish", "meeting.visibility",
                         "item.reveal", "setup.apply"}),
              "the whole meeting (status, current item, scheme, durations, stream, ranking)"),
    EventSpec("item.updated", ItemUpdated, Apply("replace", "items", "item", order=("position", "id")),
              frozenset({"meeting.end", "item.open", "item.advance", "item.back", "item.timer", "item.deck",
                         "slide.goto", "item.void", "item.reveal"}),
              "one agenda item (phase, timer, slides, frozen result)"),
    EventSpec("panel.updated", PanelUpdated, Apply("replace", "panel", "member"),
              frozenset({"panel.bind", "panel.release", "panel.revoke", "panel.pin"}),
              "one 评议团 member (name, category, revoked, bound to a device, has a PIN)"),
    EventSpec("items.replaced", ItemsReplaced, Apply("set", "items", "items"), frozenset({"setup.apply"}),
              "the whole agenda, after an administrator changed the presenters before the meeting"),
    EventSpec("panel.replaced", PanelReplaced, Apply("set", "panel", "panel"), frozenset({"setup.apply"}),
              "the whole 评议团, after an administrator changed the roster before the meeting"),
    EventSpec("interaction.updated", InteractionUpdated, Apply("set", "interaction", "interaction"),
              frozenset({"question.pick", "question.unpick", "question.answered", "question.timer",
                         "comment.mode", "comment.overlay", "item.advance", "item.back", "meeting.end"}),
              "the comment settings and the question 正在质询 with its countdown (cleared when its "
              "presenter leaves 质询 or the meeting ends)"),
    EventSpec("questions.updated", QuestionsUpdated,
              Apply("replace", "questions", "questions", many=True, order=("item_id", "position", "id")),
              frozenset({"question.ask", "question.approve", "question.import", "question.reorder",
                         "question.answered"}),
              "approved questions, each replacing the one with its id"),
    EventSpec("question.removed", QuestionRemoved, Apply("remove", "questions", "question_id"),
              frozenset({"question.reject"}), "an approved question taken back"),
    EventSpec("comment.updated", CommentUpdated,
              Apply("replace", "comments", "comment", order=("order",), window=COMMENT_WINDOW),
              frozenset({"comment.send", "comment.approve", "comment.hide"}),
              "a comment shown, or its tombstone"),
]}

SEQUENCED = frozenset(CATALOGUE)


def _sort_key(order: tuple[str, ...]) -> Any:
    return lambda row: tuple(row.get(f) or 0 for f in order)


def apply_event(state: State, event: dict[str, Any]) -> None:
    """Apply one sequenced event to ``state`` in place, by its catalogue rule."""
    spec = CATALOGUE.get(event["type"])
    if spec is None:
        raise ValueError(f"unknown event type {event['type']}")
    rule = spec.apply
    if rule.op == "set":
        state[rule.key] = event[rule.field]
        return
    rows: list[dict[str, Any]] = state.setdefault(rule.key, [])
    if rule.op == "remove":
        state[rule.key] = [r for r in rows if r["id"] != event[rule.field]]
        return
    new = event[rule.field] if rule.many else [event[rule.field]]
    fresh = {e["id"]: e for e in new}
    rows = [fresh.pop(r["id"], r) for r in rows] + list(fresh.values())
    rows.sort(key=_sort_key(rule.order))
    state[rule.key] = rows[-rule.window:] if rule.window else rows


def validate(event: dict[str, Any]) -> _Event:
    """The event as its typed model; raises pydantic's ValidationError when it does not fit."""
    spec = CATALOGUE.get(event["type"])
    if spec is None:
        raise ValueError(f"event type {event['type']!r} is not in the catalogue")
    return spec.model.model_validate(event)


def client_table() -> dict[str, dict[str, Any]]:
    """The apply rules as plain JSON for the browser's reducer (frontend/shared/events.gen.js)."""
    return {t: {"op": s.apply.op, "key": s.apply.key, "field": s.apply.field, "many": s.apply.many,
                "order": list(s.apply.order), "window": s.apply.window}
            for t, s in sorted(CATALOGUE.items())}


def doc_table() -> str:
    """The table of sequenced events in docs/protocol.md (tests/test_events.py checks it is there)."""
    rows = ["| event | applies to the state | how |", "|---|---|---|"]
    for name, spec in sorted(CATALOGUE.items()):
        rule = spec.apply
        if rule.op == "set":
            how = f"set to the event's `{rule.field}`"
        elif rule.op == "remove":
            how = f"drop the entry whose `id` is the event's `{rule.field}`"
        else:
            order = ", ".join(f"`{o}`" for o in rule.order)
            how = f"each `{rule.field}` replaces the entry with its `id` (or joins), ordered by {order}"
            how += f", the last {rule.window} kept" if rule.window else ""
        rows.append(f"| `{name}` | `{rule.key}` | {how} |")
    return "\n".join(rows)
