// The admin's 整改 office (/admin/office): every meeting's problems with the two closing
// steps (审核通过, 确认销号), reopening with a reason and dated 督办 (提醒 → 函询 → 挂牌督办);
// the weekly 通报 (DOCX, XLSX); and a unit's or person's history as a table and a chart
// (inline SVG drawn here, no library). Needs an admin session (signed in at /admin).

import { el, fill, setCsrfToken, toast } from "../shared/ui.js";
import { RECT_STATUSES, apiJSON, formDialog, statusLine, today } from "../shared/voice.js";

const app = document.getElementById("app");
const ESCALATIONS = ["提醒", "函询", "挂牌督办"];

boot();

async function boot() {
  const resp = await fetch("/api/admin/session", { credentials: "same-origin" }).catch(() => null);
  const session = resp ? await resp.json().catch(() => ({})) : {};
  if (!session.admin) {
    fill(app, el("section", { class: "card" }, el("h2", { text: "请先登录" }),
      el("p", {}, "整改办公室仅供组织单位管理员使用。", el("a", { href: "/admin", text: "前往管理员登录" }))));
    return;
  }
  setCsrfToken(session.csrf);
  fill(app, ledger(), bulletinCard(), historyCard());
}

// ---- 整改台账 ---------------------------------------------------------------------------

