"""The 测评 engine: the worked examples of docs/scoring.md and its properties."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from live.domain.scheme import (
    PANEL,
    PUBLIC,
    BallotValue,
    Group,
    Scheme,
    grade_scheme,
    panel_split_scheme,
    rubric_scheme,
    satisfaction_scheme,
)
from live.domain.scoring import (
    LEFT_OUT_REASON,
    ItemResult,
    ballots_digest,
    digest_payload,
    display,
    display_percent,
    live_tally,
    published,
    quotient,
    rank,
    score_item,
    trim,
)

D = Decimal
RUBRIC_KEYS = [c.key for c in rubric_scheme().criteria]


def opt(group: str, option: str) -> BallotValue:
    return BallotValue(group, {"option": option})


def abstain(group: str) -> BallotValue:
    return BallotValue(group, {"abstain": True})


def rub(group: str, *scores: float) -> BallotValue:
    return BallotValue(group, {"scores": dict(zip(RUBRIC_KEYS, (str(s) for s in scores), strict=True))})


# --- worked examples (docs/scoring.md §9) -----------------------------------


def example_a() -> list[BallotValue]:
    return (
        [opt(PANEL, "满意")] * 5 + [opt(PANEL, "基本满意")] * 2 + [opt(PANEL, "不满意"), abstain(PANEL)]
        + [opt(PUBLIC, "满意")] * 6 + [opt(PUBLIC, "基本满意")] * 3 + [opt(PUBLIC, "不满意")] * 3
    )


def test_example_a_satisfaction() -> None:
    r = score_item(satisfaction_scheme(), example_a())
    panel, public = r.groups
    assert (panel.ballots, panel.valid, panel.abstain, panel.trimmed, panel.counted) == (9, 8, 1, 2, 6)
    assert panel.score_sum == 560
    assert panel.mean_display == "93.33"
    assert panel.satisfaction_rate_display == "87.50%"
    assert (public.valid, public.counted, public.score_sum, public.mean) == (12, 10, 740, 74)
    assert public.satisfaction_rate_display == "75.00%"
    assert r.total is not None
    assert abs(Fraction(r.total) - Fraction(525200, 6000)) < Fraction(1, 10**35)
    assert r.total_display == "87.53"
    assert r.grade == "较好"
    assert r.satisfaction_rate_display == "80.00%"
    assert (r.ballots, r.valid, r.abstain, r.invalid) == (21, 20, 1, 0)
    assert r.flags == ()


def example_b() -> list[BallotValue]:
    panel = [
        (24, 23, 22, 23), (23, 22.5, 21, 22), (22, 22, 21.5, 21.5),
        (22, 21, 21.5, 21), (21, 21, 21, 21), (18, 17, 18, 17),
    ]
    public = [(24, 24, 23, 24), (21, 21, 20, 21), (20.5, 20.5, 20.5, 20.5), (15, 15, 15, 15)]
    return [rub(PANEL, *s) for s in panel] + [rub(PUBLIC, *s) for s in public] + [abstain(PUBLIC)]


def test_example_b_rubric_half_up() -> None:
    r = score_item(rubric_scheme(), example_b())
    panel, public = r.groups
    assert (panel.counted, panel.score_sum, panel.mean) == (4, D(345), D("86.25"))
    assert (public.valid, public.abstain, public.counted, public.score_sum, public.mean) == (4, 1, 2, 165, D("82.5"))
    assert r.total == D("85.125")
    assert r.total_display == "85.13"
    assert r.grade == "较好"
    assert r.satisfaction_rate is None and r.satisfaction_rate_display is None


def example_c_scheme() -> Scheme:
    split = panel_split_scheme(
        grade_scheme(), ["人大代表", "政协委员", "律师"],
        weights={"人大代表": 30, "政协委员": 20, "律师": 20}, min_ballots=3,
    )
    return replace(split, groups=tuple(replace(g, min_ballots=10) if g.key == PUBLIC else g for g in split.groups))


def example_c() -> list[BallotValue]:
    return (
        [opt("panel:人大代表", o) for o in ("好", "好", "较好", "一般")]
        + [opt("panel:政协委员", "较好")] * 3
        + [opt("panel:律师", o) for o in ("好", "一般", "一般", "差")] + [abstain("panel:律师")]
        + [opt(PUBLIC, o) for o in ("好", "好", "较好", "较好", "一般", "一般", "差")]
    )


def test_example_c_split_panel_left_out_group() -> None:
    r = score_item(example_c_scheme(), example_c())
    by_key = {g.key: g for g in r.groups}
    assert [by_key[k].mean for k in ("panel:人大代表", "panel:政协委员", "panel:律师", PUBLIC)] == [90, 85, 70, 81]
    assert by_key["panel:政协委员"].valid == 3 and by_key["panel:政协委员"].included
    public = by_key[PUBLIC]
    assert (public.valid, public.included, public.reason, public.effective_weight) == (7, False, LEFT_OUT_REASON, None)
    assert [by_key[k].effective_weight_display for k in ("panel:人大代表", "panel:政协委员", "panel:律师")] == [
        "42.86%", "28.57%", "28.57%",
    ]
    assert r.total_display == "82.86"
    assert r.total is not None and abs(Fraction(r.total) - Fraction(5800, 70)) < Fraction(1, 10**35)
    assert r.grade == "较好"
    assert r.satisfaction_rate_display == "61.11%"
    codes = [f.code for f in r.flags]
    assert codes == ["insufficient_ballots", "weights_renormalised"]
    assert r.flags[0].message == "群众有效票不足：有效票 7 张，少于最低 10 张，未计入总分"
    assert r.flags[0].group == PUBLIC


def fake_result(total: Decimal | None) -> ItemResult:
    return ItemResult("satisfaction", (), total, None, 0, 0, 0, 0, 0, None, ())


def test_example_d_ranking() -> None:
    results = {
        "甲": fake_result(D(525200) / D(6000)),
        "乙": fake_result(D("85.125")),
        "丙": fake_result(D("85.13")),
        "丁": fake_result(D(80)),
        "戊": fake_result(None),
    }
    entries = rank(results)
    assert [(e.item, e.rank, e.total_display) for e in entries] == [
        ("甲", 1, "87.53"), ("乙", 2, "85.13"), ("丙", 2, "85.13"), ("丁", 4, "80.00"), ("戊", None, None),
    ]


def test_digest_example_from_docs() -> None:
    ballots = [
        {"id": 2, "group": PUBLIC, "choice": {"option": "基本满意"}},
        {"id": 1, "group": PANEL, "choice": {"option": "满意"}},
    ]
    payload = digest_payload(satisfaction_scheme(), 7, ballots)
    assert payload.startswith(
        '{"ballots":[{"choice":{"option":"满意"},"group":"panel","id":"1"},'.encode()
    )
    digest = "2f32224865d95b87ce7de9e91585672d1bb008109da4cd5320e6be529513525c"
    assert ballots_digest(satisfaction_scheme(), 7, ballots) == digest
    assert hashlib.sha256(payload).hexdigest() == digest
    # The docs give the full payload of the current (version 2) item digest; it must stay
    # what an independent tool computes.
    from live.domain.record import item_digest, item_payload

    presenter = {"name": "张三", "post": "局长", "unit": "某县司法局"}
    v2 = item_payload(7, 1, presenter, satisfaction_scheme().to_dict(), ballots)
    text = json.dumps(v2, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    v2_digest = hashlib.sha256(text.encode()).hexdigest()
    assert v2_digest == item_digest(7, 1, presenter, satisfaction_scheme().to_dict(), ballots)
    with open("docs/scoring.md", encoding="utf-8") as f:
        doc = f.read()
    assert text in doc and v2_digest in doc


def test_digest_accepts_id_value_pairs() -> None:
    dicts = [{"id": 3, "group": PANEL, "choice": {"option": "满意"}}]
    pairs = [(3, BallotValue(PANEL, {"option": "满意"}))]
    assert ballots_digest(satisfaction_scheme(), 1, dicts) == ballots_digest(satisfaction_scheme(), 1, pairs)


def test_digest_depends_on_item_scheme_and_every_ballot() -> None:
    s = satisfaction_scheme()
    ballots = [{"id": i, "group": PANEL, "choice": {"option": "满意"}} for i in range(5)]
    base = ballots_digest(s, 1, ballots)
    assert ballots_digest(s, 2, ballots) != base
    assert ballots_digest(replace(s, trim_k=2), 1, ballots) != base
    assert ballots_digest(s, 1, ballots[:-1]) != base
    changed = [*ballots[:-1], {"id": 4, "group": PANEL, "choice": {"option": "不满意"}}]
    assert ballots_digest(s, 1, changed) != base
    moved = [*ballots[:-1], {"id": 4, "group": PUBLIC, "choice": {"option": "满意"}}]
    assert ballots_digest(s, 1, moved) != base


# --- rules -------------------------------------------------------------------


def test_abstain_and_invalid_are_counted_but_not_averaged() -> None:
    s = satisfaction_scheme()
    plain = score_item(s, example_a())
    noisy = score_item(
        s,
        [
            *example_a(),
            abstain(PANEL),
            BallotValue(PANEL, {"option": "很好"}),
            BallotValue("nobody", {"option": "满意"}),
        ],
    )
    assert noisy.total == plain.total
    assert noisy.groups[0].mean == plain.groups[0].mean
    assert (noisy.abstain, noisy.invalid, noisy.unassigned) == (plain.abstain + 1, 2, 1)
    assert noisy.groups[0].invalid == 1
    assert noisy.satisfaction_rate == plain.satisfaction_rate
    assert noisy.flags[-1].code == "invalid_ballots"


def test_abstain_refused_by_scheme_counts_as_invalid() -> None:
    s = replace(satisfaction_scheme(), allow_abstain=False)
    r = score_item(s, [opt(PANEL, "满意"), abstain(PANEL)])
    assert (r.groups[0].abstain, r.groups[0].invalid) == (0, 1)


def test_no_ballots_means_no_total() -> None:
    r = score_item(satisfaction_scheme(), [])
    assert r.total is None and r.grade is None and r.total_display is None
    assert all(not g.included and g.reason == LEFT_OUT_REASON for g in r.groups)
    assert [f.code for f in r.flags] == ["insufficient_ballots", "insufficient_ballots", "no_total"]
    assert rank({"x": r}) == rank({"x": None})


def test_grade_goes_by_published_total() -> None:
    s = replace(satisfaction_scheme(), groups=(Group(PANEL, "评议团", PANEL, D(1)),), trim_k=0)
    # A total of 89.996 publishes as 90.00, and the grade must agree with what is published.
    s = replace(s, options=(replace(s.options[0], score=D("89.996")), *s.options[1:]))
    r = score_item(s, [opt(PANEL, "满意")])
    assert r.total == D("89.996") and r.total_display == "90.00"
    assert r.score == D("90.00") and r.grade == "好"


def test_bands_are_inclusive_at_their_minimum() -> None:
    s = replace(satisfaction_scheme(), trim_k=0)
    r = score_item(s, [opt(PANEL, "基本满意"), opt(PUBLIC, "基本满意")])
    assert r.total == 80 and r.grade == "较好"


def test_live_tally_equals_frozen_result() -> None:
    s = example_c_scheme()
    ballots = example_c()
    tally = live_tally(s, ballots)
    assert tally["result"] == score_item(s, ballots).to_dict()
    assert tally["total"] == len(ballots)
    assert tally["groups"]["panel:律师"] == {
        "label": "律师", "count": 5, "abstain": 1, "invalid": 0,
        "options": {"好": 1, "较好": 0, "一般": 2, "差": 1}, "mean": "70.00", "included": True,
    }


def test_result_round_trips_through_dict() -> None:
    for scheme, ballots in ((satisfaction_scheme(), example_a()), (rubric_scheme(), example_b()),
                            (example_c_scheme(), example_c())):
        r = score_item(scheme, ballots)
        again = ItemResult.from_dict(json.loads(json.dumps(r.to_dict())))
        assert again == r
        assert again.to_dict() == r.to_dict()


def test_result_from_dict_refuses_bad_shapes() -> None:
    good = score_item(satisfaction_scheme(), example_a()).to_dict()
    for broken in ({**good, "total": 87.53}, {**good, "groups": "x"}, {k: v for k, v in good.items() if k != "grade"},
                   {**good, "ballots": True}, {**good, "kind": "vote"}, {**good, "total": "NaN"}):
        with pytest.raises(ValueError, match="测评结果格式错误"):
            ItemResult.from_dict(broken)


def test_quotient_is_exact_when_the_fraction_terminates() -> None:
    assert quotient(D(1), D(8)) == D("0.125")
    assert quotient(D("85.125"), D(1)) == D("85.125")
    assert quotient(D(2), D(3)) == D("0.6666666666666666666666666666666666666667")


def test_display_rounds_half_up() -> None:
    assert display(D("85.125")) == "85.13"
    assert display(D("85.124999")) == "85.12"
    assert display(D("0.005")) == "0.01"
    assert display(D(90)) == "90.00"
    assert display_percent(D(2) / D(3)) == "66.67%"
    assert display_percent(D("0.00125")) == "0.13%"


# --- properties ----------------------------------------------------------------

SAT_OPTIONS = ["满意", "基本满意", "不满意"]
SAT_SCORES = {"满意": 100, "基本满意": 80, "不满意": 0}


@st.composite
def mixed_ballots(draw: st.DrawFn) -> list[BallotValue]:
    choices = st.one_of(
        st.sampled_from(SAT_OPTIONS).map(lambda o: {"option": o}),
        st.just({"abstain": True}),
        st.just({"option": "未知"}),
    )
    return draw(st.lists(st.builds(BallotValue, st.sampled_from([PANEL, PUBLIC, "other"]), choices), max_size=40))


@given(mixed_ballots(), st.randoms())
def test_ballot_order_does_not_matter(ballots: list[BallotValue], rnd: random.Random) -> None:
    s = satisfaction_scheme()
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert score_item(s, shuffled) == score_item(s, ballots)
    with_ids = [{"id": i, "group": b.group, "choice": dict(b.choice)} for i, b in enumerate(ballots)]
    shuffled_ids = list(with_ids)
    rnd.shuffle(shuffled_ids)
    assert ballots_digest(s, 9, shuffled_ids) == ballots_digest(s, 9, with_ids)


def fraction_half_up(x: Fraction) -> str:
    cents = math.floor(x * 100 + Fraction(1, 2))
    return f"{cents // 100}.{cents % 100:02d}"


@st.composite
def weighted_case(draw: st.DrawFn) -> tuple[Scheme, list[BallotValue]]:
    n = draw(st.integers(1, 4))
    groups = []
    ballots: list[BallotValue] = []
    for i in range(n):
        source = PUBLIC if i == 0 else PANEL
        cats = () if i == 0 else (f"类别{i}",)
        weight = D(draw(st.integers(1, 1000))) / D(draw(st.sampled_from([1, 10, 100])))
        g = Group(f"g{i}", f"组{i}", source, weight, draw(st.integers(1, 6)), cats)
        groups.append(g)
        ballots += [opt(g.key, o) for o in draw(st.lists(st.sampled_from(SAT_OPTIONS), max_size=12))]
    scheme = replace(satisfaction_scheme(), groups=tuple(groups), trim_k=draw(st.integers(0, 3)))
    return scheme, ballots


@settings(max_examples=300)
@given(weighted_case())
def test_renormalised_total_matches_an_exact_fraction(case: tuple[Scheme, list[BallotValue]]) -> None:
    scheme, ballots = case
    r = score_item(scheme, ballots)
    num = Fraction(0)
    den = Fraction(0)
    for g in scheme.groups:
        scores = sorted(SAT_SCORES[str(b.choice["option"])] for b in ballots if b.group == g.key)
        included = len(scores) >= g.min_ballots
        assert r.group(g.key) is not None and r.group(g.key).included == included  # type: ignore[union-attr]
        if len(scores) > 2 * scheme.trim_k and scheme.trim_k:
            scores = scores[scheme.trim_k : -scheme.trim_k]
        if included:
            num += Fraction(g.weight) * Fraction(sum(scores), len(scores))
            den += Fraction(g.weight)
    if den == 0:
        assert r.total is None
        return
    exact = num / den
    assert r.total is not None
    assert abs(Fraction(r.total) - exact) < Fraction(1, 10**30)
    assert r.total_display == fraction_half_up(exact)
    shares = [g.effective_weight for g in r.groups if g.included]
    assert abs(sum((Fraction(s) for s in shares if s is not None), Fraction(0)) - 1) < Fraction(1, 10**30)
    # Leaving a group out is the same as never having had it.
    kept = replace(scheme, groups=tuple(g for g in scheme.groups if r.group(g.key).included))  # type: ignore[union-attr]
    assert score_item(kept, [b for b in ballots if kept.group(b.group)]).total == r.total


@given(st.integers(0, 4), st.lists(st.decimals(0, 100, places=1), max_size=12))
def test_trimming(k: int, scores: list[Decimal]) -> None:
    kept = trim(scores, k)
    if len(scores) > 2 * k:
        assert len(kept) == len(scores) - 2 * k
        ordered = sorted(scores)
        assert kept == ordered[k : len(ordered) - k]
    else:
        assert kept == sorted(scores)


@given(st.integers(1, 3), st.data())
def test_trimming_boundaries_in_a_group(k: int, data: st.DataObject) -> None:
    scheme = replace(satisfaction_scheme(), trim_k=k)
    for n, dropped in ((2 * k, 0), (2 * k + 1, 2 * k)):
        options = data.draw(st.lists(st.sampled_from(SAT_OPTIONS), min_size=n, max_size=n))
        g = score_item(scheme, [opt(PANEL, o) for o in options]).groups[0]
        assert (g.valid, g.trimmed, g.counted) == (n, dropped, n - dropped)
        scores = sorted(SAT_SCORES[o] for o in options)
        expected = scores if dropped == 0 else scores[k : n - k]
        assert g.mean is not None
        assert abs(Fraction(g.mean) - Fraction(sum(expected), len(expected))) < Fraction(1, 10**30)


@given(st.integers(1, 8), st.sampled_from([0, 1]), st.lists(st.sampled_from(SAT_OPTIONS), min_size=1, max_size=5))
def test_group_at_exactly_its_minimum(minimum: int, short: int, public: list[str]) -> None:
    groups = (Group(PANEL, "评议团", PANEL, D(70), minimum), Group(PUBLIC, "群众", PUBLIC, D(30), 1))
    scheme = replace(satisfaction_scheme(), groups=groups)
    ballots = [opt(PANEL, "满意")] * (minimum - short) + [abstain(PANEL)] * 3
    ballots += [opt(PUBLIC, o) for o in public]
    r = score_item(scheme, ballots)
    panel = r.groups[0]
    assert panel.included is (short == 0)
    if short:
        assert panel.reason == LEFT_OUT_REASON
        assert r.groups[1].effective_weight == 1
        assert r.total == r.groups[1].mean
    else:
        assert panel.effective_weight == D("0.7")


@given(st.integers(0, 10**7))
def test_half_up_rounding(thousandths: int) -> None:
    value = D(thousandths) / D(1000)
    cents, rest = divmod(thousandths, 10)
    cents += rest >= 5
    assert display(value) == f"{cents // 100}.{cents % 100:02d}"
    assert published(value) == D(cents) / 100


@given(st.lists(st.one_of(st.none(), st.decimals(0, 100, places=3)), max_size=12))
def test_ranking_ties(totals: list[Decimal | None]) -> None:
    results = {f"item{i}": None if t is None else fake_result(t) for i, t in enumerate(totals)}
    entries = rank(results)
    assert sorted(e.item for e in entries) == sorted(results)
    shown = {e.item: None if e.total is None else published(e.total) for e in entries}
    ranks = [e.rank for e in entries if e.rank is not None]
    assert ranks == sorted(ranks)
    for e in entries:
        mine = shown[e.item]
        if mine is None:
            assert e.rank is None
            continue
        higher = sum(1 for v in shown.values() if v is not None and v > mine)
        assert e.rank == higher + 1
    # Unranked items come last, tied items stay in the order given.
    seen_none = False
    for e in entries:
        seen_none = seen_none or e.rank is None
        assert (e.rank is None) == seen_none
    order = list(results)
    for a, b in itertools.pairwise(entries):
        if a.rank is not None and a.rank == b.rank:
            assert order.index(a.item) < order.index(b.item)


@given(mixed_ballots())
def test_to_dict_from_dict_round_trip(ballots: list[BallotValue]) -> None:
    r = score_item(satisfaction_scheme(), ballots)
    assert ItemResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_a_paper_bundle_scores_like_the_same_sheets_cast_online() -> None:
    """Counts keyed from paper expand to one ballot per sheet; the scoring code cannot tell them
    from phone ballots, and mixing both gives the result of all the sheets together."""
    from live.domain.paper import ballot_choices, canonical_figures

    scheme = satisfaction_scheme()
    figures = canonical_figures(scheme, "public", {"counts": {"满意": 6, "基本满意": 3, "不满意": 3}, "abstain": 1})
    paper = [BallotValue("public", c) for c in ballot_choices(figures)]
    online = [BallotValue("public", {"option": o}) for o in ["满意"] * 6 + ["基本满意"] * 3 + ["不满意"] * 3]
    online.append(BallotValue("public", {"abstain": True}))
    panel = [BallotValue("panel", {"option": o}) for o in ["满意"] * 5 + ["基本满意"] * 2 + ["不满意"]]
    assert score_item(scheme, [*panel, *paper]) == score_item(scheme, [*panel, *online])
    half = [BallotValue("public", c) for c in ballot_choices(
        canonical_figures(scheme, "public", {"counts": {"满意": 3, "不满意": 3}, "abstain": 1}))]
    rest = [BallotValue("public", {"option": o}) for o in ["满意"] * 3 + ["基本满意"] * 3]
    mixed = score_item(scheme, [*panel, *half, *rest])
    assert mixed == score_item(scheme, [*panel, *online])
    assert mixed.total_display == "87.53"  # example A of docs/scoring.md
