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
    p.add_argument("--smoke", action="store_true", help="ignored: this is a helper, not a benchmark")
    args = p.parse_args()
    for f in args.files:
        print(summarise(f, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
