// DOM and formatting helpers shared by every page. No markup is ever parsed:
// server and user text only ever becomes text nodes.

export const PHASES = ["pending", "report", "inquiry", "comment", "voting", "done"];
export const PHASE_LABEL = {
  pending: "待开始", report: "述法", inquiry: "质询", comment: "点评", voting: "测评", done: "完成",
};
export const ACTIVE_PHASES = new Set(["report", "inquiry", "comment", "voting"]);

// ---- small helpers pages share -------------------------------------------

// Build DOM without ever parsing markup: strings become text nodes.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) {
      // Only real listeners: handler text in an attribute is what the CSP forbids.
      if (typeof value === "function") node.addEventListener(key.slice(2), value);
    }
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Replace all children of a node (text only through el/text nodes).
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// Countdown of an item timer at `nowMs` (server clock). Negative time is 超时:
// the host moves on, never the clock. The time shown never exceeds the timer's
// full duration: a clock estimate a little behind the server's must not turn a
// 10:00 timer into 10:01.
export function countdown(timer, nowMs) {
  if (!timer || !timer.duration_s) return { text: "--:--", leftMs: null, overtime: false, running: false };
  let left = timer.running && timer.ends_at_ms != null ? timer.ends_at_ms - nowMs : timer.remaining_ms;
  left = Math.min(left, timer.duration_s * 1000);
  const overtime = left < 0;
  const secs = overtime ? Math.floor(-left / 1000) : Math.ceil(left / 1000);
  const text = `${pad(Math.floor(secs / 60))}:${pad(secs % 60)}`;
  return { text: overtime ? `超时 ${text}` : text, leftMs: left, overtime, running: !!timer.running };
}

export function currentItem(state) {
  if (!state) return null;
  const id = state.meeting.current_item_id;
  return state.items.find((i) => i.id === id) || null;
}

export function codeFromPath(prefix) {
  const rest = location.pathname.slice(prefix.length).split("/")[0];
  return decodeURIComponent(rest || "").toUpperCase();
}

// The voter group a voter falls in, mirroring Scheme.group_for on the server.
export function groupFor(scheme, source, category) {
  for (const g of scheme.groups || []) {
    if (g.source !== source) continue;
    if (!g.categories || g.categories.length === 0 || g.categories.includes(category)) return g;
  }
  return null;
}

// Equal choices, whatever number/string form a rubric score travels in.
export function sameChoice(a, b) {
  if (!a || !b) return false;
  if (a.abstain || b.abstain) return !!a.abstain === !!b.abstain;
  if (a.option !== undefined || b.option !== undefined) return a.option === b.option;
  const ka = Object.keys(a.scores || {}), kb = Object.keys(b.scores || {});
  return ka.length === kb.length && ka.every((k) => Number(a.scores[k]) === Number((b.scores || {})[k]));
}

export function choiceText(choice) {
  if (!choice) return "";
  if (choice.abstain) return "弃权";
  if (choice.option !== undefined) return choice.option;
  if (choice.scores) {
    const sum = Object.values(choice.scores).reduce((s, v) => s + Number(v), 0);
    return `评分 ${Math.round(sum * 10) / 10} 分`;
  }
  return "";
}

// The frozen (or live) result as label/value pairs; absent figures are left out.
export function resultFacts(result) {
  if (!result) return [];
  const out = [];
  if (result.total_display) out.push(["总分", result.total_display]);
  if (result.grade) out.push(["等次", result.grade]);
  if (result.satisfaction_rate_display) out.push(["满意率", result.satisfaction_rate_display]);
  if (typeof result.ballots === "number") out.push(["票数", String(result.ballots)]);
  return out;
}

