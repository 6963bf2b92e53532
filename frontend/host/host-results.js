// The console's results card: each presenter's frozen result once their 测评
// closed (with every voter group, the flags and the ballot digest), the official
// ranking from state.meeting.ranking, and the export downloads.

import { el, fill, officialRank, toast } from "../shared/client.js";
import { digestLine, flagList, groupTable, rankingTable, recordBlock } from "../shared/results.js";

export function resultsCard(conn, code) {
  const api = `/api/meetings/${encodeURIComponent(code)}`;
  const list = el("div", { class: "result-list" });
  const ranking = el("div", { class: "ranking-box" });
  const empty = el("p", { class: "muted", text: "述法人测评结束后，其结果在此冻结显示。" });
  const downloads = el("p", { class: "downloads" },
    el("a", { class: "btn btn-small btn-secondary", href: `${api}/export/ballots.json`, download: `ballots-${code}.json` }, "下载选票数据（JSON，可用 live verify 核验）"),
    el("a", { class: "btn btn-small btn-secondary", href: `${api}/export/results.xlsx`, download: `results-${code}.xlsx` }, "下载结果表（Excel）"));
  const recordBox = el("div", { class: "record-box" });
  const afterBox = el("div", { class: "after-meeting" });
  const audit = auditView(api);
  const root = el("section", { class: "card results-card", "aria-labelledby": "results-title" },
    el("h2", { id: "results-title", text: "测评结果" }), empty, list, ranking, recordBox, afterBox, downloads, audit);
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
      state.meeting.status, state.meeting.record]);
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
    fill(recordBox, recordSection(conn, state, code));
    fill(afterBox, afterMeeting(api, code, state.meeting.status));
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
      digestLine(item.digest),
      state.meeting.status === "live" ? voidButton(conn, item) : null);
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

// Once the meeting has ended: the 简报 for 上级 (charts of participation, votes, ranking,
// problems) and every question and comment with the per-minute series.
function afterMeeting(api, code, status) {
  if (status !== "ended") {
    return status === "live" ? el("p", { class: "muted small", text: "会议结束后，可在此下载会议简报和互动数据。" }) : null;
  }
  const link = (href, file, text, label) => el("a", { class: "btn btn-small btn-primary", href, download: file, "aria-label": label }, text);
  return [el("h3", { text: "会后材料" }),
    el("p", { class: "muted small", text: "简报含参与人数与互动随时间变化、各述法人分组投票分布（按公开结果）、排名和问题分类图表，可直接报送。" }),
    el("p", { class: "downloads" },
      link(`${api}/briefing.docx`, `briefing-${code}.docx`, "简报（Word）", "下载会议简报（Word）"),
      link(`${api}/briefing.pdf`, `briefing-${code}.pdf`, "简报（PDF）", "下载会议简报（PDF）"),
      el("a", { class: "btn btn-small btn-secondary", href: `${api}/export/interaction.xlsx`, download: `interaction-${code}.xlsx` },
        "互动数据（Excel：提问、评论、每分钟在线与互动）"))];
}

// The sealed record: the root with its QR, and the switch of the public results page.
function recordSection(conn, state, code) {
  const rec = state.meeting.record;
  const block = recordBlock(rec, code);
  if (!block) return null;
  const ended = state.meeting.status === "ended";
  const published = Boolean(rec.published);
  const toggle = el("button", { type: "button", class: `btn btn-small ${published ? "btn-secondary" : "btn-primary"}`,
    disabled: !ended, title: ended ? null : "会议结束后才能公开成绩" }, published ? "撤回公开" : "公开成绩（/r/ 页面）");
  toggle.addEventListener("click", () => {
    conn.send("meeting.publish", { on: !published }).then(
      () => toast(published ? "已撤回公开" : "成绩已公开", "ok", 2500), (e) => toast(e.message));
  });
  const link = published ? el("a", { href: `/r/${encodeURIComponent(code)}`, target: "_blank", rel: "noopener", text: "打开公开页面" }) : null;
  return [el("h3", { text: rec.signature ? "会议记录（已封存并签名）" : "会议记录（已封存，未签名）" }), block,
    el("p", { class: "downloads" }, toggle, link ? " " : null, link)];
}

// 作废重测: only with a written reason, which goes into the audit log.
function voidButton(conn, item) {
  const btn = el("button", { type: "button", class: "btn btn-small btn-secondary" }, "作废并重新测评…");
  btn.addEventListener("click", async () => {
    const reason = await reasonDialog(item.presenter.name);
    if (!reason) return;
    conn.send("item.void", { item_id: item.id, reason }).then(
      (ack) => toast(`已作废 ${ack.voided_ballots} 张选票，请重新开始测评`, "ok", 4000), (e) => toast(e.message));
  });
  return el("p", {}, btn);
}

function reasonDialog(name) {
  return new Promise((resolve) => {
    const area = el("textarea", { rows: 3, maxlength: 200, required: true, "aria-label": "作废理由" });
    const dlg = el("dialog", { class: "confirm", "aria-labelledby": "void-title" },
      el("h2", { id: "void-title", text: `作废「${name}」的测评` }),
      el("p", { text: "该述法人的全部选票和冻结结果将被清除，回到点评环节后重新测评。作废理由（至少 4 个字）将记入审计日志，公开可查。" }),
      area,
      el("div", { class: "confirm-actions" },
        el("button", { type: "button", class: "btn btn-secondary", onclick: () => dlg.close("cancel") }, "取消"),
        el("button", { type: "button", class: "btn btn-primary", onclick: () => {
          if (area.value.trim().length < 4) { toast("请写明作废理由（至少 4 个字）"); return; }
          dlg.close("ok");
        } }, "确定作废")));
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(dlg.returnValue === "ok" ? area.value.trim() : null);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// The audit log, read when opened: every host, recorder, admin and system action, hash-chained.
function auditView(api) {
  const body = el("div", {}, el("p", { class: "muted", text: "正在读取…" }));
  const details = el("details", { class: "audit-log" }, el("summary", { text: "审计日志（全部操作记录）" }), body);
  details.addEventListener("toggle", async () => {
    if (!details.open) return;
    try {
      const resp = await fetch(`${api}/audit`);
      const data = await resp.json();
      if (!resp.ok) throw new Error((data.error && data.error.message) || "读取失败");
      fill(body,
        el("p", { class: data.chain_ok ? "muted small" : "flag", text: data.chain_ok ? `共 ${data.entries.length} 条，哈希链完整` : `哈希链断裂：${data.problems.join("；")}` }),
        el("div", { class: "table-scroll" }, el("table", { class: "group-table" },
          el("thead", {}, el("tr", {}, ["序号", "时间", "操作人", "操作", "内容"].map((h) => el("th", { scope: "col", text: h })))),
          el("tbody", {}, data.entries.slice().reverse().map((e) => el("tr", {},
            el("td", { class: "num", text: String(e.seq) }),
            el("td", { class: "num", text: new Date(e.at_ms).toLocaleString("zh-CN", { hour12: false }) }),
            el("td", { text: ACTOR[e.actor] || e.actor }),
            el("td", { text: e.action }),
            el("td", { class: "small", text: JSON.stringify(e.details) })))))));
    } catch (err) {
      fill(body, el("p", { class: "flag", text: err.message }));
    }
  });
  return details;
}

const ACTOR = { host: "主持人", recorder: "记录员", admin: "管理员", system: "系统" };
