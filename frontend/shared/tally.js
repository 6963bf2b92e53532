// Live tally bars, one block per voter group (评议团 and 群众 shown apart).
// Bars are built once and only their widths change, so CSS transitions animate.

import { el, fill } from "./client.js";

const MEAN = "\u0000mean";  // a row key no option can collide with

export function tallyView() {
  const root = el("div", { class: "tally" });
  let shape = "";
  let rows = new Map();  // "group|option" -> {fill, value}; "group" -> {count, mean}
  let keys = [];  // the option rows of each group, 弃权 included

  function build(scheme) {
    rows = new Map();
    const options = (scheme.options || []).map((o) => o.key);
    // 百分制 has no options to count: its bar is the group's mean out of 100.
    const rubric = options.length === 0;
    if (rubric) options.push(MEAN);
    if (scheme.allow_abstain) options.push("弃权");
    keys = options.filter((k) => k !== MEAN);
    root.dataset.groups = String((scheme.groups || []).length);
    // Few groups and rows: the big screen stacks them full width (screen.css).
    root.toggleAttribute("data-compact", (scheme.groups || []).length <= 2 && options.length <= 4);
    fill(root, (scheme.groups || []).map((g) => {
      const count = el("span", { class: "tally-count num" });
      const mean = el("span", { class: "tally-mean num" });
      const note = el("p", { class: "tally-note muted", hidden: true });
      rows.set(g.key, { count, mean, note });
      const bars = options.map((key) => {
        const bar = el("span", { class: "bar-fill" });
        const value = el("span", { class: "bar-value num" });
        rows.set(`${g.key}|${key}`, { bar, value });
        return el("div", { class: `bar-row${key === "弃权" ? " bar-abstain" : ""}` },
          el("span", { class: "bar-label", text: key === MEAN ? "平均分" : key }),
          el("span", { class: "bar", role: "presentation" }, bar), value);
      });
      return el("div", { class: `tally-group tally-${g.source}` },
        el("div", { class: "tally-head" }, el("span", { class: "tally-label", text: g.label }), count),
        note, bars, rubric ? null : mean);
    }));
  }

  // tally: the server's whole tally of one item as this page may see it (or null before any
  // ballot). A "counts" view and a guarded group (fewer voters than the small-group guard's k)
  // carry a count only: their bars stay empty with a note, never a guess.
  function update(scheme, tally) {
    const key = JSON.stringify([scheme.kind, scheme.options, scheme.groups.map((g) => g.key), scheme.allow_abstain]);
    if (key !== shape) {
      shape = key;
      build(scheme);
    }
    for (const g of scheme.groups) {
      const t = (tally && tally.groups && tally.groups[g.key]) || { count: 0, abstain: 0, options: {}, mean: null };
      const head = rows.get(g.key);
      head.count.textContent = `${t.count} 票`;
      const split = !!t.options || (!scheme.options || !scheme.options.length) && t.mean !== undefined;
      head.note.hidden = split || !tally;
      head.note.textContent = t.guarded ? "人数较少，暂不显示分布" : "投票中仅显示票数";
      head.mean.textContent = t.mean ? `平均分 ${t.mean}` : "";
      if (!split) {
        for (const [k, row] of rows) {
          if (!k.startsWith(`${g.key}|`)) continue;
          row.bar.style.width = "0%";
          row.value.textContent = "—";
        }
        continue;
      }
      const denominator = Math.max(t.count, 1);
      const values = { ...(t.options || {}), 弃权: t.abstain || 0 };
      // Every row, not only the options in this tally: a new 测评 starts with no options
      // counted, and its bars must drop to zero rather than keep the last presenter's.
      for (const k of keys) {
        const v = values[k] || 0;
        const row = rows.get(`${g.key}|${k}`);
        if (!row) continue;
        const pct = Math.round((v / denominator) * 1000) / 10;
        row.bar.style.width = `${pct}%`;
        // The share is its own span so a dense layout can drop it and keep the count.
        if (t.count) fill(row.value, String(v), el("span", { class: "bar-pct", text: `（${pct}%）` }));
        else row.value.textContent = "0";
      }
      const meanRow = rows.get(`${g.key}|${MEAN}`);
      if (meanRow) {
        meanRow.bar.style.width = `${Math.min(100, Number(t.mean) || 0)}%`;
        meanRow.value.textContent = t.mean || "—";
      }
    }
  }

  return { node: root, update };
}
