// Requests of the administrators' pages: JSON in and out, the CSRF token on every change,
// and a refusal turned into an Error whose message (and problems) are the server's own words.

import { csrfHeaders } from "../shared/ui.js";

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `请求失败（${status}）`);
    this.status = status;
    this.code = error && error.code;
    this.problems = (error && error.problems) || [];
  }
}

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: csrfHeaders() };
  if (body instanceof Blob || body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new ApiError(0, { message: "无法连接服务器，请检查网络" });
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new ApiError(resp.status, data.error);
    if (resp.status === 401 && err.code === "login_required") {
      const { signedOut } = await import("./admin.js");
      signedOut(err.message);
    }
    throw err;
  }
  return data;
}

export function upload(path, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return api("POST", path, form);
}
