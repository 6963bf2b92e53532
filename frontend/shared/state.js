// The pure state reducer of every page: no socket, no DOM. The connection shell
// (client.js) feeds it snapshots and sequenced events; tests run it under node.
// The rules come from the server's event catalogue (live/domain/catalogue.py), through
// the generated table in events.gen.js, so the browser and the server apply alike.

import { EVENTS } from "./events.gen.js";

// Every sequenced event type. Each one advances `seq`; one that were skipped would look
// like a gap and make the client reconnect for ever.
export const SEQUENCED = new Set(Object.keys(EVENTS));

function compareBy(order) {
  return (a, b) => {
    for (const f of order) {
      const x = a[f] || 0;
      const y = b[f] || 0;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
}

// Apply one sequenced event to `state` in place: set a singleton, or replace whole
// entities by id in a collection (kept in order, optionally only the last N), or remove one.
export function applyEvent(state, msg) {
  const rule = EVENTS[msg.type];
  if (!rule) return false;
  if (rule.op === "set") {
    state[rule.key] = msg[rule.field];
    return true;
  }
  const rows = state[rule.key] || [];
  if (rule.op === "remove") {
    state[rule.key] = rows.filter((r) => r.id !== msg[rule.field]);
    return true;
  }
  const fresh = new Map((rule.many ? msg[rule.field] || [] : [msg[rule.field]]).map((e) => [e.id, e]));
  const next = rows.map((r) => {
    if (!fresh.has(r.id)) return r;
    const e = fresh.get(r.id);
    fresh.delete(r.id);
    return e;
  });
  next.push(...fresh.values());
  next.sort(compareBy(rule.order));
  state[rule.key] = rule.window ? next.slice(-rule.window) : next;
  return true;
}

// Apply a list of events in seq order to a snapshot's state (used by the parity test).
export function applyAll(state, events) {
  for (const msg of events) applyEvent(state, msg);
  return state;
}
