// The meetings of the installation, for a signed-in administrator.

import { el, fill } from "./ui.js";

export function meetingsView(app) {
  fill(app, el("section", { class: "card" }, el("h2", { text: "会议" }), el("p", { class: "muted", text: "正在加载会议列表…" })));
}
