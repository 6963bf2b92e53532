// The host must know when the service is degraded (e.g. the Redis bus between
// workers is down): other workers' screens may lag until it recovers by itself.
import { el } from "../shared/ui.js";

const MESSAGES = {
  degraded: "服务降级：多进程消息总线（Redis）连接中断，正在自动恢复。本控制台的操作仍会保存，其他进程上的屏幕可能暂时延迟。",
  connecting: "正在连接多进程消息总线…",
};

export function hostHealth(intervalMs = 5000) {
  const node = el("div", { class: "offline-banner health-banner", role: "status", hidden: true });
  document.body.prepend(node);
  const check = async () => {
    try {
      const resp = await fetch("/healthz", { cache: "no-store" });
      const body = await resp.json();
      const text = MESSAGES[body.broker];
      node.hidden = !text;
      if (text) node.textContent = text;
    } catch {
      // The socket's own banner already says the server cannot be reached.
      node.hidden = true;
    }
  };
  check();
  return setInterval(check, intervalMs);
}
