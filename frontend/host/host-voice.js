// The host console's share of the public's voice: the question queue of a presenter
// (reorder, pick 正在质询 with an answer countdown, mark answered), the moderation
// queue (driven by the host-only `moderation` message), comment mode and the big
// screen's overlay, the banned-word editor and the import of questions collected
// beforehand. Mounted next to the meeting flow by one call from host.js.

import { confirmDialog, countdown, el, everyTick, fill, run, toast } from "../shared/client.js";
import {
  apiJSON, clock, formDialog, formatCount, questionsOf, section, stageItem, statusLine, upvotesOf, whoAsked,
} from "../shared/voice.js";
import { checkupCard, recordCard, rectificationCard } from "./host-problems.js";
import { lookbackCard } from "../shared/lookback.js";

export function hostVoice(conn, code, api) {
  const main = document.querySelector(".host-main") || document.getElementById("app");
  const side = document.querySelector(".host-side") || main;
  const questions = questionsCard(conn, api);
  const record = recordCard(conn, api);
  const control = main.querySelector(".control");
  const lookback = lookbackCard(conn, api);
  if (control) control.after(questions, lookback, record);
  else main.prepend(questions, lookback, record);
  main.append(importCard(conn, api));
  // 整改 is work after the meeting: full width below both columns.
  const rect = rectificationCard(conn, api);
  rect.classList.add("voice-wide");
  (main.parentElement && main.parentElement !== main ? main.parentElement : main).append(rect);
  side.prepend(moderationCard(conn, api), commentsCard(conn));
  side.append(wordsCard(conn), checkupCard(conn, api));
}

// Run a socket command from a button, showing a refusal as a toast.
function command(conn, button, type, fields = {}, okText = null) {
  return run(button, async () => {
    const ack = await conn.send(type, fields);
    if (okText) toast(okText, "ok", 2000);
    return ack;
  });
}

function btn(label, onclick, { kind = "secondary", focus = null, disabled = false, title = null, aria = null } = {}) {
  return el("button", {
    type: "button", class: `btn btn-small btn-${kind}`, onclick, disabled, title,
    "aria-label": aria, dataset: focus ? { focus } : null,
  }, label);
}

// Ban the phone behind a comment or a question, with an optional reason.
async function ban(conn, button, target, what, extra = "") {
  const values = await formDialog("禁言设备", [
    { name: "reason", label: "原因（可选）", value: "", maxlength: 200, hint: "如：刷屏、人身攻击" },
  ], "禁言", `禁言后，发出这条${what}的手机不能再评论和提问，它待审核的评论和提问也将移出队列。${extra}`);
  if (!values) return;
  command(conn, button, "device.ban", { ...target, reason: values.reason.trim() }, "已禁言该设备");
}

// Keep the keyboard focus on "the same" button when a list is rebuilt.
function keepFocus(root, rebuild) {
  const active = document.activeElement;
  const key = active && root.contains(active) && active.dataset ? active.dataset.focus : null;
  rebuild();
  if (!key || root.contains(document.activeElement)) return;
  const target = root.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (target && !target.disabled) target.focus();
}

// ---- 质询问题 of one presenter --------------------------------------------------------

