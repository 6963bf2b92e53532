from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from live.domain.moderation import (
    COMMENT_MAX_CHARS,
    QUESTION_MAX_CHARS,
    BannedWordFilter,
    ModerationError,
    clean_text,
    default_lexicon_path,
    load_lexicon,
    parse_lexicon,
    validate_comment,
    validate_question,
    validate_term,
)

LEXICON = load_lexicon(default_lexicon_path())


@pytest.fixture(scope="module")
def shipped() -> BannedWordFilter:
    return BannedWordFilter.from_lexicon(LEXICON)


def terms(f: BannedWordFilter, text: str) -> list[str]:
    return [h.term for h in f.check(text)]


def test_shipped_lexicon_loads() -> None:
    assert len(LEXICON.banned) >= 20
    assert "傻逼" in LEXICON.banned and "sb" in LEXICON.banned
    assert "畜生产" in LEXICON.allowed
    assert not any(t.startswith("#") for t in LEXICON.banned)


@pytest.mark.parametrize(
    "text,term",
    [
        ("你就是个傻逼", "傻逼"),
        ("傻 逼", "傻逼"),
        ("傻*逼", "傻逼"),
        ("傻-_-逼", "傻逼"),
        ("傻🐶逼", "傻逼"),
        ("傻\u200b逼", "傻逼"),  # zero-width space
        ("ＳＢ", "sb"),  # full-width
        ("SB", "sb"),
        ("s.b.", "sb"),
        ("真是 S B 一个", "sb"),
        ("ＦＵＣＫ", "fuck"),
        ("f u c k", "fuck"),
        ("fück", "fuck"),  # accent stripped
        ("想赚钱加ＶＸ：abc123", "加vx"),
        ("加 微 信 领红包", "加微信"),
        ("这个狗官", "狗官"),
        ("nmsl!!!", "nmsl"),
    ],
)
def test_hits(shipped: BannedWordFilter, text: str, term: str) -> None:
    assert term in terms(shipped, text)


@pytest.mark.parametrize(
    "text",
    [
        "请问局长，生态环境执法检查事项多、程序复杂，你们怎么做到规范公正文明执法？",
        "校园欺凌问题怎么预防？",
        "我不想去，死也不去",  # a clause break stands between 去 and 死
        "过去死亡事故多发，现在好多了",
        "牲畜生产和畜生产品检疫怎么监管",  # allowed phrase
        "this bad idea",  # "s b" across a word
        "Use a USB drive",
        "a glass of water",
        "class action",
        "打击网络赌博和电信诈骗",  # lawful topics stay innocent
        "加vip会员有什么用",
        "点赞！支持依法行政",
        "混合动力车辆",
        "傻",  # a single character is never a hit
        "",
    ],
)
def test_no_false_hits(shipped: BannedWordFilter, text: str) -> None:
    assert shipped.check(text) == []


def test_positions_point_into_the_original_text(shipped: BannedWordFilter) -> None:
    text = "前面的话，你 傻　*　逼 吧"
    [hit] = shipped.check(text)
    assert text[hit.start:hit.end] == hit.matched == "傻　*　逼"
    assert shipped.mask(text) == "前面的话，你 *　*　* 吧"


def test_contained_hit_is_reported_once() -> None:
    f = BannedWordFilter(["操你妈", "你妈"])
    hits = f.check("操你妈的")
    assert [(h.term, h.start, h.end) for h in hits] == [("操你妈", 0, 3)]


def test_several_hits_in_order(shipped: BannedWordFilter) -> None:
    assert terms(shipped, "脑残，加微信，滚蛋") == ["脑残", "加微信", "滚蛋"]


def test_add_and_remove_words() -> None:
    f = BannedWordFilter()
    assert f.check("黑恶势力保护伞") == []
    assert f.add_words(["保护伞", " 保护伞 ", "ＡＢＣ"]) == ["保护伞", "ＡＢＣ"]
    assert terms(f, "黑恶势力保护伞") == ["保护伞"]
    assert terms(f, "abc") == ["ＡＢＣ"]
    assert f.remove_words(["保护伞"]) == ["保护伞"]
    assert f.check("黑恶势力保护伞") == []
    assert f.words == ("ＡＢＣ",)


