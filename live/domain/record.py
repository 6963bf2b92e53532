"""The meeting record: per-item digests, the hash-chained audit log, the root that
covers them all, and its Ed25519 signature.

Pure functions over values (no I/O, no clock). Every hash is SHA-256 over one
canonical encoding, written out in docs/scoring.md so that anyone can recompute it:
UTF-8 JSON with keys sorted by code point, no whitespace, no floats (decimals are
strings), and a ``format`` name inside every hashed object so that no two kinds
of object can ever hash alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ITEM_FORMAT = "shufa-live/item"
ITEM_VERSION = 2
AUDIT_FORMAT = "shufa-live/audit"
RECORD_FORMAT = "shufa-live/record"
RECORD_VERSION = 1
# What is signed: this prefix and the root in lowercase hex, as ASCII.
SIGNATURE_CONTEXT = "shufa-live/record:"
GENESIS = "0" * 64
# Meeting fields that change while the record stands and are not part of it.
NOT_IN_RECORD = frozenset({"status"})
# Argument names whose values never reach the audit log (matched case-insensitively, as substrings).
SECRET_ARG_PARTS = ("password", "pin", "token", "secret", "ticket_code", "cookie", "device", "session", "hash")
# Lists the audit log keeps as a count only: a batch of ticket hashes, a roster with phone numbers,
# imported question rows (with the askers' names).
COUNTED_ARGS = frozenset({"hashes", "voters", "roster", "rows"})


class RecordError(ValueError):
    """A value cannot be put in the canonical encoding (a float, a NaN, a non-text key)."""


def canonical(value: object) -> bytes:
    """The canonical bytes of a JSON value (see docs/scoring.md, *The canonical encoding*)."""
    _check(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _check(value: object, depth: int = 0) -> None:
    if depth > 64:
        raise RecordError("嵌套过深")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise RecordError(f"字段名应为文字：{k!r}")
            _check(v, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _check(v, depth + 1)
    elif isinstance(value, float):
        raise RecordError(f"记录中不允许浮点数（请写成字符串）：{value!r}")
    elif value is not None and not isinstance(value, str | int | bool):
        raise RecordError(f"记录中不允许的值类型：{type(value).__name__}")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plain(value: object) -> object:
    """A JSON value fit for the canonical encoding: dates as ISO text, decimals and floats as text."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


# --- items -------------------------------------------------------------------


def ballot_row(ballot: Mapping[str, Any]) -> dict[str, Any]:
    """A ballot as the record holds it: every field the export carries, with the id as text."""
    row = {str(k): v for k, v in ballot.items()}
    ballot_id = row.get("id")
    if isinstance(ballot_id, bool) or not isinstance(ballot_id, int | str):
        raise RecordError(f"选票编号应为整数或文字：{ballot_id!r}")
    row["id"] = str(ballot_id)
    return row


def item_payload(item_id: int | str, position: int, presenter: Mapping[str, Any], scheme: Mapping[str, Any],
                 ballots: Iterable[Mapping[str, Any]], closed: bool = True) -> dict[str, Any]:
    rows = sorted((ballot_row(b) for b in ballots), key=lambda r: (r["id"], canonical(r)))
    return {
        "format": ITEM_FORMAT,
        "version": ITEM_VERSION,
        "closed": closed,
        "item": {"id": item_id, "position": position,
                 "presenter": {k: str(presenter.get(k) or "") for k in ("name", "post", "unit")}},
        "scheme": dict(scheme),
        "ballots": rows,
    }


def item_digest(item_id: int | str, position: int, presenter: Mapping[str, Any], scheme: Mapping[str, Any],
                ballots: Iterable[Mapping[str, Any]], closed: bool = True) -> str:
    """SHA-256 (hex) of one agenda item: its place, presenter, scheme and every ballot. An item
    whose 测评 has not closed enters the root with ``closed`` false and no ballots."""
    return sha256_hex(canonical(item_payload(item_id, position, presenter, scheme, ballots, closed)))


# --- the audit log -------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at_ms: int
    actor: str
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "at_ms": self.at_ms, "actor": self.actor, "action": self.action,
                "details": self.details}

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}


def audit_hash(prev_hash: str, seq: int, at_ms: int, actor: str, action: str, details: Mapping[str, Any]) -> str:
    entry = {"seq": seq, "at_ms": at_ms, "actor": actor, "action": action, "details": dict(details)}
    return sha256_hex(canonical({"format": AUDIT_FORMAT, "prev": prev_hash, "entry": entry}))


def next_entry(prev: AuditEntry | None, at_ms: int, actor: str, action: str,
               details: Mapping[str, Any]) -> AuditEntry:
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    clean = dict(details)
    return AuditEntry(seq, at_ms, actor, action, clean, prev_hash,
                      audit_hash(prev_hash, seq, at_ms, actor, action, clean))


