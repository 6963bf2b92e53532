// One meeting in the administrators' workspace: the setup wizard (each step saves its
// section; the server names every problem at once), and the overview (links, host
// password, the presenter's page-turning link, print packs, duplicate for next year).

import { el, fill, run, toast } from "../shared/ui.js";
import { api, upload } from "./admin-api.js";
import { go } from "./admin-meetings.js";

const STEPS = ["基本信息", "述法人", "评议团", "测评方案", "投票设置", "材料与问题", "完成与打印"];
const MODES = [["open", "开放投票（未实名）"], ["ticket", "票码"], ["roster", "实名名单"]];
const VISIBILITY = [["live", "实时显示"], ["counts", "只显示人数"], ["hidden", "结束后揭晓"]];

function problemsList(err) {
  const items = err.problems && err.problems.length ? err.problems : [err.message];
  return el("ul", { class: "problems", role: "alert" }, items.map((p) => el("li", { text: p })));
}

function field(label, input) {
  return el("label", { class: "field" }, label, input);
}

function secretOnce(title, value, note) {
  return el("section", { class: "card secret-card" }, el("h2", { text: title }),
    el("p", { class: "secret-once", id: "secret-once", text: value }),
    el("p", { class: "muted", text: note || "只显示这一次，请立即抄下或转交主持人。" }));
}

// ---- step 0 for a new meeting -------------------------------------------------------------

export function newMeeting(app) {
  const form = basicsForm({ title: "", held_on: "", venue: "" });
  const out = el("div", {});
  const submit = el("button", { type: "submit", class: "btn btn-primary" }, "创建草稿并继续");
  const node = el("form", { class: "card" }, el("h2", { text: "新建会议 · 第 1 步：基本信息" }),
    stepBar(0), form.node, out, el("div", { class: "actions" }, submit, el("a", { class: "btn btn-secondary", href: "#/" }, "返回列表")));
  node.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run(submit, async () => {
      fill(out);
      try {
        const made = await api("POST", "/api/admin/meetings", form.value());
        fill(app, secretOnce(`主持人密码 · 会议码 ${made.code}`, made.password),
          el("div", { class: "actions" }, el("a", { class: "btn btn-primary", href: `#/m/${made.code}/1`, id: "continue" },
            "我已记下，继续填写述法人")));
      } catch (err) {
        fill(out, problemsList(err));
      }
    });
  });
  fill(app, node);
}

function basicsForm(b) {
  const title = el("input", { type: "text", name: "title", value: b.title, maxlength: "200" });
  const date = el("input", { type: "date", name: "held_on", value: b.held_on });
  const venue = el("input", { type: "text", name: "venue", value: b.venue, maxlength: "200" });
  return {
    node: el("div", {}, field("会议名称", title), field("会议日期", date), field("会议地点", venue)),
    value: () => ({ title: title.value, held_on: date.value, venue: venue.value }),
  };
}

function stepBar(current, code) {
  return el("ol", { class: "steps" }, STEPS.map((name, i) => el("li",
    { class: i === current ? "current" : i < current ? "done" : "" },
    code ? el("a", { href: `#/m/${code}/${i}` }, `${i + 1}. ${name}`) : `${i + 1}. ${name}`)));
}

// ---- a meeting -------------------------------------------------------------------------------

export async function meetingView(app, code, step) {
  let setup;
  try {
    setup = await api("GET", `/api/admin/meetings/${code}`);
  } catch (err) {
    fill(app, el("section", { class: "card" }, el("p", { class: "form-error", text: err.message }),
      el("a", { class: "btn", href: "#/" }, "返回列表")));
    return;
  }
  if (step === null) overview(app, setup);
  else wizardStep(app, setup, step);
}

function wizardStep(app, setup, step) {
  const code = setup.code;
  const out = el("div", {});
  const editor = [basicsStep, presentersStep, rosterStep, schemeStep, optionsStep, materialsStep, finishStep][step](setup);
  const save = el("button", { type: "button", class: "btn btn-primary", id: "save-step" },
    step === STEPS.length - 1 ? "完成设置" : "保存并继续");
  save.addEventListener("click", () => run(save, async () => {
    fill(out);
    try {
      await editor.save();
      toast("已保存", "ok", 2500);
      go(step === STEPS.length - 1 ? `#/m/${code}` : `#/m/${code}/${step + 1}`);
    } catch (err) {
      fill(out, problemsList(err));
    }
  }));
  const lockedNote = setup.locked && editor.locks
    ? el("p", { class: "lock-note", text: "会议已开始：述法人、评议团、测评方案、不记名与公众投票方式已锁定，不能再改。" }) : null;
  fill(app, el("section", { class: "card wizard" },
    el("h2", { text: `${setup.basics.title} · 第 ${step + 1} 步：${STEPS[step]}` }),
    stepBar(step, code), lockedNote, editor.node, out,
    el("div", { class: "actions" }, save,
      step > 0 ? el("a", { class: "btn btn-secondary", href: `#/m/${code}/${step - 1}` }, "上一步") : null,
      el("a", { class: "btn btn-secondary", href: `#/m/${code}` }, "会议概览"),
      el("a", { class: "btn btn-secondary", href: "#/" }, "返回列表"))));
}