def test_bad_terms_leave_the_filter_unchanged() -> None:
    f = BannedWordFilter(["脑残"])
    with pytest.raises(ModerationError) as info:
        f.add_words(["人渣", "死"])
    assert info.value.code == "term_too_short"
    assert "死" in info.value.message
    assert f.words == ("脑残",)
    for bad in ["", "  ", "*", "a", "去，死", "长" * 51]:
        with pytest.raises(ModerationError):
            validate_term(bad)


def test_allowed_phrases() -> None:
    f = BannedWordFilter(["尼玛"], allowed=["尼玛县"])
    assert f.check("尼玛县的牧民") == []
    assert terms(f, "尼玛的") == ["尼玛"]


def test_lexicon_file_format(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("\ufeff# 注释\n\n  脑残  \n!脑残片\n", encoding="utf-8")
    lex = load_lexicon(path)
    assert lex.banned == ("脑残",) and lex.allowed == ("脑残片",)
    with pytest.raises(ModerationError) as info:
        parse_lexicon("好词\n死\n", origin="x.txt")
    assert "第 2 行" in info.value.message


CJK_TERMS = [t for t in LEXICON.banned if all(not c.isascii() for c in t)]


@settings(max_examples=200, deadline=None)
@given(
    term=st.sampled_from(CJK_TERMS),
    seps=st.lists(st.sampled_from([" ", "*", "·", "-", "　", "~", "/", "\u200b", "★", "…"]), min_size=10, max_size=10),
    prefix=st.sampled_from(["", "你这个", "abc ", "。"]),
)
def test_separators_inside_a_term_still_hit(term: str, seps: list[str], prefix: str) -> None:
    f = BannedWordFilter(LEXICON.banned, LEXICON.allowed)
    spaced = "".join(ch + seps[i % len(seps)] for i, ch in enumerate(term[:-1])) + term[-1]
    text = prefix + spaced + "！"
    hits = f.check(text)
    assert any(h.term == term for h in hits)
    hit = next(h for h in hits if h.term == term)
    assert text[hit.start:hit.end] == spaced


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_check_never_crashes_and_positions_are_valid(text: str) -> None:
    f = BannedWordFilter(LEXICON.banned, LEXICON.allowed)
    for hit in f.check(text):
        assert 0 <= hit.start < hit.end <= len(text)
        assert text[hit.start:hit.end] == hit.matched


def test_clean_text() -> None:
    assert clean_text("  你好\u200b\u202e世界\x00  ") == "你好世界"
    assert clean_text("第一行\r\n第二行\t 结束") == "第一行 第二行 结束"
    assert clean_text("a\n\n\n\n b  \n", multiline=True) == "a\n\nb"
    assert clean_text("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"  # ZWJ emoji kept
    assert clean_text("e\u0301") == "\u00e9"  # NFC, so stored text compares equal


def test_validate_comment_and_question() -> None:
    assert validate_comment("  支持！\n") == "支持！"
    assert validate_question("问题一\n补充说明") == "问题一\n补充说明"
    for raw, code in [("", "empty"), (" \u200b\n ", "empty"), (None, "invalid_text"), (123, "invalid_text"),
                      ("长" * (COMMENT_MAX_CHARS + 1), "too_long"), ("x" * 100_000, "too_long")]:
        with pytest.raises(ModerationError) as info:
            validate_comment(raw)
        assert info.value.code == code and info.value.message
    assert validate_comment("长" * COMMENT_MAX_CHARS) == "长" * COMMENT_MAX_CHARS
    with pytest.raises(ModerationError) as info:
        validate_question("问" * (QUESTION_MAX_CHARS + 1))
    assert "最多" in info.value.message
