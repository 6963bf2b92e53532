// A 评议团 member's tablet, opened from a personal link /p/CODE#t=TOKEN.
// The token sits in the fragment, which the browser never sends to a server: the page
// posts it once to /api/panel/claim, which binds the link to this device and answers
// with a session cookie; the fragment is then wiped from the address bar and history.

import { connect, el, fatalView, fill, statusBanner } from "../shared/client.js";
import { ballotView } from "../shared/ballot.js";
import { agendaView, stageView } from "../shared/stage.js";
import { panelVoice } from "./panel-voice.js";
import { slideCard } from "../shared/slides.js";

const code = decodeURIComponent(location.pathname.slice("/p/".length).split("/")[0] || "").toUpperCase();
const token = new URLSearchParams(location.hash.slice(1)).get("t");
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const app = document.getElementById("app");
const who = document.getElementById("who");
const title = document.getElementById("title");

start();

async function start() {
  let member = new URLSearchParams(location.search).get("m");
  if (token) {
    const claimed = await claim(token, null);
    if (!claimed) return;
    member = String(claimed.member_id);
    history.replaceState(null, "", `/p/${encodeURIComponent(code)}?m=${encodeURIComponent(member)}`);
  }
  if (!code || !member || !/^\d+$/.test(member)) {
    fatalView(app, { message: "链接不完整，请重新扫描评议卡上的二维码" });
    return;
  }
  const conn = connect(code, "panel", { member: Number(member) });
  statusBanner(conn);
  let category = null;
  const ballotCard = el("div", { class: "card" });
  const agenda = agendaView(conn, { extra: (item) => conn.ballot(item.id).confirmed ? el("span", { class: "voted-mark", text: "✓ 已评" }) : null });
  fill(app, agenda, el("div", { class: "main-col" }, stageView(conn), ballotCard));
  panelVoice(conn, app.querySelector(".main-col"));
  app.querySelector(".main-col .stage").after(slideCard(conn));  // the slide during 述法

  conn.on("welcome", (w) => {
    const you = w.you || {};
    who.textContent = `评议团成员：${you.name || ""}${you.category ? `（${you.category}）` : ""}`;
    if (category !== you.category || !ballotCard.firstChild) {
      category = you.category;
      fill(ballotCard, ballotView(conn, { source: "panel", category }));
    }
  });
  conn.on("state", (state) => {
    title.textContent = state.meeting.title;
    document.title = `${state.meeting.title} · 评议团`;
  });
  // A revoked, released or foreign link closes with 4401: say so once and stop.
  conn.on("fatal", (fatal) => fatalView(app, fatal, el("p", { class: "muted", text: "如有疑问，请联系会务工作人员。" })));
}

// Show the link's token once (and the card's PIN when the member has one). Resolves to
// {code, member_id, name, ...}, or null after showing why the link cannot be used here.
async function claim(tok, pin) {
  let resp;
  let body = {};
  try {
    resp = await fetch("/api/panel/claim", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(pin ? { token: tok, pin } : { token: tok }),
    });
    body = await resp.json().catch(() => ({}));
  } catch {
    fatalView(app, { message: "无法连接服务器，请检查网络后重新扫描评议卡" });
    return null;
  }
  if (resp.ok && body.member_id != null) return body;
  const err = body.error || {};
  if (err.code === "pin_required" || err.code === "bad_pin") return askPin(tok, err);
  fatalView(app, { message: err.message || "评议团链接无效，请向会务人员索取新链接" },
    el("p", { class: "muted", text: "如有疑问，请联系会务工作人员。" }));
  return null;
}

function askPin(tok, err) {
  return new Promise((resolve) => {
    const input = el("input", { type: "text", inputmode: "numeric", autocomplete: "off", maxlength: 6,
      pattern: "[0-9]{4,6}", required: true, "aria-label": "PIN 码", class: "pin-input" });
    const note = el("p", { class: err.code === "bad_pin" ? "ballot-status is-error" : "muted", role: "status",
      text: err.code === "bad_pin" ? err.message : "请输入评议卡上二维码旁印的 PIN 码" });
    const form = el("form", { class: "card pin-form" },
      el("h2", { text: "请输入 PIN 码" }), note, input,
      el("button", { type: "submit", class: "btn btn-primary" }, "确定"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const pin = input.value.trim();
      if (!/^\d{4,6}$/.test(pin)) {
        note.textContent = "PIN 码为 4–6 位数字";
        return;
      }
      resolve(await claim(tok, pin));
    });
    fill(app, form);
    input.focus();
  });
}
