"""The protocol document covers everything the server can send and accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from live.web import messages

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def server_sent_types() -> set[str]:
    """Every ``"type": "..."`` literal in the server code (client types live in messages.py)."""
    found: set[str] = set()
    for path in (ROOT / "live").rglob("*.py"):
        if path.name == "messages.py":
            continue
        found |= set(re.findall(r'"type":\s*"([a-z_.]+)"', path.read_text(encoding="utf-8")))
    return found


def test_scan_finds_the_core_types() -> None:
    assert {"welcome", "snapshot", "ack", "error", "tally", "item.updated"} <= server_sent_types()


@pytest.mark.parametrize("mtype", sorted(server_sent_types()))
def test_every_server_message_type_is_documented(mtype: str) -> None:
    assert f"### `{mtype}`" in DOC, f"docs/protocol.md has no section for {mtype}"


@pytest.mark.parametrize("mtype", sorted(messages.KNOWN_TYPES))
def test_every_client_message_type_is_documented(mtype: str) -> None:
    assert re.search(rf"^\| `{re.escape(mtype)}` \|", DOC, re.M), f"docs/protocol.md does not list {mtype}"


def test_host_types_are_refused_to_others_by_name() -> None:
    assert messages.HOST_TYPES <= messages.KNOWN_TYPES
    assert "vote" not in messages.HOST_TYPES and "ping" not in messages.HOST_TYPES
