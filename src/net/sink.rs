//! A network connection's outbound queue, bounded in bytes. The router hands frames to it
//! without blocking (under its lock); the session task writes them to the socket. A client
//! that does not read fast enough to keep the queue under its bound is cut off (close 4008)
//! rather than buffered without limit: server memory stays bounded whatever clients do.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

use super::metrics::NetStats;
use crate::ipc::Sink;

pub struct NetSink {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: AtomicUsize,
    max: usize,
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
            overflowed: AtomicBool::new(false),
            overflow: Notify::new(),
            stats,
        };
        (Arc::new(sink), rx)
    }

    /// A frame of `len` bytes left the queue (written to the socket).
    pub fn written(&self, len: usize) {
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
        // bound); behind others it must fit the bound.
        let before = self.queued.fetch_add(len, Ordering::Relaxed);
        if before > 0 && before + len > self.max {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            self.overflowed.store(true, Ordering::Relaxed);
            self.overflow.notify_one();
            return;
        }
        self.stats.queued_bytes.fetch_add(len as u64, Ordering::Relaxed);
        if self.tx.send(frame).is_err() {
            // The session ended: nothing will write it.
            self.queued.fetch_sub(len, Ordering::Relaxed);
            self.stats.queued_bytes.fetch_sub(len as u64, Ordering::Relaxed);
        }
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
