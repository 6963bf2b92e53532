"""The 测评 result of one agenda item, the ranking across items, and the ballot digest.

Pure functions over values: no I/O, no clock, no randomness. All arithmetic is
Decimal; sums and products are checked to be exact (the Inexact trap is on), and
each reported ratio is a single division of exact numbers, carried to enough
digits that rounding it for display gives the same cents as the true fraction.
The rules, with worked examples, are in docs/scoring.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Any, Generic, TypeVar

from live.domain.scheme import (
    BallotError,
    BallotKind,
    BallotValue,
    Group,
    Scheme,
    check_scheme,
    choice_score,
    decimal_str,
    validate_choice,
)

LEFT_OUT_REASON = "有效票不足"
DIGEST_FORMAT = "shufa-live/item-ballots"
DIGEST_VERSION = 1

# Adding and multiplying ballot scores must never round: with this context any
# rounding raises instead of passing unnoticed.
_EXACT = Context(prec=1000, Emax=10_000, Emin=-10_000, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
# Rounding for display is the one place where digits are meant to be lost.
_ROUNDING = Context(prec=1000, Emax=10_000, Emin=-10_000)


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    total = Decimal(0)
    for v in values:
        total = _EXACT.add(total, v)
    return total


def _exact_product(values: Iterable[Decimal]) -> Decimal:
    total = Decimal(1)
    for v in values:
        total = _EXACT.multiply(total, v)
    return total


def quotient(a: Decimal, b: Decimal) -> Decimal:
    """a / b for exact a and b, precise enough to be rounded for display safely.

    Scaled to integers A / B, any value that is not exactly on a rounding boundary
    (a multiple of 0.00005 for percentages, 0.005 for scores) lies at least
    1 / (20000 B) away from it, and carrying more than digits(A) + 5 significant
    digits keeps the error below that. An exact quotient comes out exact.
    """
    exponent = min(a.as_tuple().exponent, b.as_tuple().exponent, 0)
    assert isinstance(exponent, int), "quotient of a non-finite value"
    scale = Decimal(1).scaleb(-exponent, _EXACT)
    big_a = _EXACT.multiply(a, scale)
    big_b = _EXACT.multiply(b, scale)
    digits = max(big_a.adjusted() + 1, 1)
    return Context(prec=max(40, digits + 12)).divide(big_a, big_b)


def published(value: Decimal, places: int = 2) -> Decimal:
    """The value as published: rounded half-up, 85.125 -> 85.13 (not banker's 85.12)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_ROUNDING)


def display(value: Decimal, places: int = 2) -> str:
    """The published value as text, always with its two places: "85.13", "90.00"."""
    return format(published(value, places), "f")


def display_percent(ratio: Decimal) -> str:
    """A ratio as a percentage with two places: 6/7 -> "85.71%"."""
    return display(_EXACT.multiply(ratio, Decimal(100))) + "%"


@dataclass(frozen=True)
class Flag:
    """Something the host and the export must show next to the result."""

    code: str
    message: str
    group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "group": self.group}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Flag:
        group = d.get("group")
        return Flag(_str(d["code"]), _str(d["message"]), None if group is None else _str(group))


