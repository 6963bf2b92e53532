"""The audience benchmark's phases (bench/run_all.py; bench/hosts.py runs some of them too):
the run's Config, the Figures one target measured, and each phase (join, fan-out, vote burst,
reconnect storm, likes and comments) as a function of the load pool, the host console and
the server under test.

A helper, not a benchmark: run on its own it exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from _harness import Host, LoadPool, Server, device_cookies, percentile


@dataclass
class Config:
    audience: int = 19_000
    join: int = 10_000
    join_window: float = 30.0
    fill_window: float = 20.0
    phase_changes: int = 3
    burst: int = 20
    votes: int = 10_000
    vote_window: float = 10.0
    reconnect: int = 10_000
    reconnect_limit: float = 30.0
    chatter_total: int = 54_000
    chatter_peak: int = 2_000
    chatter_seconds: int = 60
    comment_share: float = 0.05
    cluster_audience: int = 30_000
    cluster_workers: int = 2
    loaders: int = 4
    max_minutes: float = 45.0

    @staticmethod
    def smoke() -> Config:
        return Config(audience=300, join=200, join_window=3, fill_window=2, phase_changes=3, burst=5, votes=150,
                      vote_window=2, reconnect=150, reconnect_limit=30, chatter_total=1_500, chatter_peak=300,
                      chatter_seconds=10, cluster_audience=300, loaders=2, max_minutes=4)


@dataclass
class Figures:
    """What one target (live, bare, cluster) measured."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = value

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- phases ----------------------------------------------------------------------------------


async def connect(pool: LoadPool, server: Server, devices: list[int], window: float,
                  timeout: float = 180) -> dict[str, Any]:
    parts = pool.split(device_cookies(server.secret, devices))
    replies = await pool.each("connect", [{"devices": part, "window": window, "limit": timeout} for part in parts],
                              timeout=timeout + window + 60)
    lat = [x for r in replies for x in r["to_snapshot"]]
    errors: dict[str, int] = {}
    for r in replies:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    return {"ready": sum(r["ready"] for r in replies), "failed": sum(r["failed"] for r in replies),
            "lat": lat, "errors": errors, "elapsed": max(r["elapsed"] for r in replies)}


async def stats(pool: LoadPool, **kw: Any) -> dict[str, Any]:
    replies = await pool.each("stats", **kw)
    closes: dict[str, int] = {}
    for r in replies:
        for k, v in r["closes"].items():
            closes[k] = closes.get(k, 0) + v
    seq_mins = [r["seq_min"] for r in replies if r["seq_min"] is not None]
    seq_maxs = [r["seq_max"] for r in replies if r["seq_max"] is not None]
    tallies: dict[str, dict[int, int]] = {}  # item -> total shown -> phones showing it
    for r in replies:
        for item, per in r["tally"].items():
            for total, n in per.items():
                tallies.setdefault(item, {})[int(total)] = tallies.get(item, {}).get(int(total), 0) + n
    return {"ready": sum(r["ready"] for r in replies), "open": sum(r["open"] for r in replies),
            "gaps": sum(r["gaps"] for r in replies), "closes": closes,
            "seq_min": min(seq_mins) if seq_mins else None, "seq_max": max(seq_maxs) if seq_maxs else None,
            "tally": {k: sorted(v) for k, v in tallies.items()}, "tally_phones": tallies,
            "likes": max(r["likes"] for r in replies),
            "replies": replies}


async def settle(host: Host, quiet: float = 0.5, limit: float = 20, at_least: int = 0) -> int:
    """Wait until the host has seen seq ``at_least`` and then no sequenced event for ``quiet``
    seconds (the host is one socket of the fan-out: it may hear of its own command late)."""
    deadline = time.monotonic() + limit
    while host.seq < at_least and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    seq = host.seq
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet)
        if host.seq == seq:
            break
        seq = host.seq
    return host.seq


