// @generated from sdk-ts/src/ws-global.ts (and the modules it imports) by `npm run build:bridge` (in sdk-ts/) — DO NOT EDIT.
"use strict";
(() => {
  // src/errors.ts
  var BRAND = /* @__PURE__ */ Symbol.for("auroraview.InvokeError");
  function isBranded(value) {
    return typeof value === "object" && value !== null && value[BRAND] === true;
  }
  var InvokeError = class _InvokeError extends Error {
    constructor(shape) {
      super(shape.message);
      this.name = shape.name;
      this.code = shape.code;
      this.data = shape.data;
      Object.defineProperty(this, BRAND, { value: true });
    }
    /** `e instanceof InvokeError` holds for an error made by any copy of this class. A subclass
     * (`class NameTaken extends InvokeError`) keeps the ordinary prototype-chain check. */
    static [Symbol.hasInstance](value) {
      if (this !== _InvokeError) return Function.prototype[Symbol.hasInstance].call(this, value);
      return isBranded(value);
    }
  };

  // src/client.ts
  function failure(name, code, message) {
    return new InvokeError({ name, code, message, data: null });
  }
  function disconnected(reason) {
    const why = reason instanceof Error ? reason.message : reason === void 0 ? "" : String(reason);
    return failure("Disconnected", "disconnected", "the connection to the host is gone" + (why ? ": " + why : ""));
  }
  function createClient(transport, { onEvent } = {}) {
    const pending = /* @__PURE__ */ new Map();
    const listeners = /* @__PURE__ */ new Map();
    let nextId = 1;
    let unmatched = 0;
    let state = transport.state;
    let opened;
    let neverOpened;
    const ready = new Promise((resolve, reject) => {
      opened = resolve;
      neverOpened = reject;
    });
    ready.catch(() => {
    });
    function drop(id, error) {
      const entry = pending.get(id);
      if (entry === void 0) return false;
      pending.delete(id);
      if (entry.cleanup !== void 0) entry.cleanup();
      entry.reject(error);
      return true;
    }
    function transmit(id, message) {
      try {
        transport.send(message);
      } catch (err) {
        drop(id, disconnected(err));
      }
    }
    function cancel(id) {
      try {
        transport.send({ type: "cancel", id });
      } catch {
      }
    }
    function settle(frame) {
      const entry = pending.get(frame.id);
      if (entry === void 0) {
        unmatched += 1;
        return;
      }
      pending.delete(frame.id);
      if (entry.cleanup !== void 0) entry.cleanup();
      if (frame.ok) {
        entry.resolve(frame.result);
      } else {
        entry.reject(new InvokeError(frame.error ?? { name: "Error", code: "internal", message: "malformed reply", data: null }));
      }
    }
    function deliver(event, payload) {
      const set = listeners.get(event);
      if (set !== void 0) {
        for (const listener of Array.from(set)) {
          try {
            listener(payload);
          } catch (err) {
            console.error(`auroraview: listener for "${event}" threw`, err);
          }
        }
      }
      if (onEvent !== void 0) {
        try {
          onEvent(event, payload);
        } catch (err) {
          console.error(`auroraview: onEvent for "${event}" threw`, err);
        }
      }
    }
    function receive(frames) {
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i];
        if (frame === null || typeof frame !== "object") continue;
        if (frame.type === "call_result") {
          settle(frame);
        } else if (frame.type === "event" && typeof frame.event === "string") {
          deliver(frame.event, frame.payload);
        }
      }
    }
    function setState(next, reason) {
      const was = state;
      state = next;
      if (next === "open") {
        opened();
        return;
      }
      if (was === "open" || next === "closed") {
        for (const id of Array.from(pending.keys())) drop(id, disconnected(reason));
      }
      if (next === "closed") neverOpened(disconnected(reason));
    }
    function call(method, params, options) {
      const id = nextId++;
      if (options === void 0 || options.timeout === void 0 && !options.signal) {
        return new Promise((resolve, reject) => {
          if (state === "closed") return reject(disconnected(void 0));
          pending.set(id, { resolve, reject, cleanup: void 0 });
          transmit(id, { type: "call", id, method, params });
        });
      }
      return guardedCall(id, method, params, options.timeout, options.signal);
    }
    function guardedCall(id, method, params, timeout, signal) {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(failure("AbortError", "cancelled", "the call was aborted"));
        if (state === "closed") return reject(disconnected(void 0));
        let timer;
        const stop = (error) => {
          if (drop(id, error)) cancel(id);
        };
        const onAbort = () => stop(failure("AbortError", "cancelled", "the call was aborted"));
        const cleanup = () => {
          if (timer !== void 0) clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        };
        pending.set(id, { resolve, reject, cleanup });
        if (timeout !== void 0) {
          timer = setTimeout(() => stop(failure("TimeoutError", "timeout", `no reply within ${timeout} ms`)), timeout);
        }
        signal?.addEventListener("abort", onAbort, { once: true });
        transmit(id, { type: "call", id, method, params });
      });
    }
    function send_event(event, detail) {
      if (state === "closed") throw disconnected(void 0);
      try {
        transport.send({ type: "event", event, detail });
      } catch (err) {
        throw disconnected(err);
      }
    }
    function on(event, handler) {
      let set = listeners.get(event);
      if (set === void 0) {
        set = /* @__PURE__ */ new Set();
        listeners.set(event, set);
      }
      set.add(handler);
      return () => off(event, handler);
    }
    function off(event, handler) {
      if (handler === void 0) listeners.delete(event);
      else listeners.get(event)?.delete(handler);
    }
    function once(event, handler) {
      const unsubscribe = on(event, (payload) => {
        unsubscribe();
        handler(payload);
      });
      return unsubscribe;
    }
    function trigger(event, payload) {
      if (event === "__auroraview_call_result") {
        const p = payload;
        if (p != null && p.id !== void 0) settle({ ...p, type: "call_result" });
        return;
      }
      deliver(event, payload);
    }
    function stats() {
      return { pending: pending.size, unmatched };
    }
    const namespaces = /* @__PURE__ */ new Map();
    function namespace(name) {
      let ns = namespaces.get(name);
      if (ns === void 0) {
        const prefix = name + ".";
        ns = new Proxy(Object.freeze(/* @__PURE__ */ Object.create(null)), {
          get: (_target, method) => typeof method !== "string" || method === "then" ? void 0 : (params, opts) => call(prefix + method, params, opts)
        });
        namespaces.set(name, ns);
      }
      return ns;
    }
    const unknownProperties = new Proxy(Object.freeze(/* @__PURE__ */ Object.create(null)), {
      get: (_target, name, receiver) => {
        if (name === "then") return void 0;
        if (typeof name !== "string" || name in Object.prototype) return Reflect.get(Object.prototype, name, receiver);
        return namespace(name);
      }
    });
    const client = Object.create(unknownProperties, {
      call: { value: call, enumerable: true },
      send_event: { value: send_event, enumerable: true },
      on: { value: on, enumerable: true },
      once: { value: once, enumerable: true },
      off: { value: off, enumerable: true },
      trigger: { value: trigger, enumerable: true },
      stats: { value: stats, enumerable: true },
      ready: { value: ready, enumerable: true },
      state: { get: () => state, enumerable: true },
      api: { value: namespace("api"), enumerable: true }
    });
    Object.freeze(client);
    transport.attach({ receive, setState });
    if (state === "open") opened();
    else if (state === "closed") neverOpened(disconnected(void 0));
    return client;
  }
  function extendClient(client, extras) {
    const proto = Object.getPrototypeOf(client);
    const descriptors = { ...Object.getOwnPropertyDescriptors(client), ...Object.getOwnPropertyDescriptors(extras) };
    return Object.freeze(Object.create(proto, descriptors));
  }

  // src/protocol.gen.ts
  var PROTOCOL_VERSION = 1;

  // src/transports/websocket.ts
  var WEBSOCKET_PATH = "/__auroraview/ws";
  var SUBPROTOCOL = "auroraview";
  var TOKEN_SUBPROTOCOL_PREFIX = "auroraview.token.";
  function subprotocols(token) {
    return token === void 0 ? [SUBPROTOCOL] : [SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token];
  }
  var CloseCode = Object.freeze({
    normal: 1e3,
    goingAway: 1001,
    unauthorized: 4001,
    heartbeatTimeout: 4002,
    tokenRevoked: 4003,
    slowConsumer: 4008
  });
  var OPEN = 1;
  function backoffDelay(attempt, baseDelayMs = 250, maxDelayMs = 1e4, random = Math.random) {
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(Math.max(attempt, 0), 52));
    const r = random();
    return Math.floor((r >= 0 && r < 1 ? r : 0) * cap);
  }
  function resolveEndpoint(url, token, base) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      const origin = base ?? globalThis.location?.href;
      if (origin === void 0) throw new TypeError(`auroraview: "${url}" is a relative url and there is no location to resolve it against: give an absolute ws:// url`);
      parsed = new URL(url, origin);
    }
    switch (parsed.protocol) {
      case "ws:":
      case "wss:":
        break;
      case "http:":
      case "https:":
        parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
        if (!parsed.pathname.endsWith(WEBSOCKET_PATH)) parsed.pathname = WEBSOCKET_PATH;
        break;
      default:
        throw new TypeError(`auroraview: cannot connect to "${parsed.protocol}" urls: give ws://, wss://, http:// or https://`);
    }
    const inUrl = parsed.searchParams.get("token") ?? void 0;
    if (inUrl !== void 0) parsed.searchParams.delete("token");
    parsed.hash = "";
    if (token !== void 0 && inUrl !== void 0 && token !== inUrl) {
      throw new TypeError("auroraview: the url's token and the token option differ");
    }
    const chosen = token ?? inUrl;
    if (chosen !== void 0 && (typeof chosen !== "string" || chosen === "")) {
      throw new TypeError("auroraview: the token must be a non-empty string");
    }
    if (chosen !== void 0 && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(chosen)) {
      throw new TypeError("auroraview: the token has characters that cannot be sent at the upgrade");
    }
    return { url: parsed.href, token: chosen };
  }
  function duration(name, value, fallback, { zero = true, infinite = false } = {}) {
    if (value === void 0) return fallback;
    const ok = typeof value === "number" && !Number.isNaN(value) && (zero ? value >= 0 : value > 0) && (infinite || Number.isFinite(value));
    if (!ok) throw new RangeError(`auroraview: option ${name} must be a ${zero ? "non-negative" : "positive"} number, not ${String(value)}`);
    return value;
  }
  var PING = '{"type":"ping"}';
  var PONG = '{"type":"pong"}';
  function websocketTransport(options) {
    if (options === null || typeof options !== "object" || typeof options.url !== "string") {
      throw new TypeError("auroraview: websocketTransport needs { url }");
    }
    const found = options.WebSocket ?? globalThis.WebSocket;
    if (typeof found !== "function") {
      throw new TypeError(
        'auroraview: no WebSocket implementation: this runtime has no global WebSocket (Node < 22); install the "ws" package and pass it: createAuroraView({ url, token, WebSocket }) with `import WebSocket from "ws"`'
      );
    }
    const Socket = found;
    const endpoint = resolveEndpoint(options.url, options.token, options.base);
    const heartbeatOption = options.heartbeatMs === void 0 ? void 0 : duration("heartbeatMs", options.heartbeatMs, 0, { zero: false });
    const heartbeatTimeout = duration("heartbeatTimeoutMs", options.heartbeatTimeoutMs, 1e4);
    const connectTimeout = duration("connectTimeoutMs", options.connectTimeoutMs, 1e4, { zero: false });
    const baseDelay = duration("baseDelayMs", options.baseDelayMs, 250);
    const maxDelay = duration("maxDelayMs", options.maxDelayMs, 1e4);
    const maxAttempts = duration("maxAttempts", options.maxAttempts, Infinity, { infinite: true });
    const maxQueued = duration("maxQueued", options.maxQueued, 1e3);
    const random = options.random ?? Math.random;
    const protocols = subprotocols(endpoint.token);
    let state = "connecting";
    let sink;
    let socket;
    let queue = [];
    let attempt = 0;
    let info;
    let retryTimer;
    let connectTimer;
    let pingTimer;
    let deadTimer;
    let interval = 0;
    let silence = 0;
    let sentAt = 0;
    let heardAt = 0;
    let confirming = false;
    const stats = {
      attempts: 0,
      connects: 0,
      sent: 0,
      received: 0,
      binaryIgnored: 0,
      invalidFrames: 0,
      heartbeatTimeouts: 0
    };
    const listeners = {
      connected: /* @__PURE__ */ new Set(),
      disconnected: /* @__PURE__ */ new Set(),
      error: /* @__PURE__ */ new Set()
    };
    if (options.onConnected) listeners.connected.add(options.onConnected);
    if (options.onDisconnected) listeners.disconnected.add(options.onDisconnected);
    if (options.onError) listeners.error.add(options.onError);
    function known(event) {
      return event === "connected" || event === "disconnected" || event === "error";
    }
    function emit(event, value) {
      for (const listener of Array.from(listeners[event])) {
        try {
          listener(value);
        } catch (err) {
          console.error(`auroraview: a "${event}" listener threw`, err);
        }
      }
    }
    function fail(message) {
      if (listeners.error.size > 0) emit("error", new Error("auroraview: " + message));
    }
    function raw(text) {
      const ws = socket;
      if (ws === void 0 || ws.readyState !== OPEN) throw new Error("the connection is not open");
      ws.send(text);
      sentAt = Date.now();
      stats.sent++;
    }
    function stopTimers() {
      for (const timer of [connectTimer, pingTimer, deadTimer, retryTimer]) if (timer !== void 0) clearTimeout(timer);
      connectTimer = pingTimer = deadTimer = retryTimer = void 0;
    }
    function detach(ws) {
      const ignore = () => {
      };
      ws.onopen = ignore;
      ws.onmessage = ignore;
      ws.onerror = ignore;
      ws.onclose = ignore;
    }
    function abandon(code, reason, terminate) {
      const ws = socket;
      if (ws === void 0) return;
      socket = void 0;
      detach(ws);
      try {
        ws.close(code, reason);
      } catch {
      }
      if (terminate && typeof ws.terminate === "function") {
        try {
          ws.terminate();
        } catch {
        }
      }
    }
    function setState(next, reason) {
      state = next;
      sink?.setState(next, reason);
    }
    function lost(code, reason, fatal) {
      stopTimers();
      socket = void 0;
      info = void 0;
      const wasOpen = state === "open";
      if (fatal || attempt >= maxAttempts) {
        finish(code, fatal || maxAttempts === 0 ? reason : `${reason}; gave up after ${attempt} attempt${attempt === 1 ? "" : "s"}`);
        return;
      }
      if (wasOpen) {
        setState("connecting", describe(code, reason));
        emit("disconnected", { code, reason, willReconnect: true });
      }
      const delay = backoffDelay(attempt, baseDelay, maxDelay, random);
      attempt++;
      retryTimer = setTimeout(connect, delay);
    }
    function finish(code, reason) {
      if (state === "closed") return;
      stopTimers();
      queue = void 0;
      info = void 0;
      setState("closed", describe(code, reason));
      emit("disconnected", { code, reason, willReconnect: false });
    }
    function describe(code, reason) {
      return `${reason || "connection closed"} (close code ${code})`;
    }
    function connect() {
      retryTimer = void 0;
      if (state === "closed") return;
      stats.attempts++;
      let ws;
      try {
        ws = new Socket(endpoint.url, protocols);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        fail("could not create a WebSocket: " + message);
        lost(1006, "could not create a WebSocket: " + message, true);
        return;
      }
      socket = ws;
      let refused;
      ws.onopen = () => {
      };
      ws.onmessage = (event) => {
        if (socket === ws) receive(event.data);
      };
      ws.onerror = (event) => {
        if (socket !== ws) return;
        const detail = event?.error instanceof Error ? event.error.message : typeof event?.message === "string" ? event.message : "";
        const status = /Unexpected server response: (\d{3})/.exec(detail);
        if (status) refused = Number(status[1]);
        fail("WebSocket error" + (detail ? ": " + detail : "") + ` (${endpoint.url})`);
      };
      ws.onclose = (event) => {
        if (socket !== ws) return;
        detach(ws);
        let code = typeof event?.code === "number" ? event.code : 1006;
        let reason = typeof event?.reason === "string" ? event.reason : "";
        const fatal = code === CloseCode.unauthorized || code === CloseCode.tokenRevoked || refused === 401 || refused === 403;
        if (refused === 401) {
          code = CloseCode.unauthorized;
          reason = "HTTP 401 at the upgrade: wrong token";
        } else if (refused !== void 0) {
          reason = `HTTP ${refused} at the upgrade`;
        }
        lost(code, reason, fatal);
      };
      connectTimer = setTimeout(() => {
        connectTimer = void 0;
        if (socket !== ws || state === "open") return;
        const reason = `no welcome within ${connectTimeout} ms`;
        fail(reason + ` (${endpoint.url})`);
        abandon(CloseCode.heartbeatTimeout, reason, true);
        lost(CloseCode.heartbeatTimeout, reason, false);
      }, connectTimeout);
    }
    function receive(data) {
      heardAt = Date.now();
      stats.received++;
      if (typeof data !== "string") {
        stats.binaryIgnored++;
        return;
      }
      let frame;
      try {
        frame = JSON.parse(data);
      } catch {
        frame = void 0;
      }
      if (frame === null || typeof frame !== "object" || Array.isArray(frame)) {
        stats.invalidFrames++;
        fail("a frame from the server is not a JSON object: " + data.slice(0, 80));
        return;
      }
      switch (frame.type) {
        case "ping":
          try {
            raw(PONG);
          } catch {
          }
          return;
        case "pong":
          return;
        case "welcome":
          welcome(frame);
          return;
        default:
          sink?.receive([frame]);
      }
    }
    function welcome(frame) {
      if (state === "open") return;
      if (connectTimer !== void 0) clearTimeout(connectTimer);
      connectTimer = void 0;
      attempt = 0;
      const serverHeartbeat = typeof frame.heartbeat_ms === "number" && frame.heartbeat_ms > 0 ? frame.heartbeat_ms : 15e3;
      info = Object.freeze({ conn: frame.conn, protocol: frame.protocol, heartbeatMs: serverHeartbeat });
      if (frame.protocol !== PROTOCOL_VERSION) {
        fail(`the server speaks protocol ${String(frame.protocol)}, this SDK ${PROTOCOL_VERSION}`);
      }
      interval = heartbeatOption ?? serverHeartbeat;
      silence = interval + heartbeatTimeout;
      sentAt = heardAt = Date.now();
      confirming = false;
      pingTimer = setTimeout(pingCheck, interval);
      deadTimer = setTimeout(deadCheck, silence);
      const waiting = queue;
      queue = void 0;
      if (waiting !== void 0) {
        try {
          for (let i = 0; i < waiting.length; i++) raw(waiting[i].text);
        } catch {
        }
      }
      stats.connects++;
      setState("open", "");
      emit("connected", info);
    }
    function rearm(remaining, limit) {
      return Math.max(1, Math.min(remaining, limit));
    }
    function pingCheck() {
      pingTimer = void 0;
      if (socket === void 0) return;
      const idle = Date.now() - sentAt;
      if (idle >= interval) {
        try {
          raw(PING);
        } catch {
          return;
        }
        pingTimer = setTimeout(pingCheck, interval);
      } else {
        pingTimer = setTimeout(pingCheck, rearm(interval - idle, interval));
      }
    }
    function deadCheck() {
      deadTimer = void 0;
      if (socket === void 0) return;
      const quiet = Date.now() - heardAt;
      if (quiet < silence) {
        confirming = false;
        deadTimer = setTimeout(deadCheck, rearm(silence - quiet, silence));
        return;
      }
      if (!confirming) {
        confirming = true;
        deadTimer = setTimeout(deadCheck, 0);
        return;
      }
      confirming = false;
      stats.heartbeatTimeouts++;
      const reason = `heartbeat timeout: nothing from the server for ${quiet} ms`;
      abandon(CloseCode.heartbeatTimeout, reason, true);
      lost(CloseCode.heartbeatTimeout, reason, false);
    }
    function send(message) {
      if (state === "open") {
        raw(JSON.stringify(message));
        return;
      }
      if (state === "closed") throw new Error("the connection is closed");
      if (queue === void 0) {
        throw new Error("reconnecting to the server");
      }
      if (message.type === "cancel") {
        for (let i = 0; i < queue.length; i++) {
          if (queue[i].call === message.id) {
            queue.splice(i, 1);
            return;
          }
        }
      }
      if (queue.length >= maxQueued) throw new Error(`${maxQueued} messages are waiting for the first connection already`);
      queue.push({ call: message.type === "call" ? message.id : void 0, text: JSON.stringify(message) });
    }
    function close(code = CloseCode.normal, reason = "closed by the client") {
      if (state === "closed") return;
      stopTimers();
      const ws = socket;
      socket = void 0;
      if (ws !== void 0) {
        detach(ws);
        try {
          ws.close(code, reason);
        } catch {
        }
        if (typeof ws.terminate === "function") {
          const kill = setTimeout(() => ws.terminate?.(), 2e3);
          ws.onclose = () => clearTimeout(kill);
        }
      }
      finish(code, reason);
    }
    const connection = Object.freeze({
      get state() {
        return state;
      },
      get info() {
        return info;
      },
      url: endpoint.url,
      on(event, listener) {
        const set = known(event) ? listeners[event] : void 0;
        if (set === void 0) throw new TypeError(`auroraview: no connection event "${String(event)}" (connected, disconnected, error)`);
        set.add(listener);
        return () => void set.delete(listener);
      },
      off(event, listener) {
        const set = known(event) ? listeners[event] : void 0;
        if (set === void 0) return;
        if (listener === void 0) set.clear();
        else set.delete(listener);
      },
      close,
      stats: () => ({ ...stats, queued: queue === void 0 ? 0 : queue.length })
    });
    return {
      get state() {
        return state;
      },
      attach(target) {
        if (sink !== void 0) throw new Error("auroraview: the WebSocket transport is attached already");
        sink = target;
        connect();
      },
      send,
      connection
    };
  }

  // src/ws-global.ts
  var installed = window.auroraview;
  if (installed === void 0) {
    const domTypes = /* @__PURE__ */ new Set();
    const addEventListener = window.addEventListener;
    Object.defineProperty(window, "addEventListener", {
      value: function(...args) {
        domTypes.add(String(args[0]));
        addEventListener.apply(this ?? window, args);
      },
      writable: true,
      configurable: true
    });
    const transport = websocketTransport({ url: WEBSOCKET_PATH });
    const client = createClient(transport, {
      onEvent: (event, payload) => {
        if (domTypes.has(event)) window.dispatchEvent(new CustomEvent(event, { detail: payload }));
      }
    });
    const auroraview = extendClient(client, { __bridge: 1, InvokeError, connection: transport.connection });
    Object.defineProperty(window, "auroraview", { value: auroraview, writable: false, configurable: false });
    const parsed = new Promise((resolve) => {
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => resolve(), { once: true });
      else resolve();
    });
    void Promise.all([client.ready, parsed]).then(
      () => window.dispatchEvent(new CustomEvent("auroraviewready", { detail: auroraview })),
      () => {
      }
      // closed before it ever opened (4001: no cookie): `connection` says why
    );
  }
})();
