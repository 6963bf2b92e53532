// The console's 测评方案 editor (docs/scoring.md §1): ballot kind, option scores,
// rubric criteria, voter groups (评议团 whole or split by category, 群众), weights,
// minimum valid ballots, trimming, grade bands, abstention. Sent whole as
// `meeting.scheme`; the server checks it and answers in Chinese. Once any 测评 has
// begun the scheme is fixed, and the card shows it read-only with the reason.

import { confirmDialog, el, fill, toast } from "../shared/client.js";

const KIND_LABEL = { satisfaction: "满意度", grade: "等次", rubric: "百分制" };
const KINDS = ["satisfaction", "grade", "rubric"];
const DEFAULT_OPTIONS = {
  satisfaction: [["满意", "100", true], ["基本满意", "80", true], ["不满意", "0", false]],
  grade: [["好", "95", true], ["较好", "85", true], ["一般", "70", false], ["差", "50", false]],
};
const DEFAULT_CRITERIA = [["履行第一责任人职责", "25"], ["依法决策", "25"], ["严格规范公正文明执法", "25"], ["化解矛盾纠纷与学法用法", "25"]];
const PANEL_CATEGORIES = ["人大代表", "政协委员", "政府法律顾问", "法学专家", "律师", "行业群众代表"];
const DECIMAL = /^\d{1,6}(\.\d{1,6})?$/;
const INTEGER = /^\d{1,6}$/;

// ---- exact decimal text (weights are relative; shares must stay exact) ----

function toScaled(text) {
  const [int, frac = ""] = text.split(".");
  return { n: BigInt(int + frac), scale: frac.length };
}

function fromScaled(n, scale) {
  let s = n.toString().padStart(scale + 1, "0");
  if (scale) s = `${s.slice(0, -scale)}.${s.slice(-scale)}`.replace(/\.?0+$/, "");
  return s;
}

// text / count when that is a finite decimal, else null (70 / 6).
function divideExact(text, count) {
  if (!DECIMAL.test(text)) return null;
  const { n, scale } = toScaled(text);
  const d = BigInt(count);
  for (let k = 0; k <= 12; k += 1) {
    const top = n * 10n ** BigInt(k);
    if (top % d === 0n) return fromScaled(top / d, scale + k);
  }
  return null;
}

function multiply(text, count) {
  if (!DECIMAL.test(text)) return text;
  const { n, scale } = toScaled(text);
  return fromScaled(n * BigInt(count), scale);
}

// ---- scheme <-> editable draft ----

function categoriesOf(state, scheme) {
  const seen = [];
  const add = (c) => { if (c && !seen.includes(c)) seen.push(c); };
  for (const g of scheme.groups || []) if (g.source === "panel") (g.categories || []).forEach(add);
  for (const m of state.panel || []) if (!m.revoked) add(m.category);
  return seen.length ? seen : PANEL_CATEGORIES.slice();
}

function draftFrom(state) {
  const scheme = state.meeting.scheme;
  const panelGroups = (scheme.groups || []).filter((g) => g.source === "panel");
  const publicGroup = (scheme.groups || []).find((g) => g.source === "public");
  const whole = panelGroups.find((g) => !(g.categories || []).length);
  const split = !whole && panelGroups.length > 0;
  const panelWeight = whole ? whole.weight
    : addDecimals(panelGroups.map((g) => String(g.weight))) || "70";
  const panelMin = String((whole || panelGroups[0] || {}).min_ballots || 1);
  const optionsByKind = {};
  for (const kind of ["satisfaction", "grade"]) {
    optionsByKind[kind] = scheme.kind === kind
      ? scheme.options.map((o) => ({ key: o.key, score: String(o.score), satisfied: !!o.satisfied }))
      : DEFAULT_OPTIONS[kind].map(([key, score, satisfied]) => ({ key, score, satisfied }));
  }
  const categories = categoriesOf(state, scheme).map((category) => {
    const g = panelGroups.find((p) => (p.categories || []).length === 1 && p.categories[0] === category);
    return { category, weight: g ? String(g.weight) : "", min_ballots: g ? String(g.min_ballots) : panelMin, included: split ? !!g : true };
  });
  return {
    kind: scheme.kind,
    optionsByKind,
    criteria: scheme.kind === "rubric"
      ? scheme.criteria.map((c) => ({ key: c.key, max: String(c.max) }))
      : DEFAULT_CRITERIA.map(([key, max]) => ({ key, max })),
    panelMode: split ? "split" : "whole",
    panel: { label: whole ? whole.label : "评议团", weight: String(panelWeight), min_ballots: panelMin },
    categories,
    publicOn: !!publicGroup,
    public: { label: publicGroup ? publicGroup.label : "群众", weight: publicGroup ? String(publicGroup.weight) : "30",
      min_ballots: publicGroup ? String(publicGroup.min_ballots) : "1" },
    trim_k: String(scheme.trim_k),
    bands: (scheme.bands || []).map((b) => ({ label: b.label, min_score: String(b.min_score) })),
    allow_abstain: !!scheme.allow_abstain,
  };
}

