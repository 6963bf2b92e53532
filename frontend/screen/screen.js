// The big screen in the hall (1920×1080, read from the back row): it follows
// the phase. Public data only; no login.

import {
  codeFromPath, connect, countdown, currentItem, el, everyTick, fill, phaseBadge, resultFacts, shortDigest,
} from "../shared/client.js";
import { flagList, groupTable, rankingTable, recordBlock } from "../shared/results.js";
import { tallyView } from "../shared/tally.js";
import { screenVoice } from "./screen-voice.js";
import { mountScreenSlides } from "./screen-slides.js";

const code = codeFromPath("/screen/");
const conn = connect(code, "screen");
screenVoice(conn);
const stage = document.getElementById("stage");
const status = document.getElementById("status");
const online = document.getElementById("online");
const tally = tallyView();  // one instance, moved between views, so bars animate
const clock = el("div", { class: "screen-clock num", role: "timer" });
let timer = null;

document.getElementById("qr").src = `/qr/join/${encodeURIComponent(code)}.png`;
document.getElementById("code").textContent = code;
showJoinAddress();

conn.on("state", render);
mountScreenSlides(conn, stage);  // the slide during 述法 (screen-slides.js)
conn.on("tally", (msg) => {
  const item = currentItem(conn.state);
  if (item && msg.item_id === item.id && item.phase === "voting") tally.update(conn.state.meeting.scheme, msg.tally);
});
conn.on("presence", showOnline);
conn.on("status", (up) => { status.textContent = up ? "" : "连接中断，正在重连…"; });
conn.on("fatal", (f) => fill(stage, el("p", { class: "screen-wait", text: f.message })));
everyTick(tick);

function render(state) {
  document.getElementById("title").textContent = state.meeting.title;
  const m = state.meeting;
  const item = currentItem(state);
  timer = null;
  document.body.dataset.mode = m.status === "ended" ? "ranking" : item ? item.phase : m.status;
  // A panel split by category gives many voter groups: the tally and the result
  // table then take a denser layout so they still fit the screen.
  const groups = (item && item.result && item.result.groups ? item.result.groups : m.scheme.groups || []).length;
  document.body.toggleAttribute("data-many-groups", groups > 3);
  if (m.status === "draft") return fill(stage, lobby(state, "会议即将开始"));
  if (m.status === "ended") return fill(stage, rankingView(state));
  if (!item) return fill(stage, lobby(state, "请稍候，述法即将开始"));
  const p = item.presenter;
  const who = el("div", { class: "screen-who" },
    el("p", { class: "screen-label", text: `第 ${item.position} 位述法人` }),
    el("p", { class: "screen-name", text: p.name }),
    el("p", { class: "screen-post", text: [p.post, p.unit].filter(Boolean).join("　") }));
  const phaseRow = el("div", { class: "screen-phase" }, phaseBadge(item.phase, item.phase_label), clock);
  if (item.phase === "voting") {
    timer = item.timer;
    if (m.visibility && m.visibility.mode === "hidden") {
      // Nothing about the count reaches this screen until the host reveals the result.
      fill(stage, who, phaseRow, el("p", { class: "screen-wait", text: "测评进行中，结果将于测评结束后由主持人公布" }));
    } else {
      tally.update(m.scheme, conn.tallies[item.id] || null);
      fill(stage, who, phaseRow, tally.node);
    }
  } else if (item.phase === "done") {
    fill(stage, who, resultView(item));
  } else {
    timer = item.timer;
    fill(stage, who, phaseRow);
  }
  tick();
}

function tick() {
  if (!timer) return;
  const c = countdown(timer, conn.now());
  clock.textContent = c.text;
  clock.classList.toggle("overtime", c.overtime);
  clock.classList.toggle("paused", !c.running && c.leftMs > 0);
}

// Before the meeting and between presenters: the message and the agenda, centred on the
// stage (not a line in a corner of an empty screen).
function lobby(state, message) {
  return el("div", { class: "screen-lobby" },
    el("p", { class: "screen-wait", text: message }),
    state.meeting.held_on ? el("p", { class: "screen-date", text: state.meeting.held_on }) : null,
    el("ol", { class: "screen-agenda" }, state.items.map((i) =>
      el("li", { class: i.phase === "done" ? "is-done" : null },
        el("b", { text: i.presenter.name }), el("span", { text: i.presenter.post })))));
}

// A closed item: the frozen figures (总分, 等次, 满意率), each voter group's part,
// any flag (有效票不足 …) and the ballot digest, short enough to read from the hall.
function resultView(item) {
  const r = item.result;
  const facts = resultFacts(r).filter(([k]) => k !== "票数");
  if (!r) {
    const wait = item.result_hidden ? "测评已结束，结果待主持人揭晓" : "测评已结束";
    return [el("p", { class: "screen-label", text: "测评结果" }), el("p", { class: "screen-wait", text: wait })];
  }
  const counts = [`选票 ${r.ballots} 张`, `有效 ${r.valid} 张`, r.abstain ? `弃权 ${r.abstain} 张` : null,
    r.invalid ? `无效 ${r.invalid} 张` : null].filter(Boolean).join("　");
  // A group left out says why in its own row; the item-wide flags (weights
  // renormalised, no total, invalid ballots) are listed below the table.
  const itemFlags = { ...r, flags: (r.flags || []).filter((f) => !f.group) };
  return [el("p", { class: "screen-label" }, "测评结果", el("span", { class: "screen-counts num", text: counts })),
    facts.length
      ? el("dl", { class: "screen-facts" }, facts.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { class: "num", text: v }))))
      : el("p", { class: "screen-wait screen-no-total", text: "无有效总分" }),
    groupTable(r, { compact: true }),
    flagList(itemFlags),
    item.digest ? el("p", { class: "screen-digest num", title: item.digest, text: `选票摘要 SHA-256　${shortDigest(item.digest, 16)}` }) : null];
}

// Meeting over: the official ranking (state.meeting.ranking), never recomputed here.
function rankingView(state) {
  const table = rankingTable(state, { className: "screen-ranking" });
  if (!table || !state.meeting.ranking.some((e) => e.rank != null)) {
    return el("p", { class: "screen-wait", text: "会议已结束，感谢参与" });
  }
  return [el("p", { class: "screen-label", text: "测评结果排名" }), table,
    el("p", { class: "screen-note", text: "按公布总分（保留两位小数）排名，总分相同名次并列。" }),
    recordBlock(state.meeting.record, state.meeting.code, { className: "record-block screen-record" })];
}

function showOnline(p) {
  const panel = (p.panel_online || []).length;
  // Each phrase keeps to one line (no "评议团 / 2/9" split over two).
  fill(online, el("span", { text: `群众在线 ${p.audience} 人` }), "　", el("span", { text: `评议团 ${panel}/${p.panel_total}` }));
}

// The address people can type, from the server's idea of its public URL.
async function showJoinAddress() {
  try {
    const resp = await fetch(`/api/meetings/${encodeURIComponent(code)}`);
    if (!resp.ok) return;
    const info = await resp.json();
    const url = new URL(info.join_url);
    fill(document.querySelector(".join-hint"), el("span", { text: "扫码参与测评，" }),
      el("span", { text: `或访问 ${url.host}` }), el("span", { text: "输入会议码" }));
  } catch { /* the QR alone is enough */ }
}
