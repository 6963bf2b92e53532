"""Several hosts behind nginx, on one box: each worker host in its own network namespace.

    python bench/hosts.py                      # 15,000 phones over 3 worker hosts (needs a quiet box)
    python bench/hosts.py --audience 30000     # bigger
    python bench/hosts.py --smoke              # 300 phones; a clear SKIP (exit 0) without netns/nginx

Topology (all made here, all removed at exit; names start with ``lvh``)::

    root namespace: bridge lvhbr 10.231.0.1 - PostgreSQL and Redis of the machine (127.0.0.1),
                    reached from the namespaces through socat on 10.231.0.1:15432 / :16379
    lvh-w1..w3:     one ``live serve`` each on 10.231.0.11..13:8000 (PostgreSQL + Redis)
    lvh-lb:         nginx on 10.231.0.20:80 running deploy/nginx.conf
    lvh-load:       the phones (bench/_wsload.py processes, 10.231.0.31.. as source addresses)

deploy/nginx.conf is used as written except for these substitutions: the upstream's one
server line becomes the three worker hosts; the TLS listener ``listen 443 ssl http2`` becomes
plain ``listen 10.231.0.20:80`` (the load clients speak plain WebSocket: TLS for thousands of
sockets would take the cores being measured), the redirect server's port 80 becomes 81, the
certificate and cache paths point into a temporary directory. It is included in a generated
main file (``worker_processes auto``, ``worker_connections``, ``access_log off``).

Phases: all phones join through nginx (least_conn spreads them); sockets held per worker
(from each worker's /metrics) and in nginx; fan-out of phase changes to every phone (p50/p99)
and a burst of events; a vote burst (ack p99, stored = acks = every phone's tally); live.json
through nginx's cache vs straight from a worker. CPU of each group of processes per phase,
against the box's 2 cores, says what is CPU-bound.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _phases import Config, Figures, close_pool, connect, fan_out, log, ms, stats, vote_burst

from _harness import (
    BENCH,
    CLK_TCK,
    PG_URL,
    REDIS_URL,
    ROOT,
    Host,
    LoadClient,
    LoadPool,
    Server,
    _child_setup,
    hold_netns_lock,
    percentile,
    pg_meeting,
    proc_cpu_s,
    proc_rss_kb,
    spawn,
    stop_proc,
    wait_http,
)

NET = "10.231.0"
BRIDGE = "lvhbr"
WORKERS = [f"{NET}.{11 + i}" for i in range(3)]
LB = f"{NET}.20"
LOAD_SRC = [f"{NET}.{31 + i}" for i in range(8)]
PG_FWD, REDIS_FWD = 15432, 16379
NS = ["lvh-w1", "lvh-w2", "lvh-w3", "lvh-lb", "lvh-load"]
NS_ADDR = {"lvh-w1": [WORKERS[0]], "lvh-w2": [WORKERS[1]], "lvh-w3": [WORKERS[2]], "lvh-lb": [LB],
           "lvh-load": LOAD_SRC}
# Two descriptors per phone in nginx, and this box caps a process at 20,000 files (hard limit, no
# CAP_SYS_RESOURCE to raise it): 4 nginx workers of 19,500 each hold ~38,000 phones between them.
NGINX_WORKERS = 4
NGINX_NOFILE = 19_500
METRICS_TOKEN = uuid.uuid4().hex


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


# --- can this box do it? ---------------------------------------------------------------------


def missing_prerequisite(install: bool) -> str | None:
    """Why the topology cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns, veth, a bridge)"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    probe = "lvh-probe"
    if sh("ip", "netns", "add", probe, check=False).returncode != 0:
        return "cannot create a network namespace here"
    sh("ip", "netns", "del", probe, check=False)
    if shutil.which("socat") is None:
        return "no socat (it forwards PostgreSQL and Redis from the bridge to 127.0.0.1)"
    if shutil.which("nginx") is None:
        if not install or shutil.which("apt-get") is None:
            return "nginx is not installed (the full run installs it with apt-get when root)"
        log("nginx is not installed: apt-get install nginx")
        got = sh("apt-get", "install", "-y", "--no-install-recommends", "nginx", check=False)
        if got.returncode != 0 or shutil.which("nginx") is None:
            return f"apt-get install nginx failed: {got.stderr[-300:]}"
    try:
        import psycopg
        import redis

        with psycopg.connect(PG_URL, connect_timeout=3):
            pass
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"PostgreSQL or Redis not reachable: {exc!r}"[:300]
    return None


