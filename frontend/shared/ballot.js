// The voting widget shared by the phone and the panel tablet. It draws the
// current item's ballot from the scheme and reports only what the server acked.

import { choiceText, el, fill, groupFor, resultFacts, sameChoice } from "./client.js";

// source: "public" (phone) or "panel" (tablet); category narrows panel groups.
export function ballotView(conn, { source, category = null }) {
  const root = el("section", { class: "ballot", "aria-label": "测评投票" });
  let built = null;  // {itemId, node parts} for the item whose ballot is on screen

  function update() {
    const state = conn.state;
    const item = state && state.items.find((i) => i.id === state.meeting.current_item_id);
    if (!state || !item) {
      built = null;
      fill(root);
      return;
    }
    const live = state.meeting.status === "live";
    if (item.phase === "voting" && live) {
      if (!built || built.itemId !== item.id) built = build(state, item);
      refresh(built);
    } else {
      built = null;
      fill(root, afterOrBefore(item));
    }
  }

  function afterOrBefore(item) {
    const mine = conn.ballot(item.id).confirmed;
    if (item.phase === "done") {
      const facts = resultFacts(item.result);
      const said = mine && mine.choice ? `您的选择：${choiceText(mine.choice)}` : "您已参加本项测评（不记名）";
      return el("div", { class: "ballot-closed" },
        el("h2", { text: `「${item.presenter.name}」测评已结束` }),
        mine ? el("p", { class: "my-choice", text: said }) : null,
        facts.length ? el("dl", { class: "facts" }, facts.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))))
          : el("p", { class: "muted", text: "测评结果将由会务人员公布" }));
    }
    if (item.phase === "pending") return null;
    return el("p", { class: "ballot-wait muted", text: "进入「测评」环节后，可在此投票。" });
  }

  function build(state, item) {
    const scheme = state.meeting.scheme;
    const you = conn.you || {};
    if (source === "public" && you.refusal) {
      // No vote from this phone (no ticket redeemed, a released one, a capped network): say why.
      fill(root, el("h2", { class: "ballot-title", text: `「${item.presenter.name}」正在测评` }),
        el("p", { class: "ballot-status is-error", role: "status", text: you.refusal.message }));
      return { itemId: item.id, ineligible: true };
    }
    if (!groupFor(scheme, source, category ?? you.category ?? null)) {
      fill(root, el("p", { class: "ballot-wait", text: "您不在本次测评的投票范围内，感谢关注。" }));
      return { itemId: item.id, ineligible: true };
    }
    // 不记名: a ballot is final once the server takes it, so a tap only picks; a second button sends.
    const secret = !!state.meeting.secret;
    const parts = { itemId: item.id, buttons: [], rubric: null, secret, draft: null, confirm: null };
    const pick = (choice) => {
      if (!secret) return cast(item.id, choice);
      parts.draft = choice;
      refresh(parts);
    };
    const choices = el("div", { class: "choices" });
    if (scheme.kind === "rubric") {
      parts.rubric = rubricForm(scheme, (choice) => cast(item.id, choice), () => refresh(parts),
        secret ? "提交评分（提交后不可更改）" : "提交评分");
      choices.append(parts.rubric.node);
    } else {
      for (const opt of scheme.options) {
        const btn = el("button", { type: "button", class: "btn btn-vote", onclick: () => pick({ option: opt.key }) },
          opt.key);
        parts.buttons.push({ btn, choice: { option: opt.key } });
        choices.append(btn);
      }
    }
    if (scheme.allow_abstain) {
      const btn = el("button", { type: "button", class: "btn btn-vote btn-abstain", onclick: () => pick({ abstain: true }) },
        "弃权");
      parts.buttons.push({ btn, choice: { abstain: true } });
      choices.append(btn);
    }
    parts.status = el("p", { class: "ballot-status", role: "status", "aria-live": "polite" });
    // The status sits above the buttons so a phone sees "已提交" without scrolling.
    if (secret && !parts.rubric) {
      parts.confirm = el("button", { type: "button", class: "btn btn-primary btn-vote btn-confirm", disabled: true,
        onclick: () => { if (parts.draft) cast(item.id, parts.draft); } }, "确认提交");
    }
    fill(root,
      el("h2", { class: "ballot-title", text: `请对「${item.presenter.name}」的述法进行测评` }),
      parts.status, choices, parts.confirm,
      el("p", { class: secret ? "ballot-secret-note" : "muted", text: secret
        ? "不记名测评：提交后不可更改，也无法查看本人选择。"
        : "测评结束前可以修改选择，以最后一次提交为准。" }),
      source === "public" && state.meeting.public_mode_label
        ? el("p", { class: "muted", text: `本场群众投票方式：${state.meeting.public_mode_label}` }) : null);
    return parts;
  }

  function refresh(parts) {
    if (parts.ineligible) return;
    const b = conn.ballot(parts.itemId);
    const shown = b.pending || (b.confirmed && b.confirmed.choice);
    const final = parts.secret && (b.pending || b.confirmed);
    for (const { btn, choice } of parts.buttons) {
      const isConfirmed = !parts.secret && !b.pending && b.confirmed && sameChoice(choice, b.confirmed.choice);
      const isPending = !parts.secret && b.pending && sameChoice(choice, b.pending);
      const isDraft = parts.secret && !final && parts.draft && sameChoice(choice, parts.draft);
      btn.classList.toggle("selected", !!(isConfirmed || isDraft));
      btn.classList.toggle("sending", !!isPending);
      btn.setAttribute("aria-pressed", String(!!(isConfirmed || isPending || isDraft)));
      btn.disabled = !!final;
    }
    if (parts.confirm) {
      parts.confirm.disabled = !!final || !parts.draft;
      parts.confirm.textContent = parts.draft && !final ? `确认提交「${choiceText(parts.draft)}」` : "确认提交";
    }
    if (parts.rubric) parts.rubric.setLocked(!!final);
    if (parts.rubric && !parts.secret && shown && shown.scores && !parts.rubric.touched) parts.rubric.setScores(shown.scores);
    let text = "尚未投票，请选择";
    let cls = "ballot-status";
    if (b.pending) {
      const before = b.confirmed && b.confirmed.choice ? `（此前已提交：${choiceText(b.confirmed.choice)}）` : "";
      const what = parts.secret ? "选票" : `「${choiceText(b.pending)}」`;
      text = conn.online ? `正在提交${what}…`
        : `网络已断开：${what}尚未提交，恢复连接后自动重新提交${before}`;
      cls += " is-pending";
    } else if (b.confirmed && parts.secret) {
      text = "✓ 已提交。不记名测评：提交后不可更改，也无法查看本人选择";
      cls += " is-done";
    } else if (b.confirmed) {
      text = `✓ 已提交：${choiceText(b.confirmed.choice)}`;
      cls += " is-done";
    } else if (parts.draft) {
      text = `已选「${choiceText(parts.draft)}」，请点「确认提交」；提交后不可更改`;
    }
    if (parts.rubric && parts.rubric.touched && !b.pending && !final) {
      text = b.confirmed ? "评分已修改，再次提交后生效" : "请填写各项评分，然后提交";
      cls = "ballot-status is-pending";
    }
    if (b.error) {
      text = b.error.message;
      cls = "ballot-status is-error";
    }
    parts.status.className = cls;
    parts.status.textContent = text;
  }

  // The outcome (ack or refusal) reaches the status line through "ballot" events.
  function cast(itemId, choice) {
    conn.vote(itemId, choice).catch(() => null);
  }

  conn.on("state", update);
  conn.on("ballot", update);
  conn.on("status", update);
  conn.on("welcome", update);
  update();
  return root;
}

