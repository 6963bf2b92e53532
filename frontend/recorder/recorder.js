// The recorder's page /recorder#{token}: during and after 点评, record the 点评 text and the
// problems it names, for any presenter of the meeting; during 测评, key paper 测评表
// (paper-entry.js). The live state (who is on
// stage, the questions put) comes over a read-only screen socket; every write goes
// over HTTP with the recorder's session cookie and its X-CSRF-Token.
// The link's token sits in the URL fragment (never sent to a server, so never logged):
// the page trades it once for the session cookie, then drops it from the address bar.

import { connect, el, fatalView, fill, setCsrfToken, statusBanner } from "../shared/client.js";
import { recordEditor } from "../shared/record-editor.js";
import { stageView } from "../shared/stage.js";
import { paperPanel } from "../shared/paper-entry.js";

const token = decodeURIComponent(location.hash.slice(1));
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const app = document.getElementById("app");
const title = document.getElementById("title");

start();

async function start() {
  const info = await meetingFor(token);
  if (!info.code) {
    fatalView(app, { closeCode: 4401, message: info.message || "记录员链接无效，请向主持人索取新链接" });
    return;
  }
  const code = String(info.code);
  title.textContent = `点评记录 · ${info.title}`;
  document.title = `${info.title} · 点评记录`;
  const conn = connect(code, "recorder");
  statusBanner(conn);
  setCsrfToken(info.csrf);
  const editor = recordEditor(conn, { api: `/api/meetings/${encodeURIComponent(code)}` });
  fill(app, stageView(conn, { heading: "当前述法人" }),
    el("section", { class: "card recorder-card", "aria-label": "点评与问题清单" },
      el("h2", { text: "点评与问题清单" }),
      el("p", { class: "muted small", text: "点评时记录点评内容及指出的问题；会后也可补录。问题的整改由主持人跟踪。" }),
      editor.node),
    paperPanel(conn, { api: `/api/meetings/${encodeURIComponent(code)}` }));
  conn.on("fatal", (fatal) => fatalView(app, fatal));
}

async function meetingFor(tok) {
  try {
    const resp = tok
      ? await fetch("/api/recorder/claim", {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ token: tok }),
      })
      : await fetch("/api/recorder/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (resp.ok && body.code) return body;
    return { message: (body.error && body.error.message) || "链接不完整，请向主持人索取新链接" };
  } catch {
    return { message: "无法连接服务器，请检查网络后刷新页面" };
  }
}
