// The live stream on phones and PCs: when state.meeting.stream_url is set, an inline
// <video playsinline controls muted autoplay> at the top of the page, the voting and
// everything else below it, with a poster (the meeting's title, 点击播放) until the
// picture starts.
//
// Every browser plays it: where the browser plays HLS itself (Safari, iOS, Android,
// recent Chrome) the <video> gets the address; elsewhere (Firefox, older desktop Chrome,
// Edge) hls.js, vendored under vendor/hls.js/ (deploy/vendor-refresh.sh, no CDN), feeds
// it through Media Source Extensions. hls.js is loaded only when it is needed. If the
// page may not embed the address (the CSP allows media and fetches from this site and
// https only) or nothing can play it, a clear link opens it instead.

import { el, fill } from "../shared/ui.js";

const HLS_TYPE = "application/vnd.apple.mpegurl";
const HLS_MODULE = "/static/vendor/hls.js/hls.light.min.mjs";
const POSTER = "/static/audience/stream-poster.svg";

export function canPlayHls() {
  const probe = document.createElement("video");
  return probe.canPlayType(HLS_TYPE) !== "";
}

function hasMse() {
  return "MediaSource" in window || "ManagedMediaSource" in window;
}

let hlsLoading = null;
// The hls.js class, loaded once per page the first time a browser needs it.
export function loadHls() {
  if (!hlsLoading) {
    hlsLoading = import(HLS_MODULE).then((m) => m.default).catch((err) => {
      hlsLoading = null;  // a later retry may fetch it again
      throw err;
    });
  }
  return hlsLoading;
}

// The page's CSP lets <video> and hls.js load from this origin or from https only.
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
  let title = "";
  let collapsed = false;
  let hls = null;  // the hls.js instance while one plays
  let generation = 0;  // a newer render makes an older, still-loading player give up
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
    if (again) again.addEventListener("click", () => start());
    return el("div", { class: "stream-fallback" },
      el("p", { class: "stream-note", text: message }),
      el("a", { class: "btn btn-primary stream-link", href: url, target: "_blank", rel: "noopener noreferrer" }, "在新窗口打开直播"),
      again);
  }

  function failed(video) {
    if (box.hidden || !video.isConnected) return;
    stop();
    fill(body, link("直播暂时无法在此播放（可能尚未开始或网络不佳）。可在新窗口打开，或稍后重新播放。", true));
  }

  // The <video> with its poster: the image in the element, and over it the meeting's
  // title and a play button, until the first picture plays.
  function player(engine) {
    const video = el("video", { playsinline: true, "webkit-playsinline": true, controls: true, muted: true, autoplay: true,
      preload: "auto", poster: POSTER, "aria-label": "会场直播画面", dataset: { engine } });
    video.muted = true;  // the attribute alone does not mute a scripted element; autoplay needs it
    const play = el("button", { type: "button", class: "stream-play", "aria-label": "播放直播" }, "▶ 点击播放");
    const poster = el("div", { class: "stream-poster" },
      el("p", { class: "stream-poster-title", text: title || "述法评议会" }),
      el("p", { class: "stream-poster-note", text: "现场直播　即将开始" }), play);
    play.addEventListener("click", () => video.play().catch(() => null));
    video.addEventListener("playing", () => { poster.hidden = true; });
    video.addEventListener("error", () => failed(video));
    return { video, frame: el("div", { class: "stream-frame" }, video, poster) };
  }

  async function start() {
    stop();
    const mine = ++generation;
    if (!embeddable(url)) return fill(body, link("该直播地址不能内嵌播放。"));
    if (canPlayHls()) {
      const { video, frame } = player("native");
      fill(body, frame);
      video.src = url;
      video.play().catch(() => null);  // autoplay may be refused: the poster's button and the controls stay
      return;
    }
    if (!hasMse()) return fill(body, link("此浏览器不能直接播放直播流（HLS）。"));
    const { video, frame } = player("hls.js");
    fill(body, frame);
    let Hls;
    try {
      Hls = await loadHls();
    } catch {
      if (mine === generation) fill(body, link("直播播放组件未能加载，请检查网络后重新播放。", true));
      return;
    }
    if (mine !== generation) return;  // the address changed while the library loaded
    if (!Hls.isSupported()) return fill(body, link("此浏览器不能直接播放直播流（HLS）。"));
    // No worker: the CSP allows scripts from this site only, not the blob: a worker would need.
    const h = new Hls({ enableWorker: false, backBufferLength: 60 });
    hls = h;
    let recovered = false;
    h.on(Hls.Events.MANIFEST_PARSED, () => {
      video.dataset.manifest = "parsed";
      video.play().catch(() => null);
    });
    h.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || h !== hls) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
        recovered = true;  // one attempt to recover a decode error, then the link
        h.recoverMediaError();
        return;
      }
      failed(video);
    });
    h.loadSource(url);
    h.attachMedia(video);
  }

  function stop() {
    generation += 1;
    if (hls) {
      hls.destroy();
      hls = null;
    }
    const video = body.querySelector("video");
    if (video) {
      video.pause();
      video.removeAttribute("src");
      video.load();
    }
    fill(body);
  }

  function render(state) {
    title = (state && state.meeting.title) || "";
    const next = (state && state.meeting.stream_url) || null;
    if (next === url) return;  // unchanged: never restart a playing stream
    stop();
    url = next;
    box.hidden = !url;
    if (url) start();
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