function saveSections(code, body) {
  return api("PUT", `/api/admin/meetings/${code}/setup`, body);
}

function basicsStep(setup) {
  const form = basicsForm(setup.basics);
  return { node: form.node, save: () => saveSections(setup.code, { sections: ["basics"], basics: form.value() }) };
}

// An editable table of rows; `columns`: [key, label, kind ("text" | options array)].
function rowsTable(rows, columns, blank) {
  const body = el("tbody", {});
  const draw = () => fill(body, rows.map((row, i) => el("tr", {},
    el("td", { class: "num", text: String(i + 1) }),
    columns.map(([key, label, kind]) => {
      const input = Array.isArray(kind)
        ? el("select", { "aria-label": label }, el("option", { value: "", text: "请选择" }),
          kind.map((o) => el("option", { value: o, text: o, selected: row[key] === o })))
        : el("input", { type: "text", value: row[key] || "", "aria-label": label });
      input.addEventListener("input", () => { row[key] = input.value; });
      input.addEventListener("change", () => { row[key] = input.value; });
      return el("td", {}, input);
    }),
    el("td", {}, el("button", { type: "button", class: "btn btn-small btn-secondary", onclick: () => { rows.splice(i, 1); draw(); } }, "删除")))));
  draw();
  const add = el("button", { type: "button", class: "btn btn-small" }, "添加一行");
  add.addEventListener("click", () => { rows.push({ ...blank }); draw(); });
  return { node: el("div", {}, el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, el("th", { text: "#" }), columns.map(([, label]) => el("th", { text: label })), el("th", {}))),
    body), el("div", { class: "actions" }, add)), draw };
}

function importBox(label, path, onRows) {
  const input = el("input", { type: "file", accept: ".xlsx,.csv", "aria-label": label });
  const report = el("div", { class: "import-report" });
  input.addEventListener("change", () => run(null, async () => {
    if (!input.files.length) return;
    fill(report);
    try {
      const data = await upload(path, input.files[0]);
      const n = onRows(data);
      fill(report, el("p", { class: "muted", text: `已导入 ${n} 行${data.errors.length ? `，${data.errors.length} 行有问题未导入：` : "。"}` }),
        data.errors.length ? el("ul", { class: "problems" }, data.errors.map((e) => el("li", { text: `第 ${e.row} 行：${e.message}` }))) : null);
    } catch (err) {
      fill(report, problemsList(err));
    }
    input.value = "";
  }));
  return el("div", { class: "import-box" }, field(label, input), report);
}

function presentersStep(setup) {
  const rows = setup.presenters.map((p) => ({ ...p }));
  const table = rowsTable(rows, [["name", "姓名"], ["post", "职务"], ["unit", "单位"], ["kind", "类别"]],
    { name: "", post: "", unit: "", kind: "" });
  const box = importBox("从 Excel（XLSX）或 CSV 导入述法人：列为 姓名、职务、单位、类别（可选）", "/api/admin/import/presenters", (data) => {
    rows.push(...data.presenters);
    table.draw();
    return data.presenters.length;
  });
  return { locks: true, node: el("div", {}, box, table.node),
    save: () => saveSections(setup.code, { sections: ["presenters"], presenters: rows }) };
}

function rosterStep(setup) {
  const rows = setup.roster.map((p) => ({ ...p }));
  const table = rowsTable(rows, [["name", "姓名"], ["category", "类别", setup.categories], ["unit", "单位"], ["contact", "联系方式"]],
    { name: "", category: "", unit: "", contact: "" });
  const box = importBox("导入评议团名单（XLSX 或 CSV，UTF-8 或 GBK）：列为 姓名、类别、单位、联系方式", "/api/admin/import/roster", (data) => {
    rows.push(...data.roster);
    table.draw();
    return data.roster.length;
  });
  return { locks: true, node: el("div", {}, el("p", { class: "muted", text: `类别可选：${setup.categories.join("、")}` }), box, table.node),
    save: () => saveSections(setup.code, { sections: ["panel"], roster: rows }) };
}

