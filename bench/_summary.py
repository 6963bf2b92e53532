"""The summary of several full runs of ``run_all.py``: each headline as the median of the
runs with min–max beside it, live beside bare beside the cluster, the issue 16 targets
checked on the medians, and every phase's missing deliveries summed over the runs.

A helper, not a benchmark: run on its own it exits 0."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

Values = dict[str, Any]

# Phases where the bare reference does not do the live server's job: its bare column is
# dropped from the comparison (the figure is still shown, marked), with the reason.
NOT_COMPARED = {
    "vote": "bare stores nothing: its ack needs no commit, so ack latency and ballots/s are not the same job",
    "likes": "bare stores no like and moderates no comment: server CPU over the session is not the same job",
}

# (label, key, target text, check on the live median) — checks are issue 16's targets.
Headline = tuple[str, Callable[[Values], float | None], str, Callable[[float], bool] | None, str | None]


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v) else None


def key(name: str) -> Callable[[Values], float | None]:
    return lambda d: _num(d.get(name))


def _missing(d: Values) -> Values:
    """Deliveries (or phones) missing in each phase of one run."""
    back, dropped = _num(d.get("reconnect_back")), _num(d.get("reconnect_dropped"))
    acked, shown = _num(d.get("likes_acked")), _num(d.get("likes_shown_gain"))
    return {
        "join (failed to join or fill)": (d.get("join_failed") or 0) + (d.get("fill_failed") or 0),
        "phase change (phones x events)": d.get("fanout_missing"),
        "burst (phones x events)": d.get("burst_missing"),
        "vote burst (phones without the final tally)": d.get("vote_tally_missing"),
        "vote capacity (phones without the final tally)": d.get("cap_tally_missing"),
        "reconnect storm (not back)": None if back is None or dropped is None else int(dropped - back),
        "likes (acked, not shown)": None if acked is None or shown is None else int(max(0.0, acked - shown)),
    }


HEADLINES: list[Headline] = [
    ("audience sockets held", key("held"), "", None, None),
    ("RSS per socket (KB)", key("rss_per_conn_kb"), "<= 20", lambda v: v <= 20, None),
    ("server CPU per join (ms)", key("join_cpu_ms_per_join"), "<= 1.2", lambda v: v <= 1.2, None),
    ("join: time to first snapshot p95 (ms)", key("join_p95_ms"), "< 1000", lambda v: v < 1000, None),
    ("phase change to all p99 (ms)", key("fanout_p99_ms"), "<= 400", lambda v: v <= 400, None),
    ("burst: sends per server CPU-second", key("sends_per_cpu_s"), ">= 1.2x bare", None, None),
    ("burst: sends per wall second", key("sends_per_wall_s"), "", None, None),
    ("vote burst: ack p99 (ms)", key("vote_p99_ms"), "<= 300", lambda v: v <= 300, "vote"),
    ("vote burst: ballots/s", key("vote_per_s"), "", None, "vote"),
    ("vote capacity (1 s): ack p99 (ms)", key("cap_p99_ms"), "", None, "vote"),
    ("vote capacity: ballots/s", key("cap_per_s"), "", None, "vote"),
    ("reconnect storm: all back (s)", key("reconnect_all_back_s"), "", None, None),
    ("reconnect storm: server CPU (s)", key("reconnect_cpu_s"), "", None, None),
    ("likes: server CPU (cores, avg)", key("chatter_cpu_avg"), "", None, "likes"),
]


def spread(values: Sequence[float | None]) -> tuple[float, float, float] | None:
    got = [v for v in values if v is not None]
    if not got:
        return None
    return statistics.median(got), min(got), max(got)


def fmt(s: tuple[float, float, float] | None, n: int) -> str:
    if s is None:
        return "-"
    med, lo, hi = s
    if n <= 1:
        return f"{med:g}"
    return f"{med:g} ({lo:g}–{hi:g})"


def summary(runs: list[tuple[Values | None, Values | None, Values | None]]) -> tuple[str, bool]:
    """The table, and whether every phase of every run missed nothing."""
    lives = [r[0] for r in runs if r[0]]
    bares = [r[1] for r in runs if r[1]]
    clusters = [r[2] for r in runs if r[2]]
    rows: list[tuple[str, str, str, str, str, str]] = []
    for label, get, target, check, phase in HEADLINES:
        lv = spread([get(d) for d in lives])
        bv = spread([get(d) for d in bares])
        cv = spread([get(d) for d in clusters])
        verdict = ""
        if check is not None and lv is not None:
            verdict = "PASS" if check(lv[0]) else "MISS"
        if label.startswith("vote burst: ack p99") and cv is not None and check is not None:
            verdict = f"{verdict} / cluster {'PASS' if check(cv[0]) else 'MISS'}"
        bare_cell = fmt(bv, len(bares))
        if phase in NOT_COMPARED and bv is not None:
            bare_cell = f"({bare_cell}, not compared)"
        rows.append((label, fmt(lv, len(lives)), bare_cell, fmt(cv, len(clusters)), target, verdict))
    # The ratio target: live's median over bare's median, and each run's own ratio.
    per_run = [(_num(r[0].get("sends_per_cpu_s")), _num(r[1].get("sends_per_cpu_s"))) for r in runs if r[0] and r[1]]
    ratios = [a / b for a, b in per_run if a is not None and b]
    if ratios:
        med = spread(ratios)
        assert med is not None
        rows.append(("  live / bare sends per CPU-second (per run)", fmt((round(med[0], 2), round(med[1], 2),
                                                                         round(med[2], 2)), len(ratios)),
                     "1", "", ">= 1.2", "PASS" if med[0] >= 1.2 else "MISS"))
    head = ("figure (median of runs, min–max)", f"live, 1 worker ({len(lives)})", f"bare ({len(bares)})",
            f"cluster ({len(clusters)})", "target", "")
    width = [max(len(x[i]) for x in [head, *rows]) for i in range(6)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, width, strict=True)).rstrip(),
             "  ".join("-" * w for w in width)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)).rstrip() for r in rows]
    complete = True
    lines.append("")
    lines.append(f"{'missing, summed over the runs':<50}{'live':<12}{'bare':<12}cluster")
    sums: dict[str, list[int | None]] = {}
    for group in (lives, bares, clusters):
        totals: dict[str, int | None] = {}
        for d in group:
            for phase, v in _missing(d).items():
                if isinstance(v, int | float):
                    totals[phase] = (totals.get(phase) or 0) + int(v)
                else:
                    totals.setdefault(phase, None)
        for phase in _missing({}):
            sums.setdefault(phase, []).append(totals.get(phase))
    for phase, (lv_, bv_, cv_) in sums.items():
        if (lv_ or 0) > 0 or (cv_ or 0) > 0:
            complete = False
        lines.append(f"  {phase:<48}{_cell(lv_):<12}{_cell(bv_):<12}{_cell(cv_)}")
    lines.append("")
    for phase, why in NOT_COMPARED.items():
        lines.append(f"not compared with bare ({phase}): {why}")
    return "\n".join(lines), complete


def _cell(v: int | None) -> str:
    return "-" if v is None else str(v)


if __name__ == "__main__":
    raise SystemExit(0)
