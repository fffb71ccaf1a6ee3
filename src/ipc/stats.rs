//! Counters of what the router did, including every message it dropped.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! stats {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[derive(Default, Debug)]
        pub struct Stats { $($(#[$doc])* pub $name: AtomicU64,)* }

        impl Stats {
            /// Every counter with its name, in declaration order.
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name.load(Ordering::Relaxed)),)*]
            }
        }
    };
}

stats! {
    /// Messages handed to `receive`.
    received,
    /// Calls accepted and dispatched.
    calls_accepted,
    /// Events dispatched to the host.
    events_received,
    /// Messages dropped because no id could be read to answer them.
    dropped,
    /// Messages answered `invalid_message`.
    invalid_messages,
    /// Messages answered `payload_too_large` (or dropped for it).
    too_large,
    /// Calls answered `method_not_found`.
    method_not_found,
    /// Calls answered `overloaded`.
    overloaded,
    /// Calls refused because their id is already in flight on the connection.
    duplicate_ids,
    /// Results that arrived after their call was answered (timeout, cancel, disconnect).
    late_results,
    /// Calls answered `timeout`.
    timeouts,
    /// Calls answered `cancelled`.
    cancelled,
    /// Cancels naming no call in flight.
    unknown_cancels,
    /// Stream and channel items sent.
    items_sent,
    /// Items for a call no longer in flight (it ended, timed out or was cancelled): dropped.
    late_items,
    /// Acks naming no call in flight (the stream ended before the ack arrived, or not ours).
    unknown_acks,
    /// Messages a page's connection refused: no key, a wrong or stale one, or a `hello` out
    /// of turn (RELIABILITY.md cases 17 and 18).
    refused_key,
    /// Results answered `internal` because they held integers JavaScript cannot represent.
    unsafe_results,
    /// Panics caught on the routing path.
    panics,
    /// Events held because no connection their target matches was open (`held.rs`).
    held_events,
    /// Held events dropped, oldest first, because `max_backlog_events` were held.
    held_dropped,
    /// Events for one connection id that was no longer open (never held: it never returns).
    events_unrouted,
    /// Calls answered `forbidden` by a command's access rules (`authority.rs`).
    forbidden,
    /// Messages published on topics (docs/topics.md).
    publications,
    /// Publications queued to subscribers (one per subscriber per publication, replays
    /// included).
    deliveries,
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