function schemeStep(setup) {
  const box = el("div", { class: "scheme-choices" }, el("p", { class: "muted", text: "正在加载方案…" }));
  let choice = null;
  api("GET", "/api/admin/schemes").then((data) => {
    const radios = [];
    const option = (value, label, checked) => {
      const input = el("input", { type: "radio", name: "scheme", value, checked });
      input.addEventListener("change", () => { choice = value; });
      radios.push(input);
      return el("label", { class: "radio-row" }, input, " ", label);
    };
    choice = `keep`;
    fill(box, el("p", { text: `当前方案：${describe(setup.scheme)}` }),
      option("keep", "保留当前方案", true),
      data.templates.map((t) => option(`template:${t.key}`, `内置模板：${t.label}`, false)),
      data.saved.map((s) => option(`saved:${s.id}`, `已保存的方案：${s.name}（${describe(s.scheme)}）`, false)));
  }).catch((err) => fill(box, problemsList(err)));
  const saveAs = el("input", { type: "text", maxlength: "60", placeholder: "例如：本市述法评议等次方案" });
  const saveBtn = el("button", { type: "button", class: "btn btn-small" }, "把当前方案保存为模板");
  saveBtn.addEventListener("click", () => run(saveBtn, async () => {
    await api("POST", "/api/admin/schemes", { name: saveAs.value, scheme: setup.scheme });
    toast("方案已保存，以后新建会议时可以选用", "ok");
  }));
  return { locks: true, node: el("div", {}, box, el("div", { class: "toolbar" }, saveAs, saveBtn)),
    save: async () => {
      if (!choice || choice === "keep") return null;
      const [kind, key] = choice.split(":");
      return saveSections(setup.code, { sections: ["scheme"], scheme: kind === "template" ? key : { saved: Number(key) } });
    } };
}

function describe(scheme) {
  if (scheme.kind === "rubric") return `百分制评分（${scheme.criteria.map((c) => `${c.key} ${c.max} 分`).join("、")}）`;
  return `${scheme.kind === "grade" ? "等次" : "满意度"}（${scheme.options.map((o) => o.key).join("/")}）`;
}

function select(options, value, label) {
  return el("select", { "aria-label": label }, options.map(([v, text]) => el("option", { value: v, text, selected: v === value })));
}

function optionsStep(setup) {
  const o = setup.options;
  const secret = el("input", { type: "checkbox", checked: o.secret });
  const mode = select(MODES, o.public_mode, "公众投票方式");
  const vis = select(VISIBILITY, o.visibility, "结果显示方式");
  const k = el("input", { type: "number", min: "1", max: "50", value: String(o.small_group_k) });
  return { locks: true, node: el("div", {},
    el("label", { class: "radio-row" }, secret, " 不记名测评（选票与投票人分开保存，投后不能修改）"),
    field("公众投票方式", mode), field("结果显示方式", vis), field("小组保护人数（少于该人数的组不单独显示）", k)),
  save: () => saveSections(setup.code, { sections: ["options"], options: {
    secret: secret.checked, public_mode: mode.value, visibility: vis.value, small_group_k: Number(k.value) } }) };
}

function materialsStep(setup) {
  const code = setup.code;
  const rows = setup.presenters.map((p) => {
    const input = el("input", { type: "file", accept: "application/pdf", "aria-label": `${p.name} 的述法材料` });
    const note = el("span", { class: "muted", text: p.deck_pages ? `已上传 ${p.deck_pages} 页` : "未上传" });
    input.addEventListener("change", () => run(null, async () => {
      if (!input.files.length) return;
      note.textContent = "正在上传并转换…";
      try {
        const r = await upload(`/api/meetings/${code}/items/${p.id}/slides`, input.files[0]);
        note.textContent = `已上传 ${r.pages} 页`;
      } catch (err) {
        note.textContent = err.message;
      }
    }));
    return el("tr", {}, el("td", { text: p.name }), el("td", { text: p.unit }), el("td", {}, input, " ", note));
  });
  const questions = el("input", { type: "file", accept: ".xlsx,.csv", "aria-label": "导入事先征集的问题" });
  const qReport = el("div", {});
  questions.addEventListener("change", () => run(null, async () => {
    if (!questions.files.length) return;
    try {
      const r = await upload(`/api/meetings/${code}/questions/import`, questions.files[0]);
      fill(qReport, el("p", { class: "muted", text: `已导入 ${r.imported} 个问题` }),
        r.errors.length ? el("ul", { class: "problems" }, r.errors.map((e) => el("li", { text: `第 ${e.row} 行：${e.message}` }))) : null);
    } catch (err) {
      fill(qReport, problemsList(err));
    }
  }));
  return { node: el("div", {},
    el("h3", { text: "述法材料（PDF，每位述法人一份）" }),
    el("table", { class: "grid" }, el("thead", {}, el("tr", {}, el("th", { text: "述法人" }), el("th", { text: "单位" }), el("th", { text: "材料" }))),
      el("tbody", {}, rows)),
    el("h3", { text: "事先征集的问题（12345热线、信箱等）" }),
    field("XLSX 或 CSV：列为 来源、内容、述法人、提问人（可选）", questions), qReport),
  save: async () => null };
}

