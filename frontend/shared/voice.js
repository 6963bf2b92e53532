// Shared helpers of the public's voice (质询, 点赞, 弹幕) and of 点评 / 整改:
// question lookups, "who asked", an HTTP helper with the server's Chinese errors,
// inline status lines, a form dialog, and small SVG icons. No markup is parsed:
// every server or user string becomes a text node.

import { countdown, csrfHeaders, el } from "./client.js";

// Phases in which the current presenter takes questions from the hall and phones.
export const ASKING_PHASES = new Set(["report", "inquiry", "comment", "voting"]);
export const PROBLEM_SOURCES = ["点评", "质询", "评议团意见"];
export const PROBLEM_CATEGORIES = ["依法决策", "规范执法", "制度建设", "法治督察", "矛盾化解", "普法宣传", "队伍建设", "其他"];
export const RECT_STATUSES = [["pending", "待整改"], ["in_progress", "整改中"], ["rectified", "已整改"], ["reviewed", "已审核"], ["closed", "已销号"]];

// The item on stage (the meeting's current item), or null.
export function stageItem(state) {
  if (!state || !state.meeting) return null;
  const id = state.meeting.current_item_id;
  return (state.items || []).find((i) => i.id === id) || null;
}

// The approved questions of one presenter, in the host's order (the state keeps them sorted).
export function questionsOf(state, itemId) {
  return ((state && state.questions) || []).filter((q) => q.item_id === itemId);
}

export function questionById(state, id) {
  if (id == null) return null;
  return ((state && state.questions) || []).find((q) => q.id === id) || null;
}

// "张立华（评议团）", "王女士（12345热线）", "12345热线", "网络提问".
export function whoAsked(q) {
  if (!q) return "";
  if (q.asker) return `${q.asker}（${q.source || "评议团"}）`;
  return q.source || "";
}

export function upvotesOf(conn, q) {
  return Number((conn.upvotes || {})[String(q.id)] || 0);
}

// The question 正在质询 and its item, when the item is on stage in 质询.
export function currentQuestion(state) {
  const inter = state && state.interaction;
  if (!inter || inter.current_question_id == null) return null;
  return questionById(state, inter.current_question_id);
}

export function answerCountdown(conn) {
  const inter = conn.state && conn.state.interaction;
  if (!inter || !inter.answer_timer || !inter.answer_timer.duration_s) return null;
  return countdown(inter.answer_timer, conn.now());
}

export function formatCount(n) {
  return Number(n || 0).toLocaleString("zh-CN");
}

export function clock(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

// ---- HTTP ------------------------------------------------------------------------

// JSON in and out; a refusal throws {status, code, message} with the server's own words.
export async function apiJSON(url, { method = "GET", body, headers = {}, form = null } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET" && method !== "HEAD") init.headers = csrfHeaders(init.headers);
  if (form) init.body = form;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch {
    throw { status: 0, code: "offline", message: "无法连接服务器，请检查网络后重试" };
  }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = (data && data.error) || {};
    throw {
      status: resp.status, code: err.code || "http_" + resp.status,
      message: err.message || (resp.status === 413 ? "文件过大" : `请求失败（${resp.status}）`),
    };
  }
  return data;
}

// ---- feedback ---------------------------------------------------------------------

// A status line under a form: set(text, kind, clearAfterMs) with kind "ok" | "error" | "info" | "wait".
export function statusLine(extraClass = "") {
  const node = el("p", { class: `voice-status ${extraClass}`.trim(), role: "status", "aria-live": "polite" });
  let timer = null;
  node.hidden = true;
  node.set = (text, kind = "info", clearAfterMs = 0) => {
    clearTimeout(timer);
    if (clearAfterMs && text) timer = setTimeout(() => node.set(""), clearAfterMs);
    node.textContent = text || "";
    node.hidden = !text;
    node.dataset.kind = kind;
    node.setAttribute("role", kind === "error" ? "alert" : "status");
  };
  return node;
}

