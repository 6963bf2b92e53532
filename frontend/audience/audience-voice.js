// The citizen's phone, the public's voice: a like button (taps gathered and sent at
// most every ~250 ms), comments (弹幕), the approved questions of the presenter on
// stage with upvotes, and a box to ask a question. Every refusal is shown in the
// server's own words (rate_limited, banned_words, banned, closed …).

import { el, fill } from "../shared/client.js";
import {
  ASKING_PHASES, formatCount, icon, questionEntry, questionsOf, stageItem, statusLine, storedSet, upvotesOf,
} from "../shared/voice.js";

const LIKE_EVERY_MS = 260;   // the server takes 40 like messages per 10 s
const LIKE_MAX_BATCH = 10;
const LIKE_MAX_UNSENT = 60;  // taps kept while offline or throttled
const LIST_LIMIT = 40;

// Mounts the cards before the agenda (or at the end of `app`).
export function audienceVoice(conn, app) {
  const cards = [likeAndCommentCard(conn), questionsCard(conn)];
  const agenda = app.querySelector(".agenda-card");
  if (agenda) agenda.before(...cards);
  else app.append(...cards);
  return cards;
}

// ---- likes and comments ------------------------------------------------------------

function likeAndCommentCard(conn) {
  const total = el("span", { class: "voice-like-total num", text: "0" });
  const likeBtn = el("button", { type: "button", class: "btn voice-like-btn", "aria-label": "点赞" },
    icon("heart", 28), el("span", { text: "点赞" }));
  const likeStatus = statusLine("voice-like-status");
  let unsent = 0, inflight = 0, acked = 0, lastSent = 0, timer = null;

  const showTotal = () => {
    total.textContent = formatCount((conn.likes || 0) + unsent + inflight + acked);
  };
  const flashStatus = (text, kind) => likeStatus.set(text, kind, 5000);
  const schedule = () => {
    if (timer || !unsent) return;
    timer = setTimeout(flush, Math.max(0, lastSent + LIKE_EVERY_MS - Date.now()));
  };
  function flush() {
    timer = null;
    if (!unsent || !conn.online) return;
    const count = Math.min(LIKE_MAX_BATCH, unsent);
    unsent -= count;
    inflight += count;
    lastSent = Date.now();
    conn.send("like", { count }).then(() => {
      inflight -= count;
      acked += count;  // until the next `likes` total, which includes it
      showTotal();
    }, (err) => {
      inflight -= count;
      showTotal();
      if (err.code === "rate_limited") flashStatus(err.message, "error");
      else if (err.code !== "offline" && err.code !== "timeout") flashStatus(err.message || "点赞失败", "error");
    });
    schedule();
  }

  likeBtn.addEventListener("click", () => {
    unsent = Math.min(LIKE_MAX_UNSENT, unsent + 1);
    showTotal();
    likeBtn.classList.remove("is-pop");
    void likeBtn.offsetWidth;  // restart the pop animation
    likeBtn.classList.add("is-pop");
    schedule();
  });
  conn.on("likes", () => {
    acked = 0;
    showTotal();
  });
  conn.on("status", (up) => { if (up) schedule(); });

  // comments
  const input = el("input", { type: "text", maxlength: "100", class: "voice-input", "aria-label": "评论内容",
    placeholder: "说点什么…（100 字以内）", autocomplete: "off", enterkeyhint: "send" });
  const send = el("button", { type: "submit", class: "btn btn-primary voice-send" }, "发送");
  const hint = el("p", { class: "voice-hint muted" });
  const status = statusLine();
  const form = el("form", { class: "voice-comment-form" }, el("div", { class: "voice-inline" }, input, send));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return status.set("请先输入评论内容", "error");
    send.disabled = true;
    status.set("正在发送…", "wait");
    try {
      const ack = await conn.send("comment.send", { text });
      input.value = "";
      status.set(ack.status === "held" ? "已提交，待审核后显示" : "已发送", "ok", 8000);
    } catch (err) {
      status.set((err && err.message) || "发送失败，请重试", "error");
    } finally {
      send.disabled = false;
    }
  });

  const commentBox = el("div", { class: "voice-comment" }, el("h3", { class: "voice-sub", text: "发表评论" }), form, hint, status);
  const root = el("section", { class: "card voice-card voice-live", "aria-label": "点赞与评论" },
    el("div", { class: "voice-like-row" }, likeBtn,
      el("p", { class: "voice-like-count" }, el("span", { class: "muted", text: "共 " }), total, el("span", { class: "muted", text: " 个赞" }))),
    likeStatus, commentBox);

  function render() {
    const state = conn.state;
    showTotal();
    if (!state) return;
    const ended = state.meeting.status === "ended";
    commentBox.hidden = ended;
    const inter = state.interaction || {};
    hint.textContent = inter.comment_mode === "show" ? "评论通过文明用语检查后直接显示。" : "评论经主持人审核后显示。";
  }
  conn.on("state", render);
  render();
  return root;
}