@dataclass(frozen=True)
class GroupResult:
    key: str
    label: str
    weight: Decimal
    min_ballots: int
    ballots: int
    abstain: int
    invalid: int
    trimmed: int
    # Sum and mean of the scores left after trimming; None when there are none.
    score_sum: Decimal
    mean: Decimal | None
    satisfied: int
    satisfaction_rate: Decimal | None
    options: tuple[tuple[str, int], ...]
    included: bool
    reason: str | None
    # The group's share of the total after renormalisation; None when left out.
    effective_weight: Decimal | None

    @property
    def valid(self) -> int:
        return self.ballots - self.abstain - self.invalid

    @property
    def counted(self) -> int:
        return self.valid - self.trimmed

    @property
    def mean_display(self) -> str | None:
        return None if self.mean is None else display(self.mean)

    @property
    def satisfaction_rate_display(self) -> str | None:
        return None if self.satisfaction_rate is None else display_percent(self.satisfaction_rate)

    @property
    def effective_weight_display(self) -> str | None:
        return None if self.effective_weight is None else display_percent(self.effective_weight)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "weight": decimal_str(self.weight),
            "min_ballots": self.min_ballots,
            "ballots": self.ballots,
            "valid": self.valid,
            "abstain": self.abstain,
            "invalid": self.invalid,
            "trimmed": self.trimmed,
            "counted": self.counted,
            "score_sum": decimal_str(self.score_sum),
            "mean": _opt_str(self.mean),
            "mean_display": self.mean_display,
            "satisfied": self.satisfied,
            "satisfaction_rate": _opt_str(self.satisfaction_rate),
            "satisfaction_rate_display": self.satisfaction_rate_display,
            "options": dict(self.options),
            "included": self.included,
            "reason": self.reason,
            "effective_weight": _opt_str(self.effective_weight),
            "effective_weight_display": self.effective_weight_display,
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> GroupResult:
        options = d["options"]
        if not isinstance(options, Mapping):
            raise TypeError("options 应为对象")
        reason = d["reason"]
        return GroupResult(
            key=_str(d["key"]),
            label=_str(d["label"]),
            weight=_dec(d["weight"]),
            min_ballots=_int(d["min_ballots"]),
            ballots=_int(d["ballots"]),
            abstain=_int(d["abstain"]),
            invalid=_int(d["invalid"]),
            trimmed=_int(d["trimmed"]),
            score_sum=_dec(d["score_sum"]),
            mean=_opt_dec(d["mean"]),
            satisfied=_int(d["satisfied"]),
            satisfaction_rate=_opt_dec(d["satisfaction_rate"]),
            options=tuple((_str(k), _int(v)) for k, v in options.items()),
            included=_bool(d["included"]),
            reason=None if reason is None else _str(reason),
            effective_weight=_opt_dec(d["effective_weight"]),
        )


@dataclass(frozen=True)
class ItemResult:
    kind: str
    groups: tuple[GroupResult, ...]
    # Exact weighted total over the included groups; None when no group qualifies.
    # The grade and the rank go by the published total (two places, half-up) so
    # that anyone can check them against the published table.
    total: Decimal | None
    grade: str | None
    ballots: int
    abstain: int
    # Includes the ``unassigned`` ballots (a group the scheme does not know).
    invalid: int
    unassigned: int
    satisfied: int
    satisfaction_rate: Decimal | None
    flags: tuple[Flag, ...]

    @property
    def valid(self) -> int:
        return self.ballots - self.abstain - self.invalid

    @property
    def score(self) -> Decimal | None:
        """The published total, which the grade and the ranking use."""
        return None if self.total is None else published(self.total)

    @property
    def total_display(self) -> str | None:
        return None if self.total is None else display(self.total)

    @property
    def satisfaction_rate_display(self) -> str | None:
        return None if self.satisfaction_rate is None else display_percent(self.satisfaction_rate)

    def group(self, key: str) -> GroupResult | None:
        for g in self.groups:
            if g.key == key:
                return g
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "total": _opt_str(self.total),
            "total_display": self.total_display,
            "grade": self.grade,
            "ballots": self.ballots,
            "valid": self.valid,
            "abstain": self.abstain,
            "invalid": self.invalid,
            "unassigned": self.unassigned,
            "satisfied": self.satisfied,
            "satisfaction_rate": _opt_str(self.satisfaction_rate),
            "satisfaction_rate_display": self.satisfaction_rate_display,
            "groups": [g.to_dict() for g in self.groups],
            "flags": [f.to_dict() for f in self.flags],
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> ItemResult:
        """Read a frozen result back. Raises ValueError on any shape error.

        The ``*_display`` fields are derived and not read; a verifier compares
        whole dicts to catch an edited display value.
        """
        try:
            grade = d["grade"]
            return ItemResult(
                kind=BallotKind(d["kind"]).value,
                groups=tuple(GroupResult.from_dict(g) for g in _seq(d["groups"])),
                total=_opt_dec(d["total"]),
                grade=None if grade is None else _str(grade),
                ballots=_int(d["ballots"]),
                abstain=_int(d["abstain"]),
                invalid=_int(d["invalid"]),
                unassigned=_int(d["unassigned"]),
                satisfied=_int(d["satisfied"]),
                satisfaction_rate=_opt_dec(d["satisfaction_rate"]),
                flags=tuple(Flag.from_dict(f) for f in _seq(d["flags"])),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            detail = f"缺少字段 {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"测评结果格式错误：{detail}") from exc


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else decimal_str(value)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"应为文字：{value!r}")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"应为整数：{value!r}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"应为 true/false：{value!r}")
    return value