async def fan_out(pool: LoadPool, host: Host, server: Server, item: int, fig: Figures, cfg: Config) -> None:
    """Phase changes: latency to every socket; then a burst: sends per second."""
    lat: list[float] = []
    missing = 0
    for n in range(cfg.phase_changes):
        s = await settle(host)
        await pool.each("watch", seqs=list(range(s + 1, s + 4)))
        t0 = time.monotonic()
        await host.cmd("item.advance", item_id=item)
        last = await settle(host, at_least=s + 1)
        got = await pool.each("collect", seqs=[last], limit=60, timeout=90)
        if not any(r["times"][str(last)] for r in got):
            log(f"  no phone saw seq {last}: {[(r['missing'], len(r['times'][str(last)])) for r in got]}")
        for r in got:
            lat += [t - t0 for t in r["times"][str(last)]]
            missing += r["missing"]
        log(f"  phase change {n + 1}: seq {last}, p99 {ms(percentile(lat, 99))} ms")
        await asyncio.sleep(1.0)
    fig["fanout_p50_ms"] = ms(percentile(lat, 50))
    fig["fanout_p99_ms"] = ms(percentile(lat, 99))
    fig["fanout_max_ms"] = ms(max(lat)) if lat else float("nan")
    fig["fanout_deliveries"] = len(lat)
    fig["fanout_missing"] = missing
    # A burst of M events back to back (the host's meeting.durations), each to every socket.
    await asyncio.sleep(1.5)
    s = await settle(host)
    last = s + cfg.burst
    await pool.each("watch", seqs=[last])
    st = await stats(pool)
    sockets = st["ready"] + 1  # and the host
    cpu0 = server.cpu_s()
    t0 = time.monotonic()
    futs = [await host.send("meeting.durations", durations={"report": 600 + n}) for n in range(cfg.burst)]
    await asyncio.wait_for(asyncio.gather(*futs), 120)
    got = await pool.each("collect", seqs=[last], limit=100, timeout=120)
    times = [t for r in got for t in r["times"][str(last)]]
    cpu = server.cpu_s() - cpu0
    wall = (max(times) - t0) if times else float("nan")
    sends = sockets * cfg.burst
    fig["burst_sends"] = sends
    fig["burst_server_cpu_s"] = round(cpu, 2)
    fig["sends_per_cpu_s"] = round(sends / cpu) if cpu > 0 else float("nan")
    fig["sends_per_wall_s"] = round(sends / wall) if wall > 0 else float("nan")
    fig["burst_wall_s"] = round(wall, 2)
    fig["burst_missing"] = sum(r["missing"] for r in got)
    fig["msg_bytes_burst"] = host.size("meeting.updated")
    fig["msg_bytes_phase"] = host.size("item.updated")


async def vote_burst(pool: LoadPool, host: Host, server: Server, item: int, fig: Figures, cfg: Config,
                     options: list[str], window: float, key: str = "vote") -> None:
    """``cfg.votes`` phones vote once each, spread over ``window`` seconds."""
    voters = list(range(cfg.votes))
    start = time.monotonic() + 0.5
    cpu0 = server.cpu_s()
    replies = await pool.each("vote", item_id=item, options=options, start=start, window=window,
                              devices=voters, limit=60, timeout=90)
    lat = [x for r in replies for x in r["latency"]]
    # Where in the burst the slow acks were sent: a stall shows as one bad second, load as all.
    by_s: dict[int, list[float]] = {}
    for r in replies:
        for at, x in zip(r.get("sent_at", []), r["latency"], strict=False):
            by_s.setdefault(max(0, int(at)), []).append(x)
    fig[f"{key}_p99_by_s"] = [ms(percentile(v, 99)) for _, v in sorted(by_s.items())]
    log(f"  ack p99 by second of sending (ms): {fig[f'{key}_p99_by_s']}")
    statuses: dict[str, int] = {}
    for r in replies:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    last_ack = max((r["last_ack"] for r in replies), default=start) - start
    # Tallies are coalesced (and paced for a big audience): wait until every phone shows the last.
    acked = len(lat)
    t_acked = time.monotonic()
    deadline = t_acked + 15
    while True:
        await asyncio.sleep(0.25)
        st = await stats(pool)
        # Every ready phone, not just every phone that shows a tally: on a fresh item a phone
        # that has none yet is not in st["tally"] at all (this ended the wait early once, with
        # 16,731 of 30,000 phones still to be reached by the paced fan-out).
        if st["tally_phones"].get(str(item), {}).get(acked, 0) >= st["ready"] or time.monotonic() > deadline:
            break
    fig[f"{key}_tally_all_phones_s"] = round(time.monotonic() - t_acked, 2)
    fig[f"{key}_sent"] = sum(r["sent"] for r in replies)
    fig[f"{key}_acked"] = len(lat)
    fig[f"{key}_statuses"] = statuses
    fig[f"{key}_p50_ms"] = ms(percentile(lat, 50))
    fig[f"{key}_p99_ms"] = ms(percentile(lat, 99))
    fig[f"{key}_max_ms"] = ms(max(lat)) if lat else float("nan")
    fig[f"{key}_per_s"] = round(len(lat) / last_ack) if last_ack > 0 else float("nan")
    fig[f"{key}_last_ack_s"] = round(last_ack, 2)
    fig[f"{key}_server_cpu_s"] = round(server.cpu_s() - cpu0, 2)
    fig[f"{key}_tally_seen"] = st["tally"].get(str(item), [])
    # Full accounting: a phone that shows no tally, or an older one, is missing the final tally.
    shown = st["tally_phones"].get(str(item), {}).get(acked, 0)
    fig[f"{key}_tally_missing"] = max(0, st["ready"] - shown)
    if server.kind == "live":
        fig[f"{key}_stored"] = db_scalar(server, "SELECT count(*) FROM ballot WHERE item_id = :i", i=item)


