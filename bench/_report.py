"""The table of bench/run_all.py: every figure of live beside bare (and the cluster), the
target and PASS/MISS, the throughput lines, and the machine it ran on.

A helper, not a benchmark: run on its own it exits 0."""

from __future__ import annotations

import contextlib
import os
import platform
from typing import Any

from _phases import Config, Figures


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def report(cfg: Config, live: Figures | None, bare: Figures | None, cluster: Figures | None) -> tuple[str, bool]:
    L = live.values if live else {}
    B = bare.values if bare else {}
    C = cluster.values if cluster else {}

    def g(d: dict[str, Any], k: str) -> Any:
        v = d.get(k)
        return "-" if v is None else v

    rows: list[tuple[str, str, str, str, str]] = []
    ok_all = True  # the correctness checks (counts equal, none lost, no gaps); speed targets only print MISS

    def row(name: str, lv: Any, bv: Any, target: str = "", ok: bool | None = None, hard: bool = False) -> None:
        nonlocal ok_all
        if ok is False and hard:
            ok_all = False
        rows.append((name, str(lv), str(bv), target, verdict(ok) if target else ""))

    def num(d: dict[str, Any], k: str) -> float:
        v = d.get(k)
        return float(v) if isinstance(v, int | float) else float("nan")

    if live or bare:
        row("audience sockets held, 1 worker", g(L, "held"), g(B, "held"), f">= {cfg.audience:,}",
            num(L, "held") >= cfg.audience if live else None)
        row("RSS per connection (KB)", g(L, "rss_per_conn_kb"), g(B, "rss_per_conn_kb"), "<= 40",
            num(L, "rss_per_conn_kb") <= 40 if live else None)
        row("server RSS base -> full (MB)", f"{g(L, 'rss_base_mb')} -> {g(L, 'rss_full_mb')}",
            f"{g(B, 'rss_base_mb')} -> {g(B, 'rss_full_mb')}")
        row("  after the reconnect storm -> at the end (MB)",
            f"{g(L, 'rss_after_reconnect_mb')} -> {g(L, 'rss_end_mb')}",
            f"{g(B, 'rss_after_reconnect_mb')} -> {g(B, 'rss_end_mb')}")
        row(f"join storm: {cfg.join:,} joined over {cfg.join_window:.0f} s (failed)",
            f"{g(L, 'join_ready')} ({g(L, 'join_failed')})", f"{g(B, 'join_ready')} ({g(B, 'join_failed')})",
            "all, within 60 s", (L.get("join_ready") == cfg.join) if live else None)
        row("  time to first snapshot p50 (ms)", g(L, "join_p50_ms"), g(B, "join_p50_ms"))
        row("  time to first snapshot p95 (ms)", g(L, "join_p95_ms"), g(B, "join_p95_ms"), "< 1000",
            num(L, "join_p95_ms") < 1000 if live else None)
        row("  time to first snapshot max (ms)", g(L, "join_max_ms"), g(B, "join_max_ms"))
        row("  server CPU per join (ms)", g(L, "join_cpu_ms_per_join"), g(B, "join_cpu_ms_per_join"))
        row("fan-out: phase change to all sockets p50 (ms)", g(L, "fanout_p50_ms"), g(B, "fanout_p50_ms"))
        row("  p99 (ms)", g(L, "fanout_p99_ms"), g(B, "fanout_p99_ms"), "<= 1000",
            num(L, "fanout_p99_ms") <= 1000 if live else None)
        row("  max (ms); deliveries (missing)", f"{g(L, 'fanout_max_ms')}; {g(L, 'fanout_deliveries')} "
            f"({g(L, 'fanout_missing')})", f"{g(B, 'fanout_max_ms')}; {g(B, 'fanout_deliveries')} "
            f"({g(B, 'fanout_missing')})", "none missing",
            L.get("fanout_missing") == 0 if live else None, hard=True)
        ratio = num(L, "sends_per_cpu_s") / num(B, "sends_per_cpu_s") if live and bare else float("nan")
        row(f"  burst of {cfg.burst} events: sends per server CPU-second", g(L, "sends_per_cpu_s"),
            g(B, "sends_per_cpu_s"), ">= 1/2 bare",
            (ratio >= 0.5) if live and bare else None)
        ratio_w = num(L, "sends_per_wall_s") / num(B, "sends_per_wall_s") if live and bare else float("nan")
        row("  sends per wall-clock second (until the last socket had all)", g(L, "sends_per_wall_s"),
            g(B, "sends_per_wall_s"), ">= 1/2 bare", (ratio_w >= 0.5) if live and bare else None)
        row("  live / bare (CPU; wall)", f"{ratio:.2f}; {ratio_w:.2f}", "1")
        row("  burst deliveries missing (phones x events)", g(L, "burst_missing"), g(B, "burst_missing"), "0",
            L.get("burst_missing") == 0 if live else None, hard=True)
        row("  event size (bytes: phase change; burst)", f"{g(L, 'msg_bytes_phase')}; {g(L, 'msg_bytes_burst')}",
            f"{g(B, 'msg_bytes_phase')}; {g(B, 'msg_bytes_burst')}")
        row(f"vote burst: ballots sent over {cfg.vote_window:.0f} s / acked", f"{g(L, 'vote_sent')} / "
            f"{g(L, 'vote_acked')}", f"{g(B, 'vote_sent')} / {g(B, 'vote_acked')}", f"{cfg.votes:,} acked",
            L.get("vote_acked") == cfg.votes if live else None)
        row("  ack latency p50 (ms)", g(L, "vote_p50_ms"), g(B, "vote_p50_ms"))
        row("  ack latency p99 (ms)", g(L, "vote_p99_ms"), g(B, "vote_p99_ms"), "< 500",
            num(L, "vote_p99_ms") < 500 if live else None)
        row("  ballots/s (acks / time to last ack; offered by the window)", g(L, "vote_per_s"), g(B, "vote_per_s"))
        same = live is not None and L.get("vote_stored") == L.get("vote_acked") and \
            L.get("vote_tally_seen") == [L.get("vote_acked")] and L.get("vote_tally_missing") == 0
        row("  every phone shows the final tally after (s)", g(L, "vote_tally_all_phones_s"),
            g(B, "vote_tally_all_phones_s"))
        row("  stored = acks = final tally on every phone", f"{g(L, 'vote_stored')} = {g(L, 'vote_acked')} = "
            f"{g(L, 'vote_tally_seen')}", f"(no store) {g(B, 'vote_acked')} = {g(B, 'vote_tally_seen')}", "equal",
            same if live else None, hard=True)
        row("  phones missing the final tally", g(L, "vote_tally_missing"), g(B, "vote_tally_missing"), "0",
            L.get("vote_tally_missing") == 0 if live else None, hard=True)
        row(f"vote capacity: {cfg.votes:,} ballots within 1 s (second item) / acked", f"{g(L, 'cap_sent')} / "
            f"{g(L, 'cap_acked')}", f"{g(B, 'cap_sent')} / {g(B, 'cap_acked')}", f"{cfg.votes:,} acked",
            L.get("cap_acked") == cfg.votes if live else None)
        row("  ack latency p50 / p99 (ms)", f"{g(L, 'cap_p50_ms')} / {g(L, 'cap_p99_ms')}",
            f"{g(B, 'cap_p50_ms')} / {g(B, 'cap_p99_ms')}")
        row("  ballots/s (acks / time to last ack)", g(L, "cap_per_s"), g(B, "cap_per_s"))
        same = live is not None and L.get("cap_stored") == L.get("cap_acked") and \
            L.get("cap_tally_seen") == [L.get("cap_acked")] and L.get("cap_tally_missing") == 0
        row("  stored = acks = final tally on every phone", f"{g(L, 'cap_stored')} = {g(L, 'cap_acked')} = "
            f"{g(L, 'cap_tally_seen')}", f"(no store) {g(B, 'cap_acked')} = {g(B, 'cap_tally_seen')}", "equal",
            same if live else None, hard=True)
        row("  phones missing the final tally", g(L, "cap_tally_missing"), g(B, "cap_tally_missing"), "0",
            L.get("cap_tally_missing") == 0 if live else None, hard=True)
        row(f"reconnect storm: dropped / back within {cfg.reconnect_limit:.0f} s",
            f"{g(L, 'reconnect_dropped')} / {g(L, 'reconnect_back')}",
            f"{g(B, 'reconnect_dropped')} / {g(B, 'reconnect_back')}", "none lost",
            (L.get("reconnect_back") == cfg.reconnect and L.get("reconnect_final_seq_ok") is True) if live else None,
            hard=True)
        row("  back and resynced p50 / p95 / all (s)", f"{g(L, 'reconnect_p50_s')} / {g(L, 'reconnect_p95_s')} / "
            f"{g(L, 'reconnect_all_back_s')}", f"{g(B, 'reconnect_p50_s')} / {g(B, 'reconnect_p95_s')} / "
            f"{g(B, 'reconnect_all_back_s')}")
        row("  server CPU over the storm (s)", g(L, "reconnect_cpu_s"), g(B, "reconnect_cpu_s"))
        row("  if not: everyone back after (s)", g(L, "reconnect_everyone_back_s"),
            g(B, "reconnect_everyone_back_s"))
        row("  answered with replay / snapshot (resync)", f"{g(L, 'reconnect_replays')} / "
            f"{g(L, 'reconnect_snapshots')} ({g(L, 'reconnect_resyncs')})",
            f"{g(B, 'reconnect_replays')} / {g(B, 'reconnect_snapshots')} ({g(B, 'reconnect_resyncs')})")
        row("  seq gaps; every socket at the final seq", f"{g(L, 'reconnect_gaps')}; "
            f"{g(L, 'reconnect_final_seq_ok')}", f"{g(B, 'reconnect_gaps')}; {g(B, 'reconnect_final_seq_ok')}",
            "0; True", (L.get("reconnect_gaps") == 0 and L.get("reconnect_final_seq_ok") is True) if live else None,
            hard=True)
        row(f"likes+comments over {cfg.chatter_seconds} s (peak /s)", f"{g(L, 'chatter_sent')} "
            f"({g(L, 'chatter_peak_rate')})", f"{g(B, 'chatter_sent')} ({g(B, 'chatter_peak_rate')})",
            f"{cfg.chatter_total:,}, peaks {cfg.chatter_peak:,}/s",
            (L.get("chatter_sent") == cfg.chatter_total) if live else None)
        row("  likes / comments", f"{g(L, 'chatter_likes')} / {g(L, 'chatter_comments')}",
            f"{g(B, 'chatter_likes')} / {g(B, 'chatter_comments')}")
        row("  replies (kind:status)", g(L, "chatter_replies"), g(B, "chatter_replies"))
        row("  big screen: likes updates / s (max)", g(L, "screen_likes_per_s_max"),
            g(B, "screen_likes_per_s_max"), "<= 4", num(L, "screen_likes_per_s_max") <= 4 if live else None)
        row("  big screen: all messages / s (max; avg)", f"{g(L, 'screen_msgs_per_s_max')}; "
            f"{g(L, 'screen_msgs_per_s_avg')}", f"{g(B, 'screen_msgs_per_s_max')}; {g(B, 'screen_msgs_per_s_avg')}")
        row("  server CPU (cores: avg; peak second)", f"{g(L, 'chatter_cpu_avg')}; {g(L, 'chatter_cpu_peak')}",
            f"{g(B, 'chatter_cpu_avg')}; {g(B, 'chatter_cpu_peak')}", "< 1 core",
            num(L, "chatter_cpu_peak") < 1.0 if live else None)
        likes_ok = live is not None and isinstance(L.get("likes_acked"), int) and \
            L["likes_acked"] <= L.get("likes_shown_gain", -1) == L.get("likes_stored") <= L.get("chatter_likes", -1)
        row("  likes acked <= shown = stored <= sent", f"{g(L, 'likes_acked')} <= {g(L, 'likes_shown_gain')} = "
            f"{g(L, 'likes_stored')} <= {g(L, 'chatter_likes')}",
            f"{g(B, 'likes_acked')} <= {g(B, 'likes_shown_gain')} (no store)", "holds", likes_ok if live else None,
            hard=True)
        row("closes seen by phones (code: count)", g(L, "closes"), g(B, "closes"))
        row("machine load average before -> after (2 cores)", f"{g(L, 'load_before')} -> {g(L, 'load_after')}",
            f"{g(B, 'load_before')} -> {g(B, 'load_after')}")
    if cluster:
        n = cfg.cluster_workers
        row(f"cluster: audience sockets held by {n} workers (each)", f"{g(C, 'held')} {g(C, 'held_per_worker')}",
            "", f">= {cfg.cluster_audience:,}", num(C, "held") >= cfg.cluster_audience)
        row("  RSS per connection per worker (KB)", g(C, "rss_per_conn_kb"), "")
        row("  machine load average before -> after", f"{g(C, 'load_before')} -> {g(C, 'load_after')}", "")
        row("  phase change to all p50 / p99 (ms)", f"{g(C, 'fanout_p50_ms')} / {g(C, 'fanout_p99_ms')}", "",
            "p99 <= 1000", num(C, "fanout_p99_ms") <= 1000)
        row("  vote burst acked; p50 / p99 ack (ms)", f"{g(C, 'vote_acked')}; {g(C, 'vote_p50_ms')} / "
            f"{g(C, 'vote_p99_ms')}", "", "p99 < 500", num(C, "vote_p99_ms") < 500)
        same = C.get("vote_stored") == C.get("vote_acked") and C.get("vote_tally_seen") == [C.get("vote_acked")] \
            and C.get("vote_tally_missing") == 0
        row("  stored = acks = final tally on every phone (both workers)", f"{g(C, 'vote_stored')} = "
            f"{g(C, 'vote_acked')} = {g(C, 'vote_tally_seen')}", "", "equal", same, hard=True)
        row("  vote capacity (1 s) acked; p50 / p99 (ms); ballots/s", f"{g(C, 'cap_acked')}; {g(C, 'cap_p50_ms')} / "
            f"{g(C, 'cap_p99_ms')}; {g(C, 'cap_per_s')}", "")
        same = C.get("cap_stored") == C.get("cap_acked") and C.get("cap_tally_seen") == [C.get("cap_acked")] \
            and C.get("cap_tally_missing") == 0
        row("  capacity burst: stored = acks = final tally", f"{g(C, 'cap_stored')} = {g(C, 'cap_acked')} = "
            f"{g(C, 'cap_tally_seen')}", "", "equal", same, hard=True)
    width = [max(len(r[i]) for r in rows) for i in range(5)]
    head = ("figure", "live", "bare websockets", "target", "")
    width = [max(w, len(h)) for w, h in zip(width, head, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, width, strict=True)).rstrip(),
             "  ".join("-" * w for w in width)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)).rstrip() for r in rows]
    if live or cluster:
        lines.append("")
        lines.append("throughput                                 1 worker (SQLite, in-process)   "
                     f"{cfg.cluster_workers} workers (PostgreSQL + Redis)")
        tput = [
            ("audience sockets held", g(L, "held"), g(C, "held")),
            ("fan-out sends / server CPU-second", g(L, "sends_per_cpu_s"), g(C, "sends_per_cpu_s")),
            ("fan-out sends / wall second", g(L, "sends_per_wall_s"), g(C, "sends_per_wall_s")),
            ("phase change p99 to all (ms)", g(L, "fanout_p99_ms"), g(C, "fanout_p99_ms")),
            ("ballots / s (10 s burst), p99 ack (ms)", f"{g(L, 'vote_per_s')}, {g(L, 'vote_p99_ms')}",
             f"{g(C, 'vote_per_s')}, {g(C, 'vote_p99_ms')}"),
            ("ballots / s (all within 1 s), p99 ack (ms)", f"{g(L, 'cap_per_s')}, {g(L, 'cap_p99_ms')}",
             f"{g(C, 'cap_per_s')}, {g(C, 'cap_p99_ms')}"),
        ]
        for name, a, b in tput:
            lines.append(f"  {name:<41}{a!s:<32}{b}")
    return "\n".join(lines), ok_all


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import resource

    import uvicorn
    import websockets

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GB, Linux {platform.release()}, "
            f"Python {platform.python_version()}, uvicorn {uvicorn.__version__}, websockets {websockets.__version__}, "
            f"open files {hard}")
