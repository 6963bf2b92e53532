"""The 简报's charts, drawn with matplotlib (Agg, no display) in the font shipped in the package.

Nothing here asks the system for a font: the shipped file (live.reports.fonts) is added
to matplotlib's font manager, named as the only family, and after the figure is laid
out every text in it (tick labels included) is given that file explicitly, so a
machine with no Chinese font draws the same picture. Figures are built on
``matplotlib.figure.Figure`` with the Agg canvas, never pyplot's global figures; one
lock keeps the brief ``rc_context`` of two renders from mixing.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before anything draws: no display on a server

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from live.reports.fonts import find_cjk_font
from live.reports.interaction_xlsx import local_time

DPI = 150
PALETTE = ["#2F6FB3", "#E0863A", "#C0392B", "#7F8C8D", "#27AE60", "#8E44AD"]
GUARDED_COLOR = "#D5D8DC"
_lock = threading.Lock()
_added: dict[str, str] = {}


@dataclass(frozen=True)
class Chart:
    """A rendered chart: its PNG, a caption, and the texts drawn in it (for checks)."""

    key: str
    title: str
    png: bytes
    texts: tuple[str, ...]
    font_files: frozenset[str]
    width_in: float
    height_in: float


def chart_font() -> tuple[Path, str]:
    """The shipped font's path and its family name, added to matplotlib once."""
    path = find_cjk_font()
    key = str(path.resolve())
    if key not in _added:
        font_manager.fontManager.addfont(key)
        with matplotlib.rc_context({"font.enable_last_resort": False}):
            _added[key] = font_manager.FontProperties(fname=key).get_name()
    return path, _added[key]


def _render(key: str, title: str, fig: Figure, path: Path) -> Chart:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]  # lays out ticks and labels, so every text exists before it gets the font
    texts = [t for t in fig.findobj(Text) if isinstance(t, Text)]
    for t in texts:
        size = t.get_fontsize()
        weight = t.get_fontweight()
        t.set_fontproperties(font_manager.FontProperties(fname=str(path), size=size, weight=weight))
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    w, h = fig.get_size_inches()
    shown = tuple(t.get_text() for t in texts if t.get_text().strip() and t.get_visible())
    files = frozenset(str(t.get_fontproperties().get_file()) for t in texts)
    return Chart(key, title, out.getvalue(), shown, files, float(w), float(h))


def _figure(width: float, height: float, left: float = 0.1, top_in: float = 0.55) -> Figure:
    """A figure with fixed margins (in inches, so they hold at any height): a layout engine
    would measure every text several times per render, which costs seconds on a busy server."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.subplots_adjust(left=left, right=0.88, top=1 - top_in / height, bottom=0.55 / height, hspace=0.45)
    return fig


def _tidy(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#E5E7E9", linewidth=0.6)
    ax.set_axisbelow(True)


def _minute_labels(series: Sequence[dict[str, Any]]) -> list[str]:
    out = []
    for r in series:
        t = local_time(int(r["minute_ms"]))
        out.append(t.strftime("%H:%M") if t else "")
    return out


def _sparse_ticks(ax: Any, labels: list[str], at_most: int = 10) -> None:
    step = max(1, -(-len(labels) // at_most))
    ticks = list(range(0, len(labels), step))
    ax.set_xticks(ticks, [labels[i] for i in ticks])


def participation_chart(series: Sequence[dict[str, Any]], family: str, path: Path) -> Chart:
    fig = _figure(7.2, 4.8, left=0.09)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.2, 1])
    x = list(range(len(series)))
    top.plot(x, [r["audience"] for r in series], color=PALETTE[0], linewidth=1.8, label="在线手机")
    top.plot(x, [r["screens"] + r["panel"] for r in series], color=PALETTE[1], linewidth=1.2,
             label="大屏与评议平板")
    top.fill_between(x, [r["audience"] for r in series], color=PALETTE[0], alpha=0.12)
    top.set_ylabel("在线数")
    top.set_title("在线人数（每分钟）")
    top.legend(loc="upper left", frameon=False)
    top.set_ylim(bottom=0)
    _tidy(top)
    comments = [r["comments"] for r in series]
    questions = [r["questions"] for r in series]
    bottom.bar(x, comments, color=PALETTE[4], label="评论")
    bottom.bar(x, questions, bottom=comments, color=PALETTE[2], label="现场提问")
    bottom.set_ylabel("条数")
    bottom.set_title("互动（每分钟）")
    likes = bottom.twinx()
    likes.plot(x, [r["likes"] for r in series], color=PALETTE[5], linewidth=1.4, label="点赞")
    likes.set_ylabel("点赞")
    likes.set_ylim(bottom=0)
    handles = bottom.get_legend_handles_labels()
    extra = likes.get_legend_handles_labels()
    bottom.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper left", frameon=False, ncols=3)
    _tidy(bottom)
    _sparse_ticks(bottom, _minute_labels(series))
    bottom.set_xlabel("时间（北京时间）")
    return _render("participation", "参与情况随时间变化", fig, path)


def _dec(value: Any) -> float | None:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return None


def votes_chart(items: Sequence[dict[str, Any]], options: Sequence[str], path: Path) -> Chart:
    """One row of bars per presenter and voter group: the share of each option, as the
    public result shows it. A guarded group (fewer than k ballots) shows only its count."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for it in items:
        for g in it["result"].get("groups", []):
            rows.append((f"{it['name']} · {g.get('label', g.get('key', ''))}", g))
    fig = _figure(7.2, max(2.4, 0.42 * len(rows) + 1.6), left=0.24, top_in=0.85)
    ax = fig.subplots()
    y = list(range(len(rows)))[::-1]
    has_options = bool(options) and any(isinstance(g.get("options"), dict) for _, g in rows)
    for yi, (_label, g) in zip(y, rows, strict=True):
        counts = g.get("options") if isinstance(g.get("options"), dict) else None
        ballots = int(g.get("ballots", 0))
        if g.get("guarded") or (has_options and counts is None):
            # The public result withholds the split: this group is small, or another one is
            # (its split would follow from the total and the other groups').
            why = "人数较少" if g.get("guarded") else "其他组人数较少"
            ax.barh(yi, 100, color=GUARDED_COLOR)
            ax.text(50, yi, f"{ballots} 票（{why}，不公开分布）", ha="center", va="center", fontsize=8)
            continue
        if has_options and counts is not None:
            total = sum(int(counts.get(o, 0)) for o in options) or 1
            left = 0.0
            for oi, o in enumerate(options):
                share = 100 * int(counts.get(o, 0)) / total
                ax.barh(yi, share, left=left, color=PALETTE[oi % len(PALETTE)], label=o if yi == y[0] else None)
                if share >= 8:
                    ax.text(left + share / 2, yi, f"{share:.0f}%", ha="center", va="center", fontsize=7,
                            color="white")
                left += share
        else:
            mean = _dec(g.get("mean_display") or g.get("mean"))
            ax.barh(yi, mean or 0, color=PALETTE[0])
            ax.text((mean or 0) + 1, yi, f"{g.get('mean_display') or '—'} 分（{ballots} 票）", va="center",
                    fontsize=8)
    ax.set_yticks(y, [label for label, _ in rows])
    ax.set_xlim(0, 100)
    ax.set_xlabel("各选项占比（%）" if has_options else "平均分")
    ax.set_title("各述法人分组投票分布", pad=22 if has_options else 6)
    if has_options:
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(options), frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _render("votes", "分组投票分布", fig, path)


