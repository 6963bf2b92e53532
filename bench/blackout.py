"""Blackout: phones in network namespaces, some lose their link silently, then come back.

The server runs in the root namespace, bound to 10.77.1.1. Two namespaces made here hold the
phones, each behind a veth pair: ``lvb-stay`` (10.77.1.2) and ``lvb-cut`` (10.77.2.2). During
测评 the link of ``lvb-cut`` is set down on the phones' side (``ip link set … down``: no FIN, no
RST reaches the server; this kernel has no netem and there is no iptables), the phones there
drop their sockets (their RSTs are lost on the dead link) and keep redialling with the client's
backoff; after ``--cut-s`` the link comes back, with a new address for the namespace (as from
DHCP), so the server's old sockets get no RST: only its keepalive closes them. Meanwhile the
others vote and the host changes the meeting, so the returning phones have events to catch up on.

Checks (exit 1 if one fails):
- the server never reaches its file limit (its open descriptors are sampled every 0.5 s);
- every phone is back (past its replay or snapshot) and current (at the host's seq) within
  ``--back-s`` (60 s) of the link's return;
- no acknowledged ballot is lost or duplicated: the stored ballots of the item are exactly the
  acknowledged ballot ids, once each.

    python bench/blackout.py            # 19,000 phones, 5,000 cut for 20 s
    python bench/blackout.py --smoke    # 200 phones, 60 cut for 5 s, cap 210 (CI)

Needs root and ``ip netns``; without them it says so and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (
    BENCH,
    ROOT,
    Host,
    LoadClient,
    LoadPool,
    Server,
    _child_setup,
    _meeting_from_output,
    device_cookies,
    free_port,
    hold_netns_lock,
    percentile,
    raise_nofile,
    spawn,
    table,
    wait_http,
)

SERVER_IP = "10.77.1.1"
NETS = {"stay": ("lvb-stay", "lvbs", "10.77.1"), "cut": ("lvb-cut", "lvbc", "10.77.2")}
PER_CLIENT = 6000  # phones per load-client process (each under its own file limit)


def can_run() -> str | None:
    """Why this machine cannot run the blackout, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns add, veth pairs)"
    if not shutil.which("ip"):
        return "needs the ip command (iproute2)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"ip netns is unavailable: {probe.stderr.strip()}"
    return None


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def net_up() -> None:
    net_down()
    for ns, dev, prefix in NETS.values():
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", f"{dev}0", "type", "veth", "peer", "name", f"{dev}1")
        sh("ip", "link", "set", f"{dev}1", "netns", ns)
        sh("ip", "addr", "add", f"{prefix}.1/24", "dev", f"{dev}0")
        sh("ip", "link", "set", f"{dev}0", "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{prefix}.2/24", "dev", f"{dev}1")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", f"{dev}1", "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        sh("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", f"{prefix}.1")
        sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65000")