function questionsCard(conn, api) {
  const picker = el("select", { class: "voice-select", id: "vq-item", "aria-label": "选择述法人" });
  const seconds = el("input", { type: "number", min: "0", max: "3600", step: "10", class: "voice-num", id: "vq-seconds", value: "180" });
  const byVotes = btn("按点赞排序", null);
  const pendingNote = el("p", { class: "vq-pending" });
  const current = el("div", { class: "vq-current", hidden: true });
  const list = el("ol", { class: "vq-list" });
  const rejected = el("ol", { class: "vq-list vq-rejected" });
  const rejectedBox = el("details", { class: "vq-rejected-box" }, el("summary", { text: "已撤下或驳回的问题" }), rejected);
  const root = section("质询问题", { open: true, className: "voice-host-q" },
    el("div", { class: "vq-toolbar" },
      el("label", { class: "voice-field-label", for: "vq-item" }, "述法人"), picker,
      el("label", { class: "voice-field-label", for: "vq-seconds" }, "答复时限（秒）"), seconds, byVotes),
    pendingNote, current, list, rejectedBox);
  let itemId = null;
  let follow = true;
  let secondsTouched = false;
  seconds.addEventListener("input", () => { secondsTouched = true; });

  picker.addEventListener("change", () => {
    itemId = Number(picker.value);
    const stage = stageItem(conn.state);
    follow = !!stage && stage.id === itemId;
    render();
    if (rejectedBox.open) loadRejected();
  });
  byVotes.addEventListener("click", () => itemId != null &&
    command(conn, byVotes, "question.reorder", { item_id: itemId, by: "upvotes" }, "已按点赞数排序（已答复的排在最后）"));
  rejectedBox.addEventListener("toggle", () => { if (rejectedBox.open) loadRejected(); });

  async function loadRejected() {
    if (itemId == null) return;
    try {
      const data = await apiJSON(`${api}/questions?item_id=${itemId}`);
      const rows = (data.questions || []).filter((q) => q.status === "rejected");
      fill(rejected, rows.length ? rows.map((q) => el("li", { class: "vq-row" },
        el("div", { class: "vq-body" }, el("p", { class: "voice-q-text", text: q.content }),
          el("p", { class: "voice-q-meta" }, el("span", { text: whoAsked(q) }))),
        el("div", { class: "voice-row-actions" }, btn("恢复公开", async (ev) => {
          if (await command(conn, ev.currentTarget, "question.approve", { question_id: q.id })) loadRejected();
        })))) : el("li", { class: "voice-empty muted", text: "没有被撤下或驳回的问题" }));
    } catch (err) {
      fill(rejected, el("li", { class: "voice-status", dataset: { kind: "error" }, text: err.message }));
    }
  }

  function moveIds(rows, idx, delta) {
    const ids = rows.map((q) => q.id);
    const [id] = ids.splice(idx, 1);
    ids.splice(idx + delta, 0, id);
    return ids;
  }

  function render() {
    const state = conn.state;
    if (!state) return;
    const stage = stageItem(state);
    if (follow && stage) itemId = stage.id;
    if (itemId == null && state.items.length) itemId = state.items[0].id;
    fill(picker, state.items.map((i) => el("option", { value: String(i.id),
      text: `${i.position}. ${i.presenter.name}（${i.phase_label}）${stage && i.id === stage.id ? " · 当前" : ""}` })));
    picker.value = String(itemId);
    const item = state.items.find((i) => i.id === itemId);
    const inter = state.interaction || {};
    if (!secondsTouched && document.activeElement !== seconds && inter.answer_seconds != null) seconds.value = String(inter.answer_seconds);
    const rows = questionsOf(state, itemId);
    const canPick = !!(item && state.meeting.status === "live" && item.phase === "inquiry");
    const pending = ((conn.moderation && conn.moderation.questions) || []).filter((q) => q.item_id === itemId).length;
    pendingNote.textContent = pending ? `另有 ${pending} 条群众提问待审核（见右侧「审核队列」）` : "";
    pendingNote.hidden = !pending;
    const answered = rows.filter((q) => q.answered).length;
    root.hint.textContent = item ? `${item.presenter.name} · ${rows.length} 个问题，已答复 ${answered}` : "";
    byVotes.disabled = rows.length < 2;

    keepFocus(root, () => {
      renderCurrent(state);
      fill(list, rows.length ? rows.map((q, idx) => {
        const isCurrent = inter.current_question_id === q.id;
        const pick = btn(isCurrent ? "正在质询" : "开始质询", (ev) => {
          const s = Math.max(0, Math.min(3600, Math.round(Number(seconds.value) || 0)));
          command(conn, ev.currentTarget, "question.pick", { question_id: q.id, seconds: s });
        }, { kind: "primary", focus: `${q.id}-pick`, disabled: !canPick || isCurrent,
          title: canPick ? null : "只能在「质询」环节选择正在质询的问题" });
        const answer = btn(q.answered ? "改为未答复" : "已答复", (ev) =>
          command(conn, ev.currentTarget, "question.answered", { question_id: q.id, answered: !q.answered }),
        { focus: `${q.id}-answer` });
        const up = btn("↑", (ev) => command(conn, ev.currentTarget, "question.reorder", { item_id: itemId, by: "manual", ids: moveIds(rows, idx, -1) }),
          { focus: `${q.id}-up`, disabled: idx === 0, aria: "上移" });
        const down = btn("↓", (ev) => command(conn, ev.currentTarget, "question.reorder", { item_id: itemId, by: "manual", ids: moveIds(rows, idx, 1) }),
          { focus: `${q.id}-down`, disabled: idx === rows.length - 1, aria: "下移" });
        const remove = btn("撤下", async (ev) => {
          const b = ev.currentTarget;
          if (!(await confirmDialog("撤下问题", `撤下后「${q.content.slice(0, 40)}」不再公开显示，可在「已撤下或驳回的问题」中恢复。确定撤下吗？`, "撤下"))) return;
          command(conn, b, "question.reject", { question_id: q.id });
        }, { focus: `${q.id}-reject` });
        return el("li", { class: `vq-row${q.answered ? " is-answered" : ""}${isCurrent ? " is-current" : ""}` },
          el("span", { class: "vq-pos num", text: String(idx + 1) }),
          el("div", { class: "vq-body" },
            el("p", { class: "voice-q-text", text: q.content }),
            el("p", { class: "voice-q-meta" },
              el("span", { class: "voice-q-who", text: whoAsked(q) }),
              q.upvotable ? el("span", { class: "voice-q-votes num", text: `赞 ${formatCount(upvotesOf(conn, q))}` }) : null,
              isCurrent ? el("span", { class: "voice-badge voice-badge-current", text: "正在质询" }) : null,
              q.answered ? el("span", { class: "voice-badge voice-badge-done", text: "已答复" }) : null)),
          el("div", { class: "voice-row-actions" }, up, down, pick, answer, remove,
            q.origin === "public" ? btn("禁言", (ev) => ban(conn, ev.currentTarget, { question_id: q.id }, "提问", "已公开的问题请用「撤下」。"),
              { focus: `${q.id}-ban` }) : null));
      }) : el("li", { class: "voice-empty muted", text: "该述法人暂无已公开的问题（评议团提问、已导入的问题和审核通过的群众提问会列在这里）" }));
    });
  }

  const clockNode = el("span", { class: "vq-clock num", role: "timer" });
  function renderCurrent(state) {
    const inter = state.interaction || {};
    const picked = inter.current_question_id != null ? (state.questions || []).find((x) => x.id === inter.current_question_id) : null;
    // As on the big screen: only while its presenter is in 质询 of a live meeting. A question
    // left picked when the host moved on is not "正在质询" through later presenters.
    const stage = stageItem(state);
    const q = picked && state.meeting.status === "live" && stage && stage.id === picked.item_id && stage.phase === "inquiry"
      ? picked : null;
    current.hidden = !q;
    if (!q) return;
    const t = inter.answer_timer || {};
    const hasTimer = t.duration_s > 0;
    const set = el("input", { type: "number", min: "10", max: "3600", step: "10", class: "voice-num", value: String(t.duration_s || inter.answer_seconds || 180), "aria-label": "重新计时秒数", dataset: { focus: "vq-set-input" } });
    fill(current,
      el("div", { class: "vq-current-head" },
        el("span", { class: "voice-badge voice-badge-current", text: "正在质询" }),
        el("span", { class: "voice-q-who", text: whoAsked(q) }), clockNode),
      el("p", { class: "vq-current-text", text: q.content }),
      el("div", { class: "vq-current-actions", role: "group", "aria-label": "答复计时" },
        t.running
          ? btn("暂停计时", (ev) => command(conn, ev.currentTarget, "question.timer", { action: "pause" }), { focus: "vq-pause", disabled: !hasTimer })
          : btn("继续计时", (ev) => command(conn, ev.currentTarget, "question.timer", { action: "resume" }), { focus: "vq-pause", disabled: !(t.remaining_ms > 0) }),
        btn("+30秒", (ev) => command(conn, ev.currentTarget, "question.timer", { action: "extend", seconds: 30 }), { focus: "vq-extend", disabled: !hasTimer }),
        btn("停止计时", (ev) => command(conn, ev.currentTarget, "question.timer", { action: "skip" }), { focus: "vq-skip", disabled: !(t.running || t.remaining_ms > 0) }),
        el("span", { class: "vq-set" }, set, "秒",
          btn("重新计时", (ev) => {
            const s = Math.round(Number(set.value));
            if (!(s > 0)) return toast("请输入大于 0 的秒数");
            command(conn, ev.currentTarget, "question.timer", { action: "set", seconds: Math.min(3600, s) });
          }, { focus: "vq-set" })),
        btn("答复完毕", (ev) => command(conn, ev.currentTarget, "question.answered", { question_id: q.id }), { kind: "primary", focus: "vq-done" }),
        btn("取消质询", (ev) => command(conn, ev.currentTarget, "question.unpick"), { focus: "vq-unpick" })));
    tick();
  }

  function tick() {
    const inter = conn.state && conn.state.interaction;
    if (current.hidden || !inter) return;
    const t = inter.answer_timer;
    if (!t || !t.duration_s) {
      clockNode.textContent = "不计时";
      clockNode.classList.remove("overtime", "paused");
      return;
    }
    const c = countdown(t, conn.now());
    clockNode.textContent = c.text;
    clockNode.classList.toggle("overtime", c.overtime);
    clockNode.classList.toggle("paused", !c.running && c.leftMs > 0);
  }

  conn.on("state", render);
  conn.on("upvotes", render);
  conn.on("moderation", render);
  everyTick(tick);
  render();
  return root;
}

