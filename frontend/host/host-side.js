// The console's side cards: live figures, tally, durations, links, panel links.

import { ACTIVE_PHASES, confirmDialog, csrfHeaders, currentItem, el, fill, resultFacts, run, toast } from "../shared/client.js";
import { tallyView } from "../shared/tally.js";

const DURATION_FIELDS = [["report", "述法"], ["inquiry", "质询"], ["comment", "点评"], ["voting", "测评"]];

export function figuresCard(conn) {
  const body = el("div");
  const root = el("section", { class: "card figures", "aria-label": "在线情况" }, el("h2", { text: "在线情况" }), body);

  function render() {
    const p = conn.presence;
    const state = conn.state;
    if (!p || !state) return;
    const online = new Set(p.panel_online || []);
    const members = state.panel.filter((m) => !m.revoked);
    fill(body,
      el("div", { class: "figure-row" },
        figure("群众在线", p.audience), figure("评议团在线", `${online.size} / ${p.panel_total}`), figure("大屏", p.screens)),
      el("ul", { class: "member-list" }, members.map((m) =>
        el("li", { class: online.has(m.id) ? "on" : "off", title: online.has(m.id) ? "在线" : "离线" },
          el("span", { class: "dot", "aria-hidden": "true" }),
          `${m.name}（${m.category}）`, el("span", { class: "sr-only", text: online.has(m.id) ? " 在线" : " 离线" })))));
  }

  conn.on("presence", render);
  conn.on("state", render);
  return root;
}

function figure(label, value) {
  return el("div", { class: "figure" }, el("span", { class: "figure-value num", text: String(value) }),
    el("span", { class: "figure-label", text: label }));
}

// The tally of the item on stage (or the one just closed).
export function tallyCard(conn) {
  const view = tallyView();
  const title = el("h2", { text: "实时票数" });
  const note = el("p", { class: "muted" });
  const live = el("dl", { class: "facts" });
  const root = el("section", { class: "card" }, title, note, view.node, live);

  function render() {
    const state = conn.state;
    if (!state) return;
    const item = state.items.find((i) => ACTIVE_PHASES.has(i.phase)) || currentItem(state);
    root.hidden = !item;
    if (!item) return;
    const tally = conn.tallies[item.id] || null;
    title.textContent = `实时票数 · ${item.presenter.name}`;
    note.textContent = item.phase === "voting" ? "测评进行中" : item.phase === "done" ? "测评已结束，结果已冻结" : "尚未进入测评";
    view.update(state.meeting.scheme, tally);
    // After the close the host's own tally is the whole result (the state's is the public one,
    // absent while a hidden result waits to be revealed).
    const result = tally && tally.view === "full" ? tally.result : item.phase === "done" ? item.result : tally && tally.result;
    fill(live, resultFacts(result).map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))));
  }

  conn.on("tally", render);
  conn.on("state", render);
  return root;
}

export function durationsCard(conn) {
  const inputs = {};
  let dirty = false;
  const rows = DURATION_FIELDS.map(([key, label]) => {
    inputs[key] = el("input", { type: "number", min: "0", max: "240", step: "0.5", inputmode: "decimal" });
    inputs[key].addEventListener("input", () => { dirty = true; });
    return el("label", { class: "duration" }, `${label}（分钟）`, inputs[key]);
  });
  const save = el("button", { type: "submit", class: "btn btn-secondary" }, "保存默认时长");
  const form = el("form", { class: "card durations" },
    el("h2", { text: "环节默认时长" }),
    el("p", { class: "muted", text: "进入某环节时按此时长开始倒计时；已在进行的计时请用上方按钮调整。" }),
    el("div", { class: "duration-grid" }, rows), save);

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const durations = {};
    for (const [key] of DURATION_FIELDS) {
      const minutes = Number(inputs[key].value);
      if (!Number.isFinite(minutes) || minutes < 0) return toast("时长须为不小于 0 的分钟数");
      durations[key] = Math.round(minutes * 60);
    }
    run(save, async () => {
      await conn.send("meeting.durations", { durations });
      dirty = false;
      toast("默认时长已保存", "ok", 2500);
    });
  });

  conn.on("state", (state) => {
    if (dirty) return;  // do not overwrite what the host is typing
    for (const [key] of DURATION_FIELDS) {
      const s = (state.meeting.durations || {})[key];
      inputs[key].value = s === undefined ? "" : String(s / 60);
    }
  });
  return form;
}