// A modal form: fields [{name, label, type: "text"|"textarea"|"date"|"select", value, required,
// options, maxlength, hint}]. Resolves with {name: value} on OK, null on cancel.
export function formDialog(title, fields, okText = "确定", note = "") {
  return new Promise((resolve) => {
    const inputs = {};
    const error = el("p", { class: "form-error", role: "alert" });
    const rows = fields.map((f) => {
      let input;
      if (f.type === "textarea") {
        input = el("textarea", { name: f.name, rows: f.rows || 3, maxlength: f.maxlength || null, required: !!f.required });
        input.value = f.value || "";
      } else if (f.type === "select") {
        input = el("select", { name: f.name }, (f.options || []).map(([v, l]) => el("option", { value: v, text: l })));
        input.value = f.value || "";
      } else {
        input = el("input", { type: f.type || "text", name: f.name, maxlength: f.maxlength || null, required: !!f.required });
        input.value = f.value || "";
      }
      inputs[f.name] = input;
      return el("label", { class: "voice-field" },
        el("span", { class: "voice-field-label" }, f.label, f.required ? el("span", { class: "req", text: "（必填）" }) : null),
        input, f.hint ? el("small", { class: "muted", text: f.hint }) : null);
    });
    const form = el("form", { method: "dialog", class: "voice-dialog-form", novalidate: true },
      el("h2", { id: "voice-dialog-title", text: title }),
      note ? el("p", { class: "muted", text: note }) : null,
      rows, error,
      el("div", { class: "confirm-actions" },
        el("button", { type: "button", class: "btn btn-secondary", onclick: () => dlg.close("cancel") }, "取消"),
        el("button", { type: "submit", class: "btn btn-primary", value: "ok" }, okText)));
    const dlg = el("dialog", { class: "confirm voice-dialog", "aria-labelledby": "voice-dialog-title" }, form);
    form.addEventListener("submit", (ev) => {
      for (const f of fields) {
        if (f.required && !inputs[f.name].value.trim()) {
          ev.preventDefault();
          error.textContent = `请填写「${f.label}」`;
          inputs[f.name].focus();
          return;
        }
      }
    });
    dlg.addEventListener("close", () => {
      dlg.remove();
      if (dlg.returnValue !== "ok") return resolve(null);
      const out = {};
      for (const [k, input] of Object.entries(inputs)) out[k] = input.value;
      resolve(out);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// A collapsible card: <details class="card voice-section"><summary><h2>title</h2> hint</summary>…
// onFirstOpen runs once, the first time it is opened (lazy loads).
export function section(title, { open = false, hint = null, className = "", onFirstOpen = null } = {}, ...body) {
  const hintNode = el("span", { class: "voice-summary-hint" });
  if (hint) hintNode.textContent = hint;
  const root = el("details", { class: `card voice-section ${className}`.trim(), open },
    el("summary", {}, el("h2", { text: title }), hintNode), el("div", { class: "voice-section-body" }, ...body));
  root.hint = hintNode;
  let opened = false;
  const maybe = () => {
    if (root.open && !opened && onFirstOpen) {
      opened = true;
      onFirstOpen();
    }
  };
  root.addEventListener("toggle", maybe);
  queueMicrotask(maybe);
  return root;
}

// ---- icons (SVG built node by node) -------------------------------------------------

const ICONS = {
  heart: "M12 21s-7.5-4.6-9.6-9.1C.9 8.6 2.8 4.5 6.6 4.5c2.2 0 3.9 1.3 5.4 3.2 1.5-1.9 3.2-3.2 5.4-3.2 3.8 0 5.7 4.1 4.2 7.4C19.5 16.4 12 21 12 21z",
  up: "M12 4l8 9h-5v7H9v-7H4z",
};

export function icon(name, size = 20) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `voice-icon voice-icon-${name}`);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

// ---- local memory (upvoted ids) ---------------------------------------------------------

export function storedSet(key) {
  let set;
  try {
    set = new Set(JSON.parse(localStorage.getItem(key) || "[]"));
  } catch {
    set = new Set();
  }
  return {
    has: (v) => set.has(v),
    add: (v) => {
      set.add(v);
      try {
        localStorage.setItem(key, JSON.stringify([...set]));
      } catch { /* private mode: memory only */ }
    },
  };
}

// A question as a list entry: content (line breaks kept), who asked, marks; `extra` adds nodes.
export function questionEntry(state, q, { upvotes = null, extra = null, tag = "li" } = {}) {
  const current = state && state.interaction && state.interaction.current_question_id === q.id;
  return el(tag, { class: `voice-q${q.answered ? " is-answered" : ""}${current ? " is-current" : ""}`, dataset: { qid: String(q.id) } },
    el("p", { class: "voice-q-text", text: q.content }),
    el("p", { class: "voice-q-meta" },
      el("span", { class: "voice-q-who", text: whoAsked(q) }),
      current ? el("span", { class: "voice-badge voice-badge-current", text: "正在质询" }) : null,
      q.answered ? el("span", { class: "voice-badge voice-badge-done", text: "已答复" }) : null,
      upvotes && q.upvotable ? el("span", { class: "voice-q-votes num", text: `赞 ${formatCount(upvotes)}` }) : null),
    extra);
}