function finishStep(setup) {
  return { node: el("div", {}, printLinks(setup.code),
    el("p", { class: "muted", text: "点「完成设置」后会议进入「已排期」。开始前仍可回到任一步修改。" })),
  save: () => api("POST", `/api/admin/meetings/${setup.code}/finish`) };
}

function printLinks(code) {
  const link = (path, text) => el("a", { class: "btn btn-small btn-secondary", href: path, target: "_blank", rel: "noopener" }, text);
  return el("div", {}, el("h3", { text: "打印材料" }), el("div", { class: "actions" },
    link(`/api/meetings/${code}/print/join-poster.pdf`, "群众扫码海报（PDF）"),
    link(`/api/meetings/${code}/print/panel-cards.pdf`, "评议团个人二维码卡（PDF）")));
}

// ---- the overview ------------------------------------------------------------------------------

function overview(app, setup) {
  const code = setup.code;
  const secretBox = el("div", {});
  const rotate = el("button", { type: "button", class: "btn", id: "rotate-host-password" }, "设置新的主持人密码");
  rotate.addEventListener("click", () => run(rotate, async () => {
    const r = await api("POST", `/api/admin/meetings/${code}/host-password`);
    fill(secretBox, secretOnce("新的主持人密码", r.password, "只显示这一次。原密码和已登录的主持人控制台随即失效。"));
  }));
  const presenter = el("button", { type: "button", class: "btn", id: "presenter-link" }, "述法人翻页链接");
  presenter.addEventListener("click", () => run(presenter, async () => {
    const r = await api("GET", `/api/admin/meetings/${code}/presenter-link`);
    const renew = el("button", { type: "button", class: "btn btn-small btn-secondary" }, "作废并重新生成");
    renew.addEventListener("click", () => run(renew, async () => {
      const n = await api("POST", `/api/admin/meetings/${code}/presenter-link`);
      fill(secretBox, linkCard(n.url));
    }));
    fill(secretBox, linkCard(r.url), renew);
  }));
  const dup = el("button", { type: "button", class: "btn", id: "duplicate" }, "复制为下一年度会议");
  dup.addEventListener("click", () => run(dup, async () => {
    const made = await api("POST", `/api/admin/meetings/${code}/duplicate`, {});
    fill(app, el("p", { class: "muted", text: "已复制述法人、评议团和测评方案，新会议为草稿。" }),
      secretOnce(`新会议的主持人密码 · 会议码 ${made.code}`, made.password),
      el("div", { class: "actions" }, el("a", { class: "btn btn-primary", href: `#/m/${made.code}/0`, id: "continue" }, "检查新会议的设置")));
  }));
  const b = setup.basics;
  fill(app, el("section", { class: "card overview" },
    el("h2", { text: b.title }),
    el("p", {}, el("span", { class: `status-tag status-${setup.state}`, text: setup.state_label }), "  ",
      [b.held_on || "日期未定", b.venue, `会议码 ${code}`].filter(Boolean).join(" · ")),
    setup.locked ? el("p", { class: "lock-note", text: "会议已开始：述法人、评议团、测评方案、不记名与公众投票方式已锁定。" }) : null,
    el("p", { text: `述法人 ${setup.presenters.length} 位：${setup.presenters.map((p) => p.name).join("、") || "（尚未填写）"}` }),
    el("p", { text: `评议团 ${setup.roster.length} 人；测评方案：${describe(setup.scheme)}` }),
    el("dl", { class: "links" },
      el("dt", { text: "主持人控制台" }), el("dd", {}, el("a", { href: setup.links.host, target: "_blank", rel: "noopener", text: setup.links.host })),
      el("dt", { text: "大屏" }), el("dd", {}, el("a", { href: setup.links.screen, target: "_blank", rel: "noopener", text: setup.links.screen })),
      el("dt", { text: "群众加入" }), el("dd", { text: setup.links.join })),
    el("div", { class: "actions" },
      el("a", { class: "btn btn-primary", href: `#/m/${code}/0`, id: "edit-setup" }, "编辑设置"), rotate, presenter, dup,
      el("a", { class: "btn btn-secondary", href: "#/" }, "返回列表")),
    secretBox, printLinks(code)));
}

function linkCard(url) {
  return el("section", { class: "card" }, el("h2", { text: "述法人翻页链接" }),
    el("p", { class: "secret-once", id: "presenter-url", text: url }),
    el("p", { class: "muted", text: "此链接只能翻动本场会议的述法材料，不能操作会议。请只发给述法人或其工作人员。" }));
}