// ---- 审核队列 -----------------------------------------------------------------------------

function moderationCard(conn, api) {
  const qList = el("ol", { class: "mod-list" });
  const cList = el("ol", { class: "mod-list" });
  const bList = el("ul", { class: "mod-list mod-bans" });
  const qTitle = el("h3", { class: "voice-sub" });
  const cTitle = el("h3", { class: "voice-sub" });
  const bansBox = el("details", { class: "mod-bans-box" }, el("summary", { text: "已禁言的设备" }), bList);
  const emptyNote = el("p", { class: "muted mod-empty", text: "暂无待审核的提问和评论。" });
  const root = el("section", { class: "card voice-mod", "aria-label": "审核队列" },
    el("h2", {}, "审核队列", el("span", { class: "mod-total num" })), emptyNote, qTitle, qList, cTitle, cList, bansBox);
  const total = root.querySelector(".mod-total");
  let gotLive = false;

  apiJSON(`${api}/moderation`).then((m) => {
    if (!gotLive) {
      conn.moderation = m;
      render();
    }
  }, (err) => toast(`审核队列加载失败：${err.message}`));
  conn.on("moderation", () => {
    gotLive = true;
    render();
  });
  conn.on("state", (state, msg) => { if (msg && msg.type === "snapshot") render(); });

  function itemName(itemId) {
    const item = conn.state && conn.state.items.find((i) => i.id === itemId);
    return item ? item.presenter.name : "";
  }

  function render() {
    const m = conn.moderation;
    if (!m) return;
    const waiting = (m.questions_pending || 0) + (m.comments_held || 0);
    total.textContent = waiting ? `待审 ${waiting}` : "无待审";
    total.classList.toggle("is-busy", waiting > 0);
    qTitle.textContent = `群众提问（${m.questions_pending || 0}）`;
    cTitle.textContent = `待审评论（${m.comments_held || 0}）`;
    // An empty queue takes one line: the headings say "0" and the lists say nothing new.
    root.classList.toggle("is-empty", !waiting);
    emptyNote.hidden = !!waiting;
    keepFocus(root, () => {
      fill(qList, (m.questions || []).length ? m.questions.map((q) => el("li", { class: "mod-row" },
        el("p", { class: "voice-q-text", text: q.content }),
        el("p", { class: "voice-q-meta" },
          el("span", { text: `向 ${itemName(q.item_id)} 提问` }),
          q.device_tag ? el("span", { class: "mod-tag", text: `设备 ${q.device_tag}` }) : el("span", { text: `来源 ${whoAsked(q)}` }),
          el("span", { class: "num", text: clock(q.created_at_ms) })),
        el("div", { class: "voice-row-actions" },
          btn("通过", (ev) => command(conn, ev.currentTarget, "question.approve", { question_id: q.id }), { kind: "primary", focus: `mq-${q.id}-ok` }),
          btn("驳回", (ev) => command(conn, ev.currentTarget, "question.reject", { question_id: q.id }), { focus: `mq-${q.id}-no` }),
          q.device_tag ? btn("禁言", (ev) => ban(conn, ev.currentTarget, { question_id: q.id }, "提问"), { focus: `mq-${q.id}-ban` }) : null)))
        : el("li", { class: "voice-empty muted", text: "没有待审核的提问" }));
      if ((m.questions_pending || 0) > (m.questions || []).length) {
        qList.append(el("li", { class: "muted", text: `另有 ${m.questions_pending - m.questions.length} 条，处理完上面的后显示` }));
      }
      fill(cList, (m.comments || []).length ? m.comments.map((c) => el("li", { class: "mod-row" },
        el("p", { class: "mod-comment", text: c.text }),
        el("p", { class: "voice-q-meta" },
          el("span", { class: "mod-tag", text: `设备 ${c.device_tag || "—"}` }),
          el("span", { class: "num", text: clock(c.at_ms) })),
        el("div", { class: "voice-row-actions" },
          btn("显示", (ev) => command(conn, ev.currentTarget, "comment.approve", { comment_id: c.id }), { kind: "primary", focus: `mc-${c.id}-ok` }),
          btn("隐藏", (ev) => command(conn, ev.currentTarget, "comment.hide", { comment_id: c.id }), { focus: `mc-${c.id}-no` }),
          btn("禁言", (ev) => ban(conn, ev.currentTarget, { comment_id: c.id }, "评论"), { focus: `mc-${c.id}-ban` }))))
        : el("li", { class: "voice-empty muted", text: "没有待审核的评论" }));
      if ((m.comments_held || 0) > (m.comments || []).length) {
        cList.append(el("li", { class: "muted", text: `另有 ${m.comments_held - m.comments.length} 条，处理完上面的后显示` }));
      }
      bansBox.firstChild.textContent = `已禁言的设备（${(m.bans || []).length}）`;
      fill(bList, (m.bans || []).length ? m.bans.map((b) => el("li", { class: "mod-ban" },
        el("span", { class: "mod-tag", text: `设备 ${b.device_tag}` }),
        el("span", { text: b.reason || "（未填原因）" }), el("span", { class: "num muted", text: clock(b.at_ms) }),
        btn("解除禁言", (ev) => command(conn, ev.currentTarget, "device.unban", { ban_id: b.id }), { focus: `mb-${b.id}` })))
        : el("li", { class: "voice-empty muted", text: "没有被禁言的设备" }));
    });
  }
  render();
  return root;
}