// 百分制: one input per criterion, each 0..max, summing to at most 100.
function rubricForm(scheme, onSubmit, onEdit, label) {
  const inputs = [];
  const total = el("span", { class: "rubric-total-value", text: "0" });
  const submit = el("button", { type: "button", class: "btn btn-primary btn-vote" }, label);
  let locked = false;
  const form = { touched: false, node: null, setScores, setLocked };
  const rows = scheme.criteria.map((c) => {
    const max = Number(c.max);
    const number = el("input", { type: "number", min: 0, max, step: "0.1", inputmode: "decimal", value: "",
      "aria-label": `${c.key}（满分 ${c.max}）` });
    const slider = el("input", { type: "range", min: 0, max, step: "0.5", value: 0, "aria-hidden": "true", tabindex: -1 });
    number.addEventListener("input", () => { slider.value = number.value || 0; edited(); });
    slider.addEventListener("input", () => { number.value = slider.value; edited(); });
    inputs.push({ key: c.key, max, number, slider });
    return el("div", { class: "rubric-row" },
      el("label", { class: "rubric-label" }, c.key, el("small", { text: `满分 ${c.max}` })),
      slider, number);
  });

  function values() {
    const scores = {};
    for (const i of inputs) {
      const v = Number(i.number.value);
      if (i.number.value === "" || !Number.isFinite(v) || v < 0 || v > i.max) return null;
      scores[i.key] = Math.round(v * 10) / 10;
    }
    return scores;
  }

  function edited() {
    form.touched = true;
    sum();
    onEdit();
  }

  function sum() {
    const s = inputs.reduce((acc, i) => acc + (Number(i.number.value) || 0), 0);
    total.textContent = String(Math.round(s * 10) / 10);
    submit.disabled = locked || values() === null;
  }

  // A secret ballot sent: nothing can be changed any more.
  function setLocked(on) {
    locked = on;
    for (const i of inputs) i.number.disabled = i.slider.disabled = on;
    sum();
  }

  function setScores(scores) {
    for (const i of inputs) {
      if (scores[i.key] !== undefined) i.number.value = i.slider.value = String(Number(scores[i.key]));
    }
    sum();
  }

  submit.addEventListener("click", () => {
    const scores = values();
    if (scores) onSubmit({ scores });
    form.touched = false;
  });
  form.node = el("div", { class: "rubric" }, rows,
    el("p", { class: "rubric-total" }, "合计 ", total, " / 100 分"), submit);
  sum();
  return form;
}
