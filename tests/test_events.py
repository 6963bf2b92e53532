"""Every writer command against a stale state, in the manner of Zulip's ``verify_action``.

For each case: a fresh meeting is brought into the state the command needs (through the
writer, like everything), a *stale* state is loaded, the command runs through the writer,
and the events its commit publishes are recorded. Each event must fit its model in the
event catalogue (live/domain/catalogue.py), the command must be one of the event's listed
producers, and the events applied to the stale state must give exactly a freshly loaded
state (a readable diff otherwise). A command that emits nothing fails unless its case says
``emits=False``. The same events then go through the browser's reducer (frontend/shared/state.js)
under node, which must reach the same state.

The table must cover every entry of the writer's registry (``writer.COMMANDS`` and
``writer.BATCHES``): a new command fails ``test_every_registry_entry_has_a_case`` until it
has a case. Adding one is a few lines in ``CASES``::

    Case("item.void", lambda c: c.voting_then({"item_id": c.item})),   # returns the args
    Case("words.add", lambda c: c.done({"words": ["某某词"]}), emits=False),

The first argument is the command (or batched job kind); the second is an async function
of a :class:`Ctx` that runs whatever setup the command needs (``await c.run(name, **args)``,
``await c.job(kind, **args)``, or the helpers below) and returns the command's args.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import json
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from conftest import DEMO, PASSWORD
from live.domain import catalogue
from live.store.db import make_engine
from live.store.migrate import upgrade
from live.store.models import AgendaItem, PanelMember
from live.store.seed import create_meeting
from live.store.state import apply_event, load_state
from live.store.writer import BATCHES, COMMANDS, Writer
from live.tools import gen_client

ROOT = Path(__file__).resolve().parents[1]


class Ctx:
    """One fresh meeting and a running writer; the helpers set up what a command needs."""

    def __init__(self, writer: Writer, engine: Engine, meeting_id: int) -> None:
        self.writer = writer
        self.engine = engine
        self.meeting_id = meeting_id
        with Session(engine) as s:
            self.items = [i.id or 0 for i in s.exec(select(AgendaItem).where(
                AgendaItem.meeting_id == meeting_id).order_by(col(AgendaItem.position))).all()]
            self.members = [p.id or 0 for p in s.exec(select(PanelMember).where(
                PanelMember.meeting_id == meeting_id).order_by(col(PanelMember.id))).all()]
        self.item = self.items[0]

    async def run(self, name: str, **args: Any) -> dict[str, Any]:
        return await self.writer.command(self.meeting_id, name, args)

    async def job(self, kind: str, **args: Any) -> dict[str, Any]:
        return await self.writer.job(kind, self.meeting_id, args)

    @staticmethod
    async def done(args: dict[str, Any]) -> dict[str, Any]:
        return args

    async def phase(self, phase: str) -> None:
        """Start the meeting and take the first item to ``phase``."""
        await self.run("meeting.start")
        if phase == "pending":
            return
        reply = await self.run("item.open", item_id=self.item)
        while reply["phase"] != phase:
            reply = await self.run("item.advance", item_id=self.item)

    async def panel_question(self, content: str = "农村道路什么时候硬化？") -> int:
        reply = await self.job("question.ask", item_id=self.item, content=content, origin="panel",
                               source="评议团", asker="张立华", member_id=self.members[0], device_id=None)
        return int(reply["question_id"])

    async def public_question(self, device: str = "device-0001", content: str = "学校何时扩建？") -> int:
        reply = await self.job("question.ask", item_id=self.item, content=content, origin="public",
                               source="网络提问", asker="", member_id=None, device_id=device)
        return int(reply["question_id"])

    async def comment(self, shown: bool, device: str = "device-0002") -> int:
        if shown:
            await self.run("comment.mode", mode="show")
        reply = await self.job("comment.send", device_id=device, text="支持！", item_id=self.item)
        return int(reply["comment_id"])

    async def problem(self, **fields: Any) -> int:
        reply = await self.run("problem.add", item_id=self.item, description="制度不健全", source="点评", **fields)
        return int(reply["problem_id"])


Setup = Callable[[Ctx], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    command: str
    setup: Setup
    emits: bool = True
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.command}{'-' + self.label if self.label else ''}"


async def _scheme(c: Ctx) -> dict[str, Any]:
    _, state = _load(c.engine, c.meeting_id)
    scheme = copy.deepcopy(state["meeting"]["scheme"])
    scheme["allow_abstain"] = not scheme.get("allow_abstain", True)
    return {"scheme": scheme}


async def _deck(c: Ctx, page: int) -> dict[str, Any]:
    await c.run("item.deck", item_id=c.item, pages=5, version=1)
    return {"item_id": c.item, "page": page}


async def _picked(c: Ctx) -> int:
    await c.phase("inquiry")
    qid = await c.panel_question()
    await c.run("question.pick", question_id=qid, seconds=120)
    return qid


async def _banned(c: Ctx) -> dict[str, Any]:
    await c.comment(shown=True)
    ban = await c.run("device.ban", comment_id=await c.comment(shown=True, device="device-0003"))
    return {"ban_id": ban["ban_id"]}


async def _two_questions(c: Ctx, by: str) -> dict[str, Any]:
    first = await c.panel_question("第一个问题")
    second = await c.panel_question("第二个问题")
    return {"item_id": c.item, "by": by, "ids": [second, first] if by == "manual" else None}


async def _public_group(c: Ctx) -> str:
    from live.domain.scheme import Scheme, public_categories
    _, state = _load(c.engine, c.meeting_id)
    allowed = public_categories(Scheme.from_dict(state["meeting"]["scheme"]))
    return sorted(allowed)[0] if allowed else "群众"


async def _tickets(c: Ctx) -> dict[str, Any]:
    import secrets
    return {"group": await _public_group(c), "hashes": [secrets.token_hex(32), secrets.token_hex(32)]}


async def _ticket(c: Ctx) -> int:
    from live.store.models import Credential
    await c.run("tickets.create", **await _tickets(c))
    with Session(c.engine) as s:
        return int(s.exec(select(Credential.id).where(Credential.meeting_id == c.meeting_id)).first() or 0)


async def _roster(c: Ctx) -> dict[str, Any]:
    return {"voters": [{"name": "张三", "unit": "某社区", "group": await _public_group(c), "contact": "1"}]}


async def _redeemed(c: Ctx) -> dict[str, Any]:
    cid = await _ticket(c)
    await c.run("credential.redeem", credential_id=cid, device_id="device-0007")
    return {"credential_id": cid}


async def _ended(c: Ctx) -> dict[str, Any]:
    await c.run("meeting.start")
    await c.run("meeting.end")
    return {"on": True}
async def _revealable(c: Ctx) -> dict[str, Any]:
    await c.run("meeting.visibility", mode="hidden")
    await c.phase("voting")
    await c.run("item.advance", item_id=c.item)
    return {"item_id": c.item}


def _sheet(c: Ctx, session: str, sheet: str = "001") -> dict[str, Any]:
    return {"role": "host", "session": session, "name": "", "item_id": c.item, "group": "public",
            "sheet": sheet, "figures": {"counts": {"满意": 3}, "abstain": 0}}


async def _second_keying(c: Ctx) -> dict[str, Any]:
    await c.phase("voting")
    await c.writer.command(c.meeting_id, "paper.enter", _sheet(c, "session-first"))
    return _sheet(c, "session-second")


async def _pending_sheet(c: Ctx) -> dict[str, Any]:
    await c.phase("voting")
    entry = await c.writer.command(c.meeting_id, "paper.enter", _sheet(c, "session-first"))
    return {"role": "host", "session": "session-first", "entry_id": entry["entry"]["id"]}


async def _approved_public(c: Ctx) -> dict[str, Any]:
    qid = await c.public_question()
    await c.run("question.approve", question_id=qid)
    return {"question_id": qid, "device_id": "device-0009"}


CASES: list[Case] = [
    # the meeting's course
    Case("meeting.start", lambda c: c.done({})),
    Case("meeting.end", lambda c: _after(c.phase("report"), {})),
    Case("meeting.durations", lambda c: c.done({"durations": {"report": 480, "voting": 90}})),
    Case("meeting.scheme", _scheme),
    Case("meeting.stream", lambda c: c.done({"url": "https://live.example.cn/zw/index.m3u8"})),
    # public voting credentials
    Case("meeting.public_mode", lambda c: c.done({"mode": "ticket"})),
    Case("tickets.create", _tickets, emits=False),
    Case("roster.import", _roster, emits=False),
    Case("credential.redeem", lambda c: _then(_ticket(c), lambda cid: {"credential_id": cid,
                                                                       "device_id": "device-0007"}), emits=False),
    Case("credential.release", _redeemed, emits=False),
    Case("identity.mint", lambda c: c.done({"device_id": "device-0008", "prefix": "10.0.0", "cap": 5}),
         emits=False),
    Case("item.deck", lambda c: c.done({"item_id": c.item, "pages": 6, "version": 1})),
    Case("slide.goto", lambda c: _deck(c, 3)),
    Case("item.open", lambda c: _after(c.phase("pending"), {"item_id": c.item})),
    Case("item.advance", lambda c: _after(c.phase("report"), {"item_id": c.item})),
    Case("item.advance", lambda c: _after(c.phase("inquiry"), {"item_id": c.item}), label="leaving-inquiry"),
    Case("item.advance", lambda c: _after(c.phase("voting"), {"item_id": c.item}), label="closing-voting"),
    Case("item.back", lambda c: _after(c.phase("inquiry"), {"item_id": c.item})),
    Case("item.timer", lambda c: _after(c.phase("report"), {"item_id": c.item, "action": "pause"})),
    Case("item.timer", lambda c: _after(c.phase("report"), {"item_id": c.item, "action": "extend", "seconds": 60}),
         label="extend"),
    Case("panel.revoke", lambda c: c.done({"member_id": c.members[0]})),
    Case("panel.bind", lambda c: c.done({"member_id": c.members[0], "version": 1, "device_hash": "a" * 64})),
    Case("panel.release", lambda c: _after(c.run("panel.bind", member_id=c.members[0], version=1,
                                                 device_hash="b" * 64), {"member_id": c.members[0]})),
    Case("panel.pin", lambda c: c.done({"member_id": c.members[0], "on": True})),
    Case("panel.pin", lambda c: _after(c.run("panel.pin", member_id=c.members[0], on=True),
                                       {"member_id": c.members[0], "on": False}), label="off"),
    Case("item.void", lambda c: _after(c.phase("done"), {"item_id": c.item, "reason": "计票设备故障，重新测评"})),
    Case("meeting.publish", _ended),
    # the administrators' setup (before the meeting starts)
    Case("setup.apply", lambda c: c.done({
        "sections": ["basics", "presenters", "panel"],
        "basics": {"title": "2026年度述法评议会", "held_on": "2026-01-20", "venue": "市政府第一会议室"},
        "presenters": [{"id": c.items[1], "name": "李秀英", "post": "县长", "unit": "中宁县人民政府"},
                       {"name": "新述法人", "post": "局长", "unit": "市司法局", "kind": "部门负责人"}],
        "roster": [{"id": c.members[0], "name": "张立华", "category": "人大代表"},
                   {"name": "新成员", "category": "律师", "unit": "某律所", "contact": "13800000000"}]})),
    Case("setup.apply", lambda c: c.done({"sections": ["scheme", "options"], "scheme": "grade",
                                          "options": {"public_mode": "ticket", "secret": True}}),
         label="scheme-options"),
    Case("setup.finish", lambda c: c.done({}), emits=False),
    Case("setup.archive", lambda c: c.done({"archived": True}), emits=False),
    Case("setup.host_password", lambda c: c.done({"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$x$y"}),
         emits=False),
    Case("setup.presenter_link", lambda c: c.done({}), emits=False),
    # results visibility and paper ballots (a confirmed sheet changes the tally, not the log)
    Case("meeting.visibility", lambda c: c.done({"mode": "counts", "small_group_k": 3})),
    Case("item.reveal", _revealable),
    Case("paper.enter", lambda c: _after(c.phase("voting"), _sheet(c, "session-first")), emits=False),
    Case("paper.enter", _second_keying, emits=False, label="confirmed"),
    Case("paper.discard", _pending_sheet, emits=False),
    # the public's voice
    Case("question.ask", lambda c: _after(c.phase("inquiry"), {
        "item_id": c.item, "content": "问题", "origin": "panel", "source": "评议团", "asker": "张立华",
        "member_id": c.members[0], "device_id": None})),
    Case("question.ask", lambda c: _after(c.phase("inquiry"), {
        "item_id": c.item, "content": "问题", "origin": "public", "source": "网络提问", "asker": "",
        "member_id": None, "device_id": "device-0001"}), emits=False, label="public-pending"),
    Case("question.approve", lambda c: _then(c.public_question(), lambda q: {"question_id": q})),
    Case("question.reject", lambda c: _then(c.panel_question(), lambda q: {"question_id": q})),
    Case("question.import", lambda c: c.done({"status": "approved", "rows": [
        {"row": 2, "item_id": c.item, "source": "12345热线", "content": "路灯坏了", "asker": ""},
        {"row": 3, "item_id": c.items[1], "source": "信箱", "content": "噪音扰民", "asker": "王某"}]})),
    Case("question.import", lambda c: c.done({"status": "pending", "rows": [
        {"row": 2, "item_id": c.item, "source": "12345热线", "content": "路灯坏了", "asker": ""}]}),
         emits=False, label="pending"),
    Case("question.reorder", lambda c: _two_questions(c, "manual")),
    Case("question.reorder", lambda c: _two_questions(c, "upvotes"), emits=False, label="upvotes-unchanged"),
    Case("question.pick", lambda c: _after(c.phase("inquiry"), None, lambda: _then(
        c.panel_question(), lambda q: {"question_id": q, "seconds": 90}))),
    Case("question.unpick", lambda c: _then(_picked(c), lambda q: {})),
    Case("question.answered", lambda c: _then(_picked(c), lambda q: {"question_id": q})),
    Case("question.answered", lambda c: _then(c.panel_question(), lambda q: {"question_id": q}),
         label="not-picked"),
    Case("question.timer", lambda c: _then(_picked(c), lambda q: {"action": "pause"})),
    # a question left 正在质询 is cleared when its presenter leaves 质询, or the meeting ends
    Case("item.advance", lambda c: _after(_picked(c), {"item_id": c.item}), label="picked-question"),
    Case("item.back", lambda c: _after(_picked(c), {"item_id": c.item}), label="picked-question"),
    Case("meeting.end", lambda c: _after(_picked(c), {}), label="picked-question"),
    Case("question.upvote", _approved_public, emits=False),
    Case("comment.send", lambda c: _after(c.run("comment.mode", mode="show"), {
        "device_id": "device-0005", "text": "讲得好", "item_id": c.item})),
    Case("comment.send", lambda c: c.done({"device_id": "device-0005", "text": "讲得好", "item_id": c.item}),
         emits=False, label="held"),
    Case("comment.approve", lambda c: _then(c.comment(shown=False), lambda cid: {"comment_id": cid})),
    Case("comment.hide", lambda c: _then(c.comment(shown=True), lambda cid: {"comment_id": cid})),
    Case("comment.mode", lambda c: c.done({"mode": "show"})),
    Case("comment.overlay", lambda c: c.done({"on": False})),
    # A ban keeps what was already public: it only empties the device's part of the host's queue.
    Case("device.ban", lambda c: _then(c.comment(shown=True), lambda cid: {"comment_id": cid, "reason": "刷屏"}),
         emits=False),
    Case("device.ban", lambda c: _then(_approved_public(c), lambda a: {"question_id": a["question_id"]}),
         emits=False, label="question"),
    Case("device.unban", _banned, emits=False),
    Case("words.add", lambda c: c.done({"words": ["某某词"]}), emits=False),
    Case("words.remove", lambda c: _after(c.run("words.add", words=["某某词"]), {"words": ["某某词"]}), emits=False),
    Case("likes.add", lambda c: c.done({"n": 7}), emits=False),
    Case("interaction.sample", lambda c: c.done({"worker": "w-1", "minute_ms": 1_764_554_400_000, "audience": 12,
                                                 "screens": 1, "panel": 3, "hosts": 1, "likes": 40}), emits=False),
    # 点评 and 整改: host data, not public state
    Case("review.save", lambda c: c.done({"item_id": c.item, "text": "汇报全面", "commenter": "李某"}), emits=False),
    Case("problem.add", lambda c: c.done({"item_id": c.item, "description": "制度不健全", "source": "点评"}),
         emits=False),
    Case("problem.update", lambda c: _then(c.problem(), lambda p: {"problem_id": p, "owner": "办公室"}), emits=False),
    Case("problem.delete", lambda c: _then(c.problem(), lambda p: {"problem_id": p}), emits=False),
    Case("problem.status", lambda c: _then(c.problem(), lambda p: {"problem_id": p, "status": "整改中"}),
         emits=False),
    Case("problem.note", lambda c: _then(c.problem(), lambda p: {"problem_id": p, "text": "已开会研究"}),
         emits=False),
    Case("problem.report", lambda c: _then(c.problem(), lambda p: {"problem_id": p, "text": "已整改完毕",
                                                                  "request_close": True, "attachments": []}),
         emits=False),
    Case("problem.escalate", lambda c: _then(c.problem(deadline="2020-01-01"), lambda p: {
        "problem_id": p, "level": "提醒", "note": "电话提醒", "on_date": "2020-02-01", "author": "admin"}),
         emits=False),
    Case("problem.owner_link", lambda c: _then(c.problem(), lambda p: {"problem_id": p}), emits=False),
]


async def _after(setup: Awaitable[Any], args: dict[str, Any] | None,
                 more: Callable[[], Awaitable[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Run ``setup``, then return ``args`` (or what ``more`` returns)."""
    await setup
    if more is not None:
        return await more()
    assert args is not None
    return args