// ---- 弹幕与点赞 --------------------------------------------------------------------------

function commentsCard(conn) {
  const hold = el("input", { type: "radio", name: "vc-mode", value: "hold", id: "vc-hold" });
  const show = el("input", { type: "radio", name: "vc-mode", value: "show", id: "vc-show" });
  const overlay = el("input", { type: "checkbox", id: "vc-overlay" });
  const likes = el("span", { class: "num vc-likes", text: "0" });
  const list = el("ol", { class: "mod-list vc-recent" });
  const recentBox = el("details", { class: "vc-recent-box" }, el("summary", { text: "最近显示的评论" }), list);
  const root = el("section", { class: "card voice-comments", "aria-label": "弹幕与点赞" },
    el("h2", { text: "弹幕与点赞" }),
    el("fieldset", { class: "vc-mode" }, el("legend", { text: "群众评论" }),
      el("label", { class: "check", for: "vc-hold" }, hold, "先审后显"),
      el("label", { class: "check", for: "vc-show" }, show, "过滤后直接显示")),
    el("div", { class: "vc-row" }, el("label", { class: "check", for: "vc-overlay" }, overlay, "大屏显示弹幕"),
      el("span", { class: "vc-like-box" }, "点赞 ", likes)),
    recentBox);

  for (const radio of [hold, show]) {
    radio.addEventListener("change", async () => {
      if (!radio.checked) return;
      hold.disabled = show.disabled = true;
      try {
        await conn.send("comment.mode", { mode: radio.value });
      } catch (err) {
        toast(err.message || "操作失败");
      } finally {
        hold.disabled = show.disabled = false;
        render();
      }
    });
  }
  overlay.addEventListener("change", async () => {
    overlay.disabled = true;
    try {
      await conn.send("comment.overlay", { on: overlay.checked });
    } catch (err) {
      toast(err.message || "操作失败");
    } finally {
      overlay.disabled = false;
      render();
    }
  });
  conn.on("likes", () => { likes.textContent = formatCount(conn.likes); });
  recentBox.addEventListener("toggle", () => render());

  function render() {
    const state = conn.state;
    if (!state) return;
    const inter = state.interaction || {};
    hold.checked = inter.comment_mode !== "show";
    show.checked = inter.comment_mode === "show";
    overlay.checked = !!inter.overlay;
    likes.textContent = formatCount(conn.likes);
    const shown = (state.comments || []).filter((c) => c.status === "shown" && c.text).slice(-20).reverse();
    recentBox.firstChild.textContent = `最近显示的评论（${shown.length}）`;
    if (!recentBox.open) return;
    keepFocus(root, () => fill(list, shown.length ? shown.map((c) => el("li", { class: "mod-row" },
      el("p", { class: "mod-comment", text: c.text }),
      el("p", { class: "voice-q-meta" }, el("span", { class: "num", text: clock(c.at_ms) })),
      el("div", { class: "voice-row-actions" },
        btn("隐藏", (ev) => command(conn, ev.currentTarget, "comment.hide", { comment_id: c.id }), { focus: `vr-${c.id}-hide` }),
        btn("禁言", (ev) => ban(conn, ev.currentTarget, { comment_id: c.id }, "评论", "这条评论本身请用「隐藏」撤下。"),
          { focus: `vr-${c.id}-ban` }))))
      : el("li", { class: "voice-empty muted", text: "还没有显示的评论" })));
  }
  conn.on("state", render);
  render();
  return root;
}

