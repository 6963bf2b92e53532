"""Per-key sliding counters: public HTTP endpoints (login, join, QR) and the public's voice on the socket."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


class RateLimiter:
    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._hits.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self._hits) > self.max_keys:
            self._hits.clear()  # bounded memory beats perfect accounting under a flood
        q = self._trim(key, now)
        if len(q) >= self.limit:
            return False
        q.append(now)
        return True

    def blocked(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return len(self._trim(key, now)) >= self.limit

    def retry_after(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        q = self._trim(key, now)
        return max(1, int(self.window_s - (now - q[0])) + 1) if q else 1

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


# --- the public's voice: per device (or panel member) budgets -----------------------------


@dataclass(frozen=True)
class Limit:
    what: str
    limit: int
    window_s: int


COMMENT_LIMIT = Limit("评论", 5, 30)
QUESTION_LIMIT = Limit("提问", 3, 300)
PANEL_QUESTION_LIMIT = Limit("提问", 20, 300)
UPVOTE_LIMIT = Limit("点赞问题", 30, 60)
LIKE_LIMIT = Limit("点赞", 40, 10)


def _limiter(spec: Limit) -> RateLimiter:
    return RateLimiter(spec.limit, spec.window_s)


@dataclass
class VoiceLimits:
    """Per device (or panel member) budgets, on top of the socket's own message budget.
    Keyed by the voter key, so a second tab or a reconnect does not reset them."""

    comments: RateLimiter = field(default_factory=lambda: _limiter(COMMENT_LIMIT))
    questions: RateLimiter = field(default_factory=lambda: _limiter(QUESTION_LIMIT))
    panel_questions: RateLimiter = field(default_factory=lambda: _limiter(PANEL_QUESTION_LIMIT))
    upvotes: RateLimiter = field(default_factory=lambda: _limiter(UPVOTE_LIMIT))
    likes: RateLimiter = field(default_factory=lambda: _limiter(LIKE_LIMIT))


def over_limit(limiter: RateLimiter, spec: Limit, key: str) -> str | None:
    """The Chinese message to show when ``key`` is over its budget, else None (and the hit is counted)."""
    if limiter.allow(key):
        return None
    wait = limiter.retry_after(key)
    return f"{spec.what}过于频繁：每 {spec.window_s} 秒最多 {spec.limit} 次，请 {wait} 秒后再试"
