//! Thread hand-off: how work crosses from one thread to another without waking it when it
//! is already watching (a bounded spin-wait) and with one wake-up per batch when it is not
//! (a GIL-free queue whose consumer is an event loop). No pyo3, no wry.

mod spin;
mod wake;

pub use spin::{must_wake, spin_until};
pub use wake::WakeQueue;
