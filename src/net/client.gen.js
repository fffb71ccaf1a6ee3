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

  // src/intrinsics.ts
  var jsonParse = JSON.parse;
  var jsonStringify = JSON.stringify;
  var isArray = Array.isArray;
  var objectKeys = Object.keys;
  var reflectApply = Reflect.apply;
  var reflectGet = Reflect.get;
  var freeze = Object.freeze;
  var create = Object.create;
  var defineProperty = Object.defineProperty;
  var getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  var getOwnPropertyDescriptors = Object.getOwnPropertyDescriptors;
  var getPrototypeOf = Object.getPrototypeOf;
  var PromiseIntrinsic = Promise;
  var promiseThen = Promise.prototype.then;
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

  // src/frame.ts
  var FRAME_TAG = 0;
  var FRAME_HEADER_BYTES = 9;
  var U8 = Uint8Array;
  var isView = ArrayBuffer.isView;
  var ArrayBufferPrototype = ArrayBuffer.prototype;
  var TypedArrayPrototype = getPrototypeOf(Uint8Array.prototype);
  var getter = (proto, name) => getOwnPropertyDescriptor(proto, name)?.get;
  var typedArrayLength = getter(TypedArrayPrototype, "byteLength");
  var typedArrayOffset = getter(TypedArrayPrototype, "byteOffset");
  var typedArrayBuffer = getter(TypedArrayPrototype, "buffer");
  var typedArrayName = getter(TypedArrayPrototype, Symbol.toStringTag);
  var typedArraySet = TypedArrayPrototype.set;
  var arrayBufferLength = getter(ArrayBufferPrototype, "byteLength");
  var dataViewLength = getter(DataView.prototype, "byteLength");
  var dataViewOffset = getter(DataView.prototype, "byteOffset");
  var dataViewBuffer = getter(DataView.prototype, "buffer");
  var charCodeAt = String.prototype.charCodeAt;
  var TextDecoderIntrinsic = globalThis.TextDecoder;
  var utf8Decoder = TextDecoderIntrinsic === void 0 ? void 0 : new TextDecoderIntrinsic("utf-8", { fatal: true });
  var utf8Decode = TextDecoderIntrinsic === void 0 ? void 0 : TextDecoderIntrinsic.prototype.decode;
  var MAX_U32 = 4294967295;
  function put(list, index, value) {
    defineProperty(list, index, { value, enumerable: true, writable: true, configurable: true });
  }
  function lengthOf(bytes) {
    return reflectApply(typedArrayLength, bytes, []);
  }
  function bytesOf(view) {
    const name = reflectApply(typedArrayName, view, []);
    if (name === "Uint8Array") return view;
    if (name !== void 0) {
      return new U8(
        reflectApply(typedArrayBuffer, view, []),
        reflectApply(typedArrayOffset, view, []),
        reflectApply(typedArrayLength, view, [])
      );
    }
    return new U8(
      reflectApply(dataViewBuffer, view, []),
      reflectApply(dataViewOffset, view, []),
      reflectApply(dataViewLength, view, [])
    );
  }
  function isPlain(value) {
    const proto = getPrototypeOf(value);
    return proto === ObjectPrototype || proto === null || getPrototypeOf(proto) === null;
  }
  function codeUnit(text, index) {
    return reflectApply(charCodeAt, text, [index]);
  }
  function utf8Length(text) {
    const n = text.length;
    let bytes = n;
    for (let i = 0; i < n; i++) {
      const c = codeUnit(text, i);
      if (c < 128) continue;
      if (c < 2048) {
        bytes += 1;
      } else if (c >= 55296 && c <= 56319 && i + 1 < n && (codeUnit(text, i + 1) & 64512) === 56320) {
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    }
    return bytes;
  }
  function writeUtf8(text, out, at) {
    const n = text.length;
    for (let i = 0; i < n; i++) {
      let c = codeUnit(text, i);
      if (c < 128) {
        out[at++] = c;
      } else if (c < 2048) {
        out[at++] = 192 | c >> 6;
        out[at++] = 128 | c & 63;
      } else if (c >= 55296 && c <= 57343) {
        const next = c <= 56319 && i + 1 < n ? codeUnit(text, i + 1) : 0;
        if ((next & 64512) === 56320) {
          c = 65536 + (c - 55296 << 10) + (next - 56320);
          i++;
          out[at++] = 240 | c >> 18;
          out[at++] = 128 | c >> 12 & 63;
          out[at++] = 128 | c >> 6 & 63;
          out[at++] = 128 | c & 63;
        } else {
          out[at++] = 239;
          out[at++] = 191;
          out[at++] = 189;
        }
      } else {
        out[at++] = 224 | c >> 12;
        out[at++] = 128 | c >> 6 & 63;
        out[at++] = 128 | c & 63;
      }
    }
    return at;
  }
  function readUtf8(bytes) {
    if (utf8Decoder === void 0 || utf8Decode === void 0) {
      throw new Error("auroraview: this runtime has no TextDecoder to read a binary frame's JSON");
    }
    try {
      return reflectApply(utf8Decode, utf8Decoder, [bytes]);
    } catch {
      throw new Error("auroraview: malformed binary frame: its JSON is not valid UTF-8");
    }
  }
  function writeU32(out, at, value) {
    out[at] = value & 255;
    out[at + 1] = value >>> 8 & 255;
    out[at + 2] = value >>> 16 & 255;
    out[at + 3] = value >>> 24;
  }
  function readU32(bytes, at) {
    return (bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16) + bytes[at + 3] * 16777216;
  }
  function hex(byte) {
    return "0x" + (byte < 16 ? "0" : "") + byte.toString(16);
  }
  function isBytes(value) {
    if (typeof value !== "object" || value === null) return false;
    if (isView(value)) return true;
    try {
      reflectApply(arrayBufferLength, value, []);
      return true;
    } catch {
      return false;
    }
  }
  function encodeFrame(json, blobs) {
    const count = blobs.length;
    const jsonBytes = utf8Length(json);
    if (count > MAX_U32 || jsonBytes > MAX_U32) throw new RangeError("auroraview: a binary frame's JSON or attachment count exceeds 4 GiB");
    const headerEnd = FRAME_HEADER_BYTES + 4 * count;
    let total = headerEnd + jsonBytes;
    for (let i = 0; i < count; i++) {
      const length = lengthOf(blobs[i]);
      if (length > MAX_U32) throw new RangeError(`auroraview: attachment ${i} is ${length} bytes; a binary frame holds at most 4 GiB per attachment`);
      total += length;
    }
    const out = new U8(total);
    out[0] = FRAME_TAG;
    writeU32(out, 1, jsonBytes);
    writeU32(out, 5, count);
    let at = headerEnd;
    for (let i = 0; i < count; i++) writeU32(out, FRAME_HEADER_BYTES + 4 * i, lengthOf(blobs[i]));
    at = writeUtf8(json, out, at);
    for (let i = 0; i < count; i++) {
      const blob = blobs[i];
      reflectApply(typedArraySet, out, [blob, at]);
      at += lengthOf(blob);
    }
    return out;
  }
  function decodeFrame(frame) {
    let buffer;
    let base;
    let size;
    let bytes;
    if (isView(frame)) {
      bytes = bytesOf(frame);
      buffer = reflectApply(typedArrayBuffer, bytes, []);
      base = reflectApply(typedArrayOffset, bytes, []);
      size = lengthOf(bytes);
    } else {
      if (!isBytes(frame)) throw new TypeError("auroraview: a binary frame is an ArrayBuffer or a Uint8Array, not " + typeof frame);
      bytes = new U8(frame);
      buffer = frame;
      base = 0;
      size = lengthOf(bytes);
    }
    if (size < FRAME_HEADER_BYTES) throw new Error(`auroraview: malformed binary frame: ${size} bytes, shorter than its ${FRAME_HEADER_BYTES}-byte header`);
    if (bytes[0] !== FRAME_TAG) throw new Error(`auroraview: malformed binary frame: its first byte is ${hex(bytes[0])}, not 0x00`);
    const jsonBytes = readU32(bytes, 1);
    const count = readU32(bytes, 5);
    const headerEnd = FRAME_HEADER_BYTES + 4 * count;
    if (headerEnd > size) throw new Error(`auroraview: malformed binary frame: it announces ${count} attachments but is ${size} bytes long`);
    let expected = headerEnd + jsonBytes;
    for (let i = 0; i < count; i++) expected += readU32(bytes, FRAME_HEADER_BYTES + 4 * i);
    if (expected !== size) throw new Error(`auroraview: malformed binary frame: its lengths add up to ${expected} bytes but it is ${size} bytes long`);
    const json = readUtf8(new U8(buffer, base + headerEnd, jsonBytes));
    const blobs = [];
    let at = headerEnd + jsonBytes;
    for (let i = 0; i < count; i++) {
      const length = readU32(bytes, FRAME_HEADER_BYTES + 4 * i);
      put(blobs, i, new U8(buffer, base + at, length));
      at += length;
    }
    return { json, blobs };
  }
  function hasBinary(value, maxDepth) {
    if (typeof value !== "object" || value === null) return false;
    if (isArray(value)) {
      if (maxDepth <= 0) return false;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (typeof item === "object" && item !== null && hasBinary(item, maxDepth - 1)) return true;
      }
      return false;
    }
    if (isView(value)) return true;
    if (!isPlain(value)) return getPrototypeOf(value) === ArrayBufferPrototype;
    if (maxDepth <= 0) return false;
    for (const key in value) {
      const item = value[key];
      if (typeof item === "object" && item !== null && hasBinary(item, maxDepth - 1)) return true;
    }
    return false;
  }
  function placeholder(bytes, blobs) {
    const index = blobs.length;
    put(blobs, index, bytes);
    return { $bin: index };
  }
  function cut(value, blobs) {
    if (isView(value)) return placeholder(bytesOf(value), blobs);
    if (isArray(value)) {
      let copy2;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        const next = typeof item === "object" && item !== null ? cut(item, blobs) : item;
        if (copy2 === void 0 && next !== item) {
          copy2 = [];
          for (let j = 0; j < i; j++) put(copy2, j, value[j]);
        }
        if (copy2 !== void 0) put(copy2, i, next);
      }
      return copy2 ?? value;
    }
    if (!isPlain(value)) {
      return getPrototypeOf(value) === ArrayBufferPrototype ? placeholder(new U8(value), blobs) : value;
    }
    const keys = objectKeys(value);
    let copy;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = value[key];
      const next = typeof item === "object" && item !== null ? cut(item, blobs) : item;
      if (copy === void 0 && next !== item) {
        copy = {};
        for (let j = 0; j < i; j++) defineProperty(copy, keys[j], { value: value[keys[j]], enumerable: true, writable: true, configurable: true });
      }
      if (copy !== void 0) defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
    }
    return copy ?? value;
  }
  function extractBlobs(value) {
    const blobs = [];
    const out = typeof value === "object" && value !== null ? cut(value, blobs) : value;
    return { value: out, blobs };
  }
  function placeholderIndex(value) {
    if (getOwnPropertyDescriptor(value, "$bin") === void 0 || isArray(value) || !isPlain(value)) return void 0;
    const keys = objectKeys(value);
    if (keys.length !== 1 || keys[0] !== "$bin") return void 0;
    const index = value.$bin;
    return typeof index === "number" && index % 1 === 0 ? index : void 0;
  }
  function blobAt(blobs, index) {
    if (index < 0 || index >= blobs.length) {
      throw new RangeError(`auroraview: placeholder {"$bin": ${index}} names no attachment (the frame has ${blobs.length})`);
    }
    return blobs[index];
  }
  function fill(container, blobs) {
    if (isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const item = container[i];
        if (typeof item !== "object" || item === null) continue;
        const index = placeholderIndex(item);
        if (index !== void 0) container[i] = blobAt(blobs, index);
        else fill(item, blobs);
      }
      return;
    }
    if (isView(container) || !isPlain(container)) return;
    const keys = objectKeys(container);
    for (let i = 0; i < keys.length; i++) {
      const item = container[keys[i]];
      if (typeof item !== "object" || item === null) continue;
      const index = placeholderIndex(item);
      if (index !== void 0) container[keys[i]] = blobAt(blobs, index);
      else fill(item, blobs);
    }
  }
  function insertBlobs(value, blobs) {
    if (typeof value !== "object" || value === null) return value;
    const index = placeholderIndex(value);
    if (index !== void 0) return blobAt(blobs, index);
    fill(value, blobs);
    return value;
  }

  // src/topics.ts
  var SUBSCRIBE_METHOD = "auroraview.subscribe";
  var UNSUBSCRIBE_METHOD = "auroraview.unsubscribe";
  var PUBLISH_METHOD = "auroraview.publish";
  function failure(name, code, message) {
    return new InvokeError({ name, code, message, data: null });
  }
  function isOffset(value) {
    return typeof value === "number" && value >= 0 && value % 1 === 0;
  }
  function record(fields) {
    const out = create(null);
    const keys = objectKeys(fields);
    for (let i = 0; i < keys.length; i++) {
      const value = fields[keys[i]];
      if (value !== void 0) out[keys[i]] = value;
    }
    return freeze(out);
  }
  function createTopics(host) {
    const topics = privateMap();
    let duplicates = 0;
    let strays = 0;
    function subscribe(topic, handler, options) {
      if (typeof topic !== "string") throw new TypeError('auroraview: subscribe(topic, handler): the topic is a string such as "scene/updates"');
      if (typeof handler !== "function") throw new TypeError(`auroraview: subscribe("${topic}", handler): the handler is a function`);
      const subscriber = create(null);
      subscriber.active = true;
      subscriber.handler = handler;
      subscriber.onRecovery = options?.onRecovery;
      subscriber.onError = options?.onError;
      const ready = new PromiseIntrinsic((resolve, reject) => {
        subscriber.resolve = resolve;
        subscriber.reject = reject;
      });
      ready.catch(() => {
      });
      let state = topics.get(topic);
      if (state === void 0) {
        state = create(null);
        state.name = topic;
        state.subscribers = appended(void 0, subscriber);
        state.wire = "idle";
        state.epoch = void 0;
        state.last = 0;
        state.leaving = freeze([]);
        topics.set(topic, state);
        if (host.state() === "closed") fail(state, failure("Disconnected", "disconnected", "the connection to the host is gone"));
        else send(state);
      } else {
        state.subscribers = appended(state.subscribers, subscriber);
        if (state.wire === "live" && state.epoch !== void 0) settle(subscriber, record({ epoch: state.epoch, offset: state.last }));
      }
      const name = topic;
      return freeze({ topic: name, ready, unsubscribe: () => unsubscribe(name, subscriber) });
    }
    function settle(subscriber, result) {
      const resolve = subscriber.resolve;
      subscriber.resolve = subscriber.reject = void 0;
      if (resolve !== void 0) resolve(result);
    }
    function send(state) {
      state.wire = "subscribing";
      const since = state.epoch;
      const params = since === void 0 ? { topic: state.name } : { topic: state.name, since: { epoch: since, offset: state.last } };
      host.request(SUBSCRIBE_METHOD, params, (value) => answered(state, value, since !== void 0), (error) => refused(state, error));
    }
    function answered(state, value, resubscribed) {
      if (topics.get(state.name) !== state || state.wire !== "subscribing") return;
      const answer = value;
      if (answer === null || typeof answer !== "object" || typeof answer.epoch !== "string" || !isOffset(answer.offset)) {
        return refused(state, failure("Error", "internal", `malformed answer to the subscription of topic "${state.name}": no epoch and offset`));
      }
      const epoch = answer.epoch;
      const offset = answer.offset;
      if (state.subscribers.length === 0) {
        leave(state);
        return;
      }
      state.wire = "live";
      if (!resubscribed || state.epoch === void 0) {
        state.epoch = epoch;
        state.last = offset;
        const result2 = record({ epoch, offset });
        const list2 = state.subscribers;
        for (let i = 0; i < list2.length; i++) settle(list2[i], result2);
        return;
      }
      const said = getOwnPropertyDescriptor(answer, "recovered");
      const told = getOwnPropertyDescriptor(answer, "reason");
      const recovered = said !== void 0 && said.value === true && epoch === state.epoch && offset >= state.last;
      let reason;
      if (!recovered) {
        reason = told !== void 0 && typeof told.value === "string" ? told.value : epoch !== state.epoch ? `the topic's epoch changed (${state.epoch} → ${epoch}): the host restarted` : `the host did not recover the messages after offset ${state.last}`;
        state.epoch = epoch;
        state.last = offset;
      }
      const result = record({ epoch: state.epoch, offset: state.last, recovered, reason });
      const info = record({ topic: state.name, recovered, reason, epoch: state.epoch, offset: state.last });
      const list = state.subscribers;
      for (let i = 0; i < list.length; i++) {
        const subscriber = list[i];
        if (subscriber.resolve !== void 0) settle(subscriber, result);
        else tell(subscriber, info);
      }
    }
    function refused(state, error) {
      if (topics.get(state.name) !== state || state.wire !== "subscribing") return;
      if (error.code === "disconnected" && host.state() !== "closed") {
        state.wire = "idle";
        if (state.subscribers.length === 0) {
          topics.delete(state.name);
          finishLeaving(state);
        }
        return;
      }
      fail(state, error);
    }
    function fail(state, error) {
      if (topics.get(state.name) === state) topics.delete(state.name);
      const list = state.subscribers;
      state.subscribers = freeze([]);
      for (let i = 0; i < list.length; i++) {
        const subscriber = list[i];
        subscriber.active = false;
        const reject = subscriber.reject;
        subscriber.resolve = subscriber.reject = void 0;
        if (reject !== void 0) {
          reject(error);
        } else if (subscriber.onError !== void 0) {
          try {
            subscriber.onError(error);
          } catch (err) {
            console.error(`auroraview: onError of topic "${state.name}" threw`, err);
          }
        } else {
          console.error(`auroraview: the subscription to topic "${state.name}" ended`, error);
        }
      }
      finishLeaving(state);
    }
    function unsubscribe(name, subscriber) {
      return new PromiseIntrinsic((resolve) => {
        const state = topics.get(name);
        if (!subscriber.active || state === void 0) return resolve();
        subscriber.active = false;
        const rest = without(state.subscribers, subscriber);
        state.subscribers = rest === void 0 ? freeze([]) : rest;
        const reject = subscriber.reject;
        subscriber.resolve = subscriber.reject = void 0;
        if (reject !== void 0) reject(failure("AbortError", "cancelled", `unsubscribed from topic "${name}" before the subscription took effect`));
        if (rest !== void 0) return resolve();
        switch (state.wire) {
          case "idle":
            topics.delete(name);
            return resolve();
          case "live":
            state.leaving = appended(state.leaving, resolve);
            return leave(state);
          default:
            state.leaving = appended(state.leaving, resolve);
        }
      });
    }
    function leave(state) {
      state.wire = "leaving";
      const done = () => left(state);
      host.request(UNSUBSCRIBE_METHOD, { topic: state.name }, done, done);
    }
    function left(state) {
      if (topics.get(state.name) !== state || state.wire !== "leaving") return;
      finishLeaving(state);
      if (state.subscribers.length === 0) {
        topics.delete(state.name);
        return;
      }
      state.epoch = void 0;
      state.last = 0;
      if (host.state() === "open" || host.state() === "connecting") send(state);
    }
    function finishLeaving(state) {
      const waiting = state.leaving;
      state.leaving = freeze([]);
      for (let i = 0; i < waiting.length; i++) waiting[i]();
    }
    function tell(subscriber, info) {
      if (!subscriber.active) return;
      if (subscriber.onRecovery === void 0) {
        if (!info.recovered) console.warn(`auroraview: topic "${info.topic}": messages were lost (${info.reason ?? "no reason given"}); pass onRecovery to handle it`);
        return;
      }
      try {
        subscriber.onRecovery(info);
      } catch (err) {
        console.error(`auroraview: onRecovery of topic "${info.topic}" threw`, err);
      }
    }
    function publication(frame) {
      const name = frame.topic;
      const state = typeof name === "string" ? topics.get(name) : void 0;
      if (state === void 0 || state.epoch === void 0 || typeof frame.epoch !== "string" || !isOffset(frame.offset)) {
        strays += 1;
        return;
      }
      if (state.wire === "leaving" || state.subscribers.length === 0) return;
      const epoch = frame.epoch;
      const offset = frame.offset;
      let gap2;
      if (epoch !== state.epoch) {
        gap2 = `the topic's epoch changed (${state.epoch} → ${epoch}) without a resubscription`;
      } else if (offset <= state.last) {
        duplicates += 1;
        return;
      } else if (offset > state.last + 1) {
        gap2 = offset === state.last + 2 ? `offset ${state.last + 1} never arrived` : `offsets ${state.last + 1} to ${offset - 1} never arrived`;
      }
      state.epoch = epoch;
      state.last = offset;
      const meta = record({ topic: name, epoch, offset });
      const info = gap2 === void 0 ? void 0 : record({ topic: name, recovered: false, reason: gap2, epoch, offset: offset - 1 });
      const list = state.subscribers;
      for (let i = 0; i < list.length; i++) {
        const subscriber = list[i];
        if (!subscriber.active || subscriber.resolve !== void 0) continue;
        if (info !== void 0) tell(subscriber, info);
        if (!subscriber.active) continue;
        try {
          subscriber.handler(frame.data, meta);
        } catch (err) {
          console.error(`auroraview: handler of topic "${name}" threw`, err);
        }
      }
    }
    function lost(closed, error) {
      topics.forEach((state) => {
        if (closed) {
          fail(state, error);
        } else if (state.wire === "live") {
          state.wire = "idle";
        }
      });
    }
    function opened() {
      topics.forEach((state) => {
        if (state.wire === "idle") send(state);
      });
    }
    return { subscribe, publication, lost, opened, duplicates: () => duplicates, strays: () => strays };
  }

  // src/client.ts
  var ACK_EVERY = 32;
  var CANCELLED_KEPT = 1024;
  var BINARY_SCAN_DEPTH = 16;
  function nothing() {
  }
  function looksBinary(params) {
    try {
      return hasBinary(params, BINARY_SCAN_DEPTH);
    } catch {
      return false;
    }
  }
  function failure2(name, code, message) {
    return new InvokeError({ name, code, message, data: null });
  }
  function disconnected(reason) {
    const why = reason instanceof Error ? reason.message : reason === void 0 ? "" : String(reason);
    return failure2("Disconnected", "disconnected", "the connection to the host is gone" + (why ? ": " + why : ""));
  }
  var abortError = () => failure2("AbortError", "cancelled", "the call was aborted");
  var timeoutError = (timeout) => failure2("TimeoutError", "timeout", `no reply within ${timeout} ms`);
  function gap(id, method, seq, last) {
    const call = `call ${String(id)}` + (method ? ` (${method})` : "");
    const expected = last === 0 ? "as its first item (seq 1)" : `after item ${last}`;
    return failure2("Error", "internal", `item ${String(seq)} of ${call} arrived ${expected}: the host's items are out of sequence, the call is cancelled`);
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
    function transmitBinary(id, method, params) {
      if (transport.sendBinary === void 0) {
        drop(id, failure2("Error", "internal", `cannot call "${method}" with binary data: this transport carries no binary data (it has no sendBinary)`));
        return;
      }
      let message;
      let blobs;
      try {
        const extracted = extractBlobs(params);
        message = { type: "call", id, method, params: extracted.value };
        blobs = extracted.blobs;
      } catch (err) {
        drop(id, failure2("Error", "internal", `cannot call "${method}": its params could not be framed: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      try {
        transport.sendBinary(message, blobs);
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
    function receiveBinary(message, blobs) {
      if (message === null || typeof message !== "object") return;
      if (message.type !== "call_result") {
        receive([message]);
        return;
      }
      if (!message.ok || pending.get(message.id) === void 0) {
        settle(message);
        return;
      }
      let result;
      try {
        result = insertBlobs(message.result, blobs);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        drop(message.id, failure2("Error", "internal", "malformed binary reply: " + why));
        return;
      }
      settle({ type: "call_result", id: message.id, ok: true, result });
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
        } else if (frame.type === "publication") {
          topics.publication(frame);
        }
      }
      if (afterBatch.size !== 0) for (let flush = afterBatch.shift(); flush !== void 0; flush = afterBatch.shift()) flush();
    }
    function setState(next, reason) {
      const was = state;
      state = next;
      if (next === "open") {
        opened();
        topics.opened();
        return;
      }
      if (was === "open" || next === "closed") {
        pending.forEach((_entry, id) => drop(id, disconnected(reason)));
        cancelled = privateMap();
        cancelledRing = create(null);
        cancelledSlot = 0;
      }
      if (was === "open" || next === "closed") topics.lost(next === "closed", disconnected(reason));
      if (next === "closed") neverOpened(disconnected(reason));
    }
    function call(method, params, options) {
      const id = nextId++;
      if (options === void 0 || options.timeout === void 0 && !options.signal && options.onItem === void 0 && options.binary !== true) {
        if (looksBinary(params)) return guardedCall(id, method, params, void 0, void 0, void 0, true);
        return new PromiseIntrinsic((resolve, reject) => {
          if (state === "closed") return reject(disconnected(void 0));
          pending.set(id, { resolve, reject, cleanup: void 0, item: void 0 });
          transmit(id, { type: "call", id, method, params });
        });
      }
      const onItem = options.onItem;
      const binary = onItem === void 0 && (options.binary === true || looksBinary(params));
      return guardedCall(id, method, params, options.timeout, options.signal, onItem, binary);
    }
    function guardedCall(id, method, params, timeout, signal, onItem, binary) {
      return new PromiseIntrinsic((resolve, reject) => {
        if (signal !== void 0 && isAborted(signal)) return reject(abortError());
        if (state === "closed") return reject(disconnected(void 0));
        let timer;
        const stop = (error) => {
          if (onItem !== void 0 || binary) abandon(id, error);
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
        if (binary) transmitBinary(id, method, params);
        else transmit(id, { type: "call", id, method, params });
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
            stop(failure2("TimeoutError", "timeout", `the stream did not end within ${timeout} ms`));
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
    function request(method, params, onResult, onError) {
      if (state === "closed") return onError(disconnected(void 0));
      const id = nextId++;
      pending.set(id, { resolve: onResult, reject: onError, cleanup: void 0, item: void 0 });
      transmit(id, { type: "call", id, method, params });
    }
    const topics = createTopics({ request, state: () => state });
    function publish(topic, data, options) {
      const callOptions = options === void 0 ? void 0 : { timeout: options.timeout, signal: options.signal };
      return call(PUBLISH_METHOD, { topic, data }, callOptions);
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
      return {
        pending: pending.size,
        unmatched: unmatched + topics.strays(),
        refused: transport.refused === void 0 ? 0 : transport.refused(),
        duplicates: topics.duplicates()
      };
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
      subscribe: { value: topics.subscribe, enumerable: true },
      publish: { value: publish, enumerable: true },
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
    transport.attach({ receive, setState, receiveBinary });
    if (state === "open") opened();
    else if (state === "closed") neverOpened(disconnected(void 0));
    return client;
  }
  function extendClient(client, extras) {
    const proto = getPrototypeOf(client);
    const descriptors = { ...getOwnPropertyDescriptors(client), ...getOwnPropertyDescriptors(extras) };
    return freeze(create(proto, descriptors));
  }

  // src/protocol.gen.ts
  var PROTOCOL_VERSION = 1;

  // src/transports/websocket.ts
  var WEBSOCKET_PATH = "/__auroraview/ws";
  var SUBPROTOCOL = "auroraview";
  var TOKEN_SUBPROTOCOL_PREFIX = "auroraview.token.";
  var BATCH_SUBPROTOCOL = "auroraview.batch";
  function subprotocols(token) {
    const offered = [BATCH_SUBPROTOCOL, SUBPROTOCOL];
    return token === void 0 ? offered : [...offered, TOKEN_SUBPROTOCOL_PREFIX + token];
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
  var GlobalWebSocket = globalThis.WebSocket;
  var EventIntrinsic = globalThis.Event;
  var MessageEventIntrinsic = globalThis.MessageEvent;
  var targetGetter = EventIntrinsic === void 0 ? void 0 : getOwnPropertyDescriptor(EventIntrinsic.prototype, "target")?.get;
  var dataGetter = MessageEventIntrinsic === void 0 ? void 0 : getOwnPropertyDescriptor(MessageEventIntrinsic.prototype, "data")?.get;
  var CloseEventIntrinsic = globalThis.CloseEvent;
  var closeCodeGetter = CloseEventIntrinsic === void 0 ? void 0 : getOwnPropertyDescriptor(CloseEventIntrinsic.prototype, "code")?.get;
  var closeReasonGetter = CloseEventIntrinsic === void 0 ? void 0 : getOwnPropertyDescriptor(CloseEventIntrinsic.prototype, "reason")?.get;
  var socketProto = GlobalWebSocket === void 0 ? void 0 : GlobalWebSocket.prototype;
  var socketMember = (name) => socketProto === void 0 ? void 0 : getOwnPropertyDescriptor(socketProto, name);
  var nativeSocket = {
    send: socketMember("send")?.value,
    binaryType: socketMember("binaryType")?.set,
    close: socketMember("close")?.value,
    readyState: socketMember("readyState")?.get,
    onopen: socketMember("onopen")?.set,
    onmessage: socketMember("onmessage")?.set,
    onerror: socketMember("onerror")?.set,
    onclose: socketMember("onclose")?.set
  };
  var nativeSocketComplete = typeof nativeSocket.send === "function" && typeof nativeSocket.close === "function" && nativeSocket.readyState !== void 0 && nativeSocket.binaryType !== void 0 && nativeSocket.onopen !== void 0 && nativeSocket.onmessage !== void 0 && nativeSocket.onerror !== void 0 && nativeSocket.onclose !== void 0 && closeCodeGetter !== void 0 && closeReasonGetter !== void 0;
  var inBrowser = typeof document === "object" && document !== null;
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
    const found = options.WebSocket ?? GlobalWebSocket ?? globalThis.WebSocket;
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
    const checkEvents = inBrowser && Socket === GlobalWebSocket && targetGetter !== void 0 && dataGetter !== void 0 && nativeSocketComplete;
    let refused = 0;
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
    const listeners = { connected: void 0, disconnected: void 0, error: void 0 };
    function add(event, listener) {
      const list = listeners[event];
      if (list !== void 0) {
        for (let i = 0; i < list.length; i++) if (list[i] === listener) return;
      }
      listeners[event] = appended(list, listener);
    }
    function remove(event, listener) {
      const list = listeners[event];
      listeners[event] = listener === void 0 || list === void 0 ? void 0 : without(list, listener);
    }
    if (options.onConnected) add("connected", options.onConnected);
    if (options.onDisconnected) add("disconnected", options.onDisconnected);
    if (options.onError) add("error", options.onError);
    function known(event) {
      return event === "connected" || event === "disconnected" || event === "error";
    }
    function emit(event, value) {
      const list = listeners[event];
      if (list === void 0) return;
      for (let i = 0; i < list.length; i++) {
        const listener = list[i];
        try {
          listener(value);
        } catch (err) {
          console.error(`auroraview: a "${event}" listener threw`, err);
        }
      }
    }
    function genuine(event, ws) {
      if (!checkEvents) return true;
      let ok = false;
      try {
        ok = event.isTrusted === true && reflectApply(targetGetter, event, []) === ws;
      } catch {
        ok = false;
      }
      if (!ok && refused++ === 0) {
        console.warn("auroraview: ignored a socket event that the browser did not deliver (only the server delivers replies and events)");
      }
      return ok;
    }
    function dataOf(event) {
      return checkEvents ? reflectApply(dataGetter, event, []) : event.data;
    }
    function setHandler(ws, name, fn) {
      if (checkEvents) reflectApply(nativeSocket[name], ws, [fn]);
      else ws[name] = fn;
    }
    function readyStateOf(ws) {
      return checkEvents ? reflectApply(nativeSocket.readyState, ws, []) : ws.readyState;
    }
    function sendOn(ws, data) {
      if (checkEvents) reflectApply(nativeSocket.send, ws, [data]);
      else ws.send(data);
    }
    function receiveBytes(ws) {
      if (checkEvents) reflectApply(nativeSocket.binaryType, ws, ["arraybuffer"]);
      else ws.binaryType = "arraybuffer";
    }
    function closeSocket(ws, code, reason) {
      if (checkEvents) reflectApply(nativeSocket.close, ws, [code, reason]);
      else ws.close(code, reason);
    }
    function closeDetails(event) {
      try {
        return { code: reflectApply(closeCodeGetter, event, []), reason: reflectApply(closeReasonGetter, event, []) };
      } catch {
        return { code: void 0, reason: void 0 };
      }
    }
    function terminator(ws) {
      if (checkEvents) return void 0;
      return typeof ws.terminate === "function" ? () => ws.terminate?.() : void 0;
    }
    function fail(message) {
      if (listeners.error !== void 0) emit("error", new Error("auroraview: " + message));
    }
    function raw(data) {
      const ws = socket;
      if (ws === void 0 || readyStateOf(ws) !== OPEN) throw new Error("the connection is not open");
      sendOn(ws, data);
      sentAt = Date.now();
      stats.sent++;
    }
    function stopTimers() {
      if (connectTimer !== void 0) clearTimer(connectTimer);
      if (pingTimer !== void 0) clearTimer(pingTimer);
      if (deadTimer !== void 0) clearTimer(deadTimer);
      if (retryTimer !== void 0) clearTimer(retryTimer);
      connectTimer = pingTimer = deadTimer = retryTimer = void 0;
    }
    function detach(ws) {
      const ignore = () => {
      };
      setHandler(ws, "onopen", ignore);
      setHandler(ws, "onmessage", ignore);
      setHandler(ws, "onerror", ignore);
      setHandler(ws, "onclose", ignore);
    }
    function abandon(code, reason, terminate) {
      const ws = socket;
      if (ws === void 0) return;
      socket = void 0;
      detach(ws);
      try {
        closeSocket(ws, code, reason);
      } catch {
      }
      const kill = terminate ? terminator(ws) : void 0;
      if (kill !== void 0) {
        try {
          kill();
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
      retryTimer = setTimer(connect, delay);
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
        ws = new Socket(endpoint.url, protocols, { maxPayload: 0 });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        fail("could not create a WebSocket: " + message);
        lost(1006, "could not create a WebSocket: " + message, true);
        return;
      }
      socket = ws;
      receiveBytes(ws);
      let refused2;
      setHandler(ws, "onopen", () => {
      });
      setHandler(ws, "onmessage", (event) => {
        if (socket === ws && genuine(event, ws)) receive(dataOf(event));
      });
      setHandler(ws, "onerror", (event) => {
        if (socket !== ws || !genuine(event, ws)) return;
        const detail = checkEvents ? "" : event?.error instanceof Error ? event.error.message : typeof event?.message === "string" ? event.message : "";
        const status = /Unexpected server response: (\d{3})/.exec(detail);
        if (status) refused2 = Number(status[1]);
        fail("WebSocket error" + (detail ? ": " + detail : "") + ` (${endpoint.url})`);
      });
      setHandler(ws, "onclose", (event) => {
        if (socket !== ws || !genuine(event, ws)) return;
        detach(ws);
        const got = checkEvents ? closeDetails(event) : { code: event?.code, reason: event?.reason };
        let code = typeof got.code === "number" ? got.code : 1006;
        let reason = typeof got.reason === "string" ? got.reason : "";
        const fatal = code === CloseCode.unauthorized || code === CloseCode.tokenRevoked || refused2 === 401 || refused2 === 403;
        if (refused2 === 401) {
          code = CloseCode.unauthorized;
          reason = "HTTP 401 at the upgrade: wrong token";
        } else if (refused2 !== void 0) {
          reason = `HTTP ${refused2} at the upgrade`;
        }
        lost(code, reason, fatal);
      });
      connectTimer = setTimer(() => {
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
        receiveFrame(data);
        return;
      }
      let frame;
      try {
        frame = jsonParse(data);
      } catch {
        frame = void 0;
      }
      if (isArray(frame)) {
        const messages2 = [];
        for (const one of frame) {
          if (!accept(one, messages2)) {
            fail("a batch from the server holds something that is not a JSON object: " + data.slice(0, 80));
          }
        }
        if (messages2.length > 0) sink?.receive(messages2);
        return;
      }
      const messages = [];
      if (!accept(frame, messages)) {
        fail("a frame from the server is not a JSON object: " + data.slice(0, 80));
        return;
      }
      if (messages.length > 0) sink?.receive(messages);
    }
    function accept(frame, messages) {
      if (frame === null || typeof frame !== "object" || isArray(frame)) {
        stats.invalidFrames++;
        return false;
      }
      switch (frame.type) {
        case "ping":
          try {
            raw(PONG);
          } catch {
          }
          return true;
        case "pong":
          return true;
        case "welcome":
          welcome(frame);
          return true;
        default:
          messages.push(frame);
          return true;
      }
    }
    function receiveFrame(data) {
      if (!isBytes(data)) {
        stats.binaryIgnored++;
        return;
      }
      let message;
      let blobs;
      try {
        const frame = decodeFrame(data);
        message = jsonParse(frame.json);
        blobs = frame.blobs;
      } catch (err) {
        stats.invalidFrames++;
        const why = err instanceof Error ? err.message.replace(/^auroraview: /, "") : String(err);
        fail("a binary message from the server is not a binary frame: " + why);
        return;
      }
      if (message === null || typeof message !== "object" || isArray(message)) {
        stats.invalidFrames++;
        fail("a binary frame from the server does not hold a JSON object");
        return;
      }
      sink?.receiveBinary(message, blobs);
    }
    function welcome(frame) {
      if (state === "open") return;
      if (connectTimer !== void 0) clearTimer(connectTimer);
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
      pingTimer = setTimer(pingCheck, interval);
      deadTimer = setTimer(deadCheck, silence);
      const waiting = queue;
      queue = void 0;
      if (waiting !== void 0) {
        try {
          for (let i = 0; i < waiting.length; i++) raw(waiting[i].data);
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
        pingTimer = setTimer(pingCheck, interval);
      } else {
        pingTimer = setTimer(pingCheck, rearm(interval - idle, interval));
      }
    }
    function deadCheck() {
      deadTimer = void 0;
      if (socket === void 0) return;
      const quiet = Date.now() - heardAt;
      if (quiet < silence) {
        confirming = false;
        deadTimer = setTimer(deadCheck, rearm(silence - quiet, silence));
        return;
      }
      if (!confirming) {
        confirming = true;
        deadTimer = setTimer(deadCheck, 0);
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
        raw(jsonStringify(message));
        return;
      }
      enqueue(message, jsonStringify);
    }
    function sendBinary(message, blobs) {
      const frame = (m) => encodeFrame(jsonStringify(m), blobs);
      if (state === "open") raw(frame(message));
      else enqueue(message, frame);
    }
    function enqueue(message, serialise) {
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
      queue.push({ call: message.type === "call" ? message.id : void 0, data: serialise(message) });
    }
    function close(code = CloseCode.normal, reason = "closed by the client") {
      if (state === "closed") return;
      stopTimers();
      const ws = socket;
      socket = void 0;
      if (ws !== void 0) {
        detach(ws);
        try {
          closeSocket(ws, code, reason);
        } catch {
        }
        const terminate = terminator(ws);
        if (terminate !== void 0) {
          const kill = setTimer(terminate, 2e3);
          ws.onclose = () => clearTimer(kill);
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
        if (!known(event)) throw new TypeError(`auroraview: no connection event "${String(event)}" (connected, disconnected, error)`);
        add(event, listener);
        return () => remove(event, listener);
      },
      off(event, listener) {
        if (known(event)) remove(event, listener);
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
      sendBinary,
      connection,
      refused: () => refused
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
