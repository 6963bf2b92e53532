"""Admission control: one worker holds at most ``cap`` sockets, below its file limit.

Every open socket is a file descriptor. A hall's phones that come back after a Wi-Fi blip
arrive while the server still holds their old, silent sockets (closed by the keepalive within
``WS_PING_INTERVAL_S + WS_PING_TIMEOUT_S``); without a cap the worker would run out of files,
and then every accept fails, the host console's and the screens' included. Past the cap a new
socket is accepted, told ``server_full`` with a retry hint, and closed with ``FULL_CLOSE``; the
phone waits the hint plus jitter (frontend/shared/client.js). Hosts, screens and the other watchers'
roles are admitted up to ``RESERVE`` sockets past the cap so the room is still run.
"""

from __future__ import annotations

from dataclasses import dataclass

FULL_CLOSE = 4429
RESERVE = 200  # sockets past the cap kept for everyone but the audience (within FD_HEADROOM)


@dataclass(slots=True)
class Admission:
    cap: int
    retry_after_s: int = 10
    open: int = 0
    refused: int = 0
    peak: int = 0

    def enter(self, role: str) -> bool:
        """Count a new socket in, or refuse it (the caller closes it with ``FULL_CLOSE``)."""
        limit = self.cap if role == "audience" else self.cap + RESERVE
        if self.open >= limit:
            self.refused += 1
            return False
        self.open += 1
        self.peak = max(self.peak, self.open)
        return True

    def leave(self) -> None:
        self.open = max(0, self.open - 1)

    def reason(self) -> str:
        """The close frame's reason: the retry hint in seconds, read by the client."""
        return f"full retry={self.retry_after_s}"
