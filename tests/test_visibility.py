"""Results visibility, the small-group guard, coarse tally batches and the host's
who-has-voted view: the pure rules, then what real sockets receive."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from conftest import DEMO, Conn, Seed, item_ids, login, open_ws, panel_ws, seed_meeting
from live.config import Settings
from live.domain.scheme import BallotValue, satisfaction_scheme
from live.domain.scoring import live_tally
from live.domain.visibility import (
    TallyBatcher,
    TallyBatching,
    Visibility,
    VisibilityError,
    VisibilitySettings,
    check_visibility,
    public_result,
    tally_view,
)
from live.realtime.runtime import MeetingRuntime
from live.store.events import SeqEvent
from live.store.seed import SpecError

# --- the pure rules ---------------------------------------------------------------------------


def _tally(panel: list[str], public: list[str]) -> dict[str, Any]:
    ballots = [BallotValue("panel", {"option": o}) for o in panel] + \
        [BallotValue("public", {"option": o}) for o in public]
    return live_tally(satisfaction_scheme(), ballots)


LIVE = VisibilitySettings(Visibility.LIVE, 3)
COUNTS = VisibilitySettings(Visibility.COUNTS, 3)
HIDDEN = VisibilitySettings(Visibility.HIDDEN, 3)
CHOICE_KEYS = {"options", "mean", "abstain", "invalid"}


def _leaks_choices(view: dict[str, Any], group: str) -> bool:
    return bool(CHOICE_KEYS & set(view["groups"][group]))


def test_live_view_guards_a_small_group_and_withholds_the_total() -> None:
    t = _tally(["满意", "不满意"], ["满意", "满意", "基本满意"])
    for host in (True, False):
        v = tally_view(t, LIVE, host=host, phase="voting", revealed=True)
        assert v is not None and v["view"] == "live"
        assert v["groups"]["panel"] == {"label": "评议团", "count": 2, "guarded": True}
        assert v["groups"]["public"]["options"] == {"满意": 2, "基本满意": 1, "不满意": 0}
        # The public group's mean and the total together would give the panel's mean away.
        assert v["result"] is None and v["guarded"] == ["panel"]
    t3 = _tally(["满意", "不满意", "满意"], ["满意", "满意", "基本满意"])
    v3 = tally_view(t3, LIVE, host=False, phase="voting", revealed=True)
    assert v3 is not None and v3["result"] == t3["result"] and v3["guarded"] == []
    assert v3["groups"]["panel"]["options"]["不满意"] == 1


def test_counts_view_carries_no_choice_for_anyone_while_voting() -> None:
    t = _tally(["满意"] * 5, ["不满意"] * 7)
    for settings, host in ((COUNTS, False), (COUNTS, True), (HIDDEN, True)):
        v = tally_view(t, settings, host=host, phase="voting", revealed=False)
        assert v is not None and v["view"] == "counts" and v["result"] is None and v["total"] == 12
        assert v["groups"] == {"panel": {"label": "评议团", "count": 5}, "public": {"label": "群众", "count": 7}}
    assert tally_view(t, HIDDEN, host=False, phase="voting", revealed=False) is None


def test_after_close_the_host_sees_everything_and_others_the_public_result() -> None:
    t = _tally(["满意", "不满意"], ["满意"] * 4)
    full = tally_view(t, HIDDEN, host=True, phase="done", revealed=False)
    assert full is not None and full["view"] == "full" and full["result"] == t["result"]
    assert tally_view(t, HIDDEN, host=False, phase="done", revealed=False) is None
    final = tally_view(t, HIDDEN, host=False, phase="done", revealed=True)
    assert final is not None and final["view"] == "final"
    # A tiny group in the final result: the total and grade stay, no group's split or mean is shown.
    assert final["result"]["total_display"] == t["result"]["total_display"]
    assert final["result"]["grade"] == t["result"]["grade"]
    for g in final["result"]["groups"]:
        assert "mean" not in g and "options" not in g and "score_sum" not in g
    assert [g["guarded"] for g in final["result"]["groups"]] == [True, False]
    assert not _leaks_choices(final, "panel") and not _leaks_choices(final, "public")
    big = _tally(["满意"] * 3, ["满意"] * 4)
    assert public_result(big["result"], 3) == {**big["result"], "guarded": []}


def test_settings_are_checked() -> None:
    assert check_visibility("counts", 5) == VisibilitySettings(Visibility.COUNTS, 5)
    for mode, k in (("secret", 3), ("live", 0), ("live", 51), ("live", True), (None, 3)):
        with pytest.raises(VisibilityError):
            check_visibility(mode, k)


def test_batcher_waits_for_enough_ballots_and_the_interval() -> None:
    b = TallyBatcher(interval_s=2.0, min_ballots=5, catchup_s=10.0)
    assert not b.due(0.0)
    b.note(4, 0.0)
    assert not b.due(1.0)  # four taps: a change on screen could be matched to them
    b.note(1, 1.5)
    assert b.due(1.5)
    b.sent(1.5)
    b.note(9, 2.0)
    assert not b.due(3.0)  # enough ballots, but the last update was 1.5 s ago
    assert b.due(3.5)
    b.sent(3.5)
    b.note(1, 4.0)  # a lone straggler waits for the catch-up
    assert not b.due(13.9) and b.due(14.0)
    b.sent(14.0)
    assert not b.due(100.0)  # nothing new: nothing to send


def _runtime(mode: str = "live") -> MeetingRuntime:
    state = {"meeting": {"code": "ABCDEF", "status": "live", "scheme": satisfaction_scheme().to_dict(),
                         "visibility": {"mode": mode, "small_group_k": 3}},
             "items": [{"id": 1, "phase": "voting", "result_hidden": False}], "panel": []}
    return MeetingRuntime(1, 0, state, {}, TallyBatching(interval_s=2.0, min_ballots=5, catchup_s=10.0))


def _cast(rt: MeetingRuntime, first: int, n: int, now: float) -> None:
    rt.apply_ballots([[1, f"b-{k:08d}", "public", {"option": "满意"}] for k in range(first, first + n)], now=now)


def _public(updates: list[tuple[int, str | None, str | None]]) -> list[dict[str, Any]]:
    return [orjson.loads(p)["tally"] for _, _, p in updates if p]


def test_runtime_batches_public_tallies_and_flushes_on_close() -> None:
    rt = _runtime()
    _cast(rt, 0, 3, now=0.0)
    first = rt.take_tally_updates(now=0.1)
    assert [h is not None for _, h, _ in first] == [True] and _public(first) == []  # the host at once
    _cast(rt, 3, 2, now=0.5)
    assert [t["total"] for t in _public(rt.take_tally_updates(now=0.6))] == [5]
    _cast(rt, 5, 1, now=1.0)
    assert _public(rt.take_tally_updates(now=1.1)) == []
    assert _public(rt.take_tally_updates(now=5.0)) == []  # a lone ballot waits for the catch-up
    assert rt.tallies_for_join(host=False) == [rt._public_sent[1]]  # a new screen: the last batch
    assert orjson.loads(rt.tallies_for_join(host=True)[0])["tally"]["total"] == 6
    # Closing sends the rest at once, past the batching: the last tally is the result.
    done = {"type": "item.updated", "seq": 1, "item": {"id": 1, "phase": "done", "result_hidden": False}}
    rt.accept(SeqEvent(1, 1, done, orjson.dumps(done).decode()))
    (final,) = _public(rt.take_tally_updates(now=5.1))
    assert final["view"] == "final" and final["total"] == 6
    assert final["result"] == {**rt.tally(1)["result"], "guarded": []}
    assert _public(rt.take_tally_updates(now=20.0)) == []


def test_runtime_catch_up_and_hidden_mode() -> None:
    rt = _runtime()
    _cast(rt, 0, 1, now=0.0)
    assert _public(rt.take_tally_updates(now=9.9)) == []
    (late,) = _public(rt.take_tally_updates(now=10.0))
    assert late["total"] == 1 and late["groups"]["public"]["guarded"] is True
    hidden = _runtime("hidden")
    _cast(hidden, 0, 7, now=0.0)
    updates = hidden.take_tally_updates(now=0.1)
    assert _public(updates) == [] and hidden.tallies_for_join(host=False) == []
    assert orjson.loads(updates[0][1] or "")["tally"]["view"] == "counts"


# --- on the wire -------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'test.db'}", secret_key="test-secret-key",
                    data_dir=tmp_path, sqlite_synchronous="NORMAL", tick_s=0.05,
                    tally_interval_s=0.3, tally_min_ballots=5, tally_catchup_s=1.0)


def _host(client: TestClient, seed: Seed) -> Conn:
    login(client, seed)
    return Conn(open_ws(client, f"/ws/{seed.code}?role=host"))


def _screen(client: TestClient, seed: Seed) -> Conn:
    return Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))


def _panel(client: TestClient, seed: Seed, n: int) -> Conn:
    return Conn(open_ws(client, panel_ws(client, seed, n)))


def _phone(client: TestClient, seed: Seed, n: int) -> Conn:
    cookie = seed.device_cookie(f"device-vis-{n:04d}")
    return Conn(open_ws(client, f"/ws/{seed.code}?role=audience", headers={"cookie": f"live_dev={cookie}"}))


def _to_voting(h: Conn) -> int:
    first = item_ids(h)[0]
    assert h.cmd("meeting.start")["type"] == "ack"
    assert h.cmd("item.open", item_id=first)["phase"] == "report"
    for expected in ("inquiry", "comment", "voting"):
        assert h.cmd("item.advance", item_id=first)["phase"] == expected
    return first


def _vote(conn: Conn, item: int, n: int, option: str) -> None:
    ack = conn.cmd("vote", item_id=item, ballot_id=f"vis-ballot-{n:04d}", choice={"option": option})
    assert ack["type"] == "ack", ack


def _drain(conn: Conn) -> list[dict[str, Any]]:
    """Everything the socket was sent so far (a ping's ack comes after all of it)."""
    conn.cmd("ping")
    return [m for m in conn.seen]


def _tallies(conn: Conn) -> list[dict[str, Any]]:
    return [m["tally"] for m in _drain(conn) if m["type"] == "tally"]


def _close(h: Conn, item: int) -> None:
    assert h.cmd("item.advance", item_id=item, **{"from": "voting"})["phase"] == "done"


def test_live_mode_guards_small_groups_on_every_socket(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    screen, tablet = _screen(client, seed), _panel(client, seed, 0)
    phones = [_phone(client, seed, n) for n in range(5)]
    item = _to_voting(h)
    _vote(tablet, item, 0, "不满意")
    _vote(_panel(client, seed, 1), item, 1, "满意")
    for n, p in enumerate(phones):
        _vote(p, item, 10 + n, "满意" if n % 2 else "基本满意")
    for conn in (h, screen, tablet, phones[0]):
        conn.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 7)
        seen = _tallies(conn)
        for t in seen:
            # Two panel ballots: never a split, a mean or a total while voting, not even for the host.
            assert set(t["groups"]["panel"]) == {"label", "count", "guarded"}
            assert t["result"] is None
        assert seen[-1]["groups"]["public"]["options"] == {"满意": 2, "基本满意": 3, "不满意": 0}
    _close(h, item)
    full = h.expect(lambda m: m["type"] == "tally" and m["tally"]["view"] == "full")["tally"]
    assert full["groups"]["panel"]["options"] == {"满意": 1, "基本满意": 0, "不满意": 1}
    done = screen.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "done")["item"]
    final = screen.expect(lambda m: m["type"] == "tally" and m["tally"]["view"] == "final")["tally"]
    # The last tally on screen is the result as frozen, in its public form.
    assert final["result"] == done["result"]
    assert done["result"]["total_display"] == full["result"]["total_display"]
    assert done["result"]["guarded"] == ["panel"]
    assert all("mean" not in g and "options" not in g for g in done["result"]["groups"])


