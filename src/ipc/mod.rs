//! The router: transport-agnostic call routing between clients and the host's handlers.
//! No pyo3, no wry: it is driven through the `Dispatcher` and `Sink` traits and tested alone.

mod router;
mod spin;
mod stats;

pub use router::{Receipt, Router};
pub use spin::{must_wake, spin_until};
pub use stats::Stats;

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
    Call { key: CallKey, conn: ConnId, method: MethodId, params: Vec<u8> },
    /// Deliver an event from a client to the host's listeners.
    Event { conn: ConnId, name: String, detail: Vec<u8> },
    /// The call was cancelled, timed out or lost its connection: stop it. Its reply, if any,
    /// has already been sent; a later `complete` for it is ignored.
    Cancel { key: CallKey },
}

/// Where the router hands work. Must not block and must not call back into the router.
pub trait Dispatcher: Send + Sync {
    fn dispatch(&self, op: Op);
}

/// Where frames for one connection go. Must not block and must not call back into the router.
pub trait Sink: Send + Sync {
    fn send(&self, frame: Bytes);
}
