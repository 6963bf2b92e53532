// The console's cards for how results show (docs/scoring.md, 结果显示): the meeting's
// visibility setting, the reveal of a withheld result, and who has voted (never how).

import { el, fill, run, toast } from "../shared/client.js";

const MODES = [
  ["live", "实时显示票数分布", "测评中大屏、手机实时显示各选项票数（按批更新）。"],
  ["counts", "投票中仅显示票数", "测评中只显示已投票数，不显示分布；结束后公布结果。"],
  ["hidden", "结果待主持人揭晓", "测评中大屏、手机不显示任何票数；结束后由主持人点「揭晓」公布。主持人在测评中也只看到票数。"],
];

function voteBegan(state) {
  return state.items.some((i) => i.phase === "voting" || i.phase === "done");
}

export function visibilityCard(conn) {
  const select = el("select", { "aria-label": "结果显示方式" },
    MODES.map(([value, label]) => el("option", { value, text: label })));
  const k = el("input", { type: "number", min: "1", max: "50", step: "1", inputmode: "numeric" });
  const help = el("p", { class: "muted small" });
  const save = el("button", { type: "submit", class: "btn btn-secondary" }, "保存");
  const lock = el("p", { class: "muted small" });
  const reveals = el("div", { class: "reveal-list" });
  const form = el("form", { class: "card visibility-card", "aria-label": "结果显示" },
    el("h2", { text: "结果显示" }),
    el("label", { class: "field" }, "显示方式", select), help,
    el("label", { class: "field" }, "小组保护人数（少于此人数的投票组不显示分布）", k),
    save, lock, reveals);
  let dirty = false;
  select.addEventListener("change", () => { dirty = true; explain(); });
  k.addEventListener("input", () => { dirty = true; });

  function explain() {
    const mode = MODES.find(([value]) => value === select.value);
    help.textContent = mode ? mode[2] : "";
  }

  function render() {
    const state = conn.state;
    if (!state || !conn.online) {
      // Nothing to save against until the console is connected: a click now could only fail.
      select.disabled = k.disabled = save.disabled = true;
      lock.textContent = "正在连接服务器…";
      return;
    }
    const v = state.meeting.visibility || { mode: "live", small_group_k: 3 };
    const locked = voteBegan(state);
    if (!dirty || locked) {
      select.value = v.mode;
      k.value = String(v.small_group_k);
      dirty = false;
    }
    select.disabled = k.disabled = save.disabled = locked;
    lock.textContent = locked ? "已有述法人开始测评，显示方式不能再修改。" : "须在第一位述法人开始测评前设定。";
    explain();
    const withheld = state.items.filter((i) => i.phase === "done" && i.result_hidden);
    fill(reveals, withheld.map((i) => {
      const button = el("button", { type: "button", class: "btn btn-primary" }, `揭晓「${i.presenter.name}」的测评结果`);
      button.addEventListener("click", () => run(button, async () => {
        await conn.send("item.reveal", { item_id: i.id });
        toast(`「${i.presenter.name}」的结果已在大屏公布`, "ok", 3000);
      }));
      return el("p", {}, button);
    }));
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run(save, async () => {
      await conn.send("meeting.visibility", { mode: select.value, small_group_k: Number(k.value) });
      dirty = false;
      toast("结果显示方式已保存", "ok", 6000);
    });
  });
  conn.on("state", render);
  conn.on("status", render);
  render();
  return form;
}

// Who has voted on the item in 测评 (the host-only `participation` message): chase a
// missing panel member before closing. Never a choice: the server sends none.
export function participationCard(conn) {
  const body = el("div");
  const root = el("section", { class: "card participation-card", "aria-label": "投票情况" },
    el("h2", { text: "投票情况（只显示是否已投，不显示投了什么）" }), body);
  let last = null;

  function render() {
    const state = conn.state;
    const voting = state && state.items.find((i) => i.phase === "voting");
    root.hidden = !voting;
    if (!voting) return;
    if (!last || last.item_id !== voting.id) return fill(body, el("p", { class: "muted", text: "等待第一张选票…" }));
    const missing = last.members.filter((m) => !m.voted);
    fill(body,
      el("p", { text: `评议团已投 ${last.voted} / ${last.panel_total}` + (missing.length ? `，未投：${missing.map((m) => m.name).join("、")}` : "，已全部投票") }),
      el("ul", { class: "member-list" }, last.members.map((m) =>
        el("li", { class: m.voted ? "on" : "off" }, el("span", { class: "dot", "aria-hidden": "true" }),
          `${m.name}（${m.category}）`, el("span", { class: "sr-only", text: m.voted ? " 已投" : " 未投" })))),
      el("p", { class: "muted small", text: Object.values(last.groups).map((g) => `${g.label} ${g.count} 票`).join("　") }));
  }

  conn.on("participation", (msg) => { last = msg; render(); });
  conn.on("state", render);
  return root;
}
