// The host's public voting card: the mode (开放投票 / 票码 / 实名名单), tickets, the roster,
// releasing a credential from its phone, and the open-mode anomaly figures.

import { confirmDialog, csrfHeaders, el, fill, run, toast } from "../shared/client.js";

const MODES = [
  ["open", "开放投票（未实名）：扫码即可投票，每个网络限量"],
  ["ticket", "票码：凭一次性票码投票，一码一人"],
  ["roster", "实名名单：凭个人链接投票，适用于干部职工民主测评"],
];

async function call(url, opts = {}) {
  const resp = await fetch(url, { credentials: "same-origin", ...opts, headers: csrfHeaders(opts.headers || {}) });
  if (!resp.ok) {
    const body = await resp.json().catch(() => ({}));
    throw body.error || { message: `操作失败（${resp.status}）` };
  }
  return resp;
}

function download(blob, name) {
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

export function publicVotingCard(conn, api) {
  const select = el("select", { name: "public_mode", "aria-label": "群众投票方式" },
    MODES.map(([value, label]) => el("option", { value }, label)));
  const save = el("button", { type: "button", class: "btn btn-secondary" }, "保存投票方式");
  const note = el("p", { class: "muted" });
  const body = el("div", {});
  const root = el("section", { class: "card public-voting" }, el("h2", { text: "群众投票方式" }),
    el("label", { class: "field" }, "测评开始前选定，开始后不能更改", select), save, note, body);
  let shown = null;

  save.addEventListener("click", () => run(save, async () => {
    const reply = await conn.send("meeting.public_mode", { mode: select.value });
    toast(`群众投票方式已设为「${reply.public_mode_label}」`, "ok", 3000);
  }));

  function render(state) {
    const mode = state.meeting.public_mode || "open";
    note.textContent = `当前：${state.meeting.public_mode_label || mode}`;
    if (document.activeElement !== select) select.value = mode;
    if (shown === mode) return;
    shown = mode;
    fill(body, mode === "ticket" ? ticketPanel(api) : mode === "roster" ? rosterPanel(api) : openPanel(api));
  }
  conn.on("state", render);
  return root;
}

function credentialList(api, kind) {
  const list = el("div", { class: "credential-list" });
  const load = el("button", { type: "button", class: "btn btn-small btn-secondary" }, kind === "ticket" ? "显示票码使用情况" : "显示名单");

  function row(c) {
    const who = kind === "ticket" ? `No.${c.number}（${c.group}）` : `${c.number}. ${c.name}（${c.unit || "—"}，${c.group}）`;
    const release = el("button", { type: "button", class: "btn btn-small", disabled: !c.bound }, "解除绑定");
    release.addEventListener("click", async () => {
      const ok = await confirmDialog("解除绑定",
        `解除后，原手机立即不能再用「${who}」投票，下一台出示该凭证的手机将被绑定。此操作会记入日志。确定吗？`, "解除绑定");
      if (!ok) return;
      run(release, async () => {
        const updated = await (await call(`${api}/credentials/${c.id}/release`, { method: "POST" })).json();
        node.replaceWith(row({ ...c, ...updated }));
        toast("已解除绑定", "ok", 2500);
      });
    });
    const node = el("div", { class: "credential-row" }, el("span", { text: who }),
      el("span", { class: c.bound ? "" : "muted", text: c.bound ? "已绑定手机" : "未使用" }),
      kind === "roster" && c.url ? el("input", { type: "text", readonly: true, value: c.url, "aria-label": `${c.name}的个人链接` }) : null,
      release);
    return node;
  }

  load.addEventListener("click", () => run(load, async () => {
    const data = await (await call(`${api}/credentials?kind=${kind}`)).json();
    fill(list, el("p", { class: "muted", text: `共 ${data.credentials.length} 个，已绑定 ${data.bound} 个` }),
      data.credentials.map(row));
    load.textContent = "刷新";
  }));
  return el("div", {}, load, list);
}

function ticketPanel(api) {
  const count = el("input", { type: "number", min: 1, max: 5000, value: 100, "aria-label": "票码数量" });
  const group = el("input", { type: "text", maxlength: 20, value: "群众代表", "aria-label": "群体" });
  const make = el("button", { type: "button", class: "btn btn-primary" }, "生成票码（下载 PDF 与 CSV）");
  make.addEventListener("click", () => run(make, async () => {
    const resp = await call(`${api}/tickets`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ count: Number(count.value), group: group.value.trim() }),
    });
    const name = (resp.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
    download(await resp.blob(), name ? name[1] : "tickets.zip");
    toast(`已生成票码 No.${resp.headers.get("x-tickets") || ""}。票码只在此次下载中出现，请妥善保存`, "ok", 8000);
  }));
  return el("div", {},
    el("p", { class: "muted", text: "每批票码对应一个群体（须为测评方案中的群众投票组）。下载的压缩包含 A4 裁切票（每张带二维码）与 CSV（可用于短信、微信分发）。" }),
    el("div", { class: "duration-grid" }, el("label", { class: "duration" }, "数量", count), el("label", { class: "duration" }, "群体", group)),
    make, credentialList(api, "ticket"));
}