def ranking_chart(ranking: Sequence[dict[str, Any]], path: Path) -> Chart:
    ranked = [r for r in ranking if r.get("rank") is not None and r.get("total") is not None]
    fig = _figure(7.2, max(2.2, 0.4 * len(ranked) + 1.2), left=0.22)
    ax = fig.subplots()
    y = list(range(len(ranked)))[::-1]
    totals = [_dec(r["total"]) or 0.0 for r in ranked]
    ax.barh(y, totals, color=PALETTE[0])
    for yi, r, v in zip(y, ranked, totals, strict=True):
        ax.text(v + 0.5, yi, f"{r['total']}", va="center", fontsize=8)
    ax.set_yticks(y, [f"第{r['rank']}名  {r['name']}" for r in ranked])
    ax.set_xlim(0, 100)  # bars start at zero: a cut axis would make small gaps look large
    ax.set_xlabel("综合得分")
    ax.set_title("综合得分排名")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _render("ranking", "综合得分排名", fig, path)


def problems_chart(problems: Sequence[tuple[str, int]], path: Path) -> Chart:
    fig = _figure(7.2, max(2.2, 0.4 * len(problems) + 1.2), left=0.22)
    ax = fig.subplots()
    y = list(range(len(problems)))[::-1]
    ax.barh(y, [n for _, n in problems], color=PALETTE[1])
    for yi, (_, n) in zip(y, problems, strict=True):
        ax.text(n + 0.05, yi, f"{n} 个", va="center", fontsize=8)
    ax.set_yticks(y, [c for c, _ in problems])
    ax.set_xlabel("问题数")
    ax.set_title("问题清单按类别")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _render("problems", "问题按类别分布", fig, path)


def briefing_charts(data: dict[str, Any], options: Sequence[str] = ()) -> list[Chart]:
    """Every chart the 简报 has data for, in its order."""
    path, family = chart_font()
    # No last-resort font either: a glyph the shipped font lacks is a warning (tests fail on it), not a box.
    rc: dict[str, Any] = {"font.family": [family], "font.enable_last_resort": False, "axes.unicode_minus": False,
                          "font.size": 9, "savefig.dpi": DPI, "svg.fonttype": "none"}
    shown = [it for it in data["items"] if it.get("result")]
    with _lock, matplotlib.rc_context(rc):  # type: ignore[arg-type]
        charts = []
        if data["series"]:
            charts.append(participation_chart(data["series"], family, path))
        if shown:
            charts.append(votes_chart(shown, options, path))
        if any(r.get("rank") is not None for r in data["ranking"]):
            charts.append(ranking_chart(data["ranking"], path))
        if data["problems"]:
            charts.append(problems_chart(data["problems"], path))
    return charts


__all__ = ["Chart", "briefing_charts", "chart_font", "participation_chart", "problems_chart", "ranking_chart",
           "votes_chart"]