def test_counts_mode_sends_counts_only_while_voting(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    assert h.cmd("meeting.visibility", mode="counts")["visibility"]["mode"] == "counts"
    screen, tablet = _screen(client, seed), _panel(client, seed, 0)
    item = _to_voting(h)
    for n in range(3):
        _vote(_panel(client, seed, n), item, n, "满意")
    for n in range(4):
        _vote(_phone(client, seed, n), item, 10 + n, "不满意")
    for conn in (h, screen, tablet):
        conn.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 7)  # the last one by catch-up
        seen = _tallies(conn)
        for t in seen:
            assert t["view"] == "counts" and t["result"] is None
            assert all(set(g) == {"label", "count"} for g in t["groups"].values())
    _close(h, item)
    final = screen.expect(lambda m: m["type"] == "tally" and m["tally"]["view"] == "final")["tally"]
    assert final["groups"]["public"]["options"]["不满意"] == 4


def test_hidden_mode_shows_nothing_until_the_host_reveals(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    assert h.cmd("meeting.visibility", mode="hidden", small_group_k=2)["visibility"]["small_group_k"] == 2
    screen, tablet, phone = _screen(client, seed), _panel(client, seed, 0), _phone(client, seed, 0)
    item = _to_voting(h)
    _vote(tablet, item, 0, "满意")
    _vote(_panel(client, seed, 1), item, 1, "不满意")
    for n in range(4):
        _vote(_phone(client, seed, 10 + n), item, 10 + n, "满意")
    h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 6)
    assert h.cmd("item.reveal", item_id=item)["code"] == "not_frozen"
    time.sleep(0.6)
    assert all(t["view"] == "counts" for t in _tallies(h))
    _close(h, item)
    full = h.expect(lambda m: m["type"] == "tally" and m["tally"]["view"] == "full")["tally"]
    for conn in (screen, tablet, phone):
        done = conn.expect(lambda m: m["type"] == "item.updated" and m["item"]["phase"] == "done")["item"]
        assert done["result"] is None and done["result_hidden"] is True
        assert _tallies(conn) == []
        assert all(r["rank"] is None and r["total"] is None for r in conn.state["meeting"]["ranking"])
    # A screen that connects now gets nothing either, in its snapshot or after it.
    late = _screen(client, seed)
    assert late.item(item)["result"] is None and _tallies(late) == []
    assert h.cmd("item.reveal", item_id=item)["revealed"] is True
    assert h.cmd("item.reveal", item_id=item)["code"] == "no_change"
    for conn in (screen, late):
        shown = conn.expect(lambda m: m["type"] == "item.updated" and m["item"]["result"] is not None)["item"]
        assert shown["result"]["total_display"] == full["result"]["total_display"]
        final = conn.expect(lambda m: m["type"] == "tally" and m["tally"]["view"] == "final")["tally"]
        assert final["result"] == shown["result"]
        assert conn.state["meeting"]["ranking"][0]["item_id"] == item
        assert conn.state["meeting"]["ranking"][0]["total"] == full["result"]["total_display"]


