"""All the audience benchmarks in one run, each figure printed beside a bare
``websockets`` reference (broadcast(), compression off, own process) measured in the
same run, with PASS/MISS beside each target of issue 7.

    python bench/run_all.py              # the full run (~20 minutes on 2 cores)
    python bench/run_all.py --smoke      # a few hundred sockets, every phase, < 2 minutes
    python bench/run_all.py --only live  # live, bare, cluster (comma separated)
    python bench/run_all.py --profile artifacts/profile   # py-spy each phase of the live server
    python bench/run_all.py --runs 3     # three full runs: each headline as median (min–max)

Phases, against the live server (1 worker: ``live demo --no-serve`` + ``live serve``, embedded
SQLite, in-process bus) and then against the bare reference, with the same load clients:

1. join storm: J phones join, arrivals spread over a window; time to first snapshot;
2. connections: fill up to A audience sockets, each past its snapshot; RSS per connection;
3. fan-out: phase changes from the host console reach every socket (delivery latency), then a
   burst of M events: server-side sends per second (per CPU-second of the server, from
   /proc/<pid>/stat, and per wall-clock second until the last socket had the last event);
4. vote burst: V ballots within a window, each acknowledged after its commit; stored = acks = tally;
5. reconnect storm: R sockets cut off at once come back with the client module's jittered
   backoff and ``since=<seq>``, while the host changes things; replay vs snapshot, gaps;
6. likes: likes and comments over a session with peaks, from the whole audience; the big
   screen's updates per second and the server's CPU per second.

Then the cluster: 2 ``live serve`` processes on two ports over PostgreSQL (a fresh schema)
and Redis (a fresh channel) hold the cluster audience, fan out and take a vote burst:
throughput with 1 worker and with 2 workers.

Load clients are ``bench/_wsload.py`` processes (under 20,000 open files each, one source
address 127.0.0.x each). Every process stops by itself; the whole run has a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _phases import (
    Config,
    Figures,
    chatter,
    close_pool,
    connect,
    db_scalar,
    fan_out,
    log,
    ms,
    reconnect_storm,
    stats,
    to_voting,
    vote_burst,
)
from _report import machine, report

from _harness import (
    PG_URL,
    ROOT,
    Host,
    LoadPool,
    percentile,
    raise_nofile,
    start_bare,
    start_live,
    start_live_cluster,
)


class Profiler:
    """py-spy on the server, one flame (collapsed stacks) per phase, when asked for."""

    def __init__(self, out: Path | None, pids: list[int]) -> None:
        self.out = out
        self.pids = pids
        self.proc: subprocess.Popen[bytes] | None = None

    @contextlib.contextmanager
    def phase(self, name: str) -> Any:
        if self.out is None:
            yield
            return
        self.out.mkdir(parents=True, exist_ok=True)
        cmd = ["py-spy", "record", "--pid", str(self.pids[0]), "--rate", "100", "--format", "raw",
               "--output", str(self.out / f"{name}.txt"), "--nonblocking"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --- targets ---------------------------------------------------------------------------------


async def run_single(kind: str, cfg: Config, sizes: dict[str, int], profile: Path | None) -> Figures:
    """The live server with one worker, or the bare reference: every phase."""
    fig = Figures(kind)
    fig["load_before"] = loadavg()
    # The worker's cap (file limit - 1,000 by default) sits exactly at a full-size audience; the
    # host, the screen and the monitor come on top, so give it room for them (the cap itself is
    # measured by bench/blackout.py and tests/test_admission.py).
    server = start_live({"LIVE_MAX_SOCKETS": str(cfg.audience + 100)}) if kind == "live" else start_bare(sizes)
    prof = Profiler(profile if kind == "live" else None, server.pids)
    pool: LoadPool | None = None
    monitor: LoadPool | None = None
    host = Host(server)
    item = item2 = 0
    try:
        await host.connect()
        await host.cmd("meeting.start")
        items = host.state.get("items") or [{"id": 1}, {"id": 2}]
        item, item2 = int(items[0]["id"]), int(items[1]["id"])
        options = [o["key"] for o in host.state["meeting"]["scheme"]["options"]] if kind == "live" else ["满意"]
        await host.cmd("item.open", item_id=item)
        pool = await LoadPool.start(server, cfg.loaders)
        # One big screen, on its own load client so that its clock is not late, recording what it gets.
        monitor = await LoadPool.start(server, 1, first_src=30)
        await monitor.clients[0].call("connect", devices=[[9_999_999, None]], role="screen", window=0,
                                      timeline=True, limit=30, timeout=60)
        await asyncio.sleep(1.0)
        rss0 = server.rss_kb()
        fig["rss_base_mb"] = round(rss0 / 1024, 1)
        log(f"{kind}: join storm, {cfg.join} phones over {cfg.join_window:.0f} s")
        cpu0 = server.cpu_s()
        with prof.phase("join"):
            j = await connect(pool, server, list(range(cfg.join)), cfg.join_window)
        fig["join_cpu_ms_per_join"] = round((server.cpu_s() - cpu0) / max(1, j["ready"]) * 1000, 2)
        fig["join_ready"] = j["ready"]
        fig["join_failed"] = j["failed"]
        fig["join_p50_ms"] = ms(percentile(j["lat"], 50))
        fig["join_p95_ms"] = ms(percentile(j["lat"], 95))
        fig["join_max_ms"] = ms(max(j["lat"])) if j["lat"] else float("nan")
        fig["join_errors"] = j["errors"]
        log(f"{kind}: filling to {cfg.audience}")
        f = await connect(pool, server, list(range(cfg.join, cfg.audience)), cfg.fill_window)
        fig["fill_failed"] = f["failed"]
        await asyncio.sleep(3.0)
        st = await stats(pool)
        rss1 = server.rss_kb()
        fig["held"] = st["ready"]
        fig["rss_full_mb"] = round(rss1 / 1024, 1)
        fig["rss_per_conn_kb"] = round((rss1 - rss0) / max(1, st["ready"]), 1)
        log(f"{kind}: {fig['held']} audience sockets, {fig['rss_per_conn_kb']} KB each; fan-out")
        with prof.phase("fanout"):
            await fan_out(pool, host, server, item, fig, cfg)
        log(f"{kind}: vote burst ({cfg.votes} in {cfg.vote_window:.0f} s)")
        with prof.phase("votes"):
            await vote_burst(pool, host, server, item, fig, cfg, options, cfg.vote_window)
        log(f"{kind}: vote capacity ({cfg.votes} at once, second item)")
        await to_voting(host, item2, item)
        with prof.phase("votes_at_once"):
            await vote_burst(pool, host, server, item2, fig, cfg, options, 1.0, key="cap")
        log(f"{kind}: reconnect storm ({cfg.reconnect})")
        with prof.phase("reconnect"):
            await reconnect_storm(pool, host, server, fig, cfg, cfg.audience)
        # 10,000 connections torn down and made again: memory must come back, not pile up
        # (the GC policy keeps departed sockets' cycles until the room has turned over).
        fig["rss_after_reconnect_mb"] = round(server.rss_kb() / 1024, 1)
        log(f"{kind}: likes and comments ({cfg.chatter_total} over {cfg.chatter_seconds} s)")
        with prof.phase("likes"):
            await chatter(pool, monitor, server, fig, cfg)
        st = await stats(pool)
        fig["rss_end_mb"] = round(server.rss_kb() / 1024, 1)
        fig["closes"] = st["closes"]
        fig["gaps_total"] = st["gaps"]
        fig["sizes"] = {"welcome": host.size("welcome"), "snapshot": host.size("snapshot"),
                        "event": host.size("item.updated"), "burst": host.size("meeting.updated"),
                        "tally": host.size("tally"), "presence": host.size("presence")}
    except Exception as exc:  # keep what was measured; say what broke
        log(f"{kind} run stopped: {exc!r}")
        fig.notes.append(f"{kind}: stopped early: {exc!r}")
    finally:
        for p in (pool, monitor):
            await close_pool(p)
        await host.close()
        server.stop()
    fig["load_after"] = loadavg()
    if kind == "live":
        # Likes are stored every few seconds and at shutdown: after a clean stop all are in.
        fig["likes_stored"] = db_scalar(server, "SELECT coalesce(sum(likes), 0) FROM meeting_interaction")
        fig["comments_stored"] = db_scalar(server, "SELECT count(*) FROM comment")
        fig["ballots_stored_end"] = db_scalar(server, "SELECT count(*) FROM ballot WHERE item_id = :i", i=item)
    return fig


async def run_cluster(cfg: Config, profile: Path | None) -> Figures:
    fig = Figures("cluster")
    fig["load_before"] = loadavg()
    server = start_live_cluster(cfg.cluster_workers)
    pool: LoadPool | None = None
    host = Host(server)
    item = item2 = 0
    try:
        await host.connect()
        await host.cmd("meeting.start")
        item, item2 = int(host.state["items"][0]["id"]), int(host.state["items"][1]["id"])
        options = [o["key"] for o in host.state["meeting"]["scheme"]["options"]]
        await host.cmd("item.open", item_id=item)
        loaders = max(cfg.loaders, 2 * cfg.cluster_workers)
        pool = await LoadPool.start(server, loaders, first_src=40)
        await asyncio.sleep(1.0)
        rss0 = [server_rss(pid) for pid in server.pids]
        log(f"cluster: {cfg.cluster_audience} phones over {cfg.cluster_workers} workers")
        j = await connect(pool, server, list(range(cfg.cluster_audience)), max(cfg.fill_window, cfg.join_window))
        fig["join_p95_ms"] = ms(percentile(j["lat"], 95))
        await asyncio.sleep(3.0)
        st = await stats(pool)
        per_worker = [sum(r["ready"] for i, r in enumerate(st["replies"]) if i % len(server.ports) == w)
                      for w in range(len(server.ports))]
        rss1 = [server_rss(pid) for pid in server.pids]
        fig["held"] = st["ready"]
        fig["held_per_worker"] = per_worker
        fig["rss_per_conn_kb"] = [round((b - a) / max(1, n), 1) for a, b, n in zip(rss0, rss1, per_worker,
                                                                                    strict=True)]
        fig["rss_full_mb"] = [round(b / 1024, 1) for b in rss1]
        log(f"cluster: {fig['held']} held {per_worker}; fan-out")
        await fan_out(pool, host, server, item, fig, cfg)
        log("cluster: vote burst")
        prof = Profiler(profile / "cluster" if profile else None, server.pids)  # the first worker
        with prof.phase("votes"):
            await vote_burst(pool, host, server, item, fig, cfg, options, cfg.vote_window)
        log("cluster: vote capacity")
        await to_voting(host, item2, item)
        await vote_burst(pool, host, server, item2, fig, cfg, options, 1.0, key="cap")
        st = await stats(pool)
        fig["closes"] = st["closes"]
        fig["gaps_total"] = st["gaps"]
    except Exception as exc:  # keep what was measured; say what broke
        log(f"cluster run stopped: {exc!r}")
        fig.notes.append(f"cluster: stopped early: {exc!r}")
    finally:
        await close_pool(pool)
        await host.close()
        stopper = server.cleanup
        server.cleanup = []
        server.stop()
    fig["load_after"] = loadavg()
    try:
        fig["ballots_stored_end"] = db_scalar(server, "SELECT count(*) FROM ballot WHERE item_id = :i", i=item)
    finally:
        for fn in stopper:
            with contextlib.suppress(Exception):
                fn()
    return fig


def loadavg() -> float:
    """The machine's 1-minute load average: others' work on the box shows here."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def server_rss(pid: int) -> int:
    from _harness import proc_rss_kb

    return proc_rss_kb(pid)



