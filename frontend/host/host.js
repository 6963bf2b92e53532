// The host console: log in, then take each presenter through the phases.

import {
  ACTIVE_PHASES, codeFromPath, confirmDialog, connect, countdown, el, everyTick, fill, phaseBadge,
  run, setCsrfToken, csrfHeaders, statusBanner, toast,
} from "../shared/client.js";
import { durationsCard, figuresCard, linksCard, panelLinksCard, tallyCard } from "./host-side.js";
import { resultsCard } from "./host-results.js";
import { schemeCard } from "./scheme-editor.js";
import { publicVotingCard } from "./host-credentials.js";
import { hostVoice } from "./host-voice.js";
import { hostSlides } from "./host-slides.js";
import { hostHealth } from "./host-health.js";
import { participationCard, visibilityCard } from "./host-count.js";
import { paperPanel } from "../shared/paper-entry.js";

const code = codeFromPath("/host/");
const app = document.getElementById("app");
const api = `/api/meetings/${encodeURIComponent(code)}`;
let consoleOpened = false;

boot();

async function boot() {
  let session = { host: false };
  try {
    const resp = await fetch(`${api}/session`, { credentials: "same-origin" });
    session = await resp.json();
    setCsrfToken(session.csrf);
  } catch {
    toast("无法连接服务器，请检查网络后刷新页面");
  }
  if (session.host) openConsole();
  else loginForm();
}

// ---- login ----------------------------------------------------------------

function loginForm(message) {
  const password = el("input", { type: "password", name: "password", required: true, autocomplete: "current-password", autofocus: true });
  const error = el("p", { class: "form-error", role: "alert", text: message || "" });
  const submit = el("button", { type: "submit", class: "btn btn-primary" }, "登录");
  const form = el("form", { class: "card login-box" },
    el("h2", { text: "主持人登录" }),
    el("p", { class: "muted", text: `会议码 ${code}` }),
    el("label", { class: "field" }, "主持人密码", password),
    error, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    try {
      const resp = await fetch(`${api}/login`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ password: password.value }),
      });
      const body = await resp.json().catch(() => ({}));
      // A second login (session expired mid-meeting) starts from a clean page.
      if (resp.ok) {
        setCsrfToken(body.csrf);
        return consoleOpened ? location.reload() : openConsole();
      }
      error.textContent = (body.error && body.error.message) || `登录失败（${resp.status}）`;
    } catch {
      error.textContent = "无法连接服务器，请检查网络";
    }
    submit.disabled = false;
    password.select();
  });
  fill(app, form);
  password.focus();
}

// ---- console ----------------------------------------------------------------

function openConsole() {
  consoleOpened = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("open-screen").href = `/screen/${code}`;
  document.getElementById("open-presenter").href = `/presenter/${code}`;
  document.getElementById("logout").onclick = async () => {
    // The token of the session this browser holds now (another tab may have logged in again).
    const now = await fetch(`${api}/session`, { credentials: "same-origin" }).then((r) => r.json()).catch(() => ({}));
    if (now.csrf) setCsrfToken(now.csrf);
    await fetch(`${api}/logout`, { method: "POST", credentials: "same-origin", headers: csrfHeaders() }).catch(() => null);
    location.reload();
  };

  const conn = connect(code, "host");
  statusBanner(conn);
  hostHealth();
  const control = controlCard(conn);
  fill(app,
    el("div", { class: "host-main" }, control, agendaCard(conn), paperPanel(conn, { api }), resultsCard(conn, code),
      durationsCard(conn), schemeCard(conn), visibilityCard(conn),
      publicVotingCard(conn, api)),
    el("div", { class: "host-side" }, figuresCard(conn), tallyCard(conn), participationCard(conn), linksCard(code),
      panelLinksCard(conn, api)));
  hostVoice(conn, code, api);
  hostSlides(conn, api);  // decks, page turns, stream address, printables (host-slides.js)

  conn.on("state", (state) => {
    document.getElementById("title").textContent = `主持人控制台 · ${state.meeting.title}`;
  });
  // Host refusals (illegal step, stale view) come back as errors: show each one.
  conn.on("error", (msg) => { if (msg.id == null) toast(msg.message); });
  conn.on("fatal", (fatal) => {
    document.getElementById("nav").hidden = true;
    loginForm(fatal.message);
  });
}

const NEXT_LABEL = { report: "进入质询", inquiry: "进入点评", comment: "开始测评", voting: "结束测评" };

