// Frozen 测评 results (docs/scoring.md), drawn from item.result exactly as the
// server stored them: every figure is the server's *_display text, never
// recomputed here. Shared by the host console and the big screen.

import { el, officialRanking, shortDigest, toast } from "./ui.js";

const DASH = "—";

// "已计入" or the reason a group was left out (有效票不足 …).
function inclusion(group) {
  if (group.included) return "计入";
  return group.reason ? `未计入：${group.reason}` : "未计入";
}

// One row per voter group, with the counts and the weight each group ended with.
// compact: the big screen's short form (fewer columns, larger type).
export function groupTable(result, { compact = false } = {}) {
  const groups = (result && result.groups) || [];
  if (!groups.length) return null;
  const rubric = result.kind === "rubric";
  // The public result hides every group's split when some group has fewer voters than the
  // small-group guard's k (docs/scoring.md): such a group carries its count and weight only.
  const split = (fn) => (g) => (g.valid === undefined ? DASH : fn(g));
  const cols = compact
    ? [["投票组", (g) => g.label + (g.guarded ? "（人数较少）" : "")],
      ["有效票", (g) => (g.valid === undefined ? `${DASH} / ${g.ballots}` : `${g.valid} / ${g.ballots}`)],
      ["平均分", split((g) => g.mean_display || DASH)],
      rubric ? null : ["满意率", split((g) => g.satisfaction_rate_display || DASH)],
      ["折算权重", (g) => g.effective_weight_display || DASH],
      ["计入总分", (g) => (g.included ? "是" : `否${g.reason ? `（${g.reason}）` : ""}`)]]
    : [["投票组", (g) => g.label],
      ["权重", (g) => g.weight],
      ["折算权重", (g) => g.effective_weight_display || DASH],
      ["选票", (g) => String(g.ballots)],
      ["有效", split((g) => String(g.valid))],
      ["弃权", split((g) => String(g.abstain))],
      ["无效", split((g) => String(g.invalid))],
      ["去掉", split((g) => String(g.trimmed))],
      ["平均分", split((g) => g.mean_display || DASH)],
      rubric ? null : ["满意率", split((g) => g.satisfaction_rate_display || DASH)],
      ["计入总分", inclusion]];
  const shown = cols.filter(Boolean);
  const table = el("table", { class: `group-table${compact ? " compact" : ""}` },
    el("thead", {}, el("tr", {}, shown.map(([h]) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, groups.map((g) => el("tr", { class: g.included ? null : "left-out" },
      shown.map(([, value], idx) => (idx === 0
        ? el("th", { scope: "row", text: value(g) })
        : el("td", { class: "num", text: value(g) })))))));
  if (!(result.guarded || []).length) return table;
  return el("div", { class: "group-table-wrap" }, table,
    el("p", { class: "muted guard-note", text: "有投票组人数少于保护人数，各组分项不单独公布；总分与等次按方案计算。" }));
}

// The result's flags (有效票不足, 权重已重新折算, …), in the server's words.
export function flagList(result) {
  const flags = (result && result.flags) || [];
  if (!flags.length) return null;
  return el("ul", { class: "flag-list", "aria-label": "提示" },
    flags.map((f) => el("li", { class: `flag flag-${f.code}`, text: f.message })));
}

// The ballot digest, short on screen, whole in the title and for screen readers,
// with a button that copies it whole.
export function digestLine(digest, { copy = true } = {}) {
  if (!digest) return null;
  const code = el("code", { class: "digest num", title: digest, "aria-label": `选票摘要 SHA-256：${digest}`, tabindex: 0 },
    `${shortDigest(digest, 16)}…`);
  const button = copy ? el("button", { type: "button", class: "btn btn-small btn-secondary btn-copy", "aria-label": "复制完整选票摘要" }, "复制") : null;
  if (button) button.addEventListener("click", () => copyText(digest));
  return el("p", { class: "digest-line" }, el("span", { class: "muted", text: "选票摘要（SHA-256）" }), " ", code, button ? " " : null, button);
}

function copyText(text) {
  const done = () => toast("已复制完整摘要", "ok", 1500);
  // navigator.clipboard needs a secure context, which a venue LAN on http is not.
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => toast("复制失败，请手动选择"));
    return;
  }
  const area = el("textarea", { readonly: true, "aria-hidden": "true", style: { position: "fixed", left: "-9999px" } });
  area.value = text;
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (ok) done();
  else toast("复制失败，请手动选择");
}

// The official ranking as a table (state.meeting.ranking, joined with the items
// for the post and the grade). Columns: 名次 述法人 职务 总分 等次 满意率.
export function rankingTable(state, { className = "ranking-table", withUnrated = true } = {}) {
  const rows = officialRanking(state).filter(({ entry }) => withUnrated || entry.rank != null);
  if (!rows.length) return null;
  return el("table", { class: className },
    el("thead", {}, el("tr", {}, ["名次", "述法人", "职务", "总分", "等次", "满意率"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map(({ entry, item }) => {
      const r = (item && item.result) || {};
      return el("tr", { class: entry.rank == null ? "unranked" : entry.rank === 1 ? "top" : null },
        el("td", { class: "num rank", text: entry.rank == null ? DASH : String(entry.rank) }),
        el("td", { text: entry.name }),
        el("td", { class: "post", text: item ? item.presenter.post : "" }),
        el("td", { class: "num", text: entry.total || DASH }),
        el("td", { text: r.grade || "" }),
        el("td", { class: "num", text: r.satisfaction_rate_display || "" }));
    })));
}

// The meeting record root (docs/scoring.md, *The meeting record*): in full, in four
// lines of 16 hex digits, with its QR (the QR holds the root itself) and the
// signing key's fingerprint. Anyone can check a ballots file against it with
// `live verify 文件 --expect 根摘要`.
export function recordBlock(record, code, { className = "record-block" } = {}) {
  if (!record || !record.root) return null;
  const root = record.root;
  const lines = [0, 16, 32, 48].map((at) => el("span", { class: "record-line", text: root.slice(at, at + 16) }));
  const signed = record.signature
    ? `已签名（Ed25519，公钥指纹 ${record.key_fingerprint}）`
    : "未签名（服务器没有签名密钥）";
  return el("section", { class: className, "aria-label": "会议记录根摘要" },
    el("img", { class: "record-qr", alt: `会议记录根摘要二维码：${root}`,
      src: `/qr/record/${encodeURIComponent(code)}.png?r=${root.slice(0, 16)}` }),
    el("div", { class: "record-text" },
      el("p", { class: "record-label", text: "会议记录根摘要（SHA-256）" }),
      el("code", { class: "record-root num", title: root, "aria-label": root }, lines),
      el("p", { class: "record-sig", text: signed })));
}
