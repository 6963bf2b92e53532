"""Per-minute samples of one worker's share of a live meeting: sockets online and likes taken.

The hub's ticker calls :meth:`MinuteSampler.take` for each meeting a few times a second;
it returns a sample once a wall-clock minute has ended (or the meeting has left the
``live`` state), which the caller hands to the writer (``interaction.sample``). No I/O
here. How the workers' samples add up is described in live.store.samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MINUTE_MS = 60_000


@dataclass
class _OpenMinute:
    minute_ms: int
    likes: int = 0


class MinuteSampler:
    def __init__(self, worker: str) -> None:
        self.worker = worker
        self._open: dict[int, _OpenMinute] = {}

    def like(self, meeting_id: int, n: int) -> None:
        """Likes taken by this worker; counted in the minute that is open (only while live)."""
        minute = self._open.get(meeting_id)
        if minute is not None and n > 0:
            minute.likes += n

    def take(self, meeting_id: int, status: str, presence: Mapping[str, Any], now_ms: int) -> dict[str, Any] | None:
        """Close the open minute when the clock has passed it or the meeting is no longer live,
        and open the current one while it is live. Returns the closed minute's sample, or None
        (nothing closed, or nothing to report: no socket here and no like)."""
        current = now_ms - now_ms % MINUTE_MS
        live = status == "live"
        minute = self._open.get(meeting_id)
        sample = None
        if minute is not None and (minute.minute_ms != current or not live):
            sample = self._sample(minute, presence)
            del self._open[meeting_id]
        if live and meeting_id not in self._open:
            self._open[meeting_id] = _OpenMinute(current)
        return sample

    def drain(self, presences: Mapping[int, Mapping[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
        """At shutdown: every open minute as it stands, by meeting."""
        out = []
        for meeting_id, minute in sorted(self._open.items()):
            sample = self._sample(minute, presences.get(meeting_id, {}))
            if sample is not None:
                out.append((meeting_id, sample))
        self._open.clear()
        return out

    def _sample(self, minute: _OpenMinute, presence: Mapping[str, Any]) -> dict[str, Any] | None:
        counts = {"audience": int(presence.get("audience", 0)), "screens": int(presence.get("screen", 0)),
                  "panel": int(presence.get("panel", 0)), "hosts": int(presence.get("host", 0))}
        if not any(counts.values()) and not minute.likes:
            return None  # adds nothing to the sums
        return {"worker": self.worker, "minute_ms": minute.minute_ms, **counts, "likes": minute.likes}
