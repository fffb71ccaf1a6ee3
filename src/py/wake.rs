//! A queue whose consumer is an asyncio loop: producers on any thread push without the
//! GIL, and the first push into an empty queue writes one byte to a socket the loop watches
//! (`loop.add_reader`). One wake-up hands over everything queued since the last drain.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use parking_lot::Mutex;

pub struct WakeQueue<T> {
    items: Mutex<Vec<T>>,
    tx: UnixStream,
    rx: UnixStream,
}

impl<T> WakeQueue<T> {
    pub fn new() -> std::io::Result<Self> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(WakeQueue { items: Mutex::new(Vec::new()), tx, rx })
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
        if was_empty {
            // A full socket buffer means a wake-up is already pending: nothing is lost.
            let _ = (&self.tx).write(&[1]);
        }
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