def net_down() -> None:
    for ns, dev, _ in NETS.values():
        subprocess.run(["ip", "link", "del", f"{dev}0"], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def set_link(which: str, up: bool) -> None:
    ns, dev, prefix = NETS[which]
    sh("ip", "netns", "exec", ns, "ip", "link", "set", f"{dev}1", "up" if up else "down")
    if up:  # a link that went down lost its routes (as a phone's Wi-Fi would, until DHCP)
        sh("ip", "netns", "exec", ns, "ip", "route", "replace", "default", "via", f"{prefix}.1")


@dataclass
class NsServer(Server):
    """The server on 10.77.1.1 (both namespaces reach it)."""

    @property
    def base(self) -> str:
        return f"http://{SERVER_IP}:{self.ports[0]}"

    @property
    def ws(self) -> str:
        return f"ws://{SERVER_IP}:{self.ports[0]}"


def start_server(env: dict[str, str]) -> NsServer:
    data = Path(tempfile.mkdtemp(prefix="live-blackout-"))
    out = subprocess.run([sys.executable, "-m", "live.cli", "demo", "--data-dir", str(data), "--no-serve"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    code, password = _meeting_from_output(out)
    port = free_port()
    log = data / "server.log"
    proc = spawn([sys.executable, "-m", "live.cli", "serve", "--host", SERVER_IP, "--port", str(port),
                  "--data-dir", str(data)], env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                 stderr=log.open("ab"))
    wait_http(f"http://{SERVER_IP}:{port}/healthz", log=log)
    return NsServer([proc], [port], code, password, (data / "secret.key").read_text().strip(), data,
                    database_url=f"sqlite:///{data / 'live.db'}")


async def start_pool(server: Server, which: str, n: int) -> LoadPool:
    ns, _, prefix = NETS[which]
    clients = []
    for _ in range(n):
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", ns, sys.executable, str(BENCH / "_wsload.py"), "--serve", "--host", SERVER_IP,
            "--port", str(server.ports[0]), "--code", server.code, "--src", f"{prefix}.2", "--max-seconds", "3600",
            cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, preexec_fn=_child_setup,
            limit=256 * 1024 * 1024)
        clients.append(LoadClient(proc, f"{ns}/{prefix}.2", server.ports[0]))
    for c in clients:
        c.waiting[0] = asyncio.get_running_loop().create_future()
    await asyncio.gather(*[asyncio.wait_for(c.waiting[0], 60) for c in clients])
    return LoadPool(clients)


class FdWatch(threading.Thread):
    """Samples the server's open descriptors every 0.5 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()
        limits = Path(f"/proc/{pid}/limits").read_text()
        soft = re.search(r"Max open files\s+(\d+)", limits)
        self.limit = int(soft[1]) if soft else 0

    def run(self) -> None:
        while not self.stop.wait(0.5):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, len(os.listdir(f"/proc/{self.pid}/fd")))


def health(server: Server) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"{server.base}/healthz", timeout=10) as resp:
        return dict(json.loads(resp.read()))


async def vote(pool: LoadPool, devices: list[int], item: int, window: float) -> list[dict[str, Any]]:
    start = time.monotonic() + 0.5
    # Every load client gets the whole list and votes with the phones it holds: a slice of the
    # devices split afresh would not line up with how they were split to connect.
    return await pool.each("vote", [{"devices": devices} for _ in pool.clients], item_id=item,
                           options=["满意", "基本满意", "不满意"], start=start, window=window, limit=120)


def acked(replies: list[dict[str, Any]]) -> int:
    return sum(r["statuses"].get("stored", 0) + r["statuses"].get("replaced", 0)
               + r["statuses"].get("duplicate", 0) for r in replies)


async def run(args: argparse.Namespace) -> int:
    n, cut_n = args.n, args.cut
    stay_n = n - cut_n
    env = {"LIVE_OPEN_IDS_PER_IP": str(n + 100)}
    if args.max_sockets:
        env["LIVE_MAX_SOCKETS"] = str(args.max_sockets)
    net_up()
    server = start_server(env)
    watch = FdWatch(server.proc.pid)
    watch.start()
    pools: list[LoadPool] = []
    host = Host(server)
    failures: list[str] = []
    try:
        cap = health(server)["socket_cap"]
        print(f"server: file limit {watch.limit}, socket cap {cap}; {n} phones, {cut_n} cut for {args.cut_s:g} s")
        stay = await start_pool(server, "stay", max(1, -(-stay_n // PER_CLIENT)))
        cut = await start_pool(server, "cut", max(1, -(-cut_n // PER_CLIENT)))
        pools = [stay, cut]
        stay_dev, cut_dev = list(range(1, stay_n + 1)), list(range(stay_n + 1, n + 1))
        t0 = time.monotonic()
        for pool, devs in ((stay, stay_dev), (cut, cut_dev)):
            cookies = device_cookies(server.secret, devs)
            res = await pool.each("connect", [{"devices": part, "window": args.join_s, "limit": 300}
                                              for part in pool.split(cookies)], timeout=900)
            failed = sum(r["failed"] for r in res)
            if failed:
                failures.append(f"{failed} phones could not join")
        print(f"joined {n} phones in {time.monotonic() - t0:.1f} s; server sockets {health(server)['sockets']}")
        await host.connect()
        await host.cmd("meeting.start")
        item = int(host.state["items"][0]["id"])
        await host.cmd("item.open", item_id=item)
        for _ in range(3):
            await host.cmd("item.advance", item_id=item)
        await asyncio.sleep(1.0)

        # Before: half of each side votes.
        before_stay, before_cut = stay_dev[: len(stay_dev) // 4], cut_dev[: len(cut_dev) // 2]
        acks = acked(await vote(stay, before_stay, item, args.vote_s)) + acked(await vote(cut, before_cut, item,
                                                                                          args.vote_s))
        print(f"before the cut: {acks} ballots acknowledged")

        # The cut: the link goes down on the phones' side; they drop their sockets and redial.
        set_link("cut", False)
        cut_at = time.monotonic()
        await asyncio.sleep(0.5)
        drops = [asyncio.create_task(c.call("drop", timeout=600, devices=part, limit=args.cut_s + args.back_s + 30))
                 for c, part in zip(cut.clients, cut.split(cut_dev), strict=True)]
        # Meanwhile the hall goes on: more ballots, and changes the cut phones must catch up on.
        during = stay_dev[len(stay_dev) // 4: len(stay_dev) // 2]
        acks_during = acked(await vote(stay, during, item, min(args.vote_s, args.cut_s / 2)))
        for k in range(5):
            await host.cmd("meeting.durations", durations={"report": 600 + k})
        dead_left = health(server)["sockets"]
        await asyncio.sleep(max(0.0, cut_at + args.cut_s - time.monotonic()))
        sockets_at_return = health(server)
        if args.new_address:
            # Back with a new address (as from DHCP): what the server sends to the old sockets
            # now finds nobody (no RST), so only its keepalive can close them.
            ns, dev, prefix = NETS["cut"]
            sh("ip", "netns", "exec", ns, "ip", "addr", "del", f"{prefix}.2/24", "dev", f"{dev}1")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{prefix}.3/24", "dev", f"{dev}1")
            await cut.each("source", src=f"{prefix}.3")
        set_link("cut", True)
        up_at = time.monotonic()
        print(f"link down {up_at - cut_at:.1f} s; {acks_during} ballots acknowledged meanwhile; server sockets "
              f"{dead_left} after the changes, {sockets_at_return['sockets']} at the return "
              f"(refused so far {sockets_at_return['sockets_refused']})")
        drop_res = await asyncio.gather(*drops)
        back = sum(r["back"] for r in drop_res)
        back_s = [s - (up_at - cut_at) for r in drop_res for s in r["back_s"]]
        # Every phone current: at the host's seq.
        target = host.seq
        current_at = None
        deadline = up_at + args.back_s
        while time.monotonic() < deadline:
            stats = [s for p in pools for s in await p.each("stats")]
            if all(s["ready"] == s["phones"] and s["seq_min"] is not None and s["seq_min"] >= target for s in stats):
                current_at = time.monotonic()
                break
            await asyncio.sleep(0.5)
        # After: the cut phones that voted send again (same ballot ids), the others vote.
        acks_after = acked(await vote(cut, cut_dev, item, args.vote_s))
        final = health(server)
        await asyncio.sleep(1.0)
        watch.stop.set()
        watch.join()
        with contextlib.closing(sqlite3.connect(server.data_dir / "live.db", timeout=30)) as db:
            rows = db.execute("SELECT id FROM ballot WHERE item_id = ?", (item,)).fetchall()
        stored = [r[0] for r in rows]
        expected = {f"bench-{item}-{d:07d}" for d in [*before_stay, *before_cut, *during, *cut_dev]}
        log = (server.data_dir / "server.log").read_text(errors="replace")
        rows_out = [
            ("phones / cut", f"{n} / {cut_n}"),
            ("server file limit / socket cap", f"{watch.limit} / {cap}"),
            ("server open files, peak", watch.peak),
            ("sockets refused (4429)", final["sockets_refused"]),
            ("cut phones back", f"{back} / {cut_n}"),
            ("back after the link returned, p50 / p99 / max",
             f"{percentile(back_s, 50):.1f} / {percentile(back_s, 99):.1f} / {max(back_s, default=0):.1f} s"
             if back_s else "-"),
            ("every phone current after the return", f"{current_at - up_at:.1f} s" if current_at else "no"),
            ("replays / snapshots on return", f"{sum(r['replays'] for r in drop_res)} / "
                                              f"{sum(r['snapshots'] for r in drop_res)}"),
            ("ballots acked before / during / after", f"{acks} / {acks_during} / {acks_after}"),
            ("stored ballots / distinct / expected", f"{len(stored)} / {len(set(stored))} / {len(expected)}"),
        ]
        print(table(rows_out))
        if watch.peak >= watch.limit:
            failures.append(f"the server reached its file limit ({watch.peak} of {watch.limit})")
        if "Too many open files" in log:
            failures.append("the server log says: Too many open files")
        if back < cut_n:
            failures.append(f"only {back} of {cut_n} cut phones came back")
        if current_at is None:
            failures.append(f"not every phone was current (seq {target}) within {args.back_s:g} s of the return")
        sent_total = len(before_stay) + len(before_cut) + len(during) + len(cut_dev)
        if acks + acks_during + acks_after != sent_total:
            failures.append(f"ballots: {sent_total - acks - acks_during - acks_after} of {sent_total} "
                            f"not acknowledged")
        if len(stored) != len(set(stored)) or set(stored) != expected:
            lost = len(expected - set(stored))
            failures.append(f"ballots: {lost} acknowledged ballots missing, {len(stored) - len(set(stored))} "
                            f"duplicated, {len(set(stored) - expected)} unexpected")
    finally:
        watch.stop.set()
        await host.close()
        for p in pools:
            await p.close()
        server.stop()
        net_down()
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="a small, quick run (200 phones, 60 cut for 5 s)")
    p.add_argument("-n", type=int, default=19_000, help="phones connected")
    p.add_argument("--cut", type=int, default=5_000, help="phones whose link goes down")
    p.add_argument("--cut-s", type=float, default=20.0, help="how long the link stays down")
    p.add_argument("--back-s", type=float, default=60.0, help="every phone back and current within this")
    p.add_argument("--join-s", type=float, default=60.0, help="arrivals spread over this many seconds")
    p.add_argument("--vote-s", type=float, default=5.0, help="each voting wave spread over this")
    p.add_argument("--same-address", dest="new_address", action="store_false",
                   help="the cut phones come back with their old address (the server's retransmissions "
                        "then meet RSTs that close the dead sockets at once)")
    p.add_argument("--max-sockets", type=int, default=0, help="LIVE_MAX_SOCKETS (default: phones + 50)")
    args = p.parse_args()
    why = can_run()
    if why:
        print(f"SKIP blackout: {why}")
        return 0
    if args.smoke:
        args.n, args.cut, args.cut_s, args.join_s, args.vote_s = 200, 60, 5.0, 2.0, 1.0
        # A cap just above the hall: the cut phones return while their old sockets are still
        # open (5 s < the 20 s keepalive bound), so most are refused with 4429 and come back
        # after the retry hint, once the keepalive closed the dead ones.
        args.max_sockets = args.max_sockets or args.n + 10
    hold_netns_lock("blackout")
    if not args.max_sockets:
        # The default cap (file limit - 1,000) is the phones' number itself on a 20,000-file box:
        # with the host console on top, the last phone back would be refused for good.
        args.max_sockets = args.n + 50
    raise_nofile()
    random.seed(7)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
