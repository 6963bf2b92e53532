// Slide helpers shared by the presenter view, the big screen, phones, tablets and the
// console. A page image is swapped in only once it is decoded, so a turn never shows a
// half-drawn or blank page; the pages next to the one on show are preloaded, so the
// next turn is instant.
//
// Timing for the browser test: once a page is on show, its view (the element with
// class "slide-view") carries
//   data-slide-page     the page number on show
//   data-slide-item     the agenda item id
//   data-slide-version  the deck version
//   data-slide-shown-at when it was put on show: performance.timeOrigin + performance.now()
//                       (milliseconds since the epoch, comparable across tabs of one machine)

import { currentItem, el, fill } from "./ui.js";

// The deck of an item (state.items[].slides), or null when it has none.
export function deckOf(item) {
  const s = item && item.slides;
  return s && s.pages > 0 ? s : null;
}

export function pageUrl(item, page, { thumb = false } = {}) {
  const s = item.slides;
  // s.base (/slides/ITEM/VERSION-KEY) carries the deck's random key.
  return `${s.base || `/slides/${item.id}/${s.version}`}/${page}${thumb ? ".thumb" : ""}.png`;
}

// A high-resolution wall-clock stamp, comparable between pages on one machine.
export function stamp() {
  return Math.round((performance.timeOrigin + performance.now()) * 10) / 10;
}

// The item whose slides are on show during 述法, or null.
export function reportingItem(state) {
  if (!state || state.meeting.status !== "live") return null;
  const item = currentItem(state);
  return item && item.phase === "report" && deckOf(item) ? item : null;
}

// Decoded page images, least recently used dropped first (a 1600 px page is a
// few MB once decoded; a deck may have 150 pages).
class ImageCache {
  constructor(limit) {
    this.limit = limit;
    this.map = new Map();
  }

  get(url) {
    let entry = this.map.get(url);
    if (entry) {
      this.map.delete(url);
      this.map.set(url, entry);
      return entry;
    }
    const img = new Image();
    img.decoding = "async";
    img.draggable = false;
    entry = { img, done: false, failed: false };
    img.src = url;
    entry.ready = img.decode().then(() => {
      entry.done = true;
      return entry;
    }, (err) => {
      entry.failed = true;
      if (this.map.get(url) === entry) this.map.delete(url);  // a later call tries again
      throw err;
    });
    entry.ready.catch(() => null);  // preloads that fail are not worth a console error
    this.map.set(url, entry);
    while (this.map.size > this.limit) this.map.delete(this.map.keys().next().value);
    return entry;
  }
}

