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

  // src/intrinsics.ts
  var jsonParse = JSON.parse;
  var jsonStringify = JSON.stringify;
  var isArray = Array.isArray;
  var reflectApply = Reflect.apply;
  var reflectGet = Reflect.get;
  var freeze = Object.freeze;
  var create = Object.create;
  var defineProperty = Object.defineProperty;
  var getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  var getOwnPropertyDescriptors = Object.getOwnPropertyDescriptors;
  var getPrototypeOf = Object.getPrototypeOf;
  var PromiseIntrinsic = Promise;
  var ProxyIntrinsic = Proxy;
  var ObjectPrototype = Object.prototype;
  var ArrayPrototype = Array.prototype;
  var asyncIteratorSymbol = Symbol.asyncIterator;
  var timers = globalThis;
  var setTimer = timers.setTimeout;
  var clearTimer = timers.clearTimeout;
  var MapIntrinsic = Map;
  var { get: mapGet, set: mapSet, delete: mapDelete, forEach: mapForEach } = Map.prototype;
  var mapSize = getOwnPropertyDescriptor(Map.prototype, "size")?.get;
  function privateMap() {
    const map = new MapIntrinsic();
    defineProperty(map, "get", { value: mapGet });
    defineProperty(map, "set", { value: mapSet });
    defineProperty(map, "delete", { value: mapDelete });
    defineProperty(map, "forEach", { value: mapForEach });
    if (mapSize !== void 0) defineProperty(map, "size", { get: () => reflectApply(mapSize, map, []) });
    return map;
  }
  function appended(list, item) {
    const next = [];
    const n = list === void 0 ? 0 : list.length;
    for (let i = 0; i < n; i++) defineProperty(next, i, { value: list[i], enumerable: true, writable: true, configurable: true });
    defineProperty(next, n, { value: item, enumerable: true, writable: true, configurable: true });
    return freeze(next);
  }
  function without(list, item) {
    const next = [];
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      if (list[i] !== item) defineProperty(next, n++, { value: list[i], enumerable: true, writable: true, configurable: true });
    }
    return n === 0 ? void 0 : freeze(next);
  }
  var Queue = class {
    constructor() {
      this.slots = create(null);
      this.head = 0;
      this.tail = 0;
    }
    get size() {
      return this.tail - this.head;
    }
    push(value) {
      this.slots[this.tail++] = value;
    }
    /** The oldest value, taken out; undefined when empty. */
    shift() {
      if (this.head === this.tail) return void 0;
      const value = this.slots[this.head];
      delete this.slots[this.head++];
      if (this.head === this.tail) this.clear();
      return value;
    }
    clear() {
      if (this.tail !== 0) this.slots = create(null);
      this.head = this.tail = 0;
    }
  };
  function resolveAsData(resolve, value) {
    if (typeof value !== "object" || value === null || !inheritsThen(value)) {
      resolve(value);
      return;
    }
    defineProperty(value, "then", { value: void 0, configurable: true, writable: true });
    try {
      resolve(value);
    } finally {
      delete value.then;
    }
  }
  function inheritsThen(value) {
    if (getOwnPropertyDescriptor(value, "then") !== void 0) return false;
    if (getOwnPropertyDescriptor(ObjectPrototype, "then") !== void 0) return true;
    const proto = getPrototypeOf(value);
    if (proto === ObjectPrototype || proto === null) return false;
    return proto !== ArrayPrototype || getPrototypeOf(ArrayPrototype) !== ObjectPrototype || getOwnPropertyDescriptor(ArrayPrototype, "then") !== void 0;
  }
  var EventTargetIntrinsic = globalThis.EventTarget;
  var addListener = EventTargetIntrinsic?.prototype.addEventListener;
  var removeListener = EventTargetIntrinsic?.prototype.removeEventListener;
  var AbortSignalIntrinsic = globalThis.AbortSignal;
  var abortedGetter = AbortSignalIntrinsic === void 0 ? void 0 : getOwnPropertyDescriptor(AbortSignalIntrinsic.prototype, "aborted")?.get;
  function isAborted(signal) {
    if (abortedGetter !== void 0) {
      try {
        return reflectApply(abortedGetter, signal, []);
      } catch {
      }
    }
    return signal.aborted;
  }
  function onAbort(signal, listener) {
    if (addListener !== void 0) {
      try {
        reflectApply(addListener, signal, ["abort", listener, { once: true }]);
        return;
      } catch {
      }
    }
    signal.addEventListener("abort", listener, { once: true });
  }
  function offAbort(signal, listener) {
    if (removeListener !== void 0) {
      try {
        reflectApply(removeListener, signal, ["abort", listener]);
        return;
      } catch {
      }
    }
    signal.removeEventListener("abort", listener);
  }

  // src/client.ts
  var ACK_EVERY = 32;
  var CANCELLED_KEPT = 1024;
  function nothing() {
  }
  function failure(name, code, message) {
    return new InvokeError({ name, code, message, data: null });
  }
  function disconnected(reason) {
    const why = reason instanceof Error ? reason.message : reason === void 0 ? "" : String(reason);
    return failure("Disconnected", "disconnected", "the connection to the host is gone" + (why ? ": " + why : ""));
  }
  var abortError = () => failure("AbortError", "cancelled", "the call was aborted");
  var timeoutError = (timeout) => failure("TimeoutError", "timeout", `no reply within ${timeout} ms`);
  function gap(id, method, seq, last) {
    const call = `call ${String(id)}` + (method ? ` (${method})` : "");
    const expected = last === 0 ? "as its first item (seq 1)" : `after item ${last}`;
    return failure("Error", "internal", `item ${String(seq)} of ${call} arrived ${expected}: the host's items are out of sequence, the call is cancelled`);
  }
  function fulfil(waiter, result) {
    resolveAsData(waiter.resolve, result);
  }
  function settled(result) {
    return new PromiseIntrinsic((resolve) => resolveAsData(resolve, result));
  }
  function failed(error) {
    return new PromiseIntrinsic((_resolve, reject) => reject(error));
  }
  function createClient(transport, { onEvent } = {}) {
    const pending = privateMap();
    const listeners = privateMap();
    let nextId = 1;
    let unmatched = 0;
    let state = transport.state;
    let cancelled = privateMap();
    let cancelledRing = create(null);
    let cancelledSlot = 0;
    const afterBatch = new Queue();
    let opened;
    let neverOpened;
    const ready = new PromiseIntrinsic((resolve, reject) => {
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
    function remember(id) {
      const evicted = cancelledRing[cancelledSlot];
      if (evicted !== void 0) cancelled.delete(evicted);
      cancelledRing[cancelledSlot] = id;
      cancelledSlot = (cancelledSlot + 1) % CANCELLED_KEPT;
      cancelled.set(id, true);
    }
    function abandon(id, error) {
      if (drop(id, error)) {
        cancel(id);
        remember(id);
      }
    }
    function acknowledge(id, seq) {
      try {
        transport.send({ type: "ack", id, seq });
      } catch {
      }
    }
    function settle(frame) {
      const entry = pending.get(frame.id);
      if (entry === void 0) {
        if (!cancelled.delete(frame.id)) unmatched += 1;
        return;
      }
      pending.delete(frame.id);
      if (entry.cleanup !== void 0) entry.cleanup();
      if (frame.ok) {
        resolveAsData(entry.resolve, frame.result);
      } else {
        entry.reject(new InvokeError(frame.error ?? { name: "Error", code: "internal", message: "malformed reply", data: null }));
      }
    }
    function deliver(event, payload) {
      const list = listeners.get(event);
      if (list !== void 0) {
        for (let i = 0; i < list.length; i++) {
          const listener = list[i];
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
    function item(frame) {
      const entry = pending.get(frame.id);
      if (entry === void 0) {
        if (cancelled.get(frame.id) === void 0) unmatched += 1;
        return;
      }
      if (entry.item === void 0) entry.item = channel(frame.id, "", nothing);
      entry.item(frame.seq, frame.item);
    }
    function receive(frames) {
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i];
        if (frame === null || typeof frame !== "object") continue;
        if (frame.type === "call_result") {
          settle(frame);
        } else if (frame.type === "item") {
          item(frame);
        } else if (frame.type === "event" && typeof frame.event === "string") {
          deliver(frame.event, frame.payload);
        }
      }
      if (afterBatch.size !== 0) for (let flush = afterBatch.shift(); flush !== void 0; flush = afterBatch.shift()) flush();
    }
    function setState(next, reason) {
      const was = state;
      state = next;
      if (next === "open") {
        opened();
        return;
      }
      if (was === "open" || next === "closed") {
        pending.forEach((_entry, id) => drop(id, disconnected(reason)));
        cancelled = privateMap();
        cancelledRing = create(null);
        cancelledSlot = 0;
      }
      if (next === "closed") neverOpened(disconnected(reason));
    }
    function call(method, params, options) {
      const id = nextId++;
      if (options === void 0 || options.timeout === void 0 && !options.signal && options.onItem === void 0) {
        return new PromiseIntrinsic((resolve, reject) => {
          if (state === "closed") return reject(disconnected(void 0));
          pending.set(id, { resolve, reject, cleanup: void 0, item: void 0 });
          transmit(id, { type: "call", id, method, params });
        });
      }
      return guardedCall(id, method, params, options.timeout, options.signal, options.onItem);
    }
    function guardedCall(id, method, params, timeout, signal, onItem) {
      return new PromiseIntrinsic((resolve, reject) => {
        if (signal !== void 0 && isAborted(signal)) return reject(abortError());
        if (state === "closed") return reject(disconnected(void 0));
        let timer;
        const stop = (error) => {
          if (onItem !== void 0) abandon(id, error);
          else if (drop(id, error)) cancel(id);
        };
        const aborted = () => stop(abortError());
        const cleanup = () => {
          if (timer !== void 0) clearTimer(timer);
          if (signal !== void 0) offAbort(signal, aborted);
        };
        pending.set(id, { resolve, reject, cleanup, item: onItem === void 0 ? void 0 : channel(id, method, onItem) });
        if (timeout !== void 0) timer = setTimer(() => stop(timeoutError(timeout)), timeout);
        if (signal !== void 0) onAbort(signal, aborted);
        transmit(id, { type: "call", id, method, params });
      });
    }
    function channel(id, method, onItem) {
      let last = 0;
      let acked = 0;
      let queued = false;
      const flush = () => {
        queued = false;
        if (last > acked && pending.get(id) !== void 0) {
          acked = last;
          acknowledge(id, last);
        }
      };
      return (seq, value) => {
        if (seq !== last + 1) return abandon(id, gap(id, method, seq, last));
        last += 1;
        try {
          onItem(value);
        } catch (err) {
          console.error(`auroraview: onItem of "${method}" threw`, err);
        }
        if (!queued) {
          queued = true;
          afterBatch.push(flush);
        }
      };
    }
    function stream(method, params, options) {
      const timeout = options === void 0 ? void 0 : options.timeout;
      const signal = options === void 0 ? void 0 : options.signal;
      return freeze({ [asyncIteratorSymbol]: () => iterate(method, params, timeout, signal) });
    }
    function iterate(method, params, timeout, signal) {
      const items = new Queue();
      const waiters = new Queue();
      let id = 0;
      let running = false;
      let finished = false;
      let error;
      let last = 0;
      let consumed = 0;
      let acked = 0;
      let timer;
      const release = () => {
        finished = true;
        items.clear();
        if (timer !== void 0) clearTimer(timer);
        timer = void 0;
        if (signal !== void 0) offAbort(signal, aborted);
      };
      const end = () => {
        const err = error;
        error = void 0;
        release();
        let waiter = waiters.shift();
        if (waiter !== void 0 && err !== void 0) {
          waiter.reject(err);
          waiter = waiters.shift();
        }
        for (; waiter !== void 0; waiter = waiters.shift()) fulfil(waiter, { done: true, value: void 0 });
      };
      const ended = (err) => {
        running = false;
        error = err;
        if (waiters.size !== 0) end();
      };
      const withdraw = () => {
        if (!running) return;
        running = false;
        pending.delete(id);
        cancel(id);
        remember(id);
      };
      const stop = (err) => {
        if (finished) return;
        withdraw();
        items.clear();
        error = err;
        if (waiters.size !== 0) end();
      };
      const aborted = () => stop(abortError());
      const acknowledged = () => {
        acked = consumed;
        acknowledge(id, consumed);
      };
      const take = (seq, value) => {
        if (seq !== last + 1) {
          const err = gap(id, method, seq, last);
          withdraw();
          return ended(err);
        }
        last += 1;
        const waiter = waiters.shift();
        if (waiter === void 0) return items.push(value);
        consumed = last;
        if (consumed - acked >= ACK_EVERY) acknowledged();
        fulfil(waiter, { done: false, value });
      };
      const next = () => {
        if (finished) return settled({ done: true, value: void 0 });
        if (items.size !== 0) {
          const value = items.shift();
          consumed += 1;
          if (running && consumed - acked >= ACK_EVERY) acknowledged();
          return settled({ done: false, value });
        }
        if (running) {
          if (consumed > acked) {
            acknowledged();
            if (items.size !== 0 || !running) return next();
          }
          return new PromiseIntrinsic((resolve, reject) => waiters.push({ resolve, reject }));
        }
        const err = error;
        error = void 0;
        release();
        return err === void 0 ? settled({ done: true, value: void 0 }) : failed(err);
      };
      const stopIteration = () => {
        if (!finished) {
          withdraw();
          error = void 0;
          end();
        }
        return settled({ done: true, value: void 0 });
      };
      if (signal !== void 0 && isAborted(signal)) {
        error = abortError();
      } else if (state === "closed") {
        error = disconnected(void 0);
      } else {
        id = nextId++;
        running = true;
        pending.set(id, { resolve: () => ended(void 0), reject: ended, cleanup: void 0, item: take });
        if (timeout !== void 0) {
          timer = setTimer(() => {
            timer = void 0;
            stop(failure("TimeoutError", "timeout", `the stream did not end within ${timeout} ms`));
          }, timeout);
        }
        if (signal !== void 0) onAbort(signal, aborted);
        transmit(id, { type: "call", id, method, params });
      }
      const iterator = freeze({
        next,
        return: stopIteration,
        [asyncIteratorSymbol]: () => iterator
      });
      return iterator;
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
      const list = listeners.get(event);
      let known = false;
      if (list !== void 0) for (let i = 0; i < list.length; i++) known = known || list[i] === handler;
      if (!known) listeners.set(event, appended(list, handler));
      return () => off(event, handler);
    }
    function off(event, handler) {
      const list = listeners.get(event);
      if (list === void 0) return;
      const rest = handler === void 0 ? void 0 : without(list, handler);
      if (rest === void 0) listeners.delete(event);
      else listeners.set(event, rest);
    }
    function once(event, handler) {
      const unsubscribe = on(event, (payload) => {
        unsubscribe();
        handler(payload);
      });
      return unsubscribe;
    }
    function trigger(_event, _payload) {
      throw new Error(
        "auroraview: trigger is how the host delivers events and replies to this page, and only the host may (a page script cannot settle calls or fake events). To reach Python use send_event(event, detail) or call(); to notify this page's own code, call it directly."
      );
    }
    function stats() {
      return { pending: pending.size, unmatched, refused: transport.refused === void 0 ? 0 : transport.refused() };
    }
    const namespaces = privateMap();
    function namespace(name) {
      let ns = namespaces.get(name);
      if (ns === void 0) {
        const prefix = name + ".";
        ns = new ProxyIntrinsic(freeze(create(null)), {
          get: (_target, method) => typeof method !== "string" || method === "then" ? void 0 : (params, opts) => call(prefix + method, params, opts)
        });
        namespaces.set(name, ns);
      }
      return ns;
    }
    const unknownProperties = new ProxyIntrinsic(freeze(create(null)), {
      get: (_target, name, receiver) => {
        if (name === "then") return void 0;
        if (typeof name !== "string" || name in ObjectPrototype) return reflectGet(ObjectPrototype, name, receiver);
        return namespace(name);
      }
    });
    const client = create(unknownProperties, {
      call: { value: call, enumerable: true },
      stream: { value: stream, enumerable: true },
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
    freeze(client);
    transport.attach({ receive, setState });
    if (state === "open") opened();
    else if (state === "closed") neverOpened(disconnected(void 0));
    return client;
  }
  function extendClient(client, extras) {
    const proto = getPrototypeOf(client);
    const descriptors = { ...getOwnPropertyDescriptors(client), ...getOwnPropertyDescriptors(extras) };
    return freeze(create(proto, descriptors));
  }

  // src/transports/webkit.ts
  function webkitTransport() {
    const stringify = jsonStringify;
    const parse = jsonParse;
    const webkit = window.webkit;
    const handler = webkit?.messageHandlers?.ipc;
    let channel = handler && typeof handler.postMessage === "function" ? handler.postMessage.bind(handler) : void 0;
    const outbox = create(null);
    let head = 0;
    let tail = 0;
    let state = "connecting";
    let sink;
    let refused = 0;
    const key = (() => {
      const bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      let hex = "";
      for (let i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
      return hex;
    })();
    const keyField = ',"key":"' + key + '"';
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
          return '{"type":"call"' + keyField + ',"id":' + id(m.id) + field("method", m.method) + field("params", m.params) + "}";
        case "event":
          return '{"type":"event"' + keyField + field("event", m.event) + field("detail", m.detail) + "}";
        case "cancel":
          return '{"type":"cancel"' + keyField + ',"id":' + id(m.id) + "}";
        case "ack":
          return '{"type":"ack"' + keyField + ',"id":' + id(m.id) + ',"seq":' + stringify(m.seq) + "}";
        case "ready":
        case "hello":
        case "ping":
        case "pong":
          return '{"type":"' + m.type + '"' + keyField + "}";
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
      while (head < tail) {
        const text = outbox[head];
        delete outbox[head++];
        send(text);
      }
    }
    function post(text) {
      if (channel && head === tail) {
        channel(text);
        return;
      }
      outbox[tail++] = text;
      flush();
    }
    function receive(from, batch) {
      if (from !== key || typeof batch !== "string") {
        if (refused++ === 0) {
          console.warn("auroraview: ignored a delivery that is not from the host (only the host delivers replies and events); later ones are ignored silently");
        }
        return;
      }
      let frames;
      try {
        frames = parse(batch);
      } catch (err) {
        console.error("auroraview: undecodable batch from the host", err);
        return;
      }
      if (!isArray(frames)) {
        console.error("auroraview: a batch from the host is not an array");
        return;
      }
      sink?.receive(frames);
    }
    function open() {
      post('{"type":"ready"' + keyField + "}");
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
        post('{"type":"hello"' + keyField + "}");
        Object.defineProperty(window, "__auroraview_receive", { value: receive, writable: false, configurable: false });
        if (document.readyState === "loading") {
          document.addEventListener("DOMContentLoaded", whenChannel, { once: true });
        } else {
          setTimeout(whenChannel, 0);
        }
      },
      send(message) {
        post(encode(message));
      },
      refused: () => refused
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