# --- the network -----------------------------------------------------------------------------


def teardown_net() -> None:
    for ns in NS:
        sh("ip", "netns", "del", ns, check=False)
    for ns in NS:
        sh("ip", "link", "del", f"{ns}-h", check=False)
    sh("ip", "link", "del", BRIDGE, check=False)


def build_net() -> None:
    teardown_net()  # what a killed run left behind
    atexit.register(teardown_net)
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{NET}.1/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for ns in NS:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", f"{ns}-h", "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", f"{ns}-h", "master", BRIDGE, "up")
        inside = ["ip", "netns", "exec", ns]
        for addr in NS_ADDR[ns]:
            sh(*inside, "ip", "addr", "add", f"{addr}/24", "dev", "eth0")
        sh(*inside, "ip", "link", "set", "eth0", "up")
        sh(*inside, "ip", "link", "set", "lo", "up")
        # A reconnect wave queues instead of being dropped (as deploy/README.md says for a host).
        sh(*inside, "sysctl", "-qw", "net.core.somaxconn=65535", "net.ipv4.tcp_max_syn_backlog=65535",
           "net.ipv4.ip_local_port_range=1024 65000")


def forwarders() -> list[subprocess.Popen[Any]]:
    """PostgreSQL and Redis listen on 127.0.0.1 only: reach them from the bridge through socat."""
    pg_port = re.search(r"@[^:/]+:(\d+)", PG_URL)
    redis_port = re.search(r"//[^:/]+:(\d+)", REDIS_URL)
    out = []
    for listen, port in ((PG_FWD, pg_port[1] if pg_port else "5432"),
                         (REDIS_FWD, redis_port[1] if redis_port else "6379")):
        out.append(spawn(["socat", f"TCP-LISTEN:{listen},bind={NET}.1,fork,reuseaddr,backlog=1024",
                          f"TCP:127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.3)
    return out


# --- the servers -----------------------------------------------------------------------------


@dataclass
class FrontedServer(Server):
    """The meeting, reached through nginx (the host console and the phones alike)."""

    front: str = f"{LB}:80"
    worker_urls: tuple[str, ...] = ()

    @property
    def base(self) -> str:
        return f"http://{self.front}"

    @property
    def ws(self) -> str:
        return f"ws://{self.front}"


def start_workers(data: Path) -> FrontedServer:
    pg = pg_meeting(data)
    ns_url = re.sub(r"@[^/]+/", f"@{NET}.1:{PG_FWD}/", pg.url)
    ns_redis = re.sub(r"//[^/]+/", f"//{NET}.1:{REDIS_FWD}/", REDIS_URL)
    worker_env = {**os.environ, **pg.env, "LIVE_DATABASE_URL": ns_url, "LIVE_REDIS_URL": ns_redis,
                  "LIVE_TRUSTED_PROXIES": f"{LB}/32", "LIVE_METRICS_TOKEN": METRICS_TOKEN}
    server = FrontedServer([], [], pg.code, pg.password, pg.secret, data, database_url=pg.url, cleanup=[pg.drop],
                           worker_urls=tuple(f"http://{a}:8000" for a in WORKERS))
    for ns, addr in zip(NS[:3], WORKERS, strict=True):  # one after the other: the first migrates
        log_path = data / f"{ns}.log"
        server.procs.append(spawn(["ip", "netns", "exec", ns, sys.executable, "-m", "live.cli", "serve",
                                   "--host", addr, "--port", "8000", "--data-dir", str(data)],
                                  env=worker_env, stdout=subprocess.DEVNULL, stderr=log_path.open("ab")))
        server.ports.append(8000)
        wait_http(f"http://{addr}:8000/healthz", timeout=60, log=log_path)
    return server


def nginx_site(tmp: Path) -> str:
    """deploy/nginx.conf with the substitutions the module docstring lists, and nothing else."""
    site = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    upstream = "\n".join(f"    server {a}:8000 max_fails=3 fail_timeout=10s;" for a in WORKERS)
    subs = [(r"    server 127\.0\.0\.1:8000 max_fails=3 fail_timeout=10s;", upstream),
            (r"listen 443 ssl http2 backlog=8192;", f"listen {LB}:80 backlog=8192;"),
            (r"listen 80;", f"listen {LB}:81;"),
            (r"/etc/ssl/live/fullchain\.pem", str(tmp / "cert.pem")),
            (r"/etc/ssl/live/privkey\.pem", str(tmp / "key.pem")),
            (r"/var/cache/nginx/live_json", str(tmp / "cache"))]
    for pattern, repl in subs:
        site, n = re.subn(pattern, repl, site)
        if n != 1:
            raise SystemExit(f"deploy/nginx.conf changed: `{pattern}` found {n} times")
    return site


def start_nginx(tmp: Path) -> subprocess.Popen[Any]:
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp / "key.pem"),
       "-out", str(tmp / "cert.pem"), "-subj", "/CN=bench", "-days", "1")
    (tmp / "site.conf").write_text(nginx_site(tmp), encoding="utf-8")
    (tmp / "nginx.conf").write_text(
        f"user root;\npid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log warn;\nworker_processes {NGINX_WORKERS};\n"
        f"worker_rlimit_nofile {NGINX_NOFILE};\nevents {{ worker_connections {NGINX_NOFILE - 500}; }}\n"
        f"http {{ access_log off; include {tmp}/site.conf; }}\n", encoding="utf-8")
    test = sh("ip", "netns", "exec", "lvh-lb", "nginx", "-t", "-c", str(tmp / "nginx.conf"), "-p", str(tmp),
              check=False)
    if test.returncode != 0:
        raise SystemExit(f"nginx -t failed:\n{test.stderr}")
    proc = spawn(["ip", "netns", "exec", "lvh-lb", "nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp),
                  "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://{LB}:80/healthz", timeout=20, log=tmp / "nginx-error.log")
    return proc


async def start_load(server: Server, n: int) -> LoadPool:
    clients = []
    for i in range(n):
        src = LOAD_SRC[i % len(LOAD_SRC)]
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", "lvh-load", sys.executable, str(BENCH / "_wsload.py"), "--serve",
            "--host", LB, "--port", "80", "--code", server.code, "--src", src, "--max-seconds", "1800",
            cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, preexec_fn=_child_setup,
            limit=256 * 1024 * 1024)
        clients.append(LoadClient(proc, src, 80))
    pool = LoadPool(clients)
    for c in clients:
        c.waiting[0] = asyncio.get_running_loop().create_future()
    await asyncio.gather(*[asyncio.wait_for(c.waiting[0], 30) for c in clients])
    return pool


# --- what each process group costs -----------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    return out


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _by_name(name: str) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{d}/comm") as f:
                if f.read().strip() == name:
                    pids.append(int(d))
    return pids


def _box_busy_s() -> float:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK  # everything but idle and iowait


class Cpu:
    """CPU seconds per group of processes between two readings (PostgreSQL and Redis are the
    machine's own: their share includes any other work on them)."""

    def __init__(self, groups: dict[str, Any]) -> None:
        self.groups = groups  # name -> callable returning pids

    def read(self) -> dict[str, float]:
        out = {"box": _box_busy_s(), "wall": time.monotonic()}
        for name, pids in self.groups.items():
            total = 0.0
            for pid in pids():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += proc_cpu_s(pid)
            out[name] = total
        return out

    @staticmethod
    def cores(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        wall = max(1e-6, b["wall"] - a["wall"])
        return {k: round((b[k] - a[k]) / wall, 2) for k in a if k != "wall"} | {"seconds": round(wall, 1)}


# --- live.json --------------------------------------------------------------------------------


async def _poller(host: str, port: int, path: str, seconds: float, conns: int) -> dict[str, Any]:
    """Keep-alive GETs, one in flight per connection: requests answered and cache statuses."""
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: gzip\r\n\r\n".encode()
    done = 0
    statuses: dict[str, int] = {}
    lat: list[float] = []
    stop = time.monotonic() + seconds

    async def one() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                writer.write(req)
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: (\d+)", head)
                await reader.readexactly(int(length[1]) if length else 0)
            except (asyncio.IncompleteReadError, ConnectionError):  # nginx's keepalive_requests: a new one
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            lat.append(time.monotonic() - t0)
            m = re.search(rb"(?i)x-cache-status: (\w+)", head)
            key = m[1].decode() if m else "none"
            statuses[key] = statuses.get(key, 0) + 1
            done += 1
        writer.close()

    await asyncio.gather(*[one() for _ in range(conns)])
    return {"requests": done, "per_s": round(done / seconds), "statuses": statuses,
            "p99_ms": ms(percentile(lat, 99))}


def poll_in_load_ns(url_host: str, port: int, path: str, seconds: float, conns: int) -> dict[str, Any]:
    out = subprocess.run(["ip", "netns", "exec", "lvh-load", sys.executable, __file__, "--poll", url_host,
                          str(port), path, str(seconds), str(conns)], capture_output=True, text=True,
                         timeout=seconds + 60, check=False, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"live.json poller failed: {out.stderr[-800:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# --- the run ---------------------------------------------------------------------------------


def worker_sockets(server: FrontedServer) -> list[int]:
    import urllib.request

    held = []
    for url in server.worker_urls:
        req = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
        held.append(int(sum(float(v) for v in re.findall(r"^live_connections\{[^}]*\} (\S+)$", text, re.M))))
    return held


async def run(cfg: Config, loaders: int) -> Figures:
    fig = Figures("hosts")
    fig["load_before"] = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="live-hosts-"))
    build_net()
    fwd = forwarders()
    server = start_workers(tmp)
    nginx = start_nginx(tmp)
    pool: LoadPool | None = None
    host = Host(server)
    cpu = Cpu({"workers": lambda: server.pids,
               "nginx": lambda: _tree(nginx.pid),
               "load": lambda: [c.proc.pid for c in (pool.clients if pool else [])],
               "socat": lambda: [p for f in fwd for p in _tree(f.pid)],
               "postgres": lambda: _by_name("postgres"),
               "redis": lambda: _by_name("redis-server")})
    try:
        await host.connect()
        await host.cmd("meeting.start")
        item = int(host.state["items"][0]["id"])  # the fan-out takes it to 测评, then the votes
        options = [o["key"] for o in host.state["meeting"]["scheme"]["options"]]
        await host.cmd("item.open", item_id=item)
        pool = await start_load(server, loaders)
        rss0 = [proc_rss_kb(p) for p in server.pids]
        log(f"hosts: {cfg.audience} phones through nginx to 3 worker hosts")
        c0 = cpu.read()
        j = await connect(pool, server, list(range(cfg.audience)), cfg.join_window)
        c1 = cpu.read()
        fig["cpu_join"] = Cpu.cores(c0, c1)
        fig["join_p95_ms"] = ms(percentile(j["lat"], 95))
        fig["join_failed"] = j["failed"]
        await asyncio.sleep(3.0)
        st = await stats(pool)
        fig["held_phones"] = st["ready"]
        fig["held_per_worker"] = worker_sockets(server)
        fig["nginx_fds"] = sum(len(os.listdir(f"/proc/{p}/fd")) for p in _tree(nginx.pid))
        fig["rss_per_socket_kb"] = [round((proc_rss_kb(p) - a) / max(1, n), 1)
                                    for p, a, n in zip(server.pids, rss0, fig["held_per_worker"], strict=True)]
        fig["nginx_rss_mb"] = round(sum(proc_rss_kb(p) for p in _tree(nginx.pid)) / 1024, 1)
        log(f"hosts: held {fig['held_phones']} (per worker {fig['held_per_worker']}); fan-out")
        c0 = cpu.read()
        await fan_out(pool, host, server, item, fig, cfg)
        fig["cpu_fanout"] = Cpu.cores(c0, cpu.read())
        log("hosts: vote burst")
        c0 = cpu.read()
        await vote_burst(pool, host, server, item, fig, cfg, options, cfg.vote_window)
        fig["cpu_vote"] = Cpu.cores(c0, cpu.read())
        tallies = (await stats(pool))["tally_phones"].get(str(item), {})
        fig["vote_phones_with_final_tally"] = tallies.get(fig["vote_acked"], 0)
        log("hosts: live.json")
        path = f"/api/meetings/{server.code}/live.json"
        c0 = cpu.read()
        fig["livejson_nginx"] = poll_in_load_ns(LB, 80, path, 8, 32)
        fig["cpu_livejson_nginx"] = Cpu.cores(c0, cpu.read())
        c0 = cpu.read()
        fig["livejson_worker"] = poll_in_load_ns(WORKERS[0], 8000, path, 8, 32)
        fig["cpu_livejson_worker"] = Cpu.cores(c0, cpu.read())
        st = await stats(pool)
        fig["closes"] = st["closes"]
        fig["gaps_total"] = st["gaps"]
    except Exception as exc:  # keep what was measured; say what broke
        log(f"hosts run stopped: {exc!r}")
        fig.notes.append(f"stopped early: {exc!r}")
    finally:
        await close_pool(pool)
        await host.close()
        stop_proc(nginx, 10)
        stopper, server.cleanup = server.cleanup, []
        server.stop()
        for f in fwd:
            stop_proc(f, 5)
        for fn in stopper:
            with contextlib.suppress(Exception):
                fn()
        teardown_net()
    fig["load_after"] = os.getloadavg()[0]
    return fig


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--poll":  # the live.json poller, inside lvh-load
        h, port, path, seconds, conns = sys.argv[2:7]
        print(json.dumps(asyncio.run(_poller(h, int(port), path, float(seconds), int(conns)))))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="300 phones; SKIP (exit 0) when the box cannot")
    p.add_argument("--audience", type=int, default=15_000)
    p.add_argument("--join-window", type=float, default=0.0, help="seconds over which the phones arrive "
                   "(default: audience / 1000)")
    p.add_argument("--votes", type=int, default=5_000)
    p.add_argument("--vote-window", type=float, default=10.0)
    p.add_argument("--loaders", type=int, default=4)
    args = p.parse_args()
    why = missing_prerequisite(install=not args.smoke)
    if why:
        print(f"SKIP bench/hosts.py: {why}")
        return 0 if args.smoke else 2
    hold_netns_lock("hosts")
    window = args.join_window or max(5.0, args.audience / 1000)
    cfg = Config(audience=args.audience, join_window=window, votes=args.votes, vote_window=args.vote_window,
                 phase_changes=3, burst=20)
    loaders = args.loaders
    if args.smoke:
        cfg = Config(audience=300, join_window=3, votes=150, vote_window=2, phase_changes=3, burst=5)
        loaders = 2
    fig = asyncio.run(run(cfg, loaders))
    print(json.dumps({"config": {"audience": cfg.audience, "votes": cfg.votes, "vote_window": cfg.vote_window,
                                 "loaders": loaders}, **fig.values, "notes": fig.notes}, indent=1,
                     ensure_ascii=False, default=str))
    return 1 if fig.notes else 0


if __name__ == "__main__":
    raise SystemExit(main())
