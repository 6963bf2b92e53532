// Watch-only: the public state from live.json (docs/protocol.md, *live.json*), polled, with
// no socket. It offers the read side of the socket shell (state, seq, tallies, likes, on,
// now, online, fatal), so the read-only views of the phone page work on it unchanged.

import { LiveSource } from "../shared/source.js";

const DEFAULT_POLL_MS = 3000;
const MAX_BACKOFF_MS = 30000;

export function watch(code) {
  return new Watcher(code);
}

class Watcher extends LiveSource {
  constructor(code) {
    super();
    this.code = code.toUpperCase();
    this.role = "watcher";
    this.state = null;
    this.seq = null;
    this.you = null;
    this.tallies = {};
    this.likes = null;
    this.upvotes = {};
    this.online = false;
    this.fatal = null;
    this.generatedMs = null;  // when the worker built the copy shown
    this._pollMs = DEFAULT_POLL_MS;
    this._failures = 0;
    this._timer = null;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._poll();
    });
    this._poll();
  }

  ballot() {
    return null;  // a watcher has no ballot
  }

  async _poll() {
    clearTimeout(this._timer);
    if (this.fatal) return;
    let delay = this._pollMs;
    try {
      // The browser's cache (max-age=1) and its If-None-Match do the rest.
      const resp = await fetch(`/api/meetings/${encodeURIComponent(this.code)}/live.json`);
      if (resp.status === 404) {
        this.fatal = { code: "not_found", message: "会议码不存在", closeCode: 4404 };
        this._emit("fatal", this.fatal);
        return;
      }
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      this._apply(await resp.json(), resp.headers.get("date"));
      this._failures = 0;
      this._setOnline(true);
    } catch {
      this._failures += 1;
      this._setOnline(false);
      const ceiling = Math.min(MAX_BACKOFF_MS, this._pollMs * 2 ** this._failures);
      delay = ceiling / 2 + Math.random() * ceiling / 2;
    }
    if (document.visibilityState !== "hidden") this._timer = setTimeout(() => this._poll(), delay);
  }

  _apply(doc, dateHeader) {
    if (doc.poll_s) this._pollMs = doc.poll_s * 1000;
    this.generatedMs = doc.generated_ms;
    const serverMs = Date.parse(dateHeader || "");
    if (!Number.isNaN(serverMs)) this.clockOffsetMs = serverMs - Date.now();
    if (this.seq === null || doc.seq > this.seq) {  // never step back to an older copy
      this.state = doc.snapshot.state;
      this.seq = doc.seq;
      this._emit("state", this.state, doc.snapshot);
    }
    for (const msg of doc.tallies) {
      this.tallies[msg.item_id] = msg.tally;
      this._emit("tally", msg);
    }
    if (doc.likes !== this.likes) {
      this.likes = doc.likes;
      this._emit("likes", { type: "likes", total: doc.likes });
    }
  }

  _setOnline(online) {
    if (online === this.online) return;
    this.online = online;
    this._emit("status", online);
  }
}