def _dec(value: object) -> Decimal:
    # Results carry decimals as strings only: a float would already have lost digits.
    if not isinstance(value, str):
        raise TypeError(f"数值应为字符串：{value!r}")
    d = Decimal(value)
    if not d.is_finite():
        raise ValueError(f"数值无效：{value!r}")
    return d


def _opt_dec(value: object) -> Decimal | None:
    return None if value is None else _dec(value)


def _seq(value: object) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"应为列表：{value!r}")
    return list(value)


class GroupTally:
    """Ballots of one group, sorted into kinds while reading. Scores are kept as counts per
    distinct score, so a ballot can be taken back out (live.domain.running_tally) and the
    trimmed sum costs the number of distinct scores, not of ballots."""

    def __init__(self, scheme: Scheme) -> None:
        self.ballots = 0
        self.abstain = 0
        self.invalid = 0
        self.satisfied = 0
        self.valid = 0
        self.scores: dict[Decimal, int] = {}
        self.options: dict[str, int] = {o.key: 0 for o in scheme.options}


# What one ballot adds to its group: (invalid, abstain, score, option key, satisfied).
Reading = tuple[bool, bool, Decimal | None, str | None, bool]


def reading(scheme: Scheme, choice: Mapping[str, Any]) -> Reading:
    """How a stored choice counts, worked out once (adding and taking back use the same)."""
    try:
        canonical = validate_choice(scheme, dict(choice))
        score = choice_score(scheme, canonical)
    except BallotError:
        # A stored ballot that no longer fits (it cannot happen through the
        # ballot endpoint) is counted as invalid rather than failing the item.
        return True, False, None, None, False
    if score is None:
        return False, True, None, None, False
    key = canonical.get("option")
    option = scheme.option(key) if key is not None else None
    return False, False, score, key, bool(option is not None and option.satisfied)


def count(tally: GroupTally, r: Reading, n: int = 1) -> None:
    """Add a reading to a group's tally (``n=-1`` takes it back out)."""
    invalid, abstain, score, key, satisfied = r
    tally.ballots += n
    if invalid:
        tally.invalid += n
        return
    if abstain or score is None:
        tally.abstain += n
        return
    tally.valid += n
    left = tally.scores.get(score, 0) + n
    if left:
        tally.scores[score] = left
    else:
        tally.scores.pop(score, None)
    if key is not None:
        tally.options[key] += n
        if satisfied:
            tally.satisfied += n


def _read(scheme: Scheme, tally: GroupTally, choice: Mapping[str, Any]) -> None:
    count(tally, reading(scheme, choice))


def trim(scores: Iterable[Decimal], k: int) -> list[Decimal]:
    """Drop the k highest and k lowest scores when there are more than 2k."""
    ordered = sorted(scores)
    if k <= 0 or len(ordered) <= 2 * k:
        return ordered
    return ordered[k:-k]


def _trimmed(scores: Mapping[Decimal, int], valid: int, k: int) -> tuple[Decimal, int]:
    """The exact sum and number of the scores ``trim`` keeps, from counts per distinct score
    (the same additions as summing the kept list, so the same Decimal, exponent and all)."""
    ordered = sorted(scores)
    left = [scores[s] for s in ordered]
    cut = k if k > 0 and valid > 2 * k else 0
    for positions in (range(len(left)), range(len(left) - 1, -1, -1)):
        to_cut = cut
        for i in positions:
            if not to_cut:
                break
            taken = min(to_cut, left[i])
            left[i] -= taken
            to_cut -= taken
    total = Decimal(0)
    kept = 0
    for score, n in zip(ordered, left, strict=True):
        if n:
            total = _EXACT.add(total, _EXACT.multiply(score, Decimal(n)))
            kept += n
    return total, kept


