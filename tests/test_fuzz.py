"""Hostile frames for every message type and every role, over a real app socket.

Hypothesis builds frames from each command model's own fields, with values that are
valid-ish (real item ids, real options) or hostile (wrong types, bools for ints, huge and
deep values, control and bidi characters, unknown fields, broken ids and types), plus raw
text that is not JSON at all. After each frame the socket gets a ``ping`` and the test reads
up to its ``ack``: no reply in between may be ``internal``, the socket must stay open, and
no traceback may reach the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.testclient import WebSocketTestSession as Ws

from conftest import Seed, close_sockets, login, open_ws, panel_ws, recv_until, seed_meeting
from live.config import Settings
from live.web import messages
from live.web.app import create_app

ROLES = ("host", "panel", "audience", "screen", "presenter", "recorder")

_WORDS = ["", " ", "\x00", "\u202e", "\u200b", "\ud7ff", "满意", "基本满意", "不满意", "pending", "report",
          "voting", "done", "extend", "set", "pause", "show", "hold", "upvotes", "manual", "某某词",
          "=cmd|' /C calc'!A0", "<script>", "a" * 64, "a" * 65, "述" * 120]
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.integers(min_value=-2, max_value=12) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=40) | st.sampled_from(_WORDS))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8) | st.sampled_from(["option", "scores", "abstain"]),
                                             inner, max_size=4), max_leaves=16)


def _nested(depth: int) -> Any:
    value: Any = 1
    for n in range(depth):
        value = [value] if n % 2 else {"option": value}
    return value


deep = st.integers(min_value=6, max_value=40).map(_nested)
huge = st.sampled_from(["x" * 5000, "述" * 1500, list(range(600)), {str(n): n for n in range(300)}])

# Values that pass validation often enough to reach the domain code.
_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "item_id": st.integers(min_value=0, max_value=8),
    "question_id": st.integers(min_value=0, max_value=8),
    "comment_id": st.integers(min_value=0, max_value=8),
    "ban_id": st.integers(min_value=0, max_value=4),
    "page": st.integers(min_value=0, max_value=40),
    "seconds": st.integers(min_value=-1, max_value=14401),
    "count": st.integers(min_value=0, max_value=11),
    "ballot_id": st.text(alphabet="abcdef0123456789-_", min_size=6, max_size=42),
    "choice": st.sampled_from([{"option": "满意"}, {"option": "不满意"}, {"abstain": True}, {"scores": {"a": 1}},
                               {"option": "满意", "abstain": True}, {}]),
    "words": st.lists(st.sampled_from(_WORDS) | st.text(max_size=8), max_size=4),
    "ids": st.lists(st.integers(min_value=-1, max_value=9), max_size=5),
    "durations": st.dictionaries(st.sampled_from(["report", "inquiry", "comment", "voting", "x"]),
                                 st.integers(min_value=-1, max_value=20000) | st.booleans(), max_size=4),
    "url": st.sampled_from([None, "https://live.example.cn/a.m3u8", "javascript:alert(1)", "http://", "x" * 600]),
    "from": st.sampled_from(["pending", "report", "inquiry", "comment", "voting", "done", "x", None]),
    "on": st.booleans() | scalars,
}


def _field_value(name: str) -> st.SearchStrategy[Any]:
    plausible = _PLAUSIBLE.get(name, st.sampled_from(_WORDS) | st.text(max_size=30))
    return st.one_of(plausible, plausible, json_values, deep, huge)


def _fields(model: type[messages._Msg]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items() if n not in ("id", "type")]


@st.composite
def frames(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["command", "command", "command", "command", "raw", "envelope"]))
    if kind == "raw":
        return draw(st.text(max_size=300) | st.sampled_from(["[]", "null", "1", '"x"', "{", "[" * 2000, "{}"]))
    mtype = draw(st.sampled_from(sorted(messages.MODELS)))
    frame: dict[str, Any] = {"id": "f", "type": mtype}
    for name in _fields(messages.MODELS[mtype]):
        if draw(st.integers(0, 4)):  # mostly present
            frame[name] = draw(_field_value(name))
    if kind == "envelope":  # break the envelope itself
        frame["id"] = draw(st.sampled_from([None, 5, True, "", "x" * 65, ["f"], "f"]))
        frame["type"] = draw(st.sampled_from([mtype, ["ping"], None, 1, "", "x" * 500, {"t": mtype}]))
        if draw(st.booleans()):
            frame[draw(st.text(max_size=8))] = draw(json_values)
    # json, not orjson: it writes integers beyond 64 bits and NaN, which the server must refuse well.
    return json.dumps(frame, ensure_ascii=draw(st.booleans()))


@pytest.fixture
def fuzz_settings(settings: Settings) -> Settings:
    # The socket's own message budget would otherwise answer most frames with rate_limited.
    return replace(settings, socket_rate=1e6, socket_burst=1e6)


@pytest.fixture
def sockets(fuzz_settings: Settings) -> Iterator[dict[str, Ws]]:
    seed: Seed = seed_meeting(fuzz_settings)
    with TestClient(create_app(fuzz_settings)) as client:
        login(client, seed)
        phone = {"cookie": f"live_dev={seed.device_cookie('device-fuzz-0001')}"}
        out = {
            "host": open_ws(client, f"/ws/{seed.code}?role=host"),
            "panel": open_ws(client, panel_ws(client, seed, 0)),
            "audience": open_ws(client, f"/ws/{seed.code}?role=audience", headers=phone),
            "screen": open_ws(client, f"/ws/{seed.code}?role=screen"),
            "presenter": open_ws(client, f"/ws/{seed.code}?role=presenter"),
            "recorder": open_ws(client, f"/ws/{seed.code}?role=recorder"),
        }
        # A meeting under way, its first item in 测评, so votes and questions reach the domain code.
        host = out["host"]
        for n, (t, extra) in enumerate([("meeting.start", {}), ("comment.mode", {"mode": "show"}),
                                        ("item.open", {"item_id": 1}), ("item.advance", {"item_id": 1}),
                                        ("item.advance", {"item_id": 1}), ("item.advance", {"item_id": 1})]):
            host.send_text(orjson.dumps({"id": f"set-{n}", "type": t, **extra}).decode())
            got = recv_until(host, lambda m, n=n: m.get("id") == f"set-{n}" and m["type"] in ("ack", "error"))
            assert got["type"] == "ack", got
        try:
            yield out
        finally:
            close_sockets()


_counter = iter(range(10**9))


def _exchange(ws: Ws, raw: str) -> list[dict[str, Any]]:
    """Send ``raw``, then a ping; the error replies that came before the ping's ack."""
    ws.send_text(raw)
    marker = f"sync-{next(_counter)}"
    ws.send_text(orjson.dumps({"id": marker, "type": "ping"}).decode())
    errors: list[dict[str, Any]] = []
    for _ in range(2000):
        msg = ws.receive_json()
        if msg.get("id") == marker and msg["type"] == "ack":
            return errors
        if msg["type"] == "error":
            errors.append(msg)
    raise AssertionError("no ack for the ping after a fuzzed frame")


@pytest.mark.parametrize("role", ROLES)
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=frames())
def test_no_frame_yields_internal_or_a_traceback(role: str, raw: str, sockets: dict[str, Ws],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    errors = _exchange(sockets[role], raw)
    assert all(e["code"] != "internal" for e in errors), (raw[:300], errors)
    for e in errors:
        assert isinstance(e["message"], str) and e["message"]
        assert e["id"] is None or isinstance(e["id"], str)
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