// The one obvious next step, from the state the console shows.
function nextStep(conn, state) {
  const m = state.meeting;
  if (m.status === "draft") return { label: "开始会议", run: () => conn.send("meeting.start") };
  if (m.status === "ended") return { label: "会议已结束", disabled: true };
  const active = state.items.find((i) => ACTIVE_PHASES.has(i.phase));
  if (active) {
    const step = {
      label: NEXT_LABEL[active.phase],
      run: () => conn.send("item.advance", { item_id: active.id, from: active.phase }),
    };
    if (active.phase === "voting") {
      // Read the count when asked: tallies move after this render.
      step.confirm = () => {
        const votes = (conn.tallies[active.id] && conn.tallies[active.id].total) || 0;
        return ["结束测评", `结束后「${active.presenter.name}」的测评结果将被冻结（当前已收到 ${votes} 张选票），不能再投票，也不能回退。确定结束测评吗？`];
      };
    }
    return step;
  }
  const next = state.items.find((i) => i.phase === "pending");
  if (next) return { label: `开始述法：${next.presenter.name}`, run: () => conn.send("item.open", { item_id: next.id }) };
  return {
    label: "结束会议", run: () => conn.send("meeting.end"),
    confirm: () => ["结束会议", "全部述法人已完成。结束会议后不能再开始新的议程，大屏将显示排名。确定结束会议吗？"],
  };
}

// Where the focus was inside `root`, by data-focus key, so a rebuilt control can take it back.
function focusKey(root) {
  const active = document.activeElement;
  return active && root.contains(active) && active.dataset ? active.dataset.focus || null : null;
}

function restoreFocus(root, key) {
  if (!key || root.contains(document.activeElement)) return;
  const target = root.querySelector(`[data-focus="${key}"]`);
  if (target && !target.disabled) target.focus();
}

