// The citizen's phone: who is on stage, and a ballot during 测评.

import { codeFromPath, connect, el, fatalView, fill, statusBanner } from "../shared/client.js";
import { ballotView } from "../shared/ballot.js";
import { agendaView, stageView } from "../shared/stage.js";
import { audienceVoice } from "./audience-voice.js";
import { slideCard } from "../shared/slides.js";
import { mountStream } from "./stream.js";
import { largeTextSwitch } from "./large-text.js";
import { credentialCard, redeemFragment } from "./credential.js";
import { watch } from "./watch.js";

const code = codeFromPath("/j/");
const app = document.getElementById("app");
const title = document.getElementById("title");

// /j/CODE?watch=1: watch only. No socket: the page polls live.json (a CDN may serve it) and
// shows the stage, the slide, the agenda and the stream; a button opens the full page.
if (new URLSearchParams(location.search).has("watch")) {
  const conn = watch(code);
  statusBanner(conn);
  document.querySelector(".topbar").append(largeTextSwitch());
  const join = el("a", { class: "btn btn-primary", href: location.pathname, text: "参与测评和互动" });
  fill(app, el("p", { class: "card watch-note" }, "仅观看：画面每几秒更新一次。", join),
    stageView(conn), agendaView(conn));
  app.querySelector(".stage").after(slideCard(conn, { thumb: true }));
  mountStream(conn, document.getElementById("live-stream"));
  conn.on("state", (state) => {
    title.textContent = state.meeting.title;
    document.title = `${state.meeting.title} · 观看`;
  });
  conn.on("fatal", (fatal) => fatalView(app, fatal,
    el("a", { class: "btn btn-primary", href: "/" }, "重新输入会议码")));
} else {
  await participate();
}

async function participate() {
  // A ticket's or roster link's secret rides in the fragment: redeem it before connecting,
  // so the socket opens with the credential cookie already set.
  const redeemed = await redeemFragment(code);
  const conn = connect(code, "audience");

  statusBanner(conn);
  document.querySelector(".topbar").append(largeTextSwitch());
  const ballot = el("div", { class: "card" }, ballotView(conn, { source: "public" }));
  fill(app, credentialCard(conn, code, redeemed), stageView(conn), ballot, agendaView(conn));
  audienceVoice(conn, app);
  app.querySelector(".stage").after(slideCard(conn, { thumb: true }));  // the slide during 述法
  mountStream(conn, document.getElementById("live-stream"));  // the live stream, above everything

  conn.on("state", (state) => {
    title.textContent = state.meeting.title;
    document.title = `${state.meeting.title} · 群众测评`;
  });

  conn.on("fatal", (fatal) => {
    // Usually a missing or stale device cookie: reloading /j/CODE issues a fresh one.
    fatalView(app, fatal, fatal.closeCode === 4404
      ? el("a", { class: "btn btn-primary", href: "/" }, "重新输入会议码")
      : el("a", { class: "btn btn-primary", href: location.pathname }, "重新加入"));
  });
}
