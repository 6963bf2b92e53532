"""Schemes: defaults, checks, (de)serialisation, the panel split, ballot validation."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from live.domain.scheme import (
    PANEL,
    PANEL_CATEGORIES,
    PUBLIC,
    BallotError,
    BallotKind,
    Band,
    Criterion,
    Group,
    Option,
    Scheme,
    check_scheme,
    decimal_str,
    grade_scheme,
    panel_split_scheme,
    rubric_scheme,
    satisfaction_scheme,
    validate_choice,
)

D = Decimal
DEFAULTS = [satisfaction_scheme(), grade_scheme(), rubric_scheme()]


def scheme_error(scheme: Scheme) -> str:
    with pytest.raises(BallotError) as info:
        check_scheme(scheme)
    assert info.value.code == "invalid_scheme"
    return info.value.message


@pytest.mark.parametrize("scheme", DEFAULTS, ids=lambda s: s.kind.value)
def test_defaults_are_valid_and_round_trip(scheme: Scheme) -> None:
    check_scheme(scheme)
    assert Scheme.from_dict(scheme.to_dict()) == scheme
    assert Scheme.from_dict(scheme.to_dict()).to_dict() == scheme.to_dict()


def test_defaults_match_the_issue() -> None:
    s = satisfaction_scheme()
    assert [(o.key, o.score, o.satisfied) for o in s.options] == [
        ("满意", 100, True), ("基本满意", 80, True), ("不满意", 0, False),
    ]
    assert [o.key for o in grade_scheme().options] == ["好", "较好", "一般", "差"]
    assert [(c.key, c.max) for c in rubric_scheme().criteria] == [
        ("履行第一责任人职责", 25), ("依法决策", 25), ("严格规范公正文明执法", 25), ("化解矛盾纠纷与学法用法", 25),
    ]
    assert [(g.key, g.weight, g.min_ballots) for g in s.groups] == [(PANEL, 70, 1), (PUBLIC, 30, 1)]
    assert s.trim_k == 1
    assert [(b.label, b.min_score) for b in s.bands] == [("好", 90), ("较好", 80), ("一般", 60), ("差", 0)]


def test_numbers_serialise_canonically() -> None:
    s = replace(satisfaction_scheme(), groups=(Group(PANEL, "评议团", PANEL, D("70.0")),
                                               Group(PUBLIC, "群众", PUBLIC, D("3E+1"))))
    d = s.to_dict()
    assert [g["weight"] for g in d["groups"]] == ["70", "30"]
    assert [decimal_str(D(x)) for x in ("24.50", "0.0", "-0", "1E+2", "0.125")] == ["24.5", "0", "0", "100", "0.125"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: replace(s, groups=(replace(s.groups[0], weight=D(0)), s.groups[1])), "权重应大于 0"),
        (lambda s: replace(s, groups=(replace(s.groups[0], weight=D(-5)), s.groups[1])), "权重应大于 0"),
        (lambda s: replace(s, groups=(replace(s.groups[0], weight=D("NaN")), s.groups[1])), "权重应大于 0"),
        (lambda s: replace(s, groups=(s.groups[0], replace(s.groups[1], key=PANEL, source=PANEL))), "标识重复"),
        (lambda s: replace(s, groups=(replace(s.groups[0], min_ballots=0), s.groups[1])), "最低有效票数"),
        (lambda s: replace(s, groups=(replace(s.groups[0], source="guest"), s.groups[1])), "来源"),
        (lambda s: replace(s, groups=(*s.groups, Group("public:干部", "干部职工", PUBLIC, D(10), 1, ("干部职工",)))),
         "范围重叠"),
        (lambda s: replace(s, groups=()), "至少需要一个投票组"),
        (lambda s: replace(s, options=(*s.options, Option("满意", D(90)))), "选项名称重复：「满意」"),
        (lambda s: replace(s, options=(replace(s.options[0], score=D(101)), *s.options[1:])), "0 至 100"),
        (lambda s: replace(s, options=s.options[:1]), "至少需要两个选项"),
        (lambda s: replace(s, criteria=(Criterion("x", D(10)),)), "不应包含评分项"),
        (lambda s: replace(s, trim_k=-1), "trim_k"),
        (lambda s: replace(s, bands=s.bands[:3]), "分数线为 0"),
        (lambda s: replace(s, bands=(*s.bands, Band("好", D(95)))), "等次名称重复"),
        (lambda s: replace(s, bands=(*s.bands, Band("优", D(90)))), "分数线重复"),
        (lambda s: replace(s, bands=()), "至少需要一个等次"),
    ],
)
def test_check_scheme_refuses(change: Any, expected: str) -> None:
    assert expected in scheme_error(change(satisfaction_scheme()))


def test_rubric_checks() -> None:
    s = rubric_scheme()
    assert "满分之和应为 100，现为 90" in scheme_error(replace(s, criteria=(*s.criteria[:3], Criterion("x", D(15)))))
    assert "评分项名称重复" in scheme_error(replace(s, criteria=(*s.criteria[:3], s.criteria[0])))
    assert "满分应大于 0" in scheme_error(replace(s, criteria=(*s.criteria, Criterion("零", D(0)))))
    assert "一位小数" in scheme_error(replace(s, criteria=(Criterion("a", D("50.25")), Criterion("b", D("49.75")))))
    assert "不应包含选项" in scheme_error(replace(s, options=satisfaction_scheme().options))
    check_scheme(replace(s, criteria=(Criterion("a", D("62.5")), Criterion("b", D("37.5")))))


def test_overlapping_groups_are_refused() -> None:
    s = satisfaction_scheme()
    split = Group("panel:律师", "律师", PANEL, D(10), 1, ("律师",))
    assert "范围重叠" in scheme_error(replace(s, groups=(*s.groups, split)))
    both = Group("x", "甲", PANEL, D(10), 1, ("律师", "人大代表"))
    assert "范围重叠" in scheme_error(replace(s, groups=(split, both, s.groups[1])))


def test_check_scheme_lists_every_problem() -> None:
    s = replace(satisfaction_scheme(), trim_k=-1, bands=())
    message = scheme_error(s)
    assert message.startswith("测评方案无效：")
    assert "trim_k" in message and "等次" in message


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"kind": "vote"},
        {"kind": "satisfaction", "options": [{"key": "满意", "score": 100, "satisfied": "false"}]},
        {"kind": "satisfaction", "groups": [{"key": "p", "source": "panel", "weight": 1, "min_ballots": 1.5}]},
        {"kind": "satisfaction", "groups": [{"key": "p", "source": "panel"}]},
        {"kind": "satisfaction", "options": "满意"},
        {"kind": "satisfaction", "bands": [{"label": "好", "min_score": "abc"}]},
        {"kind": "satisfaction", "trim_k": True},
    ],
)
def test_from_dict_refuses_bad_shapes(raw: Any) -> None:
    with pytest.raises(BallotError) as info:
        Scheme.from_dict(raw)
    assert info.value.code == "invalid_scheme"
    assert info.value.message.startswith("测评方案格式错误")


def test_from_dict_takes_integer_text_from_forms() -> None:
    raw = {**satisfaction_scheme().to_dict(), "trim_k": "2"}
    raw["groups"] = [{**g, "min_ballots": "5"} for g in raw["groups"]]
    s = Scheme.from_dict(raw)
    assert s.trim_k == 2 and all(g.min_ballots == 5 for g in s.groups)


def test_panel_split_equal_exact_share() -> None:
    s = panel_split_scheme(satisfaction_scheme(), ["人大代表", "律师"])
    assert [(g.key, g.label, g.weight, g.categories) for g in s.groups] == [
        ("panel:人大代表", "人大代表", 35, ("人大代表",)),
        ("panel:律师", "律师", 35, ("律师",)),
        (PUBLIC, "群众", 30, ()),
    ]
    assert s.group_for(PANEL, "律师") is s.groups[1]
    assert s.group_for(PANEL, "政协委员") is None
    assert s.group_for(PANEL, None) is None
    assert s.group_for(PUBLIC, None) is s.groups[2]


def test_panel_split_keeps_ratios_exact_when_share_does_not_terminate() -> None:
    s = panel_split_scheme(satisfaction_scheme())
    assert [g.key for g in s.groups] == [f"panel:{c}" for c in PANEL_CATEGORIES] + [PUBLIC]
    assert all(g.weight == 70 for g in s.groups[:-1])
    assert s.groups[-1].weight == 180
    panel_total = sum(g.weight for g in s.groups[:-1])
    assert panel_total / (panel_total + 180) == D("0.7")


def test_panel_split_weights_and_minimum() -> None:
    base = replace(satisfaction_scheme(), groups=(replace(satisfaction_scheme().groups[0], min_ballots=4),
                                                  satisfaction_scheme().groups[1]))
    s = panel_split_scheme(base, ["律师", "法学专家"], weights={"律师": "12.5", "法学专家": 7})
    assert [(g.weight, g.min_ballots) for g in s.groups[:2]] == [(D("12.5"), 4), (7, 4)]
    assert panel_split_scheme(base, ["律师"], min_ballots=2).groups[0].min_ballots == 2
    with pytest.raises(BallotError, match="缺少类别「法学专家」的权重"):
        panel_split_scheme(base, ["律师", "法学专家"], weights={"律师": 1})
    with pytest.raises(BallotError, match="权重应大于 0"):
        panel_split_scheme(base, ["律师"], weights={"律师": 0})
    public_only = replace(base, groups=base.groups[1:])
    with pytest.raises(BallotError, match="没有评议团"):
        panel_split_scheme(public_only)


# --- ballot validation ----------------------------------------------------------


def rubric_choice(**overrides: object) -> dict[str, Any]:
    scores: dict[str, object] = {c.key: 20 for c in rubric_scheme().criteria}
    scores.update(overrides)
    return {"scores": scores}


def test_rubric_scores_become_canonical_strings() -> None:
    s = rubric_scheme()
    keys = [c.key for c in s.criteria]
    raw = {"scores": dict(zip(keys, [24, 24.5, "24.50", 0.0], strict=True))}
    assert validate_choice(s, raw) == {"scores": dict(zip(keys, ["24", "24.5", "24.5", "0"], strict=True))}
    assert validate_choice(s, {"scores": dict.fromkeys(keys, "25")}) == {"scores": dict.fromkeys(keys, "25")}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (26, "应在 0 至 25 之间"),
        (-1, "应在 0 至 25 之间"),
        (24.55, "最多保留一位小数"),
        ("abc", "不是数字"),
        ("1e1", "不是数字"),
        ("2_4", "不是数字"),
        (" 24", "不是数字"),
        ("NaN", "不是数字"),
        (float("inf"), "不是数字"),
        (True, "不是数字"),
        (None, "不是数字"),
        ([24], "不是数字"),
    ],
)
def test_rubric_refuses_bad_scores(value: object, message: str) -> None:
    with pytest.raises(BallotError, match=message):
        validate_choice(rubric_scheme(), rubric_choice(依法决策=value))


def test_rubric_refuses_missing_and_unknown_criteria() -> None:
    choice = rubric_choice()
    del choice["scores"]["依法决策"]
    with pytest.raises(BallotError, match="缺少评分项「依法决策」"):
        validate_choice(rubric_scheme(), choice)
    with pytest.raises(BallotError, match="未知评分项「创新」"):
        validate_choice(rubric_scheme(), rubric_choice(创新=5))
    with pytest.raises(BallotError, match="只包含 scores"):
        validate_choice(rubric_scheme(), {"option": "好"})


def test_option_ballots() -> None:
    s = satisfaction_scheme()
    assert validate_choice(s, {"option": "基本满意"}) == {"option": "基本满意"}
    assert validate_choice(s, {"abstain": True}) == {"abstain": True}
    with pytest.raises(BallotError, match="未知选项「很好」，可选：满意、基本满意、不满意"):
        validate_choice(s, {"option": "很好"})
    with pytest.raises(BallotError, match="只包含 option"):
        validate_choice(s, {"option": "满意", "extra": 1})
    with pytest.raises(BallotError, match="弃权票不能"):
        validate_choice(s, {"abstain": True, "option": "满意"})
    with pytest.raises(BallotError, match="不允许弃权"):
        validate_choice(replace(s, allow_abstain=False), {"abstain": True})
    with pytest.raises(BallotError, match="应为对象"):
        validate_choice(s, "满意")


@given(st.lists(st.integers(0, 250), min_size=4, max_size=4), st.lists(st.sampled_from(["int", "float", "str"]),
                                                                      min_size=4, max_size=4))
def test_rubric_canonical_form_is_stable(tenths: list[int], forms: list[str]) -> None:
    s = rubric_scheme()
    raw: dict[str, object] = {}
    for c, t, form in zip(s.criteria, tenths, forms, strict=True):
        value = D(t) / 10
        raw[c.key] = {"int": int(value) if value == int(value) else float(value), "float": float(value),
                      "str": str(value)}[form]
    canonical = validate_choice(s, {"scores": raw})
    assert validate_choice(s, canonical) == canonical
    for c, t in zip(s.criteria, tenths, strict=True):
        text = canonical["scores"][c.key]
        assert D(text) == D(t) / 10
        assert text == decimal_str(D(text)) and "E" not in text


def test_kind_values() -> None:
    assert [k.value for k in BallotKind] == ["satisfaction", "grade", "rubric"]