// One place a slide is shown. `thumb` shows the 240 px thumbnails (a phone's inline
// view: a hall of phones on one Wi-Fi should not each fetch the 1600 px page).
export function slideView({ className = "", thumb = false, ahead = 1, behind = 1, cacheSize = 6,
  empty = "暂无幻灯片" } = {}) {
  const node = el("div", { class: `slide-view ${className}`.trim() });
  const cache = new ImageCache(Math.max(cacheSize, ahead + behind + 2));
  let shownUrl = null;
  let wantedUrl = null;

  function put(entry, item, page, url) {
    if (wantedUrl !== url) return;
    const s = item.slides;
    entry.img.alt = `幻灯片第 ${page} 页，共 ${s.pages} 页`;
    if (entry.img.parentNode !== node || node.childNodes.length !== 1) node.replaceChildren(entry.img);
    shownUrl = url;
    node.classList.remove("is-empty", "is-failed", "is-loading");
    node.dataset.slideItem = String(item.id);
    node.dataset.slideVersion = String(s.version);
    node.dataset.slidePage = String(page);
    node.dataset.slideShownAt = String(stamp());
  }

  // Show `page` of `item` (default: the item's current page). Resolves true once on show.
  function show(item, page = item && item.slides ? item.slides.page : 0) {
    const deck = deckOf(item);
    if (!deck || !(page >= 1 && page <= deck.pages)) {
      clear();
      return Promise.resolve(false);
    }
    const url = pageUrl(item, page, { thumb });
    wantedUrl = url;
    if (shownUrl === url && node.firstChild) {
      preloadAround(item, page);
      return Promise.resolve(true);
    }
    const entry = cache.get(url);
    let result;
    if (entry.done) {
      put(entry, item, page, url);  // decoded already: on show in this very task
      result = Promise.resolve(true);
    } else {
      node.classList.add("is-loading");
      result = entry.ready.then(() => {
        if (wantedUrl !== url) return false;
        put(entry, item, page, url);
        return true;
      }, () => {
        if (wantedUrl !== url) return false;
        failed(page);
        return false;
      }).finally(() => {
        if (wantedUrl === url) node.classList.remove("is-loading");
      });
    }
    preloadAround(item, page);
    return result;
  }

  function preloadAround(item, page) {
    const pages = item.slides.pages;
    for (let d = 1; d <= Math.max(ahead, behind); d += 1) {
      if (d <= ahead && page + d <= pages) cache.get(pageUrl(item, page + d, { thumb }));
      if (d <= behind && page - d >= 1) cache.get(pageUrl(item, page - d, { thumb }));
    }
  }

  function failed(page) {
    shownUrl = null;
    node.classList.add("is-failed");
    fill(node, el("p", { class: "slide-message", text: `第 ${page} 页加载失败，请检查网络` }));
    // Nothing is on show now, so no timing attribute may describe a page.
    for (const key of ["slidePage", "slideShownAt", "slideItem", "slideVersion"]) delete node.dataset[key];
  }

  function clear(message = empty) {
    wantedUrl = null;
    shownUrl = null;
    node.classList.remove("is-loading", "is-failed");
    node.classList.add("is-empty");
    fill(node, message ? el("p", { class: "slide-message", text: message }) : null);
    for (const key of ["slideItem", "slideVersion", "slidePage", "slideShownAt"]) delete node.dataset[key];
  }

  // Warm the cache without showing anything (e.g. the first page of the next deck).
  function preload(item, page) {
    if (deckOf(item) && page >= 1 && page <= item.slides.pages) cache.get(pageUrl(item, page, { thumb }));
  }

  clear();
  return { node, show, clear, preload };
}

// The slide card of a phone or a tablet: during 述法 the current page as a small image;
// a tap opens it large (and it keeps following the presenter while open).
// `thumb`: the inline image is the thumbnail (phones); the enlarged one is always full size.
export function slideCard(conn, { thumb = false } = {}) {
  const small = slideView({ className: "slide-small", thumb });
  const caption = el("p", { class: "slide-caption" });
  const open = el("button", { type: "button", class: "slide-open", "aria-label": "放大幻灯片" }, small.node);
  const root = el("section", { class: "card slide-card", "aria-label": "幻灯片", hidden: true },
    el("h2", { text: "幻灯片" }), open, caption);

  const large = slideView({ className: "slide-large" });
  const largeCaption = el("span", { class: "slide-dialog-caption" });
  const close = el("button", { type: "button", class: "btn btn-secondary slide-close" }, "关闭");
  const dialog = el("dialog", { class: "slide-dialog", "aria-label": "幻灯片（放大）" },
    el("div", { class: "slide-dialog-bar" }, largeCaption, el("span", { class: "slide-dialog-hint", text: "横置手机看得更清楚" }), close),
    large.node);
  close.addEventListener("click", () => dialog.close());
  // A tap on the page (or the backdrop) closes it too.
  dialog.addEventListener("click", (ev) => { if (ev.target !== close) dialog.close(); });
  open.addEventListener("click", () => {
    if (!root.hidden) {
      if (!dialog.isConnected) document.body.append(dialog);
      dialog.showModal();
      render();
    }
  });

  function render() {
    const item = reportingItem(conn.state);
    root.hidden = !item;
    if (!item) {
      small.clear();
      if (dialog.open) dialog.close();
      return;
    }
    const s = item.slides;
    const text = `第 ${s.page} / ${s.pages} 页`;
    caption.textContent = `${text}　点按图片放大`;
    largeCaption.textContent = `${item.presenter.name}　${text}`;
    small.show(item);
    if (dialog.open) large.show(item);
  }

  conn.on("state", render);
  render();
  return root;
}
