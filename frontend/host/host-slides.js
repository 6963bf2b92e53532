// The console's venue cards: the presenters' slide decks (upload a PDF per presenter,
// page counts, turn the page of the one on stage), the live-stream address, and the
// printables (评议团 QR cards, the join poster).

import { confirmDialog, csrfHeaders, currentItem, el, fill, run, toast } from "../shared/client.js";
import { deckOf, slideView } from "../shared/slides.js";

const MAX_MB = 30;
const MAX_PAGES = 150;

// ---- slides ------------------------------------------------------------------------------

export function slidesCard(conn, api) {
  const now = el("div", { class: "slide-now" });
  const body = el("tbody");
  const root = el("section", { class: "card slides-card", "aria-label": "幻灯片" },
    el("h2", { text: "幻灯片" }),
    now,
    el("div", { class: "table-scroll" },
      el("table", { class: "slides-table" },
        el("thead", {}, el("tr", {}, ["序号", "述法人", "演示文稿", "上传 PDF"].map((h) => el("th", { scope: "col", text: h })))),
        body)),
    el("p", { class: "muted slides-hint", text: `每位述法人一个 PDF（由 PPT/WPS 导出），不超过 ${MAX_MB} MB、${MAX_PAGES} 页。重新上传会替换原文稿并回到第 1 页。` }));

  // The one on stage: its page, a thumbnail of it, and 上一页/下一页. Built once and
  // only updated, so the keyboard focus stays on a button from one turn to the next.
  const preview = slideView({ className: "slide-now-view", thumb: true, empty: "" });
  const nowTitle = el("p", { class: "slide-now-title" });
  const nowPage = el("p", { class: "slide-now-page num", "aria-live": "polite" });
  const noDeck = el("p", { class: "muted", text: "尚未上传演示文稿：请在下表上传 PDF。" });
  const prev = el("button", { type: "button", class: "btn btn-secondary btn-small" }, "‹ 上一页");
  const next = el("button", { type: "button", class: "btn btn-secondary btn-small" }, "下一页 ›");
  const turns = el("div", { class: "turns", role: "group", "aria-label": "翻页" }, prev, next);
  fill(now, preview.node, el("div", {}, nowTitle, nowPage, noDeck, turns));
  prev.addEventListener("click", () => turn(prev, -1));
  next.addEventListener("click", () => turn(next, 1));

  // Per item: its row and upload control, kept across renders so a running upload
  // keeps its progress and a focused control keeps the focus.
  const rows = new Map();
  let order = "";

  function turn(button, delta) {
    const item = currentItem(conn.state);
    if (!deckOf(item) || button.getAttribute("aria-disabled") === "true") return;
    const page = item.slides.page + delta;
    if (page < 1 || page > item.slides.pages) return;
    button.setAttribute("aria-disabled", "true");
    conn.send("slide.goto", { item_id: item.id, page })
      .catch((err) => toast(`翻页失败：${(err && err.message) || "请重试"}`))
      .finally(() => button.removeAttribute("aria-disabled"));
  }

  function render() {
    const state = conn.state;
    if (!state) return;
    const item = currentItem(state);
    const deck = deckOf(item);
    now.hidden = !(item && item.phase !== "done");
    if (!now.hidden) {
      now.classList.toggle("is-empty", !deck);
      nowTitle.textContent = `台上：${item.presenter.name}`;
      nowPage.hidden = turns.hidden = !deck;
      noDeck.hidden = !!deck;
      if (deck) {
        nowPage.textContent = `第 ${deck.page} / ${deck.pages} 页`;
        prev.disabled = deck.page <= 1;
        next.disabled = deck.page >= deck.pages;
        preview.show(item);
      } else {
        preview.clear("");
      }
      preview.node.hidden = !deck;
    }
    const ids = state.items.map((i) => i.id).join(",");
    for (const i of state.items) row(i, state);
    if (ids !== order) {
      order = ids;
      fill(body, state.items.map((i) => rows.get(i.id).tr));
    }
  }

  function row(item, state) {
    let r = rows.get(item.id);
    if (!r) {
      const upload = uploadRow(item, api);
      const pos = el("td", { class: "num" });
      const name = el("b");
      const deckCell = el("td", { class: "deck num" });
      r = { upload, pos, name, deckCell, tr: el("tr", {}, pos, el("td", {}, name), deckCell, el("td", {}, upload.node)) };
      rows.set(item.id, r);
    }
    r.upload.update(item);
    const deck = deckOf(item);
    const isCurrent = item.id === state.meeting.current_item_id && item.phase !== "done";
    r.tr.className = isCurrent ? "current" : "";
    r.pos.textContent = String(item.position);
    r.name.textContent = item.presenter.name;
    r.deckCell.textContent = deck ? `${deck.pages} 页${isCurrent ? `（第 ${deck.page} 页）` : ""}` : "未上传";
  }

  conn.on("state", render);
  render();
  return root;
}

