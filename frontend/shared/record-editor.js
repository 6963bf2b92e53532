// 点评 and the 问题清单 of one presenter, recorded by the host (cookie) or by the
// recorder (its session cookie and X-CSRF-Token) over the /items/{id}/… endpoints.
// Shared by the host console and the recorder page /recorder#{token}.

import { confirmDialog, el, fill } from "./client.js";
import {
  PROBLEM_CATEGORIES, PROBLEM_SOURCES, apiJSON, clock, formDialog, questionsOf, stageItem, statusLine,
} from "./voice.js";

let uid = 0;

// opts: api ("/api/meetings/CODE"), headers (the recorder's bearer), checkup (show 体检单 links).
export function recordEditor(conn, { api, headers = {}, checkup = false } = {}) {
  const n = ++uid;
  const picker = el("select", { id: `rec-item-${n}`, class: "voice-select" });
  const follow = el("input", { type: "checkbox", id: `rec-follow-${n}`, checked: true });
  const links = el("span", { class: "rec-links" });
  const head = el("div", { class: "rec-head" },
    el("label", { for: picker.id, class: "voice-field-label" }, "述法人"), picker,
    el("label", { class: "check", for: follow.id }, follow, "跟随当前述法人"), links);

  // 点评
  const commenter = el("input", { type: "text", class: "voice-input", maxlength: "50", id: `rec-commenter-${n}`, placeholder: "如：市委副书记" });
  const review = el("textarea", { class: "voice-textarea", rows: "6", maxlength: "5000", id: `rec-review-${n}`,
    placeholder: "点评内容：肯定成绩，指出问题……" });
  const saveReview = el("button", { type: "submit", class: "btn btn-primary btn-small" }, "保存点评");
  const reviewStatus = statusLine();
  const reviewForm = el("form", { class: "rec-review" },
    el("h3", { class: "voice-sub", text: "点评" }),
    el("label", { class: "voice-field", for: commenter.id }, el("span", { class: "voice-field-label", text: "点评人" }), commenter),
    el("label", { class: "voice-field", for: review.id }, el("span", { class: "voice-field-label", text: "点评内容" }), review),
    el("div", { class: "voice-actions" }, saveReview, reviewStatus));

  // problems
  const problemList = el("ol", { class: "rec-problems" });
  const listStatus = statusLine();
  const desc = el("textarea", { class: "voice-textarea", rows: "2", maxlength: "500", id: `rec-desc-${n}`, required: true,
    placeholder: "点评中指出的问题" });
  const catList = el("datalist", { id: `rec-cats-${n}` }, PROBLEM_CATEGORIES.map((c) => el("option", { value: c })));
  const category = el("input", { type: "text", class: "voice-input", maxlength: "30", id: `rec-cat-${n}`, list: catList.id });
  const source = el("select", { class: "voice-select", id: `rec-src-${n}` }, PROBLEM_SOURCES.map((s) => el("option", { value: s, text: s })));
  const owner = el("input", { type: "text", class: "voice-input", maxlength: "50", id: `rec-owner-${n}`, placeholder: "责任单位或责任人" });
  const deadline = el("input", { type: "date", class: "voice-input", id: `rec-deadline-${n}` });
  const linked = el("select", { class: "voice-select", id: `rec-q-${n}` });
  const addBtn = el("button", { type: "submit", class: "btn btn-primary btn-small" }, "添加问题");
  const addStatus = statusLine();
  const field = (input, label, hint) => el("label", { class: "voice-field", for: input.id },
    el("span", { class: "voice-field-label", text: label }), input, hint ? el("small", { class: "muted", text: hint }) : null);
  const addForm = el("form", { class: "rec-add" },
    el("h3", { class: "voice-sub", text: "新增问题" }),
    field(desc, "问题描述（必填）"),
    el("div", { class: "rec-grid" }, field(category, "类别"), field(source, "来源"), field(owner, "责任人"),
      field(deadline, "整改期限", "不填则为会后 3 个月")),
    field(linked, "关联的质询问题（可选）"), catList,
    el("div", { class: "voice-actions" }, addBtn, addStatus));
  linked.addEventListener("change", () => { if (linked.value && source.value === "点评") source.value = "质询"; });

  const root = el("div", { class: "rec-editor" }, head,
    el("div", { class: "rec-cols" }, reviewForm,
      el("div", { class: "rec-list" }, el("h3", { class: "voice-sub", text: "问题清单" }), problemList, listStatus, addForm)));

  let itemId = null;
  let dirty = false;
  let loadSeq = 0;
  review.addEventListener("input", () => { dirty = true; });
  commenter.addEventListener("input", () => { dirty = true; });

  const url = (path) => `${api}${path}`;
  const call = (path, opts = {}) => apiJSON(url(path), { ...opts, headers: { ...headers, ...(opts.headers || {}) } });

  function itemsChanged() {
    const state = conn.state;
    if (!state) return;
    const current = stageItem(state);
    const want = follow.checked && current ? current.id : itemId ?? (current ? current.id : state.items[0] && state.items[0].id);
    const options = state.items.map((i) => el("option", { value: String(i.id),
      text: `${i.position}. ${i.presenter.name}${i.id === (current && current.id) ? "（当前）" : ""}` }));
    fill(picker, options);
    if (want !== itemId && dirty && itemId != null) {
      // Never drop an unsaved 点评 because the stage moved on: stop following instead.
      follow.checked = false;
      picker.value = String(itemId);
      refreshLinked();
      return;
    }
    if (want != null) picker.value = String(want);
    if (want !== itemId) select(want);
    else refreshLinked();
  }

  async function select(id) {
    if (id === itemId) return;
    if (dirty && itemId != null) {
      const ok = await confirmDialog("未保存的点评", "当前点评尚未保存，切换述法人将丢弃这些修改。确定切换吗？", "切换");
      if (!ok) {
        picker.value = String(itemId);
        follow.checked = false;
        return;
      }
    }
    itemId = id;
    dirty = false;
    reviewStatus.set("");
    addStatus.set("");
    refreshLinked();
    if (checkup && itemId != null) {
      fill(links, el("a", { href: url(`/items/${itemId}/checkup.docx`), download: "" }, "体检单 DOCX"),
        el("a", { href: url(`/items/${itemId}/checkup.pdf`), download: "" }, "体检单 PDF"));
    }
    await load();
  }

  function refreshLinked() {
    const keep = linked.value;
    const qs = itemId != null ? questionsOf(conn.state, itemId) : [];
    fill(linked, el("option", { value: "", text: "（不关联）" }),
      qs.map((q) => el("option", { value: String(q.id), text: q.content.length > 40 ? `${q.content.slice(0, 40)}…` : q.content })));
    if (keep && qs.some((q) => String(q.id) === keep)) linked.value = keep;
  }

  async function load() {
    if (itemId == null) return;
    const mine = ++loadSeq;
    listStatus.set("正在加载…", "wait");
    try {
      const record = await call(`/items/${itemId}/record`);
      if (mine !== loadSeq) return;
      listStatus.set("");
      if (!dirty) {
        review.value = (record.review && record.review.text) || "";
        commenter.value = (record.review && record.review.commenter) || "";
        if (record.review && record.review.updated_at_ms) reviewStatus.set(`已保存（${clock(record.review.updated_at_ms)}）`, "ok");
      }
      renderProblems(record.problems || []);
    } catch (err) {
      if (mine === loadSeq) listStatus.set(err.message, "error");
    }
  }

  function renderProblems(rows) {
    fill(problemList, rows.length ? rows.map(problemRow) : el("li", { class: "voice-empty muted", text: "尚未记录问题" }));
  }

  function problemRow(p) {
    const edit = el("button", { type: "button", class: "btn btn-small btn-secondary" }, "编辑");
    const del = p.status === "pending" ? el("button", { type: "button", class: "btn btn-small btn-secondary" }, "删除") : null;
    edit.addEventListener("click", async () => {
      const values = await formDialog("编辑问题", [
        { name: "description", label: "问题描述", type: "textarea", value: p.description, required: true, maxlength: 500 },
        { name: "category", label: "类别", value: p.category, maxlength: 30 },
        { name: "source", label: "来源", type: "select", value: p.source, options: PROBLEM_SOURCES.map((s) => [s, s]) },
        { name: "owner", label: "责任人", value: p.owner, maxlength: 50 },
        { name: "deadline", label: "整改期限", type: "date", value: p.deadline || "", required: true },
      ], "保存");
      if (!values) return;
      try {
        await call(`/problems/${p.id}`, { method: "PATCH", body: values });
        listStatus.set("已保存修改", "ok");
        load();
      } catch (err) {
        listStatus.set(err.message, "error");
      }
    });
    if (del) {
      del.addEventListener("click", async () => {
        if (!(await confirmDialog("删除问题", `确定删除「${p.description.slice(0, 30)}」吗？只能删除尚未开始整改的问题。`, "删除"))) return;
        try {
          await call(`/problems/${p.id}`, { method: "DELETE" });
          load();
        } catch (err) {
          listStatus.set(err.message, "error");
        }
      });
    }
    return el("li", { class: "rec-problem" },
      el("p", { class: "rec-problem-text", text: p.description }),
      el("p", { class: "rec-problem-meta" },
        [p.category && `类别：${p.category}`, `来源：${p.source}`, p.owner && `责任人：${p.owner}`,
          p.deadline && `期限：${p.deadline}`].filter(Boolean).join("　"),
        el("span", { class: `voice-badge rect-${p.status}`, text: p.status_label })),
      el("div", { class: "voice-row-actions" }, edit, del));
  }

  reviewForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (itemId == null) return;
    saveReview.disabled = true;
    reviewStatus.set("正在保存…", "wait");
    try {
      const out = await call(`/items/${itemId}/review`, { method: "PUT", body: { text: review.value, commenter: commenter.value } });
      dirty = false;
      reviewStatus.set(`已保存（${clock(out.review && out.review.updated_at_ms) || "刚刚"}）`, "ok");
    } catch (err) {
      reviewStatus.set(err.message, "error");
    } finally {
      saveReview.disabled = false;
    }
  });

  addForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (itemId == null) return;
    if (!desc.value.trim()) return addStatus.set("请填写问题描述", "error");
    const body = { description: desc.value, category: category.value, source: source.value, owner: owner.value };
    if (deadline.value) body.deadline = deadline.value;
    if (linked.value) body.question_id = Number(linked.value);
    addBtn.disabled = true;
    try {
      const p = await call(`/items/${itemId}/problems`, { method: "POST", body });
      addStatus.set(`已添加，整改期限 ${p.deadline}`, "ok");
      // A fresh form for the next problem: the last one's 类别, 来源 and 责任人 are not carried over.
      addForm.reset();
      load();
    } catch (err) {
      addStatus.set(err.message, "error");
    } finally {
      addBtn.disabled = false;
    }
  });

  picker.addEventListener("change", () => {
    const current = stageItem(conn.state);
    follow.checked = !!current && Number(picker.value) === current.id;
    select(Number(picker.value));
  });
  follow.addEventListener("change", () => { if (follow.checked) itemsChanged(); });

  conn.on("state", (state, msg) => {
    // Only agenda or question changes matter here.
    if (msg && !["snapshot", "meeting.updated", "item.updated", "questions.updated", "question.removed"].includes(msg.type)) return;
    itemsChanged();
  });
  itemsChanged();
  return { node: root, reload: load };
}
