"""What each audience may see of a 测评 while it runs and after it closes.

Three things decide it, all pure functions of values (no I/O, no clock of their own):

- the meeting's results visibility (``live``, ``counts``, ``hidden``), chosen before
  测评 begins and locked after;
- the small-group guard: a voter group with fewer than ``k`` ballots never shows a
  per-option split (nor a mean, nor anything derived from its choices) while voting,
  to any socket, the host's included;
- the coarse batching of live tallies for everyone but the host, so a tap in the hall
  cannot be matched to a change on the big screen (:class:`TallyBatcher`).

The rules and the reasons are in docs/scoring.md and docs/security.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from live.domain.errors import DomainError


class VisibilityError(DomainError):
    default_code = "invalid_visibility"


class Visibility(StrEnum):
    LIVE = "live"  # the live distribution, as before
    COUNTS = "counts"  # while voting: how many ballots, never how they split
    HIDDEN = "hidden"  # nothing on screens until the host reveals the frozen result


VISIBILITY_LABEL = {
    Visibility.LIVE: "实时显示票数分布",
    Visibility.COUNTS: "投票中仅显示票数",
    Visibility.HIDDEN: "结果待主持人揭晓",
}

DEFAULT_K = 3
MAX_K = 50


@dataclass(frozen=True)
class VisibilitySettings:
    mode: Visibility = Visibility.LIVE
    small_group_k: int = DEFAULT_K

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "label": VISIBILITY_LABEL[self.mode], "small_group_k": self.small_group_k}


def check_visibility(mode: object, k: object) -> VisibilitySettings:
    """The settings a host or a meeting file asks for, or a VisibilityError naming what is wrong."""
    if not isinstance(mode, str) or mode not in {v.value for v in Visibility}:
        allowed = "、".join(f"{v.value}（{VISIBILITY_LABEL[v]}）" for v in Visibility)
        raise VisibilityError(f"结果显示方式应为 {allowed} 之一")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise VisibilityError(f"小组保护人数应为 1 至 {MAX_K} 的整数，现为 {str(k)[:20]}")
    return VisibilitySettings(Visibility(mode), k)


# --- views of a live tally (live.domain.scoring.live_tally) -----------------------------------

# What a group keeps when its split is hidden: who it is, its weight, and how many ballots.
_GROUP_KEEP = ("key", "label", "weight", "min_ballots", "ballots", "included", "reason",
               "effective_weight", "effective_weight_display")


def guarded_groups(tally: Mapping[str, Any], k: int) -> list[str]:
    """Keys of the groups that have ballots, but fewer than ``k``."""
    return [key for key, g in tally.get("groups", {}).items() if 0 < int(g["count"]) < k]


def counts_view(tally: Mapping[str, Any]) -> dict[str, Any]:
    """How many ballots in all and per group; nothing about how they were cast (an
    abstention is a choice too, so it is not counted apart)."""
    groups = {key: {"label": g["label"], "count": g["count"]} for key, g in tally["groups"].items()}
    return {"view": "counts", "total": tally["total"], "groups": groups, "result": None, "guarded": []}


def live_view(tally: Mapping[str, Any], k: int) -> dict[str, Any]:
    """The live distribution with the small-group guard applied.

    A guarded group shows its count only. While any group is guarded the overall
    result (total, grade, satisfaction rate) is withheld too: with the other groups'
    means on screen, the total would give the small group's mean away."""
    guarded = guarded_groups(tally, k)
    groups: dict[str, Any] = {}
    for key, g in tally["groups"].items():
        if key in guarded:
            groups[key] = {"label": g["label"], "count": g["count"], "guarded": True}
        else:
            groups[key] = {**g, "guarded": False}
    return {"view": "live", "total": tally["total"], "groups": groups,
            "result": None if guarded else tally["result"], "guarded": guarded}