def _group_result(scheme: Scheme, group: Group, tally: GroupTally) -> GroupResult:
    valid = tally.valid
    score_sum, kept = _trimmed(tally.scores, valid, scheme.trim_k)
    rated = scheme.kind is not BallotKind.RUBRIC and valid > 0
    included = valid >= group.min_ballots
    return GroupResult(
        key=group.key,
        label=group.label,
        weight=group.weight,
        min_ballots=group.min_ballots,
        ballots=tally.ballots,
        abstain=tally.abstain,
        invalid=tally.invalid,
        trimmed=valid - kept,
        score_sum=score_sum,
        mean=quotient(score_sum, Decimal(kept)) if kept else None,
        satisfied=tally.satisfied,
        satisfaction_rate=quotient(Decimal(tally.satisfied), Decimal(valid)) if rated else None,
        options=tuple(tally.options.items()),
        included=included,
        reason=None if included else LEFT_OUT_REASON,
        effective_weight=None,
    )


def weighted_total(groups: Iterable[GroupResult]) -> Decimal | None:
    """Σ wᵢ·meanᵢ / Σ wᵢ over the included groups, as one exact fraction divided once.

    With meanᵢ = Sᵢ / mᵢ the numerator is Σ wᵢ·Sᵢ·Πⱼ≠ᵢ mⱼ and the denominator
    Σ wᵢ · Π mⱼ, so no rounded mean ever enters the total.
    """
    used = [g for g in groups if g.included and g.counted > 0]
    if not used:
        return None
    counts = [Decimal(g.counted) for g in used]
    numerator = _exact_sum(
        _exact_product([g.weight, g.score_sum, *(c for j, c in enumerate(counts) if j != i)])
        for i, g in enumerate(used)
    )
    denominator = _exact_product([_exact_sum(g.weight for g in used), *counts])
    return quotient(numerator, denominator)


def score_item(scheme: Scheme, ballots: Iterable[BallotValue]) -> ItemResult:
    """The result of one item from its stored ballots (the order does not matter)."""
    check_scheme(scheme)
    tallies = {g.key: GroupTally(scheme) for g in scheme.groups}
    unassigned = 0
    for ballot in ballots:
        tally = tallies.get(ballot.group)
        if tally is None:
            unassigned += 1
            continue
        _read(scheme, tally, ballot.choice)
    return result_of(scheme, tallies, unassigned)


def result_of(scheme: Scheme, tallies: Mapping[str, GroupTally], unassigned: int) -> ItemResult:
    """The result from each group's tally (made by ``score_item`` or kept running)."""
    raw = [_group_result(scheme, g, tallies[g.key]) for g in scheme.groups]
    included_weight = _exact_sum(g.weight for g in raw if g.included)
    groups = tuple(
        _with_share(g, quotient(g.weight, included_weight)) if g.included else g for g in raw
    )
    total = weighted_total(groups)
    band = None if total is None else scheme.band_for(published(total))

    valid = sum(g.valid for g in groups)
    satisfied = sum(g.satisfied for g in groups)
    rated = scheme.kind is not BallotKind.RUBRIC and valid > 0
    return ItemResult(
        kind=scheme.kind.value,
        groups=groups,
        total=total,
        grade=None if band is None else band.label,
        ballots=sum(g.ballots for g in groups) + unassigned,
        abstain=sum(g.abstain for g in groups),
        invalid=sum(g.invalid for g in groups) + unassigned,
        unassigned=unassigned,
        satisfied=satisfied,
        satisfaction_rate=quotient(Decimal(satisfied), Decimal(valid)) if rated else None,
        flags=_flags(groups, total, unassigned),
    )


def _with_share(g: GroupResult, share: Decimal) -> GroupResult:
    return replace(g, effective_weight=share)


def _flags(groups: tuple[GroupResult, ...], total: Decimal | None, unassigned: int) -> tuple[Flag, ...]:
    flags: list[Flag] = []
    for g in groups:
        if not g.included:
            flags.append(
                Flag(
                    "insufficient_ballots",
                    f"{g.label}{LEFT_OUT_REASON}：有效票 {g.valid} 张，少于最低 {g.min_ballots} 张，未计入总分",
                    g.key,
                )
            )
    left_out = [g for g in groups if not g.included]
    if total is None:
        flags.append(Flag("no_total", "所有投票组有效票均不足，无法计算总分"))
    elif left_out:
        shares = "、".join(f"{g.label} {g.effective_weight_display}" for g in groups if g.included)
        flags.append(Flag("weights_renormalised", f"其余投票组权重按比例折算：{shares}"))
    invalid = sum(g.invalid for g in groups) + unassigned
    if invalid:
        flags.append(Flag("invalid_ballots", f"{invalid} 张无效票未计分"))
    return tuple(flags)


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class RankEntry(Generic[K]):
    item: K
    # None for an item without a total (not scored, or every group left out).
    rank: int | None
    total: Decimal | None

    @property
    def total_display(self) -> str | None:
        return None if self.total is None else display(self.total)


