// Owns the builtins the client and its transports call, taken once when the SDK loads.
//
// Any script of the page can later replace a global (`JSON.parse`, `Promise`, `setTimeout`,
// `Proxy`), a method of a shared prototype (`Map.prototype.get`, `Array.from`), or add a
// property to `Object.prototype`. Had the SDK looked those up when it runs, such a script
// would see a call's resolver, a listener or the page key, or feed made-up frames through the
// receive path (RELIABILITY.md cases 18 and 28). So what those paths need is taken here and
// called directly: never through `.call`/`.apply` (replaceable too), never by iterating
// (the iterator protocol is), never by looking a method up on a shared prototype. In the
// injected bridge and in `/__auroraview/client.js` this module runs before any page script.
//
// Out of reach by design: what the application's own code does with builtins a script
// replaced (its `.then(cb)` on a reply, its `addEventListener`), and DOM events on `window`
// (any script can dispatch them). See docs/ARCHITECTURE.md, "The host→page channel".

export const jsonParse: (text: string) => unknown = JSON.parse;
export const jsonStringify = JSON.stringify;
export const isArray: (value: unknown) => value is unknown[] = Array.isArray;
/** Own enumerable string keys (`Object.keys`), never inherited ones a page put on a prototype. */
export const objectKeys: (value: object) => string[] = Object.keys;
export const reflectApply = Reflect.apply;
export const reflectGet = Reflect.get;
export const freeze = Object.freeze;
export const create = Object.create;
export const defineProperty = Object.defineProperty;
export const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const getOwnPropertyDescriptors = Object.getOwnPropertyDescriptors;
export const getPrototypeOf = Object.getPrototypeOf;
export const PromiseIntrinsic = Promise;
const promiseThen = Promise.prototype.then;
export const ProxyIntrinsic = Proxy;
export const ObjectPrototype: object = Object.prototype;
const ArrayPrototype: object = Array.prototype;
/** The well-known symbol `for await` looks up (a page may replace the global `Symbol`). */
export const asyncIteratorSymbol: typeof Symbol.asyncIterator = Symbol.asyncIterator;

const timers = globalThis as unknown as {
  setTimeout: (fn: () => void, ms?: number) => ReturnType<typeof setTimeout>;
  clearTimeout: (timer: ReturnType<typeof setTimeout> | undefined) => void;
};
/** `setTimeout` as it was at load (called without a receiver, as browsers and Node allow). */
export const setTimer = timers.setTimeout;
export const clearTimer = timers.clearTimeout;

const MapIntrinsic = Map;
const { get: mapGet, set: mapSet, delete: mapDelete, forEach: mapForEach } = Map.prototype;
const mapSize = getOwnPropertyDescriptor(Map.prototype, "size")?.get;

/** A `Map` whose `get`, `set`, `delete`, `forEach` and `size` are its own properties, taken
 * at load: a page replacing `Map.prototype`'s members never sees this map. Use only those. */
export function privateMap<K, V>(): Map<K, V> {
  const map = new MapIntrinsic<K, V>();
  defineProperty(map, "get", { value: mapGet });
  defineProperty(map, "set", { value: mapSet });
  defineProperty(map, "delete", { value: mapDelete });
  defineProperty(map, "forEach", { value: mapForEach });
  if (mapSize !== undefined) defineProperty(map, "size", { get: () => reflectApply(mapSize, map, []) as number });
  return map;
}

/** `list` with `item` appended: a new frozen array, built without the array methods (or
 * index setters) a page may have put on `Array.prototype`. */
export function appended<T>(list: readonly T[] | undefined, item: T): readonly T[] {
  const next: T[] = [];
  const n = list === undefined ? 0 : list.length;
  for (let i = 0; i < n; i++) defineProperty(next, i, { value: (list as readonly T[])[i], enumerable: true, writable: true, configurable: true });
  defineProperty(next, n, { value: item, enumerable: true, writable: true, configurable: true });
  return freeze(next);
}

/** `list` without `item` (a new frozen array, built as `appended` builds), or undefined if empty. */
export function without<T>(list: readonly T[], item: T): readonly T[] | undefined {
  const next: T[] = [];
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== item) defineProperty(next, n++, { value: list[i], enumerable: true, writable: true, configurable: true });
  }
  return n === 0 ? undefined : freeze(next);
}

