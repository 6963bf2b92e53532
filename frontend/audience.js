// The citizen's phone: who is on stage, and a ballot during 测评.

import { codeFromPath, connect, el, fatalView, fill, statusBanner } from "./client.js";
import { ballotView } from "./ballot.js";
import { agendaView, stageView } from "./stage.js";
import { audienceVoice } from "./audience-voice.js";
import { slideCard } from "./slides.js";
import { mountStream } from "./stream.js";
import { largeTextSwitch } from "./large-text.js";
import { credentialCard, redeemFragment } from "./credential.js";

const code = codeFromPath("/j/");
// A ticket's or roster link's secret rides in the fragment: redeem it before connecting,
// so the socket opens with the credential cookie already set.
const redeemed = await redeemFragment(code);
const conn = connect(code, "audience");
const app = document.getElementById("app");
const title = document.getElementById("title");

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
