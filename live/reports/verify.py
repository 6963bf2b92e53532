"""The ballots export (``live export ballots``) and its independent recount (``live verify``).

The export holds everything needed to recompute a meeting's 测评 without the
database: the scheme, every ballot (id, group, choice; never the voter), each
item's frozen result and digest, and the ranking. ``verify_export`` recomputes
all of it and reports each mismatch; a file it cannot read raises ExportError.
The format is documented in docs/scoring.md.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from live.domain.record import RecordError, item_digest
from live.domain.scheme import BallotError, BallotKind, BallotValue, Scheme, check_scheme, decimal_str
from live.domain.scoring import ItemResult, RankEntry, ballots_digest, rank, score_item
from live.reports.record_check import RecordCheck, check_record, parse_audit, parse_record

EXPORT_FORMAT = "shufa-live/ballots"
# 2: item digests cover the presenter and place; the audit log and the signed record root ride along.
EXPORT_VERSION = 2
READABLE_VERSIONS = (1, 2)
# Per-ballot fields copied into the export beside id, group and choice (and so covered by the
# item digest): ``source`` marks a paper ballot. Nothing that names a voter is ever listed here.
BALLOT_EXTRA_FIELDS = ("source",)

BALLOT_SOURCES = ("online", "paper")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Keys of ItemResult.to_dict(): anything else stored beside a frozen result (a
# cached tally, say) is not part of the result and stays out of the export.
_RESULT_KEYS = (
    "kind", "total", "total_display", "grade", "ballots", "valid", "abstain", "invalid",
    "unassigned", "satisfied", "satisfaction_rate", "satisfaction_rate_display", "groups", "flags",
)


class ExportError(ValueError):
    """The file is not a readable ballots export (malformed, truncated, wrong format)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


ItemId = int | str


def _id_order(value: ItemId) -> tuple[int, int, str]:
    # Numeric ids in numeric order (9 before 10), then text ids.
    return (0, value, "") if isinstance(value, int) else (1, 0, value)


def _ranking_dicts(entries: Sequence[RankEntry[ItemId]]) -> list[dict[str, Any]]:
    return [
        {
            "item": e.item,
            "rank": e.rank,
            "total": None if e.total is None else decimal_str(e.total),
            "total_display": e.total_display,
        }
        for e in entries
    ]


def _ballot(b: Mapping[str, Any]) -> dict[str, Any]:
    out = {"id": b["id"], "group": b["group"], "choice": dict(b["choice"])}
    out.update({k: b[k] for k in BALLOT_EXTRA_FIELDS if b.get(k) is not None})
    return out


