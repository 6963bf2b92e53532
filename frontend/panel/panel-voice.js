// A 评议团 member's tablet: ask the presenter on stage a question (public at once,
// under the member's name) and see the questions already put to them.

import { el, fill } from "../shared/client.js";
import { ASKING_PHASES, questionEntry, questionsOf, stageItem, statusLine, upvotesOf } from "../shared/voice.js";

export function panelVoice(conn, container) {
  const heading = el("h2", { text: "质询提问" });
  const text = el("textarea", { class: "voice-textarea", rows: "3", maxlength: "500", "aria-label": "问题内容",
    placeholder: "向述法人提出的问题（500 字以内），提交后将列入质询问题" });
  const counter = el("span", { class: "voice-counter muted num", text: "0/500" });
  const submit = el("button", { type: "submit", class: "btn btn-primary" }, "提交问题");
  const status = statusLine();
  const form = el("form", { class: "voice-ask" }, text, el("div", { class: "voice-ask-actions" }, counter, submit), status);
  const listTitle = el("h3", { class: "voice-sub" });
  const list = el("ol", { class: "voice-q-list" });
  const closed = el("p", { class: "muted" });
  const root = el("section", { class: "card voice-card voice-panel", "aria-label": "质询提问" },
    heading, closed, form, listTitle, list);

  text.addEventListener("input", () => { counter.textContent = `${text.value.length}/500`; });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const item = stageItem(conn.state);
    const content = text.value.trim();
    if (!item || !ASKING_PHASES.has(item.phase)) return status.set("当前没有正在评议的述法人", "error");
    if (!content) return status.set("请先写下问题", "error");
    submit.disabled = true;
    status.set("正在提交…", "wait");
    try {
      const ack = await conn.send("question.ask", { item_id: item.id, content });
      text.value = "";
      counter.textContent = "0/500";
      status.set(ack.status === "pending" ? "已提交，待审核" : "已提交，已列入质询问题", "ok", 15000);
    } catch (err) {
      status.set((err && err.message) || "提交失败，请重试", "error");
    } finally {
      submit.disabled = false;
    }
  });

  function render() {
    const state = conn.state;
    const item = stageItem(state);
    const open = !!(state && state.meeting.status === "live" && item && ASKING_PHASES.has(item.phase));
    form.hidden = !open;
    closed.hidden = open;
    closed.textContent = state && state.meeting.status === "ended" ? "会议已结束。" : "述法人上台后，可在此提出质询问题。";
    heading.textContent = open ? `质询提问 · ${item.presenter.name}` : "质询提问";
    const rows = item ? questionsOf(state, item.id) : [];
    listTitle.hidden = !item || !rows.length;
    listTitle.textContent = `已提出的问题（${rows.length}）`;
    fill(list, rows.map((q) => questionEntry(state, q, { upvotes: upvotesOf(conn, q) })));
  }
  conn.on("state", render);
  conn.on("upvotes", render);
  render();
  container.append(root);
  return root;
}
