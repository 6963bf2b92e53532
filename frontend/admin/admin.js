// The administrators' workspace: sign in at /admin, then the meetings (admin-meetings.js).

import { el, fill, setCsrfToken, csrfHeaders, toast } from "../shared/ui.js";
import { meetingsView } from "./admin-meetings.js";

const app = document.getElementById("app");

boot();

async function boot() {
  let session = { admin: false };
  try {
    const resp = await fetch("/api/admin/session", { credentials: "same-origin" });
    session = await resp.json();
    setCsrfToken(session.csrf);
  } catch {
    toast("无法连接服务器，请检查网络后刷新页面");
  }
  if (session.admin) openWorkspace(session.name);
  else loginForm();
}

// A refusal because the sign-in lapsed sends the page back to the sign-in form.
export function signedOut(message) {
  document.getElementById("nav").hidden = true;
  loginForm(message);
}

function loginForm(message) {
  const name = el("input", { type: "text", name: "name", required: true, autocomplete: "username", maxlength: "40" });
  const password = el("input", { type: "password", name: "password", required: true, autocomplete: "current-password" });
  const error = el("p", { class: "form-error", role: "alert", text: message || "" });
  const submit = el("button", { type: "submit", class: "btn btn-primary" }, "登录");
  const form = el("form", { class: "card login-box" },
    el("h2", { text: "组织单位管理员登录" }),
    el("p", { class: "muted", text: "管理员账号由系统维护人员用 live admin create 创建。" }),
    el("label", { class: "field" }, "管理员名称", name),
    el("label", { class: "field" }, "密码", password),
    error, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    try {
      const resp = await fetch("/api/admin/login", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: name.value, password: password.value }),
      });
      const body = await resp.json().catch(() => ({}));
      if (resp.ok) {
        setCsrfToken(body.csrf);
        openWorkspace(body.name);
        return;
      }
      error.textContent = (body.error && body.error.message) || `登录失败（${resp.status}）`;
    } catch {
      error.textContent = "无法连接服务器，请检查网络";
    }
    submit.disabled = false;
    password.select();
  });
  fill(app, form);
  name.focus();
}

function openWorkspace(adminName) {
  document.getElementById("nav").hidden = false;
  document.getElementById("who").textContent = `管理员：${adminName}`;
  document.getElementById("logout").onclick = async () => {
    await fetch("/api/admin/logout", { method: "POST", credentials: "same-origin", headers: csrfHeaders() })
      .catch(() => null);
    location.reload();
  };
  meetingsView(app);
}
