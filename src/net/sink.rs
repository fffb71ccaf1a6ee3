//! A network connection's outbound queue, bounded in bytes. The router hands frames to it
//! without blocking (under its lock); the session task writes them to the socket. A client
//! that does not read fast enough to keep the queue under its bound is cut off (close 4008)
//! rather than buffered without limit: server memory stays bounded whatever clients do.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};

use super::metrics::NetStats;
use crate::ipc::Sink;

pub struct NetSink {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: AtomicUsize,
    max: usize,
    /// Bytes ever written to the socket: the queue's head, as a position in its stream.
    written_total: AtomicU64,
    /// Bytes ever queued: the queue's tail.
    queued_total: AtomicU64,
    /// Where recovered publications sit in the stream (`send_recovered`): they are allowed
    /// beyond the bound until written.
    recovered: Mutex<VecDeque<(u64, u64)>>,
    recovering: AtomicBool,
    overflowed: AtomicBool,
    pub(super) overflow: Notify,
    stats: Arc<NetStats>,
}

impl NetSink {
    pub fn new(max: usize, stats: Arc<NetStats>) -> (Arc<NetSink>, mpsc::UnboundedReceiver<Bytes>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = NetSink {
            tx,
            queued: AtomicUsize::new(0),
            max,
            written_total: AtomicU64::new(0),
            queued_total: AtomicU64::new(0),
            recovered: Mutex::new(VecDeque::new()),
            recovering: AtomicBool::new(false),
            overflowed: AtomicBool::new(false),
            overflow: Notify::new(),
            stats,
        };
        (Arc::new(sink), rx)
    }

    /// A frame of `len` bytes left the queue (written to the socket).
    pub fn written(&self, len: usize) {
        self.written_total.fetch_add(len as u64, Ordering::Relaxed);
        self.queued.fetch_sub(len, Ordering::Relaxed);
        self.stats.queued_bytes.fetch_sub(len as u64, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    pub fn has_overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }
}

impl Sink for NetSink {
    fn carries_binary(&self) -> bool {
        true
    }

    fn send(&self, frame: Bytes) {
        if self.overflowed.load(Ordering::Relaxed) {
            return; // being cut off: its frames no longer matter
        }
        let len = frame.len();
        // One frame always fits an empty queue (a 100 MiB binary reply under an 8 MiB
        // bound); behind others it must fit the bound (plus recovered frames not yet written).
        let before = self.queued.fetch_add(len, Ordering::Relaxed);
        if before > 0 && before + len > self.max + self.allowance() {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            self.overflowed.store(true, Ordering::Relaxed);
            self.overflow.notify_one();
            return;
        }
        self.push(frame, len);
    }

    fn send_recovered(&self, frames: Vec<Bytes>) {
        if frames.is_empty() || self.overflowed.load(Ordering::Relaxed) {
            return;
        }
        // Registered before any of them is queued (a concurrent `send`, a heartbeat on the
        // session's thread, must already see the allowance they bring), and under the lock,
        // so that the interval holds these frames back to back.
        let total: usize = frames.iter().map(Bytes::len).sum();
        let mut recovered = self.recovered.lock();
        let from = self.queued_total.load(Ordering::Relaxed);
        recovered.push_back((from, from + total as u64));
        self.recovering.store(true, Ordering::Relaxed);
        for frame in frames {
            let len = frame.len();
            self.queued.fetch_add(len, Ordering::Relaxed);
            self.push(frame, len);
        }
    }
}

impl NetSink {
    fn push(&self, frame: Bytes, len: usize) {
        self.queued_total.fetch_add(len as u64, Ordering::Relaxed);
        self.stats.queued_bytes.fetch_add(len as u64, Ordering::Relaxed);
        if self.tx.send(frame).is_err() {
            // The session ended: nothing will write it.
            self.queued.fetch_sub(len, Ordering::Relaxed);
            self.stats.queued_bytes.fetch_sub(len as u64, Ordering::Relaxed);
        }
    }

