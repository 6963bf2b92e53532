// What the live pages read from, a socket (client.js) or live.json polled (audience/watch.js):
// handlers by event type, each called in turn (one that throws does not stop the others),
// and the server's clock for countdowns drawn from ends_at_ms.

export class LiveSource {
  constructor() {
    this.clockOffsetMs = 0;  // server time minus this device's, set by the subclass
    this._handlers = new Map();
  }

  on(type, fn) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(fn);
    return () => this._handlers.get(type).delete(fn);
  }

  _emit(type, ...args) {
    for (const fn of this._handlers.get(type) || []) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`handler for ${type} failed`, err);
      }
    }
  }

  // Server time now.
  now() {
    return Date.now() + this.clockOffsetMs;
  }
}