def public_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of a command as the audit log keeps them: secrets dropped, values plain."""
    out: dict[str, Any] = {}
    for key, value in args.items():
        name = str(key)
        if name.lower() in COUNTED_ARGS and isinstance(value, list):
            out[name] = f"（{len(value)} 项，已隐去）"  # ticket hashes, roster contacts, askers: how many, not what
        elif any(part in name.lower() for part in SECRET_ARG_PARTS):
            out[name] = "（已隐去）"
        elif isinstance(value, Mapping):
            out[name] = public_args(value)
        else:
            out[name] = plain(value)
    return out


def chain_problems(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Everything wrong with a chain of audit entries given as dicts (empty: intact)."""
    problems: list[str] = []
    prev = GENESIS
    for n, e in enumerate(entries, start=1):
        try:
            seq, at_ms, actor, action, details = e["seq"], e["at_ms"], e["actor"], e["action"], e["details"]
            if seq != n:
                problems.append(f"审计日志第 {n} 条的序号为 {seq!r}，应为 {n}（有条目被删除或插入）")
            if e.get("prev_hash") != prev:
                problems.append(f"审计日志第 {n} 条的前一哈希与第 {n - 1} 条不衔接")
            exact = (isinstance(details, dict) and isinstance(actor, str) and isinstance(action, str)
                     and all(isinstance(v, int) and not isinstance(v, bool) for v in (seq, at_ms)))
            if not exact:
                raise TypeError
            fresh = audit_hash(prev, seq, at_ms, actor, action, details)
        except (KeyError, TypeError, RecordError):
            problems.append(f"审计日志第 {n} 条格式错误")
            return problems
        if e.get("hash") != fresh:
            problems.append(f"审计日志第 {n} 条（{action}）的哈希与内容不符：条目被改动")
        prev = str(e.get("hash"))
    return problems


def chain_head(entries: Sequence[Mapping[str, Any]], upto: int) -> str:
    """The hash of entry ``upto`` (1-based), or the genesis hash for 0."""
    if upto <= 0:
        return GENESIS
    return str(entries[upto - 1]["hash"])


# --- the root ------------------------------------------------------------------


def record_meeting(meeting: Mapping[str, Any]) -> dict[str, Any]:
    """The meeting block of the record: the export's meeting object minus fields that change."""
    return {k: v for k, v in meeting.items() if k not in NOT_IN_RECORD}


def root_payload(meeting: Mapping[str, Any], scheme: Mapping[str, Any], item_digests: Sequence[str],
                 audit_seq: int, audit_head: str) -> dict[str, Any]:
    return {
        "format": RECORD_FORMAT,
        "version": RECORD_VERSION,
        "meeting": record_meeting(meeting),
        "scheme": dict(scheme),
        "items": list(item_digests),
        "audit": {"seq": audit_seq, "head": audit_head},
    }


def record_root(meeting: Mapping[str, Any], scheme: Mapping[str, Any], item_digests: Sequence[str],
                audit_seq: int, audit_head: str) -> str:
    """SHA-256 (hex) over the meeting block, the scheme, the item digests in agenda order and the audit head."""
    return sha256_hex(canonical(root_payload(meeting, scheme, item_digests, audit_seq, audit_head)))


# --- signatures ----------------------------------------------------------------


def signed_message(root: str) -> bytes:
    return (SIGNATURE_CONTEXT + root).encode("ascii")


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def fingerprint(public_key: str) -> str:
    """The first 16 hex digits of SHA-256 over the raw 32-byte public key."""
    return sha256_hex(parse_public_key_bytes(public_key))[:16]


def sign_root(key: Ed25519PrivateKey, root: str) -> str:
    return base64.b64encode(key.sign(signed_message(root))).decode("ascii")


def parse_public_key_bytes(text: str) -> bytes:
    """A raw Ed25519 public key given as base64 (44 characters) or hex (64 digits)."""
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RecordError("公钥应为 base64（44 个字符）或十六进制（64 位）") from exc
    if len(raw) != 32:
        raise RecordError(f"公钥应为 32 字节，收到 {len(raw)} 字节")
    return raw


def verify_signature(public_key: str, root: str, signature: str) -> bool:
    """Whether ``signature`` (base64) is the key's Ed25519 signature over ``root``."""
    try:
        pub = Ed25519PublicKey.from_public_bytes(parse_public_key_bytes(public_key))
        sig = base64.b64decode(signature.strip(), validate=True)
        pub.verify(sig, signed_message(root))
    except (InvalidSignature, RecordError, binascii.Error, ValueError):
        return False
    return True


def _id_order(value: object) -> tuple[int, int, str]:
    # Numeric ids in numeric order (9 before 10), then text ids; as the export orders items.
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value))


def ordered_items(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Items in agenda order: by position, then id."""
    return sorted(items, key=lambda i: (i["position"], _id_order(i["id"])))


def compute_root(meeting: Mapping[str, Any], scheme: Mapping[str, Any], items: Iterable[Mapping[str, Any]],
                 audit: Sequence[Mapping[str, Any]], audit_seq: int) -> tuple[str, list[tuple[Any, str]]]:
    """The root and each item's digest (in agenda order) from export-shaped parts.

    ``scheme`` and any item's own ``scheme`` must already be canonical (Scheme.to_dict());
    ``audit`` is the whole chain, of which the first ``audit_seq`` entries are covered. An item
    is closed when it has a frozen ``result``: the ballots of an open 测评 are not yet in the record.
    """
    digests: list[tuple[Any, str]] = []
    for item in ordered_items(items):
        item_scheme = item.get("scheme") or scheme
        closed = item.get("result") is not None
        digests.append((item["id"], item_digest(item["id"], item["position"], item.get("presenter") or {},
                                                item_scheme, item["ballots"] if closed else [], closed)))
    head = chain_head(audit, audit_seq)
    return record_root(meeting, scheme, [d for _, d in digests], audit_seq, head), digests
