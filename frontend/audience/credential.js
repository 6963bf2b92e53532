// The phone's voting credential in ticket (票码) and roster (实名名单) meetings: the code
// or personal token arrives in the URL fragment (never sent to the server by the browser),
// is posted to the redeem endpoint once, and the fragment is removed at once.

import { el, fill } from "../shared/client.js";

async function redeem(code, body) {
  const res = await fetch(`/api/meetings/${encodeURIComponent(code)}/redeem`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (res.ok) return { ok: true, data };
  const message = (data && data.error && data.error.message) || `提交失败（${res.status}），请稍后再试`;
  return { ok: false, message };
}

// Called before the socket connects: a #t= or #r= fragment is redeemed, then forgotten.
export async function redeemFragment(code) {
  const params = new URLSearchParams(location.hash.slice(1));
  const ticket = params.get("t");
  const roster = params.get("r");
  if (!ticket && !roster) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return redeem(code, ticket ? { ticket } : { roster });
}

// The card that asks for a 票码 when this phone may not vote without one.
export function credentialCard(conn, code, firstResult) {
  const root = el("section", { class: "card credential", "aria-label": "投票凭证" });
  const status = el("p", { class: "ballot-status", role: "status", "aria-live": "polite" });
  const input = el("input", { name: "ticket", autocomplete: "off", autocapitalize: "characters", spellcheck: "false",
    maxlength: 20, placeholder: "例如 K7QM-3XP9-TR2W", "aria-label": "票码" });
  const button = el("button", { type: "submit", class: "btn btn-primary" }, "确认票码");
  const form = el("form", { class: "join-box" },
    el("label", { class: "field" }, "票码（12 位字母和数字，不区分大小写）", input), button);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!input.value.trim()) return;
    button.disabled = true;
    status.className = "ballot-status is-pending";
    status.textContent = "正在核对票码…";
    const result = await redeem(code, { ticket: input.value });
    button.disabled = false;
    if (result.ok) {
      location.reload();  // the new credential cookie takes effect on the next connection
      return;
    }
    status.className = "ballot-status is-error";
    status.textContent = result.message;
  });
  if (firstResult && !firstResult.ok) {
    status.className = "ballot-status is-error";
    status.textContent = firstResult.message;
  }

  function update() {
    const you = conn.you;
    const meeting = conn.state && conn.state.meeting;
    const refusal = you && you.refusal;
    const needs = refusal && (refusal.code === "credential_required" || refusal.code === "released");
    if (!needs || !meeting) {
      root.hidden = !(firstResult && !firstResult.ok && meeting && meeting.public_mode !== "open");
      if (root.hidden) return;
    } else {
      root.hidden = false;
    }
    if (meeting && meeting.public_mode === "roster") {
      fill(root, el("h2", { text: "实名投票" }),
        el("p", { text: "本场测评按实名名单投票：请打开会务人员发给您的个人链接，或扫描您的个人二维码。" }), status);
    } else {
      fill(root, el("h2", { text: "输入票码后投票" }),
        el("p", { text: "本场测评凭票码投票：请扫描票码上的二维码，或在下方输入票码。一张票码只能在一台手机上使用。" }),
        form, status);
    }
  }

  conn.on("welcome", update);
  conn.on("state", update);
  root.hidden = true;
  return root;
}
