"""The one error type: every code the server can send is in ErrorCode and documented,
and the HTTP handler and the socket render it the same way."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from live.domain.errors import ErrorCode, LiveError
from live.domain.phases import PhaseError
from live.realtime.frames import error_frame
from live.store.writer import CommandRefused
from live.web.auth import TokenError
from live.web.errors import error_response
from live.web.messages import BadMessage

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")

# The ways a code is written at a raise or reply site in live/.
_SITES = [
    re.compile(r'\bcode\s*=\s*"([a-z_]+)"'),  # code="closed"
    re.compile(r'"code":\s*"([a-z_]+)"'),  # {"code": "revoked"}
    re.compile(r'default_code\s*=\s*"([a-z_]+)"'),
    re.compile(r'(?:Error|Refused|BadMessage|TokenError)\((?:f?"[^"]*"|[^,()"]+), "([a-z_]+)"'),  # LiveError(msg, "x")
    re.compile(r'\berror\((?:None|[a-z_.]+), "([a-z_]+)"'),  # frames.error(msg_id, "x")
    re.compile(r'BallotOutcome\(False, "error", "([a-z_]+)"'),
    re.compile(r'\b_error\("([a-z_]+)"'),  # live.store.ballots
    re.compile(r'CommandRefused\("([a-z_]+)"'),  # the writer's (code, message) order
]


def _codes_in_source() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "live").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in _SITES:
            for code in pattern.findall(text):
                found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return found


def _error_section() -> str:
    start = DOC.index("### `error`")
    return DOC[start:DOC.index("\n## ", start)]


def test_the_scan_sees_the_usual_sites() -> None:
    found = _codes_in_source()
    assert {"closed", "revoked", "already_voted", "illegal_transition", "not_found"} <= set(found)


def test_every_code_raised_in_live_is_in_the_enum() -> None:
    known = {c.value for c in ErrorCode}
    unknown = {code: sorted(where) for code, where in _codes_in_source().items() if code not in known}
    assert not unknown, f"codes used but not in ErrorCode: {unknown}"


@pytest.mark.parametrize("code", sorted(ErrorCode))
def test_every_code_is_documented(code: ErrorCode) -> None:
    assert f"`{code.value}`" in _error_section(), f"docs/protocol.md's error section does not list {code.value}"


@pytest.mark.parametrize("code", sorted(ErrorCode))
def test_every_code_has_a_chinese_default(code: ErrorCode) -> None:
    assert re.search(r"[\u4e00-\u9fff]", code.default_message)
    assert 400 <= code.default_status < 600


def test_an_unknown_code_is_refused_at_once() -> None:
    with pytest.raises(ValueError):
        LiveError("x", "no_such_code")


def test_the_old_names_are_the_one_type() -> None:
    assert CommandRefused("conflict", "冲突").code == "conflict"  # the writer's old argument order
    assert CommandRefused.of(PhaseError("不行", code="closed")).code == "closed"
    for cls in (PhaseError, TokenError, BadMessage, CommandRefused):
        assert issubclass(cls, LiveError)
    assert TokenError("x").status == 401 and TokenError("x").code == "bad_token"
    assert PhaseError("x").code == "illegal_transition"


def test_one_shape_on_the_socket_and_over_http() -> None:
    err = LiveError("已投票", ErrorCode.ALREADY_VOTED, ballot_id="b-12345678", choice={"option": "满意"})
    frame = orjson.loads(error_frame(err, "c-1"))
    assert frame == {"type": "error", "id": "c-1", "code": "already_voted", "message": "已投票",
                     "ballot_id": "b-12345678", "choice": {"option": "满意"}}
    resp = error_response(LiveError("没有该页", ErrorCode.NOT_FOUND))
    assert resp.status_code == 404
    assert orjson.loads(resp.body) == {"error": {"code": "not_found", "message": "没有该页"}}
    # An id the error carries (read from a broken frame) wins over none.
    assert orjson.loads(error_frame(BadMessage("x", msg_id="r1")))["id"] == "r1"
    assert orjson.loads(error_frame(LiveError(code=ErrorCode.INTERNAL)))["message"] == "服务器内部错误，请重试"
