// A 评议团 member's tablet, opened from a personal signed link /p/TOKEN.

import { connect, el, fatalView, fill, statusBanner } from "./client.js";
import { ballotView } from "./ballot.js";
import { agendaView, stageView } from "./stage.js";
import { panelVoice } from "./panel-voice.js";
import { slideCard } from "./slides.js";

const token = decodeURIComponent(location.pathname.slice("/p/".length).split("/")[0] || "");
const app = document.getElementById("app");
const who = document.getElementById("who");
const title = document.getElementById("title");

start();

async function start() {
  const found = await codeForToken(token);
  if (!found.code) {
    fatalView(app, { closeCode: 4401, message: found.message || "评议团链接无效，请向会务人员索取新链接" });
    return;
  }
  const code = found.code;
  const conn = connect(code, "panel", { token });
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
  // A revoked or forged link closes with 4401: say so once and stop.
  conn.on("fatal", (fatal) => fatalView(app, fatal, el("p", { class: "muted", text: "如有疑问，请联系会务工作人员。" })));
}

// The socket URL needs the meeting code, which the token does not show in clear.
// Ask the server (GET /api/panel/{token}); a `?code=` in the link also works.
async function codeForToken(tok) {
  const fromQuery = new URLSearchParams(location.search).get("code");
  if (fromQuery) return { code: fromQuery.toUpperCase() };
  if (!tok) return { message: "链接不完整，请向会务人员索取新链接" };
  try {
    const resp = await fetch(`/api/panel/${encodeURIComponent(tok)}`, { headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (resp.ok && body.code) return { code: String(body.code) };
    return { message: body.error && body.error.message };
  } catch {
    return { message: "无法连接服务器，请检查网络后刷新页面" };
  }
}
