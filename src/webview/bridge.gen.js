// @generated from sdk-ts/src/bridge.ts by `npm run build:bridge` (in sdk-ts/) — DO NOT EDIT.
"use strict";
// The injected bridge: defines `window.auroraview` before any page script runs.
//
// Messages to the host go through WebKit's `ipc` message handler (wry's `window.ipc`
// elsewhere) as JSON envelopes (see src/protocol), each carrying this document's key: a
// random value made here, announced first of all with `hello`, and kept in this closure.
// A frame that can reach the message handler but not this closure (an iframe) cannot
// produce it, so the host refuses its messages (RELIABILITY.md cases 17 and 18). Replies and events come back as data: the host calls the one
// pre-registered receiver, `__auroraview_receive`, with a JSON string holding a batch of
// frames. Nothing the host sends is ever evaluated as code built from payloads.
(() => {
    const w = window;
    if (w.auroraview && w.auroraview.__bridge === 1) {
        return; // already installed in this document
    }
    /** An `Error` carrying the host's `{name, code, message, data}`. */
    class InvokeError extends Error {
        constructor(shape) {
            super(shape.message);
            this.name = shape.name;
            this.code = shape.code;
            this.data = shape.data;
        }
    }
    const pending = new Map();
    const listeners = new Map();
    const outbox = [];
    let nextId = 1;
    /** Replies whose id matched no call in flight (stale, duplicate, or for another page). */
    let unmatched = 0;
    // Taken before any page script runs: what a page later does to these globals cannot
    // observe or redirect what the bridge sends.
    const stringify = JSON.stringify;
    const parse = JSON.parse;
    const webkit = window.webkit;
    const handler = webkit?.messageHandlers?.ipc;
    /** Where messages go, once known. */
    let channel = handler && typeof handler.postMessage === "function" ? handler.postMessage.bind(handler) : undefined;
    const key = (() => {
        const bytes = new Uint8Array(16);
        crypto.getRandomValues(bytes);
        let hex = "";
        for (let i = 0; i < bytes.length; i++)
            hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
        return hex;
    })();
    /** A message envelope with the page key; `rest` is `,"field":json...` or empty. */
    function envelope(type, rest) {
        return '{"type":"' + type + '","key":"' + key + '"' + rest + "}";
    }
    function ipc() {
        if (channel)
            return channel;
        const candidate = window.ipc;
        if (candidate && typeof candidate.postMessage === "function")
            channel = (text) => candidate.postMessage(text);
        return channel;
    }
    function flush() {
        const send = ipc();
        if (!send)
            return;
        while (outbox.length > 0) {
            send(outbox.shift());
        }
    }
    function post(text) {
        if (channel && outbox.length === 0) {
            channel(text); // the common case: nothing queued ahead of this message
            return;
        }
        outbox.push(text);
        flush();
    }
    /** `,"name":json` for a value given, nothing for one that is absent or not JSON. */
    function field(name, value) {
        if (value === undefined)
            return "";
        const json = stringify(value);
        return json === undefined ? "" : ',"' + name + '":' + json;
    }
    // The key binds to this document before any of its own scripts (or frames) exist.
    post(envelope("hello", ""));
    function settle(frame) {
        if (frame.id === undefined)
            return;
        const call = pending.get(frame.id);
        if (!call) {
            unmatched += 1; // cancelled or timed out already, or not ours
            return;
        }
        pending.delete(frame.id);
        if (call.cleanup)
            call.cleanup();
        if (frame.ok) {
            call.resolve(frame.result);
        }
        else {
            const e = frame.error ?? { name: "Error", code: "internal", message: "malformed reply", data: null };
            call.reject(new InvokeError(e));
        }
    }
    function trigger(event, payload) {
        if (event === "__auroraview_call_result") {
            // The seeds' internal event: `{id, ok, result | error}`.
            settle({ type: "call_result", ...payload });
            return;
        }
        const set = listeners.get(event);
        if (!set)
            return;
        for (const listener of Array.from(set)) {
            try {
                listener(payload);
            }
            catch (err) {
                // One failing listener must not stop the others.
                console.error(`auroraview: listener for "${event}" threw`, err);
            }
        }
    }
    function call(method, params, options) {
        const id = nextId++;
        const message = envelope("call", ',"id":' + id + field("method", method) + field("params", params));
        const timeout = options?.timeout;
        const signal = options?.signal;
        if (timeout === undefined && !signal) {
            // The common case: no timer, no listener, no per-call closures beyond the promise's.
            return new Promise((resolve, reject) => {
                pending.set(id, { resolve, reject });
                post(message);
            });
        }
        return new Promise((resolve, reject) => {
            let timer;
            const onAbort = () => fail("AbortError", "cancelled", "the call was aborted");
            const cleanup = () => {
                if (timer !== undefined)
                    clearTimeout(timer);
                signal?.removeEventListener("abort", onAbort);
            };
            function fail(name, code, msg) {
                if (!pending.delete(id))
                    return;
                cleanup();
                post(envelope("cancel", ',"id":' + id));
                reject(new InvokeError({ name, code, message: msg, data: null }));
            }
            if (signal?.aborted) {
                reject(new InvokeError({ name: "AbortError", code: "cancelled", message: "the call was aborted", data: null }));
                return;
            }
            pending.set(id, { resolve, reject, cleanup });
            if (timeout !== undefined) {
                timer = setTimeout(() => fail("TimeoutError", "timeout", `no reply within ${timeout} ms`), timeout);
            }
            signal?.addEventListener("abort", onAbort, { once: true });
            post(message);
        });
    }
    function send_event(event, detail) {
        post(envelope("event", field("event", event) + field("detail", detail)));
    }
    function on(event, handler) {
        let set = listeners.get(event);
        if (!set) {
            set = new Set();
            listeners.set(event, set);
        }
        set.add(handler);
        return () => off(event, handler);
    }
    function off(event, handler) {
        if (handler === undefined) {
            listeners.delete(event);
        }
        else {
            listeners.get(event)?.delete(handler);
        }
    }
    function once(event, handler) {
        const unsubscribe = on(event, (payload) => {
            unsubscribe();
            handler(payload);
        });
        return unsubscribe;
    }
    /** The receiver the host calls with a JSON array of frames (a string: data, not code). */
    function receive(batch) {
        let frames;
        try {
            frames = parse(batch);
        }
        catch (err) {
            console.error("auroraview: undecodable batch from the host", err);
            return;
        }
        for (const frame of frames) {
            if (frame.type === "call_result") {
                settle(frame);
            }
            else if (frame.type === "event" && typeof frame.event === "string") {
                trigger(frame.event, frame.payload);
            }
        }
    }
    // `auroraview.api.method(params)` → `call("api.method", params)` (for `bind_api`).
    const api = new Proxy(Object.freeze({}), {
        get(_target, name) {
            if (typeof name !== "string" || name === "then")
                return undefined;
            return (params, options) => call(`api.${name}`, params, options);
        },
    });
    /** Counters for diagnostics and tests. */
    function stats() {
        return { pending: pending.size, unmatched };
    }
    const auroraview = Object.freeze({
        __bridge: 1,
        stats,
        call,
        send_event,
        on,
        off,
        once,
        trigger,
        api,
        InvokeError,
    });
    Object.defineProperty(window, "auroraview", { value: auroraview, writable: false, configurable: false });
    Object.defineProperty(window, "__auroraview_receive", { value: receive, writable: false, configurable: false });
    const ready = () => {
        post(envelope("ready", "")); // the host holds replies and events until it sees this
        flush();
        window.dispatchEvent(new CustomEvent("auroraviewready", { detail: auroraview }));
    };
    // `auroraviewready` fires once the page's own scripts could register for it, and once
    // wry's channel exists; messages sent before that wait in the outbox, none is lost.
    const whenChannel = () => {
        if (ipc()) {
            ready();
            return;
        }
        const poll = setInterval(() => {
            if (ipc()) {
                clearInterval(poll);
                ready();
            }
        }, 1);
    };
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", whenChannel, { once: true });
    }
    else {
        setTimeout(whenChannel, 0);
    }
})();
