//! A bounded spin-wait a consumer uses instead of sleeping while work arrives back to back.
//!
//! The protocol, shared by the asyncio thread's queue and a window's frame queue: the
//! consumer raises `waiting`, spins until `ready()` or `limit`, lowers `waiting`, and looks
//! once more. A producer queues its item first and then skips its wake-up only if it still
//! sees `waiting` raised (both with `SeqCst`). So every item is either seen by the wait or
//! followed by a wake-up.
//!
//! Each look offers the core to any other thread ready to run on it (`sched_yield`). On 2
//! cores the party about to produce the item (the page's web process, the GUI thread, the X
//! server, a network client) would otherwise queue behind the wait: with a pure spin, a
//! sequential call's p99 was about a wait's length (1.1-1.5 ms in a window, against 0.3-0.5 ms
//! for the raw-wry floor; 1.1 ms over WebSocket against 0.4 ms), and yielding brought both
//! to the floor's (`bench/run.py`, `bench/net.py`; docs/performance.md has the tables). Two
//! alternatives were measured and rejected: ending the wait when `/proc/loadavg` counts more
//! runnable threads than cores (on 2 cores it nearly always does, so the wait never caught a
//! call and the tail stayed), and ending it when a yield kept the thread off its core for a
//! while (the median went up 2x). The cost: an idle-priority or niced busy thread on the same
//! core is handed the core at a yield and may keep it for a slice (a few ms).

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
        std::thread::yield_now();
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
