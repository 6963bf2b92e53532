"""Tally scale: one meeting with up to 200,000 ballots on one item. Shows that a
ballot's tally update and a join cost the same at 1,000 ballots as at 200,000.

Measured in one process on a ``MeetingRuntime`` (the worker's live state), in CPU
time (``time.process_time``), so the figures hold on a shared, noisy machine:

- *update*: one ballot (new, or replacing one already counted) through
  ``apply_ballots`` and the ticker's ``take_tally_updates`` (the host's and the
  public view, encoded), median over the runs;
- *join*: what a joining phone and a joining host console are given (snapshot,
  tallies, presence), median;
- *load*: counting every ballot once, when a worker loads the meeting (CPU seconds);
- *from scratch*: the whole tally recomputed from every ballot (``live_tally``),
  which is what each change cost before the tallies were kept running.

    python bench/tally_scale.py            # 1,000 / 10,000 / 50,000 / 200,000 ballots
    python bench/tally_scale.py --smoke    # 1,000 / 5,000 / 20,000 (CI)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from live.domain.scheme import BallotValue, satisfaction_scheme
from live.domain.scoring import live_tally
from live.domain.visibility import TallyBatching
from live.realtime.runtime import MeetingRuntime
from live.store.events import encode


def _runtime(n: int, rng: random.Random) -> MeetingRuntime:
    scheme = satisfaction_scheme()
    options = [o.key for o in scheme.options]
    groups = [g.key for g in scheme.groups]
    state: dict[str, Any] = {
        "meeting": {"code": "SCALE1", "status": "live", "scheme": scheme.to_dict(),
                    "visibility": {"mode": "live", "small_group_k": 3}},
        "items": [{"id": 1, "phase": "voting", "result_hidden": False, "name": "述法人"}],
        "panel": [{"id": i, "name": f"评议员{i}"} for i in range(30)],
    }
    ballots = {1: {f"b{i}": (rng.choice(groups), {"option": rng.choice(options)}) for i in range(n)}}
    t0 = time.process_time()
    rt = MeetingRuntime(1, 100, state, ballots, TallyBatching(interval_s=0.0, min_ballots=1, catchup_s=0.0))
    rt.take_tally_updates(now=0.0)  # the count when a worker loads the meeting (once), timed apart
    rt.load_cpu_s = time.process_time() - t0  # type: ignore[attr-defined]
    return rt


def _cpu_ms(fn: Any, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        samples.append((time.process_time() - t0) * 1000)
    return statistics.median(samples)


def measure(n: int, runs: int, rng: random.Random) -> dict[str, float]:
    rt = _runtime(n, rng)
    load_s = float(rt.load_cpu_s)  # type: ignore[attr-defined]
    scheme = rt.scheme
    options = [o.key for o in scheme.options]
    groups = [g.key for g in scheme.groups]
    counter = iter(range(10**9))
    # Ticks far apart, so that neither the batching nor the ticker's back-off (TALLY_SHARE, set
    # by how long the load-time count took) skips a recount: every update is measured in full.
    clock = iter(range(10**6, 10**12, 10**4))

    def new_ballot() -> None:
        rt.apply_ballots([[1, f"n{next(counter)}", rng.choice(groups), {"option": rng.choice(options)}]])
        rt.take_tally_updates(now=float(next(clock)))

    def replaced_ballot() -> None:
        rt.apply_ballots([[1, f"b{rng.randrange(n)}", rng.choice(groups), {"option": rng.choice(options)}]])
        rt.take_tally_updates(now=float(next(clock)))

    def join(host: bool) -> None:
        rt.snapshot_wire()
        rt.tallies_for_join(host=host)
        encode(rt.presence())

    values = [BallotValue(g, c) for g, c in rt.ballots[1].values()]
    return {
        "ballots": n,
        "load_s": load_s,
        "new_ms": _cpu_ms(new_ballot, runs),
        "replaced_ms": _cpu_ms(replaced_ballot, runs),
        "join_phone_ms": _cpu_ms(lambda: join(False), runs),
        "join_host_ms": _cpu_ms(lambda: join(True), runs),
        "scratch_ms": _cpu_ms(lambda: live_tally(scheme, values), 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="up to 20,000 ballots (CI)")
    p.add_argument("--runs", type=int, default=200, help="updates and joins measured per size")
    args = p.parse_args()
    sizes = [1_000, 5_000, 20_000] if args.smoke else [1_000, 10_000, 50_000, 200_000]
    rng = random.Random(16)
    rows = [measure(n, 50 if args.smoke else args.runs, rng) for n in sizes]
    print("tally scale: one item, CPU ms (median) per operation")
    print(f"{'ballots':>9}  {'new ballot':>10}  {'replaced':>9}  {'join phone':>10}  {'join host':>9}  "
          f"{'from scratch':>12}  {'load (s)':>8}")
    for r in rows:
        print(f"{r['ballots']:>9,}  {r['new_ms']:>10.3f}  {r['replaced_ms']:>9.3f}  {r['join_phone_ms']:>10.3f}  "
              f"{r['join_host_ms']:>9.3f}  {r['scratch_ms']:>12.1f}  {r['load_s']:>8.2f}")
    first, last = rows[0], rows[-1]
    growth = max(last["new_ms"] / max(first["new_ms"], 1e-3), last["replaced_ms"] / max(first["replaced_ms"], 1e-3),
                 last["join_host_ms"] / max(first["join_host_ms"], 1e-3))
    flat = growth < 3.0
    print(f"update and join cost at {last['ballots']:,} vs {first['ballots']:,} ballots: x{growth:.2f} "
          f"({'flat' if flat else 'NOT flat'}; the from-scratch tally grew x"
          f"{last['scratch_ms'] / max(first['scratch_ms'], 1e-3):.0f})")
    if not flat:
        sys.exit(1)


if __name__ == "__main__":
    main()