/** A first-in first-out queue kept in the slots of a prototype-less object: no array method
 * or index setter a page may have put on `Array.prototype` sees what passes through it. */
export class Queue<T> {
  private slots = create(null) as Record<number, T>;
  private head = 0;
  private tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  push(value: T): void {
    this.slots[this.tail++] = value;
  }

  /** The oldest value, taken out; undefined when empty. */
  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const value = this.slots[this.head];
    delete this.slots[this.head++];
    if (this.head === this.tail) this.clear(); // fresh slots: indexes stay small
    return value;
  }

  clear(): void {
    if (this.tail !== 0) this.slots = create(null) as Record<number, T>;
    this.head = this.tail = 0;
  }
}

/**
 * `promise.then(onFulfilled, onRejected)` through the `then` of load time, for a promise a
 * native API returned (`fetch`, `Response.arrayBuffer`). `await` and a looked-up `.then` would
 * go through `Promise.prototype.then` as it is now, which a page could replace to hand over a
 * value of its own making; the reactions registered here always get the native promise's own.
 */
export function whenSettled<T>(promise: Promise<T>, onFulfilled: (value: T) => void, onRejected: (reason: unknown) => void): void {
  reflectApply(promiseThen, promise, [onFulfilled, onRejected]);
}

/**
 * Fulfil `resolve` with `value` as data. Promise resolution follows any callable `then` it
 * finds, and a value parsed from JSON has none of its own: if `Object.prototype` (or an
 * array's prototype chain) was given one, a script would otherwise settle the call with
 * whatever it liked. Such a value is fulfilled with an own `then: undefined` shadowing it for
 * the moment of resolution; the common case costs two property checks.
 */
export function resolveAsData(resolve: (value: unknown) => void, value: unknown): void {
  if (typeof value !== "object" || value === null || !inheritsThen(value)) {
    resolve(value);
    return;
  }
  defineProperty(value, "then", { value: undefined, configurable: true, writable: true });
  try {
    resolve(value);
  } finally {
    delete (value as { then?: unknown }).then;
  }
}

function inheritsThen(value: object): boolean {
  if (getOwnPropertyDescriptor(value, "then") !== undefined) return false; // the host's own data
  if (getOwnPropertyDescriptor(ObjectPrototype, "then") !== undefined) return true;
  const proto = getPrototypeOf(value) as object | null;
  if (proto === ObjectPrototype || proto === null) return false;
  // An array (or anything else): its chain may have been rewired; look no further than that.
  return proto !== ArrayPrototype || getPrototypeOf(ArrayPrototype) !== ObjectPrototype || getOwnPropertyDescriptor(ArrayPrototype, "then") !== undefined;
}

// An `AbortSignal`'s state and listeners, through the methods as they were at load (Node's and
// browsers'; absent in a bare VM, where the signal's own are used).
const EventTargetIntrinsic = (globalThis as { EventTarget?: typeof EventTarget }).EventTarget;
const addListener = EventTargetIntrinsic?.prototype.addEventListener;
const removeListener = EventTargetIntrinsic?.prototype.removeEventListener;
const AbortSignalIntrinsic = (globalThis as { AbortSignal?: typeof AbortSignal }).AbortSignal;
const abortedGetter = AbortSignalIntrinsic === undefined ? undefined : getOwnPropertyDescriptor(AbortSignalIntrinsic.prototype, "aborted")?.get;

export function isAborted(signal: AbortSignal): boolean {
  if (abortedGetter !== undefined) {
    try {
      return reflectApply(abortedGetter, signal, []) as boolean;
    } catch {
      // not a real AbortSignal (a test's stand-in): ask it
    }
  }
  return signal.aborted;
}

export function onAbort(signal: AbortSignal, listener: () => void): void {
  if (addListener !== undefined) {
    try {
      reflectApply(addListener, signal, ["abort", listener, { once: true }]);
      return;
    } catch {
      // not a real EventTarget
    }
  }
  signal.addEventListener("abort", listener, { once: true });
}

export function offAbort(signal: AbortSignal, listener: () => void): void {
  if (removeListener !== undefined) {
    try {
      reflectApply(removeListener, signal, ["abort", listener]);
      return;
    } catch {
      // not a real EventTarget
    }
  }
  signal.removeEventListener("abort", listener);
}
