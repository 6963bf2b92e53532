// The public results page /r/CODE (晒成绩、亮问题): the ranking, each presenter's
// frozen result, the signed record root with its QR, and the ballots file anyone
// can recount with `live verify`. The server answers only once the host published.

import { el, fill, resultFacts } from "../shared/ui.js";
import { flagList, groupTable, rankingTable, recordBlock } from "../shared/results.js";

const code = decodeURIComponent(location.pathname.replace(/^\/r\//, "").split("/")[0] || "").toUpperCase();
const app = document.getElementById("app");

load();

async function load() {
  let data;
  try {
    const resp = await fetch(`/api/public/${encodeURIComponent(code)}/results`);
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      fill(app, el("p", { class: "card", text: (body.error && body.error.message) || "测评结果尚未公开" }));
      return;
    }
    data = await resp.json();
  } catch {
    fill(app, el("p", { class: "card", text: "网络连接失败，请稍后刷新重试" }));
    return;
  }
  render(data);
}

function render(data) {
  const m = data.meeting;
  document.getElementById("title").textContent = m.title;
  document.title = `${m.title} · 测评结果`;
  const state = { meeting: m, items: data.items };
  const ranking = rankingTable(state, { className: "ranking-table" });
  const file = `/api/public/${encodeURIComponent(code)}/ballots.json`;
  fill(app,
    el("section", { class: "card" },
      el("h2", { text: "测评结果排名" }),
      m.held_on ? el("p", { class: "muted", text: `会议日期：${m.held_on}` }) : null,
      ranking ? el("div", { class: "table-wrap" }, ranking) : el("p", { class: "muted", text: "本次会议没有产生排名" }),
      el("p", { class: "muted", text: "按公布总分（保留两位小数）排名，总分相同名次并列。" })),
    data.items.map(presenterCard),
    el("section", { class: "card" },
      el("h2", { text: "核对这份结果" }),
      recordBlock(m.record, code) || el("p", { class: "muted", text: "会议记录尚未封存" }),
      el("p", {}, "下载全部选票（不含投票人）：", el("a", { href: file, download: `ballots-${code}.json`, text: "选票文件 JSON" })),
      el("p", { class: "muted", text: "任何人都可以用开源程序重新计票并核对根摘要与签名：" }),
      el("pre", { class: "table-wrap", text: `live verify ballots-${code}.json --expect 根摘要 --pubkey 主办方公钥` })));
}

function presenterCard(item) {
  const p = item.presenter;
  const r = item.result;
  const facts = resultFacts(r);
  return el("section", { class: "card presenter-card" },
    el("h3", { text: `${item.position}. ${p.name}` }),
    el("p", { class: "muted", text: [p.post, p.unit].filter(Boolean).join("　") }),
    r
      ? [el("dl", { class: "facts" }, facts.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { class: "num", text: v })))),
        el("div", { class: "table-wrap" }, groupTable(r, { compact: true })),
        flagList(r)]
      : el("p", { class: "muted", text: "未产生测评结果" }));
}
