//! The typed shape of every message on the wire: the contract that the JSON Schema, the
//! TypeScript types and the Python constants are generated from.
//!
//! The hot path does not build these structs: `decode` reads envelopes borrowing the
//! input and `encode` splices raw result bytes. Tests check that both agree with the
//! types here.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::ErrorCode;

/// Version of the message format below. Bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest integer id that survives a trip through a JS `number` (2^53 - 1).
pub const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// A call id chosen by the caller: a string, or an integer within ±(2^53 - 1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(untagged)]
pub enum CallId {
    Int(
        #[schemars(range(min = -9_007_199_254_740_991i64, max = 9_007_199_254_740_991i64))]
        #[ts(type = "number")]
        i64,
    ),
    Str(String),
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallId::Int(n) => write!(f, "{n}"),
            CallId::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A message from the page (or any client) to the host.
///
/// `key`: on a window's connection every message must carry the key its page announced
/// with `hello` (the bridge adds it; page scripts never see it). Elsewhere it is ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Call a command; exactly one `call_result` with the same `id` answers it.
    Call {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        key: Option<String>,
        id: CallId,
        method: String,
        /// Named arguments as an object, positional ones as an array, or absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "unknown")]
        params: Option<Value>,
    },
    /// Fire-and-forget event to the host's `on(event)` handlers.
    Event {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        key: Option<String>,
        event: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "unknown")]
        detail: Option<Value>,
    },
    /// Ask the host to cancel the call with this id; it is answered `cancelled`.
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        key: Option<String>,
        id: CallId,
    },
    /// The caller has consumed the items of stream or channel call `id` up to and including
    /// item `seq`: the host may send more (credit-based backpressure). A client acknowledges
    /// at the latest when it has consumed every item it holds and waits for more, so any
    /// window the host keeps makes progress (docs/streams.md).
    Ack {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        key: Option<String>,
        id: CallId,
        #[schemars(range(min = 0, max = 9_007_199_254_740_991i64))]
        #[ts(type = "number")]
        seq: u64,
    },
    /// The page's bridge is installed and listening: frames for it may be delivered.
    Ready {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        key: Option<String>,
    },
    /// The bridge's first message in a new document: the page's key, 22 to 128 characters of
    /// `[A-Za-z0-9_-]`. A window accepts one per document, and only once it has committed.
    /// On the network transport, the first frame of a connection not authenticated at the
    /// upgrade: `key` is the server's token (docs/network.md).
    Hello {
        #[schemars(length(min = 22, max = 128), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
        key: String,
    },
    /// Heartbeat (network transport): answered with `pong`.
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        key: Option<String>,
    },
    /// The answer to the host's `ping`.
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        key: Option<String>,
    },
}

/// The error carried by a failed `call_result`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct CallError {
    /// The error's class: `ValidationError`, `MethodNotFound`, or a handler's exception name.
    pub name: String,
    /// A code to switch on: one of `ErrorCode`, or one a handler chose.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Structured details (`errors` for `invalid_params`), or null.
    #[ts(type = "unknown")]
    pub data: Value,
}

/// A message from the host to the page (or any client).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostMessage {
    /// The single terminal answer to a `call`.
    CallResult {
        id: CallId,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "unknown")]
        result: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        error: Option<CallError>,
    },
    /// One item of stream or channel call `id`, numbered from 1 without gaps. Every item of
    /// a call comes before its `call_result` (which ends the stream). The host sends at most
    /// its window of items beyond the last `ack`.
    Item {
        id: CallId,
        #[ts(type = "number")]
        seq: u64,
        #[ts(type = "unknown")]
        item: Value,
    },
    /// An event pushed by the host, delivered to the page's `on(event)` listeners.
    Event {
        event: String,
        #[ts(type = "unknown")]
        payload: Value,
    },
    /// Message `offset` of topic `topic`, which the connection subscribed to (docs/topics.md).
    /// Offsets number a topic's messages from 1 without gaps within one `epoch` (the history
    /// they belong to); a subscriber gets them in order, each after its subscribe's reply.
    Publication {
        topic: String,
        epoch: String,
        #[ts(type = "number")]
        offset: u64,
        #[ts(type = "unknown")]
        data: Value,
    },
    /// Network transport: the connection is authenticated and open.
    Welcome {
        /// The connection's id on the host (as handlers and `connections()` see it).
        #[ts(type = "number")]
        conn: u64,
        /// The host sends a `ping` when it has sent nothing for this long.
        #[ts(type = "number")]
        heartbeat_ms: u64,
        /// `PROTOCOL_VERSION` of the host.
        protocol: u32,
    },
    /// Heartbeat (network transport): answer with `pong`.
    Ping,
    /// The answer to a client's `ping`.
    Pong,
}

/// Everything the protocol defines, gathered for the generated JSON Schema.
#[derive(Serialize, JsonSchema)]
pub struct ProtocolDocument {
    pub protocol_version: u32,
    pub client_message: ClientMessage,
    pub host_message: HostMessage,
    pub error_code: ErrorCode,
    pub limits: super::Limits,
}