async def _then(setup: Awaitable[Any], make: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Run ``setup`` and build the args from what it returned."""
    return make(await setup)


# --- running a case ------------------------------------------------------------------------------


@dataclass
class Run:
    case: Case
    stale_seq: int
    stale: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    fresh_seq: int = 0
    fresh: dict[str, Any] = field(default_factory=dict)


def _load(engine: Engine, meeting_id: int) -> tuple[int, dict[str, Any]]:
    with Session(engine) as s:
        return load_state(s, meeting_id)


def _new_meeting(engine: Engine) -> int:
    with Session(engine) as s:
        created = create_meeting(s, DEMO, PASSWORD)
        s.commit()
    return created.meeting_id


async def _verify(engine: Engine, case: Case) -> Run:
    recorded: list[dict[str, Any]] = []
    writer = Writer(engine, lambda evs, _changes: recorded.extend(e.message for e in evs))
    await writer.start()
    try:
        ctx = Ctx(writer, engine, _new_meeting(engine))
        args = await case.setup(ctx)
        stale_seq, stale = _load(engine, ctx.meeting_id)
        recorded.clear()
        if case.command in BATCHES:
            await writer.job(case.command, ctx.meeting_id, args)
        else:
            await writer.command(ctx.meeting_id, case.command, args)
        run = Run(case, stale_seq, stale, list(recorded))
        run.fresh_seq, run.fresh = _load(engine, ctx.meeting_id)
        return run
    finally:
        await writer.stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every case, run once for the module (the JS parity check reuses them)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('events') / 'events.db'}", synchronous="OFF")
    upgrade(engine)

    async def all_cases() -> dict[str, Run]:
        return {case.id: await _verify(engine, case) for case in CASES}

    yield asyncio.run(all_cases())
    engine.dispose()


def _pretty(state: dict[str, Any]) -> list[str]:
    return json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True).splitlines()


def _diff(expected: dict[str, Any], got: dict[str, Any], what: str) -> str:
    return "\n".join(difflib.unified_diff(_pretty(expected), _pretty(got), "fresh state", what, lineterm=""))


# --- the checks ----------------------------------------------------------------------------------


def test_every_registry_entry_has_a_case() -> None:
    covered = {case.command for case in CASES}
    missing = sorted((set(COMMANDS) | set(BATCHES)) - covered)
    assert not missing, f"tests/test_events.py has no case for {missing}: add one to CASES (see the docstring)"
    assert len({case.id for case in CASES}) == len(CASES), "two cases share a command and label"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_events_bring_a_stale_state_to_the_fresh_one(case: Case, runs: dict[str, Run]) -> None:
    run = runs[case.id]
    if case.emits:
        assert run.events, f"{case.id} emitted no event; if that is right, say emits=False in its case"
    else:
        assert not run.events, f"{case.id} emitted {[e['type'] for e in run.events]} but its case says emits=False"
    for n, ev in enumerate(run.events):
        assert ev["seq"] == run.stale_seq + n + 1, "events must follow the stale seq without a gap"
        catalogue.validate(ev)
        spec = catalogue.CATALOGUE[ev["type"]]
        assert case.command in spec.producers, (
            f"{case.command} emits {ev['type']} but is not among its producers in live/domain/catalogue.py")
    assert run.fresh_seq == run.stale_seq + len(run.events)
    state = copy.deepcopy(run.stale)
    for ev in run.events:
        apply_event(state, ev)
    assert state == run.fresh, f"{case.id}: stale state + events != fresh state\n" + _diff(run.fresh, state,
                                                                                          "stale + events")


def test_the_catalogue_lists_only_real_commands() -> None:
    known = set(COMMANDS) | set(BATCHES)
    for spec in catalogue.CATALOGUE.values():
        assert spec.producers <= known, (spec.name, sorted(spec.producers - known))


def test_every_listed_producer_is_seen_emitting_its_event(runs: dict[str, Run]) -> None:
    seen = {(ev["type"], run.case.command) for run in runs.values() for ev in run.events}
    listed = {(spec.name, p) for spec in catalogue.CATALOGUE.values() for p in spec.producers}
    assert not listed - seen, f"listed as producers but no case shows it: {sorted(listed - seen)}"


def test_the_client_table_is_generated_from_the_catalogue() -> None:
    current = gen_client.TARGET.read_text(encoding="utf-8")
    assert current == gen_client.render(), "frontend/shared/events.gen.js is stale: run python -m live.tools.gen_client"


_NODE_SCRIPT = """
import { readFileSync } from "node:fs";
import { applyAll, SEQUENCED } from "./state.js";
const runs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = {};
for (const [id, run] of Object.entries(runs)) {
  for (const ev of run.events) if (!SEQUENCED.has(ev.type)) throw new Error("not sequenced: " + ev.type);
  out[id] = applyAll(run.stale, run.events);
}
process.stdout.write(JSON.stringify({ out, sequenced: [...SEQUENCED].sort() }));
"""


def test_the_browser_reducer_reaches_the_same_state(runs: dict[str, Run], tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the browser reducer (frontend/shared/state.js) cannot be run here")
    # A folder of its own marked as ES modules, so node reads the browser's files as they are.
    for name in ("state.js", "events.gen.js"):
        shutil.copy(ROOT / "frontend" / "shared" / name, tmp_path / name)
    (tmp_path / "package.json").write_text('{"type": "module"}', encoding="utf-8")
    (tmp_path / "parity.js").write_text(_NODE_SCRIPT, encoding="utf-8")
    data = {rid: {"stale": r.stale, "events": r.events} for rid, r in runs.items()}
    (tmp_path / "runs.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([node, "parity.js", "runs.json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["sequenced"] == sorted(catalogue.SEQUENCED)
    for rid, run in runs.items():
        assert result["out"][rid] == run.fresh, f"{rid}: the browser reducer differs\n" + _diff(
            run.fresh, result["out"][rid], "browser")


def test_the_protocol_document_lists_the_catalogue() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    assert catalogue.doc_table() in doc, "docs/protocol.md's table of sequenced events differs from the catalogue"
    documented = set(re.findall(r"^### `([a-z_.]+)` \(sequenced\)", doc, re.M))
    assert documented == set(catalogue.SEQUENCED), (sorted(documented ^ set(catalogue.SEQUENCED)))


@pytest.mark.parametrize("case_id", ["item.advance-picked-question", "item.back-picked-question",
                                     "meeting.end-picked-question"])
def test_leaving_inquiry_clears_the_question_on_stage(case_id: str, runs: dict[str, Run]) -> None:
    """No stale 正在质询: once its presenter leaves 质询 (or the meeting ends) the pick is gone."""
    run = runs[case_id]
    assert run.stale["interaction"]["current_question_id"] is not None
    cleared = [ev for ev in run.events if ev["type"] == "interaction.updated"]
    assert [ev["cause"] for ev in cleared] == ["phase"], run.events
    inter = run.fresh["interaction"]
    assert inter["current_question_id"] is None
    assert inter["answer_timer"]["running"] is False and inter["answer_timer"]["remaining_ms"] == 0
