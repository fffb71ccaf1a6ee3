// Owns the binary frame (docs/binary.md): one JSON message and its raw attachments in one
// buffer, and the `{"$bin": i}` placeholders that stand for the attachments inside the JSON.
//
// The layout is the host's (src/protocol/frame.rs) and the Python client's:
//
//   0x00 | H: u32 LE | N: u32 LE | N × u32 LE lengths | H bytes of JSON (UTF-8) | attachments
//
// A frame sent by the window's bridge holds the document key in its JSON, and a frame received
// settles a call, so both directions use only builtins taken when this module loads
// (intrinsics.ts): the typed array accessors and `set` of load time, a UTF-8 encoder written
// here over the `charCodeAt` of load time, the `TextDecoder` of load time. Nothing here calls
// `subarray` or `slice`, whose result a page could choose through `constructor[Symbol.species]`;
// views are made with the `Uint8Array` constructor of load time.

import { defineProperty, getOwnPropertyDescriptor, getPrototypeOf, isArray, ObjectPrototype, objectKeys, reflectApply } from "./intrinsics.js";

/** The first byte of every binary frame: a JSON text never starts with a NUL byte. */
export const FRAME_TAG = 0x00;
/** Tag, JSON length and attachment count: the bytes before the attachment length table. */
export const FRAME_HEADER_BYTES = 9;

/** A frame split into its parts: the JSON message (text) and the attachments, in order. */
export interface DecodedFrame {
  json: string;
  /** Views of the frame's own bytes (no copy): they stay valid as long as the frame does. */
  blobs: Uint8Array[];
}

/** The JSON stand-in for attachment `$bin` of the frame (docs/binary.md, "Nested bytes"). */
export interface BlobPlaceholder {
  $bin: number;
}

/** A value with its binary parts cut out (see `extractBlobs`). */
export interface ExtractedBlobs {
  /** The value to serialise: every binary part replaced by a `BlobPlaceholder`. */
  value: unknown;
  /** The binary parts, placeholder `{"$bin": i}` standing for `blobs[i]`. */
  blobs: Uint8Array[];
}

// ── Builtins of load time.

const U8 = Uint8Array;
const isView: (value: unknown) => value is ArrayBufferView = ArrayBuffer.isView;
const ArrayBufferPrototype: object = ArrayBuffer.prototype;
const TypedArrayPrototype = getPrototypeOf(Uint8Array.prototype) as object;
const getter = (proto: object, name: PropertyKey): ((this: unknown) => unknown) =>
  getOwnPropertyDescriptor(proto, name)?.get as (this: unknown) => unknown;
const typedArrayLength = getter(TypedArrayPrototype, "byteLength");
const typedArrayOffset = getter(TypedArrayPrototype, "byteOffset");
const typedArrayBuffer = getter(TypedArrayPrototype, "buffer");
/** "Uint8Array" for a Uint8Array (or a subclass, such as Node's Buffer), another name for
 * another typed array, undefined for anything else (a DataView): it never throws. */
const typedArrayName = getter(TypedArrayPrototype, Symbol.toStringTag);
const typedArraySet = (TypedArrayPrototype as { set: (source: ArrayLike<number>, offset?: number) => void }).set;
const arrayBufferLength = getter(ArrayBufferPrototype, "byteLength");
const dataViewLength = getter(DataView.prototype, "byteLength");
const dataViewOffset = getter(DataView.prototype, "byteOffset");
const dataViewBuffer = getter(DataView.prototype, "buffer");
const charCodeAt = String.prototype.charCodeAt;
// Absent from bare VMs (tests): decoding then says so when it is needed.
const TextDecoderIntrinsic = (globalThis as { TextDecoder?: typeof TextDecoder }).TextDecoder;
const utf8Decoder = TextDecoderIntrinsic === undefined ? undefined : new TextDecoderIntrinsic("utf-8", { fatal: true });
const utf8Decode = TextDecoderIntrinsic === undefined ? undefined : TextDecoderIntrinsic.prototype.decode;

const MAX_U32 = 0xffffffff;

/** `list[index] = value` without the index setters a page may have put on `Array.prototype`. */
function put<T>(list: T[], index: number, value: T): void {
  defineProperty(list, index, { value, enumerable: true, writable: true, configurable: true });
}

/** The byte length of a typed array, through the accessor of load time. */
function lengthOf(bytes: Uint8Array): number {
  return reflectApply(typedArrayLength, bytes, []) as number;
}

/** The bytes of any `ArrayBufferView` as a `Uint8Array`: a Uint8Array itself (no copy, the
 * same object), another typed array or a DataView as a view of the same memory. */
function bytesOf(view: ArrayBufferView): Uint8Array {
  const name = reflectApply(typedArrayName, view, []);
  if (name === "Uint8Array") return view as Uint8Array;
  if (name !== undefined) {
    return new U8(
      reflectApply(typedArrayBuffer, view, []) as ArrayBuffer,
      reflectApply(typedArrayOffset, view, []) as number,
      reflectApply(typedArrayLength, view, []) as number,
    );
  }
  return new U8(
    reflectApply(dataViewBuffer, view, []) as ArrayBuffer,
    reflectApply(dataViewOffset, view, []) as number,
    reflectApply(dataViewLength, view, []) as number,
  );
}

