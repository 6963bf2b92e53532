// The live stream on phones: when state.meeting.stream_url is set, an inline
// <video playsinline controls muted autoplay> at the top of the page, the voting and
// everything else below it. HLS plays natively only in some browsers (Safari, most
// Android browsers); elsewhere, or if the page may not embed the address (the CSP
// allows media from this site and https only), a clear link opens it instead.
// No HLS library: nothing is loaded from a CDN.

import { el, fill } from "./ui.js";

const HLS_TYPE = "application/vnd.apple.mpegurl";

export function canPlayHls() {
  const probe = document.createElement("video");
  return probe.canPlayType(HLS_TYPE) !== "";
}

// The page's CSP lets <video> load from this origin or from https only.
function embeddable(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === "https:" || u.origin === location.origin;
  } catch {
    return false;
  }
}

export function mountStream(conn, box) {
  let url = null;
  let collapsed = false;
  const toggle = el("button", { type: "button", class: "btn btn-small btn-secondary", "aria-expanded": "true" }, "收起");
  const body = el("div", { class: "stream-body" });
  const card = el("section", { class: "card stream-card", "aria-label": "现场直播" },
    el("div", { class: "stream-head" },
      el("h2", {}, el("span", { class: "stream-live", text: "直播" }), "会场实况"), toggle),
    body);
  toggle.addEventListener("click", () => {
    collapsed = !collapsed;
    body.hidden = collapsed;
    toggle.textContent = collapsed ? "展开直播" : "收起";
    toggle.setAttribute("aria-expanded", String(!collapsed));
    const video = body.querySelector("video");
    if (video && collapsed) video.pause();
  });
  box.hidden = true;
  fill(box, card);

  function link(message, retry = false) {
    const again = retry ? el("button", { type: "button", class: "btn btn-secondary" }, "重新播放") : null;
    if (again) again.addEventListener("click", () => fill(body, player()));
    return el("div", { class: "stream-fallback" },
      el("p", { class: "stream-note", text: message }),
      el("a", { class: "btn btn-primary stream-link", href: url, target: "_blank", rel: "noopener noreferrer" }, "在新窗口打开直播"),
      again);
  }

  function player() {
    const video = el("video", { playsinline: true, "webkit-playsinline": true, controls: true, muted: true, autoplay: true,
      preload: "auto", "aria-label": "会场直播画面" });
    video.muted = true;  // the attribute alone does not mute a scripted element; autoplay needs it
    video.addEventListener("error", () => {
      if (box.hidden || !video.isConnected) return;
      fill(body, link("直播暂时无法在此播放（可能尚未开始或网络不佳）。可在新窗口打开，或稍后重新播放。", true));
    });
    video.src = url;
    video.play().catch(() => null);  // autoplay may be refused: the controls stay
    return video;
  }

  function stop() {
    const video = body.querySelector("video");
    if (video) {
      video.pause();
      video.removeAttribute("src");
      video.load();
    }
    fill(body);
  }

  function render(state) {
    const next = (state && state.meeting.stream_url) || null;
    if (next === url) return;  // unchanged: never restart a playing stream
    stop();
    url = next;
    box.hidden = !url;
    if (!url) return;
    if (!canPlayHls()) fill(body, link("此浏览器不能直接播放直播流（HLS）。"));
    else if (!embeddable(url)) fill(body, link("该直播地址不能内嵌播放。"));
    else fill(body, player());
  }

  conn.on("state", render);
  conn.on("fatal", () => {
    stop();
    url = null;
    box.hidden = true;
  });
  if (conn.state) render(conn.state);
  return box;
}