// The official ranking, as the server publishes it in state.meeting.ranking:
// competition ranks (1, 2, 2, 4) on the published two-decimal totals, unranked
// presenters last. Never recomputed here. Each row: {entry, item} where entry is
// {item_id, name, rank, total} and item the agenda item (for post and result).
export function officialRanking(state) {
  if (!state || !state.meeting) return [];
  const byId = new Map((state.items || []).map((i) => [i.id, i]));
  return (state.meeting.ranking || []).map((entry) => ({ entry, item: byId.get(entry.item_id) || null }));
}

// The rank of one item in the official ranking, or null (not yet rated, no total).
export function officialRank(state, itemId) {
  const row = officialRanking(state).find((r) => r.entry.item_id === itemId);
  return row && row.entry.rank != null ? row.entry.rank : null;
}

export function shortDigest(digest, chars = 8) {
  return digest ? digest.slice(0, chars).toUpperCase() : "";
}

export function phaseBadge(phase, label) {
  return el("span", { class: `phase phase-${phase}`, text: label || PHASE_LABEL[phase] || phase });
}

// ---- feedback ------------------------------------------------------------

let toastBox = null;

export function toast(message, kind = "error", ms = 6000) {
  if (!toastBox) {
    toastBox = el("div", { class: "toasts", role: "status", "aria-live": "assertive" });
    document.body.append(toastBox);
  }
  const node = el("div", { class: `toast toast-${kind}` }, message);
  const close = () => node.remove();
  node.append(el("button", { class: "toast-close", type: "button", "aria-label": "关闭", onclick: close }, "×"));
  toastBox.append(node);
  setTimeout(close, ms);
}

// A modal yes/no question before an irreversible step. Resolves true on 确定.
export function confirmDialog(title, body, okText = "确定") {
  return new Promise((resolve) => {
    const dlg = el("dialog", { class: "confirm", "aria-labelledby": "confirm-title" },
      el("h2", { id: "confirm-title", text: title }),
      el("p", { text: body }),
      el("div", { class: "confirm-actions" },
        el("button", { type: "button", class: "btn btn-secondary", value: "cancel", onclick: () => dlg.close("cancel") }, "取消"),
        el("button", { type: "button", class: "btn btn-primary", value: "ok", onclick: () => dlg.close("ok") }, okText)));
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(dlg.returnValue === "ok");
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// The banner every page shows while its socket is down.
export function statusBanner(conn) {
  const node = el("div", { class: "offline-banner", role: "alert", hidden: true });
  let everOnline = false;
  const update = () => {
    if (conn.fatal) node.hidden = true;
    else if (conn.online) {
      everOnline = true;
      node.hidden = true;
    } else {
      node.hidden = false;
      node.textContent = everOnline ? "网络已断开，正在重新连接…" : "正在连接…";
    }
  };
  conn.on("status", update);
  conn.on("fatal", update);
  setTimeout(update, 800);  // no flash of "正在连接" on a fast connect
  document.body.prepend(node);
  return node;
}

// A whole-page stop: revoked link, unknown code, not logged in.
export function fatalView(root, fatal, extra) {
  fill(root, el("div", { class: "card fatal", role: "alert" },
    el("h1", { text: fatal.closeCode === 4404 ? "会议码不存在" : "无法进入" }),
    el("p", { class: "fatal-message", text: fatal.message }),
    extra || null));
}

// Re-run fn every 250 ms: countdowns are drawn from the server's end instant.
export function everyTick(fn) {
  fn();
  return setInterval(fn, 250);
}

// Run one command from a button: disabled until the server answers, and any
// refusal shown as a toast in the server's own words.
export async function run(button, action) {
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (err) {
    toast((err && err.message) || "操作失败");
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---- CSRF ------------------------------------------------------------------------------
// A host's (or recorder's) session comes with a token; every change it makes over HTTP
// carries it in X-CSRF-Token, which a page on another site cannot read or send.
let csrfToken = "";

export function setCsrfToken(token) {
  csrfToken = typeof token === "string" ? token : "";
}

export function csrfHeaders(headers = {}) {
  return csrfToken ? { ...headers, "X-CSRF-Token": csrfToken } : { ...headers };
}
