// The owner's (责任单位) page /o/{problem id}#t={token}: one problem, its 整改 record, and a
// form to report progress with attachments (PDF or images) or to apply for 销号.
// The token sits in the URL fragment (never sent to a server, so never logged): the page
// trades it once for a session cookie for this problem, then drops it from the address bar.

import { csrfHeaders, el, fill, setCsrfToken, toast } from "../shared/ui.js";

const app = document.getElementById("app");
const problemId = Number(location.pathname.split("/").filter(Boolean)[1]);
const params = new URLSearchParams(location.hash.slice(1));
const token = params.get("t") || "";
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const base = `/api/owner/${problemId}`;

start();

async function start() {
  const session = await claim();
  if (!session.ok) {
    fill(app, el("section", { class: "card" }, el("h2", { text: "无法打开整改报送" }),
      el("p", { role: "alert", text: session.message })));
    return;
  }
  setCsrfToken(session.csrf);
  await load();
}

async function claim() {
  try {
    const resp = token
      ? await fetch("/api/owner/claim", {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ token }),
      })
      : await fetch(`${base}/session`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (resp.ok && body.csrf) return { ok: true, csrf: body.csrf };
    return { ok: false, message: (body.error && body.error.message) || "链接不完整，请向组织单位索取新链接" };
  } catch {
    return { ok: false, message: "无法连接服务器，请检查网络后刷新页面" };
  }
}

async function load() {
  const resp = await fetch(base, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    fill(app, el("p", { role: "alert", text: (body.error && body.error.message) || "加载失败" }));
    return;
  }
  render(body);
}

function render(p) {
  document.getElementById("title").textContent = `整改报送 · ${p.unit || p.owner || p.presenter}`;
  const facts = el("dl", { class: "office-facts" },
    el("dt", { text: "会议" }), el("dd", { text: `${p.meeting_title}（${p.meeting_date}）` }),
    el("dt", { text: "述法人" }), el("dd", { text: `${p.presenter}　${p.post || ""}` }),
    el("dt", { text: "责任单位" }), el("dd", { text: p.owner || p.unit || "—" }),
    el("dt", { text: "问题" }), el("dd", { text: p.description }),
    el("dt", { text: "整改期限" }), el("dd", {}, p.deadline || "—",
      p.overdue ? el("span", { class: "voice-badge rc-late-badge", text: ` 逾期 ${p.days_overdue} 天` }) : null),
    el("dt", { text: "状态" }), el("dd", {}, el("span", { id: "owner-status", class: `voice-badge rect-${p.status}`, text: p.status_label })),
    p.escalation ? el("dt", { text: "督办" }) : null,
    p.escalation ? el("dd", { class: "office-escalation", text: `${p.escalation_label}（${p.escalated_on}）` }) : null);
  const notes = (p.notes || []).length
    ? el("ol", { class: "office-notes", id: "owner-notes" }, p.notes.map(noteItem))
    : el("p", { class: "muted", text: "尚无整改记录" });
  fill(app,
    el("section", { class: "card", "aria-label": "问题" }, el("h2", { text: "整改问题" }), facts),
    el("section", { class: "card", "aria-label": "整改记录" }, el("h2", { text: "整改记录" }), notes),
    reportForm(p));
}

function noteItem(n) {
  const who = { owner: "责任单位", host: "主持人", admin: "组织单位" }[n.author] || n.author;
  return el("li", {},
    el("span", { class: "office-date", text: n.on_date }),
    n.to_status ? el("span", { class: `voice-badge rect-${n.to_status}`, text: statusLabel(n.to_status) }) : null,
    n.escalation_label ? el("span", { class: "office-escalation", text: ` ${n.escalation_label} ` }) : null,
    el("span", { text: ` ${n.text}` }),
    el("small", { class: "muted", text: `（${who}）` }),
    n.reason ? el("p", { class: "rc-note-reason", text: `原因：${n.reason}` }) : null,
    (n.attachments || []).length ? el("div", { class: "office-files" }, n.attachments.map((a) =>
      el("a", { class: "btn btn-small btn-secondary", href: `${base}/attachments/${a.id}`, text: `${a.filename}（${size(a.size)}）` }))) : null);
}

function reportForm(p) {
  if (p.status === "closed") {
    return el("section", { class: "card" }, el("h2", { text: "报送进展" }), el("p", { text: "该问题已销号，无需再报送。" }));
  }
  const waiting = p.status === "rectified" || p.status === "reviewed";
  const text = el("textarea", { id: "owner-text", name: "text", required: true, maxlength: 2000 });
  const date = el("input", { id: "owner-date", name: "on_date", type: "date", value: new Date().toISOString().slice(0, 10) });
  const files = el("input", { id: "owner-files", name: "file", type: "file", multiple: true,
    accept: "application/pdf,image/png,image/jpeg,image/webp,.pdf,.png,.jpg,.jpeg,.webp" });
  const close = el("input", { id: "owner-close", name: "request_close", type: "checkbox", value: "1", disabled: waiting });
  const submit = el("button", { type: "submit", class: "btn btn-primary", id: "owner-submit" }, "报送");
  const form = el("form", { class: "office-form", id: "owner-form" },
    el("label", { for: "owner-text" }, el("span", { text: "整改进展（必填）" }), text),
    el("label", { for: "owner-date" }, el("span", { text: "日期 " }), date),
    el("label", { for: "owner-files" }, el("span", { text: "佐证材料（PDF 或图片，最多 5 个，每个不超过 10 MB） " }), files),
    el("label", { class: "office-check", for: "owner-close" }, close,
      el("span", { text: waiting ? "已申请销号，等待组织单位审核" : "整改已完成，申请销号" })),
    submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if ((files.files || []).length > 5) return toast("最多上传 5 个附件");
    submit.disabled = true;
    try {
      const data = new FormData(form);
      const resp = await fetch(`${base}/report`, { method: "POST", credentials: "same-origin",
        headers: csrfHeaders({ Accept: "application/json" }), body: data });
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) throw new Error((body.error && body.error.message) || "报送失败");
      toast(close.checked ? "已报送并申请销号" : "已报送", "ok", 3000);
      await load();
    } catch (err) {
      toast(err.message);
    } finally {
      submit.disabled = false;
    }
  });
  return el("section", { class: "card", "aria-label": "报送进展" }, el("h2", { text: "报送整改进展" }), form);
}

const LABELS = { pending: "待整改", in_progress: "整改中", rectified: "已整改", reviewed: "已审核", closed: "已销号" };
function statusLabel(s) { return LABELS[s] || s; }
function size(n) { return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`; }
