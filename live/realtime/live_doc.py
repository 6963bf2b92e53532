"""``live.json``: the public state of a meeting as one document a CDN can cache, for
viewers who only watch and hold no socket.

It is exactly what a screen socket (no login, no device) receives on joining: the
snapshot at ``seq``, the last public tally batch of each item (already cut by the
meeting's visibility mode and the small-group guard in ``MeetingRuntime``; never the
host's view) and the like count. Nothing a device, a voter or the host owns is in it.

A worker builds the document once per change of (seq, public tallies, likes) and keeps
it, plain and gzipped, with an ETag each; requests in between only compare that key.
The body is spliced from wires the runtime already encoded (the snapshot wire is built
once per seq), so a build is a concatenation, a hash and a gzip.

Staleness, worst case (docs/protocol.md, *live.json*): a change is in this worker's
document as soon as the worker applied the event; a CDN may serve a copy for
``S_MAXAGE_S`` and then, while it revalidates, for ``STALE_WHILE_REVALIDATE_S`` more;
a browser keeps its copy ``MAX_AGE_S``; a watcher polls every ``POLL_S``.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from live.realtime.runtime import MeetingRuntime

MAX_AGE_S = 1  # a browser's own copy
S_MAXAGE_S = 2  # a shared cache's (the CDN's) copy
STALE_WHILE_REVALIDATE_S = 3  # served stale while the CDN fetches a new one
POLL_S = 3  # how often the watch-only page asks
WORST_STALENESS_S = S_MAXAGE_S + STALE_WHILE_REVALIDATE_S + MAX_AGE_S + POLL_S
CACHE_CONTROL = (f"public, max-age={MAX_AGE_S}, s-maxage={S_MAXAGE_S}, "
                 f"stale-while-revalidate={STALE_WHILE_REVALIDATE_S}")


@dataclass(frozen=True, slots=True)
class LiveDoc:
    key: tuple[Any, ...]
    seq: int
    body: bytes
    gzipped: bytes
    etag: str  # of ``body``
    etag_gzip: str  # of ``gzipped``: another representation, another strong tag

    def matches(self, if_none_match: str | None) -> bool:
        """Whether an ``If-None-Match`` header names this document (either encoding; a
        proxy that gzips turns the tag weak, so ``W/`` is ignored as the weak comparison says)."""
        if not if_none_match:
            return False
        for tag in if_none_match.split(","):
            tag = tag.strip()
            if tag == "*":
                return True
            if tag.startswith("W/"):
                tag = tag[2:]
            if tag in (self.etag, self.etag_gzip):
                return True
        return False


class LiveDocs:
    """The newest ``live.json`` of each meeting this worker serves."""

    def __init__(self) -> None:
        self._docs: dict[int, LiveDoc] = {}
        self.builds = 0  # documents built (tests and /metrics-style checks read it)

    def doc(self, rt: MeetingRuntime, likes: int, now_ms: int | None = None) -> LiveDoc:
        tallies = rt.tallies_for_join(host=False)
        key = (rt.seq, tuple(tallies), likes)
        cur = self._docs.get(rt.meeting_id)
        if cur is not None and cur.key == key:
            return cur
        built = _build(rt, key, tallies, likes, int(time.time() * 1000) if now_ms is None else now_ms)
        self._docs[rt.meeting_id] = built
        self.builds += 1
        return built


def _build(rt: MeetingRuntime, key: tuple[Any, ...], tallies: list[str], likes: int, now_ms: int) -> LiveDoc:
    seq = int(key[0])
    head = (f'{{"type":"live","seq":{seq},"generated_ms":{now_ms},"poll_s":{POLL_S},'
            f'"max_staleness_s":{WORST_STALENESS_S},"likes":{int(likes)},"snapshot":')
    body = "".join((head, rt.snapshot_wire(), ',"tallies":[', ",".join(tallies), "]}")).encode()
    digest = hashlib.blake2b(body, digest_size=9).hexdigest()
    gzipped = gzip.compress(body, compresslevel=6, mtime=0)
    return LiveDoc(key, seq, body, gzipped, f'"{seq}-{digest}"', f'"{seq}-{digest}-gz"')