// Split the panel the way docs/scoring.md does: share the panel weight equally
// when that share is a finite decimal; otherwise every category keeps the panel
// weight and 群众 is multiplied by the number of categories (ratios stay exact).
function splitWeights(draft) {
  const rows = draft.categories.filter((c) => c.included);
  if (!rows.length) return;
  const share = divideExact(draft.panel.weight, rows.length);
  const before = draft.public.weight;
  for (const c of rows) {
    c.weight = share || draft.panel.weight;
    c.min_ballots = draft.panel.min_ballots;
  }
  if (!share) draft.public.weight = multiply(draft.public.weight, rows.length);
  draft.splitFrom = { panel: draft.panel.weight, public: before, publicAfter: draft.public.weight,
    categories: JSON.stringify(draft.categories) };
}

// Back to one panel group: undo an untouched split exactly; otherwise the panel
// weighs what its categories weighed together, so its ratio to 群众 is kept.
function joinWeights(draft) {
  const from = draft.splitFrom;
  if (from && from.publicAfter === draft.public.weight && from.categories === JSON.stringify(draft.categories)) {
    draft.panel.weight = from.panel;
    draft.public.weight = from.public;
  } else {
    const total = addDecimals(draft.categories.filter((c) => c.included).map((c) => c.weight));
    if (total) draft.panel.weight = total;
  }
  draft.splitFrom = null;
}

function addDecimals(texts) {
  if (!texts.length || !texts.every((t) => DECIMAL.test(String(t).trim()))) return null;
  const parts = texts.map((t) => toScaled(String(t).trim()));
  const scale = Math.max(...parts.map((p) => p.scale));
  const sum = parts.reduce((acc, p) => acc + p.n * 10n ** BigInt(scale - p.scale), 0n);
  return fromScaled(sum, scale);
}

// Parse-level checks only (numbers that are numbers); the rules are the server's.
function schemeFrom(draft) {
  const problems = [];
  const dec = (text, what) => {
    const t = String(text).trim();
    if (!DECIMAL.test(t)) problems.push(`${what}应为不小于 0 的数字（最多 6 位小数），现为「${t}」`);
    return t;
  };
  const int = (text, what) => {
    const t = String(text).trim();
    if (!INTEGER.test(t)) problems.push(`${what}应为整数，现为「${t}」`);
    return Number(t);
  };
  const rubric = draft.kind === "rubric";
  const options = rubric ? [] : draft.optionsByKind[draft.kind].map((o) => ({
    key: o.key, score: dec(o.score, `选项「${o.key}」的分值`), satisfied: !!o.satisfied,
  }));
  const criteria = rubric ? draft.criteria.map((c, i) => ({
    key: c.key.trim(), max: dec(c.max, `评分项「${c.key.trim() || `第 ${i + 1} 项`}」的满分`),
  })) : [];
  const groups = [];
  if (draft.panelMode === "whole") {
    groups.push({ key: "panel", label: draft.panel.label || "评议团", source: "panel",
      weight: dec(draft.panel.weight, "评议团的权重"), min_ballots: int(draft.panel.min_ballots, "评议团的最低有效票数"), categories: [] });
  } else {
    for (const c of draft.categories.filter((row) => row.included)) {
      groups.push({ key: `panel:${c.category}`, label: c.category, source: "panel",
        weight: dec(c.weight, `「${c.category}」的权重`), min_ballots: int(c.min_ballots, `「${c.category}」的最低有效票数`),
        categories: [c.category] });
    }
  }
  if (draft.publicOn) {
    groups.push({ key: "public", label: draft.public.label || "群众", source: "public",
      weight: dec(draft.public.weight, "群众的权重"), min_ballots: int(draft.public.min_ballots, "群众的最低有效票数"), categories: [] });
  }
  const bands = draft.bands.map((b, i) => ({ label: b.label.trim(), min_score: dec(b.min_score, `等次「${b.label.trim() || `第 ${i + 1} 档`}」的分数线`) }));
  const scheme = { kind: draft.kind, options, criteria, groups, trim_k: int(draft.trim_k, "去掉最高、最低分的个数"), bands,
    allow_abstain: !!draft.allow_abstain };
  return { scheme, problems };
}

