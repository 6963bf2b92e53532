// The meeting list of the administrators' workspace: grouped by year, then by state
// (草稿, 已排期, 进行中, 已结束, 已归档), with a search box; and the hash routes of the
// workspace: #/ the list, #/new a new meeting, #/m/CODE one meeting (admin-wizard.js).

import { el, fill, run, toast } from "../shared/ui.js";
import { api } from "./admin-api.js";
import { newMeeting, meetingView } from "./admin-wizard.js";

let root = null;

export function meetingsView(app) {
  root = app;
  window.addEventListener("hashchange", route);
  route();
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  const hash = location.hash || "#/";
  const m = /^#\/m\/([A-Z0-9]{4,8})(?:\/(\d+))?$/.exec(hash);
  if (hash === "#/new") newMeeting(root);
  else if (m) meetingView(root, m[1], m[2] ? Number(m[2]) : null);
  else listView(root);
}

async function listView(app) {
  const search = el("input", { type: "search", placeholder: "搜索会议名称、会议码、地点、述法人或单位", "aria-label": "搜索会议" });
  const list = el("div", { class: "meeting-list" }, el("p", { class: "muted", text: "正在加载会议列表…" }));
  const create = el("a", { class: "btn btn-primary", href: "#/new", id: "new-meeting" }, "新建会议");
  fill(app, el("section", { class: "card" }, el("h2", { text: "会议" }),
    el("div", { class: "toolbar" }, search, create), list));
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(list, search.value), 250);
  });
  await load(list, "");
  search.focus();
}

async function load(list, q) {
  let data;
  try {
    data = await api("GET", `/api/admin/meetings?q=${encodeURIComponent(q)}`);
  } catch (err) {
    fill(list, el("p", { class: "form-error", text: err.message }));
    return;
  }
  if (!data.meetings.length) {
    fill(list, el("p", { class: "muted", text: q ? "没有找到符合条件的会议。" : "还没有会议。点「新建会议」开始。" }));
    return;
  }
  const years = new Map();
  for (const m of data.meetings) {
    if (!years.has(m.year)) years.set(m.year, new Map());
    const byState = years.get(m.year);
    if (!byState.has(m.state)) byState.set(m.state, []);
    byState.get(m.state).push(m);
  }
  const labels = Object.fromEntries(data.states.map((s) => [s.key, s.label]));
  fill(list, [...years.entries()].map(([year, byState]) => el("section", { class: "year-group" },
    el("h2", { text: `${year} 年` }),
    data.states.filter((s) => byState.has(s.key)).map((s) => el("div", { class: "status-group" },
      el("h3", { text: `${labels[s.key]}（${byState.get(s.key).length}）` }),
      el("ul", { class: "meeting-rows" }, byState.get(s.key).map((m) => meetingRow(m, list, q))))))));
}

function meetingRow(m, list, q) {
  const archived = m.state === "archived";
  const archive = el("button", { type: "button", class: "btn btn-small btn-secondary" }, archived ? "取消归档" : "归档");
  archive.addEventListener("click", () => run(archive, async () => {
    await api("POST", `/api/admin/meetings/${m.code}/archive`, { archived: !archived });
    toast(archived ? "已取消归档" : "已归档", "ok");
    await load(list, q);
  }));
  return el("li", { class: "meeting-row", dataset: { code: m.code } },
    el("span", { class: `status-tag status-${m.state}`, text: m.state_label }),
    el("a", { class: "m-title", href: `#/m/${m.code}`, text: m.title }),
    el("span", { class: "m-meta", text: [m.held_on || "日期未定", m.venue, `会议码 ${m.code}`,
      `述法人 ${m.presenters} 位`, `评议团 ${m.panel} 人`].filter(Boolean).join(" · ") }),
    m.state === "live" ? null : archive);
}