function ledger() {
  const unit = el("input", { type: "search", id: "of-unit", placeholder: "责任单位或述法人单位" });
  const status = el("select", { id: "of-status" }, el("option", { value: "", text: "全部状态" }),
    RECT_STATUSES.map(([v, l]) => el("option", { value: v, text: l })));
  const overdue = el("select", { id: "of-overdue" }, el("option", { value: "", text: "全部" }),
    el("option", { value: "true", text: "已逾期" }), el("option", { value: "false", text: "未逾期" }));
  const form = el("form", { class: "rc-filters office-filters" },
    el("label", {}, "单位 ", unit), el("label", {}, "状态 ", status), el("label", {}, "逾期 ", overdue),
    el("button", { type: "submit", class: "btn btn-small btn-primary" }, "查询"));
  const line = statusLine();
  const table = el("div", { id: "of-problems" });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });

  async function load() {
    const q = new URLSearchParams();
    if (unit.value.trim()) q.set("unit", unit.value.trim());
    if (status.value) q.set("status", status.value);
    if (overdue.value) q.set("overdue", overdue.value);
    line.set("正在加载…", "wait");
    try {
      const data = await apiJSON(`/api/admin/rectification?${q}`);
      line.set("");
      render(data.problems || []);
    } catch (err) {
      line.set(err.message, "error");
    }
  }

  function render(rows) {
    if (!rows.length) return fill(table, el("p", { class: "muted", text: "没有符合条件的问题" }));
    fill(table, el("table", { class: "office-table" },
      el("thead", {}, el("tr", {}, ["会议", "述法人", "问题", "责任单位", "整改期限", "状态", "督办", "操作"]
        .map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map(row))));
  }

  function row(p) {
    const details = el("div", { class: "rc-notes", hidden: true });
    const steps = (p.next || []).map((n) => {
      const b = el("button", { type: "button", class: `btn btn-small ${n.needs_reason ? "btn-secondary" : "btn-primary"}`,
        dataset: { step: n.status, problem: p.id } }, n.action);
      b.addEventListener("click", () => step(p, n));
      return b;
    });
    const nextLevel = ESCALATIONS[p.escalation] || null;
    const escalate = p.overdue && nextLevel
      ? el("button", { type: "button", class: "btn btn-small btn-secondary", dataset: { escalate: p.id } }, nextLevel) : null;
    if (escalate) escalate.addEventListener("click", () => doEscalate(p, nextLevel));
    const more = el("button", { type: "button", class: "btn btn-small btn-secondary", dataset: { record: p.id } }, "整改记录");
    more.addEventListener("click", () => { details.hidden = !details.hidden; if (!details.hidden) showRecord(p, details); });
    const link = el("button", { type: "button", class: "btn btn-small btn-secondary" }, "报送链接");
    link.addEventListener("click", () => showLink(p));
    return el("tr", { class: p.overdue ? "is-late" : null, dataset: { problemRow: p.id } },
      el("td", {}, p.meeting_title, el("br"), el("small", { class: "muted", text: p.meeting_date })),
      el("td", { text: p.presenter }),
      el("td", {}, p.description, details),
      el("td", { text: p.owner || p.unit || "—" }),
      el("td", { class: "num" }, p.deadline || "—",
        p.overdue ? el("span", { class: "voice-badge rc-late-badge", text: ` 逾期 ${p.days_overdue} 天` }) : null),
      el("td", {}, el("span", { class: `voice-badge rect-${p.status}`, dataset: { statusOf: p.id }, text: p.status_label })),
      el("td", { class: p.escalation ? "office-escalation" : "muted", text: p.escalation ? `${p.escalation_label}（${p.escalated_on}）` : "—" }),
      el("td", {}, el("div", { class: "voice-row-actions" }, ...steps, escalate, more, link)));
  }

  async function step(p, n) {
    const fields = [];
    if (n.needs_reason) fields.push({ name: "reason", label: `${n.action}原因`, type: "textarea", required: true, maxlength: 500 });
    fields.push({ name: "text", label: "审核意见", type: "textarea", maxlength: 2000, hint: "不填则记为状态变更" },
      { name: "on_date", label: "日期", type: "date", value: today() });
    const values = await formDialog(n.action, fields, n.action, `${p.presenter}：${p.description.slice(0, 60)}`);
    if (!values) return;
    const body = { status: n.status, ...values };
    for (const k of Object.keys(body)) if (body[k] === "") delete body[k];
    try {
      await apiJSON(`/api/admin/problems/${p.id}/status`, { method: "POST", body });
      toast(`已${n.action}`, "ok", 2500);
      load();
    } catch (err) { toast(err.message); }
  }

  async function doEscalate(p, level) {
    const values = await formDialog(`督办：${level}`, [
      { name: "note", label: "督办说明", type: "textarea", required: true, maxlength: 1000 },
      { name: "on_date", label: "督办日期", type: "date", value: today() },
    ], level, `${p.presenter}：${p.description.slice(0, 60)}（逾期 ${p.days_overdue} 天）`);
    if (!values) return;
    try {
      await apiJSON(`/api/admin/problems/${p.id}/escalate`, { method: "POST", body: { level, ...values } });
      toast(`已${level}`, "ok", 2500);
      load();
    } catch (err) { toast(err.message); }
  }

  async function showLink(p) {
    try {
      const data = await apiJSON(`/api/admin/problems/${p.id}/owner-link`);
      await formDialog("责任单位报送链接", [{ name: "url", label: `${data.owner || "责任单位"}的个人链接（请勿公开）`, value: data.url }],
        "关闭", "链接随法治体检单打印；如需作废，请由该会议主持人更换链接。");
    } catch (err) { toast(err.message); }
  }

  async function showRecord(p, box) {
    fill(box, el("p", { class: "muted", text: "正在加载…" }));
    try {
      const data = await apiJSON(`/api/admin/problems/${p.id}`);
      const notes = data.notes || [];
      fill(box, notes.length ? el("ol", { class: "office-notes" }, notes.map((n) => el("li", {},
        el("span", { class: "office-date", text: n.on_date }),
        n.to_status ? el("span", { class: `voice-badge rect-${n.to_status}`, text: label(n.to_status) }) : null,
        el("span", { text: ` ${n.text}` }),
        n.reason ? el("p", { class: "rc-note-reason", text: `原因：${n.reason}` }) : null,
        (n.attachments || []).length ? el("div", { class: "office-files" }, n.attachments.map((a) =>
          el("a", { class: "btn btn-small btn-secondary", href: `/api/admin/problems/${p.id}/attachments/${a.id}`, text: a.filename }))) : null)))
        : el("p", { class: "muted", text: "尚无整改记录" }));
    } catch (err) {
      fill(box, el("p", { role: "alert", text: err.message }));
    }
  }

  load();
  return el("section", { class: "card", "aria-label": "整改台账" }, el("h2", { text: "整改台账（全部会议）" }), form, line, table);
}