// ---- questions ------------------------------------------------------------------------

function questionsCard(conn) {
  const upvoted = storedSet(`live:${conn.code}:upvoted`);
  const sending = new Set();
  const heading = el("h2", { text: "质询问题" });
  const lead = el("p", { class: "muted voice-lead" });
  const list = el("ol", { class: "voice-q-list" });
  const more = el("button", { type: "button", class: "btn btn-small btn-secondary", hidden: true }, "显示全部问题");
  const listStatus = statusLine();
  let showAll = false;
  more.addEventListener("click", () => {
    showAll = true;
    render();
  });

  const text = el("textarea", { class: "voice-textarea", rows: "3", maxlength: "500", "aria-label": "问题内容",
    placeholder: "写下您想问述法人的问题（500 字以内）" });
  const counter = el("span", { class: "voice-counter muted num", text: "0/500" });
  const submit = el("button", { type: "submit", class: "btn btn-primary" }, "提交问题");
  const askStatus = statusLine();
  const askForm = el("form", { class: "voice-ask" },
    el("h3", { class: "voice-sub", text: "我要提问" }), text,
    el("div", { class: "voice-ask-actions" }, counter, submit), askStatus,
    el("p", { class: "voice-hint muted", text: "群众提问经主持人审核后公开，每 5 分钟最多 3 条。" }));
  text.addEventListener("input", () => { counter.textContent = `${text.value.length}/500`; });
  askForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const item = stageItem(conn.state);
    const content = text.value.trim();
    if (!item) return askStatus.set("当前没有正在评议的述法人", "error");
    if (!content) return askStatus.set("请先写下问题", "error");
    submit.disabled = true;
    askStatus.set("正在提交…", "wait");
    try {
      const ack = await conn.send("question.ask", { item_id: item.id, content });
      text.value = "";
      counter.textContent = "0/500";
      askStatus.set(ack.status === "pending" ? "已提交，待审核" : "已提交", "ok", 15000);
    } catch (err) {
      askStatus.set((err && err.message) || "提交失败，请重试", "error");
    } finally {
      submit.disabled = false;
    }
  });

  const root = el("section", { class: "card voice-card voice-questions", "aria-label": "质询问题" },
    heading, lead, list, more, listStatus, askForm);

  function upvoteButton(q) {
    const done = upvoted.has(q.id);
    const n = upvotesOf(conn, q);
    const btn = el("button", {
      type: "button", class: `btn btn-small voice-upvote${done ? " is-done" : ""}`,
      "aria-pressed": done ? "true" : "false", disabled: done || sending.has(q.id),
      "aria-label": done ? `已点赞，共 ${n} 赞` : `为这个问题点赞，当前 ${n} 赞`,
    }, icon("up", 16), el("span", { class: "num", text: formatCount(n) }));
    btn.addEventListener("click", async () => {
      if (upvoted.has(q.id) || sending.has(q.id)) return;
      sending.add(q.id);
      btn.disabled = true;
      try {
        const ack = await conn.send("question.upvote", { question_id: q.id });
        if (ack.status === "stored" || ack.status === "duplicate") upvoted.add(q.id);
        if (typeof ack.upvotes === "number") conn.upvotes[String(q.id)] = Math.max(upvotesOf(conn, q), ack.upvotes);
        listStatus.set("");
      } catch (err) {
        listStatus.set((err && err.message) || "点赞失败", "error");
      } finally {
        sending.delete(q.id);
        render();
      }
    });
    return btn;
  }

  function render() {
    const state = conn.state;
    const item = stageItem(state);
    const open = !!(state && state.meeting.status === "live" && item && ASKING_PHASES.has(item.phase));
    root.hidden = !open;
    if (!open) return;
    heading.textContent = `质询问题 · ${item.presenter.name}`;
    const rows = questionsOf(state, item.id);
    lead.textContent = rows.some((q) => q.upvotable)
      ? "为您关心的问题点赞，点赞多的问题优先质询。" : "公开的问题将显示在这里。";
    const shown = showAll ? rows : rows.slice(0, LIST_LIMIT);
    fill(list, shown.length ? shown.map((q) => questionEntry(state, q, { extra: q.upvotable ? upvoteButton(q) : null })) : el("li", { class: "voice-empty muted", text: "暂无公开的问题" }));
    more.hidden = shown.length >= rows.length;
    more.textContent = `显示全部 ${rows.length} 个问题`;
  }

  conn.on("state", render);
  conn.on("upvotes", render);
  render();
  return root;
}
