// The host console's 点评 / 问题清单 / 法治体检单 / 整改 cards: the record of the
// presenter on stage (shared editor with the recorder page), the recorder's link,
// each presenter's 法治体检单 downloads, and 整改 tracking across meetings with its
// filters, steps, progress notes, the XLSX and the 通报 summary.

import { el, fill, toast } from "../shared/client.js";
import { recordEditor } from "../shared/record-editor.js";
import { RECT_STATUSES, apiJSON, formDialog, section, stageItem, statusLine, today } from "../shared/voice.js";

// ---- 点评与问题清单 ----------------------------------------------------------------------

export function recordCard(conn, api) {
  let editor = null;
  const body = el("div");
  const root = section("点评与问题清单", {
    hint: "记录点评内容和点评中指出的问题",
    onFirstOpen: () => {
      editor = recordEditor(conn, { api, checkup: true });
      fill(body, editor.node);
    },
  }, body);
  // Say so in the summary while a presenter is in 点评: that is when it is needed.
  conn.on("state", (state) => {
    const item = stageItem(state);
    root.hint.textContent = item && item.phase === "comment"
      ? `「${item.presenter.name}」正在点评：可在此记录` : "记录点评内容和点评中指出的问题";
    root.classList.toggle("is-due", !!(item && item.phase === "comment"));
  });
  return root;
}

// ---- 法治体检单 and the recorder's link ------------------------------------------------------

export function checkupCard(conn, api) {
  const list = el("ul", { class: "ck-list" });
  const linkBox = el("div", { class: "ck-recorder" });
  const getLink = el("button", { type: "button", class: "btn btn-small btn-secondary" }, "显示记录员链接");
  const status = statusLine();
  getLink.addEventListener("click", async () => {
    getLink.disabled = true;
    try {
      const out = await apiJSON(`${api}/recorder`);
      const input = el("input", { type: "text", readonly: true, value: out.url, class: "voice-input", "aria-label": "记录员链接" });
      const copy = el("button", { type: "button", class: "btn btn-small btn-secondary" }, "复制");
      copy.addEventListener("click", () => {
        input.select();
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(out.url).then(() => toast("已复制", "ok", 1500), () => null);
        else if (document.execCommand("copy")) toast("已复制", "ok", 1500);
      });
      fill(linkBox, el("div", { class: "link-line" }, input, copy),
        el("a", { href: out.url, target: "_blank", rel: "noopener" }, "打开记录员页面"));
      status.set("");
    } catch (err) {
      status.set(err.message, "error");
    } finally {
      getLink.disabled = false;
    }
  });

  function render() {
    const state = conn.state;
    if (!state) return;
    fill(list, state.items.map((i) => el("li", {},
      el("span", { class: "ck-name" }, `${i.position}. ${i.presenter.name}`),
      el("a", { href: `${api}/items/${i.id}/checkup.docx`, download: "", "aria-label": `${i.presenter.name}的法治体检单（Word）` }, "DOCX"),
      el("a", { href: `${api}/items/${i.id}/checkup.pdf`, download: "", "aria-label": `${i.presenter.name}的法治体检单（PDF）` }, "PDF"),
      el("a", { href: `${api}/items/${i.id}/checkup.pdf?links=1`, download: "", "aria-label": `${i.presenter.name}的法治体检单（PDF，含责任单位整改报送链接）` }, "PDF＋报送链接"))));
  }
  conn.on("state", (state, msg) => { if (!msg || msg.type === "snapshot" || msg.type === "item.updated") render(); });
  render();
  return section("会后材料", { hint: "法治体检单、点评记录员" },
    el("h3", { class: "voice-sub", text: "法治体检单" }),
    el("p", { class: "muted small", text: "按当前已保存的测评结果、质询、点评和问题清单生成；整改期限默认会后 3 个月。「＋报送链接」版附各问题责任单位的个人整改报送链接，只交给责任单位。" }), list,
    el("h3", { class: "voice-sub", text: "点评记录员" }),
    el("p", { class: "muted small", text: "记录员凭此链接在自己的设备上记录点评和问题；修改主持人密码后链接失效。" }),
    getLink, status, linkBox);
}

// ---- 整改跟踪 ------------------------------------------------------------------------------

