"""Backoff for guessing secrets (ticket codes, roster links): ``free`` failures per key
cost nothing; then the key waits ``base_s``, and each further failure doubles the wait,
up to a ceiling. Failures are forgotten after a quiet ``forget_s``. In memory, per process: with N workers an
attacker gets N times the budget (documented in docs/security.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class GuessLimiter:
    def __init__(self, free: int, base_s: float = 2.0, max_s: float = 900.0, forget_s: float = 3600.0,
                 max_keys: int = 100_000) -> None:
        self.free = free
        self.base_s = base_s
        self.max_s = max_s
        self.forget_s = forget_s
        self.max_keys = max_keys
        self._keys: dict[str, _State] = {}

    def retry_after(self, key: str, now: float | None = None) -> int:
        """Seconds to wait before this key may try again; 0 when it may try now."""
        now = time.monotonic() if now is None else now
        st = self._keys.get(key)
        if st is None:
            return 0
        if now - st.last > self.forget_s:
            del self._keys[key]
            return 0
        return max(0, int(st.locked_until - now + 0.999))

    def fail(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._keys) > self.max_keys:
            # Bounded memory; drop the quiet keys first, never the locked ones.
            self._keys = {k: v for k, v in self._keys.items() if v.locked_until > now}
        st = self._keys.setdefault(key, _State())
        if now - st.last > self.forget_s:
            st.failures = 0
        st.failures += 1
        st.last = now
        over = st.failures - self.free
        if over >= 0:
            st.locked_until = now + min(self.max_s, self.base_s * 2 ** min(over, 30))
