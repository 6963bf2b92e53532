// The presenter's view (host login, role=presenter): who is on, the phase, a big
// countdown, and the slides: the current page large, the next one as a preview,
// previous/next by buttons, keyboard (→ ← PageDown PageUp space) or a swipe, and a
// thumbnail strip to jump.
//
// A turn is shown at once (optimistically, from the preloaded image) and sent as
// `slide.goto`; the item.updated that follows reconciles it. Presses made while a turn
// is in flight are coalesced: the newest page wanted is sent when the ack comes.
//
// Timing for the browser test, on #slide-current .slide-view: data-slide-page and
// data-slide-shown-at (see slides.js), plus data-slide-turned-at / data-slide-turned-page
// (the key press or click) and data-slide-acked-at (the server's ack), all
// performance.timeOrigin + performance.now().

import { codeFromPath, connect, currentItem, el, fatalView, fill, statusBanner, toast } from "../shared/client.js";
import { deckOf, pageUrl, slideView, stamp } from "../shared/slides.js";
import { stageView } from "../shared/stage.js";
import { presenterLookback } from "../shared/lookback.js";

const RECONCILE_MS = 3000;  // an ack whose item.updated never came: trust the state again

const code = codeFromPath("/presenter/");
await claimLink();
const conn = connect(code, "presenter");
statusBanner(conn);
fill(document.getElementById("stage"), stageView(conn, { heading: "正在述法" }));
document.getElementById("stage").after(presenterLookback(conn, `/api/meetings/${encodeURIComponent(code)}`));

const big = slideView({ className: "presenter-slide", ahead: 2, behind: 1, cacheSize: 8 });
const next = slideView({ className: "presenter-next", empty: "" });
document.getElementById("slide-current").append(big.node);
document.getElementById("slide-next").append(next.node);
const counter = document.getElementById("slide-counter");
const sync = document.getElementById("slide-sync");
const title = document.getElementById("slide-title");
const prevBtn = document.getElementById("slide-prev");
const nextBtn = document.getElementById("slide-next-btn");
const strip = document.getElementById("slide-strip");
const nextCard = document.querySelector(".presenter-next-card");

// The page this view wants on show, ahead of the server: {itemId, version, page, sent, acked}.
let want = null;
let inflight = null;  // the page of the slide.goto awaiting its ack
let reconcileTimer = null;
let stripKey = "";
let thumbs = [];

prevBtn.addEventListener("click", () => turn(-1));
nextBtn.addEventListener("click", () => turn(1));
addEventListener("keydown", onKey);
swipe(document.getElementById("slide-current"));

conn.on("state", (state) => {
  document.getElementById("title").textContent = `述法人视图 · ${state.meeting.title}`;
  reconcile();
  render();
});
// The view opens with the presenter's own link, or the host's login: say so when neither holds.
conn.on("fatal", (fatal) => fatalView(document.getElementById("app"), fatal, el("div", {},
  el("p", { class: "muted", text: "请用会务人员发给您的述法人翻页链接重新打开本页；主持人也可登录后打开。" }),
  el("a", { class: "btn btn-primary", href: `/host/${code}` }, "前往主持人登录"))));

// The presenter's narrow link is /presenter/CODE#t=TOKEN: the token never leaves the
// fragment except in this one POST, which trades it for this meeting's presenter cookie.
async function claimLink() {
  const match = /^#t=([A-Za-z0-9._-]+)$/.exec(location.hash);
  if (!match) return;
  history.replaceState(null, "", location.pathname);
  try {
    const resp = await fetch(`/api/meetings/${encodeURIComponent(code)}/presenter/claim`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: match[1] }),
    });
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      toast((body.error && body.error.message) || "翻页链接无效");
    }
  } catch {
    toast("无法连接服务器，请检查网络后刷新页面");
  }
}

// ---- what is on show ----------------------------------------------------------------

// The presenter on stage (a finished one's deck is no longer turned from here).
function stageItem() {
  const item = currentItem(conn.state);
  return item && item.phase !== "done" ? item : null;
}

function deckItem() {
  const item = stageItem();
  return deckOf(item) ? item : null;
}

function matches(w, item) {
  return !!(w && item && w.itemId === item.id && w.version === item.slides.version);
}

function shownPage(item) {
  return matches(want, item) ? want.page : item.slides.page;
}

function render() {
  const state = conn.state;
  if (!state) return;
  const item = stageItem();
  const deck = deckOf(item);
  if (!deck) {
    title.textContent = "幻灯片";
    counter.textContent = "";
    sync.textContent = "";
    prevBtn.disabled = nextBtn.disabled = true;
    const last = currentItem(state);
    big.clear(!item ? (state.meeting.status === "ended" ? "会议已结束"
      : last ? `「${last.presenter.name}」的述法已结束；下一位开始后，此处显示其幻灯片` : "尚无进行中的述法人")
      : `「${item.presenter.name}」尚未上传演示文稿，请主持人在控制台上传 PDF`);
    next.clear("");
    nextCard.hidden = true;  // no deck on show: no empty "下一页" box
    fill(strip);
    stripKey = "";
    thumbs = [];
    return;
  }
  const page = shownPage(item);
  title.textContent = `幻灯片 · ${item.presenter.name}`;
  counter.textContent = `第 ${page} / ${deck.pages} 页`;
  const pending = matches(want, item) && want.page !== item.slides.page;
  sync.textContent = pending ? "正在同步到大屏…"
    : item.phase === "report" ? "大屏已同步" : `「${item.phase_label}」环节大屏不显示幻灯片`;
  sync.classList.toggle("is-pending", pending);
  prevBtn.disabled = page <= 1;
  nextBtn.disabled = page >= deck.pages;
  big.show(item, page);
  nextCard.hidden = false;
  if (page < deck.pages) next.show(item, page + 1);
  else next.clear("已是最后一页");
  renderStrip(item, page);
}

