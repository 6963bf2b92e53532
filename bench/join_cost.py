"""Server CPU per WebSocket join: the live server (1 worker, ``live demo --no-serve`` +
``live serve``), its meeting started and an item open for voting, then N phones join
(each with a signed device cookie, so each reads its own ballots) over a window; the
server's CPU (``/proc/<pid>/stat``, user + system) before and after, divided by the joins.
Then the same rounds against the bare reference (bench/_bare.py: ``websockets`` with the
same per-join state and message sizes), so that both figures come from one run.

    python bench/join_cost.py                       # 3,000 phones over 10 s, 3 rounds
    python bench/join_cost.py -n 5000 --window 15 --rounds 2
    python bench/join_cost.py --profile /tmp/jc     # py-spy the joins (one raw file per round)
    python bench/join_cost.py --smoke               # 200 phones, one round
    python bench/join_cost.py --no-bare             # the live server only

Each round joins fresh devices on top of the sockets already open (they stay open, as in
a join storm), so a later round's joins also pay for the presence and ticker work of a
bigger room. The box's 1-minute load average is printed beside each round: on a shared
machine compare before/after runs made back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import Host, LoadPool, device_cookies, percentile, raise_nofile, start_bare, start_live


def user_system_s(pid: int) -> tuple[float, float]:
    """A process's user and system CPU seconds (all threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


async def join_round(pool: LoadPool, secret: str, devices: list[int], window: float) -> dict[str, object]:
    parts = pool.split(device_cookies(secret, devices))
    replies = await pool.each("connect", [{"devices": part, "window": window, "limit": 180} for part in parts],
                              timeout=window + 240)
    lat = [x for r in replies for x in r["to_snapshot"]]
    return {"ready": sum(int(r["ready"]) for r in replies), "failed": sum(int(r["failed"]) for r in replies),
            "lat": lat}


async def run_target(kind: str, args: argparse.Namespace, sizes: dict[str, int]) -> tuple[list[float], dict[str, int]]:
    """Rounds of joins on one server, ``live`` or the ``bare`` reference (bench/_bare.py, sent
    the live server's message sizes). Returns CPU ms per join for each round, and the sizes of
    what the live host received (for the bare server that follows)."""
    server = start_live() if kind == "live" else start_bare(sizes)
    pool: LoadPool | None = None
    host = Host(server)
    per_join: list[float] = []
    try:
        await host.connect()
        await host.cmd("meeting.start")
        items = host.state.get("items") or [{"id": 1}]
        await host.cmd("item.open", item_id=int(items[0]["id"]))
        pool = await LoadPool.start(server, args.loaders)
        await asyncio.sleep(1.0)
        for r in range(args.rounds):
            devices = list(range(r * args.n, (r + 1) * args.n))
            spy = None
            if args.profile and kind == "live":
                Path(args.profile).mkdir(parents=True, exist_ok=True)
                spy = subprocess.Popen(["py-spy", "record", "--pid", str(server.pids[0]), "--rate", "100",
                                        "--format", "raw", "--nonblocking", "--threads",
                                        "--output", str(Path(args.profile) / f"join-{r + 1}.txt")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            load0 = loadavg()
            cpu0 = server.cpu_s()
            us0 = user_system_s(server.pids[0])
            res = await join_round(pool, server.secret, devices, args.window)
            cpu = server.cpu_s() - cpu0
            us1 = user_system_s(server.pids[0])
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            ready = int(res["ready"])  # type: ignore[call-overload]
            ms = cpu / max(1, ready) * 1000
            per_join.append(ms)
            lat: list[float] = res["lat"]  # type: ignore[assignment]
            print(f"{kind} round {r + 1}: {ready} joined ({res['failed']} failed) over {args.window:.0f} s, "
                  f"server CPU {cpu:.2f} s (user {us1[0] - us0[0]:.2f}, system {us1[1] - us0[1]:.2f}) = {ms:.2f} ms "
                  f"per join; first snapshot p50 "
                  f"{percentile(lat, 50) * 1000:.0f} ms p95 {percentile(lat, 95) * 1000:.0f} ms; "
                  f"load {load0:.2f} -> {loadavg():.2f}", flush=True)
            if ready != len(devices):
                raise SystemExit(f"{kind}: not every phone joined ({ready} of {len(devices)})")
            await asyncio.sleep(args.pause)
        got = {k: host.size(k) for k in ("welcome", "snapshot", "tally", "presence")} if kind == "live" else sizes
        return per_join, {k: v for k, v in got.items() if v}
    finally:
        await host.close()
        if pool is not None:
            await pool.close()
        server.stop()


def _mid(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _median(values: list[float]) -> str:
    return f"median {_mid(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


async def main(args: argparse.Namespace) -> int:
    raise_nofile()
    live, sizes = await run_target("live", args, {})
    print(f"live: server CPU per join (ms): {_median(live)} over {len(live)} rounds", flush=True)
    if args.no_bare:
        return 0
    bare, _ = await run_target("bare", args, sizes)
    print(f"bare: server CPU per join (ms): {_median(bare)} over {len(bare)} rounds")
    ratio = _mid(live) / max(1e-9, _mid(bare))
    print(f"live / bare (medians): {ratio:.2f}")
    return 0


def cli() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=3000, help="phones per round")
    p.add_argument("--window", type=float, default=10.0, help="seconds over which a round's phones arrive")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pause", type=float, default=3.0, help="seconds between rounds")
    p.add_argument("--loaders", type=int, default=2, help="load-client processes")
    p.add_argument("--profile", help="directory for py-spy raw profiles, one per round")
    p.add_argument("--smoke", action="store_true", help="200 phones over 2 s, one round")
    p.add_argument("--no-bare", action="store_true", help="skip the bare reference (bench/_bare.py)")
    args = p.parse_args()
    if args.smoke:
        args.n, args.window, args.rounds, args.pause = 200, 2.0, 1, 0.0
    return asyncio.run(main(args))


if __name__ == "__main__":
    raise SystemExit(cli())