/** Whether `value` is an object `extractBlobs` and `hasBinary` look into: an ordinary object
 * whose prototype is `Object.prototype` (of any realm) or null. Class instances (a `Date`, a
 * `Map`) are left to `JSON.stringify`, as the text path leaves them. */
function isPlain(value: object): boolean {
  const proto = getPrototypeOf(value) as object | null;
  return proto === ObjectPrototype || proto === null || getPrototypeOf(proto) === null;
}

// ── UTF-8, written here: the JSON may hold the document key, and a `TextEncoder` looked up
// ── (or its prototype) could be a page's.

function codeUnit(text: string, index: number): number {
  return reflectApply(charCodeAt, text, [index]) as number;
}

/** The UTF-8 length of `text`, a lone surrogate counting as U+FFFD (3 bytes), as a
 * `TextEncoder` writes it. */
function utf8Length(text: string): number {
  const n = text.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = codeUnit(text, i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (codeUnit(text, i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 4 bytes for 2 code units
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Write `text` as UTF-8 into `out` from `at`; returns where it ended. */
function writeUtf8(text: string, out: Uint8Array, at: number): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = codeUnit(text, i);
    if (c < 0x80) {
      out[at++] = c;
    } else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = c <= 0xdbff && i + 1 < n ? codeUnit(text, i + 1) : 0;
      if ((next & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[at++] = 0xf0 | (c >> 18);
        out[at++] = 0x80 | ((c >> 12) & 0x3f);
        out[at++] = 0x80 | ((c >> 6) & 0x3f);
        out[at++] = 0x80 | (c & 0x3f);
      } else {
        out[at++] = 0xef; // a lone surrogate: U+FFFD
        out[at++] = 0xbf;
        out[at++] = 0xbd;
      }
    } else {
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}

function readUtf8(bytes: Uint8Array): string {
  if (utf8Decoder === undefined || utf8Decode === undefined) {
    throw new Error("auroraview: this runtime has no TextDecoder to read a binary frame's JSON");
  }
  try {
    return reflectApply(utf8Decode, utf8Decoder, [bytes]) as string;
  } catch {
    throw new Error("auroraview: malformed binary frame: its JSON is not valid UTF-8");
  }
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = (value >>> 8) & 0xff;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = value >>> 24;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)) + bytes[at + 3] * 0x1000000;
}

function hex(byte: number): string {
  return "0x" + (byte < 16 ? "0" : "") + byte.toString(16);
}

// ── The frame.

/** Whether `value` is an ArrayBuffer (of any realm) or a view of one: what `decodeFrame`
 * takes. A transport asks before decoding a message that is not text (a `Blob` is not). */
export function isBytes(value: unknown): value is ArrayBuffer | ArrayBufferView {
  if (typeof value !== "object" || value === null) return false;
  if (isView(value)) return true;
  try {
    reflectApply(arrayBufferLength, value, []); // throws for anything but an ArrayBuffer
    return true;
  } catch {
    return false;
  }
}

/**
 * The binary frame of `json` and `blobs` (docs/binary.md): one allocation of exactly the
 * frame's size, each attachment copied into it once. Throws a `RangeError` when a length does
 * not fit the format's u32.
 */
export function encodeFrame(json: string, blobs: readonly Uint8Array[]): Uint8Array {
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

/**
 * `frame` as views of consecutive parts of at most `size` bytes (no copy): how the window
 * posts a large frame (UPLOAD_PART_BYTES in transports/webkit.ts). One part when it fits.
 */
export function partsOf(frame: Uint8Array, size: number): Uint8Array[] {
  const total = lengthOf(frame);
  if (total <= size) return [frame];
  const buffer = reflectApply(typedArrayBuffer, frame, []) as ArrayBuffer;
  const base = reflectApply(typedArrayOffset, frame, []) as number;
  const parts: Uint8Array[] = [];
  for (let at = 0; at < total; at += size) put(parts, parts.length, new U8(buffer, base + at, total - at < size ? total - at : size));
  return parts;
}

/**
 * Split a binary frame into its JSON text and its attachments. The attachments are views of
 * `frame`'s memory (no copy). Throws an `Error` saying why when `frame` is shorter than its
 * header, does not start with `0x00`, or its lengths do not add up to its size (as the host
 * refuses such a frame as `invalid_message`), or when its JSON is not UTF-8.
 */
export function decodeFrame(frame: ArrayBuffer | Uint8Array): DecodedFrame {
  let buffer: ArrayBuffer;
  let base: number;
  let size: number;
  let bytes: Uint8Array;
  if (isView(frame)) {
    bytes = bytesOf(frame);
    buffer = reflectApply(typedArrayBuffer, bytes, []) as ArrayBuffer;
    base = reflectApply(typedArrayOffset, bytes, []) as number;
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
  const blobs: Uint8Array[] = [];
  let at = headerEnd + jsonBytes;
  for (let i = 0; i < count; i++) {
    const length = readU32(bytes, FRAME_HEADER_BYTES + 4 * i);
    put(blobs, i, new U8(buffer, base + at, length));
    at += length;
  }
  return { json, blobs };
}

// ── Placeholders.

/**
 * Whether `value` holds binary data (a typed array, a DataView, an ArrayBuffer) itself or
 * within `maxDepth` levels of arrays and plain objects. Allocates nothing for ordinary JSON
 * values: it runs on every call without options, to send binary params the raw way.
 */
export function hasBinary(value: unknown, maxDepth: number): boolean {
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
  // `for in` (no key array) rather than `Object.keys`; an inherited key only costs a look.
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === "object" && item !== null && hasBinary(item, maxDepth - 1)) return true;
  }
  return false;
}

/** `blobs` grows by `bytes`; the placeholder standing for it. */
function placeholder(bytes: Uint8Array, blobs: Uint8Array[]): BlobPlaceholder {
  const index = blobs.length;
  put(blobs, index, bytes);
  return { $bin: index };
}

function cut(value: object, blobs: Uint8Array[]): unknown {
  if (isView(value)) return placeholder(bytesOf(value), blobs);
  if (isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = typeof item === "object" && item !== null ? cut(item, blobs) : item;
      if (copy === undefined && next !== item) {
        copy = [];
        for (let j = 0; j < i; j++) put(copy, j, value[j]);
      }
      if (copy !== undefined) put(copy, i, next);
    }
    return copy ?? value;
  }
  if (!isPlain(value)) {
    return getPrototypeOf(value) === ArrayBufferPrototype ? placeholder(new U8(value as ArrayBuffer), blobs) : value;
  }
  const keys = objectKeys(value);
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const item = (value as Record<string, unknown>)[key];
    const next = typeof item === "object" && item !== null ? cut(item, blobs) : item;
    if (copy === undefined && next !== item) {
      copy = {};
      for (let j = 0; j < i; j++) defineProperty(copy, keys[j], { value: (value as Record<string, unknown>)[keys[j]], enumerable: true, writable: true, configurable: true });
    }
    if (copy !== undefined) defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? value;
}

/**
 * `value` with every binary part (a `Uint8Array`; another typed array, a DataView or an
 * ArrayBuffer as a `Uint8Array` view of its bytes) inside arrays and plain objects replaced
 * by `{"$bin": i}`, and the parts in placeholder order. `value` is not changed: the arrays
 * and objects on the way to a binary part are copied, the rest is shared. A Uint8Array is
 * taken as it is (no copy), so the bytes are read when the frame is built.
 */
export function extractBlobs(value: unknown): ExtractedBlobs {
  const blobs: Uint8Array[] = [];
  const out = typeof value === "object" && value !== null ? cut(value, blobs) : value;
  return { value: out, blobs };
}

/** The index of placeholder `value` (an object with one own key, `$bin`, an integer), or
 * undefined when it is not one. */
function placeholderIndex(value: object): number | undefined {
  // The common negative answer without allocating: no own `$bin`.
  if (getOwnPropertyDescriptor(value, "$bin") === undefined || isArray(value) || !isPlain(value)) return undefined;
  const keys = objectKeys(value);
  if (keys.length !== 1 || keys[0] !== "$bin") return undefined;
  const index = (value as { $bin: unknown }).$bin;
  return typeof index === "number" && index % 1 === 0 ? index : undefined;
}

function blobAt(blobs: readonly Uint8Array[], index: number): Uint8Array {
  if (index < 0 || index >= blobs.length) {
    throw new RangeError(`auroraview: placeholder {"$bin": ${index}} names no attachment (the frame has ${blobs.length})`);
  }
  return blobs[index];
}

function fill(container: object, blobs: readonly Uint8Array[]): void {
  if (isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      const item: unknown = container[i];
      if (typeof item !== "object" || item === null) continue;
      const index = placeholderIndex(item);
      if (index !== undefined) container[i] = blobAt(blobs, index);
      else fill(item, blobs);
    }
    return;
  }
  if (isView(container) || !isPlain(container)) return;
  const keys = objectKeys(container);
  for (let i = 0; i < keys.length; i++) {
    const item = (container as Record<string, unknown>)[keys[i]];
    if (typeof item !== "object" || item === null) continue;
    const index = placeholderIndex(item);
    if (index !== undefined) (container as Record<string, unknown>)[keys[i]] = blobAt(blobs, index);
    else fill(item, blobs);
  }
}

/**
 * `value` with every placeholder `{"$bin": i}` (an object whose one own key is `$bin`, an
 * integer) inside arrays and plain objects replaced by `blobs[i]`. The arrays and objects are
 * changed in place (the value comes fresh from `JSON.parse`: copying a large result would
 * cost as much as parsing it); a placeholder at the top is returned as its blob. A placeholder
 * whose index is out of range throws a `RangeError`. An object with other keys, or a `$bin`
 * that is not an integer, is data and stays.
 */
export function insertBlobs(value: unknown, blobs: readonly Uint8Array[]): unknown {
  if (typeof value !== "object" || value === null) return value;
  const index = placeholderIndex(value);
  if (index !== undefined) return blobAt(blobs, index);
  fill(value, blobs);
  return value;
}

