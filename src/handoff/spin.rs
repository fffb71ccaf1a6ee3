//! A bounded spin-wait a consumer uses instead of sleeping while work arrives back to back.
//!
//! The protocol, shared by the asyncio thread's queue and a window's frame queue: the
//! consumer raises `waiting`, spins until `ready()` or `limit`, lowers `waiting`, and looks
//! once more. A producer queues its item first and then skips its wake-up only if it still
//! sees `waiting` raised (both with `SeqCst`). So every item is either seen by the wait or
//! followed by a wake-up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Spin for at most `limit` until `ready()`; true if it is.
pub fn spin_until(waiting: &AtomicBool, limit: Duration, ready: impl Fn() -> bool) -> bool {
    if ready() {
        return true;
    }
    waiting.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + limit;
    let mut got = false;
    while !got && Instant::now() < deadline {
        std::hint::spin_loop();
        got = ready();
    }
    waiting.store(false, Ordering::SeqCst);
    // An item queued after the last look but before `waiting` was lowered sent no wake-up.
    got || ready()
}

/// The producer's half: after queueing an item, whether it must wake the consumer.
pub fn must_wake(waiting: &AtomicBool) -> bool {
    !waiting.load(Ordering::SeqCst)
}