async def to_voting(host: Host, item: int, previous: int | None) -> None:
    """Close the previous item's 测评 and bring ``item`` to 测评."""
    if previous is not None:
        await host.cmd("item.advance", item_id=previous)
    await host.cmd("item.open", item_id=item)
    for _ in range(3):
        await host.cmd("item.advance", item_id=item)


async def reconnect_storm(pool: LoadPool, host: Host, server: Server, fig: Figures, cfg: Config,
                          audience: int) -> None:
    victims = list(range(audience - cfg.reconnect, audience))
    cpu0 = server.cpu_s()
    drop = asyncio.create_task(pool.each("drop", devices=victims, limit=cfg.reconnect_limit,
                                         timeout=cfg.reconnect_limit + 30))
    await asyncio.sleep(0.05)
    s0 = host.seq
    for n in range(3):  # things change while they are away: they must replay them
        await host.cmd("meeting.durations", durations={"comment": 200 + n})
    replies = await drop
    final = await settle(host, at_least=s0 + 3)
    # Those not back within the limit keep trying (with backoff); wait for them, bounded, so the
    # next phase starts with the whole audience, and say how long it took.
    t_limit = time.monotonic()
    while True:
        await asyncio.sleep(1.0)
        st = await stats(pool)
        if st["ready"] >= audience or time.monotonic() - t_limit > 120:
            break
    fig["reconnect_everyone_back_s"] = round(time.monotonic() - t_limit + cfg.reconnect_limit, 1) \
        if any(r["back"] < r["dropped"] for r in replies) else None
    back = [x for r in replies for x in r["back_s"]]
    fig["reconnect_dropped"] = sum(r["dropped"] for r in replies)
    fig["reconnect_back"] = sum(r["back"] for r in replies)
    fig["reconnect_p50_s"] = round(percentile(back, 50), 2)
    fig["reconnect_p95_s"] = round(percentile(back, 95), 2)
    fig["reconnect_all_back_s"] = round(max(back), 2) if back else float("nan")
    fig["reconnect_replays"] = sum(r["replays"] for r in replies)
    fig["reconnect_snapshots"] = sum(r["snapshots"] for r in replies)
    fig["reconnect_resyncs"] = sum(r["resyncs"] for r in replies)
    fig["reconnect_gaps"] = sum(r["gaps"] for r in replies)
    fig["reconnect_final_seq_ok"] = st["seq_min"] == final == st["seq_max"]
    fig["reconnect_ready_after"] = st["ready"]
    fig["reconnect_cpu_s"] = round(server.cpu_s() - cpu0, 1)