def public_result(result: Mapping[str, Any], k: int) -> dict[str, Any]:
    """A frozen result as screens and phones show it.

    The total, the grade and the ranking are the result as designed and are always
    shown. When some group has fewer than ``k`` ballots, no group's split or mean is
    shown (only counts and weights): one hidden mean could be worked back out of the
    total and the others. The host, the exports and ``live verify`` keep every figure."""
    small = [g["key"] for g in result.get("groups", []) if 0 < int(g["ballots"]) < k]
    if not small:
        return {**result, "guarded": []}
    groups = [{**{f: g[f] for f in _GROUP_KEEP if f in g}, "guarded": g["key"] in small}
              for g in result["groups"]]
    return {**result, "groups": groups, "guarded": small}


def final_view(tally: Mapping[str, Any], k: int) -> dict[str, Any]:
    """The tally of a closed item for everyone but the host: the public result."""
    shown = public_result(tally["result"], k)
    split_hidden = bool(shown["guarded"])
    groups = {key: ({"label": g["label"], "count": g["count"], "guarded": key in shown["guarded"]}
                    if split_hidden else {**g, "guarded": False})
              for key, g in tally["groups"].items()}
    return {"view": "final", "total": tally["total"], "groups": groups, "result": shown,
            "guarded": shown["guarded"]}


def tally_view(tally: Mapping[str, Any], settings: VisibilitySettings, *, host: bool, phase: str,
               revealed: bool) -> dict[str, Any] | None:
    """What one audience gets of an item's live tally; None means nothing at all.

    While voting (and before: a tally exists only once ballots do): ``live`` gives
    everyone the guarded distribution; ``counts`` gives everyone counts, the host
    included; ``hidden`` gives the host counts and everyone else nothing. Once the
    item is closed the host sees the whole result; everyone else sees the public
    result, in ``hidden`` mode only after the host revealed it."""
    k = settings.small_group_k
    if phase != "done":
        if settings.mode is Visibility.LIVE:
            return live_view(tally, k)
        if settings.mode is Visibility.COUNTS or host:
            return counts_view(tally)
        return None
    if host:
        return {**tally, "view": "full", "guarded": []}
    if settings.mode is Visibility.HIDDEN and not revealed:
        return None
    return final_view(tally, k)


# --- coarse batches for the hall ----------------------------------------------------------------

DEFAULT_INTERVAL_S = 2.5
DEFAULT_MIN_BALLOTS = 5
DEFAULT_CATCHUP_S = 10.0


@dataclass(frozen=True)
class TallyBatching:
    """The batching rule of a deployment (Settings.tally_*)."""

    interval_s: float = DEFAULT_INTERVAL_S
    min_ballots: int = DEFAULT_MIN_BALLOTS
    catchup_s: float = DEFAULT_CATCHUP_S

    def batcher(self) -> TallyBatcher:
        return TallyBatcher(self.interval_s, self.min_ballots, self.catchup_s)


@dataclass
class TallyBatcher:
    """When the next live tally of one item may go to non-host sockets.

    At most one update every ``interval_s``, and only once ``min_ballots`` ballots
    (new or changed) have come in since the last one, or the oldest of the ballots
    not yet shown has waited ``catchup_s``. Closing 测评 sends the rest at once
    (the caller does that), so the last tally shown equals the frozen result."""

    interval_s: float = DEFAULT_INTERVAL_S
    min_ballots: int = DEFAULT_MIN_BALLOTS
    catchup_s: float = DEFAULT_CATCHUP_S
    last_sent_s: float = -math.inf
    unsent: int = 0
    oldest_unsent_s: float | None = None

    def note(self, ballots: int, now: float) -> None:
        if ballots <= 0:
            return
        if self.unsent == 0:
            self.oldest_unsent_s = now
        self.unsent += ballots

    def due(self, now: float) -> bool:
        if self.unsent == 0 or now - self.last_sent_s < self.interval_s:
            return False
        if self.unsent >= self.min_ballots:
            return True
        return self.oldest_unsent_s is not None and now - self.oldest_unsent_s >= self.catchup_s

    def sent(self, now: float) -> None:
        self.last_sent_s = now
        self.unsent = 0
        self.oldest_unsent_s = None