def build_export(
    meeting: Mapping[str, Any], scheme: Mapping[str, Any], items: Sequence[Mapping[str, Any]],
    audit: Sequence[Mapping[str, Any]] = (), record: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the ballots export from what the store holds.

    Each item: ``id``, ``position``, ``presenter`` {name, post, unit}, ``ballots``
    [{id, group, choice}], ``result`` (the frozen result dict, or None), ``digest``
    (or None), and optionally its own ``scheme``. Only id, group and choice of a
    ballot are copied, so no voter identity can leak into the file. The ranking is
    computed from the frozen results. ``audit`` is the meeting's audit log and ``record`` its
    sealed root with signature (live.store.record.export_record), or None before the first seal.
    """
    canonical_scheme = Scheme.from_dict(scheme).to_dict()
    out_items: list[dict[str, Any]] = []
    for item in sorted(items, key=lambda i: (i["position"], _id_order(i["id"]))):
        presenter = item.get("presenter") or {}
        ballots = sorted(
            (_ballot(b) for b in item["ballots"]),
            key=lambda b: _id_order(b["id"]),
        )
        result = item.get("result")
        entry: dict[str, Any] = {
            "id": item["id"],
            "position": item["position"],
            "presenter": {k: str(presenter.get(k) or "") for k in ("name", "post", "unit")},
            "ballots": ballots,
            "result": None if result is None else {k: result[k] for k in _RESULT_KEYS if k in result},
            "digest": item.get("digest"),
        }
        if item.get("scheme") is not None:
            entry["scheme"] = Scheme.from_dict(item["scheme"]).to_dict()
        out_items.append(entry)

    frozen = {
        i["id"]: None if i["result"] is None else ItemResult.from_dict(i["result"]) for i in out_items
    }
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "meeting": dict(meeting),
        "scheme": canonical_scheme,
        "counts": {"items": len(out_items), "ballots": sum(len(i["ballots"]) for i in out_items)},
        "items": out_items,
        "ranking": _ranking_dicts(rank(frozen)),
        "audit": [dict(e) for e in audit],
        "record": None if record is None else dict(record),
    }


# --- reading ---------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ExportError(f"文件含有非法数值 {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key would let two readers see two different values.
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ExportError(f"文件中字段「{k}」重复出现")
        out[k] = v
    return out


def parse_export_text(text: str) -> object:
    """Parse the JSON text of an export; truncated or invalid JSON raises ExportError."""
    if not text.strip():
        raise ExportError("文件为空")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ExportError(
            f"文件不完整或不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）"
        ) from exc


def load_export(path: str | Path) -> object:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ExportError(f"无法读取文件 {path}：{exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportError(f"文件不是 UTF-8 编码（第 {exc.start} 字节）") from exc
    return parse_export_text(text)


def _need(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise ExportError(f"文件格式错误：{where} {what}")


def _is_id(value: object) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_scheme(raw: object, where: str) -> Scheme:
    if not isinstance(raw, dict):
        raise ExportError(f"文件格式错误：{where} 应为对象")
    try:
        scheme = Scheme.from_dict(raw)
        check_scheme(scheme)
    except BallotError as exc:
        raise ExportError(f"文件格式错误：{where} {exc.message}") from exc
    return scheme


@dataclass(frozen=True)
class _Item:
    id: ItemId
    position: int
    presenter: dict[str, str]
    scheme: Scheme
    ballots: list[dict[str, Any]]
    result: dict[str, Any] | None
    digest: str | None


def _parse_item(raw: object, where: str, default_scheme: Scheme) -> _Item:
    _need(isinstance(raw, dict), where, "应为对象")
    assert isinstance(raw, dict)
    for key in ("id", "position", "presenter", "ballots", "result", "digest"):
        _need(key in raw, where, f"缺少字段 {key}")
    _need(_is_id(raw["id"]), f"{where}.id", "应为整数或文字")
    _need(_is_int(raw["position"]), f"{where}.position", "应为整数")
    presenter = raw["presenter"]
    _need(isinstance(presenter, dict), f"{where}.presenter", "应为对象")
    _need(isinstance(presenter.get("name"), str), f"{where}.presenter.name", "应为文字")
    ballots = raw["ballots"]
    _need(isinstance(ballots, list), f"{where}.ballots", "应为列表")
    for n, b in enumerate(ballots):
        bw = f"{where}.ballots[{n}]"
        _need(isinstance(b, dict), bw, "应为对象")
        for key in ("id", "group", "choice"):
            _need(key in b, bw, f"缺少字段 {key}")
        _need(_is_id(b["id"]), f"{bw}.id", "应为整数或文字")
        _need(isinstance(b["group"], str), f"{bw}.group", "应为文字")
        _need(isinstance(b["choice"], dict), f"{bw}.choice", "应为对象")
        # Optional (older files have none): where the ballot came from, a phone or a paper sheet.
        _need(b.get("source", "online") in BALLOT_SOURCES, f"{bw}.source", "应为 online 或 paper")
    result = raw["result"]
    _need(result is None or isinstance(result, dict), f"{where}.result", "应为对象或 null")
    digest = raw["digest"]
    _need(digest is None or (isinstance(digest, str) and bool(_HEX64.fullmatch(digest))),
          f"{where}.digest", "应为 64 位小写十六进制 SHA-256 摘要或 null")
    scheme = default_scheme if raw.get("scheme") is None else _parse_scheme(raw["scheme"], f"{where}.scheme")
    return _Item(
        id=raw["id"],
        position=raw["position"],
        presenter={k: str(presenter.get(k) or "") for k in ("name", "post", "unit")},
        scheme=scheme,
        ballots=ballots,
        result=result,
        digest=digest,
    )


def _parse(data: object) -> tuple[dict[str, Any], Scheme, list[_Item], dict[str, Any], list[Any]]:
    _need(isinstance(data, dict), "顶层", "应为对象")
    assert isinstance(data, dict)
    if data.get("format") != EXPORT_FORMAT:
        raise ExportError(f"不是述法评议选票导出文件（format 应为 {EXPORT_FORMAT}）")
    if data.get("version") not in READABLE_VERSIONS:
        raise ExportError(f"不支持的导出版本 {data.get('version')!r}，本程序支持版本 1 与 {EXPORT_VERSION}")
    keys = ("meeting", "scheme", "counts", "items", "ranking") + (("audit", "record") if data["version"] >= 2 else ())
    for key in keys:
        _need(key in data, "顶层", f"缺少字段 {key}（文件可能不完整）")
    meeting, counts, items, ranking = data["meeting"], data["counts"], data["items"], data["ranking"]
    _need(isinstance(meeting, dict), "meeting", "应为对象")
    _need(isinstance(counts, dict) and _is_int(counts.get("items")) and _is_int(counts.get("ballots")),
          "counts", "应含整数 items 与 ballots")
    _need(isinstance(items, list), "items", "应为列表")
    _need(isinstance(ranking, list), "ranking", "应为列表")
    scheme = _parse_scheme(data["scheme"], "scheme")
    parsed = [_parse_item(raw, f"items[{n}]", scheme) for n, raw in enumerate(items)]
    seen: set[ItemId] = set()
    for item in parsed:
        _need(item.id not in seen, f"items（id {item.id!r}）", "编号重复")
        seen.add(item.id)
    for n, entry in enumerate(ranking):
        _need(isinstance(entry, dict) and "item" in entry and "rank" in entry, f"ranking[{n}]",
              "应为含 item 与 rank 的对象")
    return meeting, scheme, parsed, counts, ranking


# --- checking --------------------------------------------------------------


@dataclass(frozen=True)
class ItemCheck:
    """One item as recomputed from its ballots, and what did not match."""

    id: ItemId
    position: int
    presenter: dict[str, str]
    ballots: int
    result: ItemResult
    frozen: bool
    rank: int | None
    digest: str
    digest_ok: bool | None
    result_ok: bool | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class VerifyReport:
    meeting: dict[str, Any]
    scheme: Scheme
    items: tuple[ItemCheck, ...]
    ranking_ok: bool
    # Everything that did not match, each naming its item: non-empty means failed.
    problems: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    version: int = EXPORT_VERSION
    # The record part (version 2): root, audit chain, signature. None for a version 1 file.
    record: RecordCheck | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


_FIELD_NAMES = {
    "total": "总分", "total_display": "总分（显示）", "grade": "等次", "ballots": "票数", "valid": "有效票",
    "abstain": "弃权票", "invalid": "无效票", "unassigned": "组外票", "satisfied": "满意票",
    "satisfaction_rate": "满意率", "satisfaction_rate_display": "满意率（显示）", "mean": "平均分",
    "mean_display": "平均分（显示）", "included": "是否计入", "trimmed": "去掉票数", "counted": "计分票数",
    "score_sum": "分数合计", "effective_weight": "折算权重", "weight": "权重", "flags": "标记", "kind": "测评方式",
}


def _differences(frozen: object, fresh: object, path: str = "") -> Iterator[str]:
    if isinstance(frozen, dict) and isinstance(fresh, dict):
        for key in [*fresh, *(k for k in frozen if k not in fresh)]:
            label = _FIELD_NAMES.get(key, key)
            sub = f"{path}·{label}" if path else label
            if key not in frozen:
                yield f"{sub}：冻结结果中缺失"
            elif key not in fresh:
                yield f"{sub}：冻结结果中多出"
            else:
                yield from _differences(frozen[key], fresh[key], sub)
    elif isinstance(frozen, list) and isinstance(fresh, list) and len(frozen) == len(fresh):
        for n, (a, b) in enumerate(zip(frozen, fresh, strict=True)):
            name = b.get("label") if isinstance(b, dict) and "label" in b else str(n + 1)
            yield from _differences(a, b, f"{path}[{name}]")
    elif frozen != fresh or type(frozen) is not type(fresh):
        yield f"{path}：冻结值 {_short(frozen)}，重算值 {_short(fresh)}"


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "…"


def _who(item: _Item) -> str:
    return f"第 {item.position} 项 {item.presenter['name'] or item.id}"


def _item_digest(item: _Item, version: int) -> str:
    try:
        if version == 1:
            return ballots_digest(item.scheme, item.id, item.ballots)
        return item_digest(item.id, item.position, item.presenter, item.scheme.to_dict(), item.ballots)
    except (RecordError, TypeError, ValueError) as exc:
        # A float or a non-text key in a ballot: the canonical encoding has no form for it.
        raise ExportError(f"文件格式错误：{_who(item)} 的选票无法规范编码（{exc}）") from exc


def _check_item(item: _Item, version: int) -> tuple[ItemCheck, list[str], list[str]]:
    problems: list[str] = []
    notes: list[str] = []
    ids = [str(b["id"]) for b in item.ballots]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        problems.append(f"选票编号重复：{'、'.join(dup[:5])}")
    values = [BallotValue(b["group"], b["choice"]) for b in item.ballots]
    fresh = score_item(item.scheme, values)
    digest = _item_digest(item, version)

    digest_ok: bool | None = None
    if item.digest is not None:
        digest_ok = item.digest == digest
        if not digest_ok:
            problems.append(f"摘要不符：文件 {item.digest[:16]}…，按选票重算 {digest[:16]}…")
    elif item.result is not None:
        problems.append("有冻结结果但缺少摘要")

    result_ok: bool | None = None
    if item.result is not None:
        diffs = list(_differences(item.result, fresh.to_dict()))
        result_ok = not diffs
        if diffs:
            shown = "；".join(diffs[:4]) + (f"；另有 {len(diffs) - 4} 处" if len(diffs) > 4 else "")
            problems.append(f"冻结结果与按选票重算不符：{shown}")
    elif item.digest is not None:
        problems.append("有摘要但缺少冻结结果")
    elif item.ballots:
        notes.append(f"{_who(item)}：测评未结束，结果未冻结（{len(item.ballots)} 张选票未核对）")
    on_paper = sum(1 for b in item.ballots if b.get("source") == "paper")
    if on_paper:
        notes.append(f"{_who(item)}：含纸质测评表 {on_paper} 张，与线上选票一并重算")

    check = ItemCheck(
        id=item.id,
        position=item.position,
        presenter=item.presenter,
        ballots=len(item.ballots),
        result=fresh,
        frozen=item.result is not None,
        rank=None,
        digest=digest,
        digest_ok=digest_ok,
        result_ok=result_ok,
        problems=tuple(problems),
    )
    return check, [f"{_who(item)}：{p}" for p in problems], notes


def verify_export(data: object, *, expect: str | None = None, pubkey: str | None = None) -> VerifyReport:
    """Recompute every result, digest and the ranking of a parsed export, and (version 2)
    the record root, the audit chain and the signature.

    ``expect`` is the root shown on the big screen; ``pubkey`` the organiser's public key.
    Raises ExportError when the data is not readable (or ``pubkey`` is not a key); every
    mismatch is listed in the report instead (``report.ok`` is False).
    """
    meeting, scheme, items, counts, ranking = _parse(data)
    assert isinstance(data, dict)
    version = int(data["version"])
    problems: list[str] = []
    notes: list[str] = []
    total_ballots = sum(len(i.ballots) for i in items)
    if counts["items"] != len(items) or counts["ballots"] != total_ballots:
        problems.append(
            f"文件声明 {counts['items']} 项、{counts['ballots']} 张选票，实际为 {len(items)} 项、"
            f"{total_ballots} 张（文件可能不完整或被改动）"
        )

    ordered = sorted(items, key=lambda i: (i.position, _id_order(i.id)))
    checks: list[ItemCheck] = []
    for item in ordered:
        check, item_problems, item_notes = _check_item(item, version)
        checks.append(check)
        problems += item_problems
        notes += item_notes

    expected = rank({c.id: c.result if c.frozen else None for c in checks})
    places = {e.item: e.rank for e in expected}
    checks = [_with_rank(c, places.get(c.id)) for c in checks]
    ranking_problems = _ranking_problems(ranking, _ranking_dicts(expected), {i.id: i for i in items})
    problems += ranking_problems
    record_check: RecordCheck | None = None
    if version == 1:
        notes.append("这是版本 1 的导出文件：没有会议记录根摘要、审计日志与签名，只核对了计票")
        if expect or pubkey:
            problems.append("版本 1 的导出文件没有记录根摘要，无法按 --expect/--pubkey 核对")
    else:
        record_check = _record_check(data, meeting, scheme, items, expect, pubkey)
        problems += record_check.problems
        notes += record_check.notes
    return VerifyReport(
        meeting=meeting,
        scheme=scheme,
        items=tuple(checks),
        ranking_ok=not ranking_problems,
        problems=tuple(problems),
        notes=tuple(notes),
        version=version,
        record=record_check,
    )


def _record_check(data: dict[str, Any], meeting: dict[str, Any], scheme: Scheme, items: list[_Item],
                  expect: str | None, pubkey: str | None) -> RecordCheck:
    try:
        audit = parse_audit(data["audit"])
        rec = parse_record(data["record"])
        parts = [{"id": i.id, "position": i.position, "presenter": i.presenter, "ballots": i.ballots,
                  "scheme": i.scheme.to_dict(), "result": i.result} for i in items]
        return check_record(meeting, scheme.to_dict(), parts, audit, rec, expect=expect, pubkey=pubkey)
    except ValueError as exc:
        raise ExportError(f"文件格式错误：{exc}") from exc


def _with_rank(check: ItemCheck, place: int | None) -> ItemCheck:
    return replace(check, rank=place)


def _ranking_problems(
    found: list[Any], expected: list[dict[str, Any]], items: Mapping[ItemId, _Item]
) -> list[str]:
    if found == expected:
        return []
    out: list[str] = []
    found_by_item = {e["item"]: e for e in found if _is_id(e["item"])}
    for e in expected:
        name = _who(items[e["item"]])
        got = found_by_item.get(e["item"])
        if got is None:
            out.append(f"名次表缺少{name}")
        elif got.get("rank") != e["rank"] or got.get("total") != e["total"]:
            out.append(
                f"名次不符：{name} 文件为第 {got.get('rank')} 名（{got.get('total_display')}），"
                f"重算为第 {e['rank']} 名（{e['total_display']}）"
            )
    extra = [e["item"] for e in found if not _is_id(e["item"]) or e["item"] not in items]
    if extra:
        out.append(f"名次表含有不存在的议程：{extra[:3]}")
    if not out:
        out.append("名次表的顺序或内容与重算结果不一致")
    return out


def verify_file(path: str | Path, *, expect: str | None = None, pubkey: str | None = None) -> VerifyReport:
    return verify_export(load_export(path), expect=expect, pubkey=pubkey)


# --- the table -------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


_KIND_NAMES = {BallotKind.SATISFACTION: "满意度测评", BallotKind.GRADE: "等次测评", BallotKind.RUBRIC: "百分制测评"}


def scheme_summary(scheme: Scheme) -> str:
    """One line describing the scheme, for the head of reports."""
    weights = " / ".join(f"{g.label} {decimal_str(g.weight)}（至少 {g.min_ballots} 票）" for g in scheme.groups)
    return f"方案：{_KIND_NAMES[scheme.kind]}；权重 {weights}；每组去掉最高、最低分各 {scheme.trim_k} 个"


def format_report(report: VerifyReport) -> str:
    """A plain-text table of the recount, followed by the verdict."""
    title = str(report.meeting.get("title") or report.meeting.get("id") or "")
    lines = [f"选票核验：{title}".rstrip("：").rstrip(), scheme_summary(report.scheme), ""]
    rows = [["序号", "述法人", "选票", "有效", "总分", "等次", "满意率", "名次", "摘要", "核验"]]
    for c in report.items:
        # An item still open has no official result yet: show its counts only.
        r = c.result if c.frozen else None
        status = "不符" if c.problems else ("通过" if c.frozen else "未冻结")
        rows.append([
            str(c.position),
            c.presenter["name"] or str(c.id),
            str(c.ballots),
            str(c.result.valid),
            (r and r.total_display) or "—",
            (r and r.grade) or "—",
            (r and r.satisfaction_rate_display) or "—",
            "—" if c.rank is None else str(c.rank),
            c.digest[:12],
            status,
        ])
    lines += _table(rows)
    flagged = [(c, f) for c in report.items if c.frozen for f in c.result.flags]
    if flagged:
        lines += ["", "标记："]
        lines += [f"  · {c.presenter['name'] or c.id}：{f.message}" for c, f in flagged]
    if report.record is not None:
        lines += ["", *_record_lines(report.record)]
    if report.notes:
        lines += ["", "说明："] + [f"  · {n}" for n in report.notes]
    lines.append("")
    if report.ok:
        ballots = sum(c.ballots for c in report.items)
        lines.append(f"核验通过：{len(report.items)} 项、{ballots} 张选票，摘要、结果与名次全部一致。")
        rc = report.record
        if rc is not None and rc.root is not None:
            lines.append("记录根摘要一致" + ("，签名经给出的公钥核对为真。" if rc.authenticated else
                                       "；真实性未核对（请加 --pubkey 主办方公钥）。"))
    else:
        lines.append(f"核验未通过：发现 {len(report.problems)} 处不一致。")
        lines += [f"  ✗ {p}" for p in report.problems]
    return "\n".join(lines)


def _record_lines(rc: RecordCheck) -> list[str]:
    sig = {True: "有效", False: "无效", None: "未核对"}[rc.signature_ok]
    lines = [f"记录根摘要（重算）：{rc.root or '—'}"]
    if rc.file_root and rc.file_root != rc.root:
        lines.append(f"记录根摘要（文件）：{rc.file_root}")
    chain = "完整" if rc.chain_ok else "断裂"
    lines.append(f"审计日志：{rc.audit_entries} 条，链条{chain}；根摘要覆盖前 {rc.audit_seq} 条")
    who = f"（公钥指纹 {rc.key_fingerprint}）" if rc.key_fingerprint else ""
    lines.append(f"签名：{sig}{who}" + ("，真实性已核对" if rc.authenticated else ""))
    return lines
