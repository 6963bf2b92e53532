// The presenter's view (host login): who is on, the phase, a big countdown.
// The slide area is laid out in presenter.html and filled by a later issue.

import { codeFromPath, connect, el, fatalView, fill, statusBanner } from "./client.js";
import { stageView } from "./stage.js";

const code = codeFromPath("/presenter/");
const conn = connect(code, "presenter");
statusBanner(conn);
fill(document.getElementById("stage"), stageView(conn, { heading: "正在述法" }));

conn.on("state", (state) => {
  document.getElementById("title").textContent = `述法人视图 · ${state.meeting.title}`;
});
// The view uses the host's login: send the user there when it is missing.
conn.on("fatal", (fatal) => fatalView(document.getElementById("app"), fatal,
  el("a", { class: "btn btn-primary", href: `/host/${code}` }, "前往主持人登录")));
