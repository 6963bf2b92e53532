"""Banned-word filtering and clean-up of text sent by the public.

Matching runs on a *skeleton* of the text: each character is folded to its
compatibility form (full-width → half-width), lower-cased, stripped of accents,
and anything that is not a letter or digit is dropped, so ``傻 * 逼`` or ``ＳＢ``
still match. Every skeleton character remembers where it came from, so hits are
reported at their positions in the original text.

Two rules keep innocent text from being flagged:

- clause punctuation (，。！？；：、 and line breaks) is a hard break that a match
  may not span, because a real sentence such as "我不想去，死也不去" would
  otherwise read as an insult;
- a term that starts or ends with a Latin letter must sit on a word boundary,
  so ``sb`` never fires inside "this b…" and ``ass`` never inside "class".

Single characters are refused as terms: any one character is part of too many
ordinary words.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from live.domain.errors import DomainError

COMMENT_MAX_CHARS = 100
QUESTION_MAX_CHARS = 500
MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 50

# Never produced by the skeleton of a term, so an automaton match cannot cross it.
_BREAK = "\x00"
_HARD_BREAKS = frozenset(",。!?;:、\n\r\u2028\u2029")


class ModerationError(DomainError):
    """Text or a lexicon term that is refused; ``message`` is shown to the user as is."""

    default_code = "invalid_text"


@dataclass(frozen=True)
class Hit:
    """A banned term found in a text; ``start``/``end`` index the original text (end exclusive)."""

    term: str
    start: int
    end: int
    matched: str


def _fold(ch: str) -> str:
    """One character folded for matching; may be empty or longer than one character."""
    out: list[str] = []
    for d in unicodedata.normalize("NFKD", ch):
        if unicodedata.category(d).startswith("M"):
            continue
        out.append(d.casefold())
    return "".join(out)


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _word_class(ch: str) -> str:
    """'a' for letters of spaced scripts, 'd' for digits, '' otherwise (CJK, breaks)."""
    if ch.isdigit():
        return "d"
    if ch.isalpha() and not _is_wide(ch):
        return "a"
    return ""


def skeleton(text: str) -> tuple[str, list[int]]:
    """The folded text used for matching, and for each of its characters the original index."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for f in _fold(ch):
            if f.isalnum():
                chars.append(f)
                origin.append(i)
            elif f in _HARD_BREAKS and (not chars or chars[-1] != _BREAK):
                chars.append(_BREAK)
                origin.append(i)
    return "".join(chars), origin


def validate_term(term: str) -> str:
    """A lexicon term as stored (cleaned like all user text); raise if it cannot be matched safely."""
    cleaned = clean_text(term)
    skel, _ = skeleton(cleaned)
    if _BREAK in skel:
        raise ModerationError(f"敏感词「{cleaned}」不能包含逗号、句号等断句符号", code="bad_term")
    if len(skel) < MIN_TERM_CHARS:
        raise ModerationError(
            f"敏感词「{cleaned}」过短：至少需要 {MIN_TERM_CHARS} 个文字或字母，单字容易误伤正常内容",
            code="term_too_short",
        )
    if len(cleaned) > MAX_TERM_CHARS:
        raise ModerationError(f"敏感词「{cleaned[:10]}…」过长（最多 {MAX_TERM_CHARS} 字）", code="term_too_long")
    return cleaned


@dataclass(frozen=True)
class Lexicon:
    banned: tuple[str, ...]
    # Innocent phrases that contain a banned term (a place name, a legal term);
    # a hit lying wholly inside one of them is dropped.
    allowed: tuple[str, ...] = ()


def parse_lexicon(text: str, origin: str = "词库") -> Lexicon:
    """Lines are terms; ``#`` starts a comment line; ``!`` marks an allowed phrase."""
    banned: list[str] = []
    allowed: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        target = banned
        if line.startswith("!"):
            target = allowed
            line = line[1:].strip()
        try:
            target.append(validate_term(line))
        except ModerationError as exc:
            raise ModerationError(f"{origin} 第 {lineno} 行：{exc.message}", code=exc.code) from exc
    return Lexicon(tuple(banned), tuple(allowed))


def load_lexicon(path: str | os.PathLike[str]) -> Lexicon:
    p = Path(path)
    # utf-8-sig: a lexicon edited in Notepad on Windows starts with a BOM.
    return parse_lexicon(p.read_text(encoding="utf-8-sig"), origin=p.name)


def default_lexicon_path() -> Path:
    return Path(__file__).resolve().parents[2] / "assets" / "banned_words.txt"


def _build(terms: Iterable[str]) -> ahocorasick.Automaton | None:
    automaton = ahocorasick.Automaton()
    added = False
    for term in terms:
        skel, _ = skeleton(term)
        # Two spellings of one term fold to one key; the first one written wins.
        if skel not in automaton:
            automaton.add_word(skel, (term, len(skel)))
            added = True
    if not added:
        return None
    automaton.make_automaton()
    return automaton