// ---- 敏感词 ------------------------------------------------------------------------------

function wordsCard(conn) {
  const chips = el("ul", { class: "vw-chips" });
  const input = el("textarea", { class: "voice-textarea", rows: "2", id: "vw-input", placeholder: "每行一个，或用逗号、空格分隔；每个 2–50 字" });
  const add = el("button", { type: "submit", class: "btn btn-small btn-primary" }, "添加");
  const status = statusLine();
  const form = el("form", { class: "vw-form" },
    el("label", { class: "voice-field", for: "vw-input" }, el("span", { class: "voice-field-label", text: "添加敏感词" }), input),
    el("div", { class: "voice-actions" }, add, status));
  const root = section("敏感词", { hint: "在内置词库之外追加" },
    el("p", { class: "muted small", text: "评论和提问都会经过内置词库和这里追加的词过滤；命中的内容不会保存。" }), chips, form);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const words = [...new Set(input.value.split(/[\s,，、;；]+/).map((w) => w.trim()).filter(Boolean))];
    if (!words.length) return status.set("请输入要添加的词", "error");
    const bad = words.find((w) => w.length < 2 || w.length > 50);
    if (bad) return status.set(`「${bad}」长度应为 2–50 字`, "error");
    add.disabled = true;
    try {
      const ack = await conn.send("words.add", { words: words.slice(0, 100) });
      input.value = "";
      status.set(ack.added && ack.added.length ? `已添加 ${ack.added.length} 个词` : "这些词已在列表中", "ok");
    } catch (err) {
      status.set(err.message || "添加失败", "error");
    } finally {
      add.disabled = false;
    }
  });

  function render() {
    const words = (conn.moderation && conn.moderation.words) || [];
    root.hint.textContent = words.length ? `已追加 ${words.length} 个词` : "在内置词库之外追加";
    keepFocus(root, () => fill(chips, words.length ? words.map((w) => el("li", { class: "vw-chip" },
      el("span", { text: w }),
      btn("×", (ev) => command(conn, ev.currentTarget, "words.remove", { words: [w] }), { aria: `删除敏感词「${w}」`, focus: `vw-${w}` })))
      : el("li", { class: "muted", text: "尚未追加敏感词" })));
  }
  conn.on("moderation", render);
  render();
  return root;
}