def test_visibility_is_for_the_host_and_locked_once_voting_began(client: TestClient, seed: Seed) -> None:
    screen = _screen(client, seed)
    assert screen.cmd("meeting.visibility", mode="live")["code"] == "forbidden"
    assert _panel(client, seed, 0).cmd("item.reveal", item_id=1)["code"] == "forbidden"
    h = _host(client, seed)
    assert h.cmd("meeting.visibility", mode="nothing")["code"] == "invalid"
    assert h.cmd("meeting.visibility", mode="live", small_group_k=0)["code"] == "invalid"
    assert h.cmd("meeting.visibility", mode="counts")["type"] == "ack"
    assert h.state["meeting"]["visibility"] == {"mode": "counts", "label": "投票中仅显示票数", "small_group_k": 3}
    _to_voting(h)
    err = h.cmd("meeting.visibility", mode="live")
    assert err["code"] == "visibility_locked" and "不能再修改" in err["message"]
    assert h.state["meeting"]["visibility"]["mode"] == "counts"


def test_public_tallies_go_out_in_coarse_batches(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    screen = _screen(client, seed)
    item = _to_voting(h)
    phones = [_phone(client, seed, n) for n in range(7)]
    for n in range(3):
        _vote(phones[n], item, n, "满意")
    h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 3)  # the host at once
    time.sleep(0.5)  # past the interval, short of the catch-up: three taps stay off the screen
    assert _tallies(screen) == []
    for n in range(3, 5):
        _vote(phones[n], item, n, "不满意")
    first = screen.expect(lambda m: m["type"] == "tally")["tally"]
    assert first["total"] == 5
    _vote(phones[5], item, 5, "满意")
    start = time.monotonic()
    caught = screen.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 6)["tally"]
    assert time.monotonic() - start >= 0.6  # the straggler waited for the catch-up (1 s)
    assert caught["groups"]["public"]["count"] == 6
    # A socket that connects now gets the last batch, never a fresher tally.
    _vote(phones[6], item, 6, "满意")
    h.expect(lambda m: m["type"] == "tally" and m["tally"]["total"] == 7)
    fresh = _screen(client, seed)
    assert [t["total"] for t in _tallies(fresh)] == [6]
    _close(h, item)
    final = fresh.expect(lambda m: m["type"] == "tally" and m["tally"]["view"] == "final")["tally"]
    assert final["total"] == 7