export function linksCard(code) {
  const origin = location.origin;
  const join = `${origin}/j/${code}`;
  return el("section", { class: "card links" }, el("h2", { text: "会场链接" }),
    el("p", {}, el("a", { href: `/screen/${code}`, target: "_blank", rel: "noopener" }, "打开大屏"), "　",
      el("a", { href: `/presenter/${code}`, target: "_blank", rel: "noopener" }, "打开述法人视图")),
    // The broadcast overlay for the 融媒体 crew: a transparent browser source (OBS/vMix, 1920×1080).
    el("p", { class: "overlay-link" }, el("span", { class: "muted", text: "直播叠加层（OBS/vMix 浏览器源 1920×1080）" }), el("br"),
      el("a", { href: `${origin}/overlay/${code}?layers=lower,question,tally,likes`, target: "_blank", rel: "noopener",
        class: "num", text: `${origin}/overlay/${code}?layers=lower,question,tally,likes` })),
    el("div", { class: "join-line" },
      el("img", { src: `/qr/join/${code}.png`, alt: "群众加入二维码", width: 96, height: 96 }),
      el("div", {}, el("p", { class: "muted", text: "群众加入" }), el("p", { class: "code-text num", text: code }),
        el("a", { href: join, target: "_blank", rel: "noopener", text: join }))));
}

// Personal links for the 评议团: show, copy, revoke (a lost tablet, a leaked link).
export function panelLinksCard(conn, api) {
  const list = el("div", { class: "panel-links" });
  const load = el("button", { type: "button", class: "btn btn-secondary" }, "显示评议团个人链接");
  const root = el("section", { class: "card" }, el("h2", { text: "评议团个人链接" }), load, list);

  async function fetchLinks() {
    const resp = await fetch(`${api}/panel`, { credentials: "same-origin" });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw body.error || { message: `加载失败（${resp.status}）` };
    return body.members || [];
  }

  function row(m) {
    const link = el("input", { type: "text", readonly: true, value: m.url || "", "aria-label": `${m.name}的个人链接` });
    const copy = el("button", { type: "button", class: "btn btn-small btn-secondary", disabled: !m.url }, "复制");
    copy.addEventListener("click", () => copyText(link));
    const revoke = el("button", { type: "button", class: "btn btn-small" }, "收回并重发");
    // A link works only on the first device that opened it; releasing lets the next device in.
    const release = el("button", { type: "button", class: "btn btn-small btn-secondary", disabled: !m.bound }, "解除设备绑定");
    const pin = el("button", { type: "button", class: "btn btn-small btn-secondary" }, m.pin ? "更换 PIN" : "设置 PIN");
    const node = el("div", { class: "panel-link" },
      m.qr ? el("a", { href: m.qr, target: "_blank", rel: "noopener", title: "放大二维码" },
        el("img", { src: m.qr, alt: `${m.name}的二维码`, width: 88, height: 88 })) : el("span", { class: "qr-none", text: "已收回" }),
      el("div", { class: "panel-link-body" },
        el("b", { text: m.name }), el("span", { class: "muted", text: `（${m.category}）` }),
        el("span", { class: "muted", text: m.bound ? " · 已在设备上使用" : " · 尚未使用" }),
        m.pin ? el("span", { class: "muted", text: ` · PIN ${m.pin}` }) : null,
        el("div", { class: "link-line" }, link, copy, revoke, release, pin)));
    const change = (button, path, body, done) => run(button, async () => {
      const resp = await fetch(`${api}/panel/${m.id}/${path}`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", ...csrfHeaders() }, body: JSON.stringify(body || {}),
      });
      const got = await resp.json().catch(() => ({}));
      if (!resp.ok) throw got.error || { message: `操作失败（${resp.status}）` };
      node.replaceWith(row(got));
      toast(done, "ok", 3000);
    });
    revoke.addEventListener("click", async () => {
      const ok = await confirmDialog("收回个人链接",
        `收回后「${m.name}」的原链接和二维码立即失效，并生成新链接。请把新链接交给本人。确定收回吗？`, "收回并重发");
      if (ok) change(revoke, "revoke", null, `已为「${m.name}」生成新链接`);
    });
    release.addEventListener("click", async () => {
      const ok = await confirmDialog("解除设备绑定",
        `解除后「${m.name}」当前设备上的评议页面立即断开，下一台打开该链接的设备将取得使用权。确定解除吗？`, "解除绑定");
      if (ok) change(release, "release", null, `已解除「${m.name}」的设备绑定`);
    });
    pin.addEventListener("click", () => change(pin, "pin", { on: true }, `已为「${m.name}」生成新 PIN，请重新打印评议卡`));
    return node;
  }

  load.addEventListener("click", () => run(load, async () => {
    fill(list, (await fetchLinks()).map(row));
    load.textContent = "刷新";
  }));
  return root;
}

function copyText(input) {
  input.select();
  const done = () => toast("已复制", "ok", 1500);
  // navigator.clipboard needs a secure context, which a venue LAN on http is not.
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(input.value).then(done, () => null);
  else if (document.execCommand("copy")) done();
}