export function rectificationCard(conn, api) {
  const presenter = el("input", { type: "search", id: "rc-presenter", class: "voice-input", placeholder: "姓名", list: "rc-names" });
  const names = el("datalist", { id: "rc-names" });
  const status = el("select", { id: "rc-status", class: "voice-select" },
    el("option", { value: "", text: "全部" }), RECT_STATUSES.map(([v, l]) => el("option", { value: v, text: l })));
  const overdue = el("select", { id: "rc-overdue", class: "voice-select" },
    el("option", { value: "", text: "全部" }), el("option", { value: "true", text: "已逾期" }), el("option", { value: "false", text: "未逾期" }));
  const search = el("button", { type: "submit", class: "btn btn-small btn-primary" }, "查询");
  const xlsx = el("a", { class: "btn btn-small btn-secondary", download: "" }, "导出 Excel");
  const summaryLink = el("a", { class: "btn btn-small btn-secondary", target: "_blank", rel: "noopener" }, "通报数据（JSON）");
  const field = (input, label) => el("label", { class: "voice-field", for: input.id }, el("span", { class: "voice-field-label", text: label }), input);
  const form = el("form", { class: "rc-filters" }, field(presenter, "述法人"), field(status, "状态"), field(overdue, "逾期"),
    el("div", { class: "voice-actions" }, search, xlsx, summaryLink), names);
  const listStatus = statusLine();
  const summary = el("div", { class: "rc-summary" });
  const table = el("div", { class: "rc-problems" });
  const root = section("整改跟踪", { hint: "本场会议的问题清单与整改进展；跨会议整改与销号由组织单位管理员办理", onFirstOpen: () => load() },
    form, listStatus, summary, table);

  function query() {
    const q = new URLSearchParams();
    if (presenter.value.trim()) q.set("presenter", presenter.value.trim());
    if (status.value) q.set("status", status.value);
    if (overdue.value) q.set("overdue", overdue.value);
    return q.toString();
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });

  async function load() {
    const q = query();
    xlsx.href = `${api}/rectification.xlsx?${q}`;
    summaryLink.href = `${api}/rectification/summary?${q}`;
    listStatus.set("正在加载…", "wait");
    try {
      const data = await apiJSON(`${api}/rectification?${q}`);
      listStatus.set("");
      renderSummary(data.summary || []);
      renderProblems(data.problems || [], data.today);
      fill(names, [...new Set((data.problems || []).map((p) => p.presenter))].map((n) => el("option", { value: n })));
      root.hint.textContent = `${(data.problems || []).length} 个问题，逾期 ${(data.problems || []).filter((p) => p.overdue).length}`;
    } catch (err) {
      listStatus.set(err.message, "error");
    }
  }

  function renderSummary(rows) {
    if (!rows.length) return fill(summary);
    fill(summary, el("table", { class: "rc-table" },
      el("caption", { text: "整改通报（按述法人）" }),
      el("thead", {}, el("tr", {}, ["述法人", "问题数", "已销号", "已整改", "未完成", "逾期", "销号率"].map((h, i) =>
        el("th", { scope: "col", class: i ? "num" : null, text: h })))),
      el("tbody", {}, rows.map((r) => el("tr", {},
        el("th", { scope: "row", text: r.presenter }),
        ...[r.total, r.closed, r.rectified, r.open].map((v) => el("td", { class: "num", text: String(v) })),
        el("td", { class: `num${r.overdue ? " rc-late" : ""}`, text: String(r.overdue) }),
        el("td", { class: "num", text: `${Math.round((r.closure_rate || 0) * 1000) / 10}%` }))))));
  }

  function renderProblems(rows) {
    if (!rows.length) return fill(table, el("p", { class: "muted", text: "没有符合条件的问题" }));
    fill(table, el("table", { class: "rc-table rc-list" },
      el("caption", { text: "问题清单" }),
      el("thead", {}, el("tr", {}, ["述法人", "问题", "责任人", "整改期限", "状态", "操作"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map(problemRow))));
  }

  function problemRow(p) {
    const notes = el("div", { class: "rc-notes", hidden: true });
    const steps = (p.next || []).map((n) => {
      const back = Boolean(n.needs_reason);
      const b = el("button", { type: "button", class: `btn btn-small ${back ? "btn-secondary" : "btn-primary"}` },
        n.action || `标记为${n.label}`);
      b.addEventListener("click", () => step(p, n, back));
      return b;
    });
    const ownerLink = el("button", { type: "button", class: "btn btn-small btn-secondary" }, "报送链接");
    ownerLink.addEventListener("click", () => showOwnerLink(p));
    const note = el("button", { type: "button", class: "btn btn-small btn-secondary", disabled: p.status === "closed" }, "记进展");
    note.addEventListener("click", () => addNote(p));
    const history = el("button", { type: "button", class: "btn btn-small btn-secondary", "aria-expanded": "false" }, "整改记录");
    history.addEventListener("click", async () => {
      const open = notes.hidden;
      notes.hidden = !open;
      history.setAttribute("aria-expanded", String(open));
      if (open) showNotes(p, notes);
    });
    return el("tr", { class: p.overdue ? "is-late" : null },
      el("td", {}, el("b", { text: p.presenter }), el("small", { class: "muted rc-meeting", text: `${p.meeting_title}（${p.meeting_date}）` })),
      el("td", {}, el("p", { class: "rc-desc", text: p.description }),
        el("small", { class: "muted", text: [p.category, `来源：${p.source}`].filter(Boolean).join("　") }), notes),
      el("td", { text: p.owner || "—" }),
      el("td", { class: "num" }, p.deadline || "—",
        p.overdue ? el("span", { class: "voice-badge rc-late-badge", text: `逾期 ${p.days_overdue} 天` }) : null),
      el("td", {}, el("span", { class: `voice-badge rect-${p.status}`, text: p.status_label })),
      el("td", {}, el("div", { class: "voice-row-actions" }, ...steps, note, history, ownerLink)));
  }

  async function showOwnerLink(p) {
    try {
      const out = await apiJSON(`${api}/problems/${p.id}/owner-link`);
      const values = await formDialog("责任单位整改报送链接", [{ name: "url", label: `${out.owner || "责任单位"}的个人链接（请勿公开）`, value: out.url }],
        "更换链接", "责任单位凭此链接报送整改进展和佐证材料、申请销号。「更换链接」使旧链接立即失效。");
      if (!values) return;
      await apiJSON(`${api}/problems/${p.id}/owner-link/rotate`, { method: "POST", body: {} });
      toast("已更换链接，旧链接已失效", "ok", 3000);
      showOwnerLink(p);
    } catch (err) {
      toast(err.message);
    }
  }

  async function step(p, next, back) {
    const fields = [];
    if (back) fields.push({ name: "reason", label: `${next.action || "退回"}原因`, type: "textarea", required: true, maxlength: 500 });
    fields.push({ name: "text", label: "情况说明", type: "textarea", maxlength: 2000, hint: "不填则记为状态变更" },
      { name: "evidence", label: "佐证材料", type: "textarea", rows: 2, maxlength: 2000, hint: "如文件名、文号、链接" },
      { name: "on_date", label: "日期", type: "date", value: today() });
    const values = await formDialog(next.action || `标记为「${next.label}」`, fields, back ? "退回" : "确定",
      `${p.presenter}：${p.description.slice(0, 60)}`);
    if (!values) return;
    const body = { status: next.status, ...values };
    for (const k of Object.keys(body)) if (body[k] === "") delete body[k];
    try {
      // Only this meeting's problems (see protocol.md); 审核 and 销号 are the admin's.
      await apiJSON(`${api}/problems/${p.id}/status`, { method: "POST", body });
      toast(`已变更为「${next.label}」`, "ok", 2000);
      load();
    } catch (err) {
      toast(err.message);
    }
  }

  async function addNote(p) {
    const values = await formDialog("记录整改进展", [
      { name: "text", label: "进展说明", type: "textarea", required: true, maxlength: 2000 },
      { name: "evidence", label: "佐证材料", type: "textarea", rows: 2, maxlength: 2000 },
      { name: "on_date", label: "日期", type: "date", value: today() },
    ], "保存", `${p.presenter}：${p.description.slice(0, 60)}`);
    if (!values) return;
    try {
      await apiJSON(`${api}/problems/${p.id}/notes`, { method: "POST", body: values });
      toast("已记录进展", "ok", 2000);
      load();
    } catch (err) {
      toast(err.message);
    }
  }

  async function showNotes(p, box) {
    fill(box, el("p", { class: "muted", text: "正在加载…" }));
    try {
      const data = await apiJSON(`${api}/problems/${p.id}`);
      const rows = data.notes || [];
      fill(box, rows.length ? el("ol", { class: "rc-note-list" }, rows.map((n) => el("li", {},
        el("span", { class: "num rc-note-date", text: n.on_date }),
        n.to_status ? el("span", { class: `voice-badge rect-${n.to_status}`, text: label(n.to_status) }) : null,
        el("span", { class: "rc-note-text", text: n.text }),
        n.reason ? el("span", { class: "rc-note-reason", text: `退回原因：${n.reason}` }) : null,
        n.evidence ? el("span", { class: "muted rc-note-evidence", text: `佐证：${n.evidence}` }) : null)))
        : el("p", { class: "muted", text: "尚无整改记录" }));
    } catch (err) {
      fill(box, el("p", { class: "voice-status", dataset: { kind: "error" }, text: err.message }));
    }
  }

  return root;
}

function label(status) {
  const found = RECT_STATUSES.find(([v]) => v === status);
  return found ? found[1] : status;
}