function label(status) {
  const found = RECT_STATUSES.find(([v]) => v === status);
  return found ? found[1] : status;
}

// ---- 每周通报 ---------------------------------------------------------------------------

function bulletinCard() {
  const week = el("input", { type: "date", id: "of-week", value: today() });
  const docx = el("a", { class: "btn btn-small btn-secondary", id: "of-bulletin-docx", download: "" }, "下载通报（Word）");
  const xlsx = el("a", { class: "btn btn-small btn-secondary", id: "of-bulletin-xlsx", download: "" }, "下载通报（Excel）");
  const box = el("div", {});
  async function load() {
    const q = `week=${encodeURIComponent(week.value || today())}`;
    docx.href = `/api/admin/bulletin.docx?${q}`;
    xlsx.href = `/api/admin/bulletin.xlsx?${q}`;
    try {
      const b = await apiJSON(`/api/admin/bulletin?${q}`);
      const t = b.totals;
      fill(box, el("p", { text: `${b.start} 至 ${b.end}：新增 ${t.new}，逾期 ${t.overdue}，销号 ${t.closed}，督办 ${t.escalated}` }),
        b.units.length ? el("table", { class: "office-table" },
          el("thead", {}, el("tr", {}, ["责任单位", "新增", "逾期", "销号", "督办"].map((h, i) => el("th", { class: i ? "num" : null, text: h })))),
          el("tbody", {}, b.units.map((u) => el("tr", {}, el("td", { text: u.unit }),
            ...["new", "overdue", "closed", "escalated"].map((k) => el("td", { class: "num", text: String(u[k]) }))))))
          : el("p", { class: "muted", text: "本周没有需要通报的问题" }));
    } catch (err) { fill(box, el("p", { role: "alert", text: err.message })); }
  }
  week.addEventListener("change", load);
  load();
  return el("section", { class: "card", "aria-label": "每周通报" }, el("h2", { text: "每周整改通报" }),
    el("div", { class: "voice-actions" }, el("label", {}, "所在周（任一天） ", week), docx, xlsx), box);
}

// ---- 历史 -----------------------------------------------------------------------------

