// @generated from src/protocol by ts-rs (`AURORAVIEW_BLESS=1 cargo test --test protocol`) — DO NOT EDIT.
export const PROTOCOL_VERSION = 1;
export type ErrorCode = "invalid_message" | "method_not_found" | "invalid_params" | "handler_error" | "internal" | "timeout" | "cancelled" | "payload_too_large" | "forbidden" | "overloaded" | "shutting_down" | "disconnected" | "unavailable";
export type CallId = number | string;
export type ClientMessage = { "type": "call", key?: string, id: CallId, method: string, 
/**
 * Named arguments as an object, positional ones as an array, or absent.
 */
params?: unknown, } | { "type": "event", key?: string, event: string, detail?: unknown, } | { "type": "cancel", key?: string, id: CallId, } | { "type": "ack", key?: string, id: CallId, seq: number, } | { "type": "ready", key?: string, } | { "type": "hello", key: string, } | { "type": "ping", key?: string, } | { "type": "pong", key?: string, };
export type CallError = { 
/**
 * The error's class: `ValidationError`, `MethodNotFound`, or a handler's exception name.
 */
name: string, 
/**
 * A code to switch on: one of `ErrorCode`, or one a handler chose.
 */
code: string, 
/**
 * Human-readable explanation.
 */
message: string, 
/**
 * Structured details (`errors` for `invalid_params`), or null.
 */
data: unknown, };
export type HostMessage = { "type": "call_result", id: CallId, ok: boolean, result?: unknown, error?: CallError, } | { "type": "item", id: CallId, seq: number, item: unknown, } | { "type": "event", event: string, payload: unknown, } | { "type": "publication", topic: string, epoch: string, offset: number, data: unknown, } | { "type": "welcome", 
/**
 * The connection's id on the host (as handlers and `connections()` see it).
 */
conn: number, 
/**
 * The host sends a `ping` when it has sent nothing for this long.
 */
heartbeat_ms: number, 
/**
 * `PROTOCOL_VERSION` of the host.
 */
protocol: number, } | { "type": "ping" } | { "type": "pong" };