def chatter_rates(cfg: Config) -> list[int]:
    """Per-second message rates: two peaks at ``chatter_peak``, the rest even, summing to the total."""
    secs = cfg.chatter_seconds
    peak_len = max(1, secs // 8)
    peaks = set(range(secs // 4, secs // 4 + peak_len)) | set(range(3 * secs // 4 - peak_len, 3 * secs // 4))
    rest = cfg.chatter_total - cfg.chatter_peak * len(peaks)
    base = rest // (secs - len(peaks))
    rates = [cfg.chatter_peak if s in peaks else base for s in range(secs)]
    extra = cfg.chatter_total - sum(rates)
    for s in range(secs):
        if extra <= 0:
            break
        if s not in peaks:
            rates[s] += 1
            extra -= 1
    return rates


async def chatter(pool: LoadPool, monitor: LoadPool, server: Server, fig: Figures, cfg: Config) -> None:
    rates = chatter_rates(cfg)
    n = len(pool.clients)
    per = [[r // n + (1 if i < r % n else 0) for r in rates] for i in range(n)]
    cpu_samples: list[float] = []
    likes_before = (await stats(pool))["likes"]
    stop = asyncio.Event()

    async def sample() -> None:
        prev, t_prev = server.cpu_s(), time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            cur, t = server.cpu_s(), time.monotonic()
            cpu_samples.append((cur - prev) / (t - t_prev))
            prev, t_prev = cur, t

    sampler = asyncio.create_task(sample())
    t0 = time.monotonic()
    cpu0 = server.cpu_s()
    replies = await pool.each("chatter", [{"rates": p, "comment_share": cfg.comment_share,
                                           "texts": ["支持依法行政", "讲得实在", "希望尽快整改", "点赞"]} for p in per],
                              timeout=cfg.chatter_seconds + 120)
    wall = time.monotonic() - t0
    cpu = server.cpu_s() - cpu0
    stop.set()
    await sampler
    acked_now = sum(r["likes_acked"] for r in replies)
    deadline = time.monotonic() + 10  # the audience's like count is paced: wait for it to catch up
    while True:
        await asyncio.sleep(0.5)
        st = await stats(pool)
        if st["likes"] - likes_before >= acked_now or time.monotonic() > deadline:
            break
    screens = await stats(monitor, timelines=True)
    sent_likes = sum(r["sent"]["like"] for r in replies)
    sent_comments = sum(r["sent"]["comment"] for r in replies)
    acked = sum(r["likes_acked"] for r in replies)
    codes: dict[str, int] = {}
    for r in replies:
        for k, v in r["replies"].items():
            codes[k] = codes.get(k, 0) + v
    lat = [x for r in replies for x in r["latency"]]
    # The big screen's updates per second while it went on.
    per_sec_likes: dict[int, int] = {}
    per_sec_all: dict[int, int] = {}
    for r in screens["replies"]:
        for timeline in r.get("timelines", []):
            for t, kind in timeline:
                if t0 <= t <= t0 + wall:
                    sec = int(t - t0)
                    per_sec_all[sec] = per_sec_all.get(sec, 0) + 1
                    if kind == "likes":
                        per_sec_likes[sec] = per_sec_likes.get(sec, 0) + 1
            break  # one screen
    fig["chatter_sent"] = sent_likes + sent_comments
    fig["chatter_likes"] = sent_likes
    fig["chatter_comments"] = sent_comments
    fig["chatter_peak_rate"] = max(rates)
    fig["chatter_replies"] = codes
    fig["chatter_reply_p99_ms"] = ms(percentile(lat, 99))
    fig["chatter_wall_s"] = round(wall, 1)
    fig["chatter_cpu_avg"] = round(cpu / wall, 2)
    fig["chatter_cpu_peak"] = round(max(cpu_samples), 2) if cpu_samples else float("nan")
    fig["screen_likes_per_s_max"] = max(per_sec_likes.values(), default=0)
    fig["screen_msgs_per_s_max"] = max(per_sec_all.values(), default=0)
    fig["screen_msgs_per_s_avg"] = round(sum(per_sec_all.values()) / max(1.0, wall), 1)
    fig["likes_shown_gain"] = st["likes"] - likes_before
    fig["likes_acked"] = acked


async def close_pool(pool: LoadPool | None) -> None:
    """Have every load client close its sockets (best effort), then stop the clients."""
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.each("close", timeout=60)
        await pool.close()


def db_scalar(server: Server, sql: str, **params: Any) -> Any:
    from sqlalchemy import text

    from live.store.db import make_engine

    assert server.database_url
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()