class BannedWordFilter:
    """An Aho–Corasick matcher over skeletons.

    The automata are rebuilt whole on every change and swapped in one assignment,
    so ``check`` may run in other threads while the host extends the lexicon.
    Changes themselves are expected from one place at a time (the host's command path).
    """

    def __init__(self, words: Iterable[str] = (), allowed: Iterable[str] = ()) -> None:
        self._banned: dict[str, str] = {}
        self._allowed: dict[str, str] = {}
        self._automaton: ahocorasick.Automaton | None = None
        self._allow_automaton: ahocorasick.Automaton | None = None
        self.add_words(words)
        self.add_allowed(allowed)

    @classmethod
    def from_lexicon(cls, lexicon: Lexicon) -> BannedWordFilter:
        return cls(lexicon.banned, lexicon.allowed)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> BannedWordFilter:
        return cls.from_lexicon(load_lexicon(path))

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self._banned.values())

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(self._allowed.values())

    def add_words(self, words: Iterable[str]) -> list[str]:
        """Add terms (all or none); returns the ones that were new."""
        added = self._merge(self._banned, words)
        if added:
            self._automaton = _build(self._banned.values())
        return added

    def remove_words(self, words: Iterable[str]) -> list[str]:
        removed = [self._banned.pop(k) for k in {skeleton(w.strip())[0] for w in words} if k in self._banned]
        if removed:
            self._automaton = _build(self._banned.values())
        return removed

    def add_allowed(self, phrases: Iterable[str]) -> list[str]:
        added = self._merge(self._allowed, phrases)
        if added:
            self._allow_automaton = _build(self._allowed.values())
        return added

    @staticmethod
    def _merge(target: dict[str, str], words: Iterable[str]) -> list[str]:
        # Validate everything first so a bad term leaves the filter unchanged.
        cleaned = [validate_term(w) for w in words]
        added: list[str] = []
        for term in cleaned:
            key = skeleton(term)[0]
            if key not in target:
                target[key] = term
                added.append(term)
        return added

    def check(self, text: str) -> list[Hit]:
        """All banned terms in ``text``, by position; a hit inside a longer hit is left out."""
        automaton = self._automaton
        if automaton is None or not text:
            return []
        skel, origin = skeleton(text)
        allowed_spans = self._allowed_spans(skel)
        found: list[tuple[int, int, str]] = []
        for end_idx, (term, length) in automaton.iter(skel):
            start_idx = end_idx - length + 1
            if not _on_word_boundary(skel, origin, start_idx, end_idx):
                continue
            if any(a <= start_idx and end_idx <= b for a, b in allowed_spans):
                continue
            found.append((origin[start_idx], origin[end_idx] + 1, term))
        found.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        hits: list[Hit] = []
        for start, end, term in found:
            if any(h.start <= start and end <= h.end for h in hits):
                continue
            hits.append(Hit(term=term, start=start, end=end, matched=text[start:end]))
        return hits

    def contains_banned(self, text: str) -> bool:
        return bool(self.check(text))

    def mask(self, text: str, fill: str = "*") -> str:
        """``text`` with every hit's visible characters replaced, e.g. for a host preview."""
        chars = list(text)
        for hit in self.check(text):
            for i in range(hit.start, hit.end):
                if _fold(chars[i]).isalnum():
                    chars[i] = fill
        return "".join(chars)

    def _allowed_spans(self, skel: str) -> list[tuple[int, int]]:
        automaton = self._allow_automaton
        if automaton is None:
            return []
        return [(end - length + 1, end) for end, (_, length) in automaton.iter(skel)]


def _on_word_boundary(skel: str, origin: list[int], start: int, end: int) -> bool:
    """Whether a match at skeleton positions [start, end] stands apart from the letters
    or digits around it. Characters dropped in between (a space) count as a boundary."""
    before = start - 1 if start > 0 else None
    after = end + 1 if end + 1 < len(skel) else None
    return not (_glued(skel, origin, before, start) or _glued(skel, origin, end, after))


def _glued(skel: str, origin: list[int], left: int | None, right: int | None) -> bool:
    """Two skeleton neighbours of one kind (letters, or digits) that touch in the original text."""
    if left is None or right is None or origin[right] - origin[left] > 1:
        return False
    kind = _word_class(skel[left])
    return bool(kind) and kind == _word_class(skel[right])


# C0/C1 controls, and the format characters that hide text or flip its direction
# on screen (zero-width spaces, bidi overrides). ZWJ stays: emoji sequences need it.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_SPACES = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Text as it will be stored and shown: NFC, no invisible or control characters,
    runs of spaces collapsed, trimmed. Single-line text gets its line breaks turned into spaces."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _INVISIBLE.sub("", text.replace("\t", " "))
    if not multiline:
        text = text.replace("\n", " ")
    text = _SPACES.sub(" ", text)
    if multiline:
        text = "\n".join(line.strip() for line in text.split("\n"))
        text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


def validate_text(raw: object, *, max_chars: int, what: str = "内容", multiline: bool = False) -> str:
    """Cleaned text, or :class:`ModerationError` when it is empty, too long or not text."""
    if not isinstance(raw, str):
        raise ModerationError(f"{what}格式不正确", code="invalid_text")
    # Bound the work done on a hostile payload before cleaning it.
    if len(raw) > max_chars * 4 + 256:
        raise ModerationError(f"{what}过长，最多 {max_chars} 字", code="too_long")
    text = clean_text(raw, multiline=multiline)
    if not text:
        raise ModerationError(f"{what}不能为空", code="empty")
    if len(text) > max_chars:
        raise ModerationError(f"{what}过长（{len(text)} 字），最多 {max_chars} 字", code="too_long")
    return text


def validate_comment(raw: object) -> str:
    return validate_text(raw, max_chars=COMMENT_MAX_CHARS, what="评论")


def validate_question(raw: object) -> str:
    return validate_text(raw, max_chars=QUESTION_MAX_CHARS, what="问题", multiline=True)