def test_the_host_sees_who_voted_never_how(client: TestClient, seed: Seed) -> None:
    h = _host(client, seed)
    screen = _screen(client, seed)
    item = _to_voting(h)
    _vote(_panel(client, seed, 0), item, 0, "不满意")
    _vote(_panel(client, seed, 3), item, 3, "满意")
    _vote(_phone(client, seed, 0), item, 10, "满意")
    view = h.expect(lambda m: m["type"] == "participation" and m["voted"] == 2
                    and m["groups"]["public"]["count"] == 1)
    assert view["panel_total"] == 9 and view["groups"]["panel"]["count"] == 2
    voted = [m["name"] for m in view["members"] if m["voted"]]
    assert len(voted) == 2 and len(view["members"]) == 9
    assert "满意" not in str(view) and "option" not in str(view)
    assert not [m for m in _drain(screen) if m["type"] == "participation"]
    r = client.get(f"/api/meetings/{seed.code}/items/{item}/participation")
    assert r.status_code == 200 and r.json()["voted"] == 2
    client.cookies.clear()
    assert client.get(f"/api/meetings/{seed.code}/items/{item}/participation").status_code == 401


def test_meeting_file_sets_visibility(client: TestClient, settings: Settings) -> None:
    other = seed_meeting(settings, {**DEMO, "visibility": "hidden", "small_group_k": 4})
    screen = Conn(open_ws(client, f"/ws/{other.code}?role=screen"))
    assert screen.state["meeting"]["visibility"] == {"mode": "hidden", "label": "结果待主持人揭晓",
                                                     "small_group_k": 4}
    with pytest.raises(SpecError, match="结果显示方式"):
        seed_meeting(settings, {**DEMO, "visibility": "sometimes"})
