//! The IPC core, transport-agnostic: one router per app that every transport joins. No
//! pyo3, no wry: it is driven through the `Dispatcher` and `Sink` traits and tested alone.
//!
//! - `router`: orchestration (decode, admit, route, reply, emit);
//! - `pending`: the pending-call table and its one-terminal-reply invariant;
//! - `gate`: admission (page key), pure; `authority`: per-command access rules, pure;
//! - `metrics`: per-command calls, outcomes and latency;
//! - `conn`: connection identity and event targets; `held`: events waiting for a connection;
//! - `origin`: exact origin matching, for every transport; `stats`: counters;
//! - `topics`: a topic's offsets, history and subscribers (docs/topics.md).

mod authority;
mod conn;
mod gate;
mod held;
mod metrics;
mod origin;
mod pending;
mod router;
mod stats;
mod topics;

pub use authority::{authorize, Access, Exposure};
pub use conn::{ConnInfo, Target, TransportKind};
pub use gate::{same_key, Admission, Gate};
pub use metrics::{MethodMetrics, MethodSnapshot, LATENCY_BUCKETS};
pub use origin::Origin;
pub use router::{Emitted, Receipt, Router, MAX_TOPICS};
pub use stats::Stats;
pub use topics::{new_epoch, valid_name as valid_topic_name, Recovery, Since, Subscribed, Topic, TopicSpec};

use bytes::Bytes;

/// One client connection (a page load, a WebSocket, a test client). Never reused.
pub type ConnId = u64;
/// The router's own key for an accepted call. Internal: clients only ever see their `id`.
pub type CallKey = u64;
/// Index of a registered method, handed to the dispatcher instead of its name.
pub type MethodId = u32;

/// Work for the host's handlers.
#[derive(Debug, PartialEq)]
pub enum Op {
    /// Run method `method` with raw JSON `params`, then answer through `Router::complete(key)`.
    /// `blobs`: `None` when the call's reply cannot carry attachments (a page's message
    /// path); otherwise the call's attachments (docs/binary.md), possibly none, and the reply
    /// may have some (`Router::complete_binary`).
    /// Each attachment is the views of the chunks its bytes were read in, in order.
    Call { key: CallKey, conn: ConnId, method: MethodId, params: Vec<u8>, blobs: Option<Vec<Vec<Bytes>>> },
    /// Deliver an event from a client to the host's listeners. `child`: the child id when
    /// the connection is a child process's, read when the event arrived (the connection may
    /// be gone by the time the host looks: a child that emits and exits).
    Event { conn: ConnId, name: String, detail: Vec<u8>, child: Option<String> },
    /// The call was cancelled, timed out or lost its connection: stop it. Its reply, if any,
    /// has already been sent; a later `complete` for it is ignored.
    Cancel { key: CallKey },
    /// The caller of stream or channel call `key` consumed its items up to `seq`: the host
    /// may send more (docs/streams.md).
    Ack { key: CallKey, seq: u64 },
    /// Message `offset` of `topic`, which the host subscribed to (`Router::topic_host`), in
    /// publish order.
    Publication { topic: String, epoch: String, offset: u64, data: Vec<u8> },
}

/// How a broker's answer comes back: called once, from any thread, with no router lock held.
pub type BrokerDone<T> = Box<dyn FnOnce(Result<T, crate::protocol::ErrorReply>) + Send>;

/// A broker sharing the app's topics with other processes (`src/broker`, docs/topics.md):
/// it orders each topic's publications (epoch, offset) and feeds what it ordered back to the
/// router of every process (`Router::mirror_sync`, `Router::mirror_accept`), whose topics
/// then fan out and keep history as they do alone.
pub trait TopicBroker: Send + Sync {
    /// Publish JSON `data` on `topic`: `done` gets the epoch and offset the broker gave it,
    /// or why it was not published.
    fn publish(&self, topic: &str, spec: TopicSpec, data: Bytes, done: BrokerDone<(String, u64)>);
    /// Make the router's `topic` follow the broker (its history loaded, its publications
    /// fed); `done` once it does, at once when it does already.
    fn follow(&self, topic: &str, spec: TopicSpec, done: BrokerDone<()>);
}

/// Where the router hands work. Must not block and must not call back into the router.
pub trait Dispatcher: Send + Sync {
    fn dispatch(&self, op: Op);
}

/// Where frames for one connection go. Must not block and must not call back into the router.
pub trait Sink: Send + Sync {
    /// One frame: a JSON text, or a binary frame (`protocol::is_frame`) when the sink
    /// `carries_binary`.
    fn send(&self, frame: Bytes);
    /// Whether binary frames may be sent here (a WebSocket, an in-process queue; not a page,
    /// whose binary replies go back through its call endpoint's `Responder`).
    fn carries_binary(&self) -> bool {
        false
    }
    /// The publications a resubscription recovers (docs/topics.md), in order. A bounded sink
    /// takes them beyond its bound (they are bounded by the topic's `history_bytes`): a client
    /// catching up on a long gap must not be cut off as a slow consumer for it, and the
    /// frames after them are held to the bound plus what is left of them.
    fn send_recovered(&self, frames: Vec<Bytes>) {
        for frame in frames {
            self.send(frame);
        }
    }
}

/// The one answer to a request that carried a call in a binary frame and waits for its reply
/// itself (the window's custom-protocol call endpoint), rather than through its connection's
/// sink.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// The reply frame, as segments to write back to back (`protocol::encode_frame`).
    Frame(Vec<Bytes>),
    /// No reply frame: the request was refused or dropped before it became a call.
    Refused(crate::protocol::ErrorCode),
}

/// Where such a call's reply goes. Whoever implements it answers when it is dropped without
/// being called (the router drops it when it has nothing to say: a dropped message, a
/// connection gone), so the request never hangs.
pub type Responder = Box<dyn FnOnce(Reply) + Send>;
