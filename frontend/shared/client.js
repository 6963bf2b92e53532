// The one connection module every page uses (see docs/protocol.md): the socket shell.
// It owns the socket, the seq, reconnects, and the ballot outbox; applying events to the
// public state is the pure reducer in state.js. Pages only render what it hands them.

import { LiveSource } from "./source.js";
import { applyEvent, SEQUENCED } from "./state.js";
import { sameChoice } from "./ui.js";

// Pages import everything from here; the DOM and formatting helpers live in ui.js.
export * from "./ui.js";

const FATAL_CLOSE = new Set([4401, 4404]);
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10000;
const COMMAND_TIMEOUT_MS = 15000;
const PING_EVERY_MS = 20000;
const PING_TIMEOUT_MS = 8000;
// A ping's ack carries the server's seq. An event already committed may still be on its way
// to this phone (a big fan-out goes out in slices), so a phone that is behind waits this long
// before it decides the event was lost and reconnects with `since` for a replay.
const BEHIND_GRACE_MS = 1500;
// Close 4429: this worker holds as many sockets as it may. Wait at least the retry hint the
// server gave (in the close reason), plus jitter, so a hall's phones do not come back together.
const FULL_CLOSE = 4429;
const FULL_RETRY_MS = 5000;

function randomId(prefix) {
  // getRandomValues works on plain http (a venue LAN); randomUUID does not.
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function store(key, value) {
  try {
    if (value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch { /* private mode or full: the in-memory copy still works */ }
}

function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

// ---- the connection ----------------------------------------------------

export function connect(code, role, opts = {}) {
  return new Connection(code, role, opts);
}

class Connection extends LiveSource {
  constructor(code, role, { member = null, onStatus = null } = {}) {
    super();
    this.code = code.toUpperCase();
    this.role = role;
    this.member = member;  // a panel tablet: its member id (the session cookie proves it)
    this.state = null;
    this.seq = null;
    this.you = null;
    this.online = false;
    this.tallies = {};
    this.presence = null;
    // Volatile counts of the public's voice (not in the seq log): the meeting's like
    // total, upvotes per question id (merged), and for hosts the moderation queue.
    this.likes = null;
    this.upvotes = {};
    this.moderation = null;
    this._clock = null;  // {serverMs, atMs, rttMs}: the welcome's server time and when it arrived
    this._openedAtPerf = 0;
    this.fatal = null;
    this._pending = new Map();
    this._counter = 0;
    this._session = randomId("").slice(0, 6);
    this._attempt = 0;
    this._ws = null;
    this._timer = null;
    this._lastError = null;
    this._expectSnapshot = false;
    this._notBefore = 0;
    this._retryAfterMs = 0;  // the least wait before the next attempt (a full server's hint)
    this._behindTimer = null;
    // Ballots: ids per item, the server-confirmed choice, and the unacked outbox.
    this._voterKey = null;
    this._ballotIds = {};
    this._confirmed = {};
    this._outbox = {};
    this._ballotErrors = {};
    if (onStatus) this.on("status", onStatus);
    addEventListener("online", () => this._reconnectNow());
    addEventListener("offline", () => this._drop("offline"));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._reconnectNow();
    });
    setInterval(() => this._heartbeat(), PING_EVERY_MS);
    this._open();
  }

  close() {
    this.fatal = this.fatal || { code: "closed", message: "已断开" };
    clearTimeout(this._timer);
    if (this._ws) this._ws.close(1000);
  }

  // ---- socket lifecycle ----

  _url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams({ role: this.role });
    if (this.member != null) q.set("member", String(this.member));
    if (this.seq !== null && this.state) q.set("since", String(this.seq));
    return `${proto}//${location.host}/ws/${encodeURIComponent(this.code)}?${q}`;
  }

  _open() {
    if (this.fatal || this._ws) return;
    clearTimeout(this._timer);
    this._timer = null;
    const ws = new WebSocket(this._url());
    this._openedAtPerf = performance.now();
    this._ws = ws;
    this._lastError = null;
    ws.onmessage = (ev) => this._receive(ev.data);
    ws.onclose = (ev) => this._closed(ws, ev.code, ev.reason);
    ws.onerror = () => { /* onclose follows and decides */ };
  }

  // Forget a socket at once: a dead network may not deliver onclose for a long time.
  _drop(reason) {
    const ws = this._ws;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(4000, reason);
    } catch { /* already closing */ }
    this._closed(ws, 1006);
  }

  _closed(ws, closeCode, reason = "") {
    if (ws !== this._ws) return;
    this._ws = null;
    clearTimeout(this._behindTimer);
    this._behindTimer = null;
    if (closeCode === FULL_CLOSE) {
      const hinted = /retry=(\d+)/.exec(reason || "");
      this._retryAfterMs = hinted ? Math.min(120, Number(hinted[1])) * 1000 : FULL_RETRY_MS;
    }
    this._setOnline(false);
    this._failPending();
    if (FATAL_CLOSE.has(closeCode)) {
      const err = this._lastError || {};
      this.fatal = {
        closeCode,
        code: err.code || (closeCode === 4404 ? "not_found" : "bad_token"),
        message: err.message || (closeCode === 4404 ? "会议码不存在" : "身份凭证无效"),
      };
      this._emit("fatal", this.fatal);
      return;
    }
    if (this.fatal) return;
    this._schedule();
  }

  _schedule() {
    if (this._timer || this.fatal) return;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this._attempt);
    // Full jitter keeps a hall of phones from reconnecting in lockstep after a blip.
    let delay = ceiling / 2 + Math.random() * (ceiling / 2);
    if (this._retryAfterMs) {
      // The server was full: its hint, spread over up to twice as long.
      delay = Math.max(delay, this._retryAfterMs * (1 + Math.random()));
      this._retryAfterMs = 0;
      this._notBefore = Date.now() + delay;  // coming back to the tab does not jump the wait
    }
    this._attempt += 1;
    this._timer = setTimeout(() => {
      this._timer = null;
      this._open();
    }, delay);
    this._emit("reconnecting", { delayMs: delay, attempt: this._attempt });
  }

  _reconnectNow() {
    if (this.fatal || this._ws || Date.now() < this._notBefore) return;
    clearTimeout(this._timer);
    this._timer = null;
    this._attempt = 0;
    this._open();
  }

  _setOnline(online) {
    if (this.online === online) return;
    this.online = online;
    this._emit("status", online);
  }

  _heartbeat() {
    if (!this.online) return;
    const ws = this._ws;
    const timer = setTimeout(() => {
      if (this._ws === ws) this._drop("heartbeat");
    }, PING_TIMEOUT_MS);
    this.send("ping").then((ack) => {
      clearTimeout(timer);
      this._checkSeq(ack.seq);
    }, () => clearTimeout(timer));
  }

  // The ack of a ping says how far the server's log is. Behind it (a lost last event: the
  // result, a phase change), the phone gives the event a moment to arrive, then reconnects
  // with `since` and gets the missing events as a replay.
  _checkSeq(serverSeq) {
    if (typeof serverSeq !== "number" || this.seq === null || serverSeq <= this.seq || this._behindTimer) return;
    const ws = this._ws;
    this._behindTimer = setTimeout(() => {
      this._behindTimer = null;
      if (this._ws === ws && this.seq !== null && this.seq < serverSeq) this._drop("behind");
    }, BEHIND_GRACE_MS);
  }

  // ---- incoming ----

  _receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    const type = msg.type;
    if (type === "welcome") this._welcome(msg);
    else if (type === "snapshot") this._snapshot(msg);
    else if (type === "resync") this._expectSnapshot = true;
    else if (SEQUENCED.has(type)) {
      if (!this._applyEvent(msg)) return;
    } else if (type === "tally") this.tallies[msg.item_id] = msg.tally;
    else if (type === "presence") this.presence = msg;
    else if (type === "likes") this.likes = msg.total;
    else if (type === "upvotes") Object.assign(this.upvotes, msg.counts || {});
    else if (type === "moderation") this.moderation = msg;
    else if (type === "ack") this._reply(msg, true);
    else if (type === "error") {
      if (msg.id == null) this._lastError = msg;
      this._reply(msg, false);
    }
    this._emit(type, msg);
  }

  _welcome(msg) {
    this.you = msg.you;
    this._estimateClock(msg.server_time_ms);
    this._attempt = 0;
    if (msg.you && msg.you.can_vote) this._loadBallots(msg);
    this._setOnline(true);
    this._flushOutbox();
    this._refineClock();
  }

  // The server stamped the welcome when it sent it; it reached us about half a
  // round trip later. Without that half the local estimate of server time lags,
  // and a fresh 10:00 countdown would show 10:01. The round trip is first taken
  // from the socket's opening (an upper bound: it holds the handshake too), then
  // from one ping right after the welcome, and the smaller one wins.
  _estimateClock(serverMs) {
    if (!serverMs) return;
    const rttMs = Math.max(0, performance.now() - this._openedAtPerf);
    this._clock = { serverMs, atMs: Date.now(), rttMs };
    this._applyClock();
  }

  _applyClock() {
    const c = this._clock;
    this.clockOffsetMs = c.serverMs + c.rttMs / 2 - c.atMs;
  }

  _refineClock() {
    const clock = this._clock;
    if (!clock) return;
    const sent = performance.now();
    this.send("ping").then(() => {
      const rtt = performance.now() - sent;
      if (this._clock === clock && rtt < clock.rttMs) {
        clock.rttMs = rtt;
        this._applyClock();
      }
    }, () => null);
  }

  _snapshot(msg) {
    this.state = msg.state;
    this.seq = msg.seq;
    this._expectSnapshot = false;
    this._emit("state", this.state, msg);
  }

  // Apply one sequenced event: replace the entity it carries, by id.
  _applyEvent(msg) {
    if (!this.state || this._expectSnapshot || msg.seq <= this.seq) return false;
    if (msg.seq !== this.seq + 1) {
      // A hole in the log: let the server replay from what we have.
      this._drop("gap");
      return false;
    }
    applyEvent(this.state, msg);
    this.seq = msg.seq;
    if (msg.type === "item.updated" && msg.cause === "void") this._forgetBallot(String(msg.item.id));
    this._emit("state", this.state, msg);
    return true;
  }

  // The host voided this item's 测评 (作废重测): its ballots are gone on the server,
  // so the page must not go on showing this voter's choice as counted.
  _forgetBallot(k) {
    if (!(k in this._confirmed || k in this._outbox || k in this._ballotIds)) return;
    delete this._confirmed[k];
    delete this._ballotErrors[k];
    if (this._ballotIds) delete this._ballotIds[k];
    const entry = this._outbox[k];
    delete this._outbox[k];
    this._save();
    for (const w of (entry && entry.waiters) || []) w.reject({ code: "voided", message: "该测评已作废，请重新投票" });
    this._emit("ballot", Number(k), this.ballot(k));
  }

  // ---- commands ----

  send(type, fields = {}) {
    const id = `c-${this._session}-${++this._counter}`;
    return new Promise((resolve, reject) => {
      if (!this._ws || this._ws.readyState !== WebSocket.OPEN || !this.online) {
        reject({ code: "offline", message: "未连接到服务器，请稍候重试" });
        return;
      }
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject({ code: "timeout", message: "服务器未响应，请查看当前状态后重试" });
      }, COMMAND_TIMEOUT_MS);
      this._pending.set(id, { resolve, reject, timer, type, fields });
      this._ws.send(JSON.stringify({ id, type, ...fields }));
    });
  }

  _reply(msg, ok) {
    const p = msg.id != null && this._pending.get(msg.id);
    if (!p) {
      if (ok && msg.ballot_id && msg.item_id != null) this._voteAcked(msg);
      return;
    }
    this._pending.delete(msg.id);
    clearTimeout(p.timer);
    if (ok) p.resolve(msg);
    else p.reject(msg);
  }

  _failPending() {
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer);
      p.reject({ code: "offline", message: "连接中断，操作结果未知，请查看当前状态" });
      this._pending.delete(id);
    }
  }

  // ---- ballots ----
  // A vote stays in the outbox (memory and localStorage) until its ack, and is
  // re-sent with the SAME ballot_id after a reconnect, so a retry is a no-op.

  _key(kind) {
    return `live:${this.code}:${this._voterKey}:${kind}`;
  }

  _loadBallots(welcome) {
    const you = welcome.you;
    this._voterKey = you.member_id != null ? `p${you.member_id}` : you.credential_id != null ? `c${you.credential_id}` : "d";
    this._ballotIds = load(this._key("ids"), {});
    const stored = load(this._key("outbox"), {});
    for (const [item, entry] of Object.entries(stored)) {
      if (!this._outbox[item]) this._outbox[item] = entry;
    }
    this._confirmed = {};
    for (const [item, b] of Object.entries(welcome.my_ballots || {})) {
      if (b.voted && !b.ballot_id) {
        // A secret meeting says only that we voted: the ballot is final, its choice never comes back.
        this._confirmed[item] = { ballot_id: null, choice: null, voted: true };
        this._settle(item, null);
        continue;
      }
      this._ballotIds[item] = b.ballot_id;
      this._confirmed[item] = { ballot_id: b.ballot_id, choice: b.choice };
      const entry = this._outbox[item];
      if (entry) {
        entry.ballot_id = b.ballot_id;
        if (sameChoice(entry.choice, b.choice)) this._settle(item, null);
      }
    }
    this._save();
    for (const item of Object.keys(this._outbox)) this._emit("ballot", Number(item), this.ballot(item));
  }

  _save() {
    store(this._key("ids"), this._ballotIds);
    const plain = {};
    for (const [item, e] of Object.entries(this._outbox)) plain[item] = { ballot_id: e.ballot_id, choice: e.choice };
    store(this._key("outbox"), plain);
  }

  // What the page should show for an item: the acked choice, the one still in
  // flight, and the last refusal.
  ballot(itemId) {
    const k = String(itemId);
    return {
      confirmed: this._confirmed[k] || null,
      pending: this._outbox[k] ? this._outbox[k].choice : null,
      error: this._ballotErrors[k] || null,
    };
  }

  vote(itemId, choice) {
    const k = String(itemId);
    if (!this._voterKey) return Promise.reject({ code: "offline", message: "尚未连接，请稍候" });
    if (!this._ballotIds[k]) this._ballotIds[k] = randomId("b-");
    const prev = this._outbox[k];
    const entry = { ballot_id: this._ballotIds[k], choice, waiters: (prev && prev.waiters) || [] };
    this._outbox[k] = entry;
    delete this._ballotErrors[k];
    this._save();
    const done = new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }));
    this._emit("ballot", Number(k), this.ballot(k));
    this._sendBallot(k);
    return done;
  }

  _flushOutbox() {
    for (const k of Object.keys(this._outbox)) this._sendBallot(k);
  }

  _sendBallot(k, retried = false) {
    const entry = this._outbox[k];
    if (!entry || !this.online) return;
    const sent = entry;
    this.send("vote", { item_id: Number(k), ballot_id: entry.ballot_id, choice: entry.choice }).then(
      (ack) => this._voteAcked(ack),
      (err) => this._ballotRefused(k, sent, err, retried),
    );
  }

  // Also reached by an ack that arrives after its command timed out.
  _voteAcked(ack) {
    const k = String(ack.item_id);
    this._confirmed[k] = { ballot_id: ack.ballot_id, choice: ack.choice, status: ack.status };
    // A newer choice may be in flight; only an ack carrying it settles the outbox.
    const entry = this._outbox[k];
    if (entry && entry.ballot_id === ack.ballot_id && sameChoice(entry.choice, ack.choice)) this._settle(k, ack);
    this._emit("ballot", Number(k), this.ballot(k));
  }

  _ballotRefused(k, sent, err, retried) {
    if (this._outbox[k] !== sent) return;
    if (err.code === "offline" || err.code === "timeout" || err.code === "rate_limited") {
      // Kept in the outbox: a reconnect sends it again; a slow or throttled
      // server gets the same ballot id again shortly (a retry is a no-op).
      if (err.code !== "offline") setTimeout(() => this._sendBallot(k), 1500 + Math.random() * 1500);
      return;
    }
    if (err.code === "already_voted" && err.ballot_id && !retried) {
      // The server holds our earlier ballot (another tab, a lost localStorage): adopt it.
      this._ballotIds[k] = err.ballot_id;
      this._confirmed[k] = { ballot_id: err.ballot_id, choice: err.choice };
      sent.ballot_id = err.ballot_id;
      this._save();
      if (sameChoice(sent.choice, err.choice)) this._settle(k, { choice: err.choice });
      else this._sendBallot(k, true);
      this._emit("ballot", Number(k), this.ballot(k));
      return;
    }
    if (err.code === "already_voted" && !err.ballot_id) {
      // Secret meeting: a ballot of ours is already in (a lost ack, another tab) and is final.
      this._confirmed[k] = this._confirmed[k] || { ballot_id: null, choice: null, voted: true };
    }
    if (err.code === "ballot_id_taken" && !retried) {
      // A stale id from an earlier device identity: start afresh, once.
      this._ballotIds[k] = sent.ballot_id = randomId("b-");
      this._save();
      this._sendBallot(k, true);
      return;
    }
    this._ballotErrors[k] = { code: err.code, message: err.message };
    delete this._outbox[k];
    this._save();
    for (const w of sent.waiters || []) w.reject(err);
    this._emit("ballot", Number(k), this.ballot(k));
  }

  _settle(k, ack) {
    const entry = this._outbox[k];
    if (!entry) return;
    delete this._outbox[k];
    this._save();
    for (const w of entry.waiters || []) w.resolve(ack);
  }
}