function renderStrip(item, page) {
  const key = `${item.id}/${item.slides.version}/${item.slides.pages}`;
  if (key !== stripKey) {
    stripKey = key;
    thumbs = [];
    for (let n = 1; n <= item.slides.pages; n += 1) {
      const btn = el("button", { type: "button", class: "thumb", "aria-label": `跳到第 ${n} 页`, dataset: { page: String(n) } },
        el("img", { src: pageUrl(item, n, { thumb: true }), alt: "", loading: "lazy", draggable: "false" }),
        el("span", { class: "thumb-no num", "aria-hidden": "true", text: String(n) }));
      btn.addEventListener("click", () => go(n));
      thumbs.push(btn);
    }
    fill(strip, thumbs);
  }
  thumbs.forEach((btn, i) => {
    const current = i + 1 === page;
    if (current) btn.setAttribute("aria-current", "page");
    else btn.removeAttribute("aria-current");
  });
  const cur = thumbs[page - 1];
  if (cur) {
    // Keep the current thumbnail in view without scrolling the page itself.
    const left = cur.offsetLeft - strip.clientWidth / 2 + cur.offsetWidth / 2;
    strip.scrollTo({ left: Math.max(0, left), behavior: "smooth" });
  }
}

// ---- turning ---------------------------------------------------------------------------

function turn(delta) {
  const item = deckItem();
  if (item) go(shownPage(item) + delta);
}

function go(page) {
  const item = deckItem();
  if (!item) return;
  const target = Math.min(Math.max(1, page), item.slides.pages);
  if (target === shownPage(item)) return;
  big.node.dataset.slideTurnedAt = String(stamp());
  big.node.dataset.slideTurnedPage = String(target);
  want = { itemId: item.id, version: item.slides.version, page: target, acked: false };
  clearTimeout(reconcileTimer);
  render();  // the optimistic page, from the preloaded image
  pump();
}

// Send the page wanted, one slide.goto at a time.
function pump() {
  if (inflight !== null || !want || want.acked) return;
  const w = want;
  const page = w.page;
  inflight = page;
  conn.send("slide.goto", { item_id: w.itemId, page }).then(() => {
    inflight = null;
    if (want !== w) return pump();  // pressed again meanwhile: send the newest
    w.acked = true;
    big.node.dataset.slideAckedAt = String(stamp());
    reconcile();
    render();
    if (want === w) {
      // The ack came before its item.updated: keep the page until it does, briefly.
      clearTimeout(reconcileTimer);
      reconcileTimer = setTimeout(() => {
        if (want === w) {
          want = null;
          render();
        }
      }, RECONCILE_MS);
    }
    return null;
  }, (err) => {
    inflight = null;
    if (want && want !== w && err.code !== "offline") return pump();  // a newer page is wanted
    want = null;
    toast(`翻页失败：${(err && err.message) || "请重试"}`);
    render();
    return null;
  });
}

// The server's state caught up with (or moved away from) the page wanted.
function reconcile() {
  if (!want) return;
  const item = stageItem();
  if (!matches(want, item) || !deckOf(item)) {
    want = null;  // another presenter, or a new deck: start from the server's page
    return;
  }
  if (inflight === null && want.acked && item.slides.page === want.page) {
    want = null;
    clearTimeout(reconcileTimer);
  }
}

// ---- input -----------------------------------------------------------------------------

const NEXT_KEYS = new Set(["ArrowRight", "ArrowDown", "PageDown", " ", "Spacebar"]);
const PREV_KEYS = new Set(["ArrowLeft", "ArrowUp", "PageUp"]);

function onKey(ev) {
  if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || ev.isComposing) return;
  const target = ev.target;
  if (target && target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true], dialog")) return;
  let action = null;
  if (ev.key === " " && ev.shiftKey) action = () => turn(-1);
  else if (NEXT_KEYS.has(ev.key)) action = () => turn(1);
  else if (PREV_KEYS.has(ev.key)) action = () => turn(-1);
  else if (ev.key === "Home") action = () => go(1);
  else if (ev.key === "End") action = () => { const item = deckItem(); if (item) go(item.slides.pages); };
  if (!action || !deckItem()) return;
  // Also keeps space from clicking a focused button and the page from scrolling.
  ev.preventDefault();
  action();
}

// A horizontal swipe on the slide turns the page (a tablet on the lectern).
function swipe(area) {
  let start = null;
  area.addEventListener("pointerdown", (ev) => {
    if (ev.pointerType !== "mouse") start = { x: ev.clientX, y: ev.clientY, t: ev.timeStamp };
  });
  area.addEventListener("pointerup", (ev) => {
    if (!start) return;
    const dx = ev.clientX - start.x;
    const dy = ev.clientY - start.y;
    const quick = ev.timeStamp - start.t < 800;
    start = null;
    if (quick && Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) turn(dx < 0 ? 1 : -1);
  });
  area.addEventListener("pointercancel", () => { start = null; });
}
