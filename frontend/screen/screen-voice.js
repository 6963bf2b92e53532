// The big screen's share of the public's voice: the question 正在质询 with its asker
// or source and the answer countdown (while its presenter is in 质询), the like
// counter, and the scrolling comment overlay (弹幕) when the host switched it on.
// The overlay keeps a bounded number of nodes: a few lanes, a short queue.

import { el, everyTick } from "../shared/client.js";
import { answerCountdown, currentQuestion, formatCount, icon, stageItem, whoAsked } from "../shared/voice.js";

const MAX_LANES = 6;
const LANE_REM = 4.8;     // one lane's height, in the screen's rem
const MAX_NODES = 20;     // comments flying at once
const QUEUE_MAX = 30;     // waiting for a free lane; older ones are dropped
const CROSS_S = 11;       // seconds for a comment to cross the stage
const GAP_PX = 48;        // space between two comments in a lane

// "评议团成员 张立华", "提问人 王女士（12345热线）", "来源 网络提问".
function askedBy(q) {
  if (q.origin === "panel") return q.asker ? `评议团成员 ${q.asker}` : "评议团";
  if (q.asker) return `提问人 ${whoAsked(q)}`;
  return q.source ? `来源 ${q.source}` : "";
}

export function screenVoice(conn) {
  const body = document.querySelector(".screen-body") || document.body;
  const aside = document.querySelector(".screen-join");

  // the question 正在质询
  const qLabel = el("p", { class: "sq-label" }, el("span", { class: "sq-tag", text: "正在质询" }), el("span", { class: "sq-who" }));
  const qText = el("p", { class: "sq-text" });
  const qClock = el("p", { class: "sq-clock num", role: "timer" });
  const question = el("section", { class: "screen-question", "aria-live": "polite", hidden: true },
    el("div", { class: "sq-main" }, qLabel, qText), qClock);
  body.append(question);

  // likes
  const likeValue = el("span", { class: "sl-value num", text: "0" });
  const likes = el("p", { class: "screen-likes", "aria-label": "点赞数" }, icon("heart", 40), likeValue, el("span", { class: "sl-unit", text: "赞" }));
  if (aside) aside.append(likes);
  else body.append(likes);

  // the comment overlay
  const layer = el("div", { class: "danmaku", "aria-hidden": "true", hidden: true });
  body.append(layer);

  const seen = new Set();
  const queue = [];
  const flying = new Map();  // comment id -> node
  const laneFree = new Array(MAX_LANES).fill(0);
  let primed = false;
  let overlayOn = false;

  conn.on("state", (state, msg) => {
    if (!primed || msg.type === "snapshot") {
      // What was already shown before this page (or a resync) is not replayed.
      for (const c of state.comments || []) seen.add(c.id);
      primed = true;
    } else if (msg.type === "comment.updated") {
      const c = msg.comment;
      if (c.status !== "shown" || !c.text) drop(c.id);
      else if (!seen.has(c.id)) {
        seen.add(c.id);
        if (overlayOn) {
          queue.push(c);
          if (queue.length > QUEUE_MAX) queue.splice(0, queue.length - QUEUE_MAX);
          pump();
        }
      }
    }
    const inter = state.interaction || {};
    setOverlay(!!inter.overlay);
    renderQuestion();
  });
  conn.on("likes", (msg) => {
    likeValue.textContent = formatCount(msg.total);
    likes.classList.remove("is-pop");
    void likes.offsetWidth;
    likes.classList.add("is-pop");
  });

  function drop(id) {
    const node = flying.get(id);
    if (node) {
      node.remove();
      flying.delete(id);
    }
    const idx = queue.findIndex((c) => c.id === id);
    if (idx >= 0) queue.splice(idx, 1);
  }

  function setOverlay(on) {
    if (on === overlayOn) return;
    overlayOn = on;
    layer.hidden = !on;
    if (!on) {
      queue.length = 0;
      for (const node of flying.values()) node.remove();
      flying.clear();
      laneFree.fill(0);
    }
  }

  function pump() {
    if (!overlayOn || document.visibilityState === "hidden") return;
    const now = performance.now();
    // As many lanes as fit the band the current view leaves free (voice.css sets it per mode).
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const lanes = Math.max(1, Math.min(MAX_LANES, Math.floor(layer.clientHeight / (LANE_REM * rem))));
    while (queue.length && flying.size < MAX_NODES) {
      const lane = laneFree.slice(0, lanes).findIndex((t) => t <= now);
      if (lane < 0) break;
      launch(queue.shift(), lane, now);
    }
  }

  function launch(c, lane, now) {
    const node = el("span", { class: "danmaku-item", text: c.text });
    node.style.top = `${lane * LANE_REM}rem`;
    layer.append(node);
    const width = layer.clientWidth || 1200;
    const w = node.offsetWidth;
    const speed = width / CROSS_S;  // px per second: the same for all, so none overtakes
    const travel = width + w;
    node.style.setProperty("--travel", `${-travel}px`);
    node.style.animationDuration = `${travel / speed}s`;
    laneFree[lane] = now + ((w + GAP_PX) / speed) * 1000;
    flying.set(c.id, node);
    // Measured first, animated after: an animation started before its duration is set
    // would run for 0 s and end at once.
    node.classList.add("is-flying");
    node.addEventListener("animationend", () => {
      node.remove();
      if (flying.get(c.id) === node) flying.delete(c.id);
      pump();
    });
  }

  function renderQuestion() {
    const state = conn.state;
    const item = stageItem(state);
    const q = currentQuestion(state);
    const show = !!(state && state.meeting.status === "live" && item && item.phase === "inquiry" && q && q.item_id === item.id);
    question.hidden = !show;
    document.body.toggleAttribute("data-question", show);
    if (!show) return;
    qLabel.lastChild.textContent = askedBy(q);
    qText.textContent = q.content;
    // Long questions step down in size so they stay inside the panel.
    const n = q.content.length;
    question.dataset.size = n > 120 ? "s" : n > 60 ? "m" : "l";
    tick();
  }

  function tick() {
    pump();
    if (question.hidden) return;
    const c = answerCountdown(conn);
    qClock.hidden = !c;
    if (!c) return;
    qClock.textContent = c.overtime ? c.text : `答复 ${c.text}`;
    qClock.classList.toggle("overtime", c.overtime);
    qClock.classList.toggle("paused", !c.running && c.leftMs > 0);
  }

  everyTick(tick);
  return { question, likes, layer };
}
