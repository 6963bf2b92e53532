// The console's results card: each presenter's frozen result once their 测评
// closed (with every voter group, the flags and the ballot digest), the official
// ranking from state.meeting.ranking, and the export downloads.

import { el, fill, officialRank } from "./client.js";
import { digestLine, flagList, groupTable, rankingTable } from "./results.js";

export function resultsCard(conn, code) {
  const api = `/api/meetings/${encodeURIComponent(code)}`;
  const list = el("div", { class: "result-list" });
  const ranking = el("div", { class: "ranking-box" });
  const empty = el("p", { class: "muted", text: "述法人测评结束后，其结果在此冻结显示。" });
  const downloads = el("p", { class: "downloads" },
    el("a", { class: "btn btn-small btn-secondary", href: `${api}/export/ballots.json`, download: `ballots-${code}.json` }, "下载选票数据（JSON，可用 live verify 核验）"),
    el("a", { class: "btn btn-small btn-secondary", href: `${api}/export/results.xlsx`, download: `results-${code}.xlsx` }, "下载结果表（Excel）"));
  const root = el("section", { class: "card results-card", "aria-labelledby": "results-title" },
    el("h2", { id: "results-title", text: "测评结果" }), empty, list, ranking, downloads);
  const open = new Map();  // item id -> whether its details are open (the host's choice)
  let shown = "";

  // The host's own tally of a closed item is the whole result; the state carries the public
  // one (small groups guarded; absent while a hidden result waits to be revealed).
  function resultOf(item) {
    const t = conn.tallies[item.id];
    return t && t.view === "full" ? t.result : item.result;
  }

  function render() {
    const state = conn.state;
    if (!state) return;
    const done = state.items.filter((i) => i.phase === "done");
    // Rebuild only when a result or the ranking changed, so open sections and the
    // focus survive unrelated updates.
    const key = JSON.stringify([done.map((i) => [i.id, resultOf(i), i.digest, i.result_hidden]), state.meeting.ranking,
      state.meeting.status]);
    if (key === shown) return;
    shown = key;
    empty.hidden = done.length > 0;
    const latest = done.length ? done[done.length - 1].id : null;
    fill(list, done.map((item) => itemResult(state, item, item.id === latest)));
    const rated = (state.meeting.ranking || []).some((e) => e.rank != null);
    fill(ranking, rated
      ? [el("h3", { text: state.meeting.status === "ended" ? "最终排名" : "当前排名（已结束测评的述法人）" }),
        rankingTable(state, { className: "ranking-table" }),
        el("p", { class: "muted small", text: "按公布总分（两位小数）排名，总分相同名次并列（1、2、2、4）。" })]
      : null);
  }

  function itemResult(state, item, openByDefault) {
    const isOpen = open.has(item.id) ? open.get(item.id) : openByDefault;
    const r = resultOf(item);
    const rank = officialRank(state, item.id);
    const summary = r
      ? [r.total_display ? `${r.total_display} 分` : "无总分", r.grade, r.satisfaction_rate_display ? `满意率 ${r.satisfaction_rate_display}` : null,
        rank != null ? `第 ${rank} 名` : null, item.result_hidden ? "（未揭晓，大屏不显示）" : null].filter(Boolean).join("　")
      : "结果未生成";
    const flagged = r && r.flags && r.flags.length;
    const details = el("details", { class: `item-result${flagged ? " has-flags" : ""}`, open: isOpen },
      el("summary", {},
        el("span", { class: "item-result-name" }, `${item.position}. `, el("b", { text: item.presenter.name })),
        el("span", { class: "item-result-sum num", text: summary }),
        flagged ? el("span", { class: "flag-badge", text: `${r.flags.length} 项提示` }) : null),
      r ? el("p", { class: "muted small num", text: [`选票 ${r.ballots}`, `有效 ${r.valid}`, `弃权 ${r.abstain}`, `无效 ${r.invalid}`,
        r.unassigned ? `未归组 ${r.unassigned}` : null].filter(Boolean).join(" · ") }) : null,
      r ? flagList(r) : null,
      r ? el("div", { class: "table-scroll" }, groupTable(r)) : null,
      digestLine(item.digest));
    // Remember only what the host chose: by default the latest result is open.
    details.addEventListener("toggle", () => {
      if (details.open !== openByDefault) open.set(item.id, details.open);
      else open.delete(item.id);
    });
    return details;
  }

  conn.on("state", render);
  conn.on("tally", render);
  render();
  return root;
}
