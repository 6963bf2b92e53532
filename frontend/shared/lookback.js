// 回头看: the presenters of this meeting who were evaluated before, with the problems of their
// earlier meetings that are not yet 已销号. On the console (open by default, one card for the
// whole agenda, the presenter on stage first) and on the presenter's view (the one on stage).
// "纳入质询" puts a presenter's earlier problems into the 质询 list as approved questions
// (source 回头看); a second click adds nothing new.

import { el, fill, toast } from "./ui.js";
import { apiJSON, section, stageItem, statusLine } from "./voice.js";

async function fetchLookback(api) {
  const data = await apiJSON(`${api}/lookback`);
  return data.items || [];
}

function problemList(rows) {
  return el("ul", { class: "lookback-list" }, rows.map((p) => el("li", { class: p.overdue ? "is-late" : null },
    el("span", { class: `voice-badge rect-${p.status}`, text: p.status_label }),
    p.overdue ? el("span", { class: "voice-badge rc-late-badge", text: `逾期 ${p.days_overdue} 天` }) : null,
    p.escalation ? el("span", { class: "voice-badge", text: p.escalation_label }) : null,
    el("span", { text: ` ${p.description}` }),
    el("small", { class: "muted", text: `（${p.meeting_title}，整改期限 ${p.deadline || "—"}）` }))));
}

export function lookbackCard(conn, api) {
  const status = statusLine();
  const body = el("div", { class: "lookback-body" });
  const root = section("回头看", { open: true, hint: "述法人以往会议未销号的问题", className: "lookback-card" }, status, body);
  let items = [];

  async function load() {
    try {
      items = await fetchLookback(api);
      render();
    } catch (err) {
      status.set(err.message, "error");
    }
  }

  function render() {
    const onStage = stageItem(conn.state);
    const withProblems = items.filter((i) => i.problems.length);
    root.hint.textContent = withProblems.length ? `${withProblems.length} 位述法人有以往未销号问题` : "述法人以往会议均无未销号问题";
    if (!withProblems.length) return fill(body, el("p", { class: "muted", text: "本次述法人在以往会议中没有未销号的问题。" }));
    withProblems.sort((a, b) => (b.item_id === onStage?.id) - (a.item_id === onStage?.id));
    fill(body, withProblems.map((i) => {
      const seed = el("button", { type: "button", class: "btn btn-small btn-primary", dataset: { lookbackSeed: i.item_id } }, "纳入质询");
      seed.addEventListener("click", async () => {
        seed.disabled = true;
        try {
          const r = await apiJSON(`${api}/items/${i.item_id}/lookback/seed`, { method: "POST", body: {} });
          const n = (r.imported || []).length;
          toast(n ? `已将 ${n} 个问题纳入质询` : "这些问题已在质询列表中", "ok", 3000);
        } catch (err) {
          toast(err.message);
        } finally {
          seed.disabled = false;
        }
      });
      return el("div", { class: `lookback-item${i.item_id === onStage?.id ? " is-current" : ""}` },
        el("h3", {}, `${i.presenter}`, el("small", { class: "muted", text: `　${i.unit}` }),
          i.overdue ? el("span", { class: "voice-badge rc-late-badge", text: ` ${i.overdue} 个逾期` }) : null),
        problemList(i.problems), seed);
    }));
  }

  conn.on("state", (state, msg) => {
    if (!items.length && (!msg || msg.type === "snapshot")) load();
    else if (msg && msg.type === "item.updated") render();
  });
  return root;
}

// The presenter's 述法 card: the earlier open problems of the presenter on stage (read-only).
// With the presenter link's cookie the server answers for the presenter on stage only, so the
// list is read again whenever another presenter takes the stage.
export function presenterLookback(conn, api) {
  const body = el("div", {});
  const root = el("section", { class: "card lookback-presenter", "aria-label": "回头看", hidden: true },
    el("h2", { text: "回头看：以往会议未销号的问题" }), body);
  let fetchedFor;  // the stage item id the list was read for (undefined: not yet)
  let reading = null;

  async function render() {
    const onStage = stageItem(conn.state);
    const id = onStage ? onStage.id : null;
    if (id === fetchedFor || reading === id) return;
    reading = id;
    let items = [];
    try {
      items = id === null ? [] : await fetchLookback(api);
    } catch {
      items = [];
    }
    reading = null;
    if ((stageItem(conn.state)?.id ?? null) !== id) return render();  // the stage moved meanwhile
    fetchedFor = id;
    const mine = items.find((i) => i.item_id === id);
    root.hidden = !(mine && mine.problems.length);
    if (mine && mine.problems.length) fill(body, problemList(mine.problems));
  }

  conn.on("state", () => { render(); });
  return root;
}
