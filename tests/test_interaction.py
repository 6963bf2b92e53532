"""The public's voice over TestClient WebSockets: questions (panel, public, moderation,
upvotes, the host's queue and the answer countdown), likes, comments with the
banned-word filter, bans and per-device rate limits."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

import live.realtime.voice_counters
from conftest import Conn, Seed, close_sockets, item_ids, login, open_ws, panel_ws, seed_meeting
from live.config import Settings
from live.store.db import make_engine
from live.store.models import Comment, MeetingInteraction, Question, QuestionUpvote
from live.web.app import create_app


def host(client: TestClient, seed: Seed) -> Conn:
    login(client, seed)
    return Conn(open_ws(client, f"/ws/{seed.code}?role=host"))


def screen(client: TestClient, seed: Seed) -> Conn:
    return Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))


def panel(client: TestClient, seed: Seed, n: int) -> Conn:
    return Conn(open_ws(client, panel_ws(client, seed, n)))


def citizen(client: TestClient, seed: Seed, device: str) -> Conn:
    return Conn(open_ws(client, f"/ws/{seed.code}?role=audience",
                        headers={"cookie": f"live_dev={seed.device_cookie(device)}"}))


def stored(seed: Seed, model: Any) -> list[Any]:
    engine = make_engine(seed.settings.database_url)
    with Session(engine) as s:
        rows = list(s.exec(select(model)).all())
    engine.dispose()
    return rows


def moderation(h: Conn, pred: Any) -> dict[str, Any]:
    return h.expect(lambda m: m["type"] == "moderation" and pred(m))


def question(conn: Conn, qid: int) -> dict[str, Any] | None:
    return next((q for q in conn.state["questions"] if q["id"] == qid), None)


def sync(conn: Conn, seq: int) -> None:
    """Read until ``conn`` has applied every event up to ``seq``."""
    if conn.seq < seq:
        conn.expect(lambda m: m.get("seq") == seq and m["type"] != "ack")


def public_question(h: Conn, c: Conn, item_id: int, text: str) -> int:
    ack = c.cmd("question.ask", item_id=item_id, content=text)
    assert ack["type"] == "ack" and ack["status"] == "pending", ack
    assert h.cmd("question.approve", question_id=ack["question_id"])["status"] == "approved"
    return int(ack["question_id"])


def test_panel_questions_are_public_and_citizens_go_through_moderation(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    big = screen(client, seed)
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    h.cmd("item.open", item_id=first)
    tablet = panel(client, seed, 0)
    ack = tablet.cmd("question.ask", item_id=first, content="请问  如何落实重大行政决策\n合法性审查？")
    assert ack["type"] == "ack" and ack["status"] == "approved"
    ev = big.expect(lambda m: m["type"] == "questions.updated" and m["cause"] == "asked")
    q = ev["questions"][0]
    assert q["asker"] == "张立华" and q["source"] == "评议团" and q["origin"] == "panel"
    assert q["content"] == "请问 如何落实重大行政决策\n合法性审查？" and q["upvotable"] is False
    assert "device_id" not in q and "member_id" not in q

    phone = citizen(client, seed, "device-q-0001")
    ack = phone.cmd("question.ask", item_id=first, content="农村道路什么时候硬化？")
    assert ack["status"] == "pending"
    qid = ack["question_id"]
    queued = moderation(h, lambda m: m["questions_pending"] == 1)
    assert queued["questions"][0]["content"] == "农村道路什么时候硬化？"
    assert queued["questions"][0]["device_tag"] and "device_id" not in queued["questions"][0]
    seq = h.cmd("ping")["seq"]
    sync(big, seq)
    assert question(big, qid) is None  # nobody sees it before the host approves it

    assert h.cmd("question.approve", question_id=qid)["status"] == "approved"
    ev = big.expect(lambda m: m["type"] == "questions.updated" and m["cause"] == "approved")
    assert ev["questions"][0]["id"] == qid and ev["questions"][0]["source"] == "网络提问"
    moderation(h, lambda m: m["questions_pending"] == 0)
    assert h.cmd("question.approve", question_id=qid)["code"] == "no_change"

    assert h.cmd("question.reject", question_id=qid)["status"] == "rejected"
    big.expect(lambda m: m["type"] == "question.removed" and m["question_id"] == qid)
    assert question(big, qid) is None
    # Only the host may moderate, and only panel members and citizens may ask.
    assert phone.cmd("question.approve", question_id=qid)["code"] == "forbidden"
    assert big.cmd("question.ask", item_id=first, content="大屏提问")["code"] == "forbidden"
    assert phone.cmd("question.ask", item_id=99999, content="不存在的述法人")["code"] == "not_found"
    assert phone.cmd("question.ask", item_id=first, content="   ")["code"] == "invalid"
    assert "moderation" not in {m["type"] for m in big.seen + phone.seen + tablet.seen}


def test_upvotes_reorder_pick_countdown_and_answered(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    h.cmd("meeting.start")
    first = item_ids(h)[0]
    h.cmd("item.open", item_id=first)
    asker = citizen(client, seed, "device-asker-01")
    a = public_question(h, asker, first, "问题甲：执法记录仪覆盖率？")
    b = public_question(h, asker, first, "问题乙：行政复议纠错率？")
    panel_q = panel(client, seed, 1).cmd("question.ask", item_id=first, content="评议团的问题")["question_id"]
    phones = [citizen(client, seed, f"device-up-{n:04d}") for n in range(3)]
    for p in phones:
        ack = p.cmd("question.upvote", question_id=b)
        assert ack["status"] == "stored", ack
    assert phones[0].cmd("question.upvote", question_id=a)["upvotes"] == 1
    again = phones[0].cmd("question.upvote", question_id=b)
    assert again["status"] == "duplicate" and again["upvotes"] == 3  # one upvote per device
    assert phones[0].cmd("question.upvote", question_id=panel_q)["code"] == "invalid"
    assert h.cmd("question.upvote", question_id=b)["code"] == "forbidden"
    watcher = screen(client, seed)
    counts: dict[str, int] = {}

    def merged(m: dict[str, Any]) -> bool:
        if m["type"] == "upvotes":
            counts.update(m["counts"])
        return counts == {str(a): 1, str(b): 3}

    watcher.expect(merged)  # on connect, or on the next tick if the counts were still on the bus
    assert {q.id: q.upvotes for q in stored(seed, Question)}[b] == 3
    assert len(stored(seed, QuestionUpvote)) == 4

    order = h.cmd("question.reorder", item_id=first, by="upvotes")["order"]
    assert order[:2] == [b, a]
    h.expect(lambda m: m["type"] == "questions.updated" and m["cause"] == "reordered")
    assert [q["id"] for q in h.state["questions"] if q["item_id"] == first][:2] == [b, a]
    assert h.cmd("question.reorder", item_id=first, by="manual", ids=[panel_q])["order"][0] == panel_q
    assert h.cmd("question.reorder", item_id=first, by="manual", ids=[424242])["code"] == "not_found"

    err = h.cmd("question.pick", question_id=b)
    assert err["code"] == "illegal_transition" and "质询" in err["message"]
    h.cmd("item.advance", item_id=first)  # 述法 → 质询
    ack = h.cmd("question.pick", question_id=b, seconds=60)
    assert ack["timer"]["running"] and ack["timer"]["duration_s"] == 60
    ev = watcher.expect(lambda m: m["type"] == "interaction.updated" and m["cause"] == "picked")
    assert ev["interaction"]["current_question_id"] == b
    shown = question(watcher, b)
    assert shown is not None and shown["source"] == "网络提问"
    paused = h.cmd("question.timer", action="pause")["timer"]
    assert not paused["running"] and 0 < paused["remaining_ms"] <= 60_000
    assert h.cmd("question.timer", action="extend", seconds=30)["timer"]["remaining_ms"] == \
        paused["remaining_ms"] + 30_000

    assert h.cmd("question.answered", question_id=b)["answered"] is True
    watcher.expect(lambda m: m["type"] == "questions.updated" and m["cause"] == "answered")
    ev = watcher.expect(lambda m: m["type"] == "interaction.updated" and m["cause"] == "answered")
    assert ev["interaction"]["current_question_id"] is None
    assert not ev["interaction"]["answer_timer"]["running"]
    answered = question(watcher, b)
    assert answered is not None and answered["answered"] is True
    assert h.cmd("question.unpick")["code"] == "no_change"
    # Upvoting first puts unanswered questions ahead of answered ones.
    assert h.cmd("question.reorder", item_id=first, by="upvotes")["order"][-1] == b


def test_likes_are_coalesced_and_stored_not_per_tap(settings: Settings, seed: Seed,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live.realtime.voice_counters, "LIKES_PERSIST_S", 0.2)
    with TestClient(create_app(settings)) as client:
        try:
            watcher = screen(client, seed)
            phone = citizen(client, seed, "device-like-001")
            for _ in range(20):
                phone.send("like", count=5)
            acks = [phone.expect(lambda m: m["type"] == "ack") for _ in range(20)]
            assert {a["count"] for a in acks} == {5}
            last = watcher.expect(lambda m: m["type"] == "likes" and m["total"] == 100)
            updates = [m for m in watcher.seen if m["type"] == "likes"]
            assert last and len(updates) < 20  # coalesced by the ticker, not one message per tap
            assert watcher.cmd("like")["code"] == "forbidden"  # only a citizen's phone likes
            # Stored every few seconds (here 0.2 s) while the meeting runs, in one row.
            for _ in range(100):
                if [r.likes for r in stored(seed, MeetingInteraction)] == [100]:
                    break
                time.sleep(0.05)
            assert [r.likes for r in stored(seed, MeetingInteraction)] == [100]
            phone.cmd("like", count=7)
        finally:
            close_sockets()
    # What came after the last periodic store is stored at shutdown.
    rows = stored(seed, MeetingInteraction)
    assert [r.likes for r in rows] == [107]
    with TestClient(create_app(settings)) as client:
        try:
            fresh = screen(client, seed)
            assert fresh.expect(lambda m: m["type"] == "likes")["total"] == 107
        finally:
            close_sockets()


def test_comments_filter_hold_show_hide_and_ban(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    big = screen(client, seed)
    phone = citizen(client, seed, "device-cmt-001")
    assert big.state["interaction"]["comment_mode"] == "hold"
    # The filter: hits are refused and stored nowhere, innocent text passes.
    prober = citizen(client, seed, "device-cmt-bad")  # each phone may send 5 comments in 30 s
    for bad in ("你就是个傻逼", "傻 * 逼", "ＳＢ"):
        err = prober.cmd("comment.send", text=bad)
        assert err["code"] == "banned_words" and "不文明" in err["message"], bad
    held = phone.cmd("comment.send", text="我不想去，死也不去")
    assert held["status"] == "held"
    queue = moderation(h, lambda m: m["comments_held"] == 1)
    assert queue["comments"][0]["text"] == "我不想去，死也不去"
    assert phone.cmd("comment.send", text="这是黑箱操作")["status"] == "held"
    # The host extends the lexicon; the new word is refused from now on.
    ack = h.cmd("words.add", words=["黑箱操作"])
    assert ack["added"] == ["黑箱操作"] and ack["words"] == ["黑箱操作"]
    assert prober.cmd("comment.send", text="又是黑 箱 操 作")["code"] == "banned_words"
    assert h.cmd("words.add", words=["傻"])["code"] == "term_too_short"
    moderation(h, lambda m: m["words"] == ["黑箱操作"])

    assert h.cmd("comment.approve", comment_id=held["comment_id"])["status"] == "shown"
    ev = big.expect(lambda m: m["type"] == "comment.updated")
    assert ev["comment"]["text"] == "我不想去，死也不去" and ev["comment"]["status"] == "shown"

    assert h.cmd("comment.mode", mode="show")["comment_mode"] == "show"
    big.expect(lambda m: m["type"] == "interaction.updated" and m["interaction"]["comment_mode"] == "show")
    shown = phone.cmd("comment.send", text="<b>支持</b>依法行政！")
    assert shown["status"] == "shown"
    ev = big.expect(lambda m: m["type"] == "comment.updated" and m["comment"]["id"] == shown["comment_id"])
    assert ev["comment"]["text"] == "<b>支持</b>依法行政！"  # stored and sent as written; pages use textContent

    assert h.cmd("comment.hide", comment_id=shown["comment_id"])["status"] == "hidden"
    ev = big.expect(lambda m: m["type"] == "comment.updated" and m["comment"]["status"] == "hidden")
    assert ev["comment"]["text"] is None
    assert all(c["text"] != "<b>支持</b>依法行政！" for c in big.state["comments"])

    assert h.cmd("comment.overlay", on=False)["overlay"] is False
    big.expect(lambda m: m["type"] == "interaction.updated" and m["interaction"]["overlay"] is False)

    ban = h.cmd("device.ban", comment_id=shown["comment_id"], reason="刷屏")
    assert ban["type"] == "ack" and ban["cleared"] == 1  # its held comment left the queue
    assert h.cmd("device.ban", comment_id=shown["comment_id"])["code"] == "no_change"
    err = phone.cmd("comment.send", text="我还想说")
    assert err["code"] == "banned" and "禁止" in err["message"]
    first = item_ids(h)[0]
    assert phone.cmd("question.ask", item_id=first, content="还能提问吗")["code"] == "banned"
    other = citizen(client, seed, "device-cmt-002")
    assert other.cmd("comment.send", text="另一台手机")["status"] == "shown"
    queue = moderation(h, lambda m: len(m["bans"]) == 1 and m["comments_held"] == 0)
    assert queue["bans"][0]["reason"] == "刷屏"
    assert h.cmd("device.unban", ban_id=queue["bans"][0]["id"])["type"] == "ack"
    assert phone.cmd("comment.send", text="解禁了")["status"] == "shown"
    assert phone.cmd("device.ban", comment_id=1)["code"] == "forbidden"
    statuses = sorted(c.status for c in stored(seed, Comment))
    assert statuses == ["hidden", "hidden", "shown", "shown", "shown"]
    assert "moderation" not in {m["type"] for m in big.seen + phone.seen + other.seen + prober.seen}


def test_rate_limits_are_per_device_with_a_clear_message(client: TestClient, seed: Seed) -> None:
    h = host(client, seed)
    h.cmd("comment.mode", mode="show")
    phone = citizen(client, seed, "device-rate-001")
    for n in range(5):
        assert phone.cmd("comment.send", text=f"第{n}条")["status"] == "shown"
    err = phone.cmd("comment.send", text="第6条")
    assert err["code"] == "rate_limited"
    assert "评论过于频繁" in err["message"] and "30 秒最多 5 次" in err["message"]
    # A second tab of the same phone shares the budget; another phone has its own.
    assert citizen(client, seed, "device-rate-001").cmd("comment.send", text="换个标签页")["code"] == "rate_limited"
    assert citizen(client, seed, "device-rate-002").cmd("comment.send", text="另一台")["status"] == "shown"

    first = item_ids(h)[0]
    for n in range(3):
        assert phone.cmd("question.ask", item_id=first, content=f"提问{n}")["status"] == "pending"
    err = phone.cmd("question.ask", item_id=first, content="提问3")
    assert err["code"] == "rate_limited" and "提问过于频繁" in err["message"]

    tabs = [citizen(client, seed, "device-rate-003"), citizen(client, seed, "device-rate-003")]
    replies = []
    for tab in tabs:
        ids = [tab.send("like") for _ in range(21)]
        replies += [tab.expect(lambda m, i=i: m.get("id") == i) for i in ids]  # type: ignore[misc]
    limited = [r for r in replies if r.get("code") == "rate_limited"]
    assert len(limited) == 2 and "点赞过于频繁" in limited[0]["message"]


def test_snapshot_plus_events_equals_fresh_snapshot_with_questions_and_comments(client: TestClient,
                                                                               seed: Seed) -> None:
    h = host(client, seed)
    watcher = screen(client, seed)
    h.cmd("meeting.start")
    first, second = item_ids(h)[:2]
    h.cmd("item.open", item_id=first)
    panel(client, seed, 2).cmd("question.ask", item_id=first, content="评议团提问一")
    asker = citizen(client, seed, "device-snap-ask")
    q1 = public_question(h, asker, first, "群众提问一")
    q2 = public_question(h, asker, second, "群众提问二")
    h.cmd("question.reorder", item_id=first, by="manual", ids=[q1])
    h.cmd("item.advance", item_id=first)
    h.cmd("question.pick", question_id=q1, seconds=30)
    h.cmd("question.answered", question_id=q1)
    h.cmd("question.reject", question_id=q2)
    h.cmd("comment.mode", mode="show")
    phones = [citizen(client, seed, f"device-snap-{n:03d}") for n in range(12)]
    ids: list[int] = []
    for p in phones:
        for k in range(5):
            ids.append(p.cmd("comment.send", text=f"评论{len(ids)}-{k}")["comment_id"])
    h.cmd("comment.hide", comment_id=ids[2])  # outside the window of 50 by now
    h.cmd("comment.hide", comment_id=ids[-3])  # inside it: a tombstone
    h.cmd("comment.overlay", on=False)
    last = h.cmd("ping")["seq"]
    sync(watcher, last)
    fresh = screen(client, seed)
    assert fresh.seq == watcher.seq == last
    assert fresh.state == watcher.state
    assert len(fresh.state["comments"]) == 50
    assert [c["status"] for c in fresh.state["comments"]].count("hidden") == 1
    sync(h, last)
    assert h.state == fresh.state


def test_likes_upvotes_queue_and_words_cross_workers(pg_url: str, redis_url: str) -> None:
    import uuid

    settings = Settings(database_url=pg_url, secret_key="k", redis_url=redis_url,
                        redis_channel=f"live:test:{uuid.uuid4().hex[:8]}", tick_s=0.05)
    seed = seed_meeting(settings)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        try:
            for app in (a, b):
                for _ in range(100):
                    if app.get("/healthz").json()["broker"] == "redis":
                        break
                    time.sleep(0.05)
            h = host(a, seed)
            big_a = screen(a, seed)
            phone_b = citizen(b, seed, "device-w-0001")
            first = item_ids(h)[0]
            # A question asked on worker B reaches the host's queue on worker A.
            qid = phone_b.cmd("question.ask", item_id=first, content="跨进程的提问")["question_id"]
            moderation(h, lambda m: [q["id"] for q in m["questions"]] == [qid])
            h.cmd("question.approve", question_id=qid)
            # Upvotes and likes taken on B add up on A's screen.
            assert citizen(b, seed, "device-w-0002").cmd("question.upvote", question_id=qid)["upvotes"] == 1
            big_a.expect(lambda m: m["type"] == "upvotes" and m["counts"].get(str(qid)) == 1)
            for _ in range(4):
                phone_b.cmd("like", count=10)
            big_a.expect(lambda m: m["type"] == "likes" and m["total"] == 40)
            # A word added on A is filtered on B once B has reloaded its filter.
            h.cmd("words.add", words=["跨进程敏感词"])
            for n in range(40):
                reply = citizen(b, seed, f"device-w-1{n:03d}").cmd("comment.send", text="跨进程敏感词")
                if reply.get("code") == "banned_words":
                    break
                time.sleep(0.05)
            assert reply.get("code") == "banned_words"
        finally:
            close_sockets()
