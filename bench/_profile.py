"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): the functions where
the samples are (self time) and the functions under which they are (inclusive time).

    python bench/_profile.py artifacts/profile/fanout.txt [--top 25] [--thread MainThread]

A helper, not a benchmark: with ``--smoke`` or no file it exits 0 at once.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def frame_name(frame: str) -> str:
    """``fn (path/file.py:123)`` -> ``fn (path/file.py)``: lines of one function count together."""
    return _LINE.sub(")", frame.strip())


# Where a sample belongs, by the first of these found in its stack (innermost frames win
# over outer ones only through this order): the table in docs/performance.md.
GROUPS = (
    ("writer thread (ballots, commands)", ("Writer._run",)),
    ("own ballots on join (batched reads)", ("OwnBallots._read",)),
    ("moderation view for the host", ("moderation_wire",)),
    ("live tallies (scoring)", ("tally_wire", "take_tally_updates")),
    ("send chain (push -> starlette -> uvicorn -> transport)", ("Client._send_now", "Client.push",
                                                                "WebSocketsSansIOProtocol.send (")),
    ("handshake and HTTP parsing (uvicorn, websockets)", ("handle_connect", "HttpToolsProtocol",
                                                          "WebSocketsSansIOProtocol.data_received")),
    ("socket handling (auth, welcome, messages)", ("websocket_endpoint", "Hub.join")),
    ("keepalive pings", ("send_keepalive_ping",)),
)


def grouped(path: Path) -> str:
    """Busy samples by ``GROUPS``; what matches none is the event loop itself, GC and the rest."""
    counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        if frames and frames[-1].startswith(("_worker (concurrent", "select (", "wait (threading")):
            continue
        total += int(count)
        name = next((g for g, keys in GROUPS if any(k in f for f in frames for k in keys)),
                    "event loop, GC, other")
        counts[name] += int(count)
    rows = [f"{path.stem}: {total} busy samples"]
    rows += [f"  {100 * n / max(total, 1):5.1f}%  {g}" for g, n in counts.most_common()]
    return "\n".join(rows)


def summarise(path: Path, top: int = 25, idle: bool = False) -> str:
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";")]
        if not idle and frames and frames[-1].startswith(("_worker (concurrent", "select (", "wait (threading")):
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    out = [f"{path.name}: {total} samples"]
    out.append("  self:")
    out += [f"    {100 * n / max(total, 1):5.1f}%  {f}" for f, n in own.most_common(top)]
    out.append("  inclusive:")
    out += [f"    {100 * n / max(total, 1):5.1f}%  {f}" for f, n in incl.most_common(top)]
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--groups", action="store_true", help="only the share of each part of the server")
    p.add_argument("--smoke", action="store_true", help="ignored: this is a helper, not a benchmark")
    args = p.parse_args()
    for f in args.files:
        print(grouped(f) if args.groups else summarise(f, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