// The upload control of one presenter: a file button, progress, the server's verdict.
function uploadRow(initial, api) {
  let item = initial;
  let busy = false;
  const input = el("input", { type: "file", accept: "application/pdf,.pdf" });
  const labelText = el("span", { text: "上传 PDF" });
  const label = el("label", { class: "btn btn-secondary btn-small upload-label" }, labelText, input);
  const status = el("div", { class: "upload-status", "aria-live": "polite" });
  const node = el("div", { class: "upload-cell" }, label, status);

  function update(next) {
    item = next;
    if (!busy) labelText.textContent = deckOf(item) ? "替换 PDF" : "上传 PDF";
    input.setAttribute("aria-label", `${labelText.textContent}：${item.presenter.name}`);
  }

  function setBusy(on) {
    busy = on;
    input.disabled = on;
    label.classList.toggle("is-busy", on);
  }

  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    input.value = "";  // choosing the same file again fires change again
    if (!file || busy) return;
    const problem = checkFile(file);
    if (problem) {
      fill(status, el("p", { class: "upload-error", role: "alert", text: problem }));
      return;
    }
    if (deckOf(item)) {
      const ok = await confirmDialog("替换演示文稿",
        `「${item.presenter.name}」已有 ${item.slides.pages} 页的演示文稿。替换后各屏幕将显示新文稿的第 1 页。确定替换吗？`, "替换");
      if (!ok) return;
    }
    upload(file);
  });

  function upload(file) {
    setBusy(true);
    const bar = el("progress", { max: "100", value: "0", "aria-label": `${item.presenter.name}的上传进度` });
    const text = el("span", { class: "num", text: "正在上传 0%" });
    fill(status, el("div", { class: "upload-progress" }, bar, text));
    const form = new FormData();
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${api}/items/${item.id}/slides`);
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = "text";
    xhr.timeout = 10 * 60 * 1000;
    xhr.upload.addEventListener("progress", (ev) => {
      if (!ev.lengthComputable) return;
      const pct = Math.floor((ev.loaded / ev.total) * 100);
      bar.value = pct;
      text.textContent = `正在上传 ${pct}%`;
    });
    xhr.upload.addEventListener("load", () => {
      // The bytes are there; the server now checks and renders every page.
      bar.removeAttribute("value");
      text.textContent = "已上传，正在转换页面…";
    });
    const fail = (message) => {
      setBusy(false);
      update(item);
      fill(status, el("p", { class: "upload-error", role: "alert", text: message }));
    };
    xhr.addEventListener("load", () => {
      let reply = {};
      try {
        reply = JSON.parse(xhr.responseText || "{}");
      } catch { /* not JSON: a proxy's error page */ }
      if (xhr.status >= 200 && xhr.status < 300 && reply.ok) {
        setBusy(false);
        update(item);
        fill(status, el("p", { class: "upload-ok", role: "status", text: `✓ 已上传「${file.name}」，共 ${reply.pages} 页` }));
        toast(`「${item.presenter.name}」的演示文稿已更新：${reply.pages} 页`, "ok", 3000);
        return;
      }
      const message = reply.error && reply.error.message;
      if (xhr.status === 401 || xhr.status === 403) fail(message || "登录已失效，请刷新页面重新登录后再上传");
      else if (xhr.status === 413) fail(message || `文件过大：上限 ${MAX_MB} MB`);
      else fail(message ? `上传失败：${message}` : `上传失败（服务器返回 ${xhr.status}），请重试`);
    });
    xhr.addEventListener("error", () => fail("上传失败：网络中断，请检查网络后重试"));
    xhr.addEventListener("timeout", () => fail("上传超时，请检查网络后重试"));
    xhr.addEventListener("abort", () => fail("上传已取消"));
    xhr.send(form);
  }

  return { node, update };
}

// Checked here first so a wrong file fails at once; the server checks again.
function checkFile(file) {
  const isPdf = file.type === "application/pdf" || /\.pdf$/i.test(file.name);
  if (!isPdf) return `「${file.name}」不是 PDF 文件：请上传由 PPT/WPS 导出的 PDF`;
  if (file.size === 0) return "文件为空";
  if (file.size > MAX_MB * 1024 * 1024) {
    return `文件过大：${(file.size / 1024 / 1024).toFixed(1)} MB，上限 ${MAX_MB} MB。请压缩图片后重新导出 PDF`;
  }
  return null;
}

// ---- the stream address ------------------------------------------------------------------

export function streamCard(conn) {
  const input = el("input", { type: "url", inputmode: "url", maxlength: "500", spellcheck: "false", autocomplete: "off",
    placeholder: "https://…/live.m3u8" });
  const save = el("button", { type: "submit", class: "btn btn-secondary btn-small" }, "保存");
  const clear = el("button", { type: "button", class: "btn btn-secondary btn-small" }, "清除");
  const state = el("p", { class: "stream-state", "aria-live": "polite" });
  const warn = el("p", { class: "stream-warn", role: "alert", hidden: true });
  const form = el("form", { class: "card stream-form", "aria-label": "直播地址" },
    el("h2", { text: "直播地址" }),
    el("label", {}, "直播地址（HLS，.m3u8）", input),
    el("div", { class: "row" }, save, clear),
    warn, state,
    el("p", { class: "muted small", text: "设置后手机页顶部显示直播画面（静音自动播放，投票等操作在下方照常使用）；浏览器不支持直接播放时显示「在新窗口打开直播」链接。" }));
  let dirty = false;
  let current = null;
  input.addEventListener("input", () => {
    dirty = true;
    showWarning();
  });

  function showWarning() {
    const v = input.value.trim();
    let message = "";
    if (v && !/^https?:\/\/\S+$/i.test(v)) message = "地址须以 http:// 或 https:// 开头，且不含空格";
    else if (/^http:\/\//i.test(v)) message = "建议使用 https 地址：手机页面只能内嵌播放 https（或本站）的直播流，其他地址只显示打开链接";
    else if (v && !/\.m3u8(\?|#|$)/i.test(v)) message = "提示：HLS 直播地址通常以 .m3u8 结尾，请确认";
    warn.textContent = message;
    warn.hidden = !message;
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const url = input.value.trim();
    if (!url) return setUrl(clear, null);
    if (!/^https?:\/\/\S+$/i.test(url) || url.length > 500) {
      toast("直播地址格式不正确：须以 http:// 或 https:// 开头，不超过 500 个字符");
      input.focus();
      return undefined;
    }
    return setUrl(save, url);
  });
  clear.addEventListener("click", async () => {
    if (!current) return;
    if (await confirmDialog("清除直播地址", "清除后手机页将不再显示直播画面。确定清除吗？", "清除")) setUrl(clear, null);
  });

  function setUrl(button, url) {
    return run(button, async () => {
      await conn.send("meeting.stream", { url });
      dirty = false;
      toast(url ? "直播地址已保存，手机页将显示直播" : "直播地址已清除", "ok", 2500);
    });
  }

  function render(st) {
    current = st.meeting.stream_url || null;
    fill(state, current ? [el("b", { text: "● 直播中：" }), current] : "当前未设置直播地址");
    clear.disabled = !current;
    if (!dirty && document.activeElement !== input) {
      input.value = current || "";
      showWarning();
    }
  }

  conn.on("state", render);
  if (conn.state) render(conn.state);
  return form;
}

// ---- printables ----------------------------------------------------------------------------

export function printablesCard(api) {
  return el("section", { class: "card printables", "aria-label": "打印材料" },
    el("h2", { text: "打印材料" }),
    el("div", { class: "downloads" },
      el("a", { class: "btn btn-secondary btn-small", href: `${api}/print/panel-cards.pdf`, download: "" }, "下载评议团二维码卡片（A4 PDF）"),
      el("a", { class: "btn btn-secondary btn-small", href: `${api}/print/join-poster.pdf`, download: "" }, "下载群众扫码海报（A4 PDF）")),
    el("p", { class: "muted small", text: "卡片上印有每位评议团成员的姓名、类别和个人二维码，请分发到本人；收回链接后需重新打印。" }));
}

// ---- mounting ------------------------------------------------------------------------------

// The slides card after the agenda; the stream address and the printables after the
// venue links (or at the end of each column).
export function hostSlides(conn, api) {
  const main = document.querySelector(".host-main") || document.getElementById("app");
  const side = document.querySelector(".host-side") || main;
  const slides = slidesCard(conn, api);
  const agenda = main.querySelector(".agenda-table");
  const agendaCard = agenda && agenda.closest(".card");
  if (agendaCard) agendaCard.after(slides);
  else main.append(slides);
  const extras = [streamCard(conn), printablesCard(api)];
  const links = side.querySelector(".links");
  if (links) links.after(...extras);
  else side.append(...extras);
}
