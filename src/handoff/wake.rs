//! A queue whose consumer is an asyncio loop: producers on any thread push without the
//! GIL, and the first push into an empty queue writes one byte to a socket the loop watches
//! (`loop.add_reader`). One wake-up hands over everything queued since the last drain.
//!
//! Waking a sleeping thread costs tens of microseconds on a small VM (one write, a
//! cross-CPU wake-up, the loop's select). While calls arrive back to back, the consumer can
//! instead `wait` a bounded time for the next item, spinning without the GIL; producers see
//! it waiting and skip the wake-up byte.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use parking_lot::Mutex;

use super::spin::{must_wake, spin_until};

pub struct WakeQueue<T> {
    items: Mutex<Vec<T>>,
    /// The consumer is in `wait`: it will see new items without a wake-up byte.
    waiting: AtomicBool,
    tx: UnixStream,
    rx: UnixStream,
}

impl<T> WakeQueue<T> {
    pub fn new() -> std::io::Result<Self> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(WakeQueue { items: Mutex::new(Vec::new()), waiting: AtomicBool::new(false), tx, rx })
    }

    /// The descriptor that becomes readable when items are waiting.
    pub fn fileno(&self) -> RawFd {
        self.rx.as_raw_fd()
    }

    pub fn push(&self, item: T) {
        let was_empty = {
            let mut items = self.items.lock();
            let was_empty = items.is_empty();
            items.push(item);
            was_empty
        };
        if was_empty && must_wake(&self.waiting) {
            // A full socket buffer means a wake-up is already pending: nothing is lost.
            let _ = (&self.tx).write(&[1]);
        }
    }

    /// Wait up to `limit` for an item, spinning (call without the GIL). True if one is queued.
    pub fn wait(&self, limit: Duration) -> bool {
        spin_until(&self.waiting, limit, || !self.items.lock().is_empty())
    }

    /// At most `max` of the items queued so far, oldest first. Clears the wake-up first, so a
    /// push that races with this call either lands in the returned batch or leaves a fresh
    /// wake-up behind. When `max` items come back, more may remain: the caller asks again.
    pub fn take(&self, max: usize) -> Vec<T> {
        let mut buf = [0u8; 256];
        loop {
            match (&self.rx).read(&mut buf) {
                Ok(n) if n == buf.len() => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
        let mut items = self.items.lock();
        if items.len() <= max {
            std::mem::take(&mut *items)
        } else {
            let rest = items.split_off(max);
            std::mem::replace(&mut *items, rest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    fn pending_bytes<T>(q: &WakeQueue<T>) -> usize {
        let mut buf = [0u8; 16];
        (&q.rx).read(&mut buf).unwrap_or(0)
    }

    #[test]
    fn a_push_into_an_empty_queue_writes_one_wake_up_byte() {
        let q = WakeQueue::new().unwrap();
        q.push(1);
        q.push(2);
        assert_eq!(pending_bytes(&q), 1);
        assert_eq!(q.take(usize::MAX), vec![1, 2]);
    }

    #[test]
    fn a_waiting_consumer_gets_the_item_without_a_wake_up_byte() {
        let q = Arc::new(WakeQueue::new().unwrap());
        let producer = {
            let q = q.clone();
            std::thread::spawn(move || {
                while !q.waiting.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
                q.push(7);
            })
        };
        assert!(q.wait(Duration::from_secs(10)));
        producer.join().unwrap();
        assert_eq!(pending_bytes(&q), 0);
        assert_eq!(q.take(usize::MAX), vec![7]);
    }

    #[test]
    fn a_wait_that_times_out_leaves_later_pushes_waking_the_loop() {
        let q = WakeQueue::new().unwrap();
        assert!(!q.wait(Duration::from_micros(200)));
        q.push(1);
        assert_eq!(pending_bytes(&q), 1);
        assert!(q.wait(Duration::from_micros(200)), "an item already queued is seen at once");
    }

    #[test]
    fn no_push_is_stranded_when_it_races_with_the_end_of_a_wait() {
        // Every push either is seen by the wait it races with or leaves a wake-up byte.
        use std::sync::Barrier;
        let q = Arc::new(WakeQueue::new().unwrap());
        let barrier = Arc::new(Barrier::new(2));
        let rounds = 3_000u64;
        let producer = {
            let (q, barrier) = (q.clone(), barrier.clone());
            std::thread::spawn(move || {
                for round in 0..rounds {
                    barrier.wait();
                    for _ in 0..(round * 7919) % 2_000 {
                        std::hint::spin_loop();
                    }
                    q.push(round);
                    barrier.wait();
                }
            })
        };
        for round in 0..rounds {
            barrier.wait();
            let seen = q.wait(Duration::from_nanos((round * 104_729) % 20_000));
            barrier.wait();
            let woke = pending_bytes(&q) > 0;
            assert!(seen || woke, "round {round}: the item was pushed with nobody told");
            assert_eq!(q.take(usize::MAX), vec![round]);
        }
        producer.join().unwrap();
    }
}