function historyCard() {
  const kind = el("select", { id: "of-history-kind" }, el("option", { value: "unit", text: "单位" }), el("option", { value: "person", text: "姓名" }));
  const name = el("input", { type: "search", id: "of-history-name", list: "of-history-names", placeholder: "输入单位或姓名" });
  const list = el("datalist", { id: "of-history-names" });
  const form = el("form", { class: "rc-filters" }, kind, name, list, el("button", { type: "submit", class: "btn btn-small btn-primary" }, "查看历年情况"));
  const chart = el("div", { id: "of-history-chart" });
  const table = el("div", { id: "of-history-table" });
  let names = { units: [], people: [] };
  apiJSON("/api/admin/history/names").then((n) => { names = n; fillNames(); }).catch(() => null);
  function fillNames() { fill(list, (kind.value === "unit" ? names.units : names.people).map((v) => el("option", { value: v }))); }
  kind.addEventListener("change", fillNames);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) return toast("请输入单位或姓名");
    try {
      const data = await apiJSON(`/api/admin/history?${kind.value}=${encodeURIComponent(name.value.trim())}`);
      renderHistory(data.rows || []);
    } catch (err) { toast(err.message); }
  });
  function renderHistory(rows) {
    if (!rows.length) { fill(chart); return fill(table, el("p", { class: "muted", text: "没有找到述法记录" })); }
    fill(chart, historyChart(rows));
    fill(table, el("table", { class: "office-table" },
      el("thead", {}, el("tr", {}, ["年度", "会议", "述法人", "单位", "测评得分", "等次", "排名", "问题", "已销号", "未销号", "逾期"]
        .map((h) => el("th", { text: h })))),
      el("tbody", {}, rows.map((r) => el("tr", {},
        el("td", { class: "num", text: String(r.year) }), el("td", { text: r.meeting_title }), el("td", { text: r.presenter }),
        el("td", { text: r.unit }), el("td", { class: "num", text: r.total ?? "—" }), el("td", { text: r.grade || "—" }),
        el("td", { class: "num", text: r.rank ? `${r.rank}/${r.rank_of}` : "—" }),
        ...["problems", "closed", "open", "overdue"].map((k) => el("td", { class: "num", text: String(r[k]) })))))));
  }
  return el("section", { class: "card", "aria-label": "历年情况" }, el("h2", { text: "历年述法与整改情况" }), form, chart, table);
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Bars: problems named each time (dark: still open); line: the 测评 score (0–100 scale).
export function historyChart(rows) {
  const W = 640, H = 260, left = 44, right = 44, top = 20, bottom = 48;
  const plotW = W - left - right, plotH = H - top - bottom;
  const n = rows.length, slot = plotW / n, barW = Math.min(36, slot * 0.5);
  const maxProblems = Math.max(1, ...rows.map((r) => r.problems));
  const scores = rows.map((r) => (typeof r.total_value === "number" ? r.total_value : null));
  const maxScore = Math.max(100, ...scores.filter((v) => v !== null));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "office-chart", role: "img", "aria-label": "历年测评得分与问题数量" });
  root.append(svg("title", {}, "历年测评得分（折线）与问题数量（柱，深色为未销号）"));
  root.append(svg("line", { x1: left, y1: top + plotH, x2: W - right, y2: top + plotH, stroke: "#888" }));
  root.append(svg("text", { x: 4, y: top + 4, "font-size": 11, fill: "#555" }, "问题数"));
  root.append(svg("text", { x: W - right + 4, y: top + 4, "font-size": 11, fill: "#a3161a" }, "得分"));
  const points = [];
  rows.forEach((r, i) => {
    const cx = left + slot * i + slot / 2;
    const hAll = (r.problems / maxProblems) * plotH, hOpen = (r.open / maxProblems) * plotH;
    root.append(svg("rect", { x: cx - barW / 2, y: top + plotH - hAll, width: barW, height: hAll, fill: "#c9d6e8" }));
    root.append(svg("rect", { x: cx - barW / 2, y: top + plotH - hOpen, width: barW, height: hOpen, fill: "#3c5a80" }));
    root.append(svg("text", { x: cx, y: top + plotH - hAll - 4, "text-anchor": "middle", "font-size": 11 }, String(r.problems)));
    root.append(svg("text", { x: cx, y: H - bottom + 16, "text-anchor": "middle", "font-size": 12 }, String(r.year)));
    root.append(svg("text", { x: cx, y: H - bottom + 32, "text-anchor": "middle", "font-size": 10, fill: "#555" },
      r.rank ? `第${r.rank}名/${r.rank_of}` : "无测评"));
    if (scores[i] !== null) points.push([cx, top + plotH - (scores[i] / maxScore) * plotH, scores[i]]);
  });
  if (points.length) {
    root.append(svg("polyline", { points: points.map(([x, y]) => `${x},${y}`).join(" "), fill: "none", stroke: "#a3161a", "stroke-width": 2 }));
    for (const [x, y, v] of points) {
      root.append(svg("circle", { cx: x, cy: y, r: 4, fill: "#a3161a" }));
      root.append(svg("text", { x: x + 6, y: y - 6, "font-size": 11, fill: "#a3161a" }, v.toFixed(2)));
    }
  }
  return root;
}
