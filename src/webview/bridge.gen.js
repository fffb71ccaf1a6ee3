// @generated from sdk-ts/src/bridge.ts (and the modules it imports) by `npm run build:bridge` (in sdk-ts/) — DO NOT EDIT.
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

  // src/transports/webkit.ts
  function webkitTransport() {
    const stringify = JSON.stringify;
    const parse = JSON.parse;
    const webkit = window.webkit;
    const handler = webkit?.messageHandlers?.ipc;
    let channel = handler && typeof handler.postMessage === "function" ? handler.postMessage.bind(handler) : void 0;
    const outbox = [];
    let state = "connecting";
    let sink;
    const key = (() => {
      const bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      let hex = "";
      for (let i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
      return hex;
    })();
    const head = ',"key":"' + key + '"';
    function field(name, value) {
      if (value === void 0) return "";
      const json = stringify(value);
      return json === void 0 ? "" : ',"' + name + '":' + json;
    }
    function id(value) {
      return typeof value === "number" ? "" + value : stringify(value);
    }
    function encode(m) {
      switch (m.type) {
        case "call":
          return '{"type":"call"' + head + ',"id":' + id(m.id) + field("method", m.method) + field("params", m.params) + "}";
        case "event":
          return '{"type":"event"' + head + field("event", m.event) + field("detail", m.detail) + "}";
        case "cancel":
          return '{"type":"cancel"' + head + ',"id":' + id(m.id) + "}";
        case "ready":
        case "hello":
        case "ping":
        case "pong":
          return '{"type":"' + m.type + '"' + head + "}";
      }
    }
    function ipc() {
      if (channel) return channel;
      const candidate = window.ipc;
      if (candidate && typeof candidate.postMessage === "function") channel = (text) => candidate.postMessage(text);
      return channel;
    }
    function flush() {
      const send = ipc();
      if (!send) return;
      while (outbox.length > 0) send(outbox.shift());
    }
    function post(text) {
      if (channel && outbox.length === 0) {
        channel(text);
        return;
      }
      outbox.push(text);
      flush();
    }
    function receive(batch) {
      let frames;
      try {
        frames = parse(batch);
      } catch (err) {
        console.error("auroraview: undecodable batch from the host", err);
        return;
      }
      if (!Array.isArray(frames)) {
        console.error("auroraview: a batch from the host is not an array");
        return;
      }
      sink?.receive(frames);
    }
    function open() {
      post('{"type":"ready"' + head + "}");
      flush();
      state = "open";
      sink?.setState("open");
    }
    function whenChannel() {
      if (ipc()) {
        open();
        return;
      }
      const poll = setInterval(() => {
        if (ipc()) {
          clearInterval(poll);
          open();
        }
      }, 1);
    }
    return {
      get state() {
        return state;
      },
      attach(target) {
        if (sink) throw new Error("auroraview: the WebKit transport is attached already");
        sink = target;
        post('{"type":"hello"' + head + "}");
        Object.defineProperty(window, "__auroraview_receive", { value: receive, writable: false, configurable: false });
        if (document.readyState === "loading") {
          document.addEventListener("DOMContentLoaded", whenChannel, { once: true });
        } else {
          setTimeout(whenChannel, 0);
        }
      },
      send(message) {
        post(encode(message));
      }
    };
  }

  // src/bridge.ts
  var installed = window.auroraview;
  if (!(installed && installed.__bridge === 1)) {
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
    const client = createClient(webkitTransport(), {
      onEvent: (event, payload) => {
        if (domTypes.has(event)) window.dispatchEvent(new CustomEvent(event, { detail: payload }));
      }
    });
    const auroraview = extendClient(client, { __bridge: 1, InvokeError });
    Object.defineProperty(window, "auroraview", { value: auroraview, writable: false, configurable: false });
    void client.ready.then(() => window.dispatchEvent(new CustomEvent("auroraviewready", { detail: auroraview })));
  }
})();
