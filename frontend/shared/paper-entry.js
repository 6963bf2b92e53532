// Paper 测评表 keyed twice (双轨制), for the host console and the recorder's page.
// The first keying waits; a second person keys the same sheet from the paper (the page
// never shows them the first figures) and only matching figures count. A mismatch shows
// both sets of figures to everyone keying until one of them discards it. HTTP only:
// POST /api/meetings/{code}/paper, …/paper/{id}/discard, GET …/items/{id}/paper.

import { csrfHeaders, el, fill, run, toast } from "./client.js";

const STATUS_LABEL = { pending: "待复核", mismatch: "两次不一致", confirmed: "已计票" };
const POLL_MS = 3000;

// One id per browser tab: it tells the server this keying from another person's.
function keyingSession() {
  const key = "paper-keying-session";
  let value = sessionStorage.getItem(key);
  if (!value || !/^[A-Za-z0-9_-]{8,40}$/.test(value)) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    value = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(key, value);
  }
  return value;
}

// conn: a live connection (for the state); api: "/api/meetings/CODE"; headers: the
// recorder's bearer (the host's cookie goes by itself).
export function paperPanel(conn, { api, headers = {} }) {
  const session = keyingSession();
  const note = el("p", { class: "muted small" });
  const name = el("input", { type: "text", maxlength: "20", placeholder: "录入人姓名（可选）", autocomplete: "name" });
  const group = el("select", { "aria-label": "投票组" });
  const sheet = el("input", { type: "text", maxlength: "20", required: true, placeholder: "如 001 或 第1批",
    pattern: "[0-9A-Za-z\\u4e00-\\u9fff_\\-]{1,20}" });
  const figures = el("div", { class: "paper-figures" });
  const submit = el("button", { type: "submit", class: "btn btn-primary" }, "录入");
  const outcome = el("div", { class: "paper-outcome", role: "status", "aria-live": "polite" });
  const list = el("div", { class: "paper-list" });
  const form = el("form", { class: "paper-form" },
    el("label", { class: "field" }, "录入人", name),
    el("label", { class: "field" }, "投票组", group),
    el("label", { class: "field" }, "表号（或批次号）", sheet),
    figures, submit);
  const root = el("section", { class: "card paper-card", "aria-label": "纸质测评表录入" },
    el("h2", { text: "纸质测评表录入（双人复核）" }),
    el("p", { class: "muted small", text: "每张（或每批）测评表须由两人分别录入：第二人录入的数字与第一人完全一致才计入结果；不一致时请核对原表，作废后重新录入。结束测评前须处理完所有待复核的录入。" }),
    note, form, outcome, list);

  let item = null;
  let shape = "";
  let inputs = {};
  let timer = null;

  function buildFigures(scheme) {
    inputs = {};
    const rows = [];
    if (scheme.kind === "rubric") {
      for (const c of scheme.criteria) {
        inputs[c.key] = el("input", { type: "number", min: "0", max: c.max, step: "0.1", inputmode: "decimal", required: true });
        rows.push(el("label", { class: "field" }, `${c.key}（满分 ${c.max}）`, inputs[c.key]));
      }
      if (scheme.allow_abstain) {
        inputs["\u0000abstain"] = el("input", { type: "checkbox" });
        rows.push(el("label", { class: "check" }, inputs["\u0000abstain"], "此表为弃权"));
      }
    } else {
      for (const o of scheme.options) {
        inputs[o.key] = el("input", { type: "number", min: "0", max: "5000", step: "1", inputmode: "numeric", value: "0" });
        rows.push(el("label", { class: "field" }, `「${o.key}」张数`, inputs[o.key]));
      }
      if (scheme.allow_abstain) {
        inputs["\u0000abstain"] = el("input", { type: "number", min: "0", max: "5000", step: "1", inputmode: "numeric", value: "0" });
        rows.push(el("label", { class: "field" }, "弃权张数", inputs["\u0000abstain"]));
      }
    }
    fill(figures, rows);
  }

  function readFigures(scheme) {
    const abstain = inputs["\u0000abstain"];
    if (scheme.kind === "rubric") {
      if (abstain && abstain.checked) return { choice: { abstain: true } };
      const scores = {};
      for (const c of scheme.criteria) scores[c.key] = inputs[c.key].value.trim();
      return { choice: { scores } };
    }
    const counts = {};
    for (const o of scheme.options) counts[o.key] = Number(inputs[o.key].value || 0);
    const out = { counts };
    if (abstain) out.abstain = Number(abstain.value || 0);
    return out;
  }

  function render() {
    const state = conn.state;
    if (!state) return;
    const scheme = state.meeting.scheme;
    const voting = state.items.find((i) => i.phase === "voting") || null;
    const key = JSON.stringify([scheme.kind, scheme.options, scheme.criteria, scheme.groups, scheme.allow_abstain]);
    if (key !== shape) {
      shape = key;
      fill(group, scheme.groups.map((g) => el("option", { value: g.key, text: g.label })));
      buildFigures(scheme);
    }
    const changed = (voting && voting.id) !== (item && item.id);
    item = voting;
    form.hidden = !item;
    note.textContent = item
      ? `正在录入：第 ${item.position} 位述法人 ${item.presenter.name}（${scheme.kind === "rubric" ? "百分制，每张表单独录入" : "按选项录入张数"}）`
      : "当前没有述法人处于测评中。纸质测评表只能在测评期间录入，结束测评后不能再录入。";
    if (changed) {
      fill(outcome);
      refresh();
    }
  }

  async function refresh() {
    if (!item) { fill(list); return; }
    try {
      const resp = await fetch(`${api}/items/${item.id}/paper?session=${session}`, { headers, credentials: "same-origin" });
      if (!resp.ok) return;
      const body = await resp.json();
      showList(body.entries || []);
    } catch { /* the next poll tries again */ }
  }

  function who(w) {
    return w ? `${w.role_label}${w.name ? ` ${w.name}` : ""}` : "—";
  }

  function differences(diffs) {
    return el("table", { class: "paper-diff" },
      el("thead", {}, el("tr", {}, ["项目", "第一次", "第二次"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, diffs.map((d) => el("tr", {},
        el("th", { scope: "row", text: d.field }),
        el("td", { class: "num", text: String(d.first ?? "—") }),
        el("td", { class: "num", text: String(d.second ?? "—") })))));
  }

  function showList(entries) {
    if (!entries.length) return fill(list, el("p", { class: "muted small", text: "本述法人尚无纸质测评表录入。" }));
    fill(list, el("ul", { class: "paper-entries" }, entries.map((e) => {
      const discard = e.status === "confirmed" ? null
        : el("button", { type: "button", class: "btn btn-small btn-secondary" }, "作废");
      if (discard) {
        discard.addEventListener("click", () => run(discard, async () => {
          const resp = await post(`${api}/paper/${e.id}/discard`, { session });
          if (!resp.ok) throw await problem(resp);
          toast(`表号 ${e.sheet} 的录入已作废，可重新录入`, "ok", 3000);
          refresh();
        }));
      }
      const line = e.status === "confirmed"
        ? `已计入 ${e.ballots} 张（${who(e.first)}、${who(e.second)}）`
        : e.status === "mismatch" ? `第一次 ${who(e.first)}，第二次 ${who(e.second)}`
          : `第一次 ${who(e.first)}${e.mine ? "（本页录入，待另一人复核）" : "，待复核：请按原表再录入一次"}`;
      return el("li", { class: `paper-entry paper-${e.status}` },
        el("b", { text: `表号 ${e.sheet}` }), " ", el("span", { class: "badge", text: STATUS_LABEL[e.status] || e.status }),
        " ", line, " ", discard,
        e.differences ? differences(e.differences) : null);
    })));
  }

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: csrfHeaders({ ...headers, "Content-Type": "application/json" }),
      body: JSON.stringify(body) });
  }

  async function problem(resp) {
    const body = await resp.json().catch(() => ({}));
    return new Error((body.error && body.error.message) || `操作失败（${resp.status}）`);
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!item) return;
    const scheme = conn.state.meeting.scheme;
    run(submit, async () => {
      const resp = await post(`${api}/paper`, { item_id: item.id, group: group.value, sheet: sheet.value.trim(),
        figures: readFigures(scheme), session, name: name.value.trim() });
      if (!resp.ok) throw await problem(resp);
      const body = await resp.json();
      if (body.status === "confirmed") {
        fill(outcome, el("p", { class: "ok", text: `表号 ${sheet.value.trim()}：两次录入一致，已计入 ${body.ballots} 张。` }));
      } else if (body.status === "mismatch") {
        fill(outcome, el("p", { class: "form-error", text: `表号 ${sheet.value.trim()}：与第一次录入不一致，均未计入。请核对原表，作废后重新录入。` }),
          differences(body.differences || []));
      } else {
        fill(outcome, el("p", { class: "muted", text: `表号 ${sheet.value.trim()}：已录入，须由另一人（主持人或另一记录员）按原表再录入一次才计入。` }));
      }
      sheet.value = "";
      buildFigures(scheme);
      refresh();
    });
  });

  conn.on("state", render);
  render();
  timer = setInterval(() => { if (item && !document.hidden) refresh(); }, POLL_MS);
  root.addEventListener("remove", () => clearInterval(timer));
  return root;
}
