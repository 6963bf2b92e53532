// The broadcast overlay: a transparent 1920×1080 page for the browser source of OBS or
// vMix (/overlay/CODE?layers=lower,question,tally,likes). Each layer shows only what
// the public big screen shows at that moment, from the same read-only public socket
// (role "screen": no login, no secret):
//   lower     the presenter on stage (name, post, 第 N 位, phase) as a lower third;
//   question  the question 正在质询 with its asker and answer countdown, while its
//             presenter is in 质询 of a live meeting;
//   tally     while 测评 runs, the live tally as the hall sees it (the meeting's
//             visibility: the guarded split, counts only, or nothing in a "hidden"
//             meeting); once closed, the public result (in a "hidden" meeting only
//             after the host revealed it);
//   likes     the like counter.
// Without ?layers= every layer is on. A layer with nothing to show is hidden, so the
// picture underneath stays clean.

import { codeFromPath, connect, countdown, currentItem, el, everyTick, fill, resultFacts } from "../shared/client.js";
import { tallyView } from "../shared/tally.js";
import { answerCountdown, currentQuestion, formatCount, icon } from "../shared/voice.js";

export const LAYERS = ["lower", "question", "tally", "likes"];

// The layers a URL asks for: ?layers=a,b (unknown names ignored); none given means all.
export function chosenLayers(search) {
  const raw = new URLSearchParams(search).get("layers");
  if (raw === null) return new Set(LAYERS);
  return new Set(raw.split(/[,\s]+/).map((s) => s.trim().toLowerCase()).filter((s) => LAYERS.includes(s)));
}

const code = codeFromPath("/overlay/");
const chosen = chosenLayers(location.search);
document.body.dataset.layers = [...chosen].join(",");
const stage = document.getElementById("stage");
const conn = connect(code, "screen");

function layer(name, ...children) {
  return el("section", { class: `ov-layer ov-${name}`, dataset: { layer: name }, hidden: true }, ...children);
}

// the lower third
const lowerLabel = el("p", { class: "ov-lower-label" });
const lowerName = el("p", { class: "ov-lower-name" });
const lowerPost = el("p", { class: "ov-lower-post" });
const lowerPhase = el("span", { class: "ov-lower-phase" });
const lowerClock = el("span", { class: "ov-lower-clock num", role: "timer" });
const lower = layer("lower",
  el("div", { class: "ov-lower-main" }, lowerLabel, lowerName, lowerPost),
  el("div", { class: "ov-lower-side" }, lowerPhase, lowerClock));

// the question 正在质询
const qWho = el("span", { class: "ov-q-who" });
const qText = el("p", { class: "ov-q-text" });
const qClock = el("p", { class: "ov-q-clock num", role: "timer" });
const question = layer("question",
  el("div", { class: "ov-q-main" },
    el("p", { class: "ov-q-label" }, el("span", { class: "ov-q-tag", text: "正在质询" }), qWho), qText),
  qClock);

// the tally (live) or the public result (closed)
const tally = tallyView();
const tallyTitle = el("p", { class: "ov-tally-title" });
const tallyBody = el("div", { class: "ov-tally-body" });
const tallyLayer = layer("tally", tallyTitle, tallyBody);

// the like counter
const likeValue = el("span", { class: "ov-likes-value num", text: "0" });
const likes = layer("likes", icon("heart", 44), likeValue, el("span", { class: "ov-likes-unit", text: "赞" }));

const all = { lower, question, tally: tallyLayer, likes };
fill(stage, LAYERS.filter((n) => chosen.has(n)).map((n) => all[n]));

function show(node, on) {
  node.hidden = !on;
}

conn.on("state", render);
conn.on("tally", (msg) => {
  const item = currentItem(conn.state);
  if (chosen.has("tally") && item && msg.item_id === item.id && item.phase === "voting") {
    tally.update(conn.state.meeting.scheme, msg.tally);
  }
});
conn.on("likes", (msg) => {
  likeValue.textContent = formatCount(msg.total);
});
conn.on("status", (up) => { document.body.dataset.online = up ? "yes" : "no"; });
everyTick(tick);

function render(state) {
  const m = state.meeting;
  const item = m.status === "live" ? currentItem(state) : null;
  document.body.dataset.phase = item ? item.phase : m.status;

  // lower third: the presenter on stage
  show(lower, !!item);
  if (item) {
    const p = item.presenter;
    lowerLabel.textContent = `第 ${item.position} 位述法人`;
    lowerName.textContent = p.name;
    lowerPost.textContent = [p.post, p.unit].filter(Boolean).join("　");
    lowerPhase.textContent = item.phase_label || "";
  }

  // 正在质询: as on the big screen, only while its presenter is in 质询
  const q = currentQuestion(state);
  const asking = !!(item && item.phase === "inquiry" && q && q.item_id === item.id);
  show(question, asking);
  if (asking) {
    qWho.textContent = q.origin === "panel" ? (q.asker ? `评议团成员 ${q.asker}` : "评议团")
      : q.asker ? `提问人 ${q.asker}${q.source ? `（${q.source}）` : ""}` : q.source ? `来源 ${q.source}` : "";
    qText.textContent = q.content;
    question.dataset.size = q.content.length > 80 ? "s" : "l";
  }

  renderTally(state, item);
  show(likes, true);
  if (conn.likes != null) likeValue.textContent = formatCount(conn.likes);
  tick();
}

function renderTally(state, item) {
  const m = state.meeting;
  if (!item || (item.phase !== "voting" && item.phase !== "done")) return show(tallyLayer, false);
  if (item.phase === "voting") {
    // A "hidden" meeting shows nothing of the count until the host reveals the result.
    if (m.visibility && m.visibility.mode === "hidden") return show(tallyLayer, false);
    tallyTitle.textContent = `${item.presenter.name}　测评进行中`;
    tally.update(m.scheme, conn.tallies[item.id] || null);
    if (tally.node.parentNode !== tallyBody) fill(tallyBody, tally.node);
    return show(tallyLayer, true);
  }
  const r = item.result;  // the public result: null until revealed in a "hidden" meeting
  if (!r) return show(tallyLayer, false);
  const facts = resultFacts(r);
  tallyTitle.textContent = `${item.presenter.name}　测评结果`;
  fill(tallyBody, facts.length
    ? el("dl", { class: "ov-facts" }, facts.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { class: "num", text: v }))))
    : el("p", { class: "ov-no-total", text: "无有效总分" }));
  return show(tallyLayer, true);
}

function tick() {
  const state = conn.state;
  if (!state) return;
  const item = state.meeting.status === "live" ? currentItem(state) : null;
  const c = item && item.timer && item.timer.duration_s ? countdown(item.timer, conn.now()) : null;
  lowerClock.textContent = c ? c.text : "";
  lowerClock.classList.toggle("overtime", !!(c && c.overtime));
  if (question.hidden) return;
  const a = answerCountdown(conn);
  qClock.hidden = !a;
  if (!a) return;
  qClock.textContent = a.overtime ? a.text : `答复 ${a.text}`;
  qClock.classList.toggle("overtime", a.overtime);
}