// The server lists every problem in one message: 「测评方案无效：a；b；c」.
function problemsOf(message) {
  const text = String(message || "");
  const idx = text.indexOf("：");
  if (!text.startsWith("测评方案") || idx < 0) return [text];
  return text.slice(idx + 1).split("；").map((p) => p.trim()).filter(Boolean);
}

function tenths(text) {
  const v = Number(text);
  return Number.isFinite(v) ? Math.round(v * 10) : NaN;
}

function pct(part, whole) {
  return whole > 0 ? `${(Math.round((part / whole) * 10000) / 100).toFixed(2)}%` : "—";
}

function groupsSummary(scheme) {
  return (scheme.groups || []).map((g) => `${g.label} ${g.weight}`).join(" / ");
}

// ---- the card ----

export function schemeCard(conn) {
  const summaryText = el("span", { class: "scheme-summary-text" });
  const body = el("div", { class: "scheme-body" });
  const root = el("details", { class: "card scheme-card" },
    el("summary", {}, el("h2", { text: "测评方案" }), summaryText), body);
  let draft = null;
  let dirty = false;
  let shownScheme = "";
  let lockedBy = null;  // the server's scheme_locked message, when it refused an edit
  let errors = [];
  let saving = false;

  function lockReason(state) {
    if (lockedBy) return lockedBy;
    const begun = state.items.find((i) => i.phase === "voting" || i.phase === "done");
    if (begun) return `「${begun.presenter.name}」已开始测评，测评方案已锁定，不能再修改（已投的票按此方案计分）。`;
    if (Object.values(conn.tallies || {}).some((t) => t && t.total > 0)) return "已有选票，测评方案已锁定，不能再修改。";
    if (state.meeting.status === "ended") return "会议已结束，测评方案不能再修改。";
    return null;
  }

  function render(force = false) {
    const state = conn.state;
    if (!state) return;
    const scheme = state.meeting.scheme;
    const key = JSON.stringify([scheme, state.panel.map((m) => [m.category, m.revoked])]);
    const reason = lockReason(state);
    summaryText.textContent = `${KIND_LABEL[scheme.kind] || scheme.kind} · ${groupsSummary(scheme)}${reason ? " · 已锁定" : ""}`;
    if (reason) {
      draft = null;
      dirty = false;
      if (!force && body.dataset.view === `locked${key}${reason}`) return;
      body.dataset.view = `locked${key}${reason}`;
      fill(body, el("p", { class: "scheme-locked", role: "status", text: reason }), readOnly(scheme));
      return;
    }
    if (!draft || (!dirty && key !== shownScheme)) {
      draft = draftFrom(state);
      shownScheme = key;
      errors = [];
      force = true;
    }
    if (!force && body.dataset.view === "edit") return;
    body.dataset.view = "edit";
    rebuild();
  }

  // Rebuild the form from the draft, keeping the focus on the same field.
  function rebuild() {
    const active = document.activeElement;
    const focusKey = active && body.contains(active) ? active.dataset.focus : null;
    fill(body, editor());
    if (focusKey) {
      const target = body.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
      if (target) target.focus();
    }
  }

  function changed(structural = false) {
    dirty = true;
    errors = [];
    if (structural) rebuild();
    else updateLive();
  }

  // Inputs bound to the draft: typing edits the draft, never the other way round.
  function textInput(obj, field, label, focus, { kind = "decimal", width = "6em", structural = false } = {}) {
    const input = el("input", {
      type: "text", inputmode: kind === "text" ? null : kind === "int" ? "numeric" : "decimal", value: obj[field],
      "aria-label": label, dataset: { focus }, class: `scheme-input scheme-${kind}`, style: { width },
      autocomplete: "off", spellcheck: "false",
    });
    input.addEventListener("input", () => { obj[field] = input.value; changed(structural); });
    return input;
  }

  function checkbox(obj, field, label, focus, structural = false, visible = null) {
    const box = el("input", { type: "checkbox", checked: !!obj[field], dataset: { focus }, "aria-label": label });
    box.addEventListener("change", () => { obj[field] = box.checked; changed(structural); });
    return el("label", { class: "check" }, box, visible == null ? label : visible);
  }

  // Figures that follow the typing without a rebuild: the rubric sum and the shares.
  let live = { criteriaSum: null, shares: [] };

  function updateLive() {
    if (live.criteriaSum) {
      const total = draft.criteria.reduce((s, c) => s + tenths(c.max), 0);
      const ok = total === 1000;
      live.criteriaSum.textContent = Number.isNaN(total) ? "合计 — / 100（有满分不是数字）" : `合计 ${total / 10} / 100${ok ? " ✓" : "（须为 100）"}`;
      live.criteriaSum.className = `criteria-sum num ${ok ? "is-ok" : "is-bad"}`;
    }
    // Shares are shown for orientation only; the server computes the real ones exactly.
    const counted = live.shares.map(({ row, on }) => {
      const w = Number(row.weight);
      return on() && DECIMAL.test(String(row.weight).trim()) && w > 0 ? w : 0;
    });
    const sum = counted.reduce((s, w) => s + w, 0);
    live.shares.forEach(({ node }, i) => { node.textContent = counted[i] ? pct(counted[i], sum) : "—"; });
  }

  function editor() {
    live = { criteriaSum: null, shares: [] };
    const kindSelect = el("div", { class: "kind-choice", role: "radiogroup", "aria-label": "测评方式" },
      KINDS.map((kind) => {
        const radio = el("input", { type: "radio", name: "scheme-kind", value: kind, checked: draft.kind === kind, dataset: { focus: `kind-${kind}` } });
        radio.addEventListener("change", () => { if (radio.checked) { draft.kind = kind; changed(true); } });
        return el("label", { class: "check" }, radio, KIND_LABEL[kind]);
      }));

    const ballotPart = draft.kind === "rubric" ? criteriaEditor() : optionsEditor();
    const errorBox = errors.length
      ? el("div", { class: "scheme-errors", role: "alert" }, el("p", { text: "测评方案未保存，请修改以下问题：" }),
        el("ul", {}, errors.map((e) => el("li", { text: e }))))
      : null;
    const save = el("button", { type: "button", class: "btn btn-primary btn-small", "aria-disabled": saving ? "true" : null, dataset: { focus: "save" } }, "保存测评方案");
    save.addEventListener("click", () => submit(save));
    const reset = el("button", { type: "button", class: "btn btn-secondary btn-small", disabled: !dirty, dataset: { focus: "reset" } }, "放弃修改");
    reset.addEventListener("click", () => { draft = null; dirty = false; errors = []; render(true); });
    const node = el("div", { class: "scheme-editor" },
      el("p", { class: "muted small", text: "请在会前设定。任何一位述法人开始测评后，方案即锁定，不能再修改。" }),
      fieldset("测评方式", kindSelect),
      fieldset(draft.kind === "rubric" ? "评分项（满分之和须为 100）" : "选项分值", ballotPart),
      fieldset("投票组与权重", groupsEditor()),
      fieldset("计分规则", rulesEditor()),
      fieldset("等次分数线", bandsEditor()),
      errorBox,
      el("div", { class: "scheme-actions" }, save, reset, dirty ? el("span", { class: "unsaved", text: "有未保存的修改" }) : null));
    queueMicrotask(updateLive);
    return node;
  }

  function fieldset(legend, ...children) {
    return el("fieldset", { class: "scheme-part" }, el("legend", { text: legend }), children);
  }

  function optionsEditor() {
    const options = draft.optionsByKind[draft.kind];
    return el("table", { class: "scheme-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "选项" }), el("th", { scope: "col", text: "分值（0–100）" }),
        el("th", { scope: "col", text: "计入满意率" }))),
      el("tbody", {}, options.map((o, i) => el("tr", {},
        el("th", { scope: "row", text: o.key }),
        el("td", {}, textInput(o, "score", `选项「${o.key}」的分值`, `opt-${i}-score`)),
        el("td", {}, checkbox(o, "satisfied", `选项「${o.key}」计入满意率`, `opt-${i}-sat`, false, "计入"))))));
  }

  function criteriaEditor() {
    const sum = el("p", { class: "criteria-sum num", role: "status", "aria-live": "polite" });
    live.criteriaSum = sum;
    const add = el("button", { type: "button", class: "btn btn-secondary btn-small", dataset: { focus: "crit-add" } }, "添加评分项");
    add.addEventListener("click", () => { draft.criteria.push({ key: "", max: "0" }); changed(true); focusLater(`crit-${draft.criteria.length - 1}-key`); });
    return [el("table", { class: "scheme-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "评分项" }), el("th", { scope: "col", text: "满分" }), el("th", { scope: "col", text: "" }))),
      el("tbody", {}, draft.criteria.map((c, i) => {
        const remove = el("button", { type: "button", class: "btn btn-secondary btn-small", disabled: draft.criteria.length <= 1,
          "aria-label": `删除评分项「${c.key || i + 1}」`, dataset: { focus: `crit-${i}-del` } }, "删除");
        remove.addEventListener("click", () => { draft.criteria.splice(i, 1); changed(true); focusLater("crit-add"); });
        return el("tr", {},
          el("td", {}, textInput(c, "key", `第 ${i + 1} 个评分项的名称`, `crit-${i}-key`, { kind: "text", width: "100%" })),
          el("td", {}, textInput(c, "max", `第 ${i + 1} 个评分项的满分`, `crit-${i}-max`)),
          el("td", {}, remove));
      }))), sum, add];
  }

  function share(row, on) {
    const node = el("span", { class: "share num" });
    live.shares.push({ node, row, on });
    return node;
  }

  function groupsEditor() {
    const modes = el("div", { class: "kind-choice", role: "radiogroup", "aria-label": "评议团分组方式" },
      [["whole", "评议团作为一组"], ["split", "评议团按类别分组"]].map(([mode, label]) => {
        const radio = el("input", { type: "radio", name: "panel-mode", value: mode, checked: draft.panelMode === mode, dataset: { focus: `mode-${mode}` } });
        radio.addEventListener("change", () => {
          if (!radio.checked) return;
          draft.panelMode = mode;
          if (mode === "split") splitWeights(draft);
          else joinWeights(draft);
          changed(true);
        });
        return el("label", { class: "check" }, radio, label);
      }));
    const head = el("tr", {}, ["投票组", "参与", "权重", "占比", "最低有效票"].map((h) => el("th", { scope: "col", text: h })));
    const rows = [];
    if (draft.panelMode === "whole") {
      rows.push(el("tr", {}, el("th", { scope: "row", text: "评议团（全体成员）" }), el("td", { text: "✓" }),
        el("td", {}, textInput(draft.panel, "weight", "评议团的权重", "panel-weight")),
        el("td", {}, share(draft.panel, () => true)),
        el("td", {}, textInput(draft.panel, "min_ballots", "评议团的最低有效票数", "panel-min", { kind: "int", width: "4.5em" }))));
    } else {
      draft.categories.forEach((c, i) => {
        rows.push(el("tr", { class: c.included ? null : "left-out" },
          el("th", { scope: "row", text: `评议团·${c.category}` }),
          el("td", {}, checkbox(c, "included", `「${c.category}」参与测评`, `cat-${i}-on`, true, "")),
          el("td", {}, c.included ? textInput(c, "weight", `「${c.category}」的权重`, `cat-${i}-weight`) : "—"),
          el("td", {}, share(c, () => c.included)),
          el("td", {}, c.included ? textInput(c, "min_ballots", `「${c.category}」的最低有效票数`, `cat-${i}-min`, { kind: "int", width: "4.5em" }) : "—")));
      });
    }
    rows.push(el("tr", { class: draft.publicOn ? null : "left-out" }, el("th", { scope: "row", text: "群众" }),
      el("td", {}, checkbox(draft, "publicOn", "群众参与测评", "public-on", true, "")),
      el("td", {}, draft.publicOn ? textInput(draft.public, "weight", "群众的权重", "public-weight") : "—"),
      el("td", {}, share(draft.public, () => draft.publicOn)),
      el("td", {}, draft.publicOn ? textInput(draft.public, "min_ballots", "群众的最低有效票数", "public-min", { kind: "int", width: "4.5em" }) : "—")));
    const note = draft.panelMode === "split"
      ? "按类别分组时，每个类别单独计算平均分并按权重计入；未参与的类别其成员不能投票。权重是相对值：70/30 与 7/3 相同。"
      : "权重是相对值：70/30 与 7/3 相同。某组有效票少于最低票数时不计入总分，其余各组权重按比例折算。";
    return [modes, el("div", { class: "table-scroll" }, el("table", { class: "scheme-table" }, el("thead", {}, head), el("tbody", {}, rows))),
      el("p", { class: "muted small", text: note })];
  }

  function rulesEditor() {
    return el("div", { class: "rules" },
      el("label", { class: "inline-field" }, "每组去掉最高分、最低分各",
        textInput(draft, "trim_k", "每组去掉最高分、最低分的个数", "trim-k", { kind: "int", width: "3.5em" }), "个（0 为不去掉；有效票不多于 2 倍时不去掉）"),
      checkbox(draft, "allow_abstain", "允许弃权", "abstain"));
  }

  function bandsEditor() {
    const add = el("button", { type: "button", class: "btn btn-secondary btn-small", dataset: { focus: "band-add" } }, "添加等次");
    add.addEventListener("click", () => { draft.bands.push({ label: "", min_score: "" }); changed(true); focusLater(`band-${draft.bands.length - 1}-label`); });
    return [el("table", { class: "scheme-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "等次" }), el("th", { scope: "col", text: "总分不低于" }), el("th", { scope: "col", text: "" }))),
      el("tbody", {}, draft.bands.map((b, i) => {
        const remove = el("button", { type: "button", class: "btn btn-secondary btn-small", disabled: draft.bands.length <= 1,
          "aria-label": `删除等次「${b.label || i + 1}」`, dataset: { focus: `band-${i}-del` } }, "删除");
        remove.addEventListener("click", () => { draft.bands.splice(i, 1); changed(true); focusLater("band-add"); });
        return el("tr", {},
          el("td", {}, textInput(b, "label", `第 ${i + 1} 个等次的名称`, `band-${i}-label`, { kind: "text", width: "8em" })),
          el("td", {}, textInput(b, "min_score", `第 ${i + 1} 个等次的分数线`, `band-${i}-min`)),
          el("td", {}, remove));
      }))),
    el("p", { class: "muted small", text: "总分（两位小数）达到某等次分数线即评为该等次；须有一个分数线为 0 的最低等次。" }), add];
  }

  function focusLater(key) {
    const target = body.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (target) target.focus();
  }

  async function submit(button) {
    if (saving) return;
    const { scheme, problems } = schemeFrom(draft);
    if (problems.length) {
      errors = problems;
      rebuild();
      return;
    }
    const current = conn.state.meeting.scheme;
    if (current.kind !== scheme.kind) {
      const ok = await confirmDialog("更改测评方式",
        `测评方式将由「${KIND_LABEL[current.kind]}」改为「${KIND_LABEL[scheme.kind]}」，所有投票页面将随之改变。确定保存吗？`, "保存");
      if (!ok) return;
    }
    saving = true;
    button.setAttribute("aria-disabled", "true");
    try {
      await conn.send("meeting.scheme", { scheme });
      dirty = false;
      draft = null;
      errors = [];
      toast("测评方案已保存", "ok", 2500);
    } catch (err) {
      if (err && err.code === "scheme_locked") lockedBy = err.message;
      else errors = problemsOf((err && err.message) || "保存失败");
    } finally {
      saving = false;
    }
    render(true);
  }

  function readOnly(scheme) {
    const rubric = scheme.kind === "rubric";
    const rows = [
      ["测评方式", KIND_LABEL[scheme.kind] || scheme.kind],
      rubric
        ? ["评分项", scheme.criteria.map((c) => `${c.key} ${c.max} 分`).join("；")]
        : ["选项分值", scheme.options.map((o) => `${o.key} ${o.score} 分${o.satisfied ? "（计入满意率）" : ""}`).join("；")],
      ["投票组", (scheme.groups || []).map((g) => `${g.label}：权重 ${g.weight}，最低有效票 ${g.min_ballots}`).join("；")],
      ["去掉最高、最低分", `各 ${scheme.trim_k} 个`],
      ["等次", (scheme.bands || []).map((b) => `${b.label} ≥ ${b.min_score}`).join("；")],
      ["弃权", scheme.allow_abstain ? "允许" : "不允许"],
    ];
    return el("dl", { class: "scheme-readonly" }, rows.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))));
  }

  conn.on("state", () => render());
  // The first ballot locks the scheme even before the next state event.
  conn.on("tally", () => { if (conn.state && draft && lockReason(conn.state)) render(); });
  render();
  return root;
}
