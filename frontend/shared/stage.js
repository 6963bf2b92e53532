// "Who is on stage now": presenter, phase and countdown, plus the agenda list.
// Shared by the phone, the panel tablet and the presenter view.

import { countdown, currentItem, el, everyTick, fill, phaseBadge } from "./client.js";

export function stageView(conn, { heading = "当前述法人" } = {}) {
  const root = el("section", { class: "card stage", "aria-live": "polite" });
  const clock = el("span", { class: "countdown num", role: "timer", "aria-label": "本环节剩余时间" });
  let timer = null;

  function render() {
    const state = conn.state;
    timer = null;
    if (!state) return fill(root, el("p", { class: "muted", text: "正在加载会议…" }));
    const m = state.meeting;
    const item = currentItem(state);
    if (m.status === "draft") {
      return fill(root, el("h2", { text: "会议尚未开始" }),
        el("p", { class: "muted", text: m.held_on ? `会议日期：${m.held_on}。请稍候，主持人开始后此页自动更新。` : "请稍候，主持人开始后此页自动更新。" }));
    }
    if (m.status === "ended") {
      return fill(root, el("h2", { text: "会议已结束" }), el("p", { class: "muted", text: "感谢您的参与。" }));
    }
    if (!item || item.phase === "done" || item.phase === "pending") {
      const done = item && item.phase === "done";
      const last = done ? `「${item.presenter.name}」的测评已结束。` : "";
      // Between presenters: no "正在述法" heading over a finished 测评.
      return fill(root, el("h2", { text: done ? "测评已结束" : "请稍候" }),
        el("p", { class: "muted", text: `${last}请稍候，下一位述法人即将开始。` }));
    }
    timer = item.timer;
    const p = item.presenter;
    fill(root,
      el("h2", { text: heading }),
      el("p", { class: "presenter-name", text: p.name }),
      el("p", { class: "presenter-post", text: [p.post, p.unit].filter(Boolean).join(" · ") }),
      el("div", { class: "stage-row" }, phaseBadge(item.phase, item.phase_label), clock));
    tick();
  }

  function tick() {
    if (!timer) return;
    const c = countdown(timer, conn.now());
    clock.textContent = c.text;
    clock.classList.toggle("overtime", c.overtime);
    clock.classList.toggle("paused", !c.running && c.leftMs !== null && c.leftMs > 0);
  }

  conn.on("state", render);
  render();
  everyTick(tick);
  return root;
}

// The agenda, one row per presenter; `extra(item)` may add a node per row.
export function agendaView(conn, { extra = null } = {}) {
  const list = el("ol", { class: "agenda" });
  const root = el("section", { class: "card agenda-card" }, el("h2", { text: "议程" }), list);

  function render() {
    const state = conn.state;
    if (!state) return;
    fill(list, state.items.map((item) => {
      const p = item.presenter;
      const total = item.result && item.result.total_display;
      return el("li", { class: item.id === state.meeting.current_item_id ? "current" : null },
        el("span", { class: "pos", text: String(item.position) }),
        el("span", { class: "who" }, el("b", { text: p.name }), el("small", { text: p.post })),
        total ? el("span", { class: "num", text: `${total} 分` }) : null,
        extra ? extra(item) : null,
        phaseBadge(item.phase, item.phase_label));
    }));
  }

  conn.on("state", render);
  conn.on("ballot", render);
  render();
  return root;
}
