"""Checking the record block of a ballots export (version 2): the audit chain, the
root recomputed from the file's content, the root the big screen showed (``--expect``)
and the Ed25519 signature (``--pubkey``). The encoding is in live.domain.record."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from live.domain import record

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RecordCheck:
    """What the record part of a verification found."""

    root: str | None  # recomputed from the file's content
    file_root: str | None
    audit_entries: int
    audit_seq: int
    chain_ok: bool
    root_ok: bool | None  # None: the file has no root
    expect_ok: bool | None  # None: no --expect given
    signature_ok: bool | None  # None: nothing signed, or nothing to check it with
    authenticated: bool  # the signature was checked against a key given by the caller
    key_fingerprint: str | None
    problems: tuple[str, ...]
    notes: tuple[str, ...]


def _short(h: str | None) -> str:
    return "（无）" if not h else f"{h[:16]}…"


def parse_record(raw: object) -> dict[str, Any] | None:
    """The record block, or None; raises ValueError with a Chinese message on a malformed one."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("record 应为对象或 null")
    root = raw.get("root")
    if not isinstance(root, str) or not _HEX64.fullmatch(root):
        raise ValueError("record.root 应为 64 位小写十六进制摘要")
    seq = raw.get("audit_seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValueError("record.audit_seq 应为非负整数")
    for key in ("signature", "public_key", "key_fingerprint"):
        if raw.get(key) is not None and not isinstance(raw.get(key), str):
            raise ValueError(f"record.{key} 应为文字或 null")
    return raw


def parse_audit(raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise ValueError("audit 应为对象列表")
    return raw


def check_record(meeting: Mapping[str, Any], scheme: Mapping[str, Any], items: Sequence[Mapping[str, Any]],
                 audit: Sequence[Mapping[str, Any]], rec: Mapping[str, Any] | None, *,
                 expect: str | None = None, pubkey: str | None = None) -> RecordCheck:
    problems: list[str] = []
    notes: list[str] = []
    chain = record.chain_problems(audit)
    problems += chain
    expect = expect.strip().lower() if expect else None

    if rec is None:
        if expect or pubkey:
            problems.append("文件没有记录根摘要（会议记录尚未封存），无法按 --expect/--pubkey 核对")
        else:
            notes.append("文件没有记录根摘要：会议记录尚未封存（第一次测评结束时封存）")
        return RecordCheck(None, None, len(audit), 0, not chain, None, None if not expect else False, None,
                           False, None, tuple(problems), tuple(notes))

    seq = int(rec["audit_seq"])
    if seq > len(audit):
        problems.append(f"记录覆盖审计日志前 {seq} 条，文件中只有 {len(audit)} 条（有条目被删除）")
        seq_used = len(audit)
    else:
        seq_used = seq
    try:
        root, _ = record.compute_root(meeting, scheme, items, audit, seq_used)
    except (record.RecordError, KeyError, TypeError) as exc:
        raise ValueError(f"无法计算记录根摘要：{exc}") from exc
    file_root = str(rec["root"])
    root_ok = root == file_root
    if not root_ok:
        problems.append(f"记录根摘要不符：文件 {_short(file_root)}，按文件内容重算 {_short(root)}"
                        "（会议、述法人、方案、选票或审计日志被改动）")
    if seq < len(audit):
        notes.append(f"审计日志第 {seq + 1}–{len(audit)} 条是封存之后追加的（如公开成绩、整改），"
                     "链条已核对，但不在已签名的根摘要之内")

    expect_ok: bool | None = None
    if expect:
        expect_ok = expect == root
        if not expect_ok:
            problems.append(f"根摘要与核对值不符：应为 {_short(expect)}（--expect），按文件内容重算 {_short(root)}")

    signature = rec.get("signature")
    embedded = rec.get("public_key")
    signature_ok: bool | None = None
    fingerprint: str | None = None
    if pubkey:
        try:
            fingerprint = record.fingerprint(pubkey)
        except record.RecordError as exc:
            raise ValueError(f"--pubkey 无效：{exc}") from exc
        if not signature:
            signature_ok = False
            problems.append("记录未签名，无法用给出的公钥核对真实性")
        else:
            signature_ok = record.verify_signature(pubkey, root, str(signature))
            if not signature_ok:
                problems.append(f"签名核对失败：签名不是公钥 {fingerprint} 对该根摘要的签名")
    elif signature and embedded:
        try:
            fingerprint = record.fingerprint(str(embedded))
        except record.RecordError:
            fingerprint = None
        signature_ok = record.verify_signature(str(embedded), root, str(signature))
        if not signature_ok:
            problems.append("签名核对失败：签名与文件自带的公钥和根摘要不符")
        notes.append("未给出 --pubkey：只核对了完整性（签名与文件自带的公钥相符），没有核对真实性；"
                     "文件自带的公钥谁都可以替换，请用主办方公布的公钥核对")
    else:
        notes.append("记录未签名（服务器没有签名密钥）：只能核对完整性")
    if embedded and rec.get("key_fingerprint"):
        try:
            if record.fingerprint(str(embedded)) != rec["key_fingerprint"]:
                problems.append("文件中的公钥指纹与公钥不符")
        except record.RecordError:
            problems.append("文件中的公钥格式错误")
    return RecordCheck(root, file_root, len(audit), seq, not chain, root_ok, expect_ok, signature_ok,
                       bool(pubkey) and bool(signature_ok), fingerprint, tuple(problems), tuple(notes))
