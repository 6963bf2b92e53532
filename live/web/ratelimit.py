"""Per-key counters for public endpoints and the public's voice on the socket, and the host login's back-off.

Both keep at most ``max_keys`` keys, dropping the least recently used one: a flood of
made-up keys costs a bounded amount of memory and never wipes the counters of the
keys under attack. Checking a key that has no entry inserts nothing."""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field


class RateLimiter:
    """A sliding window: at most ``limit`` hits per ``window_s`` seconds per key."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _trim(self, key: str, now: float) -> deque[float] | None:
        q = self._hits.get(key)
        if q is None:
            return None
        while q and now - q[0] > self.window_s:
            q.popleft()
        if not q:
            del self._hits[key]
            return None
        return q

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        q = self._trim(key, now)
        if q is not None and len(q) >= self.limit:
            return False
        if q is None:
            q = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        self._hits.move_to_end(key)
        q.append(now)
        return True

    def blocked(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        q = self._trim(key, now)
        return q is not None and len(q) >= self.limit

    def retry_after(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        q = self._trim(key, now)
        return max(1, int(self.window_s - (now - q[0])) + 1) if q else 1

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    def __len__(self) -> int:
        return len(self._hits)


@dataclass
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Exponential back-off after wrong passwords, per meeting and per address.

    A login attempt waits ``delay()`` seconds before its password is checked: nothing
    after the first ``free`` failures, then ``base`` doubling up to ``cap``. It is a
    wait, never a wall: the right password still gets in after at most ``cap`` seconds,
    whatever an attacker did. Concurrent attempts per key are capped too, so waiting in
    parallel does not multiply an attacker's guesses. Failures are forgotten ``forget_s``
    seconds after the last one."""

    def __init__(self, *, free: int = 3, base: float = 0.25, cap: float = 4.0, forget_s: float = 900,
                 max_keys: int = 10_000, per_address: int = 2, per_meeting: int = 8) -> None:
        self.free, self.base, self.cap, self.forget_s = free, base, cap, forget_s
        self.max_keys = max_keys
        self.concurrency = {"a": per_address, "m": per_meeting}
        # Addresses and meetings apart: a flood of made-up addresses cannot push a meeting out.
        self._tables: dict[str, OrderedDict[str, _Failures]] = {"a": OrderedDict(), "m": OrderedDict()}
        self._in_flight: dict[str, int] = {}

    @staticmethod
    def address_key(addr: str) -> str:
        """An IPv6 client controls its whole /64: it counts as one address."""
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return f"a:{addr[:64]}"
        if ip.version == 6:
            return "a:" + str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return f"a:{ip}"

    def _count(self, key: str, now: float) -> int:
        table = self._tables[key[0]]
        f = table.get(key)
        if f is None:
            return 0
        if now - f.last > self.forget_s:
            del table[key]
            return 0
        return f.count

    def delay(self, keys: list[str], now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        worst = max((self._count(k, now) for k in keys), default=0)
        if worst < self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** (worst - self.free)))

    def enter(self, keys: list[str]) -> bool:
        """Take a slot for an attempt on each key; False (nothing taken) if one is full."""
        if any(self._in_flight.get(k, 0) >= self.concurrency[k[0]] for k in keys):
            return False
        for k in keys:
            self._in_flight[k] = self._in_flight.get(k, 0) + 1
        return True

    def leave(self, keys: list[str]) -> None:
        for k in keys:
            n = self._in_flight.get(k, 0) - 1
            if n > 0:
                self._in_flight[k] = n
            else:
                self._in_flight.pop(k, None)

    def failed(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for k in keys:
            table = self._tables[k[0]]
            f = table.get(k)
            if f is None or now - f.last > self.forget_s:
                f = table[k] = _Failures(0, now)
                while len(table) > self.max_keys:
                    table.popitem(last=False)
            f.count += 1
            f.last = now
            table.move_to_end(k)

    def succeeded(self, address_key: str) -> None:
        """The address proved itself; the meeting's count stays until it is forgotten."""
        self._tables["a"].pop(address_key, None)

    def __len__(self) -> int:
        return sum(len(t) for t in self._tables.values())


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