    /// Recovered bytes still queued: the bound stretches by as much.
    fn allowance(&self) -> usize {
        if !self.recovering.load(Ordering::Relaxed) {
            return 0;
        }
        let head = self.written_total.load(Ordering::Relaxed);
        let mut recovered = self.recovered.lock();
        while recovered.front().is_some_and(|&(_, until)| until <= head) {
            recovered.pop_front();
        }
        if recovered.is_empty() {
            self.recovering.store(false, Ordering::Relaxed);
        }
        recovered.iter().map(|&(from, until)| (until - from.max(head)) as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_bounded_in_bytes() {
        let stats = Arc::new(NetStats::default());
        let (sink, mut rx) = NetSink::new(10, stats.clone());
        sink.send(Bytes::from_static(b"12345"));
        sink.send(Bytes::from_static(b"12345"));
        assert!(!sink.has_overflowed());
        assert_eq!(sink.queued(), 10);
        sink.send(Bytes::from_static(b"1"));
        assert!(sink.has_overflowed(), "one byte over the bound cuts the connection off");
        sink.send(Bytes::from_static(b"1"));
        assert_eq!(sink.queued(), 10, "nothing more is queued once over");
        let mut n = 0;
        while let Ok(frame) = rx.try_recv() {
            sink.written(frame.len());
            n += 1;
        }
        assert_eq!((n, sink.queued()), (2, 0));
        assert_eq!(stats.queued_bytes.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn recovered_frames_pass_the_bound_and_stretch_it_until_written() {
        let (sink, mut rx) = NetSink::new(10, Arc::new(NetStats::default()));
        sink.send(Bytes::from_static(b"12345"));
        // A replay of 30 bytes behind 5: over the bound of 10, still queued.
        sink.send_recovered(vec![Bytes::from(vec![0u8; 15]), Bytes::from(vec![1u8; 15])]);
        assert!(!sink.has_overflowed());
        assert_eq!(sink.queued(), 35);
        // Live frames behind it get the bound on top of it.
        sink.send(Bytes::from_static(b"12345"));
        assert!(!sink.has_overflowed(), "40 queued, bound 10 + 30 recovered");
        // Written up to the middle of the replay: 15 recovered bytes left, bound 25.
        for _ in 0..2 {
            let frame = rx.try_recv().unwrap();
            sink.written(frame.len());
        }
        assert_eq!(sink.queued(), 20);
        sink.send(Bytes::from_static(b"12345"));
        assert!(!sink.has_overflowed(), "25 queued, bound 10 + 15");
        sink.send(Bytes::from_static(b"1"));
        assert!(sink.has_overflowed(), "26 queued: over");
        while let Ok(frame) = rx.try_recv() {
            sink.written(frame.len());
        }
        assert_eq!(sink.queued(), 0);
    }

    #[test]
    fn frames_sent_while_a_replay_is_being_queued_see_its_allowance() {
        // A heartbeat or another topic's publication from another thread, while a long
        // replay is being queued behind a small bound, must not cut the connection off.
        for _ in 0..200 {
            let (sink, _rx) = NetSink::new(100, Arc::new(NetStats::default()));
            sink.send(Bytes::from_static(b"x"));
            let started = std::sync::Barrier::new(2);
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    started.wait();
                    sink.send_recovered((0..200).map(|_| Bytes::from(vec![0u8; 50])).collect());
                });
                started.wait();
                for _ in 0..19 {
                    sink.send(Bytes::from_static(b"12345"));
                    for _ in 0..200 {
                        std::hint::spin_loop();
                    }
                }
            });
            // 1 + 95 live bytes fit the bound (100) on top of what is left of the replay (all
            // of it: nothing was written), whenever they came.
            assert!(!sink.has_overflowed(), "cut off while its replay was being queued");
        }
    }

    #[test]
    fn once_the_replay_is_written_the_bound_is_the_bound_again() {
        let (sink, mut rx) = NetSink::new(10, Arc::new(NetStats::default()));
        sink.send_recovered(vec![Bytes::from(vec![0u8; 50])]);
        let frame = rx.try_recv().unwrap();
        sink.written(frame.len());
        sink.send(Bytes::from_static(b"123456"));
        sink.send(Bytes::from_static(b"123456"));
        assert!(sink.has_overflowed(), "12 queued against 10");
    }

    #[test]
    fn one_frame_larger_than_the_bound_passes_an_empty_queue_only() {
        let (sink, mut rx) = NetSink::new(10, Arc::new(NetStats::default()));
        sink.send(Bytes::from(vec![0u8; 100]));
        assert!(!sink.has_overflowed(), "alone, a big reply is written");
        sink.send(Bytes::from_static(b"1"));
        assert!(sink.has_overflowed(), "behind it, the bound holds");
        while let Ok(frame) = rx.try_recv() {
            sink.written(frame.len());
        }
    }
}