// Like run(), but the button stays focusable while the command is out: it is
// aria-disabled and ignores clicks, instead of disabled (which drops the focus).
async function runKeepingFocus(button, action) {
  if (button.getAttribute("aria-disabled") === "true") return null;
  button.setAttribute("aria-disabled", "true");
  try {
    return await action();
  } catch (err) {
    toast((err && err.message) || "操作失败");
    return null;
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

function controlCard(conn) {
  const root = el("section", { class: "card control", "aria-label": "当前环节", tabindex: -1 });
  const heading = el("h2");
  const head = el("div", { class: "control-head" });
  const clock = el("span", { class: "countdown num", role: "timer" });
  const minutes = el("input", { type: "number", min: "0.5", max: "240", step: "0.5", value: "10", class: "minutes", "aria-label": "设定分钟数", dataset: { focus: "minutes" } });
  // The primary button and 回退 are made once and only updated, so the keyboard
  // focus stays on them from one step to the next.
  const primary = el("button", { type: "button", class: "btn btn-primary btn-next" });
  const back = el("button", { type: "button", class: "btn btn-secondary", title: "退回上一环节", dataset: { focus: "back" } }, "回退");
  const timerBox = el("div", { class: "timer-box" });
  fill(root, heading, head, el("div", { class: "actions" }, primary, back), timerBox);
  let active = null;
  let step = null;
  let lastLabel = null;
  let holdUntil = 0;
  let holdTimer = null;
  let busy = false;

  // The button changes meaning as soon as the phase moves: it ignores clicks for a
  // moment so the second half of a double click cannot skip a phase. That pause is
  // aria-disabled, not disabled: a disabled button would drop the focus and be
  // skipped by Tab.
  function syncPrimary() {
    const waiting = busy || Date.now() < holdUntil;
    primary.disabled = !!(step && step.disabled);
    if (waiting && !primary.disabled) primary.setAttribute("aria-disabled", "true");
    else primary.removeAttribute("aria-disabled");
    primary.classList.toggle("is-waiting", waiting && !primary.disabled);
  }

  primary.addEventListener("click", async () => {
    const current = step;
    if (!current || current.disabled || busy || Date.now() < holdUntil) return;
    if (current.confirm) {
      const [title, body] = current.confirm();
      if (!(await confirmDialog(title, body, title))) return;
      // The state moved on while the dialog was open: do not act on the old view.
      if (!step || step.label !== current.label) return toast("当前环节已变化，请重新操作", "info", 3000);
    }
    busy = true;
    syncPrimary();
    try {
      await current.run();
    } catch (err) {
      toast((err && err.message) || "操作失败");
    } finally {
      busy = false;
      syncPrimary();
    }
  });
  back.addEventListener("click", () => {
    if (active) runKeepingFocus(back, () => conn.send("item.back", { item_id: active.id }));
  });

  function render() {
    const state = conn.state;
    if (!state) return;
    const focusInside = root.contains(document.activeElement) && document.activeElement !== root;
    const keyed = focusKey(root);
    active = state.items.find((i) => ACTIVE_PHASES.has(i.phase)) || null;
    step = nextStep(conn, state);
    if (lastLabel !== null && step.label !== lastLabel) {
      holdUntil = Date.now() + 700;
      clearTimeout(holdTimer);
      holdTimer = setTimeout(syncPrimary, 720);
    }
    lastLabel = step.label;
    primary.textContent = step.label;
    syncPrimary();
    back.disabled = !(active && active.phase !== "report");

    const m = state.meeting;
    heading.textContent = `当前环节（会议${m.status_label}）`;
    fill(head, active
      ? [el("p", { class: "presenter-name", text: active.presenter.name }),
        el("p", { class: "presenter-post", text: [active.presenter.post, active.presenter.unit].filter(Boolean).join(" · ") }),
        el("div", { class: "stage-row" }, phaseBadge(active.phase, active.phase_label), clock)]
      : [el("p", { class: "presenter-name", text: m.status === "draft" ? "会议未开始" : m.status === "ended" ? "会议已结束" : "暂无进行中的述法人" })]);
    fill(timerBox, active ? timerControls(active) : null);
    // A rebuilt control takes the focus back; one that went away or became
    // disabled (回退 back at 述法, the meeting ended) hands it to the next step,
    // or to the card, never to the page.
    if (focusInside) {
      restoreFocus(root, keyed);
      const now = document.activeElement;
      if (!root.contains(now) || now.disabled) (primary.disabled ? root : primary).focus();
    }
    tick();
  }

  function timerControls(item) {
    const t = item.timer;
    const hasTimer = t && t.duration_s > 0;
    const btn = (label, action, fields = {}, disabled = false) => {
      const b = el("button", { type: "button", class: "btn btn-secondary btn-small", disabled: disabled || !hasTimer,
        dataset: { focus: `timer-${action === "resume" ? "pause" : action}` } }, label);
      b.addEventListener("click", () => runKeepingFocus(b, () => conn.send("item.timer", { item_id: item.id, action, ...fields })));
      return b;
    };
    const set = el("button", { type: "button", class: "btn btn-secondary btn-small", dataset: { focus: "timer-set" } }, "设定");
    set.addEventListener("click", () => {
      const seconds = Math.round(Number(minutes.value) * 60);
      if (!(seconds > 0)) return toast("请输入大于 0 的分钟数");
      runKeepingFocus(set, () => conn.send("item.timer", { item_id: item.id, action: "set", seconds }));
    });
    if (document.activeElement !== minutes) minutes.value = String(((conn.state.meeting.durations || {})[item.phase] || 600) / 60);
    return el("div", { class: "timer-controls", role: "group", "aria-label": "计时" },
      t.running ? btn("暂停", "pause") : btn("继续", "resume", {}, !(t.remaining_ms > 0)),
      btn("+1分钟", "extend", { seconds: 60 }),
      btn("结束计时", "skip", {}, !(t.running || t.remaining_ms > 0)),
      el("span", { class: "set-timer" }, minutes, "分钟", set));
  }

  function tick() {
    if (!active) return;
    const c = countdown(active.timer, conn.now());
    clock.textContent = c.text;
    clock.classList.toggle("overtime", c.overtime);
    clock.classList.toggle("paused", !c.running && c.leftMs > 0);
  }

  conn.on("state", render);
  everyTick(tick);
  render();
  return root;
}

function agendaCard(conn) {
  const body = el("tbody");
  const root = el("section", { class: "card" }, el("h2", { text: "议程" }),
    el("table", { class: "agenda-table" },
      el("thead", {}, el("tr", {}, ["序号", "述法人", "职务 · 单位", "环节", "结果", ""].map((h) => el("th", { scope: "col", text: h })))),
      body));

  function render() {
    const state = conn.state;
    if (!state) return;
    const live = state.meeting.status === "live";
    const busy = state.items.some((i) => ACTIVE_PHASES.has(i.phase));
    fill(body, state.items.map((item) => {
      const r = item.result;
      let action = null;
      if (live && !busy && item.phase === "pending") {
        action = el("button", { type: "button", class: "btn btn-small" }, "开始述法");
        action.addEventListener("click", () => run(action, () => conn.send("item.open", { item_id: item.id })));
      }
      return el("tr", { class: item.id === state.meeting.current_item_id ? "current" : null },
        el("td", { class: "num", text: String(item.position) }),
        el("td", {}, el("b", { text: item.presenter.name })),
        el("td", { class: "muted", text: [item.presenter.post, item.presenter.unit].filter(Boolean).join(" · ") }),
        el("td", {}, phaseBadge(item.phase, item.phase_label)),
        el("td", { class: "num" }, r ? [r.total_display ? `${r.total_display} 分` : "", r.grade ? ` ${r.grade}` : "",
          r.satisfaction_rate_display ? ` 满意率 ${r.satisfaction_rate_display}` : ""].join("").trim() || "—" : "—"),
        el("td", {}, action));
    }));
  }

  conn.on("state", render);
  render();
  return root;
}
