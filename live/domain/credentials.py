"""Public voting credentials: the three public modes, ticket codes and the roster file.

A ticket code is 11 random Crockford base32 characters (55 bits) and one check
character, shown as ``K7QM-3XP9-TR2W``. The check character is a weighted sum in
GF(32): position i (the check itself is position 0) weighs alpha**i for a primitive
alpha, so the weights are distinct and non-zero. A single changed character changes
the sum by w*e != 0, and swapping any two characters changes it by (w_i + w_j)(a + b),
which is non-zero unless the two characters are equal: every single typo and every
transposition (adjacent or not) is caught.

Reading is forgiving the way Crockford intended: case does not matter, I and L read
as 1, O as 0, spaces and hyphens are ignored. Only a keyed hash of the normalised
code is ever stored (:func:`code_hash`), so a database reader cannot redeem one.

Pure logic; the caller reads the upload and stores the result.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from live.domain.errors import DomainError
from live.domain.question_import import MAX_FILE_BYTES, QuestionImportError, _rows


class PublicMode(StrEnum):
    OPEN = "open"
    TICKET = "ticket"
    ROSTER = "roster"


PUBLIC_MODE_LABEL = {
    PublicMode.OPEN: "开放投票（未实名）",
    PublicMode.TICKET: "票码投票",
    PublicMode.ROSTER: "实名名单投票",
}
OPEN_GROUP_LABEL = PUBLIC_MODE_LABEL[PublicMode.OPEN]


class CredentialError(DomainError):
    default_code = "bad_credential"


ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_VALUE = {ch: n for n, ch in enumerate(ALPHABET)}
_VALUE.update({"I": 1, "L": 1, "O": 0})
DATA_CHARS = 11
CODE_CHARS = DATA_CHARS + 1
CODE_BITS = DATA_CHARS * 5

# GF(32) = GF(2)[x] / (x^5 + x^2 + 1); x (= 2) is primitive.
_POLY = 0b100101


def _gf_mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _POLY
    return out


def _weights(n: int) -> list[int]:
    w, out = 1, []
    for _ in range(n):
        out.append(w)
        w = _gf_mul(w, 2)
    return out


_W = _weights(CODE_CHARS)  # _W[0] = 1 weighs the check character


def check_char(data: str) -> str:
    """The check character of 11 data characters (already normalised)."""
    total = 0
    for i, ch in enumerate(data, start=1):
        total ^= _gf_mul(_W[i], _VALUE[ch])
    return ALPHABET[total]  # total + check * 1 == 0 in GF(32): the check equals the sum


def new_code() -> str:
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_CHARS))
    return data + check_char(data)


def group_code(code: str) -> str:
    """``K7QM3XP9TR2W`` -> ``K7QM-3XP9-TR2W`` for print and reading aloud."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise(text: str) -> str:
    """The canonical code, or CredentialError saying what is wrong with what was typed."""
    if not isinstance(text, str) or len(text) > 64:
        raise CredentialError("票码格式不对：应为 12 位字母和数字", code="bad_code")
    folded = unicodedata.normalize("NFKC", text).upper()
    chars = [c for c in folded if c not in " -_\t"]
    if len(chars) != CODE_CHARS:
        raise CredentialError(f"票码应为 12 位（现为 {len(chars)} 位），请核对后重新输入", code="bad_code")
    bad = [c for c in chars if c not in _VALUE]
    if bad:
        raise CredentialError(f"票码中不会出现「{bad[0]}」，请核对后重新输入", code="bad_code")
    canon = "".join(ALPHABET[_VALUE[c]] for c in chars)
    if check_char(canon[:DATA_CHARS]) != canon[DATA_CHARS]:
        raise CredentialError("票码有误（校验位不符），请逐位核对后重新输入", code="bad_check")
    return canon


def code_hash(pepper: bytes, code: str) -> str:
    """What the database keeps: HMAC-SHA256 of the canonical code under the server's pepper."""
    return hmac.new(pepper, code.encode(), hashlib.sha256).hexdigest()


def pepper_from_secret(secret_key: str) -> bytes:
    return hashlib.sha256(b"live.ticket-pepper\x00" + secret_key.encode()).digest()