def rank(results: Mapping[K, ItemResult | None]) -> list[RankEntry[K]]:
    """Competition ranking by published total, highest first: 1, 2, 2, 4.

    Totals that publish the same (85.125 and 85.1251 both show 85.13) tie. Tied
    items keep the order of ``results`` (pass them in agenda order); items without
    a total follow, unranked.
    """
    totals = [(key, None if r is None else r.total) for key, r in results.items()]
    scored: list[tuple[K, Decimal]] = [(k, t) for k, t in totals if t is not None]
    scored.sort(key=lambda kt: published(kt[1]), reverse=True)
    entries: list[RankEntry[K]] = []
    for position, (key, total) in enumerate(scored):
        tied = position > 0 and published(total) == published(scored[position - 1][1])
        place = entries[-1].rank if tied else position + 1
        entries.append(RankEntry(key, place, total))
    entries += [RankEntry(k, None, None) for k, t in totals if t is None]
    return entries


DigestBallot = Mapping[str, Any] | tuple[int | str, BallotValue]


def _digest_row(ballot: DigestBallot) -> dict[str, Any]:
    if isinstance(ballot, tuple):
        ballot_id, value = ballot
        group, choice = value.group, value.choice
    else:
        ballot_id, group, choice = ballot["id"], ballot["group"], ballot["choice"]
    if isinstance(ballot_id, bool) or not isinstance(ballot_id, int | str):
        raise TypeError(f"选票编号应为整数或文字：{ballot_id!r}")
    return {"id": str(ballot_id), "group": _str(group), "choice": dict(choice)}


def digest_payload(scheme: Scheme, item_key: object, ballots: Iterable[DigestBallot]) -> bytes:
    """The canonical bytes hashed by ballots_digest (see docs/scoring.md).

    UTF-8 JSON, keys sorted, no spaces, ballots sorted by id. Each ballot carries
    only its id (as text), group and choice: never who cast it. A ballot is given
    either as ``{"id", "group", "choice"}`` or as ``(id, BallotValue)``.
    """
    rows = [_digest_row(b) for b in ballots]
    rows.sort(key=lambda r: (r["id"], r["group"], _canonical_json(r["choice"])))
    payload = {
        "format": DIGEST_FORMAT,
        "version": DIGEST_VERSION,
        "item": str(item_key),
        "scheme": scheme.to_dict(),
        "ballots": rows,
    }
    return _canonical_json(payload).encode("utf-8")


def ballots_digest(scheme: Scheme, item_key: object, ballots: Iterable[DigestBallot]) -> str:
    """SHA-256 (hex) of an item's ballots and scheme; the order of ballots does not matter."""
    return hashlib.sha256(digest_payload(scheme, item_key, ballots)).hexdigest()


def _canonical_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def live_tally(scheme: Scheme, ballots: Iterable[BallotValue]) -> dict[str, Any]:
    """Counts for the big screen, per group, plus the full result as it stands.

    It is computed by the same code that freezes the result when 测评 closes, so
    the last tally shown equals the frozen result.
    """
    known = [b for b in ballots if scheme.group(b.group) is not None]
    return tally_dict(score_item(scheme, known), len(known))


def tally_dict(result: ItemResult, total: int) -> dict[str, Any]:
    """``live_tally``'s shape from a result of ``total`` ballots in the scheme's groups."""
    groups: dict[str, dict[str, Any]] = {}
    for g in result.groups:
        groups[g.key] = {
            "label": g.label,
            "count": g.ballots,
            "abstain": g.abstain,
            "invalid": g.invalid,
            "options": dict(g.options),
            "mean": g.mean_display,
            "included": g.included,
        }
    return {"total": total, "groups": groups, "result": result.to_dict()}