def settle_disk() -> None:
    """Before each target: let the machine's PostgreSQL write out what the last cluster run left
    dirty (a CHECKPOINT; a 30,000-phone run leaves tens of MB), and flush the page cache, so that
    the writes of one target do not land in the next one's commits (the live worker's SQLite
    syncs every group commit). Without a reachable PostgreSQL only the flush."""
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute("CHECKPOINT")
    os.sync()
    time.sleep(2.0)


async def run_once(cfg: Config, only: set[str], profile: Path | None) -> tuple[Figures | None, ...]:
    live = bare = cluster = None
    sizes: dict[str, int] = {}
    if "live" in only:
        settle_disk()
        live = await run_single("live", cfg, sizes, profile)
        sizes = {k: v for k, v in live.values.get("sizes", {}).items() if v}
    if "bare" in only:
        settle_disk()
        bare = await run_single("bare", cfg, sizes, None)
    if "cluster" in only:
        settle_disk()
        try:
            cluster = await run_cluster(cfg, profile)
        except Exception as exc:  # PostgreSQL or Redis missing: say so, do not fake it
            log(f"cluster run failed: {exc!r}")
            cluster = Figures("cluster", notes=[repr(exc)])
    return live, bare, cluster


async def main_async(cfg: Config, only: set[str], profile: Path | None, runs: int = 1) -> int:
    from _summary import summary

    t0 = time.monotonic()
    correct = True
    done: list[tuple[Figures | None, ...]] = []
    for n in range(runs):
        if runs > 1:
            log(f"full run {n + 1} of {runs}")
        live, bare, cluster = await run_once(cfg, only, profile if n == 0 else None)
        done.append((live, bare, cluster))
        text, ok = report(cfg, live, bare, cluster)
        correct = correct and ok and not any(f.notes for f in (live, bare, cluster) if f)
        print()
        print(f"audience benchmarks, run {n + 1} of {runs} ({'smoke' if cfg.audience < 1000 else 'full'} run, "
              f"{time.monotonic() - t0:.0f} s so far)")
        if n == 0:
            print(f"machine: {machine()}")
        print(text)
        for f in (live, bare, cluster):
            for note in f.notes if f else []:
                print(f"note: {note}")
    table, complete = summary([tuple(f.values if f else None for f in run) for run in done])  # type: ignore[misc]
    print()
    print(f"summary: median of {runs} full run{'s' if runs > 1 else ''} (min–max), {time.monotonic() - t0:.0f} s")
    print(table)
    print("\nPASS/MISS are against the targets of issues 7 and 16, on the medians (measured, never adjusted).\n"
          "The exit status is 1 only when a correctness check fails (counts equal, none lost, no gaps, none missing).")
    return 0 if correct and complete else 1