function rosterPanel(api) {
  const file = el("input", { type: "file", accept: ".csv,.xlsx", "aria-label": "名单文件" });
  const upload = el("button", { type: "button", class: "btn btn-primary" }, "导入名单");
  const report = el("div", { class: "import-report" });
  upload.addEventListener("click", () => run(upload, async () => {
    const f = file.files && file.files[0];
    if (!f) throw { message: "请先选择名单文件（CSV 或 XLSX）" };
    const resp = await call(`${api}/roster/import?filename=${encodeURIComponent(f.name)}`, { method: "POST", body: f });
    const data = await resp.json();
    fill(report, el("p", { text: `已导入 ${data.imported} 人` }),
      data.errors.map((e) => el("p", { class: "form-error", text: `第 ${e.row} 行：${e.message}` })));
  }));
  return el("div", {},
    el("p", { class: "muted", text: "名单列：姓名、单位、群体、手机/工号（CSV 可为 UTF-8 或 GBK）。群体须为测评方案中的群众投票组。有误的行按行号列出，其余照常导入。" }),
    file, upload, report,
    el("p", {}, el("a", { class: "btn btn-small btn-secondary", href: `${api}/print/roster-cards.pdf` }, "打印个人二维码卡片（A4）"), " ",
      el("a", { class: "btn btn-small btn-secondary", href: `${api}/export/roster.csv` }, "导出个人链接（CSV）")),
    credentialList(api, "roster"));
}

function openPanel(api) {
  const out = el("div", {});
  const load = el("button", { type: "button", class: "btn btn-small btn-secondary" }, "查看投票来源统计");
  load.addEventListener("click", () => run(load, async () => {
    const d = await (await call(`${api}/public/anomalies`)).json();
    const table = (rows, label) => el("table", { class: "anomaly" },
      el("tr", {}, el("th", { text: "网段" }), el("th", { text: label })),
      rows.map((r) => el("tr", {}, el("td", { text: r.prefix }), el("td", { class: "num", text: String(r.count) }))));
    fill(out,
      el("p", { text: `投票身份共 ${d.identities} 个；每个网段上限 ${d.cap_per_prefix} 个；近 30 分钟单分钟最多新增 ${d.busiest_minute} 个` }),
      el("h3", { text: "各网段选票数" }), table(d.ballots_by_prefix, "选票"),
      el("h3", { text: "各网段投票身份数" }), table(d.identities_by_prefix, "身份"));
    load.textContent = "刷新";
  }));
  return el("div", {},
    el("p", { class: "muted", text: "开放投票不核实身份：同一网段（IPv4 /24、IPv6 /48）新增的投票手机有上限，结果标注为「开放投票（未实名）」。某网段选票异常集中或短时间大量新增身份，可能是刷票。" }),
    load, out);
}