# --- the roster file ----------------------------------------------------------------

MAX_ROSTER_ROWS = 5000
_ROSTER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "name"),
    "unit": ("单位", "工作单位", "部门", "unit"),
    "group": ("群体", "类别", "投票组", "group"),
    "contact": ("手机/工号", "手机", "工号", "手机号", "手机号码", "联系电话", "电话", "联系方式", "phone", "id"),
}
_ROSTER_REQUIRED = ("name", "group")
_ROSTER_LABEL = {"name": "姓名", "unit": "单位", "group": "群体", "contact": "手机/工号"}


def _fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum() or ch == "/")


_ROSTER_INDEX = {_fold(a): f for f, aliases in _ROSTER_ALIASES.items() for a in aliases}


@dataclass(frozen=True)
class RosterVoter:
    row: int
    name: str
    unit: str
    group: str
    contact: str


@dataclass(frozen=True)
class RosterRowError:
    row: int
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.message}"


@dataclass(frozen=True)
class RosterResult:
    voters: list[RosterVoter]
    errors: list[RosterRowError]


def _clean(text: str, limit: int) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())[:limit + 1]


def parse_roster(data: bytes, filename: str | None, groups: Sequence[str] | None) -> RosterResult:
    """Voters from an organiser's XLSX or CSV (UTF-8 or GBK). ``groups`` lists the 群体 the
    scheme knows (None: any 群体 is taken). Bad rows are reported by their spreadsheet row
    number and every good row is kept. Raises CredentialError when the file is unusable."""
    if len(data) > MAX_FILE_BYTES:
        raise CredentialError("文件过大（上限 5 MB）", code="too_large")
    try:
        rows = list(_rows(data, filename))
    except QuestionImportError as exc:
        raise CredentialError(exc.message, code=exc.code) from exc
    header_row, columns = 0, {}
    for n, cells in enumerate(rows[:5], start=1):
        found: dict[str, int] = {}
        for col, text in enumerate(cells):
            f = _ROSTER_INDEX.get(_fold(text.split("（")[0].split("(")[0]))
            if f and f not in found:
                found[f] = col
        if all(f in found for f in _ROSTER_REQUIRED):
            header_row, columns = n, found
            break
    if not header_row:
        raise CredentialError("找不到表头：应包含「姓名」「群体」列（「单位」「手机/工号」可选）", code="no_header")
    known = {_fold(g): g for g in groups} if groups is not None else None
    voters: list[RosterVoter] = []
    errors: list[RosterRowError] = []
    seen: dict[tuple[str, str, str], int] = {}

    def value(cells: list[str], name: str) -> str:
        col = columns.get(name)
        return cells[col] if col is not None and col < len(cells) else ""

    for n, cells in enumerate(rows[header_row:], start=header_row + 1):
        if not any(c.strip() for c in cells):
            continue
        if len(voters) + len(errors) >= MAX_ROSTER_ROWS:
            errors.append(RosterRowError(n, f"超过 {MAX_ROSTER_ROWS} 人的上限，其后各行未导入"))
            break
        name, unit = _clean(value(cells, "name"), 50), _clean(value(cells, "unit"), 100)
        group, contact = _clean(value(cells, "group"), 20), _clean(value(cells, "contact"), 30)
        if not name:
            errors.append(RosterRowError(n, "缺少姓名"))
            continue
        if len(name) > 50 or len(unit) > 100 or len(contact) > 30:
            errors.append(RosterRowError(n, "姓名、单位或手机/工号过长"))
            continue
        if not group:
            errors.append(RosterRowError(n, "缺少群体"))
            continue
        if known is not None:
            if _fold(group) not in known:
                errors.append(RosterRowError(n, f"群体「{group}」不在测评方案中（可选：{'、'.join(known.values())}）"))
                continue
            group = known[_fold(group)]
        key = (name, unit, contact)
        if key in seen:
            errors.append(RosterRowError(n, f"与第 {seen[key]} 行重复"))
            continue
        seen[key] = n
        voters.append(RosterVoter(n, name, unit, group, contact))
    if not voters and not errors:
        raise CredentialError("文件中没有名单数据", code="empty")
    return RosterResult(voters, errors)