// ---- 导入问题 ------------------------------------------------------------------------------

function importCard(conn, api) {
  const file = el("input", { type: "file", id: "vi-file", accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" });
  const pending = el("input", { type: "checkbox", id: "vi-pending" });
  const go = el("button", { type: "submit", class: "btn btn-small btn-primary" }, "导入");
  const status = statusLine();
  const result = el("div", { class: "vi-result" });
  const form = el("form", { class: "vi-form" },
    el("p", { class: "muted small" }, "CSV 或 XLSX 文件，第一行为表头：",
      el("b", { text: "来源、内容、述法人、提问人" }), "（提问人可不填）。来源如 12345热线、信箱、网络留言；述法人填姓名或单位。单个文件不超过 5 MB。"),
    el("label", { class: "voice-field", for: "vi-file" }, el("span", { class: "voice-field-label", text: "选择文件" }), file),
    el("label", { class: "check", for: "vi-pending" }, pending, "导入后先放入审核队列（不勾选则直接公开）"),
    el("div", { class: "voice-actions" }, go, status), result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = file.files && file.files[0];
    if (!f) return status.set("请先选择文件", "error");
    if (f.size > 5 * 1024 * 1024) return status.set("文件过大，最大 5 MB", "error");
    const data = new FormData();
    data.append("file", f, f.name);
    go.disabled = true;
    status.set("正在导入…", "wait");
    fill(result);
    try {
      const out = await apiJSON(`${api}/questions/import${pending.checked ? "?status=pending" : ""}`, { method: "POST", form: data });
      const errs = out.errors || [];
      status.set(`已导入 ${out.imported} 条${out.status === "pending" ? "（在审核队列中）" : ""}${errs.length ? `，${errs.length} 行未导入` : ""}`,
        errs.length ? "info" : "ok");
      if (errs.length) {
        fill(result, el("table", { class: "vi-errors" },
          el("caption", { text: "未导入的行" }),
          el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "行号" }), el("th", { scope: "col", text: "原因" }))),
          el("tbody", {}, errs.map((e) => el("tr", {}, el("td", { class: "num", text: `第 ${e.row} 行` }), el("td", { text: e.message }))))));
      }
      file.value = "";
    } catch (err) {
      status.set(err.message, "error");
    } finally {
      go.disabled = false;
    }
  });
  return section("导入问题", { hint: "会前征集：12345热线、信箱、网络留言" }, form);
}
