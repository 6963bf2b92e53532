// 大字 (large text) for the phone page, as 适老化 asks: one switch in the top bar, kept on
// this device. The page's sizes are in px, so the switch scales the content with CSS zoom.

import { el } from "../shared/client.js";

const KEY = "live.largeText";

function stored() {
  try { return localStorage.getItem(KEY) === "1"; } catch { return false; }
}

function apply(on) {
  document.documentElement.classList.toggle("large-text", on);
  try { localStorage.setItem(KEY, on ? "1" : "0"); } catch { /* private mode: this visit only */ }
}

export function largeTextSwitch() {
  const on = stored();
  apply(on);
  const button = el("button", { type: "button", class: "btn btn-large-text", "aria-pressed": String(on), title: "放大页面文字" }, "大字");
  button.addEventListener("click", () => {
    const next = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(next));
    apply(next);
  });
  return button;
}