def _time_limit(*_: Any) -> None:
    from _harness import _kill_children

    print("bench time limit reached; stopping everything", file=sys.stderr, flush=True)
    _kill_children()
    os._exit(3)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="a few hundred sockets, every phase, under 2 minutes")
    p.add_argument("--only", default="live,bare,cluster", help="targets to run: live, bare, cluster")
    p.add_argument("--profile", type=Path, help="py-spy the live server during each phase into this directory")
    p.add_argument("--audience", type=int)
    p.add_argument("--cluster-audience", type=int)
    p.add_argument("--join-window", type=float)
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--runs", type=int, default=1, help="full runs; the summary gives each headline's median")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="any Config field, e.g. --set votes=3000 (a reduced-size run)")
    args = p.parse_args()
    cfg = Config.smoke() if args.smoke else Config()
    if args.audience:
        cfg.audience = args.audience
    if args.cluster_audience:
        cfg.cluster_audience = args.cluster_audience
    if args.join_window:
        cfg.join_window = args.join_window
    if args.max_minutes:
        cfg.max_minutes = args.max_minutes
    for item in args.set:
        name, _, raw = item.partition("=")
        if name not in Config.__dataclass_fields__:
            p.error(f"no Config field {name!r}")
        setattr(cfg, name, type(getattr(cfg, name))(raw))
    raise_nofile()
    os.chdir(ROOT)
    # The whole run is bounded: past the limit everything is torn down (children get killed at exit).
    signal.signal(signal.SIGALRM, _time_limit)
    signal.alarm(int(cfg.max_minutes * 60 * max(1, args.runs)))
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    return asyncio.run(main_async(cfg, only, args.profile, max(1, args.runs)))


if __name__ == "__main__":
    raise SystemExit(main())
